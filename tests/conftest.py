"""Shared test fixtures: a real, throwaway PostgreSQL cluster for the whole session.

Every test that needs a database gets a fresh one, cloned from a migrated
template (``CREATE DATABASE ... TEMPLATE``: milliseconds), so tests never share
rows. Nothing here touches the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from pde.runs import crawl_command

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CAPTURES = ROOT.parent / "shared" / "real-captures"
#: every test crawl: the test-only spiders too, no politeness delays, quick reconnects
TEST_SETTINGS = {"SPIDER_MODULES": "scrapers.housing,scrapers.finance,scrapers.fantasy,tests.selftest.spiders",
                 "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "PDE_DB_RETRY_DELAY": 0.05}


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    from pde.db import EmbeddedPostgres, free_port

    # not under pytest's basetemp: pytest prunes old basetemps, which would pull
    # the data directory from under a server another pytest run is still using
    home = reachable(Path(tempfile.mkdtemp(prefix="pde-test-pg-")))
    pg = EmbeddedPostgres(home=home, port=free_port(), fast=True)
    pg.start()
    prepare_database(pg.url)
    yield pg
    pg.destroy()


def reachable(path: Path) -> Path:
    """Let the `postgres` user (the server runs as it when tests run as root) enter path."""
    for p in [path, *path.parents]:
        if p == Path(tempfile.gettempdir()) or p == Path("/"):
            break
        os.chmod(p, os.stat(p).st_mode | 0o001)
    return path


def prepare_database(url: str) -> None:
    """Apply every migration, plus the machinery tests' tiny source (tests/selftest)."""
    import psycopg2

    from pde.migrate import migrate

    conn = psycopg2.connect(url)
    migrate(conn, log=lambda m: None)
    with conn.cursor() as cur:
        cur.execute((ROOT / "tests" / "selftest" / "schema.sql").read_text())
    conn.commit()
    conn.close()


def _admin(pg):
    import psycopg2

    conn = psycopg2.connect(pg.url.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    return conn


@contextmanager
def scratch_databases(pg, airflow: bool = False, prefix: str = "t_", template: str | None = "pde"):
    """A fresh copy of the migrated database "pde" (``template=None``: an empty one) and, with ``airflow``, an empty
    one for Airflow's metadata, on the test cluster; dropped afterwards even with connections left open. Yields the
    URL, or (data, meta)."""
    base = pg.url.rsplit("/", 1)[0]
    names = [prefix + uuid.uuid4().hex[:12]] + (["airflow_" + uuid.uuid4().hex[:10]] if airflow else [])
    admin = _admin(pg)
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{names[0]}"' + (f' TEMPLATE "{template}"' if template else ""))
            for name in names[1:]:
                cur.execute(f'CREATE DATABASE "{name}"')
        urls = [f"{base}/{name}" for name in names]
        yield tuple(urls) if airflow else urls[0]
    finally:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url(pg_server):
    """URL of a fresh database holding every migration, dropped after the test."""
    with scratch_databases(pg_server) as url:
        yield url


@pytest.fixture
def airflow_dbs(pg_server):
    """(data URL, Airflow metadata URL): a fresh migrated data database and an empty one for Airflow."""
    with scratch_databases(pg_server, airflow=True, prefix="d_") as urls:
        yield urls


@pytest.fixture
def empty_pg_conn(pg_server):
    """A connection to a brand-new database with no migrations applied."""
    import psycopg2

    name = "e_" + uuid.uuid4().hex[:12]
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    conn = psycopg2.connect(pg_server.url.rsplit("/", 1)[0] + "/" + name)
    yield conn
    conn.close()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def pg_conn(pg_url):
    import psycopg2

    conn = psycopg2.connect(pg_url)
    yield conn
    conn.close()


@pytest.fixture
def pde_home(tmp_path, monkeypatch):
    """A private PDE_HOME (spool files) per test."""
    monkeypatch.setenv("PDE_HOME", str(tmp_path / "pde-home"))
    return tmp_path / "pde-home"


def run_crawl(spider: str, *, db: str, cassette: Path | str | None = None, args: dict | None = None,
              settings: dict | None = None, env: dict | None = None, timeout: int = 120):
    """Run the real `scrapy crawl` in a subprocess; returns CompletedProcess (stderr has the log)."""
    cmd = crawl_command(spider, args, {**TEST_SETTINGS, **({"PDE_CASSETTE": cassette} if cassette else {}),
                                       **(settings or {})})
    full_env = {**os.environ, "DATABASE_URL": db, **(env or {})}
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def run_pde(*args: str, env: dict | None = None, timeout: int = 180):
    """The `pde` command in a subprocess, as a user runs it; returns CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pde.cli", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
