"""The embedded default: no DATABASE_URL -> pde runs its own PostgreSQL, as `pde db ...` shows."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pde.db import free_port
from tests.conftest import ROOT, reachable


def pde(*args, env):
    return subprocess.run([sys.executable, "-m", "pde.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def embedded_env():
    home = reachable(Path(tempfile.mkdtemp(prefix="pde-test-home-")))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PDE_HOME=str(home / "pde"), PDE_PG_PORT=str(free_port()))
    yield env
    pde("db", "stop", env=env)
    import shutil

    shutil.rmtree(home, ignore_errors=True)


def test_start_info_stop_and_data_survives_a_restart(embedded_env):
    env = embedded_env
    assert pde("db", "status", env=env).returncode == 3
    started = pde("db", "start", env=env)
    assert started.returncode == 0, started.stderr
    assert f"127.0.0.1:{env['PDE_PG_PORT']}" in started.stdout
    info = pde("db", "info", env=env)
    assert f"port      {env['PDE_PG_PORT']}" in info.stdout and "DBeaver" in info.stdout
    assert "migration(s) applied" in pde("migrate", env=env).stdout
    assert pde("db", "stop", env=env).stdout.strip() == "stopped"
    assert pde("db", "status", env=env).returncode == 3
    # any command that needs the database starts it again; the data is still there
    again = pde("migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "schema up to date"
    assert (Path(env["PDE_HOME"]) / "pgdata" / "PG_VERSION").exists()


def test_database_url_means_pde_starts_nothing(embedded_env, pg_url):
    env = {**embedded_env, "DATABASE_URL": pg_url}
    out = pde("db", "start", env=env)
    assert out.returncode == 0 and "pde does not manage that server" in out.stdout
    assert not (Path(env["PDE_HOME"]) / "pgdata").exists()
    assert pde("migrate", env=env).stdout.strip() == "schema up to date"


def test_taken_port_gives_an_actionable_message(embedded_env, pg_server):
    env = {**embedded_env, "PDE_PG_PORT": str(pg_server.port)}
    out = pde("db", "start", env=env)
    assert out.returncode == 2
    assert f"Port {pg_server.port} on 127.0.0.1 is taken" in out.stderr and "PDE_PG_PORT" in out.stderr


def test_demo_replays_fixtures_into_its_own_database_and_reset_removes_it(pg_url, pg_conn):
    env = {**os.environ, "DATABASE_URL": pg_url}
    out = pde("demo", "zillow_listings", env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "blocked in" in out.stdout and "succeeded in" in out.stdout and "UNEXPECTED" not in out.stdout
    listings = next(line for line in out.stdout.splitlines() if line.strip().startswith("housing.listings "))
    assert int(listings.split()[-1]) == 37  # 36 search rows + the details page's home
    assert "fixture crawls ran as expected" in out.stdout and "pde demo --reset" in out.stdout
    # the user's own database got none of the made-up rows
    with pg_conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM housing.listings")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM platform.runs")
        assert cur.fetchone()[0] == 0
    demo = pde("db", "url", "--demo", env=env).stdout.strip()
    assert demo.endswith(pg_url.rsplit("/", 1)[1] + "_demo")
    reset = pde("demo", "--reset", env=env)
    assert reset.returncode == 0 and "dropped" in reset.stdout
    again = pde("demo", "--reset", env=env)
    assert again.returncode == 0 and "did not exist" in again.stdout
