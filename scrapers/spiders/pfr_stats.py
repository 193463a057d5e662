"""Pro-Football-Reference: season fantasy/passing/rushing/receiving tables, player pages
(season totals and recent game logs), team rosters and the season standings page.

Reads www.pro-football-reference.com HTML, including the tables Sports-Reference
hides in HTML comments, in both the ~2020 and the 2024-25 cell naming
(scrapers/fantasy/pfr.py). No credentials.

    scrapy crawl pfr_stats -a seasons=2023,2024
    scrapy crawl pfr_stats -a seasons=2024 -a pages=fantasy -a players=BreeDr00,MahoPa00 -a rosters=KC
    scrapy crawl pfr_stats -a url=~/Downloads/BreeDr00.htm

Arguments: ``seasons`` (comma list; default the current NFL season),
``pages`` (any of fantasy, passing, rushing, receiving, index; default the first
four; ``none`` for only players/rosters), ``players`` (PFR player ids),
``rosters`` (team codes, e.g. KC,NO, or ``all``), for each season.

Sports-Reference blocks a client for up to a day when it makes more than ~20
requests a minute (HTTP 429 and a "Rate Limited Request" page). This spider
makes one request at a time, 7 s apart (~8 a minute); slow down further with
``-s DOWNLOAD_DELAY=10``, never speed up.
"""

from __future__ import annotations

import scrapy
from parsel import Selector

from scrapers.fantasy import pfr
from scrapers.fantasy.normalize import TEAMS, current_season, team_code
from scrapers.spiders.base import ParseError, PdeSpider

SEASON_PAGES = ("fantasy", "passing", "rushing", "receiving")
#: canonical team code -> PFR's franchise id in /teams/<id>/ addresses
PFR_FRANCHISE = {"ARI": "crd", "BAL": "rav", "GB": "gnb", "HOU": "htx", "IND": "clt", "KC": "kan",
                 "LAC": "sdg", "LAR": "ram", "LV": "rai", "NE": "nwe", "NO": "nor", "SF": "sfo",
                 "TB": "tam", "TEN": "oti"}


def season_page_url(season: int, page: str) -> str:
    return f"{pfr.BASE}/years/{season}/" if page == "index" else f"{pfr.BASE}/years/{season}/{page}.htm"


def player_url(pfr_id: str) -> str:
    return f"{pfr.BASE}/players/{pfr_id[0].upper()}/{pfr_id}.htm"


def roster_url(team: str, season: int) -> str:
    code = team_code(team) or team.upper()
    return f"{pfr.BASE}/teams/{PFR_FRANCHISE.get(code, code.lower())}/{season}_roster.htm"


class PfrStatsSpider(PdeSpider):
    name = "pfr_stats"
    area = "fantasy"
    schedule = "0 9 * * 2"  # Tuesday morning, after Monday Night Football
    custom_settings = {
        "DOWNLOAD_DELAY": 7,
        "DOWNLOAD_DELAY_JITTER": 0,
        "CONCURRENT_REQUESTS": 1,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],  # never retry a 429: it extends the ban
    }
    block_markers = ("Rate Limited Request", "rate limited request")
    block_advice = (
        "Sports-Reference blocks for up to a day after too many requests. Wait until tomorrow, keep "
        "DOWNLOAD_DELAY at 6 s or more (-s DOWNLOAD_DELAY=10), or save the page from your browser and crawl "
        "it with -a url=file:///path/to/page.htm."
    )

    def __init__(self, *args, seasons: str | None = None, pages: str | None = None, players: str | None = None,
                 rosters: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.seasons = [int(s) for s in (seasons or "").split(",") if s.strip()]
        self.pages = [p.strip() for p in (pages or ",".join(SEASON_PAGES)).split(",") if p.strip() not in ("", "none")]
        unknown = set(self.pages) - {*SEASON_PAGES, "index"}
        if unknown:
            raise ValueError(f"pfr_stats: unknown pages {sorted(unknown)}; use {', '.join(SEASON_PAGES)}, index")
        self.players = [p.strip() for p in (players or "").split(",") if p.strip()]
        self.rosters = TEAMS if (rosters or "").lower() == "all" else [
            t.strip() for t in (rosters or "").split(",") if t.strip()]

    def live_requests(self):
        for season in self.seasons or [current_season()]:
            for page in self.pages:
                yield scrapy.Request(season_page_url(season, page), callback=self.parse)
            for team in self.rosters:
                yield scrapy.Request(roster_url(team, season), callback=self.parse)
        for pid in self.players:
            yield scrapy.Request(player_url(pid), callback=self.parse)

    def parse(self, response):
        try:
            yield from pfr.parse(Selector(text=response.text))
        except pfr.UnknownLayout as exc:
            raise ParseError(f"{response.url}: {exc}") from exc
