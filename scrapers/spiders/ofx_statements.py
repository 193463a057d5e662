"""OFX / QFX / QBO statements: bank, credit-card and investment accounts into finance.*.

Reads downloaded statements (Quicken ``.qfx``, Money/MS ``.ofx``, QuickBooks Web
Connect ``.qbo``; OFX 1.x SGML or 2.x XML, with the quirks real banks write:
scrapers/finance/ofx.py lists them) or asks the institution's OFX server directly (Direct Connect).
Yields institutions, accounts, balances, transactions, investment transactions,
holdings and securities (scrapers/items/finance.py). A file is parsed whole
before anything is yielded; a broken one raises ParseError and loads nothing.

Arguments:
- ``-a url=~/Downloads/statements`` a folder (its *.ofx / *.qfx / *.qbo files), a file,
  a glob or a comma list. Without it (scheduled runs) the spider reads the folder
  ``PDE_OFX_DIR`` and/or uses Direct Connect when ``PDE_OFX_URL`` is set. Loading
  the same statement again changes nothing (transactions are keyed by FITID).
- ``-a account=everyday-checking`` the account of a statement that names none (no
  BANKACCTFROM; default: the file name without extension). Ignored when the file names it.
- ``-a days=90`` Direct Connect: how many days of transactions to ask for.

Credentials (Direct Connect only; environment variables, never arguments):
``PDE_OFX_URL`` (the institution's OFX server), ``PDE_OFX_ORG``, ``PDE_OFX_FID``,
``PDE_OFX_USER``, ``PDE_OFX_PASSWORD``, ``PDE_OFX_ACCTID`` (comma list; an
entry may carry its type: ``CHECKING:123``, ``CREDITCARD:4111...``,
``INVESTMENT:X1``), ``PDE_OFX_ACCTTYPE`` (default type, CHECKING),
``PDE_OFX_BANKID`` (bank accounts), ``PDE_OFX_BROKERID`` (investment accounts),
optional ``PDE_OFX_VERSION`` (default 220), ``PDE_OFX_APPID``/``PDE_OFX_APPVER``
(default QWIN 2700), ``PDE_OFX_CLIENTUID``. ofxhome.com lists URL/ORG/FID.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable

import scrapy

from scrapers.finance.common import expand_files, file_stem, mask_in_logs, source_name
from scrapers.finance.ofx import direct_connect_request, parse_ofx
from scrapers.spiders.base import PdeSpider


class OfxStatementsSpider(PdeSpider):
    name = "ofx_statements"
    area = "finance"
    file_suffixes = (".ofx", ".qfx", ".qbo")

    def __init__(self, *args, days: str | int | None = None, account: str | None = None, **kwargs):
        super().__init__(*args, days=days, account=account, **kwargs)
        self.days = int(days or 90)
        self.account = account

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.url:
            for target in expand_files(self.url, self.file_suffixes):
                yield scrapy.Request(target, callback=self.parse, dont_filter=True)
            return
        for request in self.live_requests():
            yield request

    def live_requests(self) -> Iterable[scrapy.Request]:
        folder, server = os.environ.get("PDE_OFX_DIR"), os.environ.get("PDE_OFX_URL")
        if not (folder or server):
            raise ValueError(
                "ofx_statements needs -a url=<files or folder>, PDE_OFX_DIR (a folder where you "
                "save downloaded statements) or PDE_OFX_URL and the other PDE_OFX_* variables "
                "(Direct Connect)"
            )
        if folder:
            for target in expand_files(folder, self.file_suffixes):
                yield scrapy.Request(target, callback=self.parse, dont_filter=True)
        if server:
            mask_in_logs(e.rpartition(":")[2].strip() for e in os.environ.get("PDE_OFX_ACCTID", "").split(","))
            url, body, headers = direct_connect_request(os.environ, days=self.days)
            yield scrapy.Request(url, method="POST", body=body, headers=headers,
                                 callback=self.parse, dont_filter=True)

    def parse(self, response):
        yield from parse_ofx(response.body, source_name(response.url), account=self.account,
                             fallback_account=file_stem(response.url))
