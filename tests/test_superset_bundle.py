"""The Superset bundle built from superset/assets is consistent, without running Superset.

Every dashboard chart node links by uuid to a chart in the bundle, every chart's
dataset is there, uuids are unique, every chart answers through a query_context,
and every column, metric and filter the dashboards use exists in the tables and
views the migrations create (checked against a migrated test database). Also:
the read-only role pde creates for Superset can read the data and nothing else.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections import Counter

import psycopg2
import pytest
import yaml

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "superset"))
import build_bundle  # noqa: E402

from pde.services.superset import DATA_SCHEMAS, READER_ROLE, ensure_reader_role  # noqa: E402


@pytest.fixture(scope="module")
def assets():
    return build_bundle.load_assets()


@pytest.fixture(scope="module")
def files(assets):
    return build_bundle.bundle_files(assets)


def of_kind(files, kind):
    return {path: content for path, content in files.items() if path.startswith(kind + "/")}


def test_zip_has_one_top_folder_and_every_file_has_version_and_uuid():
    z = zipfile.ZipFile(io.BytesIO(build_bundle.bundle_bytes()))
    names = z.namelist()
    assert {n.split("/")[0] for n in names} == {build_bundle.BUNDLE_ROOT}
    assert f"{build_bundle.BUNDLE_ROOT}/metadata.yaml" in names
    for name in names:
        doc = yaml.safe_load(z.read(name))
        assert doc["version"] == "1.0.0", name  # a string, not a number
        if not name.endswith("metadata.yaml"):
            assert doc["uuid"], name


def test_uuids_are_unique(files):
    uuids = Counter(c["uuid"] for p, c in files.items() if p != "metadata.yaml")
    assert [u for u, n in uuids.items() if n > 1] == []


def test_names_and_titles_are_unique(files):
    for kind, key in (("charts", "slice_name"), ("dashboards", "dashboard_title"), ("datasets", "table_name")):
        names = Counter(c[key] for c in of_kind(files, kind).values())
        assert [n for n, k in names.items() if k > 1] == [], kind


def test_dashboard_chart_nodes_link_to_charts_in_the_bundle(files):
    charts = {c["uuid"]: c for c in of_kind(files, "charts").values()}
    used = set()
    for path, dash in of_kind(files, "dashboards").items():
        nodes = [n for n in dash["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]
        assert nodes, path
        for node in nodes:
            assert isinstance(node["meta"]["chartId"], int), node  # required by the importer
            assert node["meta"]["uuid"] in charts, f"{path}: {node['id']} links to no chart"
            assert node["meta"]["sliceName"] == charts[node["meta"]["uuid"]]["slice_name"]
            used.add(node["meta"]["uuid"])
        # every node is reachable from the grid, every row holds only existing nodes
        for node in dash["position"].values():
            if isinstance(node, dict):
                for child in node.get("children", []):
                    assert child in dash["position"], f"{path}: {node['id']} -> missing {child}"
        widths = [sum(dash["position"][c]["meta"]["width"] for c in dash["position"][r]["children"])
                  for r in dash["position"]["GRID_ID"]["children"]]
        assert all(w <= 12 for w in widths), f"{path}: a row is wider than the 12-column grid: {widths}"
    assert set(charts) == used, "charts on no dashboard"


def test_every_chart_dataset_and_database_is_in_the_bundle(files):
    datasets = {c["uuid"] for c in of_kind(files, "datasets").values()}
    databases = {c["uuid"] for c in of_kind(files, "databases").values()}
    for path, chart in of_kind(files, "charts").items():
        assert chart["dataset_uuid"] in datasets, path
    for path, ds in of_kind(files, "datasets").items():
        assert ds["database_uuid"] in databases, path
    for path, dash in of_kind(files, "dashboards").items():
        for f in dash["metadata"]["native_filter_configuration"]:
            assert f["targets"][0]["datasetUuid"] in datasets, (path, f["name"])


def test_every_chart_has_a_query_context(files):
    for path, chart in of_kind(files, "charts").items():
        assert chart["params"], path
        ctx = json.loads(chart["query_context"])
        assert ctx["queries"] and ctx["form_data"]["viz_type"] == chart["viz_type"], path
        q = ctx["queries"][0]
        assert q["columns"] or q["metrics"], path


def test_database_entry_is_importable(files):
    (db,) = of_kind(files, "databases").values()
    assert set(db["extra"]) >= {"metadata_params", "engine_params", "metadata_cache_timeout"}
    assert db["allow_dml"] is False
    assert f"//{READER_ROLE}:" in db["sqlalchemy_uri"]


def test_house_hunt_has_the_promised_filters(files):
    dash = files["dashboards/house_hunt.yaml"]
    assert {f["name"] for f in dash["metadata"]["native_filter_configuration"]} == {"City", "Status", "Beds", "Price"}


def _columns(cur, schema, table):
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                (schema, table))
    return {r[0] for r in cur.fetchall()}


def test_dataset_columns_metrics_and_chart_fields_exist_in_the_migrated_database(assets, pg_conn):
    cur = pg_conn.cursor()
    for key, ds in assets.datasets.items():
        table = f'"{ds["schema"]}"."{ds["table"]}"'
        real = _columns(cur, ds["schema"], ds["table"])
        assert real, f"{key}: {table} does not exist after the migrations"
        missing = [c for c, spec in ds["columns"].items() if not (spec or {}).get("expression") and c not in real]
        assert missing == [], f"{key}: columns not in {table}: {missing}"
        assert ds.get("time_column") in (None, *ds["columns"]), key
        for name, m in (ds.get("metrics") or {}).items():
            cur.execute(f"SELECT {m['expression']} FROM {table} LIMIT 0")  # raises if it does not compile
    for key, chart in assets.charts.items():
        ds = assets.datasets[chart["dataset"]]
        table = f'"{ds["schema"]}"."{ds["table"]}"'
        p = chart["params"]
        referenced = [*p.get("all_columns", []), *p.get("groupby", [])]
        referenced += [p["x_axis"]] if "x_axis" in p else []
        referenced += [p["spatial"]["latCol"], p["spatial"]["lonCol"]] if "spatial" in p else []
        referenced += [json.loads(o)[0] for o in p.get("order_by_cols", [])]
        referenced += [f["subject"] for f in p.get("adhoc_filters", []) if f.get("expressionType") == "SIMPLE"]
        referenced += list(p.get("column_config", {}))
        referenced += [c["column"] for c in p.get("conditional_formatting", [])]
        assert [c for c in referenced if c not in ds["columns"]] == [], key
        metrics = [*p.get("metrics", []), *([p["timeseries_limit_metric"]] if "timeseries_limit_metric" in p else [])]
        assert [m for m in metrics if m not in (ds.get("metrics") or {})] == [], key
        for f in p.get("adhoc_filters", []):
            if f.get("expressionType") == "SQL":
                cur.execute(f"SELECT 1 FROM {table} WHERE {f['sqlExpression']} LIMIT 0")
    for key, dash in assets.dashboards.items():
        for f in dash.get("filters") or []:
            assert f["column"] in assets.datasets[f["dataset"]]["columns"], (key, f)


def test_reader_role_reads_the_data_schemas_and_nothing_else(pg_conn, pg_url):
    schemas = ensure_reader_role(pg_conn, "reader-secret")
    assert {"housing", "platform"} <= set(schemas) <= set(DATA_SCHEMAS)
    ensure_reader_role(pg_conn, "reader-secret")  # idempotent
    with pg_conn.cursor() as cur:  # a table created later by the owner is readable too
        cur.execute("CREATE TABLE housing.later_table (x int)")
        cur.execute("INSERT INTO housing.later_table VALUES (1)")
    pg_conn.commit()
    user, rest = pg_url.split("://", 1)[1].split("@", 1)
    reader = psycopg2.connect(f"postgresql://{READER_ROLE}:reader-secret@{rest}")
    reader.autocommit = True
    try:
        with reader.cursor() as cur:
            cur.execute("SELECT count(*) FROM housing.listings")
            cur.execute("SELECT count(*) FROM housing.listings_dashboard")
            cur.execute("SELECT count(*) FROM platform.source_health")
            cur.execute("SELECT x FROM housing.later_table")
            assert cur.fetchall() == [(1,)]
            for statement in ("INSERT INTO housing.later_table VALUES (2)",
                              "DELETE FROM platform.runs",
                              "CREATE TABLE housing.mine (x int)",
                              "CREATE TABLE public.mine (x int)",
                              "DROP VIEW housing.price_cuts"):
                with pytest.raises(psycopg2.Error, match="permission denied|must be owner"):
                    cur.execute(statement)
    finally:
        reader.close()
