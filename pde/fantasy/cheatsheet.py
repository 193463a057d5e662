"""Draft cheat sheet: one printable page (HTML and PDF) per scoring format, from the fantasy schema.

    pde cheatsheet                                   # PPR, the latest season with draft rankings
    pde cheatsheet --scoring half --season 2025 --top 150 --out sheet.html --pdf sheet.pdf
    pde cheatsheet --value pde                       # ranked by pde's own projection

Players come in consensus order: FantasyPros ECR for the chosen scoring, else the best other
draft ranking crawled (FantasyPros in another scoring, then ESPN), players no list ranks come
last by value over replacement. Each row shows ADP, tier, position rank, bye week, last
season's fantasy points (PFR, FantasyPros player points, ESPN league points), the season
projection (FantasyPros, ESPN) and value over replacement (VOR).

It works from whatever was crawled and says on the sheet what was missing and which crawl
fills it. Sources are joined through fantasy.players (``fantasy.match_players()`` is run
first); a source player it has not linked is matched by normalised name and position (team
defenses by team), and the sheet counts those.

pde's own projection (fantasy.projections, `pde model train fantasy`), when trained for the season
and scoring, prints in a "pde" column beside the value, with a line saying which training run it
comes from and how its back-test compared with the naive baseline and the FantasyPros consensus.
`--value pde` values and orders the players by it instead (tiers from its value gaps); players it
has no projection for fall back as below, and the sheet says how many. Without pde projections the
sheet is the same as ever.

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
import math
import statistics
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
# With a league (%(league)s, its points per stat in %(weights)s), a line's points are the league's:
# ESPN's own for that league, else its stats times the league's points per stat.
STAT_ROWS = """
    SELECT s.*, coalesce(s.league_points, CASE %(scoring)s::text
               WHEN 'std' THEN coalesce(std, ppr - rec, half - rec / 2)
               WHEN 'half' THEN coalesce(half, (std + ppr) / 2, std + rec / 2, ppr - rec / 2)
               ELSE coalesce(ppr, std + rec, half + rec / 2) END) AS points
      FROM (SELECT s.source, s.source_player_id, s.season, s.kind, s.games, s.player_name, s.position,
                   CASE WHEN s.team !~ '^[0-9]TM$' THEN s.team END AS team, s.last_seen_at,
                   (CASE WHEN s.position IN ('QB', 'K', 'DEF') THEN coalesce(s.rec, 0) ELSE s.rec END)::numeric AS rec,
                   l.league_id AS points_league_id,
                   coalesce(s.points_std, CASE WHEN l.scoring_format = 'std' THEN s.points_league END) AS std,
                   coalesce(s.points_half, CASE WHEN l.scoring_format = 'half' THEN s.points_league END) AS half,
                   coalesce(s.points_ppr, CASE WHEN l.scoring_format = 'ppr' THEN s.points_league END) AS ppr,
                   CASE WHEN %(league)s::text IS NULL THEN NULL
                        WHEN s.league_id = %(league)s AND s.points_league IS NOT NULL THEN s.points_league
                        WHEN num_nonnulls(s.pass_yds, s.pass_td, s.rush_yds, s.rush_td, s.rec, s.rec_yds, s.rec_td) > 0
                        THEN round((coalesce(s.pass_yds, 0) * (%(weights)s::jsonb ->> 'pass_yds')::float8
                                  + coalesce(s.pass_td, 0) * (%(weights)s::jsonb ->> 'pass_td')::float8
                                  + coalesce(s.pass_int, 0) * (%(weights)s::jsonb ->> 'pass_int')::float8
                                  + coalesce(s.rush_yds, 0) * (%(weights)s::jsonb ->> 'rush_yds')::float8
                                  + coalesce(s.rush_td, 0) * (%(weights)s::jsonb ->> 'rush_td')::float8
                                  + coalesce(s.rec, 0) * (%(weights)s::jsonb ->> 'rec')::float8
                                  + coalesce(s.rec_yds, 0) * (%(weights)s::jsonb ->> 'rec_yds')::float8
                                  + coalesce(s.rec_td, 0) * (%(weights)s::jsonb ->> 'rec_td')::float8
                                  + coalesce(s.fumbles_lost, 0) * (%(weights)s::jsonb ->> 'fumbles_lost')::float8
                                   )::numeric, 2)
                   END AS league_points
              FROM fantasy.player_stats s
              LEFT JOIN fantasy.leagues l ON l.source = s.source AND l.league_id = s.league_id AND l.season = s.season
                   AND s.points_league IS NOT NULL
             WHERE s.week = 0 AND ((s.kind = 'projection' AND s.season = %(season)s)
                                OR (s.kind = 'actual' AND s.season = %(season)s - 1))) s
"""

#: points per stat: our player_stats column -> (Sleeper scoring_settings key, ESPN scoringItems statId)
STAT_WEIGHTS = {"pass_yds": ("pass_yd", 3), "pass_td": ("pass_td", 4), "pass_int": ("pass_int", 20),
                "rush_yds": ("rush_yd", 24), "rush_td": ("rush_td", 25), "rec": ("rec", 53),
                "rec_yds": ("rec_yd", 42), "rec_td": ("rec_td", 43), "fumbles_lost": ("fum_lost", 72)}
#: ESPN's "every N yards" items, as points per yard: statId -> (column, N)
ESPN_PER_N_YARDS = {5: ("pass_yds", 5), 6: ("pass_yds", 10), 7: ("pass_yds", 20), 26: ("rush_yds", 5),
                    27: ("rush_yds", 10), 28: ("rush_yds", 20), 45: ("rec_yds", 5), 46: ("rec_yds", 10),
                    47: ("rec_yds", 20)}
#: lineup slots -> the positions they are filled from (a FLEX spot counts half RB, half WR)
SLOT_POSITIONS = {"QB": {"QB": 1}, "RB": {"RB": 1}, "WR": {"WR": 1}, "TE": {"TE": 1}, "K": {"K": 1},
                  "DEF": {"DEF": 1}, "D/ST": {"DEF": 1}, "DST": {"DEF": 1},
                  "FLEX": {"RB": 0.5, "WR": 0.5}, "RB/WR/TE": {"RB": 0.5, "WR": 0.5}, "RB/WR": {"RB": 0.5, "WR": 0.5},
                  "WRRB_FLEX": {"RB": 0.5, "WR": 0.5}, "WR/TE": {"WR": 1}, "REC_FLEX": {"WR": 1},
                  "SUPER_FLEX": {"QB": 1}, "OP": {"QB": 1}, "QB/RB/WR/TE": {"QB": 1}}


def league_weights(source: str, scoring_settings) -> dict[str, float]:
    """Points per stat of a league's scoring_settings (Sleeper {key: points}; ESPN scoringItems)."""
    weights = dict.fromkeys(STAT_WEIGHTS, 0.0)
    if not scoring_settings:
        return weights
    if source == "sleeper" and isinstance(scoring_settings, dict):
        for col, (key, _) in STAT_WEIGHTS.items():
            weights[col] = float(scoring_settings.get(key) or 0)
        return weights
    items = scoring_settings.get("scoringItems") if isinstance(scoring_settings, dict) else scoring_settings
    by_id = {col: stat for col, (_, stat) in STAT_WEIGHTS.items()}
    for item in items or []:
        stat, pts = item.get("statId"), float(item.get("points") or 0)
        for col, sid in by_id.items():
            if stat == sid:
                weights[col] += pts
        if stat in ESPN_PER_N_YARDS:
            col, n = ESPN_PER_N_YARDS[stat]
            weights[col] += pts / n
    return weights


def league_replacement(size: int | None, roster_positions) -> dict[str, int]:
    """Replacement rank per position: teams x the league's starting spots there (flex spots shared)."""
    teams = size or 12
    spots: dict[str, float] = {}
    for slot in roster_positions or []:
        for pos, share in SLOT_POSITIONS.get(str(slot).upper(), {}).items():
            spots[pos] = spots.get(pos, 0) + share
    return {pos: max(1, round(teams * n)) for pos, n in spots.items()}


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
pde AS (  -- pde's own projection (fantasy.projections, the latest run for the season and scoring), keyed as above:
          -- player_key is a fantasy.players id, else '<source>:<source_player_id>' (a source player, through who)
    SELECT DISTINCT ON (k.pkey) k.pkey, coalesce(w.player_id, k.player_id) AS player_id,
           coalesce(w.by_name, k.player_id IS NULL) AS by_name, 'pde' AS source,
           round(fp.projected_points::numeric, 2) AS points, fp.player_name, fp.position, fp.team
      FROM fantasy.projections fp
      LEFT JOIN who w ON fp.player_key !~ '^[0-9]+$$' AND w.source = split_part(fp.player_key, ':', 1)
                     AND w.source_player_id = substr(fp.player_key, strpos(fp.player_key, ':') + 1)
     CROSS JOIN LATERAL (
           SELECT CASE WHEN fp.player_key ~ '^[0-9]+$$' THEN fp.player_key::bigint END AS player_id,
                  CASE WHEN fp.player_key ~ '^[0-9]+$$' THEN 'p' || fp.player_key
                       ELSE coalesce(w.pkey, 'x:' || fp.player_key) END AS pkey) k
     WHERE fp.season = %(season)s AND fp.scoring = %(scoring)s
       AND fp.model_run_id = (SELECT max(model_run_id) FROM fantasy.projections
                               WHERE season = %(season)s AND scoring = %(scoring)s)
     ORDER BY k.pkey, k.player_id IS NOT NULL DESC, fp.projected_points DESC
),
people AS (
    SELECT pkey, max(player_id) AS player_id, count(DISTINCT source) > 1 AND bool_or(by_name) AS combined_by_name
      FROM (SELECT pkey, player_id, by_name, rank_source AS source FROM ranked
            UNION ALL SELECT pkey, player_id, by_name, adp_source FROM adp
            UNION ALL SELECT pkey, player_id, by_name, source FROM proj
            UNION ALL SELECT pkey, player_id, by_name, source FROM last
            UNION ALL SELECT pkey, player_id, by_name, source FROM pde WHERE %(value_by)s::text = 'pde') f
     GROUP BY pkey
),
sheet AS (
    SELECT pe.pkey, pe.player_id,
           coalesce(p.full_name, r.player_name, a.player_name, pr.player_name, la.player_name, pd.player_name) AS name,
           coalesce(r.position, a.position, pr.position, la.position, p.position, pd.position) AS position,
           coalesce(p.team, r.team, a.team, pr.team, la.team, pd.team) AS team,
           b.bye_week, r.priority, r.rank_source, r.rank_scoring, r.rank, r.tier, r.pos_rank AS source_pos_rank,
           a.adp, a.adp_source, la.points AS last_points, la.source AS last_source,
           pr.points AS projection, pr.source AS proj_source, pd.points AS pde,
           CASE WHEN %(value_by)s::text = 'pde' THEN coalesce(pd.points, pr.points, la.points)
                ELSE coalesce(pr.points, la.points) END AS value,
           CASE WHEN %(value_by)s::text = 'pde' AND pd.points IS NOT NULL THEN 'pde'
                WHEN pr.points IS NOT NULL THEN 'projection' WHEN la.points IS NOT NULL THEN 'last' END AS value_basis,
           pe.combined_by_name
      FROM people pe
      LEFT JOIN fantasy.players p ON p.player_id = pe.player_id
      LEFT JOIN ranked r USING (pkey)
      LEFT JOIN adp a USING (pkey)
      LEFT JOIN bye b USING (pkey)
      LEFT JOIN proj pr USING (pkey)
      LEFT JOIN last la USING (pkey)
      LEFT JOIN pde pd USING (pkey)
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
       row_number() OVER (PARTITION BY v.position ORDER BY by_value.vor DESC NULLS LAST, v.priority NULLS LAST,
                          v.rank, v.value - rp.points DESC NULLS LAST, v.value DESC NULLS LAST, v.name)
           AS sheet_pos_rank
  FROM valued v JOIN replacement rp USING (position)
 CROSS JOIN LATERAL (  -- ranking by pde's projection: by value over replacement first, the lists only after
       SELECT CASE WHEN %(value_by)s::text = 'pde' THEN v.value - rp.points END AS vor) by_value
 ORDER BY by_value.vor DESC NULLS LAST, v.priority NULLS LAST, v.rank, vor DESC NULLS LAST, v.value DESC NULLS LAST,
          v.name
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


# The run behind pde's projections for the season and scoring (the rows the sheet joins), and what exists otherwise.
PDE_RUN_SQL = """
SELECT r.model_run_id, r.trained_at, r.code_version, r.rows, r.metrics, r.synthetic, r.message, count(*)
  FROM fantasy.projections p JOIN platform.model_runs r USING (model_run_id)
 WHERE p.season = %(season)s AND p.scoring = %(scoring)s
   AND p.model_run_id = (SELECT max(model_run_id) FROM fantasy.projections
                          WHERE season = %(season)s AND scoring = %(scoring)s)
 GROUP BY r.model_run_id
"""
PDE_ELSE_SQL = """
SELECT (SELECT string_agg(DISTINCT season || ' ' || scoring, ', ') FROM fantasy.projections),
       (SELECT status || ': ' || coalesce(message, '') FROM platform.model_runs
         WHERE model = 'fantasy.projections' ORDER BY trained_at DESC, model_run_id DESC LIMIT 1)
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
    value_basis: str | None  # pde | projection | last
    vor: float | None
    combined_by_name: bool
    pde: float | None = None  # pde's own projection (fantasy.projections)


@dataclass
class PdeRun:
    """The training run behind pde's projections on the sheet (platform.model_runs), to judge them by."""

    model_run_id: int
    trained_at: dt.datetime
    code_version: str | None
    rows: int
    metrics: dict
    synthetic: bool
    message: str | None
    projections: int  # rows in fantasy.projections for the season and scoring
    on_sheet: int = 0  # of them, players on the sheet

    def trust(self) -> str:
        """The back-test in words: pde's error beside the naive baseline's and the consensus's."""
        m = self.metrics
        if not m.get("backtest_n") or m.get("mae") is None:
            return "not back-tested (too few earlier seasons): no measure of its error yet"
        seasons = m.get("backtest_seasons") or []
        span = f"{min(seasons)}-{max(seasons)}" if len(seasons) > 1 else f"{seasons[0]}" if seasons else ""
        text = (f"back-test{' ' + span if span else ''} ({_n(m['backtest_n'], 'player-season')}): "
                f"MAE {m['mae']:.1f} pts vs {m['baseline_mae']:.1f} for last season's points per game"
                + (" (beats it)" if m["mae"] < m["baseline_mae"] else " (does not beat it)"))
        if m.get("consensus_mae") is not None and m.get("mae_same_rows") is not None:
            better = "pde" if m["mae_same_rows"] < m["consensus_mae"] else "the consensus"
            text += (f"; vs FantasyPros consensus on {_n(m['consensus_n'], 'player-season')}: "
                     f"pde {m['mae_same_rows']:.1f}, consensus {m['consensus_mae']:.1f} ({better} closer)")
        else:
            text += ("; vs FantasyPros consensus: cannot be measured yet "
                     "(no crawled projection for a back-tested season)")
        return text


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
    league: str | None = None  # the league whose scoring it uses
    value_by: str = "consensus"  # consensus | pde: what values (and, for pde, orders) the players
    pde_run: PdeRun | None = None  # when pde's projections exist for the season and scoring
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())

    @property
    def title(self) -> str:
        scoring = f"{self.league} scoring" if self.league else SCORINGS[self.scoring]
        return f"{self.season} draft cheat sheet: {scoring}"

    def pde_line(self) -> str:
        """What the pde column is, which run it comes from and how well that run back-tested; '' without one."""
        run = self.pde_run
        if run is None:
            return ""
        shown = len(self.players)
        text = (f"pde = pde's own {self.season} {SCORINGS[self.scoring]} projection (points)"
                + (", not the league's scoring" if self.league else "")
                + (" [SYNTHETIC training data: says nothing about real players]" if run.synthetic else "")
                + f": model run #{run.model_run_id}, trained {run.trained_at:%Y-%m-%d}"
                + (f", code {run.code_version}" if run.code_version else "")
                + f", on {_n(run.rows, 'player-season')}; {run.on_sheet} of {_n(shown)} here have one. "
                + run.trust()[0].upper() + run.trust()[1:] + ".")
        if self.value_by == "pde":
            fallback = shown - run.on_sheet
            text += (" Ranked by pde: order, tiers and VOR from pde's projection"
                     + (f"; {_n(fallback)} without one (pde \u2013) by the consensus projection, else last season's "
                        "points." if fallback else "."))
        return text


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


LEAGUE_SQL = """
SELECT source, league_id, season, name, size, scoring_format, scoring_settings, roster_positions
  FROM fantasy.leagues WHERE league_id = %(league)s AND (%(season)s::int IS NULL OR season <= %(season)s)
 ORDER BY season DESC LIMIT 1
"""


@dataclass
class League:
    source: str
    league_id: str
    season: int
    name: str | None
    weights: dict[str, float]
    replacement: dict[str, int]
    scoring_format: str | None


def find_league(conn, league_id: str, season: int | None = None) -> League:
    with conn.cursor() as cur:
        cur.execute(LEAGUE_SQL, {"league": str(league_id), "season": season})
        row = cur.fetchone()
    if not row:
        raise CheatSheetError(f"No league {league_id} in fantasy.leagues: crawl it first "
                              f"(`scrapy crawl espn_league -a league_id={league_id}` or sleeper_league).")
    source, lid, l_season, name, size, fmt, settings, positions = row
    return League(source, lid, l_season, name, league_weights(source, settings), league_replacement(size, positions),
                  fmt if fmt in SCORINGS else None)


VALUE_BY = ("consensus", "pde")


def build(conn, scoring: str | None = "ppr", season: int | None = None, top: int | None = None,
          replacement: dict[str, int] | None = None, match: bool = True, league: str | None = None,
          value_by: str = "consensus") -> Sheet:
    """Read the sheet from the database: players in order, and what was found and missing.

    With a league (its id), its own scoring (points per stat) gives the points, projections and VOR,
    its teams times its starting spots the replacement levels, and its format picks the ranking list.
    pde's own projections (fantasy.projections), when trained for the season and scoring, are shown
    beside the rest; with value_by="pde" they value and order the players (the draft lists then order only
    players without points, and break ties).
    """
    if value_by not in VALUE_BY:
        raise ValueError(f"value_by is one of {', '.join(VALUE_BY)}, not {value_by!r}")
    lg = find_league(conn, league, season) if league else None
    scoring = normalize_scoring(scoring or (lg.scoring_format if lg else None) or "ppr")
    replacement = {**REPLACEMENT, **(lg.replacement if lg else {}), **(replacement or {})}
    if match:
        match_players(conn)
    season = season or default_season(conn)
    params = {"season": season, "scoring": scoring, "replacement": json.dumps(replacement),
              "league": lg.league_id if lg else None, "weights": json.dumps(lg.weights if lg else {})}
    pde_run, no_pde = pde_projections(conn, season, scoring)
    params["value_by"] = value_by if pde_run else "consensus"
    with conn.cursor() as cur:
        cur.execute(SHEET_SQL, params)
        cols = [c.name for c in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        cur.execute(LISTS_SQL, params)
        lists = cur.fetchall()
        cur.execute(STATS_SQL, params)
        stats = cur.fetchall()
    conn.rollback()  # read only; ends the transaction

    primary = min((r["priority"] for r in rows if r["priority"] is not None), default=None)  # the best list
    by_list = params["value_by"] == "consensus"  # ranked by pde: the list's tiers and position ranks do not apply
    players = [
        Player(order=i, name=r["name"], position=r["position"], team=r["team"], bye=r["bye_week"],
               rank=r["rank"], rank_list=f"{r['rank_source']}/{r['rank_scoring']}" if r["rank_source"] else None,
               primary=r["priority"] is not None and r["priority"] == primary, tier=r["tier"] if by_list else None,
               pos_rank=(r["source_pos_rank"] if by_list and r["priority"] == primary and r["source_pos_rank"]
                         else r["sheet_pos_rank"]),
               adp=_num(r["adp"]), adp_source=r["adp_source"], last_points=_num(r["last_points"]),
               last_source=r["last_source"], projection=_num(r["projection"]), proj_source=r["proj_source"],
               value_basis=r["value_basis"], vor=_num(r["vor"]), combined_by_name=bool(r["combined_by_name"]),
               pde=_num(r["pde"]))
        for i, r in enumerate(rows, 1)
    ]
    repl = {}
    for r in rows:
        repl.setdefault(r["position"], Replacement(r["position"], r["replacement_rank"], r["valued_at_position"],
                                                   _num(r["replacement_points"])))
    sheet = Sheet(season=season, scoring=scoring, players=pick_top(players, top), total=len(players),
                  replacement={p: repl[p] for p in POSITIONS if p in repl},
                  league=f"{lg.name or 'league ' + lg.league_id} ({lg.source} {lg.league_id})" if lg else None,
                  value_by=params["value_by"], pde_run=pde_run)
    if pde_run:
        pde_run.on_sheet = sum(1 for p in sheet.players if p.pde is not None)
    _describe(sheet, rows, lists, stats)
    if value_by == "pde" and not pde_run:
        sheet.missing.insert(0, no_pde)
    return sheet


def pde_projections(conn, season: int, scoring: str) -> tuple[PdeRun | None, str]:
    """The run behind pde's projections for the season and scoring; else why there are none, in words."""
    with conn.cursor() as cur:
        cur.execute(PDE_RUN_SQL, {"season": season, "scoring": scoring})
        row = cur.fetchone()
        if row:
            return PdeRun(*row[:4], metrics=row[4] or {}, synthetic=bool(row[5]), message=row[6],
                          projections=row[7]), ""
        cur.execute(PDE_ELSE_SQL)
        others, last_run = cur.fetchone()
    train = "`pde model train fantasy`" if scoring == "ppr" else f"`python -m pde.fantasy.projections {scoring}`"
    why = (f"No pde projections for {season} in {SCORINGS[scoring]}: ordered by the consensus instead. "
           f"Train them with {train} (it needs 30 player-seasons with the season before crawled)")
    if others:
        why += f"; fantasy.projections holds {others}"
    if last_run:
        why += f"; the last training run: {last_run.strip().rstrip('.')}"
    return None, why + "."


#: each position's share of a sheet's players (top 200: QB 24, RB 60, WR 66, TE 24, K 12, DEF 14)
POSITION_SHARE = {"QB": 0.12, "RB": 0.30, "WR": 0.33, "TE": 0.12, "K": 0.06, "DEF": 0.07}


def pick_top(players: list[Player], top: int | None) -> list[Player]:
    """The first `top` players in sheet order, no position taking more than its share (so a sheet whose
    lists rank one player never continues with 60 quarterbacks)."""
    if not top:
        return players

    quota = {pos: math.ceil(share * top) for pos, share in POSITION_SHARE.items()}
    taken: dict[str, int] = {}
    out = []
    for p in players:
        if len(out) >= top:
            break
        if taken.get(p.position, 0) < quota.get(p.position, top):
            taken[p.position] = taken.get(p.position, 0) + 1
            out.append(p)
    return out


def _describe(sheet: Sheet, rows: list[dict], lists: list[tuple], stats: list[tuple]) -> None:
    """Fill sheet.sources and sheet.missing from what the query found."""
    season, scoring, flag = sheet.season, sheet.scoring, SCORING_FLAG[sheet.scoring]
    src, miss = sheet.sources, sheet.missing
    by_pde = sheet.value_by == "pde"
    if by_pde:
        src.append(f"Order: pde's {season} projection, by value over replacement")

    def when(published, seen=None) -> str:
        return f", updated {published:%Y-%m-%d}" if published else f", crawled {seen:%Y-%m-%d}" if seen else ""

    # rankings
    used = sorted({(r["priority"], r["rank_source"], r["rank_scoring"]) for r in rows if r["priority"]})
    counts = {(s, sc): (n, pub, seen) for s, sc, n, pub, seen in lists}
    for i, (_, source, sc) in enumerate(used):
        n, pub, seen = counts[(source, sc)]
        role = ("Then" if by_pde else "Order") if i == 0 else "Then, for players it does not rank"
        src.append(f"{role}: {_list_label(source, sc)}, {season} draft, {_n(n)}{when(pub, seen)}")
    if used:
        sheet.primary_list = _list_label(used[0][1], used[0][2])
    if not used:
        miss.append(f"No {season} draft rankings: players are ordered by value over replacement. Crawl "
                    f"`scrapy crawl fantasypros_rankings -a season={season} -a scoring={flag}` (FantasyPros ECR).")
    elif used[0][1:] != ("fantasypros", scoring):
        miss.append(f"No FantasyPros {SCORINGS[scoring]} ECR for {season}: "
                    f"{'then' if by_pde else 'ordered'} by {_list_label(*used[0][1:])} "
                    f"instead. Crawl `scrapy crawl fantasypros_rankings -a season={season} -a scoring={flag}`.")
    ranked = [r for r in rows if r["priority"]]
    if ranked and not by_pde and not any(r["tier"] for r in ranked):
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
                    f"`scrapy crawl pfr_stats -a seasons={season - 1} -a pages=fantasy` (or FantasyPros "
                    "player-points).")
    if by_kind["projection"]:
        src.append(f"{season} projections: " + "; ".join(by_kind["projection"]))
    else:
        miss.append(f"No {season} season projections: the FantasyPros API projections (week 0, FANTASYPROS_API_KEY) "
                    f"or ESPN league projections were not crawled"
                    + (("; without a pde projection, VOR uses last season's points." if by_pde else
                        "; VOR uses last season's points.") if by_kind["actual"] else "."))
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
# One landscape page (two for a long sheet): a column per position (RB and WR run on into a second),
# a tick box per player to cross off the drafted, tier breaks, bye weeks, and a two-line header.
COLUMNS_PER_PAGE = 5
ROWS_PER_COLUMN = 53  # rows of ROW_MM within the page's height below the header
PDE_LINE_ROWS = 2  # rows the pde line (two lines of small print above the notes) takes from each column

PAGE = string.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>$title</title>
<style>
@page { size: $page_size landscape; margin: 6mm 6mm 5mm 6mm; }
* { box-sizing: border-box; }
body { font: 6.3pt/1.1 "DejaVu Sans Condensed", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111;
       margin: 0; font-stretch: condensed; }
.page { break-after: page; height: 198mm; overflow: hidden; }
.page:last-child { break-after: auto; }
header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 1.2px solid #111;
         height: 5mm; }
h1 { font-size: 10pt; margin: 0; white-space: nowrap; flex: none; margin-right: 3mm; }
.meta { font-size: 6pt; color: #444; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0; }
.notes { font-size: 5.4pt; color: #444; height: 5.6mm; overflow: hidden; width: 100%; margin: 0.6mm 0 0.8mm;
         line-height: 1.25; }
.notes b { color: #111; } .notes .miss { color: #9a5800; }
.pdeline { font-size: 5.4pt; color: #222; height: 4.8mm; overflow: hidden; line-height: 1.25; margin-top: 0.5mm; }
td.p { width: 5.6mm; text-align: right; color: #333; font-style: italic; }
.cols { display: flex; gap: 1.6mm; }
.col { flex: 1 1 0; min-width: 0; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
td { height: 3.45mm; padding: 0 0.5mm; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
     border-bottom: 0.4px solid #ddd; font-variant-numeric: tabular-nums; }
td.box { width: 3mm; padding: 0; } td.box span { display: inline-block; width: 2.3mm; height: 2.3mm;
     border: 0.6px solid #333; vertical-align: middle; }
td.n { width: 4.6mm; text-align: right; color: #555; } td.name { font-weight: 600; }
td.name.long { font-size: 5.4pt; letter-spacing: -0.05pt; } table.pde td.name.long { font-size: 5.1pt; }
td.tm { width: 6mm; color: #333; } td.bye { width: 4.2mm; text-align: right; color: #333; }
td.v { width: 7.2mm; text-align: right; font-weight: 700; } td.neg { color: #999; font-weight: 400; }
tr.head td { font-weight: 700; color: #fff; border-bottom: none; font-size: 6.4pt; overflow: visible;
             text-overflow: clip; }
tr.head td.h { padding-left: 1mm; }
tr.tier td { height: 2.6mm; font-size: 5pt; color: #555; border-bottom: 0.9px solid #111; }
tr.head.QB td { background: #c73b3b; } tr.head.RB td { background: #2e8a43; }
tr.head.WR td { background: #2f66b0; } tr.head.TE td { background: #d0841a; }
tr.head.K td { background: #7d5fb0; } tr.head.DEF td { background: #666; }
.none { color: #bbb; }
</style></head>
<body>
$pages
</body></html>
""")


def _fmt(x: float | None, digits: int = 1) -> str:
    return '<span class="none">&ndash;</span>' if x is None else f"{x:.{digits}f}"


def assign_tiers(players: list[Player]) -> tuple[dict[int, int], bool]:
    """Tier of each player (by order) within his position: the source's tiers, else breaks in value.

    Without source tiers, a new tier starts where the drop in value from the player above is larger
    than the position's mean drop plus one standard deviation. Returns ({order: tier}, computed?).
    """
    if any(p.tier is not None for p in players):
        return {p.order: p.tier for p in players if p.tier is not None}, False

    tiers: dict[int, int] = {}
    for pos in POSITIONS:
        group = [p for p in players if p.position == pos]
        values = [p.vor for p in group]
        if sum(v is not None for v in values) < 3:
            continue
        drops = [a - b for a, b in zip(values, values[1:], strict=False) if a is not None and b is not None and a >= b]
        cut = statistics.mean(drops) + (statistics.pstdev(drops) if len(drops) > 1 else 0) if drops else None
        tier, prev = 1, None
        for p, v in zip(group, values, strict=True):
            if prev is not None and v is not None and cut is not None and prev - v > cut:
                tier += 1
            tiers[p.order] = tier
            prev = v if v is not None else prev
    return tiers, True


def layout(sheet: Sheet, rows_per_column: int = ROWS_PER_COLUMN) -> tuple[list[list[list[tuple]]], bool]:
    """Pages of columns of rows: ("head", pos), ("tier", n) or ("player", Player), position by position.

    A position starts a new column unless at least 8 rows (or all of it) fit under the one before.
    """
    tiers, computed = assign_tiers(sheet.players)
    blocks = []
    for pos in POSITIONS:
        group = [p for p in sheet.players if p.position == pos]
        if not group:
            continue
        rows: list[tuple] = [("head", pos)]
        prev = None
        for p in group:
            t = tiers.get(p.order)
            if t is not None and t != prev:
                rows.append(("tier", t))
            prev = t if t is not None else prev
            rows.append(("player", p))
        blocks.append(rows)
    columns: list[list[tuple]] = [[]]
    for rows in blocks:
        room = rows_per_column - len(columns[-1])
        if columns[-1] and room < min(len(rows), 8) + 1:
            columns.append([])
        elif columns[-1]:
            columns[-1].append(("gap", None))
        for row in rows:
            if len(columns[-1]) >= rows_per_column:
                columns.append([("head", rows[0][1] + " (cont.)")] if row[0] != "head" else [])
            columns[-1].append(row)
    pages = [columns[i:i + COLUMNS_PER_PAGE] for i in range(0, len(columns), COLUMNS_PER_PAGE)]
    return pages, computed


# fixed widths for tick box, order, (name), team, bye, value: a fixed-layout table takes them from here
COLGROUP = ('<colgroup><col style="width:3mm"><col style="width:5.6mm"><col><col style="width:6.4mm">'
            '<col style="width:5mm"><col style="width:8mm"></colgroup>')
# with pde's projection before the value: the others a little narrower, to leave the names room
COLGROUP_PDE = ('<colgroup><col style="width:3mm"><col style="width:5.2mm"><col><col style="width:5.4mm">'
                '<col style="width:4.8mm"><col style="width:5.6mm"><col style="width:7.4mm"></colgroup>')


def render_html(sheet: Sheet, page_size: str = "A4") -> str:
    e = html.escape
    pde_line = sheet.pde_line()
    pages, computed = layout(sheet, ROWS_PER_COLUMN - (PDE_LINE_ROWS if pde_line else 0))
    span, colgroup = (7, COLGROUP_PDE) if pde_line else (6, COLGROUP)
    long_name = 15 if pde_line else 19
    table_class = ' class="pde"' if pde_line else ""  # names longer than this print smaller (the pde column takes room)
    pde_head = '<td class="p">pde</td>' if pde_line else ""
    value_label = "VOR" if any(p.vor is not None for p in sheet.players) else "Rank"
    shown = len(sheet.players)
    count = _n(shown) + (f" (top {shown} of {sheet.total})" if shown < sheet.total else "")
    meta = (f"{count} &middot; # = overall order &middot; {value_label}"
            + (" = value over replacement" if value_label == "VOR" else "")
            + (" by pde's projection" if value_label == "VOR" and sheet.value_by == "pde" else "")
            + (" &middot; tiers from value gaps" if computed and value_label == "VOR" else "")
            + f" &middot; generated {sheet.generated_at:%Y-%m-%d %H:%M} by pde")
    repl = ", ".join(f"{rp.position}{rp.needed} {_fmt(rp.points)}" + ("*" if rp.estimated else "")
                     for rp in sheet.replacement.values() if rp.points is not None)
    notes = ("<b>From:</b> " + e("; ".join(sheet.sources) or "nothing crawled")
             + (f" &middot; <b>Replacement:</b> {repl}" if repl else "")
             + (' &middot; <span class="miss"><b>Missing:</b> ' + e(" ".join(sheet.missing)) + "</span>"
                if sheet.missing else ""))
    out = []
    for n, columns in enumerate(pages, 1):
        cols = []
        for col in columns:
            pos = next((r[1].split()[0] for r in col if r[0] == "head"), None) or next(
                (r[1].position for r in col if r[0] == "player"), "")
            trs = []
            for kind, item in col:
                if kind == "head":
                    trs.append(f'<tr class="head {e(item.split()[0])}"><td colspan="3" class="h">{e(item)}</td>'
                               '<td class="tm">Tm</td>'
                               f'<td class="bye">Bye</td>{pde_head}<td class="v">{value_label}</td></tr>')
                elif kind == "tier":
                    trs.append(f'<tr class="tier"><td colspan="{span}">Tier {item}</td></tr>')
                elif kind == "gap":
                    trs.append(f'<tr class="gap"><td colspan="{span}"></td></tr>')
                else:
                    p = item
                    value = p.vor if value_label == "VOR" else p.rank
                    neg = " neg" if value_label == "VOR" and p.vor is not None and p.vor < 0 else ""
                    shown_value = _fmt(value) if value_label == "VOR" else (str(value) if value is not None else "")
                    pde_cell = f'<td class="p">{_fmt(p.pde, 0)}</td>' if pde_line else ""
                    trs.append(f'<tr><td class="box"><span></span></td><td class="n">{p.order}</td>'
                               f'<td class="name{" long" if len(p.name) > long_name else ""}">{e(p.name)}</td><td '
                               f'class="tm">{e(p.team or "")}</td>'
                               f'<td class="bye">{p.bye or ""}</td>{pde_cell}'
                               f'<td class="v{neg}">{shown_value}</td></tr>')
            cols.append(f'<div class="col {e(pos)}"><table{table_class}>{colgroup}{"".join(trs)}</table></div>')
        cols += ['<div class="col"></div>'] * (COLUMNS_PER_PAGE - len(columns))
        head = (f'<header><h1>{e(sheet.title)}</h1><div class="meta">{meta}'
                + (f" &middot; page {n}/{len(pages)}" if len(pages) > 1 else "") + "</div></header>")
        pde_div = f'<div class="pdeline"><b>pde</b>{e(pde_line.removeprefix("pde"))}</div>' if pde_line else ""
        out.append(f'<div class="page">{head}{pde_div}<div class="notes">{notes}</div>'
                   f'<div class="cols">{"".join(cols)}</div></div>')
    if not sheet.players:
        out.append(f'<div class="page"><header><h1>{e(sheet.title)}</h1></header>'
                   f'<div class="notes">{notes}</div><p>No players: see Missing above.</p></div>')
    return PAGE.substitute(title=e(sheet.title), page_size=page_size, pages="\n".join(out))


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
                 prefer_css_page_size=True)
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
                      replacement=args.replacement, match=not args.no_match, league=args.league,
                      value_by=args.value)
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
    if sheet.pde_run:
        print(f"  {sheet.pde_line()}")
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
    p.add_argument("--scoring", type=_scoring_arg, metavar="standard|half|ppr",
                   help="scoring format for ranks, points and VOR (default: the league's, else ppr)")
    p.add_argument("--league", metavar="LEAGUE_ID",
                   help="a crawled league (fantasy.leagues): its scoring gives points, projections and VOR, "
                        "its teams and lineup the replacement levels")
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
    p.add_argument("--value", choices=VALUE_BY, default="consensus",
                   help="what values and orders the players: consensus (the draft lists, then VOR on the FantasyPros "
                        "or ESPN projection, else last season's points; default) or pde (VOR on pde's own projection, "
                        "`pde model train fantasy`; players without one fall back as consensus does)")
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
