"""The `pde` command as a user meets it: help on every subcommand, --version, runs, psql, categorize."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import psycopg2

from tests.conftest import ROOT, run_crawl


def pde(*argv, db: str | None = None, env: dict | None = None):
    full = {**os.environ, **({"DATABASE_URL": db} if db else {}), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pde.cli", *argv], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=180, check=False)


def test_version_is_the_projects():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    proc = pde("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"pde {version}"


def test_every_subcommand_has_help_text():
    top = pde("--help")
    assert top.returncode == 0
    commands = re.search(r"\{([a-z,-]+)\}", top.stdout).group(1).split(",")
    assert {"db", "spool", "migrate", "categorize", "runs", "sources", "cheatsheet"} <= set(commands)
    for name in commands:
        proc = pde(name, "--help")
        assert proc.returncode == 0, name
        # a description paragraph after the usage lines, not just "usage: ..."
        body = proc.stdout.split("\n\n", 1)[1] if "\n\n" in proc.stdout else ""
        first = body.strip().splitlines()[0] if body.strip() else ""
        assert first and not first.startswith(("positional arguments", "options")), (name, proc.stdout)


def test_db_psql_passes_its_arguments_to_psql(pg_url):
    proc = pde("db", "psql", "-c", "select 40 + 2 as answer", db=pg_url)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\s*42\s*$", proc.stdout, re.MULTILINE), proc.stdout


def test_categorize_prints_its_report_once(pg_url):
    proc = pde("categorize", db=pg_url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT message FROM finance.categorizer_runs")
        [(message,)] = cur.fetchall()
    out = proc.stdout + proc.stderr
    assert message and out.count(message) == 1, out


DB_ERROR = ('could not write: duplicate key value violates unique constraint "listings_pkey"\n'
            "DETAIL:  Key (zpid)=(1) already exists.\nCONTEXT:  COPY listings, line 2")


def test_runs_show_arguments_and_the_real_reason(pg_url, tmp_path, pde_home):
    empty = tmp_path / "downloads"
    empty.mkdir()
    assert run_crawl("bank_csv", db=pg_url, args={"url": empty, "account": "checking"}).returncode == 1
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:  # a database error as psycopg2 words it
        cur.execute("INSERT INTO platform.runs (spider, args, status, message) VALUES ('zillow_listings', "
                    """'{"search": "04011", "status": "for_sale", "pages": "2"}', 'failed', %s)""",
                    (DB_ERROR,))
    proc = pde("runs", db=pg_url)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["run", "spider"]
    # every line is a run's row (starts with its number) or its message, indented under it
    assert all(re.match(r"^\s*\d+  \S", line) or line.startswith(" " * 7) for line in lines[1:]), proc.stdout
    zillow = next(i for i, line in enumerate(lines) if "zillow_listings" in line)
    assert "-a search=04011" in lines[zillow] and "-a pages=2" in lines[zillow]
    assert "status=" not in lines[zillow]  # at its default: not worth a column
    assert "DETAIL: Key (zpid)=(1) already exists." in " ".join(" ".join(lines[zillow + 1:zillow + 4]).split())
    bank = next(i for i, line in enumerate(lines) if "bank_csv" in line)
    assert "-a account=checking" in lines[bank] and "failed" in lines[bank]
    said = " ".join(" ".join(lines[bank + 1:bank + 4]).split())
    assert re.search(rf"could not start: No [./a-z]*csv[./a-z]* files in folder {re.escape(str(empty))}", said), said
    assert "start_error" not in proc.stdout


def test_runs_of_a_spider_that_does_not_exist(pg_url):
    proc = pde("runs", "--spider", "zilow_listings", db=pg_url)
    assert proc.returncode == 2
    assert "no spider 'zilow_listings'; did you mean zillow_listings?" in proc.stderr
