"""FantasyPros expert consensus rankings (ECR), ADP, projections and weekly points.

Reads the cheat-sheet page (its inline ``var ecrData = {...};``) and, with an
API key, the public API v2 (api.fantasypros.com/public/v2/json): consensus
rankings, players (ADP), projections and player points.

    scrapy crawl fantasypros_rankings                          # draft cheat sheet, PPR
    scrapy crawl fantasypros_rankings -a week=10 -a scoring=PPR,HALF -a positions=QB,RB,WR,TE
    scrapy crawl fantasypros_rankings -a url=~/Downloads/ppr-cheatsheets.html

Arguments: ``season`` (default the current NFL season), ``week`` (0 = draft
rankings, the default; N = that week's rankings and projections), ``scoring``
(comma list of STD, HALF, PPR; default PPR), ``positions`` (ALL for draft
rankings; QB,RB,WR,TE,K,DST for weekly ones), ``sources`` (cheatsheet and/or
api; default both, the API only when a key is set; ``sources=api`` alone calls
it regardless), ``endpoints`` (API endpoints, default
consensus-rankings,players,projections,player-points; rankings also exists).

Credentials: the API key from the environment variable FANTASYPROS_API_KEY,
sent as the ``x-api-key`` header; never logged or recorded.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

import scrapy

from scrapers.fantasy import fantasypros as fp
from scrapers.fantasy.normalize import current_season
from scrapers.spiders.base import ParseError, PdeSpider

CHEATSHEETS = {
    "PPR": "ppr-cheatsheets.php", "HALF": "half-point-ppr-cheatsheets.php", "STD": "consensus-cheatsheets.php",
}
WEEKLY_POSITIONS = ("QB", "RB", "WR", "TE", "K", "DST")
ENDPOINTS = ("consensus-rankings", "players", "projections", "player-points")


def api_url(endpoint: str, season: int, **query) -> str:
    path = "nfl/players" if endpoint == "players" else f"nfl/{season}/{endpoint}"
    query = {k: v for k, v in query.items() if v is not None}
    return f"{fp.API}/{path}" + (f"?{urlencode(query)}" if query else "")


def cheatsheet_url(scoring: str) -> str:
    return f"{fp.SITE}/nfl/rankings/{CHEATSHEETS[scoring]}"


class FantasyprosRankingsSpider(PdeSpider):
    name = "fantasypros_rankings"
    area = "fantasy"
    custom_settings = {"CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY": 2}

    def __init__(self, *args, season: str | None = None, week: str = "0", scoring: str = "PPR",
                 positions: str | None = None, sources: str = "cheatsheet,api", endpoints: str | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.season = int(season) if season else current_season()
        self.week = int(week)
        self.scorings = [s.strip().upper() for s in scoring.split(",") if s.strip()]
        unknown = set(self.scorings) - set(CHEATSHEETS)
        if unknown:
            raise ValueError(f"fantasypros_rankings: unknown scoring {sorted(unknown)}; use STD, HALF, PPR")
        self.positions = [p.strip().upper() for p in (positions or "").split(",") if p.strip()] or (
            list(WEEKLY_POSITIONS) if self.week else ["ALL"])
        self.sources = {s.strip() for s in sources.split(",") if s.strip()}
        self.endpoints = [e.strip() for e in (endpoints or ",".join(ENDPOINTS)).split(",") if e.strip()]

    def live_requests(self):
        if "cheatsheet" in self.sources and not self.week:
            for scoring in self.scorings:
                yield scrapy.Request(cheatsheet_url(scoring), callback=self.parse)
        if "api" not in self.sources:
            return
        key = os.environ.get("FANTASYPROS_API_KEY")
        if not key and "cheatsheet" in self.sources:
            self.logger.warning("FANTASYPROS_API_KEY is not set: skipping the FantasyPros API")
            return
        if not key:  # -a sources=api asked for it: FantasyPros will say whether it needs the key
            self.logger.warning("FANTASYPROS_API_KEY is not set: calling the FantasyPros API without a key")
        headers = {"Accept": "application/json", **({"x-api-key": key} if key else {})}
        kind = "weekly" if self.week else "draft"
        for url in self.api_urls(kind):
            yield scrapy.Request(url, headers=headers, callback=self.parse)

    def api_urls(self, kind: str):
        for endpoint in self.endpoints:
            if endpoint == "consensus-rankings":
                for scoring in self.scorings:
                    for pos in self.positions:
                        yield api_url(endpoint, self.season, position=pos, type=kind, scoring=scoring, week=self.week)
            elif endpoint == "projections":
                for pos in self.positions:
                    yield api_url(endpoint, self.season, position=pos, week=self.week)
            elif endpoint == "player-points":
                for scoring in self.scorings:
                    yield api_url(endpoint, self.season, scoring=scoring)
            elif endpoint == "rankings":
                yield api_url(endpoint, self.season, week=self.week)
            elif endpoint == "players":
                yield api_url(endpoint, self.season)
            else:
                raise ValueError(f"fantasypros_rankings: unknown endpoint {endpoint!r}")

    def parse(self, response):
        try:
            yield from fp.parse(fp.decode(response.text))
        except (fp.UnknownLayout, ValueError) as exc:
            raise ParseError(
                f"{response.url}: {exc}; expected a FantasyPros cheat sheet (var ecrData = {{...}}) or an "
                "API v2 answer (consensus-rankings, rankings, players, projections, player-points)"
            ) from exc
