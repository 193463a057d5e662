"""Sleeper fantasy league: league and settings, users, rosters and standings, weekly matchups,
transactions, draft picks; NFL state; trending adds/drops; the players database.

Reads Sleeper's public read-only API (api.sleeper.app/v1, no credentials). A
live crawl asks /state/nfl for the current season and week, then the league,
its users, rosters, draft picks, and matchups and transactions for weeks
1..current (every week of a past season).

    scrapy crawl sleeper_league -a league_id=289646328504385536
    scrapy crawl sleeper_league -a league_id=... -a previous=2      # and the two seasons before
    scrapy crawl sleeper_league -a url=matchups.json -a league_id=... -a season=2018 -a week=1

Arguments: ``league_id`` (without it only trending and the players database
are read), ``previous`` (also crawl that many earlier seasons of the league),
``weeks`` (limit matchups/transactions to these weeks: ``3``, ``1-4``, ``1,5``),
``players`` (``auto``: the ~5 MB players database when pde's copy is older than
20 hours; ``1`` always; ``0`` never), ``trending`` (``add,drop``; empty for
none), ``trending_hours`` (24), ``trending_limit`` (25). For saved files:
``league_id``, ``season``, ``week`` and ``trending=add|drop`` say what a
response does not (matchups name neither league nor week).

Sleeper allows 1,000 calls a minute; this spider stays far below (2 at a time,
a quarter second apart: at most ~240 a minute).

Parsing
-------
Sleeper's public API (https://api.sleeper.app/v1) -> fantasy records.

Each endpoint is recognised by the shape of its JSON, never by its URL:
league (``league_id`` + ``roster_positions``), users (``user_id``), rosters
(``roster_id`` + ``owner_id``), matchups (``matchup_id`` + ``points``),
transactions (``transaction_id``), draft picks (``pick_no``), trending
(``player_id`` + ``count``), NFL state (``season_type`` + ``week``) and the
players database (an object keyed by player id).

Several endpoints do not say which league, season or week they answer for
(matchups carry neither league nor week; rosters and users no season). The
spider passes that in a ``Context`` (from the request chain, or ``-a`` arguments
for saved files); a row whose key cannot be completed becomes ``Rejected``
with the argument to pass.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any

import scrapy

from pde.db import connect, database_url
from pde.records import Record, Rejected
from pde.sources import Arg, ParseError, is_true, load_json
from scrapers.fantasy.normalize import (
    from_epoch_ms,
    height_inches,
    name_key,
    points,
    position_code,
    team_code,
    text_id,
    to_date,
    to_int,
)
from scrapers.fantasy.records import (
    MATCH_PLAYERS,
    DraftPick,
    League,
    Matchup,
    Member,
    Roster,
    SourcePlayer,
    Team,
    Transaction,
    Trending,
    claim_me,
)
from scrapers.spider import PdeSpider

SOURCE = "sleeper"
API = "https://api.sleeper.app/v1"
#: the players database is ~5 MB: fetch it at most this often
PLAYERS_MAX_AGE = dt.timedelta(hours=20)
#: when the players database was last loaded (run against pde's database)
PLAYERS_LAST_FETCHED_SQL = (
    "SELECT max(last_seen_at) FROM fantasy.source_players WHERE source = 'sleeper'"
)
#: other sites' ids a Sleeper player record carries: these have columns of their own ...
XREF_COLUMNS = ("espn_id", "yahoo_id", "sportradar_id", "gsis_id")
#: ... these go to source_players.other_ids
OTHER_IDS = ("rotowire_id", "rotoworld_id", "fantasy_data_id", "stats_id", "swish_id", "pandascore_id",
             "oddsjam_id", "opta_id")


@dataclass(frozen=True)
class Context:
    league_id: str | None = None
    season: int | None = None
    week: int | None = None
    #: the week is over (earlier than the NFL's current week): its matchups have a result
    week_final: bool = False
    #: owner user_id -> team name (from the users endpoint), to name rosters' teams
    team_names: tuple[tuple[str, str], ...] = ()
    trending: str | None = None  # 'add' / 'drop': which trending list a response is
    lookback_hours: int | None = None
    observed_at: dt.datetime | None = None


class UnknownLayout(ValueError):
    """The JSON is not a Sleeper response we know."""


def kind_of(data: Any) -> str:
    """Which endpoint answered: league, state, players, users, rosters, matchups,
    transactions, draft_picks, trending, or 'empty' for []."""
    if isinstance(data, dict):
        if "league_id" in data and ("roster_positions" in data or "scoring_settings" in data
                                    or "total_rosters" in data):
            return "league"
        if "season_type" in data and "week" in data and "league_id" not in data:
            return "state"
        if "draft_id" in data and ("draft_order" in data or "slot_to_roster_id" in data):
            return "draft"
        if "user_id" in data and "username" in data:
            return "user"
        values = [v for v in data.values() if isinstance(v, dict)]
        if values and len(values) == len(data) and all("player_id" in v for v in values[:50]):
            return "players"
        raise UnknownLayout(f"a JSON object with keys {sorted(data)[:12]}")
    if not isinstance(data, list):
        raise UnknownLayout(f"a JSON {type(data).__name__}")
    if not data:
        return "empty"
    first = data[0]
    if not isinstance(first, dict):
        raise UnknownLayout("a JSON list of non-objects")
    if "previous_owner_id" in first and "round" in first:
        return "traded_picks"  # roster_id + owner_id too: must not be read as rosters
    if "draft_id" in first and ("draft_order" in first or "slot_to_roster_id" in first or "creators" in first):
        return "drafts"
    if "league_id" in first and "total_rosters" in first:
        return "leagues"
    if {"r", "m", "t1", "t2"} <= set(first):
        return "bracket"
    if "transaction_id" in first:
        return "transactions"
    if "pick_no" in first:
        return "draft_picks"
    if "matchup_id" in first and "points" in first:
        return "matchups"
    if "roster_id" in first and "owner_id" in first:
        return "rosters"
    if "user_id" in first and "display_name" in first:
        return "users"
    if set(first) == {"player_id", "count"} or ("player_id" in first and "count" in first and len(first) <= 3):
        return "trending"
    raise UnknownLayout(f"a JSON list of objects with keys {sorted(first)[:12]}")


#: Sleeper answers that are recognised but not read, and what to crawl instead
NOT_READ = {
    "traded_picks": "traded draft picks (GET /league/<id>/traded_picks), not rosters; pde does not store "
                    "traded picks",
    "drafts": "a list of drafts (GET /league/<id>/drafts or /user/<id>/drafts/nfl/<season>); pde reads a "
              "draft's picks (GET /draft/<draft_id>/picks), which a league crawl fetches",
    "draft": "one draft's settings (GET /draft/<id>); pde reads its picks (GET /draft/<draft_id>/picks), "
             "which a league crawl fetches",
    "leagues": "a user's list of leagues (GET /user/<id>/leagues/nfl/<season>); crawl one of them with "
               "-a league_id=<its league_id>",
    "user": "a user profile (GET /user/<name>); crawl a league with -a league_id=<league id>",
    "bracket": "a playoff bracket (GET /league/<id>/winners_bracket or losers_bracket); pde does not store "
               "brackets (the playoff results are in the matchups)",
}


def parse(data: Any, ctx: Context) -> Iterator[Record | Rejected]:
    kind = kind_of(data)
    if kind in NOT_READ:
        raise UnknownLayout(f"this is Sleeper's {NOT_READ[kind]}. Nothing was taken from it")
    if kind in ("empty", "state"):
        return
    yield from PARSERS[kind](data, ctx)


def _missing(ctx: Context, *needed: str) -> list[str]:
    return [f"-a {n}=..." for n in needed if getattr(ctx, n) is None]


def _reject(table: str, what: str, raw: Any, missing: list[str]) -> Rejected:
    return Rejected(table=table, reason=f"{what} does not say its {', '.join(m[3:-4] for m in missing)}: "
                                          f"crawl it through the league or pass {' '.join(missing)}", raw=raw)


# -- league, users, rosters ---------------------------------------------------------------
def parse_league(data: dict, ctx: Context) -> Iterator[Record | Rejected]:
    season = to_int(data.get("season"))
    if season is None:
        yield Rejected(table=League.table, reason="league without season", raw=data)
        return
    settings = data.get("settings") or {}
    scoring = data.get("scoring_settings") or {}
    rec = scoring.get("rec")
    yield League(
        source=SOURCE, league_id=str(data["league_id"]), season=season, name=data.get("name"),
        status=data.get("status"), size=to_int(data.get("total_rosters")) or to_int(settings.get("num_teams")),
        scoring_format=None if rec is None else {1: "ppr", 0.5: "half", 0: "std"}.get(rec, "custom"),
        current_week=to_int(settings.get("leg")),
        playoff_week_start=to_int(settings.get("playoff_week_start")),
        playoff_teams=to_int(settings.get("playoff_teams")),
        previous_league_id=text_id(data.get("previous_league_id")),
        draft_id=text_id(data.get("draft_id")),
        roster_positions=data.get("roster_positions"), settings=settings or None, scoring_settings=scoring or None,
    )


def parse_users(data: list, ctx: Context) -> Iterator[Record | Rejected]:
    for user in data:
        league_id = text_id(user.get("league_id")) or ctx.league_id
        if not user.get("user_id") or league_id is None:
            yield Rejected(table=Member.table, reason="user without user_id or league_id", raw=user)
            continue
        yield Member(
            source=SOURCE, league_id=league_id, member_id=str(user["user_id"]), season=ctx.season,
            display_name=user.get("display_name"), team_name=(user.get("metadata") or {}).get("team_name"),
            is_commissioner=user.get("is_owner"), avatar=user.get("avatar"),
        )


def team_names(users: list) -> tuple[tuple[str, str], ...]:
    """owner user_id -> the team name a roster shows (metadata.team_name, else the display name)."""
    return tuple((str(u["user_id"]), (u.get("metadata") or {}).get("team_name") or u.get("display_name"))
                 for u in users if u.get("user_id") and (u.get("display_name") or u.get("metadata")))


def _fpts(settings: dict, name: str):
    whole = settings.get(name)
    if whole is None:
        return None
    return points(whole + (settings.get(f"{name}_decimal") or 0) / 100)


def parse_rosters(data: list, ctx: Context) -> Iterator[Record | Rejected]:
    names = dict(ctx.team_names)
    for roster in data:
        league_id = text_id(roster.get("league_id")) or ctx.league_id
        missing = _missing(replace(ctx, league_id=league_id), "league_id", "season")
        if roster.get("roster_id") is None or missing:
            yield (_reject(Team.table, "a rosters response", roster, missing) if missing
                   else Rejected(table=Team.table, reason="roster without roster_id", raw=roster))
            continue
        team_id, owner = str(roster["roster_id"]), text_id(roster.get("owner_id"))
        s = roster.get("settings") or {}
        yield Team(
            source=SOURCE, league_id=league_id, season=ctx.season, team_id=team_id,
            name=names.get(owner) if owner else None,
            owner_ids=[o for o in [owner, *(roster.get("co_owners") or [])] if o] or None,
            division_id=text_id(s.get("division")),
            wins=to_int(s.get("wins")), losses=to_int(s.get("losses")), ties=to_int(s.get("ties")),
            points_for=_fpts(s, "fpts"), points_against=_fpts(s, "fpts_against"),
            waiver_position=to_int(s.get("waiver_position")), faab_used=to_int(s.get("waiver_budget_used")),
        )
        yield Roster(
            source=SOURCE, league_id=league_id, season=ctx.season, team_id=team_id, week=ctx.week,
            owner_id=owner, co_owner_ids=roster.get("co_owners") or None,
            player_ids=roster.get("players") or [], starters=roster.get("starters") or [],
            reserve=roster.get("reserve") or None, taxi=roster.get("taxi") or None,
        )


# -- weekly: matchups, transactions ------------------------------------------------------
def parse_matchups(data: list, ctx: Context) -> Iterator[Record | Rejected]:
    missing = _missing(ctx, "league_id", "season", "week")
    by_matchup: dict[Any, list[dict]] = {}
    for entry in data:
        if entry.get("matchup_id") is not None:
            by_matchup.setdefault(entry["matchup_id"], []).append(entry)
    for entry in data:
        if missing or entry.get("roster_id") is None:
            yield (_reject(Matchup.table, "a matchups response", entry, missing) if missing
                   else Rejected(table=Matchup.table, reason="matchup entry without roster_id", raw=entry))
            continue
        others = [o for o in by_matchup.get(entry.get("matchup_id"), []) if o is not entry]
        other = others[0] if len(others) == 1 else None
        pts, opp = points(entry.get("points")), points(other.get("points")) if other else None
        result = None
        if ctx.week_final and pts is not None and opp is not None:
            result = "W" if pts > opp else "L" if pts < opp else "T"
        starters = entry.get("starters")
        yield Matchup(
            source=SOURCE, league_id=ctx.league_id, season=ctx.season, week=ctx.week,
            team_id=str(entry["roster_id"]), matchup_id=text_id(entry.get("matchup_id")),
            opponent_team_id=text_id(other.get("roster_id")) if other else None,
            points=pts, opponent_points=opp, result=result,
            starters=starters, starters_points=entry.get("starters_points"),
            players=entry.get("players"), players_points=entry.get("players_points"),
        )


def parse_transactions(data: list, ctx: Context) -> Iterator[Record | Rejected]:
    for tx in data:
        if not tx.get("transaction_id"):
            yield Rejected(table=Transaction.table, reason="transaction without transaction_id", raw=tx)
            continue
        settings = tx.get("settings") or {}
        as_text = lambda m: {str(k): str(v) for k, v in m.items()} if m else None  # noqa: E731
        yield Transaction(
            source=SOURCE, transaction_id=str(tx["transaction_id"]), league_id=ctx.league_id,
            season=ctx.season, week=to_int(tx.get("leg")) or ctx.week, type=tx.get("type"),
            status=tx.get("status"), created_at=from_epoch_ms(tx.get("created")),
            status_updated_at=from_epoch_ms(tx.get("status_updated")),
            team_ids=[str(r) for r in tx.get("roster_ids") or []] or None,
            adds=as_text(tx.get("adds")), drops=as_text(tx.get("drops")),
            faab_bid=to_int(settings.get("waiver_bid")), creator_id=text_id(tx.get("creator")),
            notes=(tx.get("metadata") or {}).get("notes"),
            draft_picks=tx.get("draft_picks") or None, details=tx.get("waiver_budget") or None,
        )


# -- draft, trending, players -----------------------------------------------------------
def parse_draft_picks(data: list, ctx: Context) -> Iterator[Record | Rejected]:
    missing = _missing(ctx, "league_id", "season")
    teams = max((to_int(p.get("draft_slot")) or 0 for p in data), default=0)
    for pick in data:
        if missing or not to_int(pick.get("pick_no")):
            yield (_reject(DraftPick.table, "a draft picks response", pick, missing) if missing
                   else Rejected(table=DraftPick.table, reason="pick without pick_no", raw=pick))
            continue
        meta = pick.get("metadata") or {}
        name = " ".join(p for p in (meta.get("first_name"), meta.get("last_name")) if p) or None
        overall, rnd = to_int(pick["pick_no"]), to_int(pick.get("round"))
        yield DraftPick(
            source=SOURCE, league_id=ctx.league_id, season=ctx.season, overall_pick=overall,
            draft_id=text_id(pick.get("draft_id")), round=rnd,
            round_pick=overall - (rnd - 1) * teams if rnd and teams else None,
            team_id=text_id(pick.get("roster_id")), member_id=text_id(pick.get("picked_by")),
            source_player_id=text_id(pick.get("player_id")), player_name=name,
            position=position_code(meta.get("position")), nfl_team=team_code(meta.get("team")),
            is_keeper=pick.get("is_keeper"),
        )


def parse_trending(data: list, ctx: Context) -> Iterator[Record | Rejected]:
    if ctx.trending not in ("add", "drop") or ctx.observed_at is None:
        for row in data:
            yield Rejected(table=Trending.table, raw=row,
                           reason="a trending list does not say whether it counts adds or drops: pass -a "
                                  "trending=add|drop")
        return
    for rank, row in enumerate(data, 1):
        if not row.get("player_id"):
            yield Rejected(table=Trending.table, reason="trending row without player_id", raw=row)
            continue
        yield Trending(
            source=SOURCE, source_player_id=str(row["player_id"]), direction=ctx.trending,
            observed_on=ctx.observed_at.date(), count=to_int(row.get("count")), rank=rank,
            lookback_hours=ctx.lookback_hours, observed_at=ctx.observed_at,
        )


def parse_players(data: dict, ctx: Context) -> Iterator[Record | Rejected]:
    for pid, p in data.items():
        name = p.get("full_name") or " ".join(x for x in (p.get("first_name"), p.get("last_name")) if x)
        if not name:
            yield Rejected(table=SourcePlayer.table, reason="player without a name", raw=p)
            continue
        other = {k.removesuffix("_id"): str(p[k]) for k in OTHER_IDS if p.get(k) not in (None, "")}
        yield SourcePlayer(
            source=SOURCE, source_player_id=str(p.get("player_id") or pid), full_name=name, name_key=name_key(name),
            first_name=p.get("first_name"), last_name=p.get("last_name"),
            position=position_code(p.get("position")), fantasy_positions=p.get("fantasy_positions"),
            team=team_code(p.get("team")), birth_date=to_date(p.get("birth_date")), age=to_int(p.get("age")),
            years_exp=to_int(p.get("years_exp")), college=p.get("college"), height_in=height_inches(p.get("height")),
            weight_lb=to_int(p.get("weight")), jersey=text_id(p.get("number")), status=p.get("status"),
            injury_status=p.get("injury_status") or None, active=p.get("active"),
            **{k: text_id(p.get(k)) for k in XREF_COLUMNS}, other_ids=other or None,
        )


PARSERS = {
    "league": parse_league, "users": parse_users, "rosters": parse_rosters, "matchups": parse_matchups,
    "transactions": parse_transactions, "draft_picks": parse_draft_picks, "trending": parse_trending,
    "players": parse_players,
}


def players_refresh_due(last_fetched: dt.datetime | None, now: dt.datetime | None = None,
                        max_age: dt.timedelta = PLAYERS_MAX_AGE) -> bool:
    """Whether the ~5 MB players database should be fetched again."""
    if last_fetched is None:
        return True
    now = now or dt.datetime.now(dt.UTC)
    if last_fetched.tzinfo is None:
        last_fetched = last_fetched.replace(tzinfo=dt.UTC)
    return now - last_fetched >= max_age


def players_last_fetched(conn) -> dt.datetime | None:
    """When pde last loaded Sleeper's players database (None: never, or no such table yet)."""
    try:
        with conn.cursor() as cur:
            cur.execute(PLAYERS_LAST_FETCHED_SQL)
            row = cur.fetchone()
        return row[0] if row else None
    except Exception:  # table missing on a fresh database: treat as never fetched
        conn.rollback()
        return None


logger = logging.getLogger(__name__)


def parse_weeks(spec: str) -> set[int]:
    """'3' / '1-4' / '1,5,7-8' -> the set of weeks."""
    weeks: set[int] = set()
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        lo, _, hi = part.partition("-")
        weeks.update(range(int(lo), int(hi or lo) + 1))
    return weeks


class SleeperLeagueSpider(PdeSpider):
    name = "sleeper_league"
    area = "fantasy"
    custom_settings = {"CONCURRENT_REQUESTS_PER_DOMAIN": 2, "DOWNLOAD_DELAY": 0.25}

    args = (
        Arg("league_id", "your Sleeper league id; without it only trending and the players database are read",
            pattern=r"\d+", allowed="digits (the id in the league's URL)", example="289646328504385536"),
        Arg("previous", "also crawl this many earlier seasons of the league", type=int, default=0, min=0),
        Arg("weeks", "limit matchups and transactions to these weeks", pattern=r"\s*\d+(\s*-\s*\d+)?\s*"
            r"(,\s*\d+(\s*-\s*\d+)?\s*)*", allowed="week numbers: 3, 1-4 or 1,5,7-8"),
        Arg("players", "the ~5 MB players database: auto (when pde's copy is older than 20 hours), 1 always, "
            "0 never", choices=("auto", "1", "0", "yes", "no", "true", "false"), default="auto"),
        Arg("trending", "trending players to read (empty for none; for a saved file: which one it is)",
            type=list, choices=("add", "drop"), default="add,drop"),
        Arg("trending_hours", "trending look-back in hours", type=int, default=24, min=1),
        Arg("trending_limit", "trending players per list", type=int, default=25, min=1),
        Arg("season", "for saved files: the season of responses that do not say it", type=int, min=2017),
        Arg("week", "for saved files: the week of matchups and transactions", type=int, min=0, max=23),
    )

    def after_load(self):
        """Once the rows are in: link the new players, and mark you in fantasy.me."""
        return [MATCH_PLAYERS, *claim_me("sleeper", os.environ.get("SLEEPER_USER_ID"), "SLEEPER_USER_ID")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        league_id, season, week = self.league_id, self.season, self.week
        self.players = self.players.lower()
        self.weeks = parse_weeks(self.weeks) if self.weeks else None
        file_trending = self.trending[0] if len(self.trending) == 1 else None
        self.file_ctx = Context(league_id=league_id, season=season, week=week,
                                week_final=season is not None and week is not None, trending=file_trending,
                                lookback_hours=self.trending_hours if file_trending else None)

    # -- requests ---------------------------------------------------------------------
    def live_requests(self):
        yield self._get(f"{API}/state/nfl", Context(league_id=self.league_id))
        for direction in self.trending:
            yield self._get(
                f"{API}/players/nfl/trending/{direction}?lookback_hours={self.trending_hours}&limit={self.trending_limit}",
                Context(trending=direction, lookback_hours=self.trending_hours))
        if self.players_wanted():
            yield self._get(f"{API}/players/nfl", Context())

    def _get(self, url: str, ctx: Context, **state) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse, meta={"sleeper_ctx": ctx, "follow": True, **state})

    def players_wanted(self) -> bool:
        if str(self.players).strip().lower() != "auto":
            return is_true(self.players)
        try:
            conn = connect(database_url(start=False))
        except Exception as exc:  # no database reachable: fetch, the pipeline will say what happened
            logger.info("Cannot tell when Sleeper's players were last loaded (%s): fetching them", exc)
            return True
        try:
            return players_refresh_due(players_last_fetched(conn))
        finally:
            conn.close()

    # -- parsing -----------------------------------------------------------------------
    def parse(self, response):
        data = load_json(response.text, response.url, "a Sleeper API response")
        try:
            kind = kind_of(data)
        except UnknownLayout as exc:
            raise ParseError(
                f"{response.url}: {exc}; expected a Sleeper league, users, rosters, matchups, transactions, "
                "draft picks, trending list, NFL state or players database"
            ) from exc
        if kind in NOT_READ:
            raise ParseError(f"{response.url}: this is Sleeper's {NOT_READ[kind]}. Nothing was taken from it.")
        ctx = response.meta.get("sleeper_ctx") or self.file_ctx
        if kind == "trending" and ctx.observed_at is None:
            ctx = replace(ctx, observed_at=self._observed_at(response))
        yield from parse(data, ctx)
        if response.meta.get("follow"):
            yield from self.follow(kind, data, ctx, response.meta)

    @staticmethod
    def _observed_at(response) -> dt.datetime:
        date = response.headers.get("Date")
        if date:
            try:
                return parsedate_to_datetime(date.decode("latin-1"))
            except (TypeError, ValueError):
                pass
        return dt.datetime.now(dt.UTC).replace(microsecond=0)

    def follow(self, kind: str, data, ctx: Context, meta: dict):
        """The next requests of a live crawl, from what a response told."""
        if kind == "state" and self.league_id:
            state = {"state_season": to_int(data.get("season")), "state_week": to_int(data.get("week")) or 0,
                     "season_type": data.get("season_type"), "previous_left": self.previous}
            yield self._get(f"{API}/league/{self.league_id}", ctx, **state)
        elif kind == "league":
            yield from self._league_followups(data, meta)
        elif kind == "users":
            yield self._get(f"{API}/league/{ctx.league_id}/rosters",
                            replace(ctx, team_names=team_names(data)))

    def _league_followups(self, league: dict, meta: dict):
        league_id, season = str(league["league_id"]), to_int(league.get("season"))
        state_season, state_week = meta.get("state_season"), meta.get("state_week") or 0
        settings = league.get("settings") or {}
        if season == state_season and meta.get("season_type") != "off":
            last_week = state_week if meta.get("season_type") in ("regular", "post") else 0
            current_week = state_week or None
        else:  # a past season: every week that was scored
            last_week = to_int(settings.get("last_scored_leg")) or to_int(settings.get("leg")) or 18
            current_week = None
        ctx = Context(league_id=league_id, season=season, week=current_week)
        yield self._get(f"{API}/league/{league_id}/users", ctx)
        if league.get("draft_id"):
            yield self._get(f"{API}/draft/{league['draft_id']}/picks", ctx)
        complete = league.get("status") == "complete" or season != state_season
        for week in range(1, last_week + 1):
            if self.weeks is not None and week not in self.weeks:
                continue
            wctx = replace(ctx, week=week, week_final=complete or week < state_week)
            yield self._get(f"{API}/league/{league_id}/matchups/{week}", wctx)
            yield self._get(f"{API}/league/{league_id}/transactions/{week}", wctx)
        previous = league.get("previous_league_id")
        if previous and previous != "0" and meta.get("previous_left", 0) > 0:
            yield self._get(f"{API}/league/{previous}", Context(league_id=previous),
                            state_season=state_season, state_week=state_week, season_type=meta.get("season_type"),
                            previous_left=meta["previous_left"] - 1)
