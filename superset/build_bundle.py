"""Build Superset's import bundle (a ZIP) from the readable YAML in superset/assets/.

The files under ``assets/`` say what each dashboard shows and nothing else:
``database.yaml``, ``datasets/<schema>.<table>.yaml`` (columns and metrics),
``charts/<name>.yaml`` (dataset, viz type, the chart's settings) and
``dashboards/<name>.yaml`` (rows of charts with widths, native filters). This
module turns them into the verbose format Superset imports (version 1.0.0:
positions, filter configurations, a ``query_context`` per chart so the chart-data
API answers) and zips it::

    python superset/build_bundle.py -o .pde/superset/bundle.zip

``pde superset import`` builds and imports it in one go.
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ASSETS = Path(__file__).resolve().parent / "assets"
BUNDLE_ROOT = "pde_dashboards"
VERSION = "1.0.0"
#: the URI in a bundle built without one; Superset's own mask for a hidden password
MASKED_PASSWORD = "XXXXXXXXXX"
PLACEHOLDER_URI = f"postgresql+psycopg2://pde_reader:{MASKED_PASSWORD}@127.0.0.1:54320/pde"


@dataclass
class Assets:
    """The readable sources, keyed by file stem (datasets: ``schema.table``)."""

    database: dict
    datasets: dict[str, dict] = field(default_factory=dict)
    charts: dict[str, dict] = field(default_factory=dict)
    dashboards: dict[str, dict] = field(default_factory=dict)


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_assets(root: Path = ASSETS) -> Assets:
    return Assets(
        database=_load(root / "database.yaml"),
        datasets={p.stem: _load(p) for p in sorted((root / "datasets").glob("*.yaml"))},
        charts={p.stem: _load(p) for p in sorted((root / "charts").glob("*.yaml"))},
        dashboards={p.stem: _load(p) for p in sorted((root / "dashboards").glob("*.yaml"))},
    )


# -- database and datasets ------------------------------------------------------
def database_file(src: dict, sqlalchemy_uri: str) -> dict:
    return {
        "database_name": src["database_name"],
        "sqlalchemy_uri": sqlalchemy_uri,
        "cache_timeout": src.get("cache_timeout"),
        "expose_in_sqllab": src.get("expose_in_sqllab", True),
        "allow_run_async": src.get("allow_run_async", False),
        "allow_ctas": src.get("allow_ctas", False),
        "allow_cvas": src.get("allow_cvas", False),
        "allow_dml": src.get("allow_dml", False),
        "allow_file_upload": src.get("allow_file_upload", False),
        "extra": {
            "metadata_params": {},
            "engine_params": {},
            "metadata_cache_timeout": {},
            "schemas_allowed_for_csv_upload": [],
        },
        "uuid": src["uuid"],
        "version": VERSION,
    }


def dataset_file(src: dict, database_uuid: str) -> dict:
    columns = []
    for name, col in src["columns"].items():
        col = col or {}
        columns.append({
            "column_name": name,
            "verbose_name": col.get("label"),
            "is_dttm": bool(col.get("temporal")),
            "is_active": True,
            "type": col.get("type"),
            "advanced_data_type": None,
            "groupby": col.get("groupby", True),
            "filterable": col.get("filterable", True),
            "expression": col.get("expression"),
            "description": col.get("description"),
            "python_date_format": None,
            "extra": {},
        })
    metrics = []
    for name, m in (src.get("metrics") or {}).items():
        metrics.append({
            "metric_name": name,
            "verbose_name": m.get("label"),
            "metric_type": None,
            "expression": m["expression"],
            "description": m.get("description"),
            "d3format": m.get("d3format"),
            "currency": None,
            "extra": {},
            "warning_text": None,
        })
    return {
        "table_name": src["table"],
        "main_dttm_col": src.get("time_column"),
        "description": src.get("description"),
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "catalog": None,
        "schema": src["schema"],
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": src["uuid"],
        "metrics": metrics,
        "columns": columns,
        "version": VERSION,
        "database_uuid": database_uuid,
    }


# -- charts ---------------------------------------------------------------------
def chart_params(src: dict) -> dict:
    """Superset's form data: the chart's settings plus what every chart carries."""
    params = {"viz_type": src["viz"], "adhoc_filters": [], "extra_form_data": {}, "dashboards": []}
    params.update(src.get("params") or {})
    params["adhoc_filters"] = [
        {"filterOptionName": f"filter_{i}", "isExtra": False, "isNew": False,
         "comparator": None, "operator": None, "subject": None, **f}
        for i, f in enumerate(params["adhoc_filters"])
    ]
    return params


def _where_and_filters(adhoc_filters: list[dict]) -> tuple[str, list[dict], str | None]:
    where, filters, time_range = [], [], None
    for f in adhoc_filters:
        if f.get("expressionType") == "SQL":
            where.append(f"({f['sqlExpression']})")
        elif f.get("operator") == "TEMPORAL_RANGE":
            filters.append({"col": f["subject"], "op": "TEMPORAL_RANGE", "val": f["comparator"]})
            time_range = f["comparator"]
        else:
            filters.append({"col": f["subject"], "op": f["operator"], "val": f["comparator"]})
    return " AND ".join(where), filters, time_range


def query_object(params: dict, dataset: dict) -> dict:
    """The query the chart's front-end would send, for the chart-data API."""
    where, filters, time_range = _where_and_filters(params["adhoc_filters"])
    q: dict = {
        "filters": filters,
        "extras": {"having": "", "where": where},
        "applied_time_extras": {},
        "columns": [],
        "metrics": [],
        "orderby": [],
        "annotation_layers": [],
        "row_limit": params.get("row_limit", 10000),
        "series_limit": 0,
        "order_desc": params.get("order_desc", True),
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }
    if time_range:
        q["time_range"] = time_range
    viz = params["viz_type"]
    if viz == "table" and params.get("query_mode") == "raw":
        q["columns"] = list(params["all_columns"])
        q["orderby"] = [json.loads(o) for o in params.get("order_by_cols", [])]
    elif viz == "table":
        q["columns"] = list(params.get("groupby", []))
        q["metrics"] = list(params["metrics"])
        sort = params.get("timeseries_limit_metric") or params["metrics"][0]
        q["orderby"] = [[sort, not params.get("order_desc", True)]]
    elif viz == "deck_scatter":
        spatial = params["spatial"]
        q["columns"] = [spatial["lonCol"], spatial["latCol"]]
        q["filters"].append({"col": spatial["latCol"], "op": "IS NOT NULL"})
        q["filters"].append({"col": spatial["lonCol"], "op": "IS NOT NULL"})
    elif viz.startswith("echarts_timeseries"):
        x = params["x_axis"]
        temporal = bool((dataset["columns"].get(x) or {}).get("temporal"))
        axis = ({"timeGrain": params.get("time_grain_sqla"), "columnType": "BASE_AXIS", "sqlExpression": x,
                 "label": x, "expressionType": "SQL"} if temporal else x)
        groupby = list(params.get("groupby", []))
        q["columns"] = [axis, *groupby]
        q["series_columns"] = groupby
        q["metrics"] = list(params["metrics"])
        q["orderby"] = [[params["metrics"][0], False]]
        q["is_timeseries"] = False
        q["post_processing"] = [
            {"operation": "pivot", "options": {
                "index": [x], "columns": groupby, "drop_missing_columns": False,
                "aggregates": {m: {"operator": "mean"} for m in params["metrics"]}}},
            {"operation": "flatten"},
        ]
    else:
        raise ValueError(f"no query_context recipe for viz type {viz!r}")
    return q


def chart_file(src: dict, dataset: dict) -> dict:
    params = chart_params(src)
    context = {
        "datasource": {"id": 0, "type": "table"},  # the importer sets the real id
        "force": False,
        "queries": [query_object(params, dataset)],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }
    return {
        "slice_name": src["name"],
        "description": src.get("description"),
        "certified_by": None,
        "certification_details": None,
        "viz_type": src["viz"],
        "params": params,
        "query_context": json.dumps(context),
        "cache_timeout": None,
        "uuid": src["uuid"],
        "version": VERSION,
        "dataset_uuid": dataset["uuid"],
    }


# -- dashboards -----------------------------------------------------------------
def filter_id(key: str, f: dict) -> str:
    return f"NATIVE_FILTER-{key}-{f['column']}"


def default_queries(assets: Assets | None = None) -> dict[str, str]:
    """{filter id: SQL} for the filters whose default is read from the data when importing (default_sql)."""
    assets = assets or load_assets()
    return {filter_id(key, f): f["default_sql"] for key, dash in assets.dashboards.items()
            for f in dash.get("filters") or [] if f.get("default_sql")}


def dashboard_file(key: str, src: dict, assets: Assets, defaults: dict[str, list] | None = None) -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": src["title"]}},
    }
    chart_number = 0
    for r, row in enumerate(src["rows"], start=1):
        row_id = f"ROW-{key}-{r}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"type": "ROW", "id": row_id, "children": [],
                            "parents": ["ROOT_ID", "GRID_ID"], "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for chart_key, width in row["charts"].items():
            chart = assets.charts[chart_key]
            chart_number += 1
            node_id = f"CHART-{chart_key}"
            position[row_id]["children"].append(node_id)
            position[node_id] = {
                "type": "CHART", "id": node_id, "children": [], "parents": ["ROOT_ID", "GRID_ID", row_id],
                # chartId is a placeholder: the importer links charts by uuid and sets the real id
                "meta": {"chartId": chart_number, "uuid": chart["uuid"], "sliceName": chart["name"],
                         "width": width, "height": row["height"]},
            }
    filters = []
    for f in src.get("filters") or []:
        dataset = assets.datasets[f["dataset"]]
        kind = {"select": "filter_select", "range": "filter_range"}[f["type"]]
        # single: one value at a time (one currency, one league: never summed across them). Not "required":
        # Superset 6.1 then draws no chart at all, even with a default value.
        control = ({"multiSelect": f.get("multi", True), "enableEmptyFilter": False,
                    "defaultToFirstItem": False, "inverseSelection": False, "searchAllOptions": False}
                   if kind == "filter_select" else {"enableEmptyFilter": False})
        value = (defaults or {}).get(filter_id(key, f))
        mask = {"extraFormData": {}, "filterState": {}, "ownState": {}}
        if value:
            mask = {"extraFormData": {"filters": [{"col": f["column"], "op": "IN", "val": value}]},
                    "filterState": {"value": value}, "ownState": {}}
        filters.append({
            "id": filter_id(key, f),
            "name": f["name"],
            "filterType": kind,
            "type": "NATIVE_FILTER",
            "targets": [{"column": {"name": f["column"]}, "datasetUuid": dataset["uuid"]}],
            "controlValues": control,
            "defaultDataMask": mask,
            "cascadeParentIds": [filter_id(key, {"column": c}) for c in f.get("parents", [])],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "description": f.get("description", ""),
        })
    return {
        "dashboard_title": src["title"],
        "description": src.get("description"),
        "css": "",
        "slug": src.get("slug"),
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": src["uuid"],
        "position": position,
        "metadata": {
            "native_filter_configuration": filters,
            "chart_configuration": {},
            "global_chart_configuration": {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}},
            "cross_filters_enabled": False,
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "shared_label_colors": [],
            "timed_refresh_immune_slices": [],
            "default_filters": "{}",
        },
        "version": VERSION,
    }


# -- the bundle -----------------------------------------------------------------
def bundle_files(assets: Assets | None = None, sqlalchemy_uri: str = PLACEHOLDER_URI,
                 defaults: dict[str, list] | None = None) -> dict[str, dict]:
    """Every file of the bundle (path inside the top folder -> content); defaults: {filter id: values}."""
    assets = assets or load_assets()
    db = assets.database
    db_name = db["database_name"]
    files: dict[str, dict] = {"metadata.yaml": {"version": VERSION, "type": "assets",
                                                "timestamp": "2026-01-01T00:00:00+00:00"}}
    files[f"databases/{db_name}.yaml"] = database_file(db, sqlalchemy_uri)
    for key, ds in assets.datasets.items():
        files[f"datasets/{db_name}/{key}.yaml"] = dataset_file(ds, db["uuid"])
    for key, chart in assets.charts.items():
        files[f"charts/{key}.yaml"] = chart_file(chart, assets.datasets[chart["dataset"]])
    for key, dash in assets.dashboards.items():
        files[f"dashboards/{key}.yaml"] = dashboard_file(key, dash, assets, defaults)
    return files


def database_file_name(assets: Assets | None = None) -> str:
    """The bundle path Superset's import API expects the database password under."""
    assets = assets or load_assets()
    return f"databases/{assets.database['database_name']}.yaml"


def bundle_bytes(sqlalchemy_uri: str = PLACEHOLDER_URI, assets: Assets | None = None,
                 defaults: dict[str, list] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, content in bundle_files(assets, sqlalchemy_uri, defaults).items():
            z.writestr(f"{BUNDLE_ROOT}/{path}", yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
    return buf.getvalue()


def write_bundle(out: Path, sqlalchemy_uri: str = PLACEHOLDER_URI) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bundle_bytes(sqlalchemy_uri))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--output", default="superset-bundle.zip", help="ZIP to write")
    p.add_argument("--uri", default=PLACEHOLDER_URI,
                   help="SQLAlchemy URI Superset reads pde's data with (password masked as XXXXXXXXXX)")
    args = p.parse_args(argv)
    out = write_bundle(Path(args.output), args.uri)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
