"""Categorization (pde.finance.categorize): rules, user categories, the model.

NEEDS A DATABASE: every test here uses the ``pg_conn`` fixture of tests/conftest.py (a
fresh, migrated PostgreSQL database per test).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pde.finance.categorize import apply_rules, features, train_and_apply

ACCT = "csv:test-bank:main"
OTHER = "csv:test-bank:other"


def add(conn, tid, payee, memo=None, amount="-1.00", account=ACCT, category_user=None):
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO finance.transactions
               (account_id, transaction_id, source, posted_date, amount, currency, payee, memo, category_user)
               VALUES (%s, %s, 'csv', %s, %s, 'USD', %s, %s, %s)""",
            (account, tid, dt.date(2024, 1, 1), Decimal(amount), payee, memo, category_user))
    conn.commit()


def rule(conn, pattern, category, **kw):
    cols = {"pattern": pattern, "category": category, **kw}
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO finance.category_rules ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                    list(cols.values()))
    conn.commit()


def row(conn, tid, account=ACCT):
    with conn.cursor() as cur:
        cur.execute("""SELECT category_user, category_rule, category_predicted, category_confidence, category, category_origin
                         FROM finance.transactions_current t
                        WHERE account_id = %s AND transaction_id = %s""", (account, tid))  # noqa: E501 - the string's text is kept verbatim
        return cur.fetchone()


def test_rules_priority_fields_accounts_and_user_categories_win(pg_conn):
    add(pg_conn, "t1", "STARBUCKS STORE 123")
    add(pg_conn, "t2", "ONLINE TRANSFER", memo="rent january")
    add(pg_conn, "t3", "STARBUCKS RESERVE", category_user="Treats")
    add(pg_conn, "t4", "SHELL OIL 5555", account=OTHER)
    add(pg_conn, "t5", "Netflix.com")
    add(pg_conn, "t6", "Something else")
    rule(pg_conn, "starbucks", "Coffee")
    rule(pg_conn, "STARBUCKS RESERVE", "Fancy coffee", priority=10)        # lower priority number wins
    rule(pg_conn, "rent", "Rent", field="memo")
    rule(pg_conn, "rent", "Wrong", field="payee")                           # payee has no 'rent'
    rule(pg_conn, r"^shell\s+oil", "Fuel", match_type="regex", account_id=OTHER)
    rule(pg_conn, r"^shell\s+oil", "Never", match_type="regex", account_id=ACCT)
    rule(pg_conn, "netflix.com", "Streaming", match_type="exact")
    rule(pg_conn, "([unclosed", "Broken", match_type="regex")              # invalid: skipped, not fatal
    rule(pg_conn, "something", "Disabled", enabled=False)

    assert apply_rules(pg_conn) == 5
    pg_conn.commit()
    assert row(pg_conn, "t1")[1] == "Coffee"
    assert row(pg_conn, "t2")[1] == "Rent"
    assert row(pg_conn, "t3")[:2] == ("Treats", "Fancy coffee")
    assert row(pg_conn, "t3")[4:] == ("Treats", "user")  # the user's category is shown and kept
    assert row(pg_conn, "t4", OTHER)[1] == "Fuel"
    assert row(pg_conn, "t5")[1] == "Streaming"
    assert row(pg_conn, "t6")[1] is None

    # a rule removed: its category goes too; user categories never change
    with pg_conn.cursor() as cur:
        cur.execute("DELETE FROM finance.category_rules WHERE category = 'Coffee'")
    apply_rules(pg_conn)
    pg_conn.commit()
    assert row(pg_conn, "t1")[1] is None
    assert row(pg_conn, "t3")[0] == "Treats"


TRAINING = {
    "Coffee": ["STARBUCKS STORE {n}", "PEETS COFFEE #{n}", "BLUE BOTTLE COFFEE {n}", "STARBUCKS {n} SEATTLE"],
    "Groceries": ["WHOLEFDS MKT {n}", "SAFEWAY #{n}", "TRADER JOE S #{n}", "KROGER {n}"],
    "Transport": ["UBER TRIP {n}", "LYFT RIDE {n}", "SHELL OIL {n}", "CHEVRON {n}"],
}


def test_train_and_apply_predicts_the_rest_and_reports_accuracy(pg_conn):
    n = 0
    for category, payees in TRAINING.items():
        for _i in range(5):
            for p in payees:
                n += 1
                add(pg_conn, f"u{n}", p.format(n=1000 + 37 * n), category_user=category)
    rule(pg_conn, "lyft", "Transport")
    add(pg_conn, "r1", "LYFT RIDE 99")                    # categorised by the rule
    add(pg_conn, "p1", "STARBUCKS STORE 777")
    add(pg_conn, "p2", "SAFEWAY #4321")
    add(pg_conn, "p3", "UBER TRIP 8812")
    add(pg_conn, "gone", "STARBUCKS STORE 1")
    with pg_conn.cursor() as cur:
        cur.execute("""INSERT INTO finance.removed_transactions (account_id, transaction_id, source)
                       VALUES (%s, 'gone', 'plaid')""", (ACCT,))
    pg_conn.commit()

    report = train_and_apply(pg_conn)
    assert report.rule_matches == 6                        # r1 and the 5 user-categorised LYFT rows
    assert report.labelled == 60 + 1
    assert report.user_labelled == 60
    assert report.classes == 3
    # graded on the user's own 60 rows only, each by a model that never saw it (5 folds of 12)
    assert report.held_out == 60 and report.trained_on == 61 - 12
    assert report.accuracy is not None and 0.8 <= report.accuracy <= 1.0
    assert round(report.accuracy * 60, 6) == int(round(report.accuracy * 60))
    assert report.predicted == 3                           # p1, p2, p3; not the removed one
    p1, p2, p3 = row(pg_conn, "p1"), row(pg_conn, "p2"), row(pg_conn, "p3")
    assert (p1[2], p2[2], p3[2]) == ("Coffee", "Groceries", "Transport")
    assert all(0.34 < r[3] <= 1.0 for r in (p1, p2, p3))
    assert p1[4:] == ("Coffee", "model")
    assert row(pg_conn, "r1")[1:3] == ("Transport", None)  # rule rows are not predicted
    assert row(pg_conn, "u1")[0] == "Coffee" and row(pg_conn, "u1")[2] is None
    with pg_conn.cursor() as cur:
        cur.execute("SELECT category_predicted FROM finance.transactions WHERE transaction_id = 'gone'")
        assert cur.fetchone() == (None,)
        cur.execute("SELECT labelled, held_out, predicted, accuracy FROM finance.categorizer_runs")
        [(labelled, held_out, predicted, accuracy)] = cur.fetchall()
    assert (labelled, held_out, predicted) == (61, 60, 3)
    assert accuracy == pytest.approx(report.accuracy)

    # the user corrects one: it becomes an example and loses its prediction
    with pg_conn.cursor() as cur:
        cur.execute("UPDATE finance.transactions SET category_user = 'Coffee' WHERE transaction_id = 'p1'")
    pg_conn.commit()
    again = train_and_apply(pg_conn)
    assert again.labelled == 62 and again.predicted == 2
    assert row(pg_conn, "p1")[:3] == ("Coffee", None, None)


def test_too_little_data_predicts_nothing_and_says_why(pg_conn):
    add(pg_conn, "a", "STARBUCKS", category_user="Coffee")
    add(pg_conn, "b", "SAFEWAY")
    report = train_and_apply(pg_conn)
    assert report.predicted == 0 and report.accuracy is None
    assert "not enough categorised transactions" in report.message
    assert row(pg_conn, "b")[2] is None


def test_features_fold_numbers():
    assert features("STARBUCKS STORE 00123", "Seattle WA") == "starbucks store 0 seattle wa"
    assert features(None, None) == ""


# -- the institution's category, the merchant name, unsure guesses, transfers ---------------------------
def add_full(conn, tid, amount="-1.00", account=ACCT, currency="USD", day=dt.date(2024, 1, 1), **cols):
    base = {"account_id": account, "transaction_id": tid, "source": "plaid", "posted_date": day,
            "amount": Decimal(amount), "currency": currency, **cols}
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO finance.transactions ({', '.join(base)}) VALUES ({', '.join(['%s'] * len(base))})",
                    list(base.values()))
    conn.commit()


def cashflow(conn, tid) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM finance.cashflow WHERE transaction_id = %s", (tid,))
        return dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))


def test_institution_category_is_the_default_rules_override_user_wins(pg_conn):
    add_full(pg_conn, "coffee", payee="BLUE BOTTLE", category_source="FOOD_AND_DRINK_COFFEE")
    add_full(pg_conn, "fastfood", payee="WENDYS 12", category_source="FOOD_AND_DRINK_FAST_FOOD")  # primary only
    add_full(pg_conn, "gas", payee="Shell Gas purchase", category_source="Travel / Gas")  # Outbank: most specific part
    add_full(pg_conn, "mint", payee="Starbucks", category_source="Coffee Shops")
    add_full(pg_conn, "legacy", payee="SQ *CAFE", category_source="Food and Drink > Restaurants > Coffee Shop")
    add_full(pg_conn, "unknown", payee="ACME", category_source="Widgets")
    add_full(pg_conn, "ruled", payee="WHOLE FOODS 33", category_source="FOOD_AND_DRINK_RESTAURANT")
    add_full(pg_conn, "mine", payee="STARBUCKS 9", category_source="FOOD_AND_DRINK_COFFEE", category_user="Treats")
    rule(pg_conn, "whole foods", "Groceries")
    apply_rules(pg_conn)
    pg_conn.commit()
    shown = {t: (cashflow(pg_conn, t)["category"], cashflow(pg_conn, t)["category_origin"])
             for t in ("coffee", "fastfood", "gas", "mint", "legacy", "unknown", "ruled", "mine")}
    assert shown == {"coffee": ("Coffee", "source"), "fastfood": ("Eating out", "source"),
                     "gas": ("Car", "source"), "mint": ("Coffee", "source"), "legacy": ("Coffee", "source"),
                     "unknown": ("Uncategorized", None), "ruled": ("Groceries", "rule"), "mine": ("Treats", "user")}
    assert cashflow(pg_conn, "unknown")["needs_review"] and not cashflow(pg_conn, "coffee")["needs_review"]
    # the map is data: a row of the user's wins over pde's, and survives pde's list being re-applied
    with pg_conn.cursor() as cur:
        cur.execute("INSERT INTO finance.category_map (source_category, category) VALUES ('widgets', 'Shopping') ")
        cur.execute("UPDATE finance.category_map SET category = 'Caffeine', origin = 'user' "
                    "WHERE source_category = 'coffee shops'")
        cur.execute(open("sql/repeatable/0070_category_map.sql").read())
    pg_conn.commit()
    assert cashflow(pg_conn, "unknown")["category"] == "Shopping"
    assert cashflow(pg_conn, "mint")["category"] == "Caffeine"


def test_rules_match_the_merchant_name(pg_conn):
    add_full(pg_conn, "wm", payee="PURCHASE WM SUPERCENTER #1234", merchant_name="Walmart")
    add_full(pg_conn, "other", payee="PURCHASE TARGET 99", merchant_name="Target")
    rule(pg_conn, "walmart", "Groceries")
    rule(pg_conn, "target", "Shopping", field="merchant", match_type="exact")
    assert apply_rules(pg_conn) == 2
    pg_conn.commit()
    assert row(pg_conn, "wm")[4:] == ("Groceries", "rule")
    assert row(pg_conn, "other")[4:] == ("Shopping", "rule")


def test_an_unsure_guess_stays_uncategorized_and_waits_for_review(pg_conn):
    n = 0
    for category, payees in TRAINING.items():
        for p in payees:
            for _ in range(3):
                n += 1
                add(pg_conn, f"u{n}", p.format(n=1000 + 37 * n), category_user=category)
    add(pg_conn, "sure", "STARBUCKS STORE 4242")
    add(pg_conn, "unsure", "ZQXV HOLDINGS")          # nothing like any example: about 1 in 3 for each
    report = train_and_apply(pg_conn)
    assert report.predicted == 2
    with pg_conn.cursor() as cur:
        cur.execute("SELECT transaction_id, category_predicted, category_confidence FROM finance.transactions "
                    "WHERE transaction_id IN ('sure', 'unsure') ORDER BY 1")
        (_, sure_guess, sure_p), (_, unsure_guess, unsure_p) = cur.fetchall()
    assert sure_p >= 0.6 and unsure_p < 0.6
    assert report.confident == 1
    assert row(pg_conn, "sure")[4:] == (sure_guess, "model")
    assert row(pg_conn, "unsure")[4:] == (None, None)
    queued = cashflow(pg_conn, "unsure")
    assert queued["category"] == "Uncategorized" and queued["needs_review"]
    assert queued["review_reason"] == f"unsure guess: {unsure_guess} ({round(100 * unsure_p)} %)"
    # 36 user rows: too few to grade the model, and it says so
    assert report.accuracy is None and report.user_labelled == 36
    assert "accuracy not measured: 36 categories set by you, it needs 50" in str(report)


def test_transfers_between_own_accounts_are_neither_spending_nor_income(pg_conn):
    add_full(pg_conn, "out", "-500.00", account=ACCT, payee="ONLINE BANKING TRANSFER", day=dt.date(2024, 3, 1))
    add_full(pg_conn, "in", "500.00", account=OTHER, payee="DEPOSIT FROM CHECKING", day=dt.date(2024, 3, 2))
    add_full(pg_conn, "rent", "-500.00", account=ACCT, payee="LANDLORD", day=dt.date(2024, 2, 1))
    add_full(pg_conn, "eur", "-500.00", account=OTHER, currency="EUR", payee="MIETE", day=dt.date(2024, 3, 1))
    report = train_and_apply(pg_conn)
    assert report.transfers == 1
    flows = {t: cashflow(pg_conn, t) for t in ("out", "in", "rent", "eur")}
    assert [flows[t]["is_transfer"] for t in ("out", "in", "rent", "eur")] == [True, True, False, False]
    assert (flows["out"]["spending"], flows["in"]["income"]) == (0, 0)
    assert flows["rent"]["spending"] == Decimal("500.00")
    assert not flows["out"]["needs_review"]


def test_home_currency_is_the_setting_else_the_most_used(pg_conn):
    for i in range(3):
        add_full(pg_conn, f"e{i}", currency="EUR", payee="X")
    add_full(pg_conn, "u", currency="USD", payee="Y")
    assert cashflow(pg_conn, "e0")["is_home_currency"] and not cashflow(pg_conn, "u")["is_home_currency"]
    with pg_conn.cursor() as cur:
        cur.execute("INSERT INTO platform.settings (key, value) VALUES ('home_currency', 'usd')")
    pg_conn.commit()
    assert cashflow(pg_conn, "u")["is_home_currency"] and not cashflow(pg_conn, "e0")["is_home_currency"]
