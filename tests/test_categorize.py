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
                        WHERE account_id = %s AND transaction_id = %s""", (account, tid))
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
        for i in range(5):
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
