"""`pde up airflow` / `pde down` for real: Airflow's processes on 127.0.0.1, metadata on PostgreSQL.

The live test starts the whole local Airflow (scheduler with its LocalExecutor
workers, dag-processor, triggerer, api-server) the way `make up` does, with its
metadata in a database on the test PostgreSQL server, logs in with the
generated password, triggers a crawl DAG through the REST API, waits for the
crawl, its quality check, the asset event and the downstream DAG the event
starts, then stops everything and checks nothing is left running.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg2
import pytest

from pde.services import airflow as service
from tests.conftest import ROOT, _admin
from tests.helpers import api, until

CODE = "pde-live-" + uuid.uuid4().hex  # a credential that must never reach a log file


# ---------------------------------------------------------------------------
# configuration (no Airflow process)
# ---------------------------------------------------------------------------
def test_metadata_lives_in_its_own_database_on_the_data_server(monkeypatch):
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)
    monkeypatch.delenv("PDE_AIRFLOW_DB", raising=False)
    data = "postgresql://pde:s%40cret@127.0.0.1:54320/pde"
    assert service.metadata_url(data) == "postgresql+psycopg2://pde:s%40cret@127.0.0.1:54320/airflow"
    monkeypatch.setenv("PDE_AIRFLOW_DB", "airflow_home")
    assert service.metadata_url(data).endswith(":54320/airflow_home")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://a:b@elsewhere/af")
    assert service.metadata_url(data) == "postgresql+psycopg2://a:b@elsewhere/af"


def test_metadata_database_is_created_once(pg_server, monkeypatch):
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)
    name = "af_" + uuid.uuid4().hex[:10]
    monkeypatch.setenv("PDE_AIRFLOW_DB", name)
    url = service.ensure_metadata_database(pg_server.url)
    assert url == pg_server.url.replace("postgresql://", "postgresql+psycopg2://").rsplit("/", 1)[0] + "/" + name
    assert service.ensure_metadata_database(pg_server.url) == url  # already there: fine
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        assert cur.fetchone() == (1,)
        cur.execute(f'DROP DATABASE "{name}"')
    admin.close()


def test_an_unmigrated_metadata_database_is_not_current(pg_server):
    assert len(service._migration_heads()) == 1
    assert not service.metadata_is_current(pg_server.url)  # the data database: no alembic_version
    assert not service.metadata_is_current(pg_server.url.rsplit("/", 1)[0] + "/no_such_database")


def test_password_is_generated_once_kept_private_or_taken_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PDE_HOME", str(tmp_path))
    monkeypatch.delenv("PDE_AIRFLOW_PASSWORD", raising=False)
    monkeypatch.delenv("PDE_AIRFLOW_USER", raising=False)
    user, password = service.login()
    assert user == "admin" and len(password) >= 12
    assert service.login() == ("admin", password)
    assert stat.S_IMODE(service.password_file().stat().st_mode) == 0o600
    assert json.loads(service.password_file().read_text()) == {"admin": password}
    monkeypatch.setenv("PDE_AIRFLOW_PASSWORD", "chosen-by-me")
    assert service.login() == ("admin", "chosen-by-me")


def test_environment_configures_everything_and_keeps_keys_stable(tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("PDE_HOME", str(tmp_path))
    monkeypatch.setenv("PDE_AIRFLOW_PORT", "18080")
    env = service.airflow_env("postgresql://pde:pw@127.0.0.1:5432/pde", base={})
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(ROOT / "dags")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1" and env["AIRFLOW__API__PORT"] == "18080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://pde:pw@127.0.0.1:5432/airflow"
    assert env["DATABASE_URL"] == "postgresql://pde:pw@127.0.0.1:5432/pde"
    Fernet(env["AIRFLOW__CORE__FERNET_KEY"])  # a valid key
    again = service.airflow_env("postgresql://pde:pw@127.0.0.1:5432/pde", base={})
    assert again["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert stat.S_IMODE((tmp_path / "airflow" / "secrets.json").stat().st_mode) == 0o600


def test_commands_register_next_to_other_services():
    from pde import services

    parser = argparse.ArgumentParser(prog="pde")
    services.register(parser.add_subparsers(dest="command", required=True))
    assert parser.parse_args(["up", "airflow"]).services == ["airflow"]
    assert parser.parse_args(["down"]).services == []
    assert parser.parse_args(["airflow", "status"]).action == "status"
    assert parser.parse_args(["airflow", "cli", "--", "dags", "list"]).args == ["--", "dags", "list"]
    assert "airflow" in services.available()


def test_a_service_error_is_said_in_words_with_exit_code_2(tmp_path):
    """Errors of pde's services (pde/services: register_actions) print as `pde: ...` and exit 2, no traceback."""
    env = {**os.environ, "DATABASE_URL": "mysql://someone@127.0.0.1/x", "PDE_HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-m", "pde.cli", "airflow", "cli", "--", "version"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("pde: DATABASE_URL must be a postgresql:// URL") and "Traceback" not in p.stderr


# ---------------------------------------------------------------------------
# the real thing
# ---------------------------------------------------------------------------
LIVE_CONFIG = """
spider_modules: [scrapers.housing, scrapers.finance, scrapers.fantasy, tests.selftest.spiders]
spiders:
  selftest_things:
    schedule: null                 # only the run the test triggers
    crawls:
      - label: things
        settings: {{PDE_CASSETTE: "{cassette}", DOWNLOAD_DELAY: 0, AUTOTHROTTLE_ENABLED: false}}
    secrets: [PDE_LIVE_CODE]
downstream:
  things_echo:
    when: [selftest.things]
    command: python -c "import os; print('the code is', os.environ['PDE_LIVE_CODE'])"
    secrets: [PDE_LIVE_CODE]
"""




def _api(*args, **kwargs):
    """Airflow's REST API of the service under test."""
    return api(service.base_url(), *args, **kwargs)


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if int(p, 16) == port and state == "0A":
                found.append(addr)
    return found


@pytest.fixture
def live_env(pg_server, tmp_path, monkeypatch):
    from pde.db import free_port
    from tests.test_machinery import PAGES, things_cassette

    data = "d_" + uuid.uuid4().hex[:12]
    meta = "airflow_" + uuid.uuid4().hex[:10]
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{data}" TEMPLATE "pde"')
    cassette = things_cassette(tmp_path / "things.json", PAGES)
    config = tmp_path / "crawls.yaml"
    config.write_text(LIVE_CONFIG.format(cassette=cassette))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "PDE_HOME": str(tmp_path / "pde-home"), "DATABASE_URL": pg_server.url.rsplit("/", 1)[0] + "/" + data,
        "PDE_AIRFLOW_DB": meta, "PDE_AIRFLOW_PORT": str(free_port()), "PDE_CRAWLS_FILE": str(config),
        "AIRFLOW_VAR_PDE_LIVE_CODE": CODE,
    })
    env.pop("PDE_AIRFLOW_PASSWORD", None)
    for k in ("PDE_HOME", "PDE_AIRFLOW_PORT"):
        monkeypatch.setenv(k, env[k])
    yield env
    subprocess.run([sys.executable, "-m", "pde.services.airflow", "down"], cwd=ROOT, env=env,
                   capture_output=True, timeout=120)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{data}" WITH (FORCE)')
        cur.execute(f'DROP DATABASE IF EXISTS "{meta}" WITH (FORCE)')
    admin.close()


def test_up_runs_a_crawl_dag_and_what_depends_on_it_then_down_stops_everything(live_env):
    env = live_env
    up = subprocess.run([sys.executable, "-m", "pde.services.airflow", "up"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
    password = json.loads(service.password_file().read_text())["admin"]
    assert f"Airflow is running: http://127.0.0.1:{env['PDE_AIRFLOW_PORT']}" in up.stdout
    assert f"login     admin / {password}" in up.stdout
    pids = {c: service.pid(c) for c in service.COMPONENTS}
    assert all(pids.values()), pids
    assert _listening(int(env["PDE_AIRFLOW_PORT"])) == ["0100007F"], "the API must listen on 127.0.0.1 only"

    # metadata on PostgreSQL, in its own database on the data's server
    meta_url = env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + env["PDE_AIRFLOW_DB"]
    with psycopg2.connect(meta_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('dag_run', 'asset_event')")
        assert cur.fetchone() == (2,)
    assert service.metadata_is_current(meta_url)  # the next `up` skips `airflow db migrate`

    with pytest.raises(urllib.error.HTTPError) as denied:
        _api("POST", "/auth/token", {"username": "admin", "password": "wrong"})
    assert denied.value.code == 401
    token = _api("POST", "/auth/token", {"username": "admin", "password": password})["access_token"]

    dag = until("the DAG to be parsed", lambda: _api("GET", "/api/v2/dags/selftest_things", token=token))
    assert dag["is_paused"] is False and set(t["name"] for t in dag["tags"]) == {"selftest", "crawl"}
    run = _api("POST", "/api/v2/dags/selftest_things/dagRuns", {"logical_date": None}, token)
    path = f"/api/v2/dags/selftest_things/dagRuns/{run['dag_run_id']}"
    done = until("the crawl DAG run", lambda: (r := _api("GET", path, token=token))["state"] in ("success",
                                                                                                  "failed") and r)
    tis = _api("GET", path + "/taskInstances", token=token)["task_instances"]
    assert done["state"] == "success", [(t["task_id"], t["state"]) for t in tis]
    assert {(t["task_id"], t.get("rendered_map_index")) for t in tis} >= {("crawls.crawl", "things"),
                                                                          ("crawls.quality", "things")}

    events = _api("GET", "/api/v2/assets/events", token=token)["asset_events"]
    assert [(e["source_dag_id"], e["extra"]["inserted"]) for e in events] == [("selftest_things", 3)]
    downstream = until("the asset-triggered downstream run", lambda: [
        r for r in _api("GET", "/api/v2/dags/things_echo/dagRuns", token=token)["dag_runs"]
        if r["run_type"] == "asset_triggered" and r["state"] in ("success", "failed")])
    assert downstream[0]["state"] == "success"

    logs = service.home() / "logs"
    crawl_log = next(logs.glob("dag_id=selftest_things/run_id=*/task_id=crawls.crawl/map_index=0/attempt=1.log"))
    assert "Run 1 SUCCEEDED: selftest.things +3" in crawl_log.read_text()
    echo_log = next(logs.glob("dag_id=things_echo/run_id=*/task_id=run/attempt=1.log"))
    assert "the code is ***" in echo_log.read_text()
    leaked = [str(p) for p in logs.rglob("*") if p.is_file() and CODE in p.read_text(errors="replace")]
    assert leaked == [], "a credential reached a log file"

    _airflow_through_the_https_proxy(env, password)

    down = subprocess.run([sys.executable, "-m", "pde.services.airflow", "down"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert down.returncode == 0 and "Airflow stopped" in down.stdout, down.stderr
    assert all(not service._group_alive(p) for p in pids.values()), "a process of Airflow survived `down`"
    assert _listening(int(env["PDE_AIRFLOW_PORT"])) == []
    assert not list((service.home() / "run").glob("*.pid"))
    status = subprocess.run([sys.executable, "-m", "pde.services.airflow", "status"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 3 and "not (fully) running" in status.stdout


def _airflow_through_the_https_proxy(env: dict, password: str) -> None:
    """The user, on another device: the home page's admin opens Airflow through Caddy (PDE_PROXY_OPERATIONS=1),
    logs in to Airflow there and sees the DAGs; its UI must work under the proxied HTTPS address."""
    import shutil

    from pde.db import free_port
    from pde.services.browser import ChromiumMissing, chromium, new_page
    from tests.conftest import run_pde
    from tests.helpers import free_ports_on, trusting_home

    address = "127.0.0.4"
    base = free_ports_on(address, 4)
    home_password = "home-admin-" + uuid.uuid4().hex[:8]
    proxy_env = {**env, "PDE_LISTEN": address, "PDE_PROXY_PORT": str(base), "PDE_PROXY_OPERATIONS": "1",
                 "PDE_WEB_PORT": str(free_port()), "PDE_JUPYTER_PORT": str(free_port()),
                 "PDE_SUPERSET_ADMIN_PASSWORD": home_password}
    shot = Path(env["PDE_HOME"]) / "airflow-through-proxy.png"
    try:
        up = run_pde("up", "web", "proxy", env=proxy_env, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        ca = Path(env["PDE_HOME"]) / "proxy" / "data" / "pki" / "authorities" / "local" / "root.crt"
        airflow = f"https://{address}:{base + 2}"
        with chromium("the user's browser on another device", env=trusting_home(ca, Path(env["PDE_HOME"]) / "desk"),
                      allow=(address,)) as browser:
            page = new_page(browser, 1300, 900)
            page.goto(f"https://{address}:{base}/")
            page.fill("#username", "admin")
            page.fill("#password", home_password)
            page.click("#login")
            page.click("#operations a:text('Airflow')")
            page.wait_for_url(f"{airflow}/**")
            page.wait_for_selector("input[name=username]", timeout=60_000)  # Airflow's own login, proxied
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.keyboard.press("Enter")
            page.wait_for_function("!location.pathname.includes('/login')", timeout=60_000)
            assert page.url.startswith(airflow), page.url  # the login's redirect stays on the proxied address
            page.goto(f"{airflow}/dags")
            page.wait_for_selector("a:text-is('selftest_things')", timeout=60_000)  # the DAG list, logged in
            assert page.url.startswith(f"{airflow}/dags"), page.url
            page.screenshot(path=str(shot))
    except ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        run_pde("down", "proxy", "web", env=proxy_env, timeout=60)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(shot, artifacts / "proxy-airflow.png")
