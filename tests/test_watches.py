"""Watches for real: each kind against a real PostgreSQL (fixture crawls, then a change made in the data), sent
through Apprise's json:// to a loopback HTTP receiver. Each watch fires once for its change and not again; its
first evaluation only records a baseline; a refused delivery is retried and then sent once. The `pde watches`
command runs as a subprocess, the pde_watches DAG through Airflow's dag.test() (tests/test_dags.py's harness),
and the alert's link opens the event on the real home page.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import uuid
from decimal import Decimal

import psycopg2
import pytest
import yaml

from pde.cassettes import metadata
from pde.db import free_port
from pde.schedule.config import ConfigError, check_config
from pde.schedule.watches import KINDS, check_watches, env_urls, load_watches, run_watches
from tests.conftest import FIXTURES, ROOT, run_crawl, run_pde
from tests.helpers import Receiver
from tests.test_inbox_web import _get, _login

pytestmark = pytest.mark.timeout(600)
ZILLOW = FIXTURES / "zillow_listings" / "search_04011.json"
SLEEPER = FIXTURES / "sleeper_league"
PUBLIC = "http://pde.home.test:8000"


@pytest.fixture
def receiver(monkeypatch):
    r = Receiver()
    monkeypatch.setenv("PDE_WATCH_URLS", r.url)
    monkeypatch.setenv("PDE_PUBLIC_URL", PUBLIC)
    yield r
    r.close()


def watch(**item) -> list:
    return check_watches([item], ["PDE_WATCH_URLS"], where="test")


def evaluate(url: str, watches: list, send: bool = True):
    (out,) = run_watches(watches, url, send=send, channels=env_urls)
    return out


def q(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


def crawl(spider: str, db: str, cassette) -> None:
    p = run_crawl(spider, db=db, cassette=cassette, args=metadata(cassette)["args"])
    assert p.returncode == 0, p.stderr[-3000:]


def statuses(url: str, name: str) -> dict[str, int]:
    return dict(q(url, "SELECT status, count(*) FROM platform.watch_events WHERE watch = %s GROUP BY status", (name,)))


def _listing(url: str, zpid: str, street: str, price: int, beds: int, zip_: str = "04011") -> None:
    q(url, """INSERT INTO housing.listings (zpid, url, street, city, state, zip, price, beds, baths, sqft, home_type,
                                           status, is_building)
              VALUES (%s, %s, %s, 'Brunswick', 'ME', %s, %s, %s, 1, 900, 'APARTMENT', 'FOR_RENT', false)""",
      (zpid, f"https://www.zillow.com/homedetails/{zpid}_zpid/", street, zip_, price, beds))


# -- one test per kind -------------------------------------------------------------------------------
def test_new_listing_fires_once_for_a_new_match_after_a_baseline_of_the_crawled_ones(pg_url, receiver):
    crawl("zillow_listings", pg_url, ZILLOW)
    w = watch(name="brunswick", kind="new_listing", price_max=2500, beds_min=1, zip=["04011"])
    # a second reader of the crawled rows: every single home or unit at most $2,500 with a bedroom, in 04011
    expected = q(pg_url, "SELECT count(DISTINCT coalesce(street, zpid)) FROM housing.listings WHERE price <= 2500 "
                         "AND beds >= 1 AND left(zip, 5) = '04011' AND NOT coalesce(is_building, false) "
                         "AND status IN ('FOR_RENT', 'FOR_SALE')")[0][0]
    assert expected > 0
    dry = evaluate(pg_url, w, send=False)
    assert dry.baseline and len(dry.new) == expected
    assert statuses(pg_url, "brunswick") == {}  # a dry run records nothing
    first = evaluate(pg_url, w)
    assert first.baseline and receiver.take() == []
    assert statuses(pg_url, "brunswick") == {"baseline": expected}

    _listing(pg_url, "990001", "12 Maine St #3", 1875, 2)
    _listing(pg_url, "990002", "14 Maine St #1", 1650, 0)  # a studio: fewer beds than the watch wants
    _listing(pg_url, "990003", "1 Harpswell Rd", 2600, 3)  # above the price
    out = evaluate(pg_url, w)
    got = receiver.take()
    assert [m["title"] for m in got] == ["pde: New listing: 12 Maine St #3 for $1,875/mo"], got
    assert "2 bd, 1 ba, 900 sq ft" in got[0]["message"] and "https://www.zillow.com/homedetails/990001_zpid/" \
        in got[0]["message"]
    event_id = q(pg_url, "SELECT event_id FROM platform.watch_events WHERE status = 'sent'")[0][0]
    assert f"{PUBLIC}/events#event-{event_id}" in got[0]["message"]
    assert out.sent and not out.failed
    evaluate(pg_url, w)
    assert receiver.take() == []
    assert statuses(pg_url, "brunswick") == {"baseline": expected, "sent": 1}


def test_price_cut_fires_once_with_the_numbers_on_both_portals(pg_url, receiver):
    crawl("zillow_listings", pg_url, ZILLOW)
    redfin = FIXTURES / "redfin_listings" / "for_sale.json"
    crawl("redfin_listings", pg_url, redfin)
    w = watch(name="cuts", kind="price_cut", pct_min=5)
    assert evaluate(pg_url, w).baseline and receiver.take() == []
    (zpid, street, old), (zpid2, _, old2) = q(
        pg_url, "SELECT zpid, street, price FROM housing.listings WHERE price > 1000 AND NOT coalesce(is_building, "
                "false) AND street IS NOT NULL ORDER BY zpid LIMIT 2")
    new, new2 = int(old * 0.9), int(old2 * 0.98)  # a 10 % cut, and a 2 % one the watch ignores
    for z, p in ((zpid, new), (zpid2, new2)):
        q(pg_url, "UPDATE housing.listings SET price = %s, updated_at = now() WHERE zpid = %s", (p, z))
    with (FIXTURES / "redfin_listings" / "redfin_boston_for_sale.csv").open(newline="") as f:
        home = next(r for r in csv.DictReader(f) if r.get("STATUS") == "Active" and r["PRICE"])
    r_old = int(home["PRICE"])
    r_new = int(r_old * 0.92)
    q(pg_url, "UPDATE housing.redfin_listings SET price = %s, updated_at = now() WHERE address = %s",
      (r_new, home["ADDRESS"]))
    evaluate(pg_url, w)
    got = receiver.take()
    pct, r_pct = 100 * (old - new) / old, 100 * (r_old - r_new) / r_old
    assert sorted(m["title"] for m in got) == sorted([
        f"pde: Price cut {pct:.1f} %: {street} now ${new:,}/mo",
        f"pde: Price cut {r_pct:.1f} %: {home['ADDRESS']} now ${r_new:,}"]), got
    zillow = next(m["message"] for m in got if street in m["title"])
    assert f"${old:,}/mo -> ${new:,}/mo, ${old - new:,} ({pct:.1f} %) less" in zillow
    evaluate(pg_url, w)
    assert receiver.take() == []
    assert q(pg_url, "SELECT event_key FROM platform.watch_events WHERE status = 'sent' AND event_key LIKE %s",
             ("zillow:%",)) == [(f"zillow:{zpid}:{new}",)]


def _transaction(url: str, tid: str, day: dt.date, amount: str, payee: str, category: str | None = None) -> None:
    q(url, "INSERT INTO finance.accounts (account_id, source, name, type, currency) VALUES "
           "('chk', 'csv', 'Everyday checking', 'checking', 'USD') ON CONFLICT DO NOTHING")
    q(url, "INSERT INTO finance.transactions (account_id, transaction_id, source, posted_date, amount, currency, "
           "payee, category_user) VALUES ('chk', %s, 'csv', %s, %s, 'USD', %s, %s)",
      (tid, day, Decimal(amount), payee, category))


def test_budget_fires_once_per_category_and_month(pg_url, receiver):
    today = dt.date.today()
    spends = ["212.40", "180.05"]
    for i, amount in enumerate(spends):
        _transaction(pg_url, f"g{i}", today, "-" + amount, "HANNAFORD #812", "Groceries")
    _transaction(pg_url, "pay", today, "3000.00", "ACME PAYROLL", "Salary")
    w = watch(name="groceries", kind="budget", category="Groceries", monthly=450)
    assert evaluate(pg_url, w).matches == 0 and receiver.take() == []  # under budget: a baseline of nothing
    spends.append("97.15")
    _transaction(pg_url, "g2", today, "-97.15", "WHOLE FOODS", "Groceries")
    evaluate(pg_url, w)
    got = receiver.take()
    spent = sum(Decimal(s) for s in spends)
    month = today.strftime("%Y-%m")
    assert [m["title"] for m in got] == [f"pde: Over budget: Groceries {spent:,.2f} USD in {month} "
                                         "(budget 450 USD)"], got
    assert f"{spent - 450:,.2f} USD over the monthly budget" in got[0]["message"] and "(3 transactions)" \
        in got[0]["message"]
    _transaction(pg_url, "g3", today, "-20.00", "HANNAFORD #812", "Groceries")  # more spending, same month: no news
    evaluate(pg_url, w)
    assert receiver.take() == []


def test_a_new_recurring_charge_found_by_the_spending_model_fires_once(pg_url, receiver):
    from pde.finance import spending

    w = watch(name="subscriptions", kind="recurring_charge", amount_min=5)
    assert evaluate(pg_url, w).baseline and receiver.take() == []
    today = dt.date.today()
    amounts = ["15.49", "15.49", "17.99", "17.99"]
    for i, amount in enumerate(amounts):
        day = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=3) - dt.timedelta(days=30 * (3 - i))
        _transaction(pg_url, f"n{i}", day, "-" + amount, f"NETFLIX.COM {8290 + i}")
    _transaction(pg_url, "coffee", today, "-4.50", "BLUE BOTTLE", "Coffee")
    spending.train(pg_url)  # the Modeled issue's detector writes finance.recurring_charges
    assert q(pg_url, "SELECT count(*) FROM finance.recurring_charges")[0][0] == 1
    evaluate(pg_url, w)
    got = receiver.take()
    typical = statistics.median(Decimal(a) for a in amounts)
    assert [m["title"] for m in got] == [f"pde: New recurring charge: NETFLIX.COM 8293, monthly {typical:.2f} USD"], got
    assert f"{len(amounts)} charges since" in got[0]["message"] and "Everyday checking" in got[0]["message"]
    spending.train(pg_url)  # retrained: the same charge again
    evaluate(pg_url, w)
    assert receiver.take() == []


def test_a_trending_player_on_no_roster_in_your_league_fires_once(pg_url, receiver):
    cassette = SLEEPER / "cassette_league.json"
    crawl("sleeper_league", pg_url, cassette)
    rosters = json.loads((SLEEPER / "rosters.json").read_text())
    rostered = {p for r in rosters for p in (r["players"] or [])}
    trending = json.loads((SLEEPER / "trending-add.json").read_text())
    free = next((i, t) for i, t in enumerate(trending, 1) if t["player_id"] not in rostered)
    taken = next(p for p in ("3199", "4981") if p in rostered)  # a WR of players.json on a roster
    q(pg_url, "INSERT INTO fantasy.me (source, member_id) VALUES ('sleeper', %s)", (rosters[0]["owner_id"],))
    w = watch(name="waivers", kind="trending_free_agent", position=["RB", "WR"])
    first = evaluate(pg_url, w)
    assert first.problem is None and first.baseline and receiver.take() == []
    # Sleeper's players database learns the trending player's position, and the taken WR trends the same day
    q(pg_url, "INSERT INTO fantasy.source_players (source, source_player_id, full_name, name_key, position, team) "
              "VALUES ('sleeper', %s, 'Trending Back', 'trending back', 'RB', 'KC')", (free[1]["player_id"],))
    q(pg_url, "INSERT INTO fantasy.trending (source, source_player_id, direction, observed_on, count, rank) "
              "SELECT source, %s, direction, observed_on, 99999, 26 FROM fantasy.trending LIMIT 1", (taken,))
    evaluate(pg_url, w)
    got = receiver.take()
    assert [m["title"] for m in got] == [f"pde: Trending free agent: Trending Back (RB, KC), "
                                         f"{free[1]['count']:,} adds"], got
    league = json.loads((SLEEPER / "league.json").read_text())["name"]
    assert f"(#{free[0]} on " in got[0]["message"] and f"on no roster in {league}" in got[0]["message"]
    evaluate(pg_url, w)
    assert receiver.take() == []


def test_a_watch_that_cannot_run_says_why_and_the_others_go_on(pg_url, receiver):
    q(pg_url, "DROP TABLE finance.recurring_charges CASCADE")
    watches = check_watches([{"name": "waivers", "kind": "trending_free_agent", "position": "RB"},
                             {"name": "subs", "kind": "recurring_charge"},
                             {"name": "homes", "kind": "new_listing"}], ["PDE_WATCH_URLS"])
    waivers, subs, homes = run_watches(watches, pg_url, channels=env_urls)
    assert "add your member id to fantasy.me" in waivers.problem
    assert "its query failed" in subs.problem and "recurring_charges" in subs.problem
    assert homes.problem is None and homes.baseline and receiver.take() == []


# -- delivery -----------------------------------------------------------------------------------------
def test_a_refused_delivery_is_retried_and_then_sent_once(pg_url, receiver):
    w = watch(name="homes", kind="new_listing", zip=["04011"])
    evaluate(pg_url, w)  # baseline of an empty database
    _listing(pg_url, "990010", "3 Pleasant St", 1500, 1)
    receiver.status = 500
    out = evaluate(pg_url, w)
    assert out.failed and not out.sent and len(receiver.received) == 1 and receiver.delivered() == []
    assert q(pg_url, "SELECT status, attempts, sent_at FROM platform.watch_events") == [("pending", 1, None)]
    receiver.status = 200
    receiver.received.clear()
    out = evaluate(pg_url, w)
    assert [m["title"] for m in receiver.take()] == ["pde: New listing: 3 Pleasant St for $1,500/mo"]
    assert out.sent and not out.failed
    evaluate(pg_url, w)
    assert receiver.received == []
    assert q(pg_url, "SELECT status, attempts FROM platform.watch_events") == [("sent", 2)]


def test_many_events_at_once_come_as_one_message_listing_each(pg_url, receiver):
    w = watch(name="homes", kind="new_listing", digest_over=2)
    evaluate(pg_url, w)
    streets = [f"{n} Pine St" for n in (21, 23, 25)]
    for i, street in enumerate(streets):
        _listing(pg_url, f"99005{i}", street, 1500 + i, 1)
    out = evaluate(pg_url, w)
    (msg,) = receiver.take()
    ids = dict(q(pg_url, "SELECT title, event_id FROM platform.watch_events WHERE status = 'sent'"))
    assert msg["title"] == "pde: 3 new events of your watch homes" and len(out.sent) == 3
    for i, street in enumerate(streets):
        title = f"New listing: {street} for ${1500 + i:,}/mo"
        assert f"- {title} {PUBLIC}/events#event-{ids[title]}" in msg["message"]
    evaluate(pg_url, w)
    assert receiver.take() == []


def test_without_a_channel_events_wait_on_the_home_page_and_go_once_one_is_set(pg_url, receiver, monkeypatch):
    monkeypatch.delenv("PDE_WATCH_URLS")
    w = watch(name="homes", kind="new_listing")
    evaluate(pg_url, w)
    _listing(pg_url, "990015", "8 Oak St", 1500, 1)
    out = evaluate(pg_url, w)
    assert out.unsent == ["New listing: 8 Oak St for $1,500/mo"] and not out.failed and receiver.received == []
    assert q(pg_url, "SELECT status, attempts FROM platform.watch_events") == [("pending", 0)]
    monkeypatch.setenv("PDE_WATCH_URLS", receiver.url)
    evaluate(pg_url, w)
    evaluate(pg_url, w)
    assert [m["title"] for m in receiver.take()] == ["pde: New listing: 8 Oak St for $1,500/mo"]


def test_changed_conditions_take_a_new_baseline_and_send_existing_sends_it(pg_url, receiver):
    _listing(pg_url, "990020", "5 Union St", 1400, 1)
    evaluate(pg_url, watch(name="homes", kind="new_listing", price_max=1000))
    _listing(pg_url, "990021", "7 Union St", 1300, 1)
    evaluate(pg_url, watch(name="homes", kind="new_listing", price_max=1500))  # raised: both match, a new baseline
    assert receiver.take() == [] and statuses(pg_url, "homes") == {"baseline": 2}
    evaluate(pg_url, watch(name="eager", kind="new_listing", price_max=1500, send_existing=True))
    assert sorted(m["title"] for m in receiver.take()) == ["pde: New listing: 5 Union St for $1,400/mo",
                                                           "pde: New listing: 7 Union St for $1,300/mo"]


# -- configuration ------------------------------------------------------------------------------------
@pytest.mark.parametrize("item,words", [
    ({"name": "x", "kind": "new_house"}, "'new_house' is not a kind of watch; kinds: new_listing"),
    ({"name": "x", "kind": "price_cut"}, "kind price_cut needs pct_min:"),
    ({"name": "x", "kind": "budget", "category": "Groceries", "monthly": 400, "weekly": 100},
     "unknown parameter(s) ['weekly'] for kind budget; it takes category"),
    ({"name": "x", "kind": "new_listing", "zip": [4011]}, "quote ZIP codes in YAML"),
    ({"name": "x", "kind": "new_listing", "price_max": "cheap"}, "price_max: expected a number, got 'cheap'"),
    ({"name": "x", "kind": "new_listing", "status": "rented"}, "rented not one of for_sale, for_rent"),
    ({"kind": "new_listing"}, "needs a name:"),
    ({"name": "x", "kind": "new_listing", "digest_over": -1}, "digest_over: a whole number"),
])
def test_bad_watches_are_refused_with_a_clear_message(item, words):
    with pytest.raises(ConfigError) as exc:
        check_watches([item], where="crawls.yaml")
    assert words in str(exc.value)


def test_watch_names_are_unique_and_alerts_default_to_the_defaults():
    with pytest.raises(ConfigError, match="two watches are named 'a'"):
        check_watches([{"name": "a", "kind": "recurring_charge"}] * 2)
    config = check_config({"defaults": {"alerts": ["HOUSE_NTFY"]}, "watches": [
        {"name": "a", "kind": "recurring_charge"}, {"name": "b", "kind": "recurring_charge", "alerts": ["ME"]}]}, "t")
    a, b = load_watches(config)
    assert a.alerts == {"HOUSE_NTFY": "variable"} and b.alerts == {"ME": "variable"}
    (c,) = load_watches(config, overlay={"watches": [{"name": "c", "kind": "budget", "category": "Rent",
                                                      "monthly": 2000}]})
    assert c.name == "c" and c.params["monthly"] == 2000
    with pytest.raises(ConfigError, match="watches: expected a list"):
        check_config({"watches": {"a": {}}}, "t")


def test_the_projects_crawls_yaml_and_its_commented_examples_are_valid_watches():
    assert isinstance(load_watches(), list)
    text = (ROOT / "dags" / "crawls.yaml").read_text()
    examples = re.findall(r"^  # (- \{name: .*\})$", text, re.M)
    assert len(examples) == 5
    parsed = check_watches(yaml.safe_load("\n".join(examples)))
    assert sorted(w.kind for w in parsed) == sorted(KINDS)


# -- the command ---------------------------------------------------------------------------------------
def test_pde_watches_command_lists_dry_runs_sends_and_refuses_bad_config(pg_url, receiver, tmp_path):
    config = tmp_path / "crawls.yaml"
    config.write_text("defaults:\n  alerts: [PDE_WATCH_URLS]\nwatches:\n"
                      "  - {name: homes, kind: new_listing, zip: ['04011'], beds_min: 1}\n")
    _listing(pg_url, "990030", "9 Federal St", 1700, 2)
    env = {"PDE_CRAWLS_FILE": str(config), "DATABASE_URL": pg_url, "PDE_HOME": str(tmp_path / "home")}
    dry = run_pde("watches", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "homes (new_listing: beds_min 1, status [for_sale, for_rent], zip [04011]): 1 match(es) now" in dry.stdout
    assert "first evaluation: would record 1 existing match(es) as baseline" in dry.stdout
    assert "Nothing was recorded or sent" in dry.stdout and "channels: PDE_WATCH_URLS" in dry.stdout
    sent = run_pde("watches", "--send", env=env)
    assert sent.returncode == 0 and "recorded 1 existing match(es) as baseline" in sent.stdout, sent.stderr
    _listing(pg_url, "990031", "11 Federal St", 1800, 2)
    assert "would send: New listing: 11 Federal St for $1,800/mo" in run_pde("watches", env=env).stdout
    receiver.status = 500
    refused = run_pde("watches", "--send", env=env)
    assert refused.returncode == 1 and "NOT sent: New listing: 11 Federal St" in refused.stdout
    receiver.status = 200
    receiver.received.clear()
    again = run_pde("watches", "--send", "--watch", "homes", env=env)
    assert again.returncode == 0 and "sent: New listing: 11 Federal St for $1,800/mo" in again.stdout
    assert [m["title"] for m in receiver.take()] == ["pde: New listing: 11 Federal St for $1,800/mo"]
    assert receiver.url not in again.stdout + again.stderr + refused.stdout + refused.stderr
    lean = ROOT / ".venv" / "bin" / "python"  # `pde` as installed: the crawl environment, without apprise
    if not lean.exists():
        pytest.fail(".venv is missing: run `make setup`", pytrace=False)
    _listing(pg_url, "990032", "13 Federal St", 1900, 2)
    proc = subprocess.run([str(lean), "-m", "pde.cli", "watches", "--send", "--watch", "homes"], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "sent: New listing: 13 Federal St" in proc.stdout, proc.stderr
    assert [m["title"] for m in receiver.take()] == ["pde: New listing: 13 Federal St for $1,900/mo"]

    unknown = run_pde("watches", "--watch", "flats", env=env)
    assert unknown.returncode == 2 and "no watch named flats; watches: homes" in unknown.stderr
    config.write_text("watches:\n  - {name: homes, kind: new_home}\n")
    bad = run_pde("watches", env=env)
    assert bad.returncode == 2 and "'new_home' is not a kind of watch" in bad.stderr
    helped = run_pde("watches", "--help", env=env)
    assert helped.returncode == 0 and "trending_free_agent" in helped.stdout and "pct_min" in helped.stdout


# -- Airflow and the home page ---------------------------------------------------------------------------
DAG_CONFIG = """
spider_modules: [scrapers.housing, scrapers.finance, scrapers.fantasy]
defaults:
  alerts: [PDE_WATCH_URLS]
watches:
  - {name: homes, kind: new_listing, zip: ["04011"]}
  - {name: groceries, kind: budget, category: Groceries, monthly: 100}
  - {name: subscriptions, kind: recurring_charge}
"""


@pytest.mark.timeout(900)
def test_pde_watches_dag_sends_once_and_the_link_opens_the_event_on_the_home_page(airflow_dbs, tmp_path):
    from pde.services import airflow as service

    data_url, meta_url = airflow_dbs
    receiver = Receiver()
    secret_url = f"json://pde:s3cret-{uuid.uuid4().hex}@127.0.0.1:{receiver.port}/watch"
    config = tmp_path / "crawls.yaml"
    config.write_text(DAG_CONFIG)
    port = free_port()
    home = tmp_path / "pde-home"
    web_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PDE_"))}
    web_env.update({"PDE_HOME": str(home), "PDE_WEB_PORT": str(port), "DATABASE_URL": data_url,
                    "PDE_SUPERSET_ADMIN_PASSWORD": "admin-" + uuid.uuid4().hex[:8],
                    "PDE_WEB_PASSWORD": "viewer-pass-1"})
    try:
        # the first evaluation (by hand) takes the baseline; then a new listing arrives
        _listing(data_url, "990040", "2 Mill St", 1450, 1)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PDE_CRAWLS_FILE", str(config))
            mp.setenv("PDE_WATCH_URLS", secret_url)
            run_watches(load_watches(), data_url, channels=env_urls)
        assert receiver.received == []
        _listing(data_url, "990041", "4 Mill St", 1550, 1)

        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update({"PDE_HOME": str(home), "PDE_CRAWLS_FILE": str(config), "AIRFLOW_VAR_PDE_WATCH_URLS": secret_url,
                    "PDE_PUBLIC_URL": f"http://127.0.0.1:{port}"})
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PDE_HOME", env["PDE_HOME"])
            env = service.airflow_env(data_url, meta_url.replace("postgresql://", "postgresql+psycopg2://"),
                                      base=env)
        (tmp_path / "scenarios.json").write_text(json.dumps([{"name": "watches", "dag": "pde_watches"}]))
        out = tmp_path / "results.json"
        code = f"from tests.test_dags import _harness; _harness({str(tmp_path / 'scenarios.json')!r}, {str(out)!r})"
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        logs = proc.stdout + proc.stderr
        assert proc.returncode == 0 and out.exists(), logs[-4000:]
        results = json.loads(out.read_text())
        assert results["project"]["import_errors"] == {} and "pde_watches" in results["project"]["dags"]
        dag = results["dags"]["pde_watches"]
        assert dag["tags"] == ["alerts", "pde"] and dag["tasks"]["evaluate"]["retries"] >= 2
        assert all(t in dag["schedule"] for t in ("housing.listings", "finance.transactions",
                                               "finance.recurring_charges")), dag["schedule"]
        assert results["runs"]["watches"]["state"] == "success"
        got = receiver.take()
        assert [m["title"] for m in got] == ["pde: New listing: 4 Mill St for $1,550/mo"], got
        assert "s3cret-" not in logs, "the channel's URL (a secret) reached a log"

        # the alert's link, opened on the real home page by a viewer
        link = re.search(r"On the home page: (\S+)", got[0]["message"]).group(1)
        event_id = q(data_url, "SELECT event_id FROM platform.watch_events WHERE status = 'sent'")[0][0]
        assert link == f"http://127.0.0.1:{port}/events#event-{event_id}"
        up = run_pde("up", "web", env=web_env, timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        added = run_pde("web", "adduser", "partner", "--role", "viewer", env=web_env)
        assert added.returncode == 0, added.stderr
        status, page = _get(_login(f"http://127.0.0.1:{port}", "partner", "viewer-pass-1"), link.split("#")[0])
        assert status == 200
        row = re.search(rf'<tr id="event-{event_id}".*?</tr>', page, re.S)
        assert row and "New listing: 4 Mill St for $1,550/mo" in row.group(0) and ">sent<" in row.group(0)
        assert 'href="https://www.zillow.com/homedetails/990041_zpid/"' in row.group(0)
        assert "2 Mill St" not in page  # the baseline is not news
        status, page = _get(_login(f"http://127.0.0.1:{port}", "partner", "viewer-pass-1"),
                            f"http://127.0.0.1:{port}/events?baseline=1")
        assert "2 Mill St" in page and "baseline" in page
    finally:
        run_pde("down", "web", env=web_env, timeout=60)
        receiver.close()


def test_links_go_where_people_open_the_home_page(monkeypatch):
    """PDE_PUBLIC_URL, else the HTTPS proxy's home page when PDE_LISTEN is set, else the local page."""
    from pde.schedule.watches import event_link

    for name in ("PDE_PUBLIC_URL", "PDE_LISTEN", "PDE_PROXY_PORT", "PDE_PROXY_NAMES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PDE_WEB_PORT", "8123")
    assert event_link(7) == "http://127.0.0.1:8123/events#event-7"
    monkeypatch.setenv("PDE_LISTEN", "192.168.1.20")
    monkeypatch.setenv("PDE_PROXY_PORT", "9443")
    assert event_link(7) == "https://192.168.1.20:9443/events#event-7"
    monkeypatch.setenv("PDE_PUBLIC_URL", "https://pde.home.arpa:8443/")
    assert event_link(7) == "https://pde.home.arpa:8443/events#event-7"
