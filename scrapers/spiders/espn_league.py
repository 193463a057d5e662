"""ESPN fantasy football league: settings, teams and members, schedule and scores, draft,
rosters, the player pool (ownership, ADP, actual and projected stats) and recent activity.

Reads ESPN's v3 API (lm-api-reads.fantasy.espn.com), one request per view:
mSettings, mTeam, mRoster, mMatchupScore, mDraftDetail, kona_player_info, and
the communication feed. Seasons before 2018 come from the leagueHistory
endpoint (a JSON list holding one league object); it has no player pool or
activity feed.

    scrapy crawl espn_league -a league_id=368876 -a seasons=2018,2019
    scrapy crawl espn_league -a url=~/Downloads/espn/*.json -a league_id=368876 -a seasons=2019

Arguments: ``league_id`` (required live), ``seasons`` (comma list; default the
current NFL season), ``views`` (comma list, default all), ``players_limit``
(most-owned players to read from the pool, 300). For saved files,
``league_id``/``seasons`` name the league and season of responses that do not
say it themselves (the activity feed, the player pool).

Credentials: a private league needs the ``espn_s2`` and ``SWID`` cookies of a
logged-in browser, from the environment variables ESPN_S2 and ESPN_SWID. They
are sent as cookies only, never logged or recorded.
"""

from __future__ import annotations

import json
import os

import scrapy

from scrapers.fantasy import espn
from scrapers.fantasy.normalize import current_season
from scrapers.spiders.base import ParseError, PdeSpider

LEAGUE_VIEWS = ("mSettings", "mTeam", "mRoster", "mMatchupScore", "mDraftDetail")
#: views served for past seasons by leagueHistory
HISTORY_VIEWS = LEAGUE_VIEWS
FIRST_LIVE_SEASON = 2018


def league_url(league_id: str, season: int, view: str) -> str:
    if season < FIRST_LIVE_SEASON:
        return f"{espn.API}/leagueHistory/{league_id}?seasonId={season}&view={view}"
    return f"{espn.API}/seasons/{season}/segments/0/leagues/{league_id}?view={view}"


def activity_url(league_id: str, season: int) -> str:
    return f"{espn.API}/seasons/{season}/segments/0/leagues/{league_id}/communication/?view=kona_league_communication"


class EspnLeagueSpider(PdeSpider):
    name = "espn_league"
    area = "fantasy"
    handle_httpstatus_list = [401, 404]
    custom_settings = {"CONCURRENT_REQUESTS_PER_DOMAIN": 2, "DOWNLOAD_DELAY": 1}

    def __init__(self, *args, league_id: str | None = None, seasons: str | None = None,
                 views: str | None = None, players_limit: str = "300", **kwargs):
        super().__init__(*args, **kwargs)
        self.league_id = league_id
        self.seasons = [int(s) for s in (seasons or "").split(",") if s.strip()]
        self.views = [v.strip() for v in (views or "").split(",") if v.strip()] or [
            *LEAGUE_VIEWS, "kona_player_info", "communication"]
        self.players_limit = int(players_limit)

    def live_requests(self):
        if not self.league_id:
            raise ValueError("espn_league needs -a league_id=<your ESPN league id> (or -a url=<saved response>)")
        cookies = {k: v for k, v in (("espn_s2", os.environ.get("ESPN_S2")), ("SWID", os.environ.get("ESPN_SWID"))) if v}
        for season in self.seasons or [current_season()]:
            meta = {"espn_ctx": espn.Context(league_id=self.league_id, season=season)}
            for view in self.views:
                if season < FIRST_LIVE_SEASON and view not in HISTORY_VIEWS:
                    continue
                headers = {}
                if view == "communication":
                    url = activity_url(self.league_id, season)
                    headers["X-Fantasy-Filter"] = json.dumps(espn.ACTIVITY_FILTER)
                else:
                    url = league_url(self.league_id, season, view)
                    if view == "kona_player_info":
                        headers["X-Fantasy-Filter"] = json.dumps(espn.players_filter(self.players_limit))
                yield scrapy.Request(url, headers=headers, cookies=cookies, meta=meta, callback=self.parse)

    def parse(self, response):
        if response.status in (401, 404):
            raise ParseError(
                f"{response.url}: ESPN answered {response.status}. A private league needs the espn_s2 and SWID "
                "cookies of a logged-in browser in ESPN_S2 and ESPN_SWID; check -a league_id and -a seasons."
            )
        try:
            data = json.loads(response.text)
        except ValueError as exc:
            raise ParseError(f"{response.url}: not JSON ({exc}); expected an ESPN fantasy API response") from exc
        ctx = response.meta.get("espn_ctx") or espn.Context(
            league_id=self.league_id, season=self.seasons[0] if len(self.seasons) == 1 else None)
        try:
            yield from espn.parse(data, ctx)
        except espn.UnknownLayout as exc:
            raise ParseError(f"{response.url}: {exc}") from exc
