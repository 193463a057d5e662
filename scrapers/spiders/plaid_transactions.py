"""Plaid: transactions, accounts and balances of every linked Item, continued from the last run.

Calls Plaid's ``/transactions/sync`` for each access token, page after page
(``has_more``), starting from the cursor the last complete run stored in
finance.plaid_cursors, and yields accounts, balances, added/modified
transactions and removed ones. After the last page it yields a PlaidCursor
record, so the next run continues where this one stopped (a run that fails
half-way stores no cursor and the next one repeats the same pages: upserts make
that harmless). Plaid's amounts are flipped: in pde, negative = money out.

Saved responses parse too (``-a url=sync.json``): /transactions/sync,
/transactions/get (the 2019 API) and /accounts/balance/get bodies, recognised
by their keys.

Arguments:
- ``-a url=...`` parse saved responses instead of calling Plaid.
- ``-a cursor=...`` start from this cursor instead of the stored one
  (``-a cursor=`` with nothing = fetch the whole history again).

Credentials (environment only): ``PLAID_CLIENT_ID``, ``PLAID_SECRET``,
``PLAID_ACCESS_TOKENS`` (comma list, one per linked Item), ``PLAID_ENV``
(``sandbox`` (default), ``development`` or ``production``). Tokens travel only in
request bodies; the database keeps their SHA-256.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
from collections.abc import Iterable

import scrapy

from scrapers.finance import plaid
from scrapers.finance.common import source_name
from scrapers.items.finance import PlaidCursor
from scrapers.spiders.base import PdeSpider

#: used instead of the environment's when replaying a cassette (PDE_CASSETTE)
REPLAY_CREDENTIALS = {"PLAID_CLIENT_ID": "replay-client-id", "PLAID_SECRET": "replay-secret",
                      "PLAID_ACCESS_TOKENS": "access-sandbox-replay-token"}
MAX_RESTARTS = 3


class PlaidTransactionsSpider(PdeSpider):
    name = "plaid_transactions"
    area = "finance"
    schedule = "0 */6 * * *"

    #: how the previous cursor is read; the tests point it at their database
    load_cursor = staticmethod(plaid.load_cursor)

    def __init__(self, *args, cursor: str | None = None, **kwargs):
        super().__init__(*args, cursor=cursor, **kwargs)
        self.cursor = cursor

    def credentials(self) -> tuple[str, str, list[str], str]:
        env = dict(os.environ)
        if getattr(self, "settings", None) is not None and self.settings.get("PDE_CASSETTE"):
            # replaying a recorded crawl: the requests must be the recorded ones, whatever
            # credentials this machine has
            env.update(REPLAY_CREDENTIALS)
            env.pop("PLAID_ENV", None)
        missing = [n for n in REPLAY_CREDENTIALS if not env.get(n)]
        if missing:
            raise ValueError(
                f"plaid_transactions needs the environment variables {', '.join(missing)} "
                "(PLAID_ACCESS_TOKENS: comma list of access tokens), or -a url=<saved responses>"
            )
        environment = env.get("PLAID_ENV", "sandbox").lower()
        if environment not in plaid.HOSTS:
            raise ValueError(f"PLAID_ENV={environment!r}: use one of {', '.join(plaid.HOSTS)}")
        tokens = [t.strip() for t in env["PLAID_ACCESS_TOKENS"].split(",") if t.strip()]
        return env["PLAID_CLIENT_ID"], env["PLAID_SECRET"], tokens, plaid.HOSTS[environment]

    def live_requests(self) -> Iterable[scrapy.Request]:
        client_id, secret, tokens, host = self.credentials()
        for token in tokens:
            hashed = plaid.token_hash(token)
            if self.cursor is not None:
                cursor = self.cursor
            else:
                try:
                    cursor = self.load_cursor(hashed) or ""
                except Exception as exc:  # no database: a full sync is slower, never wrong
                    self.logger.warning("Could not read the stored Plaid cursor (%s); "
                                        "fetching this Item's whole history", exc)
                    cursor = ""
            self.logger.info("Plaid Item %s…: %s", hashed[:8],
                             "continuing from the stored cursor" if cursor else "full history")
            body = plaid.sync_body(client_id, secret, token, cursor)
            yield self._sync_request(f"{host}/transactions/sync", body,
                                     {"token_hash": hashed, "start_cursor": cursor, "restarts": 0,
                                      "added": 0, "modified": 0, "removed": 0})

    def _sync_request(self, url: str, body: bytes, state: dict) -> scrapy.Request:
        return scrapy.Request(
            url, method="POST", body=body, callback=self.parse, dont_filter=True,
            headers={"Content-Type": "application/json", "Plaid-Version": plaid.API_VERSION},
            meta={"plaid": state, "handle_httpstatus_list": [400, 401, 500, 502, 503]},
        )

    def parse(self, response):
        source = source_name(response.url)
        received = _response_time(response)
        state = response.request.meta.get("plaid") if response.request is not None else None
        data = plaid.loads(response.body, source)
        try:
            page = plaid.parse_plaid(data, source, received)
        except plaid.PlaidApiError as exc:
            if (exc.code == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION" and state
                    and state["restarts"] < MAX_RESTARTS):
                self.logger.warning("%s Restarting the sync.", exc)
                restart = {**state, "restarts": state["restarts"] + 1, "added": 0, "modified": 0, "removed": 0}
                body = plaid.next_body(response.request.body, state["start_cursor"])
                yield self._sync_request(response.url, body, restart)
                return
            self.logger.error(str(exc))
            if getattr(self, "crawler", None) is not None:
                self.crawler.stats.inc_value("pde/plaid_errors")
            return
        yield from page.records
        if page.kind != "sync" or not state:
            return
        state = {**state, "added": state["added"] + page.added,
                 "modified": state["modified"] + page.modified,
                 "removed": state["removed"] + page.removed}
        if page.has_more:
            yield self._sync_request(response.url, plaid.next_body(response.request.body, page.next_cursor),
                                     state)
        elif page.next_cursor:
            yield PlaidCursor(access_token_hash=state["token_hash"], cursor=page.next_cursor,
                              synced_at=received, item_id=page.item_id, added=state["added"],
                              modified=state["modified"], removed=state["removed"])
        else:
            self.logger.info("Plaid has no transactions for Item %s… yet (empty next_cursor)",
                             state["token_hash"][:8])


def _response_time(response) -> dt.datetime:
    date = response.headers.get(b"Date")
    if date:
        try:
            return email.utils.parsedate_to_datetime(date.decode("latin-1")).astimezone(dt.timezone.utc)
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.timezone.utc)
