"""A model DAG for real: ``dag.test()`` of ``housing_value`` after a real Zillow fixture crawl.

The DAG comes from a ``downstream:`` entry like the project's (train the model, then run the notebook with
papermill and a parameter), and runs in a child process with Airflow's metadata on PostgreSQL, like
tests/test_dags.py (whose harness it reuses). Then: the run was recorded, the estimates were written,
and the executed notebook was kept as HTML in $PDE_HOME/reports with the injected parameter in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg2
import pytest

from pde.schedule.assets import table_asset
from pde.schedule.config import ConfigError
from pde.schedule.config import check_config as _check_config
from tests.conftest import FIXTURES, ROOT, run_crawl, scratch_databases

pytestmark = pytest.mark.timeout(900)

CONFIG = """
spider_modules: [scrapers.spiders]
downstream:
  housing_value:
    when: [housing.listings]
    command: python -m pde.cli model train housing
    environment: notebook
    notebook: notebooks/housing.ipynb
    parameters: {seed: 4, kinds: [rent]}
    tags: [housing, models]
    writes: [housing.value_estimates]
"""


@pytest.fixture(scope="module")
def dag_run(pg_server, tmp_path_factory):
    with scratch_databases(pg_server, airflow=True, prefix="d_") as (data_url, meta_url):
        yield _dag_run(data_url, meta_url, tmp_path_factory)


def _dag_run(data_url: str, meta_url: str, tmp_path_factory):
    from pde.services import airflow as service

    crawl = run_crawl("zillow_listings", db=data_url, cassette=FIXTURES / "zillow_listings" / "search_04011.json",
                      args={"search": "04011", "status": "for_rent"})
    assert crawl.returncode == 0, crawl.stderr[-2000:]

    tmp = tmp_path_factory.mktemp("model-dag")
    (tmp / "crawls.yaml").write_text(CONFIG)
    (tmp / "scenarios.json").write_text(json.dumps([{"name": "housing_value", "dag": "housing_value"}]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"PDE_HOME": str(tmp / "pde-home"), "PDE_CRAWLS_FILE": str(tmp / "crawls.yaml")})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PDE_HOME", env["PDE_HOME"])
        env = service.airflow_env(data_url, meta_url.replace("postgresql://", "postgresql+psycopg2://", 1), base=env)
    out = tmp / "results.json"
    code = f"from tests.test_dags import _harness; _harness({str(tmp / 'scenarios.json')!r}, {str(out)!r})"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=800)
    (tmp / "stdout.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    assert proc.returncode == 0 and out.exists(), \
        f"the Airflow child failed ({tmp / 'stdout.log'}):\n{proc.stderr[-4000:]}"
    with psycopg2.connect(meta_url) as conn, conn.cursor() as cur:  # what the run told Airflow it changed
        cur.execute("SELECT a.name FROM asset_event e JOIN asset a ON a.id = e.asset_id ORDER BY e.id")
        events = [r[0] for r in cur.fetchall()]
    conn.close()
    return json.loads(out.read_text()), proc.stdout + proc.stderr, data_url, tmp / "pde-home", events


def test_project_model_dags_load_with_their_tasks(dag_run):
    results, _, _, _, _ = dag_run
    project = results["project"]
    assert project["import_errors"] == {}
    assert {"housing_value", "fantasy_projections", "finance_spending"} <= set(project["dags"])


def test_a_model_emits_the_table_it_rewrites_so_what_reads_it_runs_next(dag_run):
    """writes: [housing.value_estimates] makes the run task an outlet; the successful run emitted it."""
    results, _, _, _, events = dag_run
    assert results["dags"]["housing_value"]["tasks"]["run"]["outlets"] == [
        repr(table_asset("housing.value_estimates"))]
    assert results["dags"]["housing_value"]["tasks"]["notebook"]["outlets"] == []
    assert events == ["housing.value_estimates"]
    assert "On success it emits housing.value_estimates." in results["dags"]["housing_value"]["doc_md"]


def test_project_cheatsheet_runs_after_the_projections_are_trained():
    from pde.schedule.config import load_config

    downstream = load_config()["downstream"]
    assert "fantasy.projections" in downstream["fantasy_projections"]["writes"]
    assert "fantasy.projections" in downstream["fantasy_cheatsheet"]["when"]


def test_housing_value_dag_trains_writes_and_keeps_the_notebook_report(dag_run):
    results, log, data_url, home, _ = dag_run
    dag = results["dags"]["housing_value"]
    assert set(dag["tasks"]) == {"run", "notebook"} and "models" in dag["tags"]
    run = results["runs"]["housing_value"]
    assert run["state"] == "success", log[-4000:]
    assert {k: v["state"] for k, v in run["tis"].items()} == {"run[-1]": "success", "notebook[-1]": "success"}
    with psycopg2.connect(data_url) as conn, conn.cursor() as cur:
        # rentals the model can learn from, counted here: not buildings, with a rent and beds or sqft
        cur.execute("""SELECT count(*) FROM housing.listings WHERE status = 'FOR_RENT' AND price > 0
                         AND NOT coalesce(is_building, false) AND (sqft IS NOT NULL OR beds IS NOT NULL)""")
        usable = cur.fetchone()[0]
        cur.execute("SELECT model, status, rows, predictions FROM platform.model_runs ORDER BY model")
        runs = cur.fetchall()
        cur.execute("SELECT count(*) FROM housing.value_estimates WHERE kind = 'rent'")
        estimates = cur.fetchone()[0]
    assert usable >= 30
    assert runs == [("house_value.rent", "trained", usable, usable), ("house_value.sale", "too_few_rows", 0, 0)]
    assert estimates == usable
    report = home / "reports" / "housing.html"
    assert report.exists()
    html = report.read_text()
    assert f"house_value.rent: trained on {usable} rows" in html
    book = json.loads((home / "reports" / "housing.ipynb").read_text())
    injected = ["".join(c["source"]) for c in book["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "seed = 4" in injected[0] and 'kinds = ["rent"]' in injected[0]
    assert "house_value.sale: " not in html.split("[synthetic]")[0]  # kinds: [rent] reached the notebook
    assert f"report: {report}" in log


@pytest.mark.parametrize("block, message", [
    ({"when": ["housing.listings"], "notebook": "n.ipynb", "environment": "gpu"},
     "environment: one of crawl, notebook"),
    ({"when": ["housing.listings"], "notebook": "n.ipynb", "parameters": [1]}, "parameters: a mapping"),
    ({"when": ["housing.listings"]}, "needs when: [tables] and command: (or notebook:)"),
    ({"when": ["housing.listings"], "command": "x", "writes": "housing.x"}, "writes: a list of the tables"),
])
def test_downstream_notebook_mistakes_are_refused(block, message):
    with pytest.raises(ConfigError) as exc:
        _check_config({"downstream": {"x": block}}, "crawls.yaml")
    assert message in str(exc.value)


def test_downstream_loops_through_writes_are_refused():
    doc = {"downstream": {
        "a": {"when": ["housing.listings"], "command": "x", "writes": ["housing.value_estimates"]},
        "b": {"when": ["housing.value_estimates"], "command": "y", "writes": ["housing.deals_cache"]},
        "c": {"when": ["housing.deals_cache"], "command": "z", "writes": ["housing.listings"]}}}
    with pytest.raises(ConfigError) as exc:
        _check_config(doc, "crawls.yaml")
    assert "a -> b -> c -> a would start each other for ever" in str(exc.value)
    doc["downstream"]["c"]["writes"] = ["housing.other"]
    assert _check_config(doc, "crawls.yaml")["downstream"]["c"]["writes"] == ["housing.other"]
