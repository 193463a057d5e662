"""plaid_transactions: /transactions/sync paging and cursor, old /transactions/get, balances.

The bodies in fixtures/plaid_transactions/ are synthetic, in Plaid's documented format (see
its PROVENANCE.md). Expected values are looked up in the raw JSON inside the tests. The last
tests replay the cassette through the real `scrapy crawl` and PostgreSQL (fixture pg_url).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import psycopg2
import pytest
from scrapy.http import Request, TextResponse

from pde.records import Rejected, validate
from pde.sources import ParseError
from scrapers.finance import plaid_transactions as plaid
from scrapers.finance.plaid_transactions import PlaidTransactionsSpider
from scrapers.finance.records import (
    Account,
    Balance,
    Institution,
    PlaidCursor,
    RemovedTransaction,
    Transaction,
)
from tests.helpers import FIXTURES, of

FIX = FIXTURES / "plaid_transactions"
UTC = dt.UTC
DATE = "Tue, 19 Mar 2024 12:00:00 GMT"
TOKEN = "access-sandbox-7b2c1e0f-1234-4cde-9f00-aa11bb22cc33"
ENV = {"PLAID_CLIENT_ID": "client-abc", "PLAID_SECRET": "secret-xyz-123", "PLAID_ACCESS_TOKENS": TOKEN}


def raw(name: str) -> dict:
    return json.loads((FIX / name).read_text(), parse_float=Decimal)


def response(name: str, request: Request | None = None, url: str | None = None, status: int = 200) -> TextResponse:
    url = url or (request.url if request else (FIX / name).as_uri())
    return TextResponse(url=url, body=(FIX / name).read_bytes(), encoding="utf-8", status=status,
                        headers={"Date": DATE}, request=request)


def run(spider, resp) -> list:
    return list(spider.parse(resp))


@pytest.fixture
def spider(monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PLAID_ENV", raising=False)
    s = PlaidTransactionsSpider()
    s.load_cursor = lambda token_hash: None
    return s


def check_transaction(t: Transaction, src: dict) -> None:
    """Field by field against the raw Plaid transaction."""
    assert t.account_id == "plaid:" + src["account_id"]
    assert t.transaction_id == src["transaction_id"]
    assert t.amount == -src["amount"]  # Plaid: positive = money out; pde: negative = money out
    assert t.currency == src["iso_currency_code"]
    assert t.posted_date == dt.date.fromisoformat(src["date"])
    assert t.user_date == (dt.date.fromisoformat(src["authorized_date"]) if src["authorized_date"] else None)
    assert t.payee == src["name"]
    assert t.merchant_name == src["merchant_name"]
    assert t.pending is src["pending"]
    assert t.pending_transaction_id == src["pending_transaction_id"]
    assert t.category_source == src["personal_finance_category"]["detailed"]
    assert t.trn_type == src["payment_channel"]
    assert t.source == "plaid"


# -- the pages -----------------------------------------------------------------------


def test_first_page_transactions_accounts_and_balances(spider):
    items = run(spider, response("sync_page1.json"))
    src = raw("sync_page1.json")
    txns = of(items, Transaction)
    assert len(txns) == len(src["added"]) == 3
    for t, s in zip(txns, src["added"]):
        check_transaction(t, s)
        assert validate(t) is None
    walmart = txns[0]
    assert (walmart.amount, walmart.posted_date, walmart.user_date) == (Decimal("-72.1"), dt.date(2024, 3, 18),
                                                                        dt.date(2024, 3, 16))
    assert walmart.details["location"]["city"] == "Poway"
    assert walmart.details["counterparties"][0]["name"] == "Walmart"
    assert "payment_meta" not in walmart.details  # all-null objects are dropped
    payroll = txns[1]
    assert payroll.amount == Decimal("2500") and payroll.user_date is None  # money in
    assert txns[2].pending is True

    accounts = {a.account_id: a for a in of(items, Account)}
    for a in src["accounts"]:
        acc = accounts["plaid:" + a["account_id"]]
        assert (acc.name, acc.official_name, acc.mask, acc.type, acc.subtype, acc.currency) == (
            a["name"], a["official_name"], a["mask"], a["type"], a["subtype"], a["balances"]["iso_currency_code"])
    bal = {(b.account_id, b.balance_type): b for b in of(items, Balance)}
    card = "plaid:3gE5gnRzNyfXpBK5wEEKcymJ5albGVUqg77gr"
    assert bal[(card, "current")].amount == Decimal("-1038.1")  # owed on a card: negative
    assert bal[(card, "available")].amount == Decimal("8961.9")
    assert bal[(card, "limit")].amount == Decimal("10000")
    assert bal[("plaid:BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp", "current")].amount == Decimal("1203.42")
    assert bal[(card, "current")].as_of == dt.date(2024, 3, 19)  # the response's Date header
    assert bal[(card, "current")].as_of_time == dt.datetime(2024, 3, 19, 12, tzinfo=UTC)
    # a saved page (no live request behind it): no next request, no cursor
    assert not [i for i in items if isinstance(i, (Request, PlaidCursor))]


def test_second_page_modified_removed_and_pending_to_posted(spider):
    items = run(spider, response("sync_page2.json"))
    src = raw("sync_page2.json")
    posted, modified = of(items, Transaction)
    check_transaction(posted, src["added"][0])
    check_transaction(modified, src["modified"][0])
    assert modified.merchant_name == "Acme Corp"
    [removed] = of(items, RemovedTransaction)
    assert (removed.account_id, removed.transaction_id) == (
        "plaid:" + src["removed"][0]["account_id"], src["removed"][0]["transaction_id"])
    assert removed.removed_at == dt.datetime(2024, 3, 19, 12, tzinfo=UTC)
    # the posted coffee names the pending one, which the same page removes
    pending_id = raw("sync_page1.json")["added"][2]["transaction_id"]
    assert posted.pending_transaction_id == removed.transaction_id == pending_id
    assert posted.transaction_id != pending_id and posted.pending is False
    assert posted.amount == Decimal("-5.33")


def test_old_transactions_get_shape_2019(spider):
    items = run(spider, response("transactions_get_2019.json"))
    src = raw("transactions_get_2019.json")
    [inst] = of(items, Institution)
    assert inst.institution_id == "plaid:" + src["item"]["institution_id"]
    txns = of(items, Transaction)
    assert len(txns) == src["total_transactions"] == 2
    for t, s in zip(txns, src["transactions"]):
        assert t.transaction_id == s["transaction_id"]
        assert t.amount == -s["amount"]
        assert t.posted_date == dt.date.fromisoformat(s["date"])
        assert t.payee == s["name"]
        assert t.category_source == " > ".join(s["category"])
        assert t.trn_type == s["transaction_type"]
    assert txns[0].amount == Decimal("-500") and txns[1].amount == Decimal("4.22")
    assert {a.institution_id for a in of(items, Account)} == {"plaid:ins_3"}


def test_accounts_balance_get(spider):
    items = run(spider, response("accounts_balance_get.json"))
    bal = {(b.account_id, b.balance_type): b for b in of(items, Balance)}
    loan = "plaid:dVzbVMLjrxTnLjX4G66XUp5GLklm4oiZy88yK"
    assert bal[(loan, "current")].amount == Decimal("-65262")  # owed on a loan: negative
    assert bal[(loan, "current")].as_of_time == dt.datetime(2024, 3, 17, 22, 5, 11, tzinfo=UTC)
    assert (loan, "available") not in bal  # null in the response: not said
    assert bal[("plaid:BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp", "available")].amount == Decimal("100")
    assert of(items, Institution)[0].institution_id == "plaid:ins_109508"


# -- the live flow -----------------------------------------------------------------------


def test_live_request_and_paging_to_the_stored_cursor(spider):
    [first] = list(spider.live_requests())
    assert (first.method, first.url) == ("POST", "https://sandbox.plaid.com/transactions/sync")
    assert first.headers[b"Content-Type"] == b"application/json"
    assert json.loads(first.body) == {"client_id": "client-abc", "secret": "secret-xyz-123",
                                      "access_token": TOKEN, "count": 500}
    assert TOKEN not in json.dumps(first.meta["plaid"])

    items1 = run(spider, response("sync_page1.json", request=first))
    [second] = [i for i in items1 if isinstance(i, Request)]
    assert json.loads(second.body)["cursor"] == raw("sync_page1.json")["next_cursor"]
    assert json.loads(second.body)["access_token"] == TOKEN
    assert not of(items1, PlaidCursor)  # not before the last page

    items2 = run(spider, response("sync_page2.json", request=second))
    assert not [i for i in items2 if isinstance(i, Request)]
    [cursor] = of(items2, PlaidCursor)
    assert cursor.cursor == raw("sync_page2.json")["next_cursor"]
    assert cursor.access_token_hash == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert (cursor.added, cursor.modified, cursor.removed) == (4, 1, 1)
    assert cursor.synced_at == dt.datetime(2024, 3, 19, 12, tzinfo=UTC)
    # the token is never in what is stored
    for item in items1 + items2:
        if not isinstance(item, Request):
            assert TOKEN not in json.dumps(item.to_json() if hasattr(item, "to_json") else item.raw, default=str)


def test_stored_cursor_is_used(spider):
    seen = []
    spider.load_cursor = lambda h: seen.append(h) or "stored-cursor-1"
    [req] = list(spider.live_requests())
    assert seen == [hashlib.sha256(TOKEN.encode()).hexdigest()]
    assert json.loads(req.body)["cursor"] == "stored-cursor-1"


def test_cursor_argument_overrides_and_unreadable_database_means_full_sync(spider):
    spider.cursor = "from-argument"
    assert json.loads(next(iter(spider.live_requests())).body)["cursor"] == "from-argument"
    spider.cursor = None

    def broken(h):
        raise RuntimeError("no database")
    spider.load_cursor = broken
    assert "cursor" not in json.loads(next(iter(spider.live_requests())).body)


def test_several_items_and_environments(monkeypatch, spider):
    monkeypatch.setenv("PLAID_ACCESS_TOKENS", "tok-a, tok-b")
    monkeypatch.setenv("PLAID_ENV", "production")
    reqs = list(spider.live_requests())
    assert [r.url for r in reqs] == ["https://production.plaid.com/transactions/sync"] * 2
    assert [json.loads(r.body)["access_token"] for r in reqs] == ["tok-a", "tok-b"]
    monkeypatch.setenv("PLAID_ENV", "moon")
    with pytest.raises(ValueError, match="PLAID_ENV='moon'"):
        list(spider.live_requests())


def test_missing_credentials(monkeypatch):
    for k in ENV:
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ValueError, match="PLAID_CLIENT_ID, PLAID_SECRET, PLAID_ACCESS_TOKENS"):
        list(PlaidTransactionsSpider().live_requests())


def test_mutation_during_pagination_restarts_from_the_first_cursor(spider, tmp_path):
    spider.load_cursor = lambda h: "cursor-0"
    [first] = list(spider.live_requests())
    page1 = run(spider, response("sync_page1.json", request=first))
    [second] = [i for i in page1 if isinstance(i, Request)]
    err = tmp_path / "err.json"
    err.write_text(json.dumps({"error_type": "TRANSACTIONS_ERROR",
                               "error_code": "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
                               "error_message": "Underlying transaction data changed", "display_message": None,
                               "request_id": "abc"}))
    resp = TextResponse(url=second.url, body=err.read_bytes(), status=400, request=second, encoding="utf-8")
    [restart] = run(spider, resp)
    assert json.loads(restart.body)["cursor"] == "cursor-0"
    assert restart.meta["plaid"]["restarts"] == 1 and restart.meta["plaid"]["added"] == 0


def test_other_plaid_errors_are_logged_not_parsed(spider, caplog):
    body = json.dumps({"error_type": "ITEM_ERROR", "error_code": "ITEM_LOGIN_REQUIRED",
                       "error_message": "the login details of this item have changed", "request_id": "r1"})
    resp = TextResponse(url="https://sandbox.plaid.com/transactions/sync", body=body.encode(), status=400,
                        encoding="utf-8")
    assert run(spider, resp) == []
    assert "ITEM_LOGIN_REQUIRED" in caplog.text and "update mode" in caplog.text


def test_unknown_json_and_non_json_raise(spider):
    with pytest.raises(ParseError, match=r"not a Plaid response this spider knows: expected /transactions/sync"):
        run(spider, TextResponse(url="file:///tmp/x.json", body=b'{"hello": 1}', encoding="utf-8"))
    with pytest.raises(ParseError, match=r"/tmp/x.json: not JSON"):
        run(spider, TextResponse(url="file:///tmp/x.json", body=b"<html>", encoding="utf-8"))


def test_bad_transaction_becomes_rejected(spider, tmp_path):
    data = raw("sync_page1.json")
    del data["added"][0]["amount"]
    data["removed"] = [{"transaction_id": "x"}]
    path = tmp_path / "page.json"
    path.write_text(json.dumps(data, default=str))
    items = run(spider, TextResponse(url=path.as_uri(), body=path.read_bytes(), encoding="utf-8"))
    bad = of(items, Rejected)
    assert [b.table for b in bad] == ["finance.transactions", "finance.removed_transactions"]
    assert bad[0].reason == "Plaid transaction: missing amount"
    assert bad[0].raw["transaction_id"] == "lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje"
    assert len(of(items, Transaction)) == 2


def test_replay_uses_placeholder_credentials_whatever_the_environment(spider):
    s = PlaidTransactionsSpider()
    s.settings = type("S", (), {"get": lambda self, k, d=None: "cassette.json" if k == "PDE_CASSETTE" else d})()
    s.load_cursor = lambda h: None
    [req] = list(s.live_requests())
    assert json.loads(req.body)["client_id"] == "replay-client-id"
    assert json.loads(spider.live_requests().__next__().body)["client_id"] == "client-abc"  # not replaying


# -- the cursor in PostgreSQL, and the recorded crawl end to end ----------------------------


def test_load_cursor_reads_the_database(pg_url):
    assert plaid.load_cursor("f" * 64, url=pg_url) is None
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO finance.plaid_cursors (access_token_hash, cursor, synced_at) VALUES (%s, %s, now())",
                    ("f" * 64, "c-42"))
    assert plaid.load_cursor("f" * 64, url=pg_url) == "c-42"


def test_cassette_replay_twice_continues_from_the_stored_cursor(pg_url, pde_home, monkeypatch):
    from tests.conftest import run_crawl

    for k, v in ENV.items():  # credentials on this machine do not disturb the replay
        monkeypatch.setenv(k, v)
    cassette = FIX / "plaid_transactions.json"
    p = run_crawl("plaid_transactions", db=pg_url, cassette=cassette)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "'pde/cassette_replayed': 2" in p.stderr
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT transaction_id, amount, pending FROM finance.transactions_current ORDER BY transaction_id")
        current = cur.fetchall()
        cur.execute("SELECT cursor, added, modified, removed FROM finance.plaid_cursors")
        cursors = cur.fetchall()
        cur.execute("SELECT count(*) FROM finance.transactions_history")
        history = cur.fetchone()[0]
    assert current == [("7v4Zb1QyXkTmP9aNwLq2Hs8GdRcEuJfYoK3Bx", Decimal("2500"), False),
                       ("Gm3yQ8xkPa1vNsUTo6LzKjdWfbR0HcYEXe7Zq", Decimal("-5.33"), False),
                       ("lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje", Decimal("-72.1"), False)]
    assert cursors == [(raw("sync_page2.json")["next_cursor"], 4, 1, 1)]
    assert history == 0  # page 1 and page 2 land in one run: the modified row is simply the newest

    p2 = run_crawl("plaid_transactions", db=pg_url, cassette=cassette)
    assert p2.returncode == 0, p2.stderr[-3000:]
    assert "'pde/cassette_replayed': 1" in p2.stderr  # only the no-changes answer
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT added, modified, removed FROM finance.plaid_cursors")
        assert cur.fetchall() == [(0, 0, 0)]
