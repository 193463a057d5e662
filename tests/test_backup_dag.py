"""The nightly `backup` DAG: loaded by Airflow's DagBag from dags/, and its task run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2

from tests.conftest import ROOT

KEY = "k" * 43 + "="

CHILD = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("backup")
out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags)}
if dag is not None:
    t = dag.get_task("backup")
    out.update(schedule=dag.schedule if isinstance(dag.schedule, str) else repr(dag.schedule), tags=sorted(dag.tags),
               catchup=dag.catchup, max_active_runs=dag.max_active_runs, tasks=[x.task_id for x in dag.tasks],
               retries=t.retries, timeout=t.execution_timeout.total_seconds())
    t.python_callable()  # what the worker runs
print("@@" + json.dumps(out))
"""


def test_backup_dag_loads_and_its_task_backs_up(tmp_path, pg_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PDE_BACKUP"))}
    env.update({"AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "DATABASE_URL": pg_url, "PDE_HOME": str(tmp_path / "home"),
                "PDE_BACKUP_DIR": str(tmp_path / "backups"), "AIRFLOW_VAR_PDE_BACKUP_KEY": KEY})
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "dags")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(next(line[2:] for line in proc.stdout.splitlines() if line.startswith("@@")))
    assert result["import_errors"] == {}
    assert result["schedule"] == "30 2 * * *" and result["tags"] == ["backup", "platform"]
    assert result["catchup"] is False and result["max_active_runs"] == 1 and result["tasks"] == ["backup"]
    assert result["retries"] >= 2 and result["timeout"] == 3 * 3600
    # the task made an encrypted backup with the key from the Airflow Variable, and never printed it
    sets = [p for p in (tmp_path / "backups").iterdir() if not p.name.startswith(".")]
    assert len(sets) == 1 and list(sets[0].glob("*.dump.enc"))
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), bool_and(encrypted) FROM platform.backups")
        assert cur.fetchone() == (1, True)
    conn.close()
    assert KEY not in proc.stdout + proc.stderr
    assert Path(sets[0] / "manifest.json").exists()
