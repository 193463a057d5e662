"""A real Superset, started once for this module, showing data replayed from the recorded fixtures.

The fixture replays every cassette under fixtures/ into a fresh database (plus
a second Zillow crawl with some prices cut, and a tiny selftest crawl with bad
items, so the price-cut and quarantine charts have rows), sets Superset up in
its own environment (superset/.venv), starts it on a free port and imports the
bundle built from superset/assets. Then:

- every chart's data API answers with rows, and re-importing overwrites charts
  and datasets that were changed by hand;
- (browser) headless Chromium logs in through the login page, opens each
  dashboard, waits until every chart is drawn and fails on any chart error;
  screenshots go to test-artifacts/superset-<dashboard>.png;
- (browser) a native filter set through the URL reaches every chart's query;
- (browser) the partner's viewer account sees the dashboards but cannot edit
  them or open SQL Lab.

About two minutes, most of it Superset's first-run set-up.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest

from pde import cassettes
from pde.db import free_port
from pde.services import superset as svc_mod
from pde.services.superset import READER_ROLE, Superset
from tests.conftest import FIXTURES, ROOT, _admin, run_crawl

ARTIFACTS = ROOT / "test-artifacts"
DASHBOARDS = {"house-hunt": "House hunt", "pipeline-health": "Pipeline health"}
# the module's Superset is set up inside the first test's time budget
pytestmark = pytest.mark.timeout(900)
STALE_CHART = "Hours since each source's last successful run (stale in red)"
N_CHARTS = len(list((ROOT / "superset" / "assets" / "charts").glob("*.yaml")))


# -- data --------------------------------------------------------------------------------
def price_cut_cassette(src: Path, dest: Path, every: int = 3, cut: int = 75) -> Path:
    """The same Zillow search, recorded 'later': every third home's price is lower."""
    doc = json.loads(src.read_text())
    body = doc["http_interactions"][0]["response"]["body"]
    n = 0

    def lower(m):
        nonlocal n
        n += 1
        return f'{m.group(1)}{int(m.group(2)) - cut}' if n % every == 0 else m.group(0)

    body["string"] = re.sub(r'("homeInfo": \{[^{}]*?"price": )(\d+)', lower, body["string"])
    assert n > 3, "no homeInfo prices found to cut"
    dest.write_text(json.dumps(doc))
    return dest


def quarantine_cassette(dest: Path) -> Path:
    bad = {"things": [{"id": 1, "name": "ok", "price": 1}, {"id": 2, "name": None, "price": 3},
                      {"id": 3, "name": "str price", "price": "12"}], "next": None}
    return cassettes.build_cassette(dest, [cassettes.interaction(
        "https://things.test/page/1.json", json.dumps(bad).encode(), headers={"Content-Type": "application/json"})],
        spider="selftest_things")


def fill_with_fixtures(url: str, workdir: Path, only_zillow: bool = False) -> dict[str, str]:
    """Replay the recorded fixtures into url; returns {cassette: how it ended}."""
    groups: dict[str, list[tuple[Path, dict]]] = {}
    for path in cassettes.all_cassettes(FIXTURES):
        meta = cassettes.metadata(path)
        if meta.get("spider") and (not only_zillow or meta["spider"] == "zillow_listings"):
            groups.setdefault(meta["spider"], []).append((path, meta))
    zillow = FIXTURES / "zillow_listings" / "search_04011.json"
    groups.setdefault("zillow_listings", []).append(
        (price_cut_cassette(zillow, workdir / "zillow_later.json"), cassettes.metadata(zillow)))
    if not only_zillow:
        groups["selftest_things"] = [(quarantine_cassette(workdir / "things.json"), {})]

    def replay(items):
        out = {}
        for path, meta in items:  # one spider at a time: pde refuses concurrent runs of a spider
            spider = meta.get("spider", "selftest_things")
            p = run_crawl(spider, db=url, cassette=path, args=meta.get("args"), settings=meta.get("settings"))
            out[str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name)] = \
                {0: "succeeded", 3: "blocked"}.get(p.returncode, "failed")
        return out

    results: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        for out in pool.map(replay, groups.values()):
            results.update(out)
    return results


# -- the live Superset ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def live(pg_server, tmp_path_factory):
    svc_mod.install(quiet=True)
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "superset_data" WITH (FORCE)')
        cur.execute('CREATE DATABASE "superset_data" TEMPLATE "pde"')
    url = pg_server.url.rsplit("/", 1)[0] + "/superset_data"
    work = tmp_path_factory.mktemp("superset")
    service = Superset(home=work / "home", data_url=url, port=free_port())
    with ThreadPoolExecutor(max_workers=1) as pool:  # crawl while Superset sets itself up
        filling = pool.submit(fill_with_fixtures, url, work)
        service.prepare()
        service.start()
        outcomes = filling.result()
    try:
        assert outcomes.get("fixtures/zillow_listings/search_04011.json") == "succeeded", outcomes
        assert outcomes.get("zillow_later.json") == "succeeded", outcomes
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            # a source whose last success is three days old, so "stale" has something to show
            cur.execute("""INSERT INTO platform.runs (spider, status, finish_reason, started_at, finished_at,
                                                      duration_s, items_scraped)
                           VALUES ('stale_example', 'succeeded', 'finished', now() - interval '3 days',
                                   now() - interval '3 days' + interval '20 seconds', 20, 5)""")
        service.import_bundle()
        yield service
    finally:
        service.stop()
        admin.close()


def chart_ids(s, base) -> dict[str, int]:
    r = s.get(base + "/api/v1/chart/", params={"q": "(page_size:100)"})
    r.raise_for_status()
    return {c["slice_name"]: c["id"] for c in r.json()["result"]}


def test_every_chart_data_api_returns_rows(live):
    s = live.session()
    charts = chart_ids(s, live.base_url)
    assert len(charts) == N_CHARTS
    empty = {}
    for name, cid in charts.items():
        r = s.get(f"{live.base_url}/api/v1/chart/{cid}/data/")
        assert r.status_code == 200, (name, r.text[:500])
        rows = sum(q["rowcount"] for q in r.json()["result"])
        if rows == 0:
            empty[name] = rows
    assert empty == {}, f"charts without rows: {list(empty)}"
    health = s.get(f"{live.base_url}/api/v1/chart/{charts[STALE_CHART]}/data/").json()["result"][0]["data"]
    assert {r["spider"]: r["health"] for r in health}["stale_example"] == "STALE"
    assert all(r["health"] == "ok" for r in health if r["spider"] == "zillow_listings")


def test_reimport_overwrites_charts_and_datasets(live):
    s = live.session()
    base = live.base_url
    charts = chart_ids(s, base)
    cid = charts["Price cuts in the last 7 days"]
    assert s.put(f"{base}/api/v1/chart/{cid}", json={"slice_name": "renamed by hand"}).status_code == 200
    datasets = {d["table_name"]: d["id"] for d in s.get(base + "/api/v1/dataset/", params={"q": "(page_size:100)"}).json()["result"]}
    did = datasets["price_cuts"]
    assert s.put(f"{base}/api/v1/dataset/{did}", json={"description": "edited by hand"}).status_code == 200

    live.import_bundle()

    assert chart_ids(s, base)["Price cuts in the last 7 days"] == cid
    assert len(chart_ids(s, base)) == N_CHARTS
    assert s.get(f"{base}/api/v1/dataset/{did}").json()["result"]["description"].startswith("Price cuts pde saw")
    assert sorted(d["dashboard_title"] for d in live.dashboards(s)) == sorted(DASHBOARDS.values())


def test_superset_reads_the_data_as_the_read_only_role(live):
    s = live.session()
    (db,) = s.get(live.base_url + "/api/v1/database/").json()["result"]
    detail = s.get(f"{live.base_url}/api/v1/database/{db['id']}/connection").json()["result"]
    assert f"//{READER_ROLE}:" in detail["sqlalchemy_uri"]
    reader = psycopg2.connect(live.reader_uri().replace("postgresql+psycopg2", "postgresql"))
    try:
        with reader.cursor() as cur:
            cur.execute("SELECT count(*) FROM housing.listings")
            assert cur.fetchone()[0] > 0
            with pytest.raises(psycopg2.Error, match="permission denied"):
                cur.execute("UPDATE housing.listings SET price = 1")
    finally:
        reader.close()


# -- in a real browser ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    missing = svc_mod.chromium_missing_message()
    if missing:
        pytest.fail(missing, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = svc_mod.launch_browser(p)
        yield b
        b.close()


def admin_page(live, browser):
    page = svc_mod.new_page(browser)
    svc_mod.browser_login(page, live.base_url, live.admin_user, live.admin_password()[0])
    return page


@pytest.mark.browser
def test_dashboards_render_every_chart_without_errors(live, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = admin_page(live, browser)
    for slug, title in DASHBOARDS.items():
        result = svc_mod.render_dashboard(page, live.base_url, slug)
        page.wait_for_timeout(1500)  # let ECharts finish its entry animation before the picture
        page.screenshot(path=str(ARTIFACTS / f"superset-{slug}.png"), full_page=True)
        assert result.errors == [], f"{title}: charts with errors: {result.errors}"
        assert len(result.charts) >= 5, result.charts
        assert [c["name"] for c in result.charts if c["empty"]] == [], f"{title}: charts with no data"
    page.context.close()


@pytest.mark.browser
def test_a_chart_that_fails_is_reported(live, browser):
    """The render check is not vacuous: take the price-cut view away from Superset's role."""
    conn = psycopg2.connect(live.data_url)
    conn.autocommit = True
    cache = live.home / "cache" / "data"
    try:
        with conn.cursor() as cur:
            cur.execute(f"REVOKE SELECT ON housing.price_cuts FROM {READER_ROLE}")
        shutil.rmtree(cache, ignore_errors=True)
        page = admin_page(live, browser)
        try:
            result = svc_mod.render_dashboard(page, live.base_url, "house-hunt")
        finally:
            page.screenshot(path=str(ARTIFACTS / "superset-failing-chart.png"), full_page=True)
        failed = sorted(c["name"] for c in result.errors)
        assert failed == ["Price cuts in the last 30 days", "Price cuts in the last 7 days"], result.charts
        page.context.close()
    finally:
        with conn.cursor() as cur:
            cur.execute(f"GRANT SELECT ON housing.price_cuts TO {READER_ROLE}")
        conn.close()
        shutil.rmtree(cache, ignore_errors=True)


@pytest.mark.browser
def test_viewer_sees_dashboards_but_cannot_edit_or_open_sql_lab(live, browser):
    password = live.create_viewer("partner", "partner-pw-123")
    s = live.session("partner", password)
    base = live.base_url
    dashboards = live.dashboards(s)
    assert sorted(d["dashboard_title"] for d in dashboards) == sorted(DASHBOARDS.values())
    dash_id = dashboards[0]["id"]
    assert s.put(f"{base}/api/v1/dashboard/{dash_id}", json={"dashboard_title": "mine now"}).status_code in (401, 403)
    cid = next(iter(chart_ids(s, base).values()))
    assert s.put(f"{base}/api/v1/chart/{cid}", json={"slice_name": "mine"}).status_code in (401, 403)
    assert s.post(f"{base}/api/v1/sqllab/execute/", json={"database_id": 1, "sql": "SELECT 1"}).status_code in (401, 403)

    page = svc_mod.new_page(browser)
    svc_mod.browser_login(page, base, "partner", password)
    result = svc_mod.render_dashboard(page, base, "house-hunt")
    assert result.errors == []
    assert page.locator('[data-test="edit-dashboard-button"]').count() == 0
    page.goto(base + "/sqllab/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "superset-viewer-sqllab.png"))
    assert "/sqllab" not in page.url or "403 Forbidden" in page.content(), page.url
    assert page.locator(".ace_editor, [data-test=sql-editor-tabs]").count() == 0
    page.context.close()


@pytest.mark.browser
def test_house_hunt_filters_apply_to_every_chart(live, browser):
    """A Beds filter (given in the URL, as a shared link carries it) reaches every chart's query."""
    fid = "NATIVE_FILTER-house_hunt-beds"
    state = f"({fid}:(id:{fid},extraFormData:(filters:!((col:beds,op:IN,val:!(1)))),filterState:(value:!(1)),ownState:()))"
    page = admin_page(live, browser)
    applied: dict[int, list[str]] = {}

    def on_response(response):
        if "/api/v1/chart/data" in response.url and response.request.method == "POST":
            slice_id = (response.request.post_data_json or {}).get("form_data", {}).get("slice_id")
            if slice_id and response.ok:
                applied[slice_id] = [f["column"] for q in response.json()["result"] for f in q["applied_filters"]]

    page.on("response", on_response)
    result = svc_mod.render_dashboard(page, live.base_url, "house-hunt", query=f"native_filters={state}")
    assert result.errors == []
    page.wait_for_timeout(500)
    holders = result.charts
    assert len(applied) == len(holders), applied
    assert all("beds" in cols for cols in applied.values()), applied
    page.context.close()
