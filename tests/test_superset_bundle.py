"""The Superset bundle built from superset/assets is consistent, without running Superset.

Every dashboard chart node links by uuid to a chart in the bundle, every chart's
dataset is there, uuids are unique, every chart answers through a query_context,
and every column, metric and filter the dashboards use exists in the tables and
views the migrations create (checked against a migrated test database). Also:
the read-only role pde creates for Superset can read the data and nothing else,
including views a later migration adds (sql/repeatable/0040_dashboard_views.sql grants
nothing), and the dashboard views count money and fantasy points as their
comments say.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import threading
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg2
import pytest
import yaml

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "superset"))
import build_bundle  # noqa: E402

from pde.migrate import SQL_DIR, migrate  # noqa: E402
from pde.services.superset import DATA_SCHEMAS, READER_ROLE, ensure_reader_role  # noqa: E402

DASHBOARD_VIEWS = SQL_DIR / "repeatable" / "0040_dashboard_views.sql"
FANTASY_ME = SQL_DIR / "0040_fantasy_me.sql"


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


def test_labels_and_names_are_text(files):
    """YAML reads an unquoted On, Off, Yes or No as a boolean, which Superset's importer refuses."""
    for path, ds in of_kind(files, "datasets").items():
        for item in [*ds["columns"], *ds["metrics"]]:
            label = item["verbose_name"]
            assert label is None or isinstance(label, str), (path, item.get("column_name") or item["metric_name"])
    for path, chart in of_kind(files, "charts").items():
        assert isinstance(chart["slice_name"], str), path


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


def test_spending_and_fantasy_dashboards_have_their_charts_and_filters(files):
    spending, fantasy = files["dashboards/spending.yaml"], files["dashboards/fantasy.yaml"]
    assert {f["name"] for f in spending["metadata"]["native_filter_configuration"]} == {
        "Currency", "Account", "Year", "Category"}
    assert {f["name"] for f in fantasy["metadata"]["native_filter_configuration"]} == {"League", "Season"}
    names = {path: {n["meta"]["sliceName"] for n in dash["position"].values()
                    if isinstance(n, dict) and n.get("type") == "CHART"}
             for path, dash in (("spending", spending), ("fantasy", fantasy))}
    assert {"Monthly spending by category", "Income against spending per month", "Top merchants by money spent",
            "Balance of each account over time (end of day; negative = owed)"} <= names["spending"]
    assert any(n.startswith("Transactions to categorize") for n in names["spending"])
    assert any(n.startswith("League standings") for n in names["fantasy"])
    assert any(n.startswith("Your roster against") for n in names["fantasy"])
    assert any(n.startswith("Draft picks against ADP") for n in names["fantasy"])


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
        for _name, m in (ds.get("metrics") or {}).items():
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


def test_reader_role_set_up_from_many_processes_at_once(pg_conn, pg_url):
    """Notebooks opened side by side each make the role ready; cluster-wide catalogs must not collide."""
    with pg_conn.cursor() as cur:
        cur.execute(f"DROP OWNED BY {READER_ROLE}" if _role_exists(cur) else "SELECT 1")
        cur.execute(f"DROP ROLE IF EXISTS {READER_ROLE}")
    pg_conn.commit()
    conns = [psycopg2.connect(pg_url) for _ in range(8)]
    barrier = threading.Barrier(len(conns))

    def ready(conn):
        barrier.wait()
        for _ in range(5):
            ensure_reader_role(conn, "reader-secret")

    try:
        with ThreadPoolExecutor(len(conns)) as pool:
            list(pool.map(ready, conns))  # re-raises the first error
    finally:
        for conn in conns:
            conn.close()
    rest = pg_url.split("@", 1)[1]
    reader = psycopg2.connect(f"postgresql://{READER_ROLE}:reader-secret@{rest}")
    reader.close()


def _role_exists(cur) -> bool:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,))
    return cur.fetchone() is not None


# -- sql/0040_dashboard_views.sql -----------------------------------------------------------------
def _created_relations() -> list[str]:
    return [name for f in (DASHBOARD_VIEWS, FANTASY_ME)
            for name in re.findall(r"^CREATE (?:VIEW|TABLE) (\w+\.\w+)", f.read_text(), re.M)]


def test_dashboard_views_migration_grants_nothing():
    statements = re.sub(r"--[^\n]*", "", DASHBOARD_VIEWS.read_text() + FANTASY_ME.read_text())
    assert not re.search(r"\b(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\b", statements, re.I)
    assert len(_created_relations()) >= 8


def test_reader_reads_views_a_later_migration_adds(empty_pg_conn, pg_server, tmp_path):
    """Default privileges: the role set up before sql/0040 was applied reads what 0040 creates."""
    earlier = tmp_path / "sql"
    (earlier / "repeatable").mkdir(parents=True)
    for f in [*SQL_DIR.glob("*.sql"), *SQL_DIR.glob("repeatable/*.sql")]:
        if f.name[:4] < "0040":
            shutil.copy(f, earlier / f.relative_to(SQL_DIR))
    migrate(empty_pg_conn, earlier, log=lambda m: None)
    ensure_reader_role(empty_pg_conn, "reader-secret")
    applied = migrate(empty_pg_conn, log=lambda m: None)
    assert {FANTASY_ME.name, f"repeatable/{DASHBOARD_VIEWS.name}"} <= set(applied)
    rest = pg_server.url.split("@", 1)[1].rsplit("/", 1)[0]
    reader = psycopg2.connect(f"postgresql://{READER_ROLE}:reader-secret@{rest}/{empty_pg_conn.info.dbname}")
    reader.autocommit = True
    try:
        with reader.cursor() as cur:
            for relation in _created_relations():
                cur.execute(f"SELECT * FROM {relation} LIMIT 1")
            with pytest.raises(psycopg2.Error, match="permission denied"):
                cur.execute("INSERT INTO fantasy.me (source, member_id) VALUES ('espn', '{x}')")
    finally:
        reader.close()


def _rows(cur, sql, params=()):
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_cashflow_counts_money_out_as_spending_and_leaves_transfers_out(pg_conn):
    cur = pg_conn.cursor()
    cur.execute("""INSERT INTO finance.accounts (account_id, source, name, type, currency) VALUES
                   ('t:chk', 'csv', 'Checking', 'checking', 'USD'), ('t:card', 'csv', 'Card', 'credit card', 'USD')""")
    cur.execute("""INSERT INTO finance.transactions (account_id, transaction_id, source, posted_date, amount, currency,
                       payee, memo, category_user, category_rule, category_predicted, category_confidence) VALUES
        ('t:chk', '1', 'csv', '2024-01-05', -50.00, 'USD', 'WHOLEFDS MKT 10234 AUSTIN TX', NULL, NULL, 'Groceries', NULL, NULL),
        ('t:chk', '2', 'csv', '2024-01-15', 2000, 'USD', 'ACME PAYROLL', NULL, NULL, 'Salary', NULL, NULL),
        ('t:chk', '3', 'csv', '2024-01-20', -300, 'USD', 'CARD AUTOPAY', NULL, 'Transfer', NULL, NULL, NULL),
        ('t:card', '4', 'csv', '2024-01-20', 300, 'USD', 'PAYMENT THANK YOU', NULL, NULL, 'transfer', NULL, NULL),
        ('t:card', '5', 'csv', '2024-02-02', -12.50, 'USD', 'STARBUCKS STORE 08931', NULL, NULL, NULL, 'Coffee', 0.9),
        ('t:card', '6', 'csv', '2024-02-03', -80, 'USD', 'MYSTERY SHOP #42', NULL, NULL, NULL, 'Fun', 0.3),
        ('t:card', '7', 'csv', '2024-02-04', -5, 'USD', NULL, 'ATM FEE', NULL, NULL, NULL, NULL),
        ('t:chk', '8', 'csv', '2024-02-05', -999, 'USD', 'WITHDRAWN', NULL, NULL, NULL, NULL, NULL)""")  # noqa: E501 - the string's text is kept verbatim
    cur.execute("INSERT INTO finance.removed_transactions VALUES ('t:chk', '8', 'ofx', now())")
    cur.execute("""INSERT INTO finance.balances (account_id, as_of, balance_type, amount, source) VALUES
                   ('t:chk', '2024-01-31', 'ledger', 2650, 'csv'), ('t:chk', '2024-01-31', 'available', 1, 'csv'),
                   ('t:card', '2024-02-01', 'current', -100, 'csv')""")
    rows = {r["transaction_id"]: r for r in _rows(cur, "SELECT * FROM finance.cashflow")}
    assert sorted(rows) == ["1", "2", "3", "4", "5", "6", "7"]  # the removed one is gone
    assert {k: (r["spending"], r["income"], r["is_transfer"]) for k, r in rows.items()} == {
        "1": (Decimal("50.00"), 0, False), "2": (0, 2000, False), "3": (0, 0, True), "4": (0, 0, True),
        "5": (Decimal("12.50"), 0, False), "6": (80, 0, False), "7": (5, 0, False)}
    assert {k: r["merchant"] for k, r in rows.items()} == {
        "1": "WHOLEFDS MKT", "2": "ACME PAYROLL", "3": "CARD AUTOPAY", "4": "PAYMENT THANK YOU",
        "5": "STARBUCKS STORE", "6": "MYSTERY SHOP", "7": "ATM FEE"}
    assert {k: r["review_reason"] for k, r in rows.items() if r["needs_review"]} == {
        "6": "unsure guess: Fun (30 %)", "7": "no category"}
    assert rows["6"]["category"] == "Uncategorized"  # a guess under 60 % is not shown as the category
    assert (rows["7"]["category"], rows["7"]["month"], rows["7"]["year"]) == ("Uncategorized", "2024-02", 2024)
    assert rows["1"]["account"] == "Checking (USD)" and rows["1"]["category_confidence"] is None

    history = _rows(cur, "SELECT account, day::text, balance, how, is_latest FROM finance.balance_history "
                         "ORDER BY account, day")
    assert [(h["account"], h["day"], h["balance"], h["how"], h["is_latest"]) for h in history] == [
        ("Card (USD)", "2024-01-20", -100, "computed", False),
        ("Card (USD)", "2024-02-01", -100, "current", False),
        ("Card (USD)", "2024-02-02", Decimal("-112.50"), "computed", False),
        ("Card (USD)", "2024-02-03", Decimal("-192.50"), "computed", False),
        ("Card (USD)", "2024-02-04", Decimal("-197.50"), "computed", True),
        ("Checking (USD)", "2024-01-05", Decimal("950.00"), "computed", False),
        ("Checking (USD)", "2024-01-15", Decimal("2950.00"), "computed", False),
        ("Checking (USD)", "2024-01-20", Decimal("2650.00"), "computed", False),
        ("Checking (USD)", "2024-01-31", 2650, "ledger", True)]


def test_fantasy_views_rank_mark_your_team_and_compare_with_projections_and_adp(pg_conn):
    cur = pg_conn.cursor()
    cur.execute("""INSERT INTO fantasy.leagues (source, league_id, season, name, size, scoring_format, playoff_week_start)
                   VALUES ('sleeper', 'L1', 2024, 'Test League', 4, 'ppr', 3)""")  # noqa: E501 - the string's text is kept verbatim
    cur.execute("""INSERT INTO fantasy.teams (source, league_id, season, team_id, name, owner_ids) VALUES
                   ('sleeper', 'L1', 2024, 'A', 'Aces', '["uA"]'), ('sleeper', 'L1', 2024, 'B', 'Bees', '["uB"]'),
                   ('sleeper', 'L1', 2024, 'C', 'Cats', '["uC"]'), ('sleeper', 'L1', 2024, 'D', 'Dogs', '["uD"]')""")
    games = [(1, "A", 100, "B", 90), (1, "C", 80, "D", 120), (2, "A", 110, "C", 70), (2, "B", 95, "D", 100),
             (3, "A", 50, "D", 60)]  # week 3: playoffs
    for week, t1, p1, t2, p2 in games:
        for team, pts, opp, opp_pts in ((t1, p1, t2, p2), (t2, p2, t1, p1)):
            cur.execute("""INSERT INTO fantasy.matchups (source, league_id, season, week, team_id, opponent_team_id,
                                                         points, opponent_points, result)
                           VALUES ('sleeper', 'L1', 2024, %s, %s, %s, %s, %s, %s)""",
                        (week, team, opp, pts, opp_pts, "W" if pts > opp_pts else "L"))
    cur.execute("INSERT INTO fantasy.me (source, member_id) VALUES ('sleeper', 'uA')")
    standings = _rows(cur, "SELECT team, place, wins, losses, points_for, points_against, yours, latest_season "
                           "FROM fantasy.standings ORDER BY place")
    assert [(r["team"], r["place"], r["wins"], r["losses"], r["points_for"], r["points_against"], r["yours"])
            for r in standings] == [("Dogs", 1, 2, 0, 220, 175, ""), ("Aces", 2, 2, 0, 210, 160, "★"),
                                    ("Bees", 3, 0, 2, 185, 200, ""), ("Cats", 4, 0, 2, 150, 230, "")]
    weeks = _rows(cur, "SELECT week, points_for_to_date, wins_to_date, regular_season, opponent, is_mine, "
                       "in_my_league FROM fantasy.team_weeks WHERE team = 'Aces' ORDER BY week")
    assert [(w["week"], w["points_for_to_date"], w["wins_to_date"], w["regular_season"], w["opponent"])
            for w in weeks] == [(1, 100, 1, True, "Bees"), (2, 210, 2, True, "Cats"), (3, 210, 2, False, "Dogs")]
    assert all(w["is_mine"] and w["in_my_league"] for w in weeks)

    # rosters, projections from FantasyPros linked through fantasy.players, FantasyPros ADP
    cur.execute("""INSERT INTO fantasy.rosters (source, league_id, season, team_id, player_ids) VALUES
                   ('sleeper', 'L1', 2024, 'A', '["s1", "s2"]'), ('sleeper', 'L1', 2024, 'B', '["s3"]')""")
    players = [("s1", "f1", "Rb One", "RB", 200, 1), ("s2", "f2", "Wr Two", "WR", 150, 20),
               ("s3", "f3", "Rb Three", "RB", 300, 3), ("s4", "f4", "Wr Four", "WR", 180, 10),
               ("s5", "f5", "Rb Five", "RB", 100, 40)]
    for sleeper_id, fp_id, name, pos, projected, adp in players:
        cur.execute("""INSERT INTO fantasy.players (full_name, name_key, position, sleeper_id, fantasypros_id)
                       VALUES (%s, lower(%s), %s, %s, %s)""", (name, name, pos, sleeper_id, fp_id))
        cur.execute("""INSERT INTO fantasy.player_stats (source, source_player_id, season, week, kind, player_name,
                                                         position, points_ppr, points_std)
                       VALUES ('fantasypros', %s, 2024, 0, 'projection', %s, %s, %s, 1)""",
                    (fp_id, name, pos, projected))
        cur.execute("""INSERT INTO fantasy.rankings (source, season, week, ranking_type, scoring, position_group,
                                                     source_player_id, player_name, adp)
                       VALUES ('fantasypros', 2024, 0, 'draft', 'ppr', 'ALL', %s, %s, %s)""", (fp_id, name, adp))
    roster = _rows(cur, "SELECT player, position, status, projected_points, projection_source, free_agent_rank, "
                        "better_free_agents FROM fantasy.roster_vs_free_agents ORDER BY status DESC, player")
    assert [(r["player"], r["status"], r["projected_points"], r["free_agent_rank"], r["better_free_agents"])
            for r in roster] == [("Rb One", "your roster", 200, None, 0), ("Wr Two", "your roster", 150, None, 1),
                                 ("Rb Five", "free agent", 100, 1, None), ("Wr Four", "free agent", 180, 1, None)]
    assert {r["projection_source"] for r in roster} == {"fantasypros"}
    cur.execute("""INSERT INTO fantasy.draft_picks (source, league_id, season, overall_pick, team_id, source_player_id,
                                                    player_name) VALUES
                   ('sleeper', 'L1', 2024, 1, 'A', 's3', 'Rb Three'), ('sleeper', 'L1', 2024, 2, 'B', 's1', 'Rb One'),
                   ('sleeper', 'L1', 2024, 3, 'C', 's4', 'Wr Four'), ('sleeper', 'L1', 2024, 4, 'D', 's9', 'Nobody')""")
    draft = _rows(cur, "SELECT overall_pick, team, player, adp, adp_source, picks_after_adp, is_mine "
                       "FROM fantasy.draft_vs_adp ORDER BY overall_pick")
    assert [(d["team"], d["player"], d["adp"], d["adp_source"], d["picks_after_adp"], d["is_mine"]) for d in draft] == [
        ("Aces", "Rb Three", 3, "fantasypros", -2, True), ("Bees", "Rb One", 1, "fantasypros", 1, False),
        ("Cats", "Wr Four", 10, "fantasypros", -7, False), ("Dogs", "Nobody", None, None, None, False)]


def test_one_currency_league_and_season_at_a_time_opening_on_defaults_read_from_the_data(assets):
    """Currency, League and Season are single-value; their defaults come from default_sql."""
    import build_bundle

    queries = build_bundle.default_queries(assets)
    assert set(queries) == {"NATIVE_FILTER-spending-currency", "NATIVE_FILTER-fantasy-league",
                            "NATIVE_FILTER-fantasy-season"}
    files = build_bundle.bundle_files(assets, defaults={"NATIVE_FILTER-spending-currency": ["EUR"],
                                                        "NATIVE_FILTER-fantasy-season": [2018]})
    filters = {f["id"]: f for d in ("spending", "fantasy")
               for f in files[f"dashboards/{d}.yaml"]["metadata"]["native_filter_configuration"]}
    for fid in queries:
        assert filters[fid]["controlValues"]["multiSelect"] is False, fid
    currency = filters["NATIVE_FILTER-spending-currency"]["defaultDataMask"]
    assert currency["filterState"] == {"value": ["EUR"]}
    assert currency["extraFormData"]["filters"] == [{"col": "currency", "op": "IN", "val": ["EUR"]}]
    assert filters["NATIVE_FILTER-fantasy-league"]["defaultDataMask"]["filterState"] == {}  # none given
    assert filters["NATIVE_FILTER-fantasy-season"]["cascadeParentIds"] == ["NATIVE_FILTER-fantasy-league"]
    # no chart of the season-filtered dashboard still pins the latest season on its own
    assert not [k for k, c in assets.charts.items() if k.startswith("fantasy_")
                and "latest_season" in str(c["params"].get("adhoc_filters"))]
