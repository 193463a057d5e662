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
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import replace
from email.utils import parsedate_to_datetime

import scrapy

from scrapers.fantasy import sleeper
from scrapers.fantasy.normalize import to_int
from scrapers.spiders.base import ParseError, PdeSpider

logger = logging.getLogger(__name__)
API = sleeper.API


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

    def __init__(self, *args, league_id: str | None = None, previous: str = "0", players: str = "auto",
                 weeks: str | None = None, season: str | None = None, week: str | None = None,
                 trending: str = "add,drop", trending_hours: str = "24", trending_limit: str = "25", **kwargs):
        super().__init__(*args, **kwargs)
        self.league_id = league_id
        self.previous = int(previous)
        self.players = players.lower()
        self.weeks = parse_weeks(weeks) if weeks else None
        self.trending = [t.strip() for t in trending.split(",") if t.strip()]
        if set(self.trending) - {"add", "drop"}:
            raise ValueError(f"sleeper_league: -a trending takes add and/or drop, not {trending!r}")
        self.trending_hours, self.trending_limit = int(trending_hours), int(trending_limit)
        file_trending = self.trending[0] if len(self.trending) == 1 else None
        self.file_ctx = sleeper.Context(league_id=league_id, season=to_int(season), week=to_int(week),
                                        week_final=bool(season and week), trending=file_trending,
                                        lookback_hours=self.trending_hours if file_trending else None)

    # -- requests ---------------------------------------------------------------------
    def live_requests(self):
        yield self._get(f"{API}/state/nfl", sleeper.Context(league_id=self.league_id))
        for direction in self.trending:
            yield self._get(
                f"{API}/players/nfl/trending/{direction}?lookback_hours={self.trending_hours}&limit={self.trending_limit}",
                sleeper.Context(trending=direction, lookback_hours=self.trending_hours))
        if self.players_wanted():
            yield self._get(f"{API}/players/nfl", sleeper.Context())

    def _get(self, url: str, ctx: sleeper.Context, **state) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse, meta={"sleeper_ctx": ctx, "follow": True, **state})

    def players_wanted(self) -> bool:
        if self.players in ("1", "yes", "true"):
            return True
        if self.players in ("0", "no", "false"):
            return False
        try:
            from pde.db import connect, database_url

            conn = connect(database_url(start=False))
        except Exception as exc:  # no database reachable: fetch, the pipeline will say what happened
            logger.info("Cannot tell when Sleeper's players were last loaded (%s): fetching them", exc)
            return True
        try:
            return sleeper.players_refresh_due(sleeper.players_last_fetched(conn))
        finally:
            conn.close()

    # -- parsing -----------------------------------------------------------------------
    def parse(self, response):
        try:
            data = json.loads(response.text)
        except ValueError as exc:
            raise ParseError(f"{response.url}: not JSON ({exc}); expected a Sleeper API response") from exc
        try:
            kind = sleeper.kind_of(data)
        except sleeper.UnknownLayout as exc:
            raise ParseError(
                f"{response.url}: {exc}; expected a Sleeper league, users, rosters, matchups, transactions, "
                "draft picks, trending list, NFL state or players database"
            ) from exc
        ctx = response.meta.get("sleeper_ctx") or self.file_ctx
        if kind == "trending" and ctx.observed_at is None:
            ctx = replace(ctx, observed_at=self._observed_at(response))
        yield from sleeper.parse(data, ctx)
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
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def follow(self, kind: str, data, ctx: sleeper.Context, meta: dict):
        """The next requests of a live crawl, from what a response told."""
        if kind == "state" and self.league_id:
            state = {"state_season": to_int(data.get("season")), "state_week": to_int(data.get("week")) or 0,
                     "season_type": data.get("season_type"), "previous_left": self.previous}
            yield self._get(f"{API}/league/{self.league_id}", ctx, **state)
        elif kind == "league":
            yield from self._league_followups(data, meta)
        elif kind == "users":
            yield self._get(f"{API}/league/{ctx.league_id}/rosters",
                            replace(ctx, team_names=sleeper.team_names(data)))

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
        ctx = sleeper.Context(league_id=league_id, season=season, week=current_week)
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
            yield self._get(f"{API}/league/{previous}", sleeper.Context(league_id=previous),
                            state_season=state_season, state_week=state_week, season_type=meta.get("season_type"),
                            previous_left=meta["previous_left"] - 1)
