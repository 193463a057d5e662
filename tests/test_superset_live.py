"""A real Superset, started once for this module, showing data replayed from the recorded fixtures.

The fixture replays every cassette under fixtures/ into a fresh database (plus
a second Zillow crawl with some prices cut, a tiny selftest crawl with bad
items, and ESPN's roster view for one team of the 2018 league, so the
price-cut, quarantine and roster charts have rows), then does what a user does
after crawling: adds a few category rules and runs the categorizer, links the
fantasy players and says which ESPN team is theirs (fantasy.me). It sets
Superset up in its own environment (superset/.venv), starts it on a free port
and imports the bundle built from superset/assets. Then:

- every chart's data API answers with rows, and re-importing overwrites charts
  and datasets that were changed by hand;
- (browser) headless Chromium logs in through the login page, opens each
  dashboard, waits until every chart is drawn and fails on any chart error;
  screenshots go to test-artifacts/superset-<dashboard>.png;
- (browser) a native filter set through the URL reaches every chart's query;
- (browser) the partner's viewer account sees the dashboards but cannot edit
  them or open SQL Lab;
- (browser) the viewer logs in over HTTPS through pde's proxy (Caddy on a second
  loopback address, Chromium trusting pde's local CA) and the dashboard draws.

About two minutes, most of it Superset's first-run set-up.
"""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest

from pde import cassettes
from pde.db import free_port
from pde.services import browser as chromium
from pde.services import superset as svc_mod
from pde.services.proxy import Proxy
from pde.services.superset import READER_ROLE, Superset
from scrapers.fantasy.espn_league import league_url
from tests.conftest import FIXTURES, ROOT, _admin, run_crawl
from tests.dashboards import browser_login, render_dashboard
from tests.helpers import free_ports_on, trusting_home

ARTIFACTS = ROOT / "test-artifacts"
DASHBOARDS = {"house-hunt": "House hunt", "pipeline-health": "Pipeline health",
              "spending": "Spending", "fantasy": "Fantasy"}
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


ESPN_LEAGUE, ESPN_SEASON, MY_TEAM = "368876", 2018, 1  # "Goin' HAM Newton" in the FXBG League
FINANCE_AND_FANTASY = {"ofx_statements", "bank_csv", "plaid_transactions",
                       "espn_league", "sleeper_league", "pfr_stats", "fantasypros_rankings"}
#: rules a user would write for the fixtures' payees (finance.category_rules: pattern -> category)
CATEGORY_RULES = [
    ("whole foods", "Groceries"), ("wholefds", "Groceries"), ("aldi", "Groceries"), ("coles", "Groceries"),
    ("supercenter", "Groceries"), ("starbucks", "Coffee"), ("mcdonald", "Eating out"), ("rent", "Rent"),
    ("payroll", "Salary"), ("direct dep", "Salary"), ("electric", "Utilities"), ("energy", "Utilities"),
    ("shell", "Car"), ("mobil", "Car"), ("netflix", "Subscriptions"), ("itunes", "Subscriptions"),
    ("steam games", "Subscriptions"), ("airplanes", "Travel"), ("fee", "Fees"), ("amazon", "Shopping"),
    ("hair", "Personal care"), ("interest", "Interest"), ("dividend", "Interest"),
    ("autopay", "Transfer"), ("payment thank you", "Transfer"), ("compte courant", "Transfer"),
]


def my_roster_cassette(dest: Path) -> tuple[Path, dict]:
    """ESPN's mRoster view of the 2018 league with one roster, which the fixtures lack.

    The roster is the players team MY_TEAM drafted that the recorded 2018 player pool
    knows, each as that pool describes him (real projections); ESPN lists roster entries
    this way (see fixtures/espn_league/league_roster_2019_synthetic.json).
    """
    here = FIXTURES / "espn_league"
    pool = {p["id"]: p["player"] for p in json.loads((here / "league_free_agents_2018.json").read_text())["players"]}
    picks = json.loads((here / "league_draft_2018.json").read_text())["draftDetail"]["picks"]
    slots = {1: 0, 2: 2, 3: 4, 4: 6, 5: 17, 16: 16}  # defaultPositionId -> lineup slot: QB RB WR TE K D/ST
    entries = [{"playerId": p["playerId"], "lineupSlotId": slots.get(pool[p["playerId"]]["defaultPositionId"], 20),
                "acquisitionType": "DRAFT",
                "playerPoolEntry": {"id": p["playerId"], "onTeamId": MY_TEAM, "player": pool[p["playerId"]]}}
               for p in picks if p["teamId"] == MY_TEAM and p["playerId"] in pool]
    assert len(entries) >= 5, entries
    body = {"gameId": 1, "id": int(ESPN_LEAGUE), "scoringPeriodId": 13, "seasonId": ESPN_SEASON, "segmentId": 0,
            "teams": [{"id": MY_TEAM, "roster": {"entries": entries}}]}
    args = {"league_id": ESPN_LEAGUE, "seasons": str(ESPN_SEASON), "views": "mRoster"}
    path = cassettes.build_cassette(dest, [cassettes.interaction(
        league_url(ESPN_LEAGUE, ESPN_SEASON, "mRoster"), json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})], spider="espn_league", args=args)
    return path, {"spider": "espn_league", "args": args}


def act_like_the_user(url: str) -> None:
    """After crawling: category rules + the categorizer, linked players, which ESPN team is mine, the models."""
    from pde.finance.categorize import train_and_apply

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO finance.category_rules (pattern, category) VALUES (%s, %s)", CATEGORY_RULES)
        conn.commit()
        report = train_and_apply(conn)
        assert report.rule_matches >= 20 and report.predicted > 0, report
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM fantasy.match_players()")
            cur.execute("""INSERT INTO fantasy.me (source, member_id, note)
                           SELECT 'espn', owner_ids ->> 0, 'my SWID' FROM fantasy.teams
                            WHERE source = 'espn' AND league_id = %s AND season = %s AND team_id = %s""",
                        (ESPN_LEAGUE, ESPN_SEASON, str(MY_TEAM)))
            assert cur.rowcount == 1
        conn.commit()
    finally:
        conn.close()
    # the nightly model tasks (pde model train): the model charts read what they write
    from pde.fantasy import projections
    from pde.finance import spending
    from pde.housing import value

    for train in (value.train, projections.train, spending.train):
        train(url)


def fill_and_act(url: str, workdir: Path) -> tuple[dict[str, str], Exception | None]:
    """fill_with_fixtures, then act_like_the_user (whose failure is raised after the crawl outcomes are checked)."""
    outcomes = fill_with_fixtures(url, workdir)
    try:
        act_like_the_user(url)
    except Exception as exc:  # noqa: BLE001 - re-raised by the fixture
        return outcomes, exc
    return outcomes, None


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
        groups.setdefault("espn_league", []).append(my_roster_cassette(workdir / "espn_my_roster_2018.json"))

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
        filling = pool.submit(fill_and_act, url, work)
        service.prepare()
        service.start()
        outcomes, acting_failed = filling.result()
    try:
        assert outcomes.get("fixtures/zillow_listings/search_04011.json") == "succeeded", outcomes
        assert outcomes.get("zillow_later.json") == "succeeded", outcomes
        expected = {str(p.relative_to(ROOT)): cassettes.metadata(p).get("expect", "succeeded")
                    for p in cassettes.all_cassettes(FIXTURES)
                    if cassettes.metadata(p).get("spider") in FINANCE_AND_FANTASY}
        assert len(expected) >= 10 and {k: outcomes.get(k) for k in expected} == expected, outcomes
        assert outcomes.get("espn_my_roster_2018.json") == "succeeded", outcomes
        if acting_failed:
            raise acting_failed
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


def chart_data(s, base, cid) -> dict:
    r = s.get(f"{base}/api/v1/chart/{cid}/data/")
    assert r.status_code == 200, r.text[:500]
    return r.json()["result"][0]


def dashboard_defaults(s, base, slug: str) -> dict[str, list]:
    """{column: values} each native filter of the imported dashboard opens on."""
    r = s.get(f"{base}/api/v1/dashboard/{slug}")
    r.raise_for_status()
    meta = json.loads(r.json()["result"]["json_metadata"])
    return {f["targets"][0]["column"]["name"]: f["defaultDataMask"].get("filterState", {}).get("value")
            for f in meta["native_filter_configuration"]}


def filtered_data(s, base, cid, filters: dict[str, list]) -> dict:
    """The chart's own query with the dashboard's filters added, as the dashboard sends it."""
    chart = s.get(f"{base}/api/v1/chart/{cid}").json()["result"]
    ctx = json.loads(chart["query_context"])
    for q in ctx["queries"]:
        q["filters"] = q.get("filters", []) + [{"col": c, "op": "IN", "val": v} for c, v in filters.items()]
    ctx["result_format"], ctx["result_type"] = "json", "full"
    r = s.post(f"{base}/api/v1/chart/data", json=ctx)
    assert r.status_code == 200, r.text[:500]
    return r.json()["result"][0]


def test_spending_and_fantasy_charts_show_what_they_promise(live):
    s, base = live.session(), live.base_url
    charts = chart_ids(s, base)

    def data(name: str) -> dict:
        return chart_data(s, base, charts[name])

    monthly = data("Monthly spending by category")["colnames"]
    assert any("Groceries" in c for c in monthly) and not any("Transfer" in c for c in monthly), monthly
    top = [r["total_spending"] for r in data("Top merchants by money spent")["data"]]
    assert len(top) >= 10 and top == sorted(top, reverse=True) and top[-1] > 0, top
    queue = data("Transactions to categorize: no category, or the model's guess is under 60 % sure")["data"]
    assert queue and all(r["review_reason"] for r in queue)
    assert all(r["review_reason"] == "no category" or re.fullmatch(r"unsure guess: .+ \((\d|[1-5]\d) %\)",
                                                                  r["review_reason"]) for r in queue), queue
    latest = data("Latest balance of each account")["data"]
    assert len({r["account"] for r in latest}) == len(latest) >= 5, latest

    # the Fantasy dashboard opens on my league (fantasy.me) in its latest season with games
    league_name = json.loads((FIXTURES / "espn_league" / "league_2018.json").read_text())["settings"]["name"]
    defaults = dashboard_defaults(s, base, "fantasy")
    assert defaults == {"league": [league_name], "season": [ESPN_SEASON]}, defaults

    def fantasy(name: str) -> list[dict]:
        return filtered_data(s, base, charts[name], defaults)["data"]

    standings = fantasy("League standings: record, points for and against (the selected league and season)")
    teams = json.loads((FIXTURES / "espn_league" / "league_2018.json").read_text())["teams"]
    assert len(standings) == len(teams) and {r["league"] for r in standings} == {league_name}, standings
    mine = [r for r in standings if r["yours"] == "★"]
    assert [(r["season"], r["team"], r["place"]) for r in mine] == [(2018, "Goin' HAM Newton", 2)], mine
    roster = fantasy("Your roster against the 3 best free agents per position, by projected season points")
    assert {r["status"] for r in roster} == {"your roster", "free agent"}, roster
    assert all(r["projected_points"] is not None for r in roster), roster
    assert not [r["player"] for r in roster if r["player"].startswith("#")], roster  # names, not ids
    draft = fantasy("Draft picks against ADP: picks after ADP (green = bargain, red = reach)")
    assert min(r["picks_after_adp"] for r in draft) < 0 < max(r["picks_after_adp"] for r in draft), draft
    weekly = filtered_data(s, base, charts["Weekly scores: yours and your opponent's against the league's high, "
                                           "median and low"], defaults)
    assert weekly["rowcount"] == 16 and "my_points" in weekly["colnames"], weekly["colnames"]


def test_spending_opens_on_the_home_currency_and_never_adds_currencies(live):
    s, base = live.session(), live.base_url
    charts = chart_ids(s, base)
    with psycopg2.connect(live.data_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT currency, posted_date FROM finance.transactions")
        rows = cur.fetchall()
        latest = max(d for _, d in rows)
        counts: dict[str, int] = {}
        for cur_code, day in rows:
            if (latest - day).days < 365:
                counts[cur_code] = counts.get(cur_code, 0) + 1
        home = sorted(counts, key=lambda c: (-counts[c], c))[0]
        # what the user would add up by hand: money out in the home currency that is not a transfer between
        # their own accounts (a matched pair, or a Transfer category: theirs, a rule's or the bank's, mapped)
        cur.execute("""SELECT t.amount, coalesce(t.category_user, t.category_rule,
                                                 finance.default_category(t.category_source)),
                              EXISTS (SELECT 1 FROM finance.transfer_matches m
                                       WHERE (m.out_account_id, m.out_transaction_id) = (t.account_id, t.transaction_id)
                                          OR (m.in_account_id, m.in_transaction_id) = (t.account_id, t.transaction_id))
                         FROM finance.transactions t
                        WHERE t.currency = %s AND NOT EXISTS (
                              SELECT 1 FROM finance.removed_transactions r
                               WHERE (r.account_id, r.transaction_id) = (t.account_id, t.transaction_id))""", (home,))
        spent = sum(-a for a, category, matched in cur.fetchall()
                    if a < 0 and not matched and (category or "").lower() not in ("transfer", "transfers"))
    assert len({c for c, _ in rows}) >= 3, rows  # the fixtures hold several currencies
    defaults = dashboard_defaults(s, base, "spending")
    assert defaults["currency"] == [home], defaults
    total = filtered_data(s, base, charts["Total spending by category, largest first"], {"currency": [home]})
    assert all(home in c or c in ("category", "__timestamp") for c in total["colnames"]), total["colnames"]
    shown = sum(v for r in total["data"] for k, v in r.items() if k != "category" and v is not None)
    assert abs(float(shown) - float(spent)) < 0.01, (shown, spent)
    # without the filter (the chart alone), each currency is a series of its own: never one sum
    unfiltered = chart_data(s, base, charts["Total spending by category, largest first"])["colnames"]
    assert len([c for c in unfiltered if c != "category"]) >= 2, unfiltered


def test_reimport_overwrites_charts_and_datasets(live):
    s = live.session()
    base = live.base_url
    charts = chart_ids(s, base)
    cid = charts["Price cuts in the last 7 days"]
    assert s.put(f"{base}/api/v1/chart/{cid}", json={"slice_name": "renamed by hand"}).status_code == 200
    datasets = {d["table_name"]: d["id"] for d in s.get(base + "/api/v1/dataset/",
                                                        params={"q": "(page_size:100)"}).json()["result"]}
    did = datasets["price_cuts"]
    assert s.put(f"{base}/api/v1/dataset/{did}", json={"description": "edited by hand"}).status_code == 200

    live.import_bundle()

    assert chart_ids(s, base)["Price cuts in the last 7 days"] == cid
    assert len(chart_ids(s, base)) == N_CHARTS
    assert s.get(f"{base}/api/v1/dataset/{did}").json()["result"]["description"].startswith("Price cuts from Zillow")
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
    missing = chromium.missing_message("the dashboard checks drive a real browser")
    if missing:
        pytest.fail(missing, pytrace=False)
    with chromium.chromium() as b:
        yield b


def admin_page(live, browser):
    page = chromium.new_page(browser)
    browser_login(page, live.base_url, live.admin_user, live.admin_password()[0])
    return page


@pytest.mark.browser
def test_dashboards_render_every_chart_without_errors(live, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page = admin_page(live, browser)
    for slug, title in DASHBOARDS.items():
        result = render_dashboard(page, live.base_url, slug)
        page.wait_for_timeout(1500)  # let ECharts finish its entry animation before the picture
        page.screenshot(path=str(tmp_path / f"superset-{slug}.png"), full_page=True)  # with the test's output
        shutil.copy(tmp_path / f"superset-{slug}.png", ARTIFACTS / f"superset-{slug}.png")  # CI keeps these
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
            result = render_dashboard(page, live.base_url, "house-hunt")
        finally:
            page.screenshot(path=str(ARTIFACTS / "superset-failing-chart.png"), full_page=True)
        failed = sorted(c["name"] for c in result.errors)
        assert failed == ["Every price cut, newest first (Zillow's price history and pde's crawls)",
                          "Price cuts in the last 7 days"], result.charts
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
    assert s.post(f"{base}/api/v1/sqllab/execute/", json={"database_id": 1, "sql": "SELECT 1"}).status_code in (401,
                                                                                                                403)

    page = chromium.new_page(browser)
    browser_login(page, base, "partner", password)
    result = render_dashboard(page, base, "house-hunt")
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
    state = (f"({fid}:(id:{fid},extraFormData:(filters:!((col:beds,op:IN,val:!(1)))),"
             "filterState:(value:!(1)),ownState:()))")
    page = admin_page(live, browser)
    applied: dict[int, list[str]] = {}

    def on_response(response):
        if "/api/v1/chart/data" in response.url and response.request.method == "POST":
            slice_id = (response.request.post_data_json or {}).get("form_data", {}).get("slice_id")
            if slice_id and response.ok:
                applied[slice_id] = [f["column"] for q in response.json()["result"] for f in q["applied_filters"]]

    page.on("response", on_response)
    result = render_dashboard(page, live.base_url, "house-hunt", query=f"native_filters={state}")
    assert result.errors == []
    page.wait_for_timeout(500)
    holders = result.charts
    assert len(applied) == len(holders), applied
    assert all("beds" in cols for cols in applied.values()), applied
    page.context.close()


@pytest.mark.browser
def test_viewer_over_https_through_the_proxy(live, browser, tmp_path):
    """The partner's browser: Superset's login, its CSRF check and redirects work over HTTPS behind Caddy."""
    if shutil.which("caddy") is None:
        pytest.fail("caddy is not installed: run scripts/system-deps.sh (apt-get install caddy)", pytrace=False)
    address = "127.0.0.2"
    base = free_ports_on(address, 2)
    proxy = Proxy(home=tmp_path / "proxy", address=address, port=base,
                  upstreams={"web": free_port(), "superset": live.port, "airflow": 0, "jupyter": 0})
    proxy.start()
    url = f"https://{address}:{base + 1}"
    password = live.create_viewer("partner_https", "partner-https-pw-1")
    try:
        # a second Chromium beside the module's: its HOME trusts pde's local CA, as the partner's desktop does
        partner = chromium.launch(browser.browser_type, "the partner's browser",
                                  env=trusting_home(proxy.root_cert, tmp_path / "home"), allow=(address,))
        try:
            page = chromium.new_page(partner)
            browser_login(page, url, "partner_https", password)
            result = render_dashboard(page, url, "house-hunt")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(tmp_path / "superset-over-https.png"), full_page=True)
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(tmp_path / "superset-over-https.png", ARTIFACTS / "superset-viewer-over-https.png")
            cookies = {c["name"]: c for c in page.context.cookies()}
            landed = page.url
        finally:
            partner.close()
    finally:
        proxy.stop()
    assert landed.startswith(url + "/superset/dashboard/"), landed  # redirects kept the scheme and port
    assert result.errors == [] and len(result.charts) >= 5, result.charts
    assert cookies["session"]["secure"] is True  # marked Secure by the proxy; on loopback it stays plain
