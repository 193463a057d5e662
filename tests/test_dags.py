"""The Airflow DAGs for real: DagBag, and ``dag.test()`` of crawl DAGs replaying cassettes.

Airflow runs in one child process per test session (``_harness`` below): its
configuration is process-wide and must be in the environment before it is
imported, and keeping it out of pytest's process leaves the other tests'
logging alone. The child uses a real PostgreSQL for Airflow's metadata (a
database on the ``pg_server`` cluster) and the test's data database; it
migrates the metadata, loads ``dags/`` with DagBag and runs ``dag.test()`` for
each scenario, printing a marker line before each so the parent can read each
run's log. The parent then checks the run records in the data database and the
asset events in Airflow's database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest

from pde.schedule import config as schedule_config
from pde.schedule import dags, tasks
from pde.schedule.config import (
    ConfigError,
    crawl_specs,
    normalise_secrets,
    spider_config,
)
from pde.schedule.registry import spider_registry
from tests.conftest import ROOT, scratch_databases

ZILLOW = ROOT / "fixtures" / "zillow_listings"
ZILLOW_ARGS = {"search": "04011", "status": "for_rent"}
TEST_CODE = "pde-test-" + uuid.uuid4().hex  # credentials that must never show in a log
TEST_PIN = "pin-" + uuid.uuid4().hex

TEST_CONFIG = """
spider_modules: [scrapers.housing, scrapers.finance, scrapers.fantasy, tests.selftest.spiders]
defaults:
  retry_delay_minutes: 0.02        # a crawl that fails unexpectedly must not park the test for minutes
  max_retry_delay_minutes: 0.05
spiders:
  zillow_listings:
    crawls:
      - {label: brunswick, args: {search: "04011", status: for_rent}}
    secrets: [PDE_TEST_CODE]
  selftest_things:
    crawls:
      - {label: things}
downstream:
  housing_export:
    when: [housing.listings]
    command: python -c "print('exporting listings')"
  code_echo:
    when: [selftest.things]
    command: python -c "import os; print('the code is', os.environ['PDE_TEST_CODE'], 'and the pin', os.environ['PIN'])"
    secrets: {PDE_TEST_CODE: variable, PIN: "connection:pde_test.password"}
"""


def things_cassette(path, pages):
    from tests.test_machinery import things_cassette as build

    return build(path, pages)


# ---------------------------------------------------------------------------
# the child process
# ---------------------------------------------------------------------------
def _harness(scenarios_file: str, out_file: str) -> None:
    """In the child: migrate Airflow's database, load dags/, dag.test() each scenario."""
    import time

    t0 = time.perf_counter()
    import airflow  # noqa: F401  (configures itself from the environment)
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import upgradedb

    # the project's own dags/ and dags/crawls.yaml first, before anything imported Scrapy
    test_config = os.environ.pop("PDE_CRAWLS_FILE")
    t1 = time.perf_counter()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    project = {"parse_s": time.perf_counter() - t1, "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
               "dags": sorted(bag.dags), "imported": sorted(m for m in sys.modules
                                                            if m == "scrapy" or m.startswith(("scrapers.housing.",
                                                                                              "scrapers.finance.",
                                                                                              "scrapers.fantasy.")))}
    os.environ["PDE_CRAWLS_FILE"] = test_config
    upgradedb()
    t2 = time.perf_counter()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    parse_s = time.perf_counter() - t2
    result = {"import_and_migrate_s": t2 - t0, "parse_s": parse_s, "import_errors": dict(bag.import_errors),
              "dags": {}, "project": project}
    for dag_id, dag in bag.dags.items():
        result["dags"][dag_id] = {
            "schedule": dag.schedule if isinstance(dag.schedule, str) else repr(dag.schedule),
            "tags": sorted(dag.tags),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "doc_md": dag.doc_md,
            "tasks": {t.task_id: {"retries": t.retries, "execution_timeout": t.execution_timeout.total_seconds()
                                  if t.execution_timeout else None,
                                  "retry_exponential_backoff": t.retry_exponential_backoff,
                                  "outlets": [repr(o) for o in t.outlets]}
                      for t in dag.tasks},
        }
    result["runs"] = {}
    for scenario in json.loads(Path(scenarios_file).read_text()):
        os.environ["AIRFLOW_VAR_PDE_CRAWLS"] = json.dumps(scenario.get("overlay", {}))
        print(f"@@scenario {scenario['name']}", flush=True)
        t = time.perf_counter()
        dr = bag.dags[scenario["dag"]].test()
        sys.stdout.flush()
        result["runs"][scenario["name"]] = {
            "state": str(dr.state),
            "seconds": time.perf_counter() - t,
            "tis": {f"{ti.task_id}[{ti.map_index}]": {"state": str(ti.state), "try_number": ti.try_number,
                                                      "label": ti.rendered_map_index}
                    for ti in dr.get_task_instances()},
        }
    print("@@end", flush=True)
    Path(out_file).write_text(json.dumps(result, default=str))


@pytest.fixture(scope="module")
def airflow_meta(pg_server):
    """A fresh database for Airflow's metadata on the test PostgreSQL server."""
    with scratch_databases(pg_server, prefix="airflow_", template=None) as url:
        yield url


@pytest.fixture(scope="module")
def data_url(pg_server):
    with scratch_databases(pg_server, prefix="d_") as url:
        yield url


@pytest.fixture(scope="module")
def airflow_runs(tmp_path_factory, airflow_meta, data_url):
    """Runs the child once for the module; returns (results, {scenario: its log}, data_url, airflow_meta)."""
    from pde.services import airflow as service

    tmp = tmp_path_factory.mktemp("airflow")
    empty = things_cassette(tmp / "empty.json", {1: {"things": [], "next": None}})
    config = tmp / "crawls.yaml"
    config.write_text(TEST_CONFIG)
    zillow = lambda label, cassette: {"spiders": {"zillow_listings": {"crawls": [  # noqa: E731
        {"label": label, "args": ZILLOW_ARGS, "settings": {"PDE_CASSETTE": str(ZILLOW / cassette)}}]}}}
    scenarios = [
        {"name": "zillow_ok", "dag": "zillow_listings", "overlay": zillow("brunswick", "search_04011.json")},
        {"name": "zillow_blocked", "dag": "zillow_listings", "overlay": zillow("blocked", "blocked.json")},
        {"name": "things_empty", "dag": "selftest_things", "overlay": {"spiders": {"selftest_things": {"crawls": [
            {"label": "empty", "settings": {"PDE_CASSETTE": str(empty)}}]}}}},
        {"name": "code_echo", "dag": "code_echo"},
        # a usage error found by the crawl itself (the profile is checked against data the DAG file never reads)
        {"name": "bank_usage", "dag": "bank_csv", "overlay": {"spiders": {"bank_csv": {"crawls": [
            {"label": "typo", "args": {"url": str(ROOT / "fixtures" / "bank_csv"), "profile": "schwab"}}]}}}},
        # a bad value in the configuration: refused by the plan task from the declaration, nothing crawled
        {"name": "zillow_bad_arg", "dag": "zillow_listings", "overlay": {"spiders": {"zillow_listings": {"crawls": [
            {"label": "typo", "args": {"search": "04011", "status": "rented"}}]}}}},
        # no crawl configured for a spider that needs league_id: skipped, not failed every night
        {"name": "espn_unconfigured", "dag": "espn_league"},
    ]
    (tmp / "scenarios.json").write_text(json.dumps(scenarios))
    meta = airflow_meta.replace("postgresql://", "postgresql+psycopg2://", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"PDE_HOME": str(tmp / "pde-home"), "PDE_CRAWLS_FILE": str(config),
                "AIRFLOW_VAR_PDE_TEST_CODE": TEST_CODE,
                "AIRFLOW_CONN_PDE_TEST": json.dumps({"conn_type": "generic", "login": "me", "password": TEST_PIN})})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PDE_HOME", env["PDE_HOME"])
        env = service.airflow_env(data_url, meta, base=env)
    out = tmp / "results.json"
    code = f"from tests.test_dags import _harness; _harness({str(tmp / 'scenarios.json')!r}, {str(out)!r})"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=480)
    (tmp / "stdout.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    assert proc.returncode == 0 and out.exists(), ("the Airflow child failed "
                                                   f"({tmp / 'stdout.log'}):\n{proc.stderr[-4000:]}")
    logs, current = {}, None
    for line in proc.stdout.splitlines():
        if line.startswith("@@scenario "):
            current = line.split(" ", 1)[1]
            logs[current] = []
        elif line.startswith("@@end"):
            current = None
        elif current:
            logs[current].append(line)
    return json.loads(out.read_text()), {k: "\n".join(v) for k, v in logs.items()}, proc.stdout + proc.stderr


def data_rows(url, sql, args=()):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


# ---------------------------------------------------------------------------
# DagBag
# ---------------------------------------------------------------------------
def test_dagbag_loads_one_dag_per_spider_with_schedule_tags_retries(airflow_runs):
    results, _, _ = airflow_runs
    assert results["import_errors"] == {}
    registry = spider_registry(["scrapers.housing", "scrapers.finance", "scrapers.fantasy", "tests.selftest.spiders"])
    crawl_dags = {d: info for d, info in results["dags"].items() if "crawl" in info["tags"]}
    assert set(crawl_dags) == set(registry)
    for name, spider in registry.items():
        dag = crawl_dags[name]
        assert dag["schedule"] == spider.schedule, name
        assert dag["tags"] == sorted([spider.area, "crawl"]), name
        assert dag["catchup"] is False and dag["max_active_runs"] == 1, name
        assert set(dag["tasks"]) == {"plan", "crawls.crawl", "crawls.quality"}, name
        crawl = dag["tasks"]["crawls.crawl"]
        assert crawl["retries"] >= 2 and crawl["retry_exponential_backoff"] > 0, name
        assert crawl["execution_timeout"] == 120 * 60, name
        assert dag["tasks"]["crawls.quality"]["outlets"] == [f"AssetAlias(name='pde.{name}', group='asset')"], name
    assert results["dags"]["zillow_listings"]["tags"] == ["crawl", "housing"]
    assert results["dags"]["plaid_transactions"]["schedule"] == "0 */6 * * *"  # the spider's own attribute
    assert "housing.listings" in results["dags"]["housing_export"]["schedule"]


def test_project_dags_parse_without_importing_spiders(airflow_runs):
    """The real dags/ with the real dags/crawls.yaml: no import errors, Scrapy never imported (what keeps parsing
    fast; the time itself is a benchmark, benchmarks/airflow_parse.py, not a timed test)."""
    project = airflow_runs[0]["project"]
    assert project["import_errors"] == {}
    assert set(spider_registry()) <= set(project["dags"])
    assert project["imported"] == [], "parsing dags/ imported Scrapy or a spider module"


# ---------------------------------------------------------------------------
# dag.test() runs
# ---------------------------------------------------------------------------
def test_crawl_dag_replays_cassette_records_run_and_emits_asset(airflow_runs, data_url, airflow_meta):
    results, logs, _ = airflow_runs
    run = results["runs"]["zillow_ok"]
    assert run["state"] == "success", logs["zillow_ok"][-4000:]
    assert {k: v["state"] for k, v in run["tis"].items()} == {
        "plan[-1]": "success", "crawls.crawl[0]": "success", "crawls.quality[0]": "success"}
    assert run["tis"]["crawls.crawl[0]"]["label"] == "brunswick"
    # the run record, written by the crawl into the data database
    (run_id, status, items, message), = data_rows(
        data_url, "SELECT run_id, status, items_scraped, message FROM platform.runs WHERE spider = 'zillow_listings' "
                  "ORDER BY run_id LIMIT 1")
    assert (status, items, message) == ("succeeded", 36, None)
    assert data_rows(data_url, "SELECT count(*) FROM housing.listings") == [(36,)]
    # the asset event in Airflow's (PostgreSQL) metadata database, and the downstream DAG it queued
    events = data_rows(airflow_meta, """SELECT a.name, a.uri, e.extra, e.source_dag_id, e.source_task_id
                                         FROM asset_event e JOIN asset a ON a.id = e.asset_id ORDER BY e.id""")
    listing_events = [e for e in events if e[0] == "housing.listings"]
    assert len(listing_events) == 1
    name, uri, extra, dag_id, task_id = listing_events[0]
    assert (uri, dag_id, task_id) == ("x-pde://postgres/housing.listings", "zillow_listings", "crawls.quality")
    assert extra == {"run_id": run_id, "spider": "zillow_listings", "crawl": "brunswick", "inserted": 36, "updated": 0}
    queued = data_rows(airflow_meta, "SELECT a.name, q.target_dag_id FROM asset_dag_run_queue q "
                                     "JOIN asset a ON a.id = q.asset_id")
    assert ("housing.listings", "housing_export") in queued


def test_blocked_crawl_fails_at_the_crawl_task_with_the_block_message(airflow_runs, data_url):
    results, logs, _ = airflow_runs
    run = results["runs"]["zillow_blocked"]
    assert run["state"] == "failed"
    assert run["tis"]["crawls.crawl[0]"]["state"] == "failed"
    assert run["tis"]["crawls.crawl[0]"]["try_number"] == 1, "a blocked crawl must not be retried at once"
    assert run["tis"]["crawls.quality[0]"]["state"] == "upstream_failed"
    log = logs["zillow_blocked"]
    assert "Blocked: https://www.zillow.com/homes/for_rent/04011_rb/ answered with a block/captcha page" in log
    assert "zillow_listings [blocked] was blocked by the site" in log
    assert "PerimeterX" in log  # the spider's advice reaches the person reading the log
    assert data_rows(data_url, "SELECT status FROM platform.runs WHERE spider = 'zillow_listings' ORDER BY run_id") == [
        ("succeeded",), ("blocked",)]


def test_empty_crawl_fails_at_the_quality_task_with_a_readable_reason(airflow_runs, data_url):
    results, logs, _ = airflow_runs
    run = results["runs"]["things_empty"]
    assert run["state"] == "failed"
    assert run["tis"]["crawls.crawl[0]"]["state"] == "success"
    assert run["tis"]["crawls.quality[0]"]["state"] == "failed"
    assert run["tis"]["crawls.quality[0]"]["label"] == "empty"
    log = logs["things_empty"]
    assert "Quality check failed" in log
    assert "selftest_things finished but produced no items" in log
    assert data_rows(data_url, "SELECT status, items_scraped FROM platform.runs WHERE spider = 'selftest_things'") == [
        ("failed", 0)]


def test_credentials_reach_the_command_environment_but_never_a_log(airflow_runs):
    results, logs, everything = airflow_runs
    assert results["runs"]["code_echo"]["state"] == "success", logs["code_echo"][-3000:]
    assert "the code is *** and the pin ***" in logs["code_echo"]
    assert "credentials in its environment: PDE_TEST_CODE" in logs["zillow_ok"]
    assert TEST_CODE not in everything and TEST_PIN not in everything


# ---------------------------------------------------------------------------
# configuration and registry (no Airflow needed)
# ---------------------------------------------------------------------------
def test_registry_from_source_matches_scrapys_own_spider_list():
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("SPIDER_MODULES", ["scrapers.housing", "scrapers.finance", "scrapers.fantasy",
                                    "tests.selftest.spiders"])
    loader = SpiderLoader.from_settings(settings)
    registry = spider_registry(["scrapers.housing", "scrapers.finance", "scrapers.fantasy", "tests.selftest.spiders"])
    assert set(registry) == set(loader.list())
    for name, info in registry.items():
        cls = loader.load(name)
        assert (info.area, info.schedule) == (getattr(cls, "area", ""), getattr(cls, "schedule", None)), name


def test_specs_merge_defaults_spider_and_crawl_and_keep_secrets_out_of_arguments():
    config = schedule_config.check_config({
        "spider_modules": ["scrapers.housing", "scrapers.finance", "scrapers.fantasy", "tests.selftest.spiders"],
        "defaults": {"settings": {"DOWNLOAD_DELAY": 5}, "quality": {"min_rows": 7}},
        "spiders": {"zillow_listings": {
            "args": {"pages": 2}, "secrets": ["ZILLOW_COOKIE"],
            "crawls": [{"args": {"search": "Brunswick, ME", "status": "for_rent"}},
                       {"label": "portland", "args": {"search": "Portland, ME"}, "quality": {"min_items_ratio": 0.2}}],
        }},
    }, "test")
    specs = crawl_specs("zillow_listings", spider_config("zillow_listings", config), config["spider_modules"])
    assert [s["label"] for s in specs] == ["2-Brunswick-ME-for_rent", "portland"]
    assert specs[0]["args"] == {"pages": 2, "search": "Brunswick, ME", "status": "for_rent"}
    assert specs[1]["quality"] == {"min_rows": 7, "min_items_ratio": 0.2}
    assert specs[0]["settings"] == {"DOWNLOAD_DELAY": 5,
                                    "SPIDER_MODULES": "scrapers.housing,scrapers.finance,scrapers.fantasy,"
                                                      "tests.selftest.spiders"}
    assert specs[0]["secrets"] == {"ZILLOW_COOKIE": "variable"}
    cmd = tasks.crawl_command(specs[0])
    assert cmd[1:5] == ["-m", "scrapy", "crawl", "zillow_listings"]
    assert "search=Brunswick, ME" in cmd and "DOWNLOAD_DELAY=5" in cmd
    assert "(credentials in its environment: ZILLOW_COOKIE)" in tasks.describe_command(specs[0])


def test_variable_overlay_changes_crawls_but_not_parse_time_settings():
    config = schedule_config.check_config({"spiders": {"zillow_listings": {"schedule": "@daily", "crawls": [
        {"label": "a", "args": {"search": "A"}}]}}}, "file")
    overlay = schedule_config.check_config({"spiders": {"zillow_listings": {"schedule": "@hourly", "timeout_minutes": 1,
                                                                           "crawls": [{"label": "b",
                                                                                       "args": {"search": "B"}}]}}},
                                         "variable")
    cfg = spider_config("zillow_listings", config, overlay)
    assert cfg["schedule"] == "@daily" and cfg["timeout_minutes"] == 120
    assert [c["label"] for c in cfg["crawls"]] == ["b"]


@pytest.mark.parametrize("config, message", [
    ({"spiders": {"zillow_listings": {"crawls": [{"args": {"password": "x"}}]}}}, "look like credentials"),
    ({"spiders": {"zillow_listings": {"crawls": [{"label": "a"}, {"label": "a"}]}}}, "two crawls are labelled 'a'"),
    ({"spiders": {"zillow_listings": {"quality": {"min_itemz": 1}}}}, "Unknown quality threshold(s) min_itemz"),
    ({"spiders": {"zillow_listings": {"retry": 3}}}, "unknown key(s) ['retry']"),
    ({"spiders": {"zillow_listings": {"secrets": {"X": "vault:x"}}}}, "is not variable[:KEY]"),
    ({"downstream": {"x": {"when": ["housing.listings"]}}}, "needs when: [tables] and command:"),
    ({"spidres": {}}, "unknown top-level key(s) ['spidres']"),
])
def test_config_mistakes_are_refused_with_a_message(config, message):
    with pytest.raises(ConfigError) as err:
        checked = schedule_config.check_config(config, "crawls.yaml")
        crawl_specs("zillow_listings", spider_config("zillow_listings", checked),
                    ["scrapers.housing", "scrapers.finance", "scrapers.fantasy"])
    assert message in str(err.value)


def test_unknown_spider_in_config_is_an_import_error_naming_it(tmp_path, monkeypatch):
    bad = tmp_path / "crawls.yaml"
    bad.write_text("spiders:\n  zillow_listing: {}\n")
    monkeypatch.setenv("PDE_CRAWLS_FILE", str(bad))
    with pytest.raises(ConfigError, match=r"\['zillow_listing'\] do not exist"):
        dags.crawl_dags()


def test_secrets_forms():
    assert normalise_secrets(["A", "B"]) == {"A": "variable", "B": "variable"}
    assert normalise_secrets({"A": "connection:espn.password", "B": "env:OTHER", "C": None}) == {
        "A": "connection:espn.password", "B": "env:OTHER", "C": "variable"}


def test_crawl_environment_drops_airflow_settings_and_adds_database_and_secrets(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "fernet")
    monkeypatch.setenv("ESPN_S2", "espn-cookie")  # the worker has it; this crawl did not ask for it
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1:5432/pde")
    env = tasks.crawl_environment({"env": {"PDE_LOG_LEVEL": "DEBUG"}}, {"PLAID_SECRET": "secret-value"})
    assert "AIRFLOW__CORE__FERNET_KEY" not in env and "ESPN_S2" not in env
    assert env["DATABASE_URL"] == "postgresql://u:pw@127.0.0.1:5432/pde"
    assert env["PDE_LOG_LEVEL"] == "DEBUG" and env["PLAID_SECRET"] == "secret-value"
    assert env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] == ""
    hidden = tasks.sensitive_values(env, {"PLAID_SECRET": "secret-value"})
    assert "pw" not in hidden  # too short to redact safely
    assert tasks._redact("token secret-value used", hidden) == "token *** used"


# ---------------------------------------------------------------------------
# arguments: declared once, used by the DAGs
# ---------------------------------------------------------------------------
def test_usage_error_fails_the_crawl_task_at_once_without_retries(airflow_runs, data_url):
    results, logs, _ = airflow_runs
    run = results["runs"]["bank_usage"]
    assert run["state"] == "failed"
    assert run["tis"]["crawls.crawl[0]"]["state"] == "failed"
    assert run["tis"]["crawls.crawl[0]"]["try_number"] == 1, "a usage error must not be retried"
    assert "-a profile=schwab is not allowed" in logs["bank_usage"]
    assert "retrying would fail the same way" in logs["bank_usage"]
    assert data_rows(data_url, "SELECT count(*) FROM platform.runs WHERE spider = 'bank_csv'") == [(0,)]


def test_bad_argument_in_the_configuration_fails_the_plan(airflow_runs):
    results, logs, _ = airflow_runs
    run = results["runs"]["zillow_bad_arg"]
    assert run["state"] == "failed"
    assert run["tis"]["plan[-1]"]["state"] == "failed"
    assert "-a status=rented is not allowed: status takes one of for_sale, for_rent, sold" in logs["zillow_bad_arg"]


def test_spider_needing_arguments_without_a_crawl_skips_and_its_doc_says_what_to_configure(airflow_runs, data_url):
    results, logs, _ = airflow_runs
    run = results["runs"]["espn_unconfigured"]
    assert run["state"] == "success"  # skipped, not failed
    assert run["tis"]["plan[-1]"]["state"] == "skipped"
    assert "missing argument -a league_id=" in logs["espn_unconfigured"]
    assert data_rows(data_url, "SELECT count(*) FROM platform.runs WHERE spider = 'espn_league'") == [(0,)]
    doc = results["dags"]["espn_league"]["doc_md"]
    assert "Not configured yet" in doc and "league_id: ..." in doc
    assert "Not configured yet" not in results["dags"]["zillow_listings"]["doc_md"]  # it has a crawl


def test_dag_docs_list_the_declared_arguments(airflow_runs):
    """Every argument the spider declares is a row of its DAG's doc, with its default."""
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    from pde.sources import declared_args

    results = airflow_runs[0]
    loader = SpiderLoader.from_settings(get_project_settings())
    for name in loader.list():
        doc = results["dags"][name]["doc_md"]
        for arg in declared_args(loader.load(name)).values():
            row = next((line for line in doc.splitlines() if line.startswith(f"| `{arg.name}` |")), None)
            assert row is not None, (name, arg.name)
            if arg.default is not None:  # as typed after -a: booleans are 1/0
                default = str(int(arg.default)) if isinstance(arg.default, bool) else str(arg.default)
                assert f"| {default} |" in row.replace(", ", ","), (name, row)


def test_registry_reads_the_declared_arguments_from_source_like_the_imported_spiders():
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    from pde.sources import declared_args

    loader = SpiderLoader.from_settings(get_project_settings())
    registry = spider_registry()
    for name in loader.list():
        assert registry[name].args == tuple(declared_args(loader.load(name)).values()), name
