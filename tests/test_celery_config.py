"""The CeleryExecutor settings `pde up --celery` gives Airflow (no process started; the live test is test_celery.py)."""

from __future__ import annotations

import subprocess
import sys

from pde.services import airflow as service
from tests.conftest import ROOT

DATA = "postgresql://pde:pw@127.0.0.1:5432/pde"


def test_local_executor_unless_celery_is_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("PDE_HOME", str(tmp_path))
    monkeypatch.delenv("PDE_AIRFLOW_EXECUTOR", raising=False)
    env = service.airflow_env(DATA, base={})
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert not any(k.startswith("AIRFLOW__CELERY__") for k in env)
    assert service.components() == service.COMPONENTS


def test_celery_adds_a_loopback_broker_before_and_a_worker_after(tmp_path, monkeypatch):
    monkeypatch.setenv("PDE_HOME", str(tmp_path))
    monkeypatch.setenv("PDE_AIRFLOW_EXECUTOR", "celery")
    monkeypatch.setenv("PDE_REDIS_PORT", "16379")
    monkeypatch.delenv("PDE_CELERY_BROKER_URL", raising=False)
    env = service.airflow_env(DATA, base={})
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:16379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://pde:pw@127.0.0.1:5432/airflow"
    comps = service.components()
    assert comps[0] == "redis" and comps[-1] == "celery-worker" and set(service.COMPONENTS) <= set(comps)
    redis = service._command("redis")
    assert redis[0] == "redis-server" and redis[redis.index("--bind") + 1] == "127.0.0.1"
    assert redis[redis.index("--port") + 1] == "16379"


def test_a_broker_elsewhere_means_no_local_redis(tmp_path, monkeypatch):
    monkeypatch.setenv("PDE_HOME", str(tmp_path))
    monkeypatch.setenv("PDE_AIRFLOW_EXECUTOR", "celery")
    monkeypatch.setenv("PDE_CELERY_BROKER_URL", "rediss://:secret@broker.example:6380/0")
    assert "redis" not in service.components()
    assert service.airflow_env(DATA, base={})["AIRFLOW__CELERY__BROKER_URL"].startswith("rediss://")


def test_cli_offers_celery_and_a_worker_command(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PDE_HOME": str(tmp_path)}
    up = subprocess.run([sys.executable, "-m", "pde.cli", "up", "--help"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 0 and "--celery" in up.stdout and "CeleryExecutor" in up.stdout
    worker = subprocess.run([sys.executable, "-m", "pde.cli", "airflow", "worker"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert worker.returncode == 2 and "PDE_AIRFLOW_EXECUTOR=celery" in worker.stderr
