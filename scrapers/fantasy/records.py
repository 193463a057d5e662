"""Records of the ``fantasy`` schema (sql/0020_fantasy.sql): leagues, players, stats and rankings.

Every table names its ``source`` ('espn', 'sleeper', 'pfr', 'fantasypros') and
keeps that source's own ids as text (``league_id``, ``team_id``,
``source_player_id``), so rows from several sources sit side by side without
clashing. The person behind a ``source_player_id`` is found through
``fantasy.player_ids`` (our own ``fantasy.players.player_id``, filled by the
SQL function ``fantasy.match_players()``).

Conventions: seasons are the NFL season's year; ``week`` 0 means the whole
season (season totals, draft rankings); fantasy points are ``Decimal`` rounded
to hundredths; team codes are canonical (``scrapers.fantasy.normalize.team_code``:
'KC', 'LV', 'WAS'; PFR's '2TM' for a traded player's combined season);
positions are 'QB', 'RB', 'WR', 'TE', 'K', 'DEF', ... ``None`` means the source
did not say, so a partial view never erases what a fuller one told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from pde.records import Record


@dataclass(kw_only=True)
class SourcePlayer(Record):
    """A player as one source knows him: name, position, team and the other sites' ids it gives."""

    table = "fantasy.source_players"
    key = ("source", "source_player_id")
    history = True
    volatile = ("age",)  # a birthday is not a change worth a history row

    source: str
    source_player_id: str
    full_name: str
    name_key: str
    first_name: str | None = None
    last_name: str | None = None
    position: str | None = None
    fantasy_positions: list | None = None
    team: str | None = None
    birth_date: dt.date | None = None
    age: int | None = None
    years_exp: int | None = None
    college: str | None = None
    height_in: int | None = None
    weight_lb: int | None = None
    jersey: str | None = None
    status: str | None = None
    injury_status: str | None = None
    active: bool | None = None
    espn_id: str | None = None
    yahoo_id: str | None = None
    sportradar_id: str | None = None
    gsis_id: str | None = None
    sportsdata_id: str | None = None
    cbs_id: str | None = None
    mfl_id: str | None = None
    other_ids: dict | None = None
    url: str | None = None


@dataclass(kw_only=True)
class League(Record):
    """One fantasy league in one season (Sleeper gives each season its own league_id)."""

    table = "fantasy.leagues"
    key = ("source", "league_id", "season")
    history = True

    source: str
    league_id: str
    season: int
    name: str | None = None
    status: str | None = None
    size: int | None = None
    scoring_format: str | None = None
    current_week: int | None = None
    playoff_week_start: int | None = None
    playoff_teams: int | None = None
    previous_league_id: str | None = None
    previous_seasons: list | None = None
    draft_id: str | None = None
    roster_positions: list | None = None
    settings: dict | None = None
    scoring_settings: dict | None = None


@dataclass(kw_only=True)
class Team(Record):
    """A fantasy team in a league season, with its standing."""

    table = "fantasy.teams"
    key = ("source", "league_id", "season", "team_id")
    history = True

    source: str
    league_id: str
    season: int
    team_id: str
    name: str | None = None
    abbrev: str | None = None
    owner_ids: list | None = None
    division_id: str | None = None
    wins: int | None = None
    losses: int | None = None
    ties: int | None = None
    points_for: Decimal | None = None
    points_against: Decimal | None = None
    playoff_seed: int | None = None
    final_rank: int | None = None
    waiver_position: int | None = None
    faab_used: int | None = None
    logo_url: str | None = None


@dataclass(kw_only=True)
class Member(Record):
    """A person in a league (ESPN member, Sleeper user)."""

    table = "fantasy.members"
    key = ("source", "league_id", "member_id")

    source: str
    league_id: str
    member_id: str
    season: int | None = None
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    team_name: str | None = None
    is_commissioner: bool | None = None
    avatar: str | None = None


@dataclass(kw_only=True)
class Matchup(Record):
    """One team's side of one week's matchup: its score and its opponent's."""

    table = "fantasy.matchups"
    key = ("source", "league_id", "season", "week", "team_id")
    history = True

    source: str
    league_id: str
    season: int
    week: int
    team_id: str
    matchup_id: str | None = None
    opponent_team_id: str | None = None
    points: Decimal | None = None
    opponent_points: Decimal | None = None
    is_home: bool | None = None
    result: str | None = None
    playoff_tier: str | None = None
    starters: list | None = None
    starters_points: list | None = None
    players: list | None = None
    players_points: dict | None = None


@dataclass(kw_only=True)
class Roster(Record):
    """A fantasy team's current roster (history keeps every earlier version)."""

    table = "fantasy.rosters"
    key = ("source", "league_id", "season", "team_id")
    history = True
    volatile = ("week",)  # the week it was read in moves on; a new version only when players move

    source: str
    league_id: str
    season: int
    team_id: str
    week: int | None = None
    owner_id: str | None = None
    co_owner_ids: list | None = None
    player_ids: list | None = None
    starters: list | None = None
    reserve: list | None = None
    taxi: list | None = None
    lineup: dict | None = None


@dataclass(kw_only=True)
class DraftPick(Record):
    """One pick of a league's draft."""

    table = "fantasy.draft_picks"
    key = ("source", "league_id", "season", "overall_pick")

    source: str
    league_id: str
    season: int
    overall_pick: int
    draft_id: str | None = None
    round: int | None = None
    round_pick: int | None = None
    team_id: str | None = None
    member_id: str | None = None
    source_player_id: str | None = None
    player_name: str | None = None
    position: str | None = None
    nfl_team: str | None = None
    is_keeper: bool | None = None
    bid_amount: int | None = None


@dataclass(kw_only=True)
class Transaction(Record):
    """An add, drop, waiver claim or trade: adds/drops map player id -> team id."""

    table = "fantasy.transactions"
    key = ("source", "transaction_id")

    source: str
    transaction_id: str
    league_id: str | None = None
    season: int | None = None
    week: int | None = None
    type: str | None = None
    status: str | None = None
    created_at: dt.datetime | None = None
    status_updated_at: dt.datetime | None = None
    team_ids: list | None = None
    adds: dict | None = None
    drops: dict | None = None
    faab_bid: int | None = None
    creator_id: str | None = None
    notes: str | None = None
    draft_picks: list | None = None
    details: list | None = None


@dataclass(kw_only=True)
class PlayerStats(Record):
    """A player's stat line for a season (week 0) or a week, actual or projected, from one source."""

    table = "fantasy.player_stats"
    key = ("source", "source_player_id", "season", "week", "kind")
    history = True

    source: str
    source_player_id: str
    season: int
    week: int
    kind: str
    player_name: str | None = None
    position: str | None = None
    team: str | None = None
    games: int | None = None
    games_started: int | None = None
    points_std: Decimal | None = None
    points_half: Decimal | None = None
    points_ppr: Decimal | None = None
    points_league: Decimal | None = None
    league_id: str | None = None
    pass_cmp: float | None = None
    pass_att: float | None = None
    pass_yds: float | None = None
    pass_td: float | None = None
    pass_int: float | None = None
    rush_att: float | None = None
    rush_yds: float | None = None
    rush_td: float | None = None
    targets: float | None = None
    rec: float | None = None
    rec_yds: float | None = None
    rec_td: float | None = None
    fumbles_lost: float | None = None
    stats: dict | None = None


@dataclass(kw_only=True)
class Ranking(Record):
    """A player's place in a ranking: expert consensus, site draft rank, ADP."""

    table = "fantasy.rankings"
    key = ("source", "season", "week", "ranking_type", "scoring", "position_group", "source_player_id")
    history = True

    source: str
    season: int
    week: int
    ranking_type: str
    scoring: str
    position_group: str
    source_player_id: str
    player_name: str | None = None
    position: str | None = None
    team: str | None = None
    rank: int | None = None
    pos_rank: int | None = None
    tier: int | None = None
    rank_min: int | None = None
    rank_max: int | None = None
    rank_avg: float | None = None
    rank_std: float | None = None
    adp: float | None = None
    auction_value: Decimal | None = None
    owned_pct: float | None = None
    started_pct: float | None = None
    bye_week: int | None = None
    expert_count: int | None = None
    published_at: dt.datetime | None = None


@dataclass(kw_only=True)
class Trending(Record):
    """How many leagues added or dropped a player in the lookback window, as seen on a day."""

    table = "fantasy.trending"
    key = ("source", "source_player_id", "direction", "observed_on")

    source: str
    source_player_id: str
    direction: str
    observed_on: dt.date
    count: int | None = None
    rank: int | None = None
    lookback_hours: int | None = None
    observed_at: dt.datetime | None = None


@dataclass(kw_only=True)
class NflTeamSeason(Record):
    """An NFL team's season: standings and offense totals (PFR season page)."""

    table = "fantasy.nfl_team_seasons"
    key = ("source", "season", "team")
    history = True

    source: str
    season: int
    team: str
    team_name: str | None = None
    games: int | None = None
    wins: int | None = None
    losses: int | None = None
    ties: int | None = None
    points: int | None = None
    points_against: int | None = None
    total_yards: int | None = None
    plays: int | None = None
    turnovers: int | None = None
    pass_yds: int | None = None
    rush_yds: int | None = None
    stats: dict | None = None


@dataclass(kw_only=True)
class NflRosterEntry(Record):
    """A player on an NFL team's season roster (PFR roster page)."""

    table = "fantasy.nfl_rosters"
    key = ("source", "season", "team", "source_player_id")

    source: str
    season: int
    team: str
    source_player_id: str
    player_name: str | None = None
    position: str | None = None
    jersey: str | None = None
    age: int | None = None
    games: int | None = None
    games_started: int | None = None
    experience: int | None = None
    approximate_value: int | None = None
    draft_info: str | None = None


# -- after a fantasy crawl (PdeSpider.after_load: the pipeline runs these once the rows are in) ---------------
#: link the players this crawl added to fantasy.players, a row for each new person (safe to repeat)
MATCH_PLAYERS = ("SELECT * FROM fantasy.match_players(true)", None)


def claim_me(source: str, member_id: str | None, where: str) -> list[tuple[str, dict]]:
    """Mark the user's own member id in fantasy.me, when the crawl's credentials name it and the league
    knows that member (a member, a team's owner or a roster's owner: a mistyped id marks nothing).
    The id is never logged."""
    if not member_id or not member_id.strip():
        return []
    member_id = member_id.strip()
    if source == "espn" and not member_id.startswith("{"):
        member_id = "{" + member_id + "}"  # ESPN member ids are the SWID cookie with its braces
    return [("""INSERT INTO fantasy.me (source, member_id, note)
                SELECT %(source)s, k.id, %(note)s
                  FROM (SELECT m.member_id AS id FROM fantasy.members m
                         WHERE m.source = %(source)s AND upper(m.member_id) = upper(%(id)s)
                        UNION
                        SELECT o.id FROM fantasy.teams t
                         CROSS JOIN jsonb_array_elements_text(coalesce(t.owner_ids, '[]')) o(id)
                         WHERE t.source = %(source)s AND upper(o.id) = upper(%(id)s)
                        UNION
                        SELECT r.owner_id FROM fantasy.rosters r
                         WHERE r.source = %(source)s AND upper(r.owner_id) = upper(%(id)s)) k
                 LIMIT 1
                ON CONFLICT DO NOTHING""",
             {"source": source, "id": member_id, "note": f"from {where} (set by the crawl)"})]
