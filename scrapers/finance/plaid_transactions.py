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

Parsing
-------
Plaid responses to finance records, and the sync cursor kept in PostgreSQL.

Recognised by content (JSON keys), whatever URL served them:

- ``/transactions/sync``: ``added``, ``modified``, ``removed``, ``next_cursor``,
  ``has_more`` (+ ``accounts``). Added and modified become Transaction records,
  removed become RemovedTransaction records (a pending transaction that posts
  is removed and comes back with a new id naming it in ``pending_transaction_id``).
- ``/transactions/get`` (the 2018-05-22 API, e.g. 2019 captures):
  ``transactions`` + ``total_transactions`` + ``accounts`` + ``item``.
- ``/accounts/balance/get`` or ``/accounts/get``: ``accounts`` (+ ``item``).
- an error body (``error_code``): PlaidApiError with Plaid's message and what to do.

Plaid amounts are positive for money out; pde's convention is the opposite, so
every amount is flipped. Balances owed on credit and loan accounts are stored
negative; ``available`` and ``limit`` of a card stay positive (credit left).
JSON numbers are read as Decimal, so money is exact.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg2
import scrapy

from pde.db import connect
from pde.records import Record, Rejected
from pde.sources import Arg, ArgError, ParseError
from scrapers.finance.common import sha256_hex, source_name
from scrapers.finance.records import (
    Account,
    Balance,
    Institution,
    PlaidCursor,
    RemovedTransaction,
    Transaction,
)
from scrapers.spider import PdeSpider

logger = logging.getLogger(__name__)

SOURCE = "plaid"
HOSTS = {
    "sandbox": "https://sandbox.plaid.com",
    "development": "https://development.plaid.com",
    "production": "https://production.plaid.com",
}
API_VERSION = "2020-09-14"
PAGE_SIZE = 500
SYNC_KEYS = {"added", "modified", "removed", "next_cursor", "has_more"}
#: what to tell the user for the errors a personal setup meets
ADVICE = {
    "ITEM_LOGIN_REQUIRED": "The bank needs you to log in again: re-link this Item with Plaid Link in update mode.",
    "INVALID_ACCESS_TOKEN": "PLAID_ACCESS_TOKENS holds a token Plaid does not know (wrong PLAID_ENV?).",
    "INVALID_API_KEYS": "Check PLAID_CLIENT_ID, PLAID_SECRET and PLAID_ENV (sandbox/production keys differ).",
    "PRODUCT_NOT_READY": "Plaid is still fetching this Item's history; try again in a few minutes.",
    "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION": "Plaid's data changed during paging; the sync restarts from the "
                                                    "stored cursor.",
}


class PlaidApiError(RuntimeError):
    def __init__(self, source: str, data: dict):
        self.code = data.get("error_code") or "UNKNOWN"
        self.error_type = data.get("error_type")
        advice = ADVICE.get(self.code, "See https://plaid.com/docs/errors/ for this code.")
        super().__init__(
            f"{source}: Plaid refused the request: {self.error_type} {self.code}: "
            f"{data.get('error_message') or data.get('display_message') or 'no message'} "
            f"(request_id {data.get('request_id')}). {advice}"
        )


@dataclass
class PlaidPage:
    kind: str  # sync / transactions_get / accounts
    records: list[Record | Rejected] = field(default_factory=list)
    next_cursor: str | None = None
    has_more: bool = False
    item_id: str | None = None
    added: int = 0
    modified: int = 0
    removed: int = 0


def token_hash(access_token: str) -> str:
    """What identifies an Item's cursor in the database: never the token itself."""
    return sha256_hex(access_token)


def load_cursor(access_token_hash: str, url: str | None = None) -> str | None:
    """The cursor the last complete sync of this Item stopped at, or None.

    Reads finance.plaid_cursors through ``pde.db.connect`` (DATABASE_URL, or the
    embedded cluster); pass ``url`` to read another database (tests).
    """
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT cursor FROM finance.plaid_cursors WHERE access_token_hash = %s",
                        (access_token_hash,))
            row = cur.fetchone()
    except psycopg2.errors.UndefinedTable:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def sync_body(client_id: str, secret: str, access_token: str, cursor: str) -> bytes:
    """The /transactions/sync request body (keys in a fixed order: replay matches bodies)."""
    body: dict[str, Any] = {"client_id": client_id, "secret": secret,
                            "access_token": access_token, "count": PAGE_SIZE}
    if cursor:
        body["cursor"] = cursor
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def next_body(previous: bytes, cursor: str) -> bytes:
    """The same request from another cursor ("" = from the start)."""
    body = json.loads(previous)
    body.pop("cursor", None)
    if cursor:
        body["cursor"] = cursor
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def loads(body: bytes, source: str) -> dict:
    try:
        data = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise ParseError(f"{source}: not JSON, so not a Plaid response ({exc})") from None
    if not isinstance(data, dict):
        raise ParseError(f"{source}: a JSON {type(data).__name__}, expected a Plaid response object")
    return data


def parse_plaid(data: dict, source: str, received_at: dt.datetime) -> PlaidPage:
    if "error_code" in data and "request_id" in data:
        raise PlaidApiError(source, data)
    keys = set(data)
    item = data.get("item") or {}
    if SYNC_KEYS <= keys:
        page = PlaidPage("sync", next_cursor=data.get("next_cursor"), has_more=bool(data.get("has_more")))
    elif {"transactions", "total_transactions"} <= keys:
        page = PlaidPage("transactions_get")
    elif "accounts" in keys and isinstance(data["accounts"], list):
        page = PlaidPage("accounts")
    else:
        raise ParseError(
            f"{source}: not a Plaid response this spider knows: expected /transactions/sync "
            "(added, modified, removed, next_cursor, has_more), /transactions/get "
            "(transactions, total_transactions) or /accounts/balance/get (accounts); "
            f"got keys {sorted(keys)[:12]}"
        )
    page.item_id = item.get("item_id")
    institution_id = None
    if item.get("institution_id"):
        institution_id = f"plaid:{item['institution_id']}"
        page.records.append(Institution(institution_id=institution_id, source=SOURCE))
    for account in data.get("accounts") or []:
        page.records.extend(_account(account, institution_id, received_at, source))
    if page.kind == "sync":
        for name in ("added", "modified"):
            for t in data.get(name) or []:
                page.records.append(_transaction(t, source))
        for r in data.get("removed") or []:
            page.records.append(_removed(r, received_at, source))
        page.added, page.modified = len(data.get("added") or []), len(data.get("modified") or [])
        page.removed = len(data.get("removed") or [])
    elif page.kind == "transactions_get":
        for t in data.get("transactions") or []:
            page.records.append(_transaction(t, source))
        page.added = len(data.get("transactions") or [])
    return page


def _plain(value: Any) -> Any:
    """Details for jsonb: no Decimals, no empty values."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _plain(v)
            if v not in (None, "", [], {}):
                out[k] = v
        return out or None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ValueError(f"not an amount: {value!r}")
    return Decimal(str(value))


_DETAILS = ("payment_channel", "location", "counterparties", "personal_finance_category",
            "category", "category_id", "transaction_code", "website", "logo_url", "payment_meta",
            "account_owner", "datetime", "authorized_datetime", "merchant_entity_id",
            "transaction_type")


def _transaction(t: dict, source: str) -> Transaction | Rejected:
    try:
        missing = [k for k in ("transaction_id", "account_id", "amount", "date") if t.get(k) in (None, "")]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        currency = t.get("iso_currency_code") or t.get("unofficial_currency_code")
        if not currency:
            raise ValueError("neither iso_currency_code nor unofficial_currency_code")
        posted = _date(t["date"])
        user = _date(t.get("authorized_date"))
        amount = -_decimal(t["amount"])
    except (ValueError, TypeError) as exc:
        return Rejected(table="finance.transactions", reason=f"Plaid transaction: {exc}",
                        raw=_plain(t), source_url=source)
    pfc = t.get("personal_finance_category") or {}
    category = pfc.get("detailed") or " > ".join(t.get("category") or []) or None
    details = _plain({k: t.get(k) for k in _DETAILS})
    return Transaction(
        account_id=f"plaid:{t['account_id']}",
        transaction_id=t["transaction_id"],
        source=SOURCE,
        posted_date=posted,
        user_date=user,
        amount=amount,
        currency=currency.upper(),
        payee=t.get("name") or t.get("merchant_name"),
        memo=t.get("original_description"),
        merchant_name=t.get("merchant_name"),
        trn_type=t.get("payment_channel") or t.get("transaction_type"),
        check_number=t.get("check_number"),
        pending=bool(t.get("pending")),
        pending_transaction_id=t.get("pending_transaction_id"),
        category_source=category,
        details=details,
    )


def _removed(r: dict, received_at: dt.datetime, source: str) -> RemovedTransaction | Rejected:
    if not r.get("transaction_id") or not r.get("account_id"):
        return Rejected(table="finance.removed_transactions",
                        reason="Plaid removed transaction without transaction_id/account_id",
                        raw=_plain(r), source_url=source)
    return RemovedTransaction(account_id=f"plaid:{r['account_id']}", transaction_id=r["transaction_id"],
                              source=SOURCE, removed_at=received_at)


def _account(a: dict, institution_id: str | None, received_at: dt.datetime,
             source: str) -> list[Record | Rejected]:
    if not a.get("account_id"):
        return [Rejected(table="finance.accounts", reason="Plaid account without account_id",
                         raw=_plain(a), source_url=source)]
    account_id = f"plaid:{a['account_id']}"
    balances = a.get("balances") or {}
    currency = balances.get("iso_currency_code") or balances.get("unofficial_currency_code")
    out: list[Record | Rejected] = [Account(
        account_id=account_id, source=SOURCE, institution_id=institution_id, mask=a.get("mask"),
        name=a.get("name"), official_name=a.get("official_name"), type=a.get("type"),
        subtype=a.get("subtype"), currency=currency,
    )]
    when = _datetime(balances.get("last_updated_datetime")) or received_at
    owed = a.get("type") in ("credit", "loan")
    for kind in ("current", "available", "limit"):
        value = balances.get(kind)
        if value is None:
            continue
        try:
            amount = _decimal(value)
        except ValueError as exc:
            out.append(Rejected(table="finance.balances", reason=f"Plaid balance {kind}: {exc}",
                                raw=_plain(a), source_url=source))
            continue
        if owed and kind == "current":
            amount = -amount
        out.append(Balance(account_id=account_id, as_of=when.date(), as_of_time=when,
                           balance_type=kind, amount=amount, currency=currency, source=SOURCE))
    return out


REPLAY_CREDENTIALS = {"PLAID_CLIENT_ID": "replay-client-id", "PLAID_SECRET": "replay-secret",
                      "PLAID_ACCESS_TOKENS": "access-sandbox-replay-token"}
MAX_RESTARTS = 3


class PlaidTransactionsSpider(PdeSpider):
    name = "plaid_transactions"
    area = "finance"
    schedule = "0 */6 * * *"

    #: how the previous cursor is read; the tests point it at their database
    load_cursor = staticmethod(load_cursor)

    args = (
        Arg("url", "saved Plaid responses (sync, transactions/get, accounts) instead of calling Plaid",
            example="~/Downloads/sync.json"),
        Arg("cursor", "start from this sync cursor instead of the stored one (empty: the whole history again)"),
    )

    @classmethod
    def check_ready(cls, values, settings=None):
        super().check_ready(values, settings)
        if values.get("url") or (settings is not None and settings.get("PDE_CASSETTE")):
            return
        missing = [n for n in REPLAY_CREDENTIALS if not os.environ.get(n)]
        if missing:
            raise ArgError(f"plaid_transactions needs the environment variables {', '.join(missing)} "
                           "(PLAID_ACCESS_TOKENS: comma list of access tokens), or -a url=<saved responses>")
        if os.environ.get("PLAID_ENV", "sandbox").lower() not in HOSTS:
            raise ArgError(f"PLAID_ENV={os.environ['PLAID_ENV']!r}: use one of {', '.join(HOSTS)}")

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
        if environment not in HOSTS:
            raise ValueError(f"PLAID_ENV={environment!r}: use one of {', '.join(HOSTS)}")
        tokens = [t.strip() for t in env["PLAID_ACCESS_TOKENS"].split(",") if t.strip()]
        return env["PLAID_CLIENT_ID"], env["PLAID_SECRET"], tokens, HOSTS[environment]

    def live_requests(self) -> Iterable[scrapy.Request]:
        client_id, secret, tokens, host = self.credentials()
        for token in tokens:
            hashed = token_hash(token)
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
            body = sync_body(client_id, secret, token, cursor)
            yield self._sync_request(f"{host}/transactions/sync", body,
                                     {"token_hash": hashed, "start_cursor": cursor, "restarts": 0,
                                      "added": 0, "modified": 0, "removed": 0})

    def _sync_request(self, url: str, body: bytes, state: dict) -> scrapy.Request:
        return scrapy.Request(
            url, method="POST", body=body, callback=self.parse, dont_filter=True,
            headers={"Content-Type": "application/json", "Plaid-Version": API_VERSION},
            meta={"plaid": state, "handle_httpstatus_list": [400, 401, 500, 502, 503]},
        )

    def parse(self, response):
        source = source_name(response.url)
        received = _response_time(response)
        state = response.request.meta.get("plaid") if response.request is not None else None
        data = loads(response.body, source)
        try:
            page = parse_plaid(data, source, received)
        except PlaidApiError as exc:
            if (exc.code == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION" and state
                    and state["restarts"] < MAX_RESTARTS):
                self.logger.warning("%s Restarting the sync.", exc)
                restart = {**state, "restarts": state["restarts"] + 1, "added": 0, "modified": 0, "removed": 0}
                body = next_body(response.request.body, state["start_cursor"])
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
            yield self._sync_request(response.url, next_body(response.request.body, page.next_cursor),
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
            return email.utils.parsedate_to_datetime(date.decode("latin-1")).astimezone(dt.UTC)
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.UTC)
