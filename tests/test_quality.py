"""The quality check on run records (pde/schedule/quality.py), against a real PostgreSQL with made-up runs.

Each test writes the run history it needs into platform.runs (and rows into
the test-only selftest.things table) and checks what the check says about the
newest run, word for word where a person will read it.
"""

from __future__ import annotations

import json

import pytest

from pde.runs import TableCounts, load_run
from pde.schedule import quality
from pde.schedule.quality import Thresholds, check_run


def add_run(conn, *, spider="selftest_things", args=None, status="succeeded", items=10, quarantined=0,
            finish_reason="finished", message=None, errors=(), tables=None) -> int:
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO platform.runs (spider, args, status, finish_reason, message, items_scraped,
                                          items_quarantined, errors, finished_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now()) RETURNING run_id""",
            (spider, json.dumps(args or {}), status, finish_reason, message, items, quarantined,
             json.dumps(list(errors))),
        )
        run_id = cur.fetchone()[0]
        for table, (inserted, updated, unchanged) in (tables or {}).items():
            cur.execute("INSERT INTO platform.run_tables (run_id, table_name, inserted, updated, unchanged) "
                        "VALUES (%s, %s, %s, %s, %s)", (run_id, table, inserted, updated, unchanged))
    conn.commit()
    return run_id


def add_things(conn, run_id, n, *, start=0, price=True, name="thing"):
    with conn.cursor() as cur:
        for i in range(start, start + n):
            cur.execute("INSERT INTO selftest.things (thing_id, name, price, run_id) VALUES (%s, %s, %s, %s)",
                        (str(i), f"{name} {i}", i if price else None, run_id))
    conn.commit()


def test_a_good_first_run_passes_with_notes(pg_conn):
    run_id = add_run(pg_conn, items=3, tables={"selftest.things": (3, 0, 0)})
    report = check_run(pg_conn, run_id)
    assert report.ok
    assert report.problems == []
    assert "item count not compared: 0 earlier successful run(s) with these arguments, 3 needed" in report.notes
    assert report.run.written_tables == {"selftest.things": TableCounts(inserted=3, updated=0, unchanged=0,
                                                                         quarantined=0, spooled=0)}
    assert report.summary().startswith("Run 1 (selftest_things): succeeded, 3 items, 0 quarantined; "
                                       "selftest.things +3 ~0 =0.")


@pytest.mark.parametrize("status, message, expected", [
    ("failed", "selftest_things finished but produced no items. The site may have changed its layout, "
               "or the search matched nothing; check the arguments and the pages in the log.",
     "Run 1 (selftest_things start_page=1) failed: selftest_things finished but produced no items."),
    ("blocked", "Blocked: https://things.test/page/1.json answered with a block/captcha page",
     "Run 1 (selftest_things start_page=1) blocked: Blocked: https://things.test/page/1.json answered"),
    ("running", None, "Run 1 (selftest_things start_page=1) has not finished (still marked running): "
                      "no message recorded"),
])
def test_a_run_that_did_not_succeed_fails_with_its_own_message(pg_conn, status, message, expected):
    run_id = add_run(pg_conn, args={"start_page": "1"}, status=status, items=0, message=message)
    report = check_run(pg_conn, run_id)
    assert not report.ok
    assert len(report.problems) == 1 and report.problems[0].startswith(expected)


def test_item_count_far_below_the_median_of_recent_successful_runs_fails(pg_conn):
    for items in (100, 110, 90, 100, 105):
        add_run(pg_conn, args={"search": "a"}, items=items)
    add_run(pg_conn, args={"search": "a"}, status="failed", items=1)      # failed runs are not history
    add_run(pg_conn, args={"search": "b"}, items=5)                        # other arguments are not either
    low = add_run(pg_conn, args={"search": "a"}, items=30)
    report = check_run(pg_conn, low)
    assert report.problems == [
        "Run 8 (selftest_things search=a) scraped 30 items, far below the median of 100 over its last 5 "
        "successful runs (threshold 50%: 50). The site may show fewer results, a page may have failed to "
        "load, or the parser misses part of the page."]

    fine = add_run(pg_conn, args={"search": "a"}, items=60)
    assert check_run(pg_conn, fine).ok
    assert not check_run(pg_conn, fine, {"min_items_ratio": 0.7}).ok  # per-spider threshold


def test_item_count_is_not_judged_before_there_is_enough_history(pg_conn):
    add_run(pg_conn, items=100)
    add_run(pg_conn, items=100)
    report = check_run(pg_conn, add_run(pg_conn, items=1))
    assert report.ok
    assert any("2 earlier successful run(s)" in n for n in report.notes)
    assert not check_run(pg_conn, 3, {"min_history": 2}).ok


def test_a_high_quarantined_share_fails_with_the_commonest_reasons(pg_conn):
    run_id = add_run(pg_conn, items=20, quarantined=8)
    with pg_conn.cursor() as cur:
        for reason, n in (("price should be int, got str '$1,200'", 5), ("name is required", 3)):
            for _ in range(n):
                cur.execute("INSERT INTO platform.quarantine (run_id, spider, table_name, reason, item) "
                            "VALUES (%s, 'selftest_things', 'selftest.things', %s, '{}')", (run_id, reason))
    pg_conn.commit()
    report = check_run(pg_conn, run_id)
    assert report.problems == [
        "Run 1 (selftest_things): 8 of 20 items (40%) were quarantined (threshold 20%). Most common reasons: "
        "5 x price should be int, got str '$1,200'; 3 x name is required. "
        "Details: SELECT reason, item FROM platform.quarantine WHERE run_id = 1;"]
    assert check_run(pg_conn, run_id, {"max_quarantine_share": 0.5}).ok
    assert check_run(pg_conn, add_run(pg_conn, items=20, quarantined=3)).ok


def test_a_usually_filled_column_that_went_empty_fails_naming_it(pg_conn):
    earlier = add_run(pg_conn, items=30, tables={"selftest.things": (30, 0, 0)})
    add_things(pg_conn, earlier, 30)
    layout_change = add_run(pg_conn, items=10, tables={"selftest.things": (10, 0, 0)})
    add_things(pg_conn, layout_change, 10, start=100, price=False)
    report = check_run(pg_conn, layout_change)
    assert len(report.problems) == 1
    assert report.problems[0].startswith(
        "selftest.things.price went empty: filled in 100% of the 30 earlier rows but in 0 of the 10 rows "
        "Run 2 (selftest_things) wrote. The site's layout has probably changed under the selftest_things parser")
    assert "quality.ignore_fields" in report.problems[0]
    # tags and seen_on were never filled: empty is normal for them
    assert check_run(pg_conn, layout_change, {"ignore_fields": ["price"]}).ok
    assert check_run(pg_conn, layout_change, {"ignore_fields": ["selftest.things.price"]}).ok


def test_empty_columns_are_not_judged_on_too_few_rows(pg_conn):
    earlier = add_run(pg_conn, items=30, tables={"selftest.things": (30, 0, 0)})
    add_things(pg_conn, earlier, 30)
    small = add_run(pg_conn, items=3, tables={"selftest.things": (3, 0, 0)})
    add_things(pg_conn, small, 3, start=100, price=False)
    report = check_run(pg_conn, small)
    assert report.ok
    assert ("selftest.things: empty columns not checked (3 rows written, 30 earlier rows; needs 5 and 20)"
            in report.notes)
    assert not check_run(pg_conn, small, {"min_rows": 3}).ok


def test_data_failure_is_told_apart_from_a_crawl_failure(pg_conn):
    empty = load_run(pg_conn, add_run(pg_conn, status="failed", items=0, message="... produced no items."))
    assert quality.is_data_failure(empty)
    errors = load_run(pg_conn, add_run(pg_conn, status="failed", items=0, errors=["boom"]))
    assert not quality.is_data_failure(errors)
    early = load_run(pg_conn, add_run(pg_conn, status="failed", items=0, finish_reason="cassette_miss"))
    assert not quality.is_data_failure(early)


def test_unknown_thresholds_are_refused():
    with pytest.raises(ValueError, match="Unknown quality threshold.*min_itemz.*known: min_items_ratio"):
        Thresholds.from_dict({"min_itemz": 1})
    assert Thresholds.from_dict({"min_rows": "7", "ignore_fields": ["a"]}) == Thresholds(min_rows=7,
                                                                                         ignore_fields=("a",))


def test_missing_run_says_so(pg_conn):
    with pytest.raises(LookupError, match="There is no run 999 in platform.runs"):
        check_run(pg_conn, 999)
