"""Scale-out for real: Airflow's CeleryExecutor, a Redis broker and two Celery workers.

One start-up for the module (`pde up` with PDE_AIRFLOW_EXECUTOR=celery: Debian's redis-server on
127.0.0.1, scheduler, dag-processor, triggerer, api-server and worker "w1"; the test starts worker "w2"),
metadata and data on the test PostgreSQL server. The two workers run on this machine but stand in for
two hosts: each has its own Celery name and reports its own host name to Airflow (tests/selftest/hosts.py),
one task slot each, so tasks running at the same time run on different "hosts". The scenarios:

- several crawl DAGs at once (zillow_listings and selftest_things with two crawls) all succeed, and the
  crawl tasks ran on both workers;
- two crawls of the same spider and arguments at once land on the two workers: the per-spider lock
  (a PostgreSQL advisory lock, shared by every host) refuses the second, whose retry then succeeds;
- a worker killed (with its crawl) in the middle of a crawl: Airflow notices the missing heartbeat and
  the retry runs on the other worker; every row of the cassette is in the table afterwards.

Run alone: `pytest -m celery`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid

import psycopg2
import pytest

from tests.conftest import FIXTURES, ROOT, _admin
from tests.helpers import api, until

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]

if shutil.which("redis-server") is None:
    pytest.skip("redis-server is not installed (scripts/system-deps.sh installs it)", allow_module_level=True)

CONFIG = """
spider_modules: [scrapers.housing, scrapers.finance, scrapers.fantasy, tests.selftest.spiders]
defaults:
  schedule: null
  retries: 2
  retry_delay_minutes: 0.25
  max_retry_delay_minutes: 0.5
spiders:
  zillow_listings:
    crawls:
      - {{label: brunswick, args: {{search: "04011", status: for_rent}},
         settings: {{PDE_CASSETTE: "{zillow}", DOWNLOAD_DELAY: 0, AUTOTHROTTLE_ENABLED: false}}}}
  selftest_things:
    parallel_crawls: 2
    crawls:
{things_crawls}
"""

def _crawl(label: str, cassette, start_page: int, delay: float) -> str:
    """A crawls.yaml entry for selftest_things that pauses ``delay`` seconds on each page."""
    return (f"      - {{label: {label}, args: {{start_page: \"{start_page}\"}}, settings: "
            f"{{PDE_CASSETTE: \"{cassette}\", PDE_SELFTEST_PAUSE: {delay}, DOWNLOAD_DELAY: 0, "
            f"AUTOTHROTTLE_ENABLED: false}}}}")




class Cluster:
    """The running topology and a small REST client for it."""

    def __init__(self, env, data_url, config_path, tmp):
        from pde.services import airflow as service

        self.env, self.data_url, self.config_path, self.tmp = env, data_url, config_path, tmp
        self.service = service
        self.base = service.base_url()
        self.token = None
        self.w2 = None

    def api(self, method, path, body=None):
        return api(self.base, method, path, body, self.token)

    def configure(self, things_crawls: str) -> None:
        """Rewrite dags/crawls.yaml's stand-in and have the dag-processor pick it up."""
        zillow = FIXTURES / "zillow_listings" / "search_04011.json"
        self.config_path.write_text(CONFIG.format(zillow=zillow, things_crawls=things_crawls))

    def trigger(self, dag_id: str) -> str:
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
        return run["dag_run_id"]

    def finished(self, dag_id: str, run_id: str, timeout=300) -> dict:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"
        return until(f"{dag_id} {run_id}", lambda: (r := self.api("GET", path))["state"] in ("success", "failed")
                      and r, timeout=timeout)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        return self.api("GET", path)["task_instances"]

    def log(self, dag_id: str, run_id: str, task_id: str, map_index: int, attempt: int) -> str:
        folder = self.service.home() / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return (folder / f"map_index={map_index}" / f"attempt={attempt}.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def cluster(pg_server, tmp_path_factory):
    from pde.db import free_port
    from pde.services import airflow as service
    from tests.test_machinery import PAGES, things_cassette

    tmp = tmp_path_factory.mktemp("celery")
    data = "d_" + uuid.uuid4().hex[:12]
    meta = "airflow_" + uuid.uuid4().hex[:10]
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{data}" TEMPLATE "pde"')
    data_url = pg_server.url.rsplit("/", 1)[0] + "/" + data
    things_cassette(tmp / "things.json", PAGES)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PDE_"))}
    env.update({
        "PDE_HOME": str(tmp / "pde-home"), "DATABASE_URL": data_url, "PDE_AIRFLOW_DB": meta,
        "PDE_AIRFLOW_PORT": str(free_port()), "PDE_REDIS_PORT": str(free_port()),
        "PDE_AIRFLOW_LOG_PORT": str(free_port()), "PDE_AIRFLOW_TRIGGER_LOG_PORT": str(free_port()),
        "PDE_CRAWLS_FILE": str(tmp / "crawls.yaml"),
        "PDE_AIRFLOW_EXECUTOR": "celery", "PDE_AIRFLOW_PARALLELISM": "4", "PDE_CELERY_CONCURRENCY": "1",
        "PDE_CELERY_HOSTNAME": "w1@pde-test", "PDE_TEST_HOSTNAME": "w1",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.selftest.hosts.name",
        # a dead worker's task is noticed in seconds, not the default 5 minutes
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    })
    # this process computes the second worker's settings and the URLs as the `pde up` child does
    saved = {k: os.environ.get(k) for k in env if k.startswith(("PDE_", "AIRFLOW__")) or k == "DATABASE_URL"}
    os.environ.update({k: env[k] for k in saved})
    c = Cluster(env, data_url, tmp / "crawls.yaml", tmp)
    c.configure(_crawl("p1", tmp / "things.json", 1, 0) + "\n" + _crawl("p2", tmp / "things.json", 2, 0))
    try:
        up = subprocess.run([sys.executable, "-m", "pde.cli", "up", "--celery", "airflow"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=400)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
        assert "CeleryExecutor" in up.stdout, up.stdout
        password = json.loads(service.password_file().read_text())["admin"]
        c.token = api(c.base, "POST", "/auth/token", {"username": "admin", "password": password})["access_token"]
        w2_env = service.airflow_env(data_url, service.metadata_url(data_url), base=env)
        w2_env["PDE_TEST_HOSTNAME"] = "w2"
        log = open(tmp / "w2.log", "ab")
        c.w2 = subprocess.Popen(service.worker_command("w2@pde-test"), cwd=ROOT, env=w2_env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        c.w2_log = tmp / "w2.log"
        yield c
    finally:
        if c.w2 is not None and c.w2.poll() is None:
            os.killpg(c.w2.pid, signal.SIGTERM)
            try:
                c.w2.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(c.w2.pid, signal.SIGKILL)
                c.w2.wait()
        subprocess.run([sys.executable, "-m", "pde.cli", "down", "airflow"], cwd=ROOT, env=env,
                       capture_output=True, timeout=180)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{data}" WITH (FORCE)')
            cur.execute(f'DROP DATABASE IF EXISTS "{meta}" WITH (FORCE)')
        admin.close()


def _workers_online(c) -> set[str]:
    """Celery workers that answer a ping through the broker (the way Airflow's `celery` CLI sees them)."""
    from celery import Celery

    app = Celery(broker=f"redis://127.0.0.1:{c.env['PDE_REDIS_PORT']}/0")
    try:
        return {name for reply in app.control.ping(timeout=2.0) for name in reply}
    finally:
        app.close()


def _crawl_tis(c, dag_id, run_id):
    return [t for t in c.task_instances(dag_id, run_id) if t["task_id"] == "crawls.crawl"]


def test_topology_is_up_on_loopback_with_two_workers(cluster):
    c = cluster
    assert until("both workers", lambda: _workers_online(c) >= {"w1@pde-test", "w2@pde-test"}, timeout=120)
    from tests.test_airflow_services import _listening

    assert _listening(int(c.env["PDE_REDIS_PORT"])) == ["0100007F"], "Redis must listen on 127.0.0.1 only"
    assert _listening(int(c.env["PDE_AIRFLOW_PORT"])) == ["0100007F"]
    health = c.api("GET", "/api/v2/monitor/health")
    assert health["scheduler"]["status"] == "healthy"


def test_several_crawl_dags_at_once_all_succeed_on_both_workers(cluster):
    c = cluster
    for dag in ("zillow_listings", "selftest_things"):
        until(f"{dag} to be parsed", lambda d=dag: c.api("GET", f"/api/v2/dags/{d}"), timeout=240)
    runs = {dag: c.trigger(dag) for dag in ("zillow_listings", "selftest_things")}
    hosts = []
    for dag, run_id in runs.items():
        done = c.finished(dag, run_id)
        tis = c.task_instances(dag, run_id)
        assert done["state"] == "success", [(t["task_id"], t["state"], t["hostname"]) for t in tis]
        hosts += [t["hostname"] for t in tis]
    assert set(hosts) == {"w1", "w2"}, hosts
    with psycopg2.connect(c.data_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT spider, args->>'start_page', status FROM platform.runs ORDER BY run_id")
        rows = cur.fetchall()
    conn.close()
    assert sorted(r[2] for r in rows) == ["succeeded"] * 3, rows
    assert {r[0] for r in rows} == {"zillow_listings", "selftest_things"}


def _all_tries(c, dag_id, run_id):
    """Every attempt of every crawl task of a run, each with its log."""
    out = []
    for ti in _crawl_tis(c, dag_id, run_id):
        for t in c.tries(dag_id, run_id, "crawls.crawl", ti["map_index"]):
            t["log"] = c.log(dag_id, run_id, "crawls.crawl", ti["map_index"], t["try_number"])
            t["label"] = ti["rendered_map_index"]
            out.append(t)
    return out


def test_the_spider_lock_refuses_a_duplicate_crawl_on_the_other_worker(cluster):
    c = cluster
    things = c.tmp / "things.json"
    # the same spider and arguments twice, slow enough to overlap; one task slot per worker
    # 10 s a page: a crawl can take ~10 s just to start on a busy 2-core machine, and they must overlap
    c.configure(_crawl("dup_a", things, 1, 10) + "\n" + _crawl("dup_b", things, 1, 10))
    run_id = c.trigger("selftest_things")
    done = c.finished("selftest_things", run_id)
    tries = _all_tries(c, "selftest_things", run_id)
    summary = [(t["label"], t["try_number"], t["hostname"], t["state"]) for t in tries]
    assert done["state"] == "success", summary
    refused = [t for t in tries if "is already running" in t["log"]]
    assert len(refused) == 1, summary
    holder = next(t for t in tries if t["label"] != refused[0]["label"] and t["try_number"] == 1)
    assert holder["state"] == "success" and "already running" not in holder["log"]
    assert refused[0]["hostname"] != holder["hostname"], "the duplicate must have landed on the other worker"
    assert f"run {_run_of(holder['log'])}" in refused[0]["log"], "the refusal names the run holding the lock"
    # the refused crawl ran again once the other had finished, and succeeded
    again = [t for t in tries if t["label"] == refused[0]["label"] and t["try_number"] > refused[0]["try_number"]]
    assert again and again[-1]["state"] == "success"


def _run_of(log: str) -> int:
    import re

    return int(re.search(r"Run (\d+) of \S+ started", log).group(1))


def _expected_ids(pages: dict, start: int) -> set[str]:
    """The ids a crawl from page ``start`` reads, following "next" through the cassette's pages."""
    ids, page = set(), start
    while page:
        ids |= {str(t["id"]) for t in pages[page]["things"] if "id" in t}
        page = pages[page]["next"]
    return ids


def test_a_worker_killed_mid_crawl_is_retried_on_the_other_and_nothing_is_lost(cluster):
    from tests.test_machinery import PAGES

    c = cluster
    with psycopg2.connect(c.data_url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE selftest.things")
    conn.close()
    c.configure(_crawl("slow", c.tmp / "things.json", 1, 8))  # two pages, 8 s each: time to pull the plug
    run_id = c.trigger("selftest_things")

    def running_crawl():
        tis = [t for t in _crawl_tis(c, "selftest_things", run_id) if t["state"] == "running" and t["hostname"]]
        if not tis:
            return None
        with psycopg2.connect(c.data_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT run_id, pid FROM platform.runs WHERE spider = 'selftest_things' AND status = 'running'")
            row = cur.fetchone()
        conn.close()
        return row and (tis[0]["hostname"], *row)

    victim, killed_run, crawl_pid = until("the crawl to be running", running_crawl, timeout=240, every=0.5)
    # the "host" dies: its worker (with the task's supervisor) and the crawl it started
    worker_pid = c.w2.pid if victim == "w2" else c.service.pid("celery-worker")
    os.killpg(worker_pid, signal.SIGKILL)
    os.killpg(crawl_pid, signal.SIGKILL)

    done = c.finished("selftest_things", run_id, timeout=400)
    tries = _all_tries(c, "selftest_things", run_id)
    summary = [(t["label"], t["try_number"], t["hostname"], t["state"]) for t in tries]
    assert done["state"] == "success", summary
    assert tries[0]["hostname"] == victim and len(tries) >= 2, summary
    assert tries[-1]["hostname"] != victim and tries[-1]["state"] == "success", summary
    with psycopg2.connect(c.data_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT thing_id FROM selftest.things")
        ids = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT run_id, status FROM platform.runs WHERE spider = 'selftest_things' AND run_id >= %s "
                    "ORDER BY run_id", (killed_run,))
        runs = cur.fetchall()
    conn.close()
    assert ids == _expected_ids(PAGES, 1), "rows were lost"
    assert runs[-1][1] == "succeeded" and runs[-1][0] > killed_run, runs
