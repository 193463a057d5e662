"""The generic machinery, end to end: real `scrapy crawl`, real PostgreSQL, replayed cassettes.

Uses the tiny test-only source in tests/selftest (a JSON API of "things"), so
these tests pin the pipeline, run records and cassette replay independently of
any real site's parser.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pde import cassettes
from pde.db import EmbeddedPostgres, free_port
from pde.runs import EXIT_CODES, crawl_command
from tests.conftest import ROOT, TEST_SETTINGS, prepare_database, reachable, run_crawl
from tests.helpers import rows


def things_cassette(path, pages: dict[int, dict], extra: list | None = None):
    inter = [
        cassettes.interaction(f"https://things.test/page/{n}.json", json.dumps(body).encode(),
                              headers={"Content-Type": "application/json"})
        for n, body in pages.items()
    ]
    return cassettes.build_cassette(path, inter + (extra or []), spider="selftest_things")


PAGES = {
    1: {"things": [{"id": 1, "name": "chair", "price": 40, "tags": ["wood"], "seen_on": "2026-11-01"},
                   {"id": 2, "name": "table", "price": 120}], "next": 2},
    2: {"things": [{"id": 3, "name": "lamp", "price": 15}, {"id": 2, "name": "table", "price": 120}], "next": None},
}


def last_run(url):
    return rows(url,
                "SELECT run_id, status, finish_reason, message, items_scraped, items_quarantined FROM platform.runs "
                "ORDER BY run_id DESC LIMIT 1")[0]


def table_counts(url, run_id):
    return {r[0]: r[1:] for r in rows(url,
                                      "SELECT table_name, inserted, updated, unchanged, quarantined, spooled FROM "
                                      f"platform.run_tables WHERE run_id = {run_id}")}


def test_crawl_lands_rows_and_second_run_changes_nothing(pg_url, tmp_path, pde_home):
    cas = things_cassette(tmp_path / "things.json", PAGES)
    p = run_crawl("selftest_things", db=pg_url, cassette=cas)
    assert p.returncode == 0, p.stderr[-3000:]
    assert rows(pg_url, "SELECT thing_id, name, price, tags, seen_on::text FROM selftest.things ORDER BY thing_id") == [
        ("1", "chair", 40, ["wood"], "2026-11-01"), ("2", "table", 120, None, None), ("3", "lamp", 15, None, None)]
    run_id, status, reason, *_ = last_run(pg_url)
    assert (status, reason) == ("succeeded", "finished")
    # id 2 appears on both pages: 4 items, 3 distinct rows, no duplicate
    assert table_counts(pg_url, run_id)["selftest.things"][:3] == (3, 0, 0)
    assert last_run(pg_url)[4] == 4

    before = rows(pg_url, "SELECT xmin::text, thing_id FROM selftest.things ORDER BY thing_id")
    p = run_crawl("selftest_things", db=pg_url, cassette=cas)
    assert p.returncode == 0, p.stderr[-3000:]
    run_id2 = last_run(pg_url)[0]
    assert table_counts(pg_url, run_id2)["selftest.things"][:3] == (0, 0, 3)
    assert rows(pg_url,
                "SELECT xmin::text, thing_id FROM selftest.things ORDER BY thing_id") == before, ("unchanged rows "
                                                                                                  "were rewritten")
    assert rows(pg_url, "SELECT count(*) FROM selftest.things_history") == [(0,)]


def test_changed_value_keeps_history_and_none_keeps_known_values(pg_url, tmp_path, pde_home):
    run_crawl("selftest_things", db=pg_url, cassette=things_cassette(tmp_path / "a.json", PAGES))
    changed = {1: {"things": [{"id": 1, "name": "chair", "price": 35}], "next": None}}
    p = run_crawl("selftest_things", db=pg_url, cassette=things_cassette(tmp_path / "b.json", changed))
    assert p.returncode == 0, p.stderr[-3000:]
    # the price changed; tags and seen_on were not given this time and keep their values
    assert rows(pg_url, "SELECT price, tags, seen_on::text FROM selftest.things WHERE thing_id = '1'") == [(35,
                                                                                                            ["wood"],
                                                                                                            "2026-11-01")]
    assert rows(pg_url,
                "SELECT thing_id, price, replaced_by_run_id IS NOT NULL FROM selftest.things_history") == [("1", 40,
                                                                                                            True)]
    assert table_counts(pg_url, last_run(pg_url)[0])["selftest.things"][:3] == (0, 1, 0)


def test_bad_items_are_quarantined_with_reason(pg_url, tmp_path, pde_home):
    bad = {1: {"things": [
        {"id": 1, "name": "ok", "price": 1},
        {"id": 2, "name": None, "price": 3},          # required field missing: validation
        {"id": 3, "name": "neg", "price": -5},        # CHECK constraint: refused by the database
        {"name": "no id"},                            # the spider rejects it itself
        {"id": 4, "name": "str price", "price": "12"},  # wrong type
    ], "next": None}}
    p = run_crawl("selftest_things", db=pg_url, cassette=things_cassette(tmp_path / "bad.json", bad))
    assert p.returncode == 0, p.stderr[-3000:]
    assert rows(pg_url, "SELECT thing_id FROM selftest.things") == [("1",)]
    q = rows(pg_url, "SELECT reason, item, url FROM platform.quarantine ORDER BY quarantine_id")
    reasons = " | ".join(r[0] for r in q)
    assert len(q) == 4, reasons
    assert "name is required" in reasons
    assert "row has no id" in reasons
    assert "price should be int" in reasons
    assert "things_price_check" in reasons
    assert all(r[2] == "https://things.test/page/1.json" for r in q)
    assert {"name": "no id"} in [r[1] for r in q]
    assert last_run(pg_url)[5] == 4


def test_cassette_miss_fails_loudly_naming_the_request(pg_url, tmp_path, pde_home):
    cas = things_cassette(tmp_path / "miss.json", {1: PAGES[1]})  # page 2 is not recorded
    p = run_crawl("selftest_things", db=pg_url, cassette=cas)
    assert p.returncode == 1
    assert "Cassette miss: GET https://things.test/page/2.json" in p.stderr
    run_id, status, reason, message, *_ = last_run(pg_url)
    assert (status, reason) == ("failed", "cassette_miss")
    assert "https://things.test/page/2.json" in message


def test_empty_crawl_is_a_failure(pg_url, tmp_path, pde_home):
    p = run_crawl("selftest_things", db=pg_url,
                  cassette=things_cassette(tmp_path / "e.json", {1: {"things": [], "next": None}}))
    assert p.returncode == 1
    _, status, _, message, *_ = last_run(pg_url)
    assert status == "failed" and "no items" in message


def test_block_page_gives_blocked_status_and_exit_code(pg_url, tmp_path, pde_home):
    block = [cassettes.interaction("https://things.test/page/1.json",
                                   b"<html><div id='px-captcha'></div></html>", status=403,
                                   headers={"Content-Type": "text/html"})]
    cas = cassettes.build_cassette(tmp_path / "block.json", block, spider="selftest_things")
    p = run_crawl("selftest_things", db=pg_url, cassette=cas)
    assert p.returncode == 3, p.stderr[-2000:]
    assert "Blocked: https://things.test/page/1.json" in p.stderr
    _, status, reason, message, scraped, _ = last_run(pg_url)
    assert (status, reason, scraped) == ("blocked", "blocked", 0)
    assert rows(pg_url, "SELECT count(*) FROM selftest.things") == [(0,)]


def _wait_for(predicate, timeout=60.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _crawl_cmd(cassette, **settings):
    """A crawl at the project's default download delay (2 s, no jitter): slow enough to act on mid-crawl."""
    return crawl_command("selftest_things", settings={
        "SPIDER_MODULES": TEST_SETTINGS["SPIDER_MODULES"], "PDE_CASSETTE": cassette, "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY_JITTER": 0, **settings})


def test_concurrent_second_run_is_refused_and_crashed_run_is_marked(pg_url, tmp_path, pde_home):
    cas = things_cassette(tmp_path / "slow.json", PAGES)
    env = {**os.environ, "DATABASE_URL": pg_url}
    # slow enough to be still running when the second one starts on a busy machine
    first = subprocess.Popen(_crawl_cmd(cas, PDE_CASSETTE_DELAY=20), cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: rows(pg_url, "SELECT count(*) FROM platform.runs WHERE status = 'running'") == [(1,)])
        second = run_crawl("selftest_things", db=pg_url, cassette=cas)
        assert second.returncode == EXIT_CODES["refused"] == 4
        assert "is already running (run 1" in second.stderr
        # the refused run did not record a run of its own
        assert rows(pg_url, "SELECT count(*) FROM platform.runs") == [(1,)]
        first.send_signal(signal.SIGKILL)  # a crash: the run stays 'running'
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    assert rows(pg_url, "SELECT status FROM platform.runs WHERE run_id = 1") == [("running",)]
    third = run_crawl("selftest_things", db=pg_url, cassette=cas)
    assert third.returncode == 0, third.stderr[-2000:]
    assert rows(pg_url, "SELECT run_id, status, finish_reason FROM platform.runs ORDER BY run_id") == [
        (1, "failed", "abandoned"), (2, "succeeded", "finished")]


def test_database_stopping_mid_crawl_loses_nothing(tmp_path, pde_home):
    """The server stops after the first rows: the rest is spooled, the run fails, `pde spool load` recovers all."""
    pg = EmbeddedPostgres(home=reachable(Path(tempfile.mkdtemp(prefix="pde-test-pg-"))), port=free_port(), fast=True)
    pg.start()
    prepare_database(pg.url)
    try:
        pages = {n: {"things": [{"id": 10 * n + i, "name": f"thing {n}.{i}", "price": i} for i in range(3)],
                     "next": n + 1 if n < 4 else None} for n in range(1, 5)}
        cas = things_cassette(tmp_path / "four.json", pages)
        env = {**os.environ, "DATABASE_URL": pg.url, "PDE_HOME": str(pde_home)}
        crawl = subprocess.Popen(
            _crawl_cmd(cas, PDE_CASSETTE_DELAY=1.5, PDE_BATCH_SIZE=1, PDE_DB_RETRIES=2, PDE_DB_RETRY_DELAY=0.1),
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert _wait_for(lambda: rows(pg.url, "SELECT count(*) FROM selftest.things")[0][0] >= 1)
        pg.stop()
        out, err = crawl.communicate(timeout=120)
        assert crawl.returncode == 1, err[-3000:]
        assert "spooled" in err and "pde spool load" in err
        spooled = list((pde_home / "spool").glob("*.jsonl"))
        assert len(spooled) == 1
        # spooled rows are personal data: the user's only
        assert (pde_home / "spool").stat().st_mode & 0o777 == 0o700 and spooled[0].stat().st_mode & 0o777 == 0o600

        pg.start()
        assert rows(pg.url, "SELECT status FROM platform.runs") == [("running",)]  # the end could not be recorded
        load = subprocess.run([sys.executable, "-m", "pde.cli", "spool", "load"], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        assert load.returncode == 0, load.stderr
        got = {r[0] for r in rows(pg.url, "SELECT thing_id FROM selftest.things")}
        assert got == {str(10 * n + i) for n in range(1, 5) for i in range(3)}
        status, message = rows(pg.url, "SELECT status, message FROM platform.runs")[0]
        assert status == "failed" and "spool" in message
        assert not list((pde_home / "spool").glob("*.jsonl"))
    finally:
        pg.destroy()
