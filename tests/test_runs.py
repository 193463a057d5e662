"""The run object (pde/runs.py): its verdict, its JSON, its rows, and the result file of a real crawl.

The crawl tests compare the result file the crawl command writes (``-s PDE_RESULT_FILE``)
with what the same run wrote into platform.runs and platform.run_tables, and both
with the rows that really landed: the file is what Airflow reads, so it must say
exactly what the database says.
"""

from __future__ import annotations

import json
import threading

import pytest

from pde import cassettes
from pde.runs import EXIT_CODES, Run, TableCounts, crawl_command, format_counts, load_run
from tests.conftest import run_crawl
from tests.helpers import rows
from tests.test_machinery import PAGES, things_cassette


# -- the object alone ---------------------------------------------------------------------
def test_counts_add_up_across_batches_and_threads():
    run = Run(spider="s")

    def batches():
        for _ in range(500):
            run.count("a.t", inserted=2, updated=1, unchanged=3)

    threads = [threading.Thread(target=batches) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.count("a.t", quarantined=2)
    run.count("b.u", spooled=5)
    assert run.tables["a.t"] == TableCounts(inserted=4000, updated=2000, unchanged=6000, quarantined=2)
    assert run.items_quarantined == 2 and run.items_spooled == 5
    assert set(run.written_tables) == {"a.t"}
    with pytest.raises(ValueError, match="unknown count.*rejected"):
        run.count("a.t", rejected=1)


def test_summary_is_one_line_per_table_in_name_order():
    run = Run(spider="s", run_id=7)
    run.count("z.last", inserted=1)
    run.count("a.first", updated=2, unchanged=3, quarantined=1, spooled=4)
    assert format_counts(run.tables) == "a.first +0 ~2 =3 quarantined 1 spooled 4, z.last +1 ~0 =0"
    assert run.summary() == "Run 7 RUNNING: a.first +0 ~2 =3 quarantined 1 spooled 4, z.last +1 ~0 =0"
    assert Run().summary() == "Run None RUNNING: nothing written"


@pytest.mark.parametrize("setup, reason, status, words", [
    (lambda r: r.stop("blocked", "Blocked: x"), "blocked", "blocked", "Blocked: x"),
    (lambda r: (r.stop("failed", "miss"), r.stop("blocked", "later")), "cassette_miss", "failed", "miss"),
    (lambda r: r.count("a.t", spooled=3), "finished", "failed", "3 rows were spooled to /sp"),
    (lambda r: None, "shutdown", "failed", "stopped early (shutdown)"),
    (lambda r: (r.error("boom"), r.error("bang")), "finished", "failed", "2 error(s) during the crawl; first: boom"),
    (lambda r: None, "finished", "failed", "s finished but produced no items"),
])
def test_verdict_says_what_to_act_on_first(setup, reason, status, words):
    run = Run(spider="s", items_scraped=0)
    setup(run)
    run.finish(reason, spool_dir="/sp")
    assert run.status == status and words in run.message
    assert run.exit_code == EXIT_CODES[status]
    assert run.finish_reason == reason and run.duration_s is not None and run.duration_s >= 0


def test_success_and_a_source_that_may_find_nothing():
    run = Run(spider="s", items_scraped=3)
    run.finish("finished")
    assert (run.status, run.message, run.exit_code) == ("succeeded", "", 0)
    quiet = Run(spider="s")
    quiet.finish("finished", expects_items=False)
    assert quiet.status == "succeeded"


def test_quarantined_items_are_said_and_all_quarantined_is_a_failure():
    some = Run(spider="s", run_id=4, items_scraped=3)
    some.count("a.t", inserted=2, quarantined=1)
    some.finish("finished", notes=("Two files read.",))
    assert some.status == "succeeded"
    assert some.message == ("1 of 3 items quarantined (the rest loaded). Why: SELECT reason, item FROM "
                            "platform.quarantine WHERE run_id = 4; Two files read.")
    every = Run(spider="s", run_id=5, items_scraped=2)
    every.count("a.t", quarantined=2)
    every.finish("finished")
    assert every.status == "failed" and every.message.startswith("Every one of the 2 items was quarantined")


def test_errors_keep_the_first_fifty_messages_but_count_all():
    run = Run()
    for i in range(80):
        run.error(f"e{i}")
    assert run.error_count == 80 and len(run.errors) == 50 and run.errors[0] == "e0"


def test_json_round_trip_and_result_file(tmp_path):
    run = Run(spider="s", args={"a": "1"}, run_id=3, items_scraped=4, requests=2, response_codes={"200": 2})
    run.count("a.t", inserted=1, quarantined=1)
    run.error("boom")
    run.stop("blocked", "Blocked: y")
    run.finish("blocked")
    run.write_result(tmp_path / "deep" / "result.json")
    data = json.loads((tmp_path / "deep" / "result.json").read_text())
    assert data["run_id"] == 3 and data["status"] == "blocked" and data["exit_code"] == 3
    assert data["tables"] == {"a.t": {"inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 1, "spooled": 0}}
    back = Run.read_result(tmp_path / "deep" / "result.json")
    assert back.to_json() == run.to_json()
    assert not list((tmp_path / "deep").glob("*.tmp"))


def test_save_and_load_through_postgres(pg_conn):
    run = Run(spider="selftest_things", args={"start_page": "1"}, items_scraped=5, requests=3,
              response_codes={"200": 3})
    run.insert(pg_conn, "host-a", 123)
    pg_conn.commit()
    assert load_run(pg_conn, run.run_id).status == "running"
    run.count("selftest.things", inserted=4, unchanged=1)
    run.count("selftest.things", quarantined=1)
    run.finish("finished")
    run.save(pg_conn)
    back = load_run(pg_conn, run.run_id)
    for name in ("run_id", "spider", "args", "status", "message", "finish_reason", "items_scraped",
                 "items_quarantined", "requests", "response_codes", "tables", "errors"):
        assert getattr(back, name) == getattr(run, name), name
    assert back.duration_s == pytest.approx(run.duration_s, abs=0.01)
    with pg_conn.cursor() as cur:
        cur.execute("SELECT host, pid FROM platform.runs WHERE run_id = %s", (run.run_id,))
        assert cur.fetchone() == ("host-a", 123)


def test_crawl_command_line():
    cmd = crawl_command("x", {"search": "a b"}, {"N": 1, "L": [1, 2]}, python="/py")
    assert cmd == ["/py", "-m", "scrapy", "crawl", "x", "-a", "search=a b", "-s", "N=1", "-s", "L=[1, 2]"]


# -- through real crawls ------------------------------------------------------------------------
def _result_matches_database(result: Run, url: str) -> None:
    (status, reason, message, scraped, quarantined, requests, codes, errors), = rows(
        url, "SELECT status, finish_reason, coalesce(message, ''), items_scraped, items_quarantined, requests, "
             "response_codes, errors FROM platform.runs WHERE run_id = %s", (result.run_id,))
    assert (result.status, result.finish_reason, result.message) == (status, reason, message)
    assert (result.items_scraped, result.items_quarantined, result.requests) == (scraped, quarantined, requests)
    assert (result.response_codes, result.errors) == (codes, errors)
    tables = {t: TableCounts(*c) for t, *c in rows(
        url, "SELECT table_name, inserted, updated, unchanged, quarantined, spooled FROM platform.run_tables "
             "WHERE run_id = %s", (result.run_id,))}
    assert result.tables == tables


def test_result_file_of_a_real_crawl_matches_platform_runs(pg_url, tmp_path, pde_home):
    bad = {1: {"things": [*PAGES[1]["things"], {"name": "no id"}], "next": 2}, 2: PAGES[2]}
    cas = things_cassette(tmp_path / "things.json", bad)
    result_file = tmp_path / "result.json"
    p = run_crawl("selftest_things", db=pg_url, cassette=cas, settings={"PDE_RESULT_FILE": result_file})
    assert p.returncode == 0, p.stderr[-3000:]
    result = Run.read_result(result_file)
    assert result.run_id == rows(pg_url, "SELECT max(run_id) FROM platform.runs")[0][0]
    assert result.status == "succeeded" and result.exit_code == 0
    _result_matches_database(result, pg_url)
    # and both match what is really there, counted from the cassette's pages
    things = [t for page in bad.values() for t in page["things"]]
    ids = {t["id"] for t in things if "id" in t}
    assert result.items_scraped == len(things)
    landed = rows(pg_url, "SELECT count(*) FROM selftest.things")[0][0]
    assert result.tables["selftest.things"].inserted == len(ids) == landed
    assert result.items_quarantined == sum("id" not in t for t in things) == 1
    assert result.requests == len(bad) and result.response_codes == {"200": len(bad)}
    assert f"Run {result.run_id} SUCCEEDED: {format_counts(result.tables)}" in p.stderr


def test_result_file_of_a_blocked_crawl(pg_url, tmp_path, pde_home):
    block = [cassettes.interaction("https://things.test/page/1.json", b"<html><div id='px-captcha'></div></html>",
                                   status=403, headers={"Content-Type": "text/html"})]
    cas = cassettes.build_cassette(tmp_path / "block.json", block, spider="selftest_things")
    p = run_crawl("selftest_things", db=pg_url, cassette=cas, settings={"PDE_RESULT_FILE": tmp_path / "r.json"})
    result = Run.read_result(tmp_path / "r.json")
    assert p.returncode == result.exit_code == 3
    assert result.status == "blocked" and result.message.startswith("Blocked: https://things.test/page/1.json")
    assert result.response_codes == {"403": 1}
    _result_matches_database(result, pg_url)


def test_result_file_when_the_database_is_unreachable(tmp_path, pde_home):
    cas = things_cassette(tmp_path / "things.json", PAGES)
    p = run_crawl("selftest_things", db="postgresql://nobody:x@127.0.0.1:9/none", cassette=cas,
                  settings={"PDE_RESULT_FILE": tmp_path / "r.json"})
    result = Run.read_result(tmp_path / "r.json")
    assert p.returncode == result.exit_code == 1
    assert result.run_id is None and result.status == "failed"
    assert "did not start: Cannot connect to PostgreSQL" in result.message
    assert "nobody:x@" not in (tmp_path / "r.json").read_text()
