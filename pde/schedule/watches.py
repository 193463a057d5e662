"""Watches: conditions written once in dags/crawls.yaml that alert once per event, through the alert channels.

    watches:
      - name: brunswick-houses
        kind: new_listing            # a listing (Zillow or Redfin) newly matching a search
        price_max: 450000
        beds_min: 3
        zip: ["04011", "04086"]
        home_type: [SINGLE_FAMILY, TOWNHOUSE]
      - {name: big-cuts, kind: price_cut, pct_min: 5, zip: ["04011"]}
      - {name: groceries, kind: budget, category: Groceries, monthly: 600}
      - {name: subscriptions, kind: recurring_charge}
      - {name: waiver-rb, kind: trending_free_agent, position: [RB, WR], adds_min: 5000}

Each kind is one SQL query over the tables (and views) the crawls and models fill, returning events with a
stable key: a listing (one home across both portals), a listing and its new price, a category's month, an
account and payee, a player's week. ``platform.watch_events`` keeps one row per (watch, key), so an event is
sent once: recorded when first seen, marked sent when every channel of the watch accepted it; an undelivered
one is retried at the next evaluation (for a week), a delivered one never again.

A watch added today does not send every old match: its first evaluation (and the first after its conditions
change) records what already matches as ``baseline``, not sent; ``send_existing: true`` sends those too.

Alerts go to the Apprise channels of ``alerts:`` (default: ``defaults.alerts``, as for failure alerts,
pde/schedule/alerts.py) with a link to the event on the home page (``$PDE_PUBLIC_URL/events#event-<id>``;
default the local home page) and to the listing's own page where there is one.

Where it runs: the ``pde_watches`` DAG, after a crawl or a model DAG changed a table its watches read (Airflow
Assets: housing.listings, finance.transactions, finance.recurring_charges from the finance_spending DAG, ...)
and every morning at 07:30 UTC as a safety net. By hand: ``pde watches`` (what would fire) and
``pde watches --send``.

The watches are checked here, not with the crawls (pde/schedule/config.py only checks that ``watches:`` is a
list), so a mistyped watch breaks the pde_watches DAG and ``pde watches`` with its message, never the crawls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg2

from pde.db import connect, database_url
from pde.envs import airflow_python
from pde.schedule.alerts import alert_urls
from pde.schedule.assets import table_asset
from pde.schedule.config import START_DATE, ConfigError, config_path, load_config, normalise_secrets, spider_config
from pde.schedule.tasks import data_database_url, runtime_overlay

log = logging.getLogger(__name__)

DAG_ID = "pde_watches"
SCHEDULE = "30 7 * * *"
RETRY_DAYS = 7  # an undelivered event is retried this long, then only shown on the home page
LISTING_STATUSES = ("for_sale", "for_rent", "pending", "sold")


# -- declarations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One parameter of a watch kind: its type decides how the YAML value is checked."""

    name: str
    type: str  # number, int, text, texts (a list of text; one value is a list of one), bool
    help: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass
class Event:
    """What one watch found once: ``key`` makes it the same event the next time."""

    key: str
    title: str
    body: str
    url: str | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    name: str
    what: str
    tables: tuple[str, ...]  # the tables it reads that crawls announce (Airflow Assets)
    params: tuple[Param, ...]
    find: Callable[[Any, dict], list[Event]]


class WatchProblem(RuntimeError):
    """A watch cannot be evaluated on this data (e.g. no fantasy league of yours); the message says what to do."""


LISTING_FILTERS = (
    Param("price_max", "number", "highest price in dollars (monthly rent for rentals)"),
    Param("price_min", "number", "lowest price in dollars"),
    Param("beds_min", "number", "at least this many bedrooms"),
    Param("baths_min", "number", "at least this many bathrooms"),
    Param("sqft_min", "number", "at least this living area in square feet"),
    Param("zip", "texts", "ZIP codes, e.g. [\"04011\", \"04086\"] (quote them: leading zeros)"),
    Param("city", "texts", "cities (as the portal writes them)"),
    Param("home_type", "texts", "SINGLE_FAMILY, CONDO, TOWNHOUSE, MULTI_FAMILY, LOT, MANUFACTURED, APARTMENT, OTHER"),
    Param("status", "texts", "for_sale, for_rent, pending, sold", default=["for_sale", "for_rent"],
          choices=LISTING_STATUSES),
)


def _listing_where(p: dict, alias: str = "l") -> tuple[str, dict]:
    conds, args = [], {}
    for name, sql in (("price_max", "{a}.price <= %(price_max)s"), ("price_min", "{a}.price >= %(price_min)s"),
                      ("beds_min", "{a}.beds >= %(beds_min)s"), ("baths_min", "{a}.baths >= %(baths_min)s"),
                      ("sqft_min", "{a}.sqft >= %(sqft_min)s")):
        if p.get(name) is not None:
            conds.append(sql.format(a=alias))
            args[name] = p[name]
    for name, col in (("zip", "left({a}.zip, 5)"), ("city", "lower({a}.city)"), ("home_type", "upper({a}.home_type)"),
                      ("status", "{a}.status_group")):
        if p.get(name):
            conds.append(f"{col.format(a=alias)} = ANY(%({name})s)")
            values = p[name]
            args[name] = ([v.lower() for v in values] if name == "city" else
                          [v.upper() for v in values] if name == "home_type" else
                          [v[:5] for v in values] if name == "zip" else list(values))
    return (" AND ".join(conds) or "true"), args


def _money(value, currency: str = "$") -> str:
    if value is None:
        return "?"
    value = float(value)
    text = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    return f"${text}" if currency == "$" else f"{text} {currency}"


def _num(value) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _home(row: dict) -> str:
    bits = [f"{_num(row['beds'])} bd" if row.get("beds") is not None else None,
            f"{_num(row['baths'])} ba" if row.get("baths") is not None else None,
            f"{row['sqft']:,} sq ft" if row.get("sqft") else None,
            (row.get("home_type") or "").replace("_", " ").lower() or None]
    return ", ".join(b for b in bits if b)


def _place(row: dict) -> str:
    return ", ".join(x for x in (row.get("street"), row.get("city"),
                                 " ".join(x for x in (row.get("state"), row.get("zip")) if x)) if x)


def _rows(cur, sql: str, args: dict) -> list[dict]:
    cur.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# -- the kinds ------------------------------------------------------------------------------------
NEW_LISTING_SQL = """
SELECT DISTINCT ON (key) *
  FROM (SELECT coalesce('home:' || l.address_key, l.portal || ':' || l.listing_id) AS key, l.*
          FROM housing.portal_listings l
         WHERE l.price IS NOT NULL AND {where}) m
 ORDER BY key, first_seen_at, portal DESC
"""


def find_new_listings(cur, p: dict) -> list[Event]:
    where, args = _listing_where(p)
    out = []
    for r in _rows(cur, NEW_LISTING_SQL.format(where=where), args):
        rent = r["status_group"] == "for_rent"
        price = _money(r["price"]) + ("/mo" if rent else "")
        out.append(Event(
            key=r["key"], url=r["url"],
            title=f"New listing: {r['street'] or r['listing_id']} for {price}",
            body=(f"{_place(r)}: {price}" + (f", {_home(r)}" if _home(r) else "")
                  + f"; {r['status_group'].replace('_', ' ')} on {r['portal'].capitalize()}"
                  + f", first seen {r['first_seen_at']:%Y-%m-%d}."),
            details={"portal": r["portal"], "listing_id": r["listing_id"], "price": _num(r["price"]),
                     "beds": _num(r["beds"]), "zip": r["zip"], "home_type": r["home_type"]}))
    return out


PRICE_CUT_SQL = """
WITH redfin_versions AS (
    SELECT redfin_id, price, updated_at FROM housing.redfin_listings_history WHERE price IS NOT NULL
    UNION ALL
    SELECT redfin_id, price, updated_at FROM housing.redfin_listings WHERE price IS NOT NULL
), redfin_steps AS (
    SELECT redfin_id, updated_at AS changed_at, price AS new_price,
           lag(price) OVER (PARTITION BY redfin_id ORDER BY updated_at) AS old_price
      FROM redfin_versions
), cuts AS (
    SELECT 'zillow'::text AS portal, zpid AS listing_id, changed_at, old_price, new_price FROM housing.price_cuts
    UNION ALL
    SELECT 'redfin', redfin_id, changed_at, old_price, new_price FROM redfin_steps WHERE new_price < old_price
)
SELECT c.portal || ':' || c.listing_id || ':' || c.new_price AS key, c.changed_at, c.old_price, c.new_price,
       round(100.0 * (c.old_price - c.new_price) / c.old_price, 2) AS cut_pct, l.*
  FROM cuts c
  JOIN housing.portal_listings l ON l.portal = c.portal AND l.listing_id = c.listing_id
 WHERE c.old_price > 0
   AND 100.0 * (c.old_price - c.new_price) / c.old_price >= %(pct_min)s
   AND c.changed_at >= now() - %(within_days)s * interval '1 day'
   AND {where}
 ORDER BY c.changed_at, key
"""


def find_price_cuts(cur, p: dict) -> list[Event]:
    where, args = _listing_where(p)
    out = []
    for r in _rows(cur, PRICE_CUT_SQL.format(where=where),
                   {**args, "pct_min": p["pct_min"], "within_days": p["within_days"]}):
        rent = "/mo" if r["status_group"] == "for_rent" else ""
        pct = float(r["cut_pct"])
        out.append(Event(
            key=r["key"], url=r["url"],
            title=f"Price cut {pct:.1f} %: {r['street'] or r['listing_id']} now {_money(r['new_price'])}{rent}",
            body=(f"{_place(r)}: {_money(r['old_price'])}{rent} -> {_money(r['new_price'])}{rent}, "
                  f"{_money(r['old_price'] - r['new_price'])} ({pct:.1f} %) less, on {r['changed_at']:%Y-%m-%d}"
                  + (f". {_home(r)}" if _home(r) else "") + f" ({r['portal'].capitalize()})."),
            details={"portal": r["portal"], "listing_id": r["listing_id"], "old_price": _num(r["old_price"]),
                     "new_price": _num(r["new_price"]), "cut_pct": pct}))
    return out


BUDGET_SQL = """
SELECT c.category, c.currency, c.month, sum(c.spending) AS spent, count(*) FILTER (WHERE c.spending > 0) AS n,
       max(c.posted_date) AS through
  FROM finance.cashflow c
 WHERE lower(c.category) = lower(%(category)s)
   AND c.currency = coalesce(%(currency)s, finance.home_currency())
   AND c.month >= to_char(current_date - interval '1 month', 'YYYY-MM')
   AND NOT c.pending
 GROUP BY c.category, c.currency, c.month
HAVING sum(c.spending) > %(monthly)s
 ORDER BY c.month
"""


def find_over_budget(cur, p: dict) -> list[Event]:
    out = []
    for r in _rows(cur, BUDGET_SQL, {"category": p["category"], "currency": p.get("currency"),
                                     "monthly": p["monthly"]}):
        spent, budget = float(r["spent"]), float(p["monthly"])
        cur_ = r["currency"]
        out.append(Event(
            key=f"{r['category']}:{cur_}:{r['month']}",
            title=f"Over budget: {r['category']} {_money(spent, cur_)} in {r['month']} (budget {_money(budget, cur_)})",
            body=(f"{r['category']}: {_money(spent, cur_)} spent in {r['month']} through {r['through']:%Y-%m-%d} "
                  f"({r['n']} transactions), {_money(spent - budget, cur_)} over the monthly budget of "
                  f"{_money(budget, cur_)} ({100 * spent / budget:.0f} %)."),
            details={"category": r["category"], "currency": cur_, "month": r["month"], "spent": round(spent, 2),
                     "budget": budget, "over": round(spent - budget, 2)}))
    return out


RECURRING_SQL = """
SELECT r.account_id || ':' || r.payee_key AS key, r.*, coalesce(n.account, r.account_id) AS account
  FROM finance.recurring_charges r
  LEFT JOIN finance.account_names n USING (account_id)
 WHERE r.typical_amount >= %(amount_min)s AND r.cadence = ANY(%(cadence)s)
 ORDER BY r.first_date, key
"""


def find_recurring(cur, p: dict) -> list[Event]:
    out = []
    for r in _rows(cur, RECURRING_SQL, {"amount_min": p["amount_min"], "cadence": list(p["cadence"])}):
        c = r["currency"] or ""
        payee = r["payee"] or r["payee_key"]
        out.append(Event(
            key=r["key"],
            title=f"New recurring charge: {payee}, {r['cadence']} {_money(r['typical_amount'], c)}",
            body=(f"{payee} charges {r['account']} {r['cadence']}: typically {_money(r['typical_amount'], c)}, "
                  f"{r['occurrences']} charges since {r['first_date']:%Y-%m-%d}, the latest "
                  f"{_money(r['last_amount'], c)} on {r['last_date']:%Y-%m-%d}; next expected around "
                  f"{r['next_expected_date']:%Y-%m-%d}."),
            details={"account_id": r["account_id"], "payee_key": r["payee_key"], "cadence": r["cadence"],
                     "typical_amount": _num(r["typical_amount"]), "currency": c,
                     "occurrences": r["occurrences"]}))
    return out


TRENDING_SQL = """
WITH latest AS (
    SELECT max(observed_on) AS day FROM fantasy.trending WHERE source = 'sleeper' AND direction = 'add'
), leagues AS (  -- the latest season of each league of yours (fantasy.me), or the one named
    SELECT DISTINCT ON (source, league_id) source, league_id, season, league
      FROM fantasy.league_teams
     WHERE (%(league_id)s::text IS NULL AND is_mine) OR league_id = %(league_id)s::text
     ORDER BY source, league_id, season DESC
), who AS (
    SELECT t.*, pi.player_id,
           coalesce(sp.full_name, pm.full_name, '#' || t.source_player_id) AS player,
           upper(coalesce(sp.position, pm.position)) AS position,
           coalesce(sp.team, pm.team) AS nfl_team
      FROM fantasy.trending t
      JOIN latest ON t.observed_on = latest.day
      LEFT JOIN fantasy.source_players sp ON sp.source = 'sleeper' AND sp.source_player_id = t.source_player_id
      LEFT JOIN fantasy.player_ids pi ON pi.source = 'sleeper' AND pi.source_player_id = t.source_player_id
      LEFT JOIN fantasy.players pm ON pm.player_id = pi.player_id
     WHERE t.source = 'sleeper' AND t.direction = 'add'
)
SELECT l.league_id || ':' || w.source_player_id || ':' || to_char(w.observed_on, 'IYYY-"W"IW') AS key,
       w.*, l.source AS league_source, l.league_id, l.league, l.season
  FROM who w CROSS JOIN leagues l
 WHERE w.position = ANY(%(position)s)
   AND coalesce(w.count, 0) >= %(adds_min)s
   AND coalesce(w.rank, 1) <= %(rank_max)s
   AND NOT EXISTS (  -- on no roster of the league (an ESPN league's ids through fantasy.player_ids)
       SELECT 1 FROM fantasy.rosters r CROSS JOIN LATERAL jsonb_array_elements_text(r.player_ids) e(id)
        WHERE r.source = l.source AND r.league_id = l.league_id AND r.season = l.season
          AND (e.id = w.source_player_id AND r.source = 'sleeper'
               OR e.id IN (SELECT o.source_player_id FROM fantasy.player_ids o
                            WHERE o.player_id = w.player_id AND o.source = r.source)))
 ORDER BY w.rank, key
"""


def find_trending_free_agents(cur, p: dict) -> list[Event]:
    cur.execute("SELECT count(*) FROM fantasy.league_teams WHERE (%(l)s::text IS NULL AND is_mine) "
                "OR league_id = %(l)s::text", {"l": p.get("league_id")})
    if not cur.fetchone()[0]:
        raise WatchProblem(
            f"no league {p['league_id']} in fantasy.leagues/rosters: crawl it first" if p.get("league_id") else
            "no fantasy team of yours is known: add your member id to fantasy.me (see fantasy.members), "
            "or give the watch a league_id:")
    out = []
    for r in _rows(cur, TRENDING_SQL, {"league_id": p.get("league_id"), "position": [x.upper() for x in p["position"]],
                                       "adds_min": p["adds_min"], "rank_max": p["rank_max"]}):
        team = f", {r['nfl_team']}" if r["nfl_team"] else ""
        hours = f" in the last {r['lookback_hours']} h" if r["lookback_hours"] else ""
        out.append(Event(
            key=r["key"],
            title=f"Trending free agent: {r['player']} ({r['position']}{team}), {r['count']:,} adds",
            body=(f"{r['player']} ({r['position']}{team}) was added in {r['count']:,} Sleeper leagues{hours} "
                  f"(#{r['rank']} on {r['observed_on']:%Y-%m-%d}) and is on no roster in {r['league']} "
                  f"({r['season']})."),
            details={"source_player_id": r["source_player_id"], "player": r["player"], "position": r["position"],
                     "adds": r["count"], "rank": r["rank"], "league_id": r["league_id"],
                     "observed_on": r["observed_on"].isoformat()}))
    return out


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("new_listing", "a Zillow or Redfin listing newly matching a search",
         ("housing.listings", "housing.redfin_listings"), LISTING_FILTERS, find_new_listings),
    Kind("price_cut", "a listing's price cut by at least pct_min percent",
         ("housing.listings", "housing.price_history", "housing.redfin_listings"),
         (Param("pct_min", "number", "smallest cut in percent of the old price", required=True),
          Param("within_days", "int", "only cuts made in the last N days (Zillow's history goes back years)",
                default=30),
          *LISTING_FILTERS), find_price_cuts),
    Kind("budget", "spending in a category above a monthly budget (this month and last)",
         ("finance.transactions", "finance.transfer_matches"),
         (Param("category", "text", "the category, as in finance.cashflow (Groceries, Eating out, ...)",
                required=True),
          Param("monthly", "number", "the monthly budget, in currency", required=True),
          Param("currency", "text", "ISO 4217 code (default: your home currency, finance.home_currency())")),
         find_over_budget),
    Kind("recurring_charge", "a new recurring charge (finance.recurring_charges, from `pde model train finance`)",
         ("finance.recurring_charges",),
         (Param("amount_min", "number", "only charges of at least this typical amount", default=0),
          Param("cadence", "texts", "weekly, biweekly, monthly, quarterly, yearly",
                default=["weekly", "biweekly", "monthly", "quarterly", "yearly"],
                choices=("weekly", "biweekly", "monthly", "quarterly", "yearly"))),
         find_recurring),
    Kind("trending_free_agent", "a player Sleeper leagues are adding who is on no roster in your league",
         ("fantasy.trending", "fantasy.rosters", "fantasy.source_players"),
         (Param("position", "texts", "positions: QB, RB, WR, TE, K, DEF", required=True),
          Param("adds_min", "int", "at least this many adds in Sleeper's window", default=0),
          Param("rank_max", "int", "only the top N of Sleeper's list", default=25),
          Param("league_id", "text", "the league (default: every league with a team of yours, fantasy.me)")),
         find_trending_free_agents),
)}
COMMON_KEYS = {"name": "the watch's name (unique; shown in alerts)", "kind": "what to watch: " + ", ".join(KINDS),
               "alerts": "channels (names of secrets holding Apprise URLs), default: defaults.alerts",
               "send_existing": "true: also send what already matches at the first evaluation (default false)",
               "digest_over": "more new events than this at once go out as one message listing them (default 5)"}


@dataclass
class Watch:
    name: str
    kind: str
    params: dict
    alerts: dict[str, str]
    send_existing: bool = False
    digest_over: int = 5

    @property
    def definition(self) -> dict:
        return {"kind": self.kind, **{k: v for k, v in sorted(self.params.items()) if v is not None}}

    @property
    def definition_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.definition, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        return ", ".join(f"{k} {_show(v)}" for k, v in self.definition.items() if k != "kind") or "(no conditions)"


def _show(value) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def _check_value(param: Param, value: Any, where: str) -> Any:
    if value is None:
        return None
    if param.type in ("number", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (param.type == "int" and not float(value).is_integer()):
            raise ConfigError(f"{where}.{param.name}: expected a{'n integer' if param.type == 'int' else ' number'}, "
                              f"got {value!r} ({param.help})")
        return int(value) if param.type == "int" else value
    if param.type == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{param.name}: expected true or false, got {value!r}")
        return value
    values = value if isinstance(value, list) else [value]
    if param.type == "text" and isinstance(value, list):
        raise ConfigError(f"{where}.{param.name}: one value, not a list ({param.help})")
    if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}.{param.name}: expected text, got {value!r} ({param.help})")
    if param.name == "zip" and any(isinstance(v, int) for v in values):
        raise ConfigError(f"{where}.zip: {value!r}: quote ZIP codes in YAML (zip: [\"04011\"]); unquoted, a leading "
                          "0 is lost or read as an octal number")
    values = [str(v) for v in values]
    if param.choices:
        bad = [v for v in values if v not in param.choices]
        if bad:
            raise ConfigError(f"{where}.{param.name}: {', '.join(bad)} not one of {', '.join(param.choices)}")
    if param.name == "zip":
        bad = [v for v in values if not re.fullmatch(r"\d{5}(-\d{4})?", v)]
        if bad:
            raise ConfigError(f"{where}.zip: {bad} are not ZIP codes (5 digits, quoted: \"04011\")")
        values = [v[:5] for v in values]
    return values[0] if param.type == "text" else values


def check_watches(items: Any, default_alerts: Any = None, where: str | None = None) -> list[Watch]:
    """The ``watches:`` list, checked: a clear message for an unknown kind or a missing or unknown parameter."""
    where = where or str(config_path())
    if items in (None, []):
        return []
    if not isinstance(items, list):
        raise ConfigError(f"{where} watches: expected a list of watches (- name: ..., kind: ...)")
    watches, names = [], set()
    for i, item in enumerate(items):
        at = f"{where} watches[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: expected a mapping with name:, kind: and the kind's parameters, got {item!r}")
        name = item.get("name")
        if not name or not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ConfigError(f"{at}: needs a name: (letters, digits, . _ -), got {name!r}")
        at = f"{where} watches.{name}"
        if name in names:
            raise ConfigError(f"{at}: two watches are named {name!r}; give each its own name")
        names.add(name)
        kind = KINDS.get(item.get("kind"))
        if kind is None:
            raise ConfigError(f"{at}.kind: {item.get('kind')!r} is not a kind of watch; kinds: "
                              + "; ".join(f"{k.name} ({k.what})" for k in KINDS.values()))
        declared = {p.name: p for p in kind.params}
        unknown = sorted(set(item) - set(declared) - set(COMMON_KEYS))
        if unknown:
            raise ConfigError(f"{at}: unknown parameter(s) {unknown} for kind {kind.name}; it takes "
                              + ", ".join(f"{p.name} ({p.help})" for p in kind.params))
        params = {}
        for p in kind.params:
            value = _check_value(p, item.get(p.name), at)
            if value is None and p.required:
                raise ConfigError(f"{at}: kind {kind.name} needs {p.name}: ({p.help})")
            params[p.name] = p.default if value is None else value
        send_existing = item.get("send_existing", False)
        if not isinstance(send_existing, bool):
            raise ConfigError(f"{at}.send_existing: true or false, not {send_existing!r}")
        digest_over = item.get("digest_over", 5)
        if isinstance(digest_over, bool) or not isinstance(digest_over, int) or digest_over < 0:
            raise ConfigError(f"{at}.digest_over: a whole number of events (0: always one message), "
                              f"not {digest_over!r}")
        try:
            alerts = normalise_secrets(item["alerts"] if "alerts" in item else default_alerts)
        except ConfigError as exc:
            raise ConfigError(f"{at}.alerts: {exc}") from None
        watches.append(Watch(name, kind.name, params, alerts, send_existing, digest_over))
    return watches


def load_watches(config: dict | None = None, overlay: dict | None = None) -> list[Watch]:
    """The watches of dags/crawls.yaml (the pde_crawls Variable's ``watches:`` replaces them when it has one)."""
    config = config if config is not None else load_config()
    items = (overlay or {}).get("watches", config.get("watches"))
    defaults = spider_config("", config, overlay)
    return check_watches(items, defaults.get("alerts"))


# -- evaluating and sending ---------------------------------------------------------------------------
def public_url() -> str:
    """Where people open the home page: PDE_PUBLIC_URL, else the HTTPS proxy's (PDE_LISTEN), else the local one."""
    from pde.services.proxy import home_url  # lazy: the services are for sending, not for parsing the DAG
    from pde.services.web import Web  # lazy: as above

    return (os.environ.get("PDE_PUBLIC_URL") or home_url() or Web.default().base_url).rstrip("/")


def event_link(event_id: int, base: str | None = None) -> str:
    return f"{base or public_url()}/events#event-{event_id}"


@dataclass
class Outcome:
    """What one evaluation of one watch did (or, without sending, would do)."""

    watch: Watch
    matches: int = 0
    new: list[Event] = field(default_factory=list)
    baseline: bool = False
    recorded: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)  # no channel configured
    problem: str | None = None


def _channel_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def deliver(title: str, body: str, urls: list[str], done: list[str]) -> tuple[list[str], str | None]:
    """Send to every channel not in ``done``; returns (the channels done now, the error if one refused)."""
    import apprise  # lazy: in Airflow's environment only (the airflow dependency group); the CLI re-runs there

    done, errors = list(done), []
    for i, url in enumerate(urls, 1):
        cid = _channel_id(url)
        if cid in done:
            continue
        sender = apprise.Apprise()
        if not sender.add(url):
            errors.append(f"channel {i} is not a valid Apprise URL")
        elif sender.notify(title=title, body=body):
            done.append(cid)
        else:
            errors.append(f"channel {i} did not accept it (Apprise's reason is in the log of the evaluation)")
    return done, "; ".join(errors) or None


def evaluate(conn, watch: Watch, send: bool = True, urls: list[str] | None = None,
             base: str | None = None) -> Outcome:
    """Find the watch's events; with ``send``, record the new ones and deliver what is pending."""
    out = Outcome(watch)
    kind = KINDS[watch.kind]
    try:
        with conn.cursor() as cur:
            events = kind.find(cur, watch.params)
    except WatchProblem as exc:
        conn.rollback()
        out.problem = str(exc)
        return out
    except psycopg2.Error as exc:  # e.g. a view a user dropped: said, and the other watches go on
        conn.rollback()
        out.problem = f"its query failed: {str(exc).strip()}"
        return out
    out.matches = len(events)
    with conn.cursor() as cur:
        cur.execute("SELECT definition_hash FROM platform.watches WHERE watch = %s FOR UPDATE", (watch.name,))
        row = cur.fetchone()
        out.baseline = row is None or row[0] != watch.definition_hash
        cur.execute("SELECT event_key FROM platform.watch_events WHERE watch = %s", (watch.name,))
        known = {r[0] for r in cur.fetchall()}
        out.new = [e for e in events if e.key not in known]
        if not send:
            conn.rollback()
            return out
        if out.baseline:
            cur.execute(
                """INSERT INTO platform.watches (watch, kind, definition, definition_hash) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (watch) DO UPDATE SET kind = EXCLUDED.kind, definition = EXCLUDED.definition,
                       definition_hash = EXCLUDED.definition_hash, baseline_at = now(), last_evaluated_at = now()""",
                (watch.name, watch.kind, json.dumps(watch.definition), watch.definition_hash))
        else:
            cur.execute("UPDATE platform.watches SET last_evaluated_at = now() WHERE watch = %s", (watch.name,))
        status = "baseline" if out.baseline and not watch.send_existing else "pending"
        for e in out.new:
            cur.execute(
                """INSERT INTO platform.watch_events (watch, kind, event_key, title, body, url, details, status)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (watch, event_key) DO NOTHING""",
                (watch.name, watch.kind, e.key, e.title, e.body, e.url, json.dumps(e.details, default=str), status))
            out.recorded += cur.rowcount
    conn.commit()
    _send_pending(conn, watch, out, urls or [], base)
    return out


PENDING_SQL = """SELECT event_id, title, body, url, delivered_to FROM platform.watch_events
                  WHERE watch = %s AND status = 'pending' AND event_id > %s
                    AND detected_at > now() - %s * interval '1 day'
                  ORDER BY event_id {limit} FOR UPDATE SKIP LOCKED"""
MARK_SQL = """UPDATE platform.watch_events SET attempts = attempts + 1, delivered_to = %s, last_error = %s,
                     status = CASE WHEN %s THEN 'sent' ELSE status END, sent_at = CASE WHEN %s THEN now() END
               WHERE event_id = %s"""


def _send_pending(conn, watch: Watch, out: Outcome, urls: list[str], base: str | None) -> None:
    """Deliver the watch's pending events under row locks (two evaluations never send one event twice): one
    message each, or one message listing them all when there are more than ``digest_over``."""
    with conn.cursor() as cur:
        cur.execute(PENDING_SQL.format(limit=""), (watch.name, 0, RETRY_DAYS))
        rows = cur.fetchall()
        if not urls or len(rows) > watch.digest_over:
            if rows and not urls:  # not a failure: the events are on the home page, sent once a channel is set
                out.unsent += [r[1] for r in rows]
            elif rows:
                _send_digest(cur, watch, out, urls, base, rows)
            conn.commit()
            return
        conn.rollback()
    last = 0
    while True:
        with conn.cursor() as cur:
            cur.execute(PENDING_SQL.format(limit="LIMIT 1"), (watch.name, last, RETRY_DAYS))
            row = cur.fetchone()
            if row is None:
                conn.commit()
                return
            last, title, body, url, done = row
            text = body + (f"\nListing: {url}" if url else "") + f"\nOn the home page: {event_link(last, base)}"
            done, error = deliver(f"pde: {title}", text, urls, done or [])
            all_done = all(_channel_id(u) in done for u in urls)
            cur.execute(MARK_SQL, (json.dumps(done), error, all_done, all_done, last))
            conn.commit()
            (out.sent if all_done else out.failed).append(title if all_done else f"{title}: {error}")


def _send_digest(cur, watch: Watch, out: Outcome, urls: list[str], base: str | None, rows: list[tuple]) -> None:
    """Many events at once (a new search area crawled): one message naming each, with its link."""
    title = f"pde: {len(rows)} new events of your watch {watch.name}"
    text = "\n".join(f"- {t} {event_link(i, base)}" for i, t, *_ in rows)
    text += f"\nAll of them: {base or public_url()}/events"
    done = set.intersection(*(set(r[4] or []) for r in rows))  # channels that already have every one of them
    done, error = deliver(title, text, urls, sorted(done))
    all_done = all(_channel_id(u) in done for u in urls)
    for event_id, t, _, _, had in rows:
        cur.execute(MARK_SQL, (json.dumps(sorted(set(done) | set(had or []))), error, all_done, all_done, event_id))
        (out.sent if all_done else out.failed).append(t if all_done else f"{t}: {error}")


def env_urls(alerts: dict[str, str], name: str) -> list[str]:
    """Channels outside Airflow (``pde watches --send``): variable NAME from AIRFLOW_VAR_NAME or NAME, env from
    the environment; a Connection only Airflow can read (said, and skipped)."""
    urls = []
    for secret, source in alerts.items():
        kind, _, ref = source.partition(":")
        if kind == "connection":
            log.warning("watch %s: channel %s comes from an Airflow Connection; only the pde_watches DAG reads it",
                        name, secret)
            continue
        names = [ref or secret] if kind == "env" else [f"AIRFLOW_VAR_{(ref or secret).upper()}"] + ([] if ref else
                                                                                                  [secret])
        value = next((os.environ[n] for n in names if os.environ.get(n)), None)
        if value is None:
            log.warning("watch %s: channel %s is not set (looked in %s)", name, secret, ", ".join(names))
            continue
        urls += [u for u in value.replace(",", " ").split() if u]
    return urls


def run_watches(watches: list[Watch], url: str, send: bool = True, only: list[str] | None = None,
                channels: Callable[[dict, str], list[str]] = alert_urls) -> list[Outcome]:
    """Evaluate each watch (``only``: these names) against the database at ``url``; one watch's trouble never
    stops the others. ``channels`` resolves a watch's alerts: to URLs (Airflow's Variables and Connections by
    default)."""
    if only:
        unknown = sorted(set(only) - {w.name for w in watches})
        if unknown:
            raise ConfigError(f"no watch named {', '.join(unknown)}; watches: "
                              f"{', '.join(w.name for w in watches) or 'none'} ({config_path()})")
        watches = [w for w in watches if w.name in only]
    base = public_url()
    from pde.migrate import migrate  # lazy: only an evaluation migrates, parsing the DAG does not

    conn = connect(url)
    outcomes = []
    try:
        migrate(conn, log=log.info)  # platform.watch_events may be newer than the last crawl
        for w in watches:
            urls = []
            if send:
                try:
                    urls = channels(w.alerts, w.name)
                except Exception as exc:  # a missing Connection: the events stay pending, the others go on
                    log.error("watch %s: could not read its channels: %s", w.name, exc)
            outcomes.append(evaluate(conn, w, send=send, urls=urls, base=base))
    finally:
        conn.close()
    return outcomes


def summary(o: Outcome, send: bool) -> list[str]:
    """Lines for a person: what the watch found and did."""
    head = f"{o.watch.name} ({o.watch.kind}: {o.watch.describe()})"
    if o.problem:
        return [f"{head}: cannot be evaluated: {o.problem}"]
    lines = [f"{head}: {o.matches} match(es) now"]
    if o.baseline and not o.watch.send_existing:
        verb = "recorded" if send else "would record"
        lines.append(f"  first evaluation: {verb} {len(o.new)} existing match(es) as baseline, not sent "
                     "(send_existing: true sends them)")
    elif send:
        lines += [f"  sent: {t}" for t in o.sent]
        lines += [f"  NOT sent: {t}" for t in o.failed]
        if o.unsent:
            lines.append(f"  no channel is set ({', '.join(o.watch.alerts) or 'alerts:'}): {len(o.unsent)} event(s) "
                         f"only on the home page, sent once a channel is set (within {RETRY_DAYS} days)")
        if not o.sent and not o.failed and not o.unsent:
            lines.append("  nothing new")
    else:
        lines += [f"  would send: {e.title}" for e in o.new] or ["  nothing new"]
    return lines


# -- Airflow ---------------------------------------------------------------------------------------
def watch_tables(watches: list[Watch]) -> list[str]:
    return sorted({t for w in watches for t in KINDS[w.kind].tables})


def watches_task() -> dict:
    """The DAG's task: evaluate and send; fails (Airflow retries it) when an event could not be delivered."""
    outcomes = run_watches(load_watches(overlay=runtime_overlay()), data_database_url())
    for o in outcomes:
        for line in summary(o, send=True):
            (log.warning if o.problem or o.failed or o.unsent else log.info)("%s", line)
    failed = [f for o in outcomes for f in o.failed]
    if failed:
        raise RuntimeError(f"{len(failed)} watch event(s) not delivered; they are retried: " + "; ".join(failed))
    return {o.watch.name: {"sent": len(o.sent), "recorded": o.recorded, "baseline": o.baseline,
                           "problem": o.problem} for o in outcomes}


def watches_dags(config: dict | None = None) -> dict:
    """The ``pde_watches`` DAG: when a table its watches read changed, and every morning."""
    # lazy: importing Airflow reads its configuration (see pde/schedule/tasks.py)
    from airflow.sdk import DAG, AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, task

    config = config if config is not None else load_config()
    watches = load_watches(config)
    tables = watch_tables(watches)
    cron = CronTriggerTimetable(SCHEDULE, timezone="UTC")
    schedule = AssetOrTimeSchedule(timetable=cron, assets=AssetAny(*map(table_asset, tables))) if tables else cron
    listed = "\n".join(f"- **{w.name}** ({w.kind}): {w.describe()}" for w in watches) or "(none configured yet)"
    with DAG(
        dag_id=DAG_ID, schedule=schedule, start_date=START_DATE, catchup=False, max_active_runs=1,
        tags=["pde", "alerts"], description="alert once per event for the watches in dags/crawls.yaml",
        default_args={"owner": "pde", "retries": 2, "retry_delay": dt.timedelta(minutes=5)},
        doc_md=f"Watches in `{config_path()}`:\n\n{listed}\n\n" + (__doc__ or ""),
    ) as dag:
        task(task_id="evaluate", execution_timeout=dt.timedelta(minutes=15))(watches_task)()
    return {DAG_ID: dag}


# -- pde watches -------------------------------------------------------------------------------------
def cmd_watches(args) -> int:
    """List the watches and what would fire now; with --send, record and send like the pde_watches DAG."""
    if args.send and importlib.util.find_spec("apprise") is None:  # the lean crawl environment: Airflow's has it
        python = airflow_python()
        if python == sys.executable:
            print("pde watches --send: the apprise package is missing; run `make setup`", file=sys.stderr)
            return 2
        again = ["--send", *(x for name in args.watch or [] for x in ("--watch", name))]
        return subprocess.run([python, "-m", "pde.cli", "watches", *again]).returncode
    try:
        watches = load_watches()
        if not watches:
            print(f"No watches in {config_path()}: add a watches: list (see the comment at its top).")
            return 0
        outcomes = run_watches(watches, database_url(), send=args.send,
                               only=args.watch, channels=env_urls)
    except ConfigError as exc:
        print(f"pde watches: {exc}", file=sys.stderr)
        return 2
    for o in outcomes:
        channels = ", ".join(o.watch.alerts) or "none"
        print("\n".join(summary(o, args.send)) + f"\n  channels: {channels}")
    if not args.send:
        print(f"\nNothing was recorded or sent. `pde watches --send` does (the {DAG_ID} DAG does it in Airflow).")
    return 1 if any(o.failed for o in outcomes) else 0


def register(subparsers) -> None:
    """Adds `pde watches`."""
    kinds = "\n".join(f"  {k.name:20} {k.what}\n" + "\n".join(
        f"  {'':20}   {p.name}: {p.help}" + (" (required)" if p.required else
                                             f" (default {_show(p.default)})" if p.default is not None else "")
        for p in k.params) for k in KINDS.values())
    p = subparsers.add_parser(
        "watches", help="alerts on what changed: list the watches of dags/crawls.yaml and what would fire",
        description="The watches of dags/crawls.yaml (watches:) and what each would send now. Nothing is "
                    "recorded or sent without --send; the first --send of a new watch records what already "
                    "matches as baseline, without sending.",
        epilog="Every watch takes:\n" + "\n".join(f"  {k:20} {v}" for k, v in COMMON_KEYS.items())
               + f"\n\nKinds and their parameters:\n{kinds}\n\n"
               "Channels: the Apprise URLs named by alerts: (default defaults.alerts), from the environment "
               "(NAME or AIRFLOW_VAR_NAME) when run here, from Airflow Variables/Connections in the DAG. "
               "Exit codes: 0 fine, 1 an event was not delivered (it is retried next time), 2 a configuration "
               "error.", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--send", action="store_true", help="record new events and send them (as the DAG does)")
    p.add_argument("--watch", action="append", metavar="NAME", help="only this watch (repeat for more)")
    p.set_defaults(func=cmd_watches)
