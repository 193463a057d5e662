"""Looking at pages is not a crawl: `scrapy shell/parse/check/bench/fetch` and dry runs write nothing.

Each command runs for real in a subprocess against a fresh database; afterwards the
database holds no run and no row.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import psycopg2
import pytest

from tests.conftest import FIXTURES, ROOT, run_crawl

SAVED = FIXTURES / "zillow_listings" / "zillow-search-04011-20250601.html"


def scrapy(*argv, db: str, timeout: int = 120, cwd=ROOT):
    env = {**os.environ, "DATABASE_URL": db}
    return subprocess.run([sys.executable, "-m", "scrapy", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def nothing_written(url) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM platform.runs")
        assert cur.fetchone()[0] == 0, "a run was recorded"
        cur.execute("SELECT count(*) FROM housing.listings")
        assert cur.fetchone()[0] == 0, "rows were written"
        cur.execute("SELECT count(*) FROM platform.quarantine")
        assert cur.fetchone()[0] == 0


def test_scrapy_shell_on_a_saved_page_records_no_run(pg_url):
    proc = scrapy("shell", SAVED.as_uri(), "-c", "response.status", db=pg_url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("200")
    nothing_written(pg_url)


def test_scrapy_parse_with_pipelines_writes_nothing(pg_url):
    proc = scrapy("parse", "--spider", "zillow_listings", "--pipelines", SAVED.as_uri(), db=pg_url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Scraped Items" in proc.stdout
    nothing_written(pg_url)


@pytest.mark.parametrize("argv", [["check", "zillow_listings"], ["fetch", "--nolog", SAVED.as_uri()],
                                  ["bench", "-s", "CLOSESPIDER_TIMEOUT=2", "-s", "LOG_LEVEL=INFO"]])
def test_check_fetch_and_bench_record_no_run(pg_url, argv):
    proc = scrapy(*argv, db=pg_url, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    nothing_written(pg_url)


def test_dry_run_exports_what_a_real_crawl_would_write(pg_url, tmp_path):
    out = tmp_path / "out.json"
    dry = scrapy("crawl", "zillow_listings", "-a", f"url={SAVED}", "-s", "PDE_DB=off", "-O", str(out), db=pg_url)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "Dry run (PDE_DB=off): nothing is written" in dry.stderr
    nothing_written(pg_url)
    exported = {row["zpid"] for row in json.loads(out.read_text()) if "zpid" in row}
    # the page's own listing ids, read with a regex, not with the parser
    on_page = set(re.findall(r'\\?"zpid\\?":\s*\\?"?([0-9.-]+)', SAVED.read_text(encoding="utf-8")))
    assert exported == on_page
    # the same crawl for real writes exactly the exported listings
    real = run_crawl("zillow_listings", db=pg_url, args={"url": SAVED})
    assert real.returncode == 0, real.stderr[-2000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT zpid FROM housing.listings")
        assert {r[0] for r in cur.fetchall()} == exported


def test_dry_run_of_a_bad_page_exits_non_zero(pg_url, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body>nothing a parser knows</body></html>")
    proc = scrapy("crawl", "zillow_listings", "-a", f"url={page}", "-s", "PDE_DB=off", db=pg_url)
    assert proc.returncode == 1
    assert "dry run with 1 error(s)" in proc.stderr
    nothing_written(pg_url)
