"""Draft cheat sheet: one printable page (HTML and PDF) per scoring format, from the fantasy schema.

    pde cheatsheet                                   # PPR, the latest season with draft rankings
    pde cheatsheet --scoring half --season 2025 --top 150 --out sheet.html --pdf sheet.pdf

Players come in consensus order: FantasyPros ECR for the chosen scoring, else the best other
draft ranking crawled (FantasyPros in another scoring, then ESPN), players no list ranks come
last by value over replacement. Each row shows ADP, tier, position rank, bye week, last
season's fantasy points (PFR, FantasyPros player points, ESPN league points), the season
projection (FantasyPros, ESPN) and value over replacement (VOR).

It works from whatever was crawled and says on the sheet what was missing and which crawl
fills it. Sources are joined through fantasy.players (``fantasy.match_players()`` is run
first); a source player it has not linked is matched by normalised name and position (team
defenses by team), and the sheet counts those.

VOR = the projection, else last season's points, minus the replacement player's at the same
position: the Nth best there, N from REPLACEMENT (a 12-team league starting QB, 2 RB, 2 WR, TE,
FLEX, K, DST, the 12 flex spots split between RB and WR). Where fewer than N players have
points the worst of them stands in, and the sheet says so.

The PDF is printed by Debian's Chromium through Playwright (never a downloaded browser;
pde/services/browser.py); PDE_CHROMIUM points at another binary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import string
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pde.db import connect, exports_dir
from pde.migrate import migrate
from pde.services import browser

SCORINGS = {"std": "Standard", "half": "Half PPR", "ppr": "PPR"}
SCORING_ALIASES = {"standard": "std", "std": "std", "half": "half", "half-ppr": "half", "half_ppr": "half",
                   "ppr": "ppr", "full": "ppr"}
POSITIONS = ("QB", "RB", "WR", "TE", "K", "DEF")
# Replacement level: the Nth best player at the position (12 teams x starters; the 12 FLEX
# spots split between RB and WR).
REPLACEMENT = {"QB": 12, "RB": 30, "WR": 30, "TE": 12, "K": 12, "DEF": 12}
SOURCE_NAMES = {"fantasypros": "FantasyPros", "espn": "ESPN", "pfr": "Pro-Football-Reference", "sleeper": "Sleeper"}
SCORING_FLAG = {"std": "STD", "half": "HALF", "ppr": "PPR"}

# Season stat lines (projections of the season, actuals of the one before) with points in the
# chosen scoring: as given, the league's points when its scoring is that format (ESPN), or
# converted through receptions (half = std + rec/2 = (std + ppr)/2). Kickers and defenses score
# the same in every format, and a quarterback without a reception count is taken to have none.
STAT_ROWS = """
    SELECT s.*, CASE %(scoring)s::text
               WHEN 'std' THEN coalesce(std, ppr - rec, half - rec / 2)
               WHEN 'half' THEN coalesce(half, (std + ppr) / 2, std + rec / 2, ppr - rec / 2)
               ELSE coalesce(ppr, std + rec, half + rec / 2) END AS points
      FROM (SELECT s.source, s.source_player_id, s.season, s.kind, s.games, s.player_name, s.position,
                   CASE WHEN s.team !~ '^[0-9]TM$' THEN s.team END AS team, s.last_seen_at,
                   (CASE WHEN s.position IN ('QB', 'K', 'DEF') THEN coalesce(s.rec, 0) ELSE s.rec END)::numeric AS rec,
                   l.league_id AS points_league_id,
                   coalesce(s.points_std, CASE WHEN l.scoring_format = 'std' THEN s.points_league END) AS std,
                   coalesce(s.points_half, CASE WHEN l.scoring_format = 'half' THEN s.points_league END) AS half,
                   coalesce(s.points_ppr, CASE WHEN l.scoring_format = 'ppr' THEN s.points_league END) AS ppr
              FROM fantasy.player_stats s
              LEFT JOIN fantasy.leagues l ON l.source = s.source AND l.league_id = s.league_id AND l.season = s.season
                   AND s.points_league IS NOT NULL
             WHERE s.week = 0 AND ((s.kind = 'projection' AND s.season = %(season)s)
                                OR (s.kind = 'actual' AND s.season = %(season)s - 1))) s
"""

# One row per player. %(season)s, %(scoring)s (std|half|ppr), %(replacement)s (JSON {position: N}).
SHEET_SQL = string.Template("""
WITH who AS (  -- every source player keyed to one person: his fantasy.players row, else name + position
    SELECT sp.source, sp.source_player_id, coalesce(i.player_id, same.player_id) AS player_id,
           i.player_id IS NULL AS by_name,
           CASE WHEN coalesce(i.player_id, same.player_id) IS NOT NULL THEN 'p' || coalesce(i.player_id, same.player_id)
                WHEN sp.position = 'DEF' AND sp.team IS NOT NULL THEN 'DEF:' || sp.team
                ELSE 'n:' || sp.name_key || ':' || coalesce(sp.position, '') END AS pkey
      FROM fantasy.source_players sp
      LEFT JOIN fantasy.player_ids i USING (source, source_player_id)
      LEFT JOIN LATERAL (  -- not linked: the one fantasy.players row with his name and position, if there is one
           SELECT min(p.player_id) AS player_id FROM fantasy.players p
            WHERE i.player_id IS NULL
              AND CASE WHEN sp.position = 'DEF' THEN p.position = 'DEF' AND p.team = sp.team
                       ELSE p.name_key = sp.name_key AND p.position = sp.position END
           HAVING count(*) = 1) same ON true
),
lists AS (  -- draft rankings of the season, best first: FantasyPros, then the nearest scoring
    SELECT source, scoring, count(*) AS players,
           row_number() OVER (ORDER BY source = 'fantasypros' DESC,
                              abs(array_position(ARRAY['std','half','ppr'], scoring)
                                  - array_position(ARRAY['std','half','ppr'], %(scoring)s::text)) NULLS LAST,
                              count(*) DESC, scoring) AS priority
      FROM fantasy.rankings
     WHERE season = %(season)s AND week = 0 AND ranking_type = 'draft' AND position_group = 'ALL' AND rank IS NOT NULL
     GROUP BY source, scoring
),
ranked AS (
    SELECT DISTINCT ON (pkey) coalesce(w.pkey, 'x:' || r.source || ':' || r.source_player_id) AS pkey,
           w.player_id, coalesce(w.by_name, true) AS by_name, l.priority, l.source AS rank_source,
           l.scoring AS rank_scoring, r.rank, r.tier, r.pos_rank, r.player_name, r.position, r.team
      FROM fantasy.rankings r
      JOIN lists l USING (source, scoring)
      LEFT JOIN who w USING (source, source_player_id)
     WHERE r.season = %(season)s AND r.week = 0 AND r.ranking_type = 'draft' AND r.position_group = 'ALL'
       AND r.rank IS NOT NULL
     ORDER BY pkey, l.priority, r.rank
),
adp AS (
    SELECT DISTINCT ON (pkey) coalesce(w.pkey, 'x:' || r.source || ':' || r.source_player_id) AS pkey,
           w.player_id, coalesce(w.by_name, true) AS by_name, r.source AS adp_source, r.adp,
           r.player_name, r.position, r.team
      FROM fantasy.rankings r
      LEFT JOIN who w USING (source, source_player_id)
     WHERE r.season = %(season)s AND r.week = 0 AND r.ranking_type IN ('draft', 'adp') AND r.adp IS NOT NULL
     ORDER BY pkey, r.source = 'fantasypros' DESC,
              abs(array_position(ARRAY['std','half','ppr'], r.scoring)
                  - array_position(ARRAY['std','half','ppr'], %(scoring)s::text)) NULLS LAST, r.adp
),
bye AS (
    SELECT DISTINCT ON (pkey) coalesce(w.pkey, 'x:' || r.source || ':' || r.source_player_id) AS pkey, r.bye_week
      FROM fantasy.rankings r
      LEFT JOIN who w USING (source, source_player_id)
     WHERE r.season = %(season)s AND r.bye_week IS NOT NULL
     ORDER BY pkey, r.week, r.last_seen_at DESC
),
stat_rows AS ($STAT_ROWS
),
stat_best AS (  -- per person and kind: the fullest season (most games), then PFR, FantasyPros, ESPN
    SELECT DISTINCT ON (pkey, s.kind) coalesce(w.pkey, 'x:' || s.source || ':' || s.source_player_id) AS pkey,
           w.player_id, coalesce(w.by_name, true) AS by_name, s.*
      FROM stat_rows s
      LEFT JOIN who w USING (source, source_player_id)
     WHERE s.points IS NOT NULL
     ORDER BY pkey, s.kind, s.games DESC NULLS LAST, array_position(ARRAY['pfr','fantasypros','espn'], s.source)
),
proj AS (SELECT * FROM stat_best WHERE kind = 'projection'),
last AS (SELECT * FROM stat_best WHERE kind = 'actual'),
people AS (
    SELECT pkey, max(player_id) AS player_id, count(DISTINCT source) > 1 AND bool_or(by_name) AS combined_by_name
      FROM (SELECT pkey, player_id, by_name, rank_source AS source FROM ranked
            UNION ALL SELECT pkey, player_id, by_name, adp_source FROM adp
            UNION ALL SELECT pkey, player_id, by_name, source FROM proj
            UNION ALL SELECT pkey, player_id, by_name, source FROM last) f
     GROUP BY pkey
),
sheet AS (
    SELECT pe.pkey, pe.player_id,
           coalesce(p.full_name, r.player_name, a.player_name, pr.player_name, la.player_name) AS name,
           coalesce(r.position, a.position, pr.position, la.position, p.position) AS position,
           coalesce(p.team, r.team, a.team, pr.team, la.team) AS team,
           b.bye_week, r.priority, r.rank_source, r.rank_scoring, r.rank, r.tier, r.pos_rank AS source_pos_rank,
           a.adp, a.adp_source, la.points AS last_points, la.source AS last_source,
           pr.points AS projection, pr.source AS proj_source, coalesce(pr.points, la.points) AS value,
           CASE WHEN pr.points IS NOT NULL THEN 'projection' WHEN la.points IS NOT NULL THEN 'last' END AS value_basis,
           pe.combined_by_name
      FROM people pe
      LEFT JOIN fantasy.players p ON p.player_id = pe.player_id
      LEFT JOIN ranked r USING (pkey)
      LEFT JOIN adp a USING (pkey)
      LEFT JOIN bye b USING (pkey)
      LEFT JOIN proj pr USING (pkey)
      LEFT JOIN last la USING (pkey)
),
valued AS (
    SELECT s.*, row_number() OVER (PARTITION BY position ORDER BY value DESC NULLS LAST) AS value_rank
      FROM sheet s WHERE position IN ('QB', 'RB', 'WR', 'TE', 'K', 'DEF')
),
replacement AS (
    SELECT v.position, (%(replacement)s::jsonb ->> v.position)::int AS needed, count(v.value) AS valued,
           coalesce(max(v.value) FILTER (WHERE v.value_rank = (%(replacement)s::jsonb ->> v.position)::int),
                    min(v.value)) AS points
      FROM valued v GROUP BY v.position
)
SELECT v.*, v.value - rp.points AS vor, rp.points AS replacement_points, rp.needed AS replacement_rank,
       rp.valued AS valued_at_position,
       row_number() OVER (PARTITION BY v.position ORDER BY v.priority NULLS LAST, v.rank,
                          v.value - rp.points DESC NULLS LAST, v.value DESC NULLS LAST, v.name) AS sheet_pos_rank
  FROM valued v JOIN replacement rp USING (position)
 ORDER BY v.priority NULLS LAST, v.rank, vor DESC NULLS LAST, v.value DESC NULLS LAST, v.name
""").substitute(STAT_ROWS=STAT_ROWS)

LISTS_SQL = """
SELECT source, scoring, count(*), max(published_at), max(last_seen_at)
  FROM fantasy.rankings
 WHERE season = %(season)s AND week = 0 AND ranking_type = 'draft' AND position_group = 'ALL' AND rank IS NOT NULL
 GROUP BY source, scoring
"""

STATS_SQL = """
WITH stat_rows AS (""" + STAT_ROWS + """)
SELECT s.season, s.kind, s.source, count(*), count(s.points), max(s.last_seen_at),
       string_agg(DISTINCT l.league_id || ' (' || l.scoring_format || ')', ', ')
  FROM stat_rows s
  LEFT JOIN fantasy.leagues l ON l.source = s.source AND l.league_id = s.points_league_id AND l.season = s.season
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


DEFAULT_SEASON_SQL = """
SELECT coalesce(
    (SELECT max(season) FROM fantasy.rankings WHERE week = 0 AND ranking_type = 'draft' AND rank IS NOT NULL),
    (SELECT max(season) FROM fantasy.player_stats WHERE week = 0 AND kind = 'projection'),
    (SELECT max(season) + 1 FROM fantasy.player_stats WHERE week = 0 AND kind = 'actual'))
"""


class CheatSheetError(Exception):
    """Something the user can act on: no data, no browser."""


@dataclass
class Player:
    order: int
    name: str
    position: str
    team: str | None
    bye: int | None
    rank: int | None
    rank_list: str | None  # "fantasypros/ppr" of the list the rank is from
    primary: bool  # ranked in the sheet's main list
    tier: int | None
    pos_rank: int
    adp: float | None
    adp_source: str | None
    last_points: float | None
    last_source: str | None
    projection: float | None
    proj_source: str | None
    value_basis: str | None  # projection | last
    vor: float | None
    combined_by_name: bool


@dataclass
class Replacement:
    position: str
    needed: int
    valued: int
    points: float | None

    @property
    def estimated(self) -> bool:
        return self.points is not None and self.valued < self.needed


@dataclass
class Sheet:
    season: int
    scoring: str
    players: list[Player]
    total: int  # players before --top
    sources: list[str] = field(default_factory=list)  # what the sheet is built from
    missing: list[str] = field(default_factory=list)  # what was not there, and how to get it
    replacement: dict[str, Replacement] = field(default_factory=dict)
    primary_list: str | None = None
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())

    @property
    def title(self) -> str:
        return f"{self.season} draft cheat sheet: {SCORINGS[self.scoring]}"


def _num(x) -> float | None:
    return float(x) if isinstance(x, (Decimal, int, float)) else None


def _n(count: int, what: str = "player") -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def _list_label(source: str, scoring: str) -> str:
    if source == "fantasypros":
        return f"FantasyPros ECR ({SCORINGS.get(scoring, scoring)})"
    return f"{SOURCE_NAMES.get(source, source)} draft rank ({SCORINGS.get(scoring, scoring)})"


def normalize_scoring(value: str) -> str:
    try:
        return SCORING_ALIASES[value.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown scoring {value!r}: use standard, half or ppr") from None


def default_season(conn) -> int:
    with conn.cursor() as cur:
        cur.execute(DEFAULT_SEASON_SQL)
        season = cur.fetchone()[0]
    if season is None:
        raise CheatSheetError(
            "No fantasy rankings or stats in the database yet. Crawl some first, e.g. "
            "`scrapy crawl fantasypros_rankings` (FantasyPros cheat sheet, PPR) and "
            "`scrapy crawl pfr_stats -a seasons=<last season> -a pages=fantasy`.")
    return int(season)


def match_players(conn) -> None:
    """Link newly crawled source players (fantasy.match_players(); safe to repeat)."""
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM fantasy.match_players()")
    conn.commit()


def build(conn, scoring: str = "ppr", season: int | None = None, top: int | None = None,
          replacement: dict[str, int] | None = None, match: bool = True) -> Sheet:
    """Read the sheet from the database: players in order, and what was found and missing."""
    scoring = normalize_scoring(scoring)
    replacement = {**REPLACEMENT, **(replacement or {})}
    if match:
        match_players(conn)
    season = season or default_season(conn)
    params = {"season": season, "scoring": scoring, "replacement": json.dumps(replacement)}
    with conn.cursor() as cur:
        cur.execute(SHEET_SQL, params)
        cols = [c.name for c in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        cur.execute(LISTS_SQL, params)
        lists = cur.fetchall()
        cur.execute(STATS_SQL, params)
        stats = cur.fetchall()
    conn.rollback()  # read only; ends the transaction

    primary = rows[0]["priority"] if rows else None  # rows come best list first
    players = [
        Player(order=i, name=r["name"], position=r["position"], team=r["team"], bye=r["bye_week"],
               rank=r["rank"], rank_list=f"{r['rank_source']}/{r['rank_scoring']}" if r["rank_source"] else None,
               primary=r["priority"] is not None and r["priority"] == primary, tier=r["tier"],
               pos_rank=(r["source_pos_rank"] if r["priority"] == primary and r["source_pos_rank"]
                         else r["sheet_pos_rank"]),
               adp=_num(r["adp"]), adp_source=r["adp_source"], last_points=_num(r["last_points"]),
               last_source=r["last_source"], projection=_num(r["projection"]), proj_source=r["proj_source"],
               value_basis=r["value_basis"], vor=_num(r["vor"]), combined_by_name=bool(r["combined_by_name"]))
        for i, r in enumerate(rows, 1)
    ]
    repl = {}
    for r in rows:
        repl.setdefault(r["position"], Replacement(r["position"], r["replacement_rank"], r["valued_at_position"],
                                                   _num(r["replacement_points"])))
    sheet = Sheet(season=season, scoring=scoring, players=players[:top] if top else players, total=len(players),
                  replacement={p: repl[p] for p in POSITIONS if p in repl})
    _describe(sheet, rows, lists, stats)
    return sheet


def _describe(sheet: Sheet, rows: list[dict], lists: list[tuple], stats: list[tuple]) -> None:
    """Fill sheet.sources and sheet.missing from what the query found."""
    season, scoring, flag = sheet.season, sheet.scoring, SCORING_FLAG[sheet.scoring]
    src, miss = sheet.sources, sheet.missing

    def when(published, seen=None) -> str:
        return f", updated {published:%Y-%m-%d}" if published else f", crawled {seen:%Y-%m-%d}" if seen else ""

    # rankings
    used = sorted({(r["priority"], r["rank_source"], r["rank_scoring"]) for r in rows if r["priority"]})
    counts = {(s, sc): (n, pub, seen) for s, sc, n, pub, seen in lists}
    for i, (_, source, sc) in enumerate(used):
        n, pub, seen = counts[(source, sc)]
        role = "Order" if i == 0 else "Then, for players it does not rank"
        src.append(f"{role}: {_list_label(source, sc)}, {season} draft, {_n(n)}{when(pub, seen)}")
    if used:
        sheet.primary_list = _list_label(used[0][1], used[0][2])
    if not used:
        miss.append(f"No {season} draft rankings: players are ordered by value over replacement. Crawl "
                    f"`scrapy crawl fantasypros_rankings -a season={season} -a scoring={flag}` (FantasyPros ECR).")
    elif used[0][1:] != ("fantasypros", scoring):
        miss.append(f"No FantasyPros {SCORINGS[scoring]} ECR for {season}: ordered by {_list_label(*used[0][1:])} "
                    f"instead. Crawl `scrapy crawl fantasypros_rankings -a season={season} -a scoring={flag}`.")
    ranked = [r for r in rows if r["priority"]]
    if ranked and not any(r["tier"] for r in ranked):
        miss.append("No tiers: only the FantasyPros cheat-sheet page gives them "
                    f"(`scrapy crawl fantasypros_rankings -a scoring={flag} -a sources=cheatsheet`).")
    if rows and not any(r["bye_week"] for r in rows):
        miss.append(f"No bye weeks: they come with FantasyPros {season} rankings.")

    # ADP
    adp_sources = sorted({r["adp_source"] for r in rows if r["adp"] is not None})
    if adp_sources:
        src.append("ADP: " + ", ".join(SOURCE_NAMES.get(s, s) for s in adp_sources)
                   + (" (FantasyPros: place by ADP)" if "fantasypros" in adp_sources else ""))
    else:
        miss.append(f"No {season} ADP: it comes from the FantasyPros API players endpoint "
                    "(FANTASYPROS_API_KEY) or an ESPN league's player pool (`scrapy crawl espn_league`).")

    # points
    by_kind: dict[str, list[str]] = {"actual": [], "projection": []}
    for s_season, kind, source, n, usable, seen, leagues in stats:
        name = SOURCE_NAMES.get(source, source)
        if not usable:
            what = "points" if kind == "actual" else "projections"
            miss.append(f"{name} {s_season} {what} ({_n(n)}) are in another scoring and give no receptions "
                        f"to convert them to {SCORINGS[scoring]}.")
            continue
        used_rows = sum(1 for r in rows if (r["last_source"] if kind == "actual" else r["proj_source"]) == source)
        label = f"{name} {s_season} ({_n(used_rows)}{when(None, seen)})"
        if source == "espn" and leagues:
            label += f" in the scoring of league {leagues}"
        by_kind[kind].append(label)
    if by_kind["actual"]:
        src.append(f"{season - 1} points: " + "; ".join(by_kind["actual"]))
    else:
        miss.append(f"No {season - 1} fantasy points: crawl "
                    f"`scrapy crawl pfr_stats -a seasons={season - 1} -a pages=fantasy` (or FantasyPros player-points).")
    if by_kind["projection"]:
        src.append(f"{season} projections: " + "; ".join(by_kind["projection"]))
    else:
        miss.append(f"No {season} season projections: the FantasyPros API projections (week 0, FANTASYPROS_API_KEY) "
                    f"or ESPN league projections were not crawled"
                    + ("; VOR uses last season's points." if by_kind["actual"] else "."))
    if not any(r["vor"] is not None for r in rows):
        miss.append("No value over replacement: it needs projections or last season's points.")
    no_points = [rp.position for rp in sheet.replacement.values() if rp.points is None]
    if no_points and any(rp.points is not None for rp in sheet.replacement.values()):
        miss.append(f"No VOR for {', '.join(no_points)}: none has {SCORINGS[scoring]} points.")
    thin = [rp for rp in sheet.replacement.values() if rp.estimated]
    if thin:
        miss.append("Replacement level estimated from too few players: " + ", ".join(
            f"{rp.position} ({rp.valued} with points, replacement is {rp.position}{rp.needed})" for rp in thin))
    by_name = sum(1 for r in rows if r["combined_by_name"])
    if by_name:
        miss.append(f"{_n(by_name)} matched across sources by name and position only (not linked in "
                    "fantasy.players: crawl Sleeper's players database, `scrapy crawl sleeper_league -a players=1`, "
                    "and see fantasy.unmatched_players).")


# -- HTML ------------------------------------------------------------------------------------------
PAGE = string.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>$title</title>
<style>
@page { size: $page_size landscape; margin: 9mm 8mm 10mm 8mm; }
* { box-sizing: border-box; }
body { font: 8.6pt/1.25 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; margin: 0; }
header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 2px solid #111;
         padding-bottom: 2px; margin-bottom: 4px; }
h1 { font-size: 14pt; margin: 0; }
.meta { font-size: 7.5pt; color: #444; text-align: right; }
.notes { display: flex; gap: 10px; font-size: 7.2pt; margin: 0 0 5px; }
.notes div { flex: 1; }
.notes ul { margin: 1px 0 0 12px; padding: 0; }
.notes b { font-size: 7.5pt; }
.missing { background: #fff4e0; border-left: 3px solid #e08a00; padding: 2px 5px; }
.used { background: #f3f5f8; border-left: 3px solid #6b7a90; padding: 2px 5px; }
.repl { font-size: 7.2pt; color: #333; margin: 0 0 4px; }
table { width: 100%; border-collapse: collapse; }
thead { display: table-header-group; }
th { font-size: 7.4pt; text-align: right; border-bottom: 1.5px solid #111; padding: 1px 4px; background: #fff; }
th.l, td.l { text-align: left; }
td { padding: 0.6px 4px; text-align: right; border-bottom: 0.5px solid #d8d8d8; white-space: nowrap;
     font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
td.name { font-weight: 600; }
td.pos { font-weight: 700; text-align: center; }
tr.QB td.pos { background: #f6c1c1; } tr.RB td.pos { background: #bfe3c4; } tr.WR td.pos { background: #bcd5f2; }
tr.TE td.pos { background: #f7d9a8; } tr.K td.pos { background: #ddd2ee; } tr.DEF td.pos { background: #d3d3d3; }
tr.QB td.name { border-left: 4px solid #d64545; } tr.RB td.name { border-left: 4px solid #2e9a45; }
tr.WR td.name { border-left: 4px solid #2f6fbf; } tr.TE td.name { border-left: 4px solid #e0901b; }
tr.K td.name { border-left: 4px solid #8a6bbf; } tr.DEF td.name { border-left: 4px solid #777; }
tr.tierhead { break-after: avoid; }
tr.tierhead td, tr.section td { text-align: left; font-size: 7pt; font-weight: 700; color: #555;
     padding-top: 2px; border-bottom: none; }
tr.tierhead.next td { border-top: 2px solid #111; }
tr.section td { font-size: 7.6pt; color: #111; border-top: 2px solid #111; background: #eee; }
td.vor { font-weight: 700; } td.neg { color: #999; }
.est, .last-basis { font-style: italic; font-weight: 400; }
.src { color: #888; font-size: 6.2pt; vertical-align: super; }
.none { color: #bbb; }
footer { margin-top: 4px; font-size: 6.8pt; color: #555; }
</style></head>
<body>
<header><h1>$title</h1><div class="meta">$count &middot; generated $generated by pde</div></header>
<div class="notes">$used$missing</div>
<div class="repl">$replacement</div>
<table>
<thead><tr><th>#</th><th class="l">Player</th><th>Pos</th><th class="l">Team</th><th>Bye</th><th>Rank</th>
<th>Pos rank</th><th>Tier</th><th>ADP</th><th>$last_season pts</th><th>$season proj</th><th>VOR</th></tr></thead>
<tbody>
$rows
</tbody></table>
<footer>$legend</footer>
</body></html>
""")


def _fmt(x: float | None, digits: int = 1) -> str:
    return '<span class="none">&ndash;</span>' if x is None else f"{x:.{digits}f}"


def _tag(source: str | None) -> str:
    letters = {"fantasypros": "FP", "espn": "E", "pfr": "PFR"}
    return f'<span class="src">{letters.get(source, source)}</span>' if source else ""


def render_html(sheet: Sheet, page_size: str = "A4") -> str:
    e = html.escape
    rows, prev_tier, prev_section = [], None, None
    multi_adp = len({p.adp_source for p in sheet.players if p.adp is not None}) > 1
    multi_pts = len({p.last_source for p in sheet.players if p.last_points is not None}) > 1
    multi_proj = len({p.proj_source for p in sheet.players if p.projection is not None}) > 1
    for p in sheet.players:
        section = "primary" if p.primary else (p.rank_list or "unranked")
        if section != prev_section and section != "primary":
            label = ("Not ranked by any draft list: by value over replacement" if section == "unranked" else
                     "Not in the main list, by " + _list_label(*section.split("/")))
            rows.append(f'<tr class="section"><td colspan="12">{e(label)}</td></tr>')
            prev_tier = None
        if p.tier is not None and p.tier != prev_tier:
            nxt = " next" if prev_tier is not None else ""
            rows.append(f'<tr class="tierhead{nxt}"><td></td><td colspan="11">Tier {p.tier}</td></tr>')
        prev_tier, prev_section = p.tier, section
        vor_cls = "vor" + (" neg" if p.vor is not None and p.vor < 0 else "")
        value_note = ' class="last-basis"' if p.value_basis == "last" else ""
        rows.append(
            f'<tr class="{e(p.position)}">'
            f"<td>{p.order}</td><td class=\"l name\">{e(p.name)}</td><td class=\"pos\">{e(p.position)}</td>"
            f"<td class=\"l\">{e(p.team or '')}</td><td>{p.bye or ''}</td>"
            f"<td>{p.rank if p.rank is not None else ''}</td><td>{e(p.position)}{p.pos_rank}</td>"
            f"<td>{p.tier if p.tier is not None else ''}</td>"
            f"<td>{_fmt(p.adp)}{_tag(p.adp_source) if multi_adp and p.adp is not None else ''}</td>"
            f"<td>{_fmt(p.last_points)}{_tag(p.last_source) if multi_pts and p.last_points is not None else ''}</td>"
            f"<td>{_fmt(p.projection)}{_tag(p.proj_source) if multi_proj and p.projection is not None else ''}</td>"
            f'<td class="{vor_cls}"><span{value_note}>{_fmt(p.vor)}</span></td></tr>')
    used = "".join(f"<li>{e(s)}</li>" for s in sheet.sources)
    missing = "".join(f"<li>{e(s)}</li>" for s in sheet.missing)
    repl = " &middot; ".join(
        f"{rp.position}{rp.needed} = {_fmt(rp.points)}" + (' <span class="est">(estimated)</span>' if rp.estimated else "")
        for rp in sheet.replacement.values() if rp.points is not None)
    shown = len(sheet.players)
    count = _n(shown) + (f" (top {shown} of {sheet.total})" if shown < sheet.total else "")
    return PAGE.substitute(
        title=e(sheet.title), page_size=page_size, count=count,
        generated=sheet.generated_at.strftime("%Y-%m-%d %H:%M"), season=sheet.season, last_season=sheet.season - 1,
        used=f'<div class="used"><b>Built from</b><ul>{used}</ul></div>' if used else "",
        missing=f'<div class="missing"><b>Missing</b><ul>{missing}</ul></div>' if missing else "",
        replacement=("Replacement level (" + SCORINGS[sheet.scoring] + " points): " + repl) if repl else "",
        rows="\n".join(rows) or '<tr><td colspan="12" class="l">No players: see Missing above.</td></tr>',
        legend=("Rank: place in the list named above the rows (main list: " + e(sheet.primary_list or "none")
                + "). Pos rank: that list's position rank, else the place on this sheet. VOR: projection, else last "
                "season's points (italic), minus the replacement level at the position. "
                "FP = FantasyPros, E = ESPN, PFR = Pro-Football-Reference."),
    )


# -- PDF -------------------------------------------------------------------------------------------
WHY_CHROMIUM = "the PDF is printed by a real browser"


def write_pdf(html_text: str, path: Path, page_size: str = "A4") -> Path:
    """Print the HTML to PDF with headless Chromium (the page's own @page size, landscape)."""
    missing = browser.missing_message(WHY_CHROMIUM)
    if missing:
        raise CheatSheetError(missing)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with browser.chromium(WHY_CHROMIUM) as chromium:
        page = chromium.new_page()
        page.set_content(html_text, wait_until="load")
        page.emulate_media(media="print")
        page.pdf(path=str(path), format=page_size, landscape=True, print_background=True,
                 prefer_css_page_size=True,
                 display_header_footer=True, header_template="<span></span>",
                 footer_template='<div style="font-size:7px;width:100%;text-align:right;margin-right:8mm;color:#777">'
                                 'page <span class="pageNumber"></span> / <span class="totalPages"></span></div>')
    return path


# -- command line ----------------------------------------------------------------------------------
def _replacement_arg(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        pos, _, n = part.partition("=")
        pos = {"DST": "DEF", "D/ST": "DEF"}.get(pos.strip().upper(), pos.strip().upper())
        if pos not in POSITIONS or not n.strip().isdigit() or int(n) < 1:
            raise argparse.ArgumentTypeError(f"expected POS=N[,POS=N...] with POS in {', '.join(POSITIONS)}: {part!r}")
        out[pos] = int(n)
    return out


def _scoring_arg(text: str) -> str:
    try:
        return normalize_scoring(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_cheatsheet(args) -> int:
    conn = connect()
    try:
        migrate(conn, log=lambda m: None)  # a fresh database has no fantasy schema yet
        sheet = build(conn, scoring=args.scoring, season=args.season, top=args.top,
                      replacement=args.replacement, match=not args.no_match)
    except CheatSheetError as exc:
        print(f"pde cheatsheet: {exc}")
        return 1
    finally:
        conn.close()
    if not sheet.players:
        print(f"pde cheatsheet: no players for {sheet.season} in {SCORINGS[sheet.scoring]}:")
        for line in sheet.missing:
            print(f"  {line}")
        return 1
    stem = f"cheatsheet-{sheet.season}-{sheet.scoring}"

    out = Path(args.out or exports_dir() / f"{stem}.html")
    text = render_html(sheet, page_size=args.paper)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"{sheet.title}: {len(sheet.players)} of {sheet.total} players -> {out}")
    for line in sheet.missing:
        print(f"  missing: {line}")
    if not args.no_pdf:
        pdf = Path(args.pdf or out.with_suffix(".pdf"))
        try:
            write_pdf(text, pdf, page_size=args.paper)
        except CheatSheetError as exc:
            print(f"pde cheatsheet: {exc}")
            return 1
        print(f"PDF -> {pdf}")
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add `pde cheatsheet` to the pde command line."""
    p = subparsers.add_parser(
        "cheatsheet", help="fantasy: print a draft cheat sheet (HTML and PDF) from the crawled rankings and stats",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scoring", type=_scoring_arg, default="ppr", metavar="standard|half|ppr",
                   help="scoring format for ranks, points and VOR (default ppr)")
    p.add_argument("--season", type=int, help="draft season (default: the latest season with draft rankings)")
    p.add_argument("--top", type=int, default=200, metavar="N", help="players on the sheet (default 200; 0 = all)")
    p.add_argument("--out", metavar="PATH.html",
                   help="HTML file (default $PDE_EXPORTS/cheatsheet-<season>-<scoring>.html; "
                        "PDE_EXPORTS defaults to $PDE_HOME/exports)")
    p.add_argument("--pdf", metavar="PATH.pdf", help="PDF file (default: the HTML path with .pdf)")
    p.add_argument("--no-pdf", action="store_true", help="write the HTML only (no Chromium needed)")
    p.add_argument("--paper", choices=["A4", "Letter"], default="A4", help="paper size, printed landscape (default A4)")
    p.add_argument("--replacement", type=_replacement_arg, metavar="POS=N,...",
                   help="replacement rank per position for VOR (default "
                        + ",".join(f"{k}={v}" for k, v in REPLACEMENT.items()) + ": 12 teams)")
    p.add_argument("--no-match", action="store_true",
                   help="do not run fantasy.match_players() first (it links newly crawled players; safe to repeat)")
    p.set_defaults(func=cmd_cheatsheet)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pde")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["cheatsheet", *(argv or [])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
