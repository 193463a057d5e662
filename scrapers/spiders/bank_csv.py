"""Bank CSV exports (Schwab, Capital One, PC Financial, N26, Outbank, Mint...) into finance.*.

Reads CSV files downloaded from a bank's website. Which bank a file comes from
is recognised from its header line against the profiles in
scrapers/finance/bank_profiles.toml; a new bank is a new profile there, not
code. Rows carry no bank id, so each gets ``csv:<sha1 of account|date|amount|
description|n>``: the same file twice never duplicates, two identical coffees
on one day stay two.

Arguments:
- ``-a url=~/Downloads/bank`` a folder (its *.csv files), a file, a glob or a comma list;
  without it (scheduled runs) the folder ``PDE_BANK_CSV_DIR``. Loading a file again
  changes nothing.
- ``-a account=everyday-checking`` the account, for files that have no account
  column (default: the file name without extension, which changes with every
  download, so pass it).
- ``-a profile=schwab_checking`` force a profile instead of recognising it.

Credentials: none (files only).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import scrapy

from scrapers.finance.bank_csv import load_profiles, parse_bank_csv
from scrapers.finance.common import expand_files, file_stem, source_name
from scrapers.spiders.base import PdeSpider


class BankCsvSpider(PdeSpider):
    name = "bank_csv"
    area = "finance"
    file_suffixes = (".csv",)

    def __init__(self, *args, account: str | None = None, profile: str | None = None, **kwargs):
        super().__init__(*args, account=account, profile=profile, **kwargs)
        self.account = account
        self.profile = profile
        self.profiles = load_profiles()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        spec = self.url or os.environ.get("PDE_BANK_CSV_DIR")
        if not spec:
            raise ValueError("bank_csv reads downloaded files: pass -a url=<file, folder or glob> "
                             "or set PDE_BANK_CSV_DIR to the folder where you save exports")
        for target in expand_files(spec, self.file_suffixes):
            yield scrapy.Request(target, callback=self.parse, dont_filter=True)

    def parse(self, response):
        yield from parse_bank_csv(
            response.body, source_name(response.url), self.profiles, account=self.account,
            fallback_account=file_stem(response.url), profile_name=self.profile,
        )
