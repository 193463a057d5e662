"""Pro-Football-Reference: season fantasy/passing/rushing/receiving tables, player pages
(season totals and recent game logs), team rosters and the season standings page.

Reads www.pro-football-reference.com HTML, including the tables Sports-Reference
hides in HTML comments, in both the ~2020 and the 2024-25 cell naming
(scrapers/fantasy/pfr_stats.py). No credentials.

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

Parsing
-------
Pro-Football-Reference pages -> fantasy records.

Sports-Reference hides most tables inside HTML comments (``<!-- <div
class="table_container"> <table id="fantasy"> ... -->``) and un-comments them
with JavaScript, so a CSS query sees only the first one or two. ``tables()``
reads the live tables, then parses the text of every comment that holds a
``<table`` as HTML (the second pass).

Cells are named by ``data-stat``; the 2024-25 redesign renamed some of them.
``ALIASES`` maps the new names to the older ones (``team_name_abbr`` -> ``team``,
``games`` -> ``g``, ``games_started`` -> ``gs``, ``pass_cmp_pct`` ->
``pass_cmp_perc``, ``name_display`` -> ``player``), so everything downstream
speaks one vocabulary whichever generation a page is.

Pages, recognised by content: a player page (``div#meta`` + season tables with
``year_id``), a season stats page (``/years/<season>/fantasy.htm``, passing,
rushing, receiving: rows with a ``player`` cell), a team roster page
(``table#roster``) and a season index page (AFC/NFC standings + team tables).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import scrapy
from parsel import Selector

from pde.records import Record, Rejected
from pde.sources import Arg, ParseError, require_whole_html
from scrapers.fantasy.normalize import (
    TEAMS,
    clean_name,
    current_season,
    height_inches,
    name_key,
    number,
    points,
    position_code,
    team_code,
    to_date,
    to_float,
    to_int,
)
from scrapers.fantasy.records import (
    MATCH_PLAYERS,
    NflRosterEntry,
    NflTeamSeason,
    PlayerStats,
    SourcePlayer,
)
from scrapers.spider import PdeSpider

SOURCE = "pfr"
BASE = "https://www.pro-football-reference.com"

#: 2024-25 data-stat names -> the older names used throughout
ALIASES = {
    "team_name_abbr": "team", "games": "g", "games_started": "gs",
    "pass_cmp_pct": "pass_cmp_perc", "name_display": "player",
}
#: player-page tables holding regular-season totals per season
SEASON_TABLES = ("passing", "rushing_and_receiving", "receiving_and_rushing", "rushing", "receiving", "fantasy")
#: PlayerStats' typed columns (PFR data-stat names, old generation)
STAT_COLUMNS = ("pass_cmp", "pass_att", "pass_yds", "pass_td", "pass_int", "rush_att", "rush_yds", "rush_td",
                "targets", "rec", "rec_yds", "rec_td", "fumbles_lost")
SKIP_ROW_CLASSES = {"thead", "over_header", "partial_table", "norank", "spacer"}


class UnknownLayout(ValueError):
    """The HTML is not a Pro-Football-Reference page we know."""


@dataclass
class Row:
    """One table row: cell text, link and attributes by (canonical) data-stat."""

    cells: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # data-append-csv
    csk: dict[str, str] = field(default_factory=dict)  # sort keys (exact dates, ...)
    classes: set[str] = field(default_factory=set)

    def get(self, stat: str) -> str | None:
        v = self.cells.get(stat)
        return v if v not in (None, "") else None


def tables(sel: Selector) -> dict[str, Selector]:
    """table id -> table: live tables first, then those inside HTML comments."""
    found: dict[str, Selector] = {}
    for t in sel.css("table[id]"):
        found.setdefault(t.attrib["id"], t)
    for comment in sel.xpath("//comment()").getall():
        if "<table" not in comment:
            continue
        inner = Selector(text=comment[4:-3])  # strip <!-- -->
        for t in inner.css("table[id]"):
            found.setdefault(t.attrib["id"], t)
    return found


def rows(table: Selector, keep_partial: bool = False) -> list[Row]:
    out = []
    for tr in table.xpath("./tbody/tr | ./tr"):
        classes = set((tr.attrib.get("class") or "").split())
        skip = SKIP_ROW_CLASSES - ({"partial_table"} if keep_partial else set())
        if classes & skip:
            continue
        row = Row(classes=classes)
        for cell in tr.xpath("./th | ./td"):
            stat = cell.attrib.get("data-stat")
            if not stat:
                continue
            stat = ALIASES.get(stat, stat)
            row.cells[stat] = re.sub(r"\s+", " ", "".join(cell.xpath(".//text()").getall())).strip()
            href = cell.xpath(".//a/@href").get()
            if href:
                row.links[stat] = href
            if cell.attrib.get("data-append-csv"):
                row.ids[stat] = cell.attrib["data-append-csv"]
            if cell.attrib.get("csk"):
                row.csk[stat] = cell.attrib["csk"]
        if row.cells:
            out.append(row)
    return out


def player_id_of(row: Row) -> str | None:
    """PFR player id of a row: data-append-csv, else from the /players/X/<id>.htm link."""
    if row.ids.get("player"):
        return row.ids["player"]
    m = re.search(r"/players/[A-Z]/([A-Za-z0-9.'-]+)\.htm", row.links.get("player", ""))
    return m.group(1) if m else None


def team_of(href: str | None) -> str | None:
    """Canonical team code from a /teams/<franchise>/<season>.htm link."""
    m = re.search(r"/teams/([a-z]{3})/", href or "")
    return team_code(m.group(1)) if m else None


def canonical_url(sel: Selector) -> str:
    return (sel.css('link[rel="canonical"]::attr(href)').get()
            or sel.css('meta[property="og:url"]::attr(content)').get() or "")


def _season_from(sel: Selector, url: str) -> int | None:
    m = re.search(r"/years/(\d{4})/", url) or re.search(r"/teams/[a-z]{3}/(\d{4})", url)
    if m:
        return int(m.group(1))
    m = re.search(r"\b(19|20)\d{2}\b", " ".join(sel.css("h1 ::text").getall()))
    return int(m.group(0)) if m else None


def _stats_dict(row: Row, skip: tuple[str, ...] = ()) -> dict:
    return {k: (number(v) if number(v) is not None else v) for k, v in row.cells.items()
            if v not in ("", None) and k not in skip}


def _typed(stats: dict) -> dict:
    return {c: to_float(stats.get(c)) for c in STAT_COLUMNS}


# -- dispatch ----------------------------------------------------------------------------
def parse(sel: Selector) -> Iterator[Record | Rejected]:
    found = tables(sel)
    url = canonical_url(sel)
    if sel.css("div#meta") and ("/players/" in url or any(
            "year_id" in r.cells for t in SEASON_TABLES if t in found for r in rows(found[t])[:3])):
        yield from parse_player_page(sel, found, url)
    elif "roster" in found and any(player_id_of(r) for r in rows(found["roster"])):
        yield from parse_roster_page(sel, found, url)
    elif any(t in found for t in ("fantasy", "passing", "rushing", "receiving"))\
            and any(player_id_of(r) for t in ("fantasy", "passing", "rushing", "receiving") if t in found
                    for r in rows(found[t])[:5]):
        yield from parse_season_stats_page(sel, found, url)
    elif "AFC" in found or "NFC" in found or "team_stats" in found:
        yield from parse_season_index(sel, found, url)
    else:
        raise UnknownLayout(
            "expected a player page (div#meta + season tables), a season stats page (table#fantasy, "
            "#passing, #rushing or #receiving with player rows), a roster page (table#roster) or a "
            f"season page (AFC/NFC standings); found tables {sorted(found)[:15] or 'none'}"
        )


# -- player page ---------------------------------------------------------------------------
def parse_player_page(sel: Selector, found: dict[str, Selector], url: str) -> Iterator[Record | Rejected]:
    m = re.search(r"/players/[A-Z]/([A-Za-z0-9.'-]+)\.htm", url)
    if not m:
        raise UnknownLayout("a player page without its /players/X/<id>.htm address (link rel=canonical)")
    pid = m.group(1)
    meta = sel.css("div#meta")
    name = clean_name(" ".join(meta.css("h1 ::text").getall()))
    if not name:
        raise UnknownLayout(f"player page {pid} without a name in div#meta h1")
    meta_text = re.sub(r"\s+", " ", " ".join(meta.css("::text").getall()))
    pos = re.search(r"Position\s*:\s*([A-Z/-]+)", meta_text)
    team_link = meta.xpath(".//p[strong[contains(., 'Team')]]//a/@href").get()
    college = meta.xpath(".//p[strong[contains(., 'College')]]/a[contains(@href, '/schools/')]/text()").get()
    height = meta.css('[itemprop="height"]::text').get() or (re.search(r"\b(\d-\d{1,2})\s*,", meta_text) or [None,
                                                                                                             None])[1]
    weight = meta.css('[itemprop="weight"]::text').get() or (re.search(r"(\d{3})lb", meta_text) or [None, None])[1]
    position = position_code(pos.group(1)) if pos else None
    yield SourcePlayer(
        source=SOURCE, source_player_id=pid, full_name=name, name_key=name_key(name),
        position=position, team=team_of(team_link),
        birth_date=to_date(meta.css("[data-birth]::attr(data-birth)").get()),
        college=college.strip() if college else None, height_in=height_inches(height),
        weight_lb=to_int(str(weight).removesuffix("lb")) if weight else None, url=f"{BASE}/players/{pid[0]}/{pid}.htm",
    )
    seasons: dict[int, dict] = {}
    for tid in SEASON_TABLES:
        if tid not in found:
            continue
        seen: set[int] = set()
        for row in rows(found[tid]):
            season = to_int((row.get("year_id") or "")[:4])
            if season is None or season in seen:
                continue  # career / per-team summary rows, or a traded season's per-team lines
            seen.add(season)
            merged = seasons.setdefault(season, {})
            for k, v in _stats_dict(row).items():
                merged.setdefault(k, v)
    for season, stats in sorted(seasons.items()):
        yield PlayerStats(
            source=SOURCE, source_player_id=pid, season=season, week=0, kind="actual", player_name=name,
            position=position_code(stats.get("fantasy_pos") or stats.get("pos")) or position,
            team=team_code(stats.get("team")), games=to_int(stats.get("g")), games_started=to_int(stats.get("gs")),
            points_std=points(stats.get("fantasy_points")), points_ppr=points(stats.get("fantasy_points_ppr")),
            stats={k: v for k, v in stats.items() if k != "year_id"}, **_typed(stats),
        )
    for tid, table in found.items():  # game logs: one line per game
        first = rows(table)[:1]
        if tid.endswith("playoffs") or not first or "week_num" not in first[0].cells:
            continue
        yield from _game_log(table, pid, name, position)


def _game_log(table: Selector, pid: str, name: str, position: str | None) -> Iterator[Record | Rejected]:
    for row in rows(table):
        date, week = to_date(row.get("game_date")), to_int(row.get("week_num"))
        if date is None or week is None:
            continue
        season = date.year if date.month >= 3 else date.year - 1
        stats = _stats_dict(row)
        yield PlayerStats(
            source=SOURCE, source_player_id=pid, season=season, week=week, kind="actual", player_name=name,
            position=position, team=team_code(stats.get("team")), games=1,
            games_started=1 if row.get("gs") == "*" else to_int(row.get("gs")) if row.get("gs") else 0,
            points_std=points(stats.get("fantasy_points")), points_ppr=points(stats.get("fantasy_points_ppr")),
            stats=stats, **_typed(stats),
        )


# -- season stats pages (fantasy, passing, rushing, receiving) --------------------------------
def parse_season_stats_page(sel: Selector, found: dict[str, Selector], url: str) -> Iterator[Record | Rejected]:
    season = _season_from(sel, url)
    if season is None:
        raise UnknownLayout("a season stats page that names no season (canonical /years/<season>/ or h1)")
    for tid in ("fantasy", "passing", "rushing", "receiving"):
        if tid not in found:
            continue
        seen: set[str] = set()
        for row in rows(found[tid]):
            name = clean_name(row.get("player"))
            if not name or name.lower().startswith("league average"):
                continue
            pid = player_id_of(row)
            if pid is None:
                yield Rejected(table=PlayerStats.table, reason=f"#{tid} row without a player link", raw=row.cells)
                continue
            if pid in seen:
                continue  # a traded player's per-team lines after his combined (2TM) line
            seen.add(pid)
            stats = _stats_dict(row, skip=("player", "ranker"))
            position = position_code(stats.get("fantasy_pos") or stats.get("pos"))
            yield SourcePlayer(source=SOURCE, source_player_id=pid, full_name=name, name_key=name_key(name),
                               position=position, url=f"{BASE}/players/{pid[0]}/{pid}.htm")
            yield PlayerStats(
                source=SOURCE, source_player_id=pid, season=season, week=0, kind="actual", player_name=name,
                position=position, team=team_code(stats.get("team")), games=to_int(stats.get("g")),
                games_started=to_int(stats.get("gs")),
                points_std=points(stats.get("fantasy_points")), points_ppr=points(stats.get("fantasy_points_ppr")),
                stats=stats, **_typed(stats),
            )


# -- team roster page ------------------------------------------------------------------------
def parse_roster_page(sel: Selector, found: dict[str, Selector], url: str) -> Iterator[Record | Rejected]:
    m = re.search(r"/teams/([a-z]{3})/(\d{4})_roster", url)
    if not m:
        raise UnknownLayout("a roster page without its /teams/<team>/<season>_roster.htm address (link rel=canonical)")
    team, season = team_code(m.group(1)), int(m.group(2))
    for row in rows(found["roster"]):
        pid, name = player_id_of(row), clean_name(row.get("player"))
        if not name or name == "Team Total":
            continue
        if pid is None:
            yield Rejected(table=NflRosterEntry.table, reason="roster row without a player link", raw=row.cells)
            continue
        position = position_code(row.get("pos"))
        yield SourcePlayer(
            source=SOURCE, source_player_id=pid, full_name=name, name_key=name_key(name), position=position,
            birth_date=to_date(row.csk.get("birth_date_mod") or row.get("birth_date_mod")),
            college=row.get("college_id"), height_in=height_inches(row.get("height")),
            weight_lb=to_int(row.get("weight")), url=f"{BASE}/players/{pid[0]}/{pid}.htm",
        )
        yield NflRosterEntry(
            source=SOURCE, season=season, team=team, source_player_id=pid, player_name=name, position=position,
            jersey=row.get("uniform_number"), age=to_int(row.get("age")), games=to_int(row.get("g")),
            games_started=to_int(row.get("gs")),
            experience=0 if (row.get("experience") or "").lower().startswith("rook") else to_int(row.get("experience")),
            approximate_value=to_int(row.get("av")), draft_info=row.get("draft_info"),
        )


# -- season index page (standings and team stats) -------------------------------------------------
def parse_season_index(sel: Selector, found: dict[str, Selector], url: str) -> Iterator[Record | Rejected]:
    season = _season_from(sel, url)
    if season is None:
        raise UnknownLayout("a season page that names no season (canonical /years/<season>/ or h1)")
    teams: dict[str, dict] = {}
    names: dict[str, str] = {}
    for tid, table in found.items():
        for row in rows(table):
            team = team_of(row.links.get("team"))
            if team is None or player_id_of(row):
                continue
            group = "standings" if tid in ("AFC", "NFC") else tid
            teams.setdefault(team, {}).setdefault(group, _stats_dict(row, skip=("team", "ranker")))
            names.setdefault(team, clean_name(row.get("team")))
    for team, groups in sorted(teams.items()):
        st, off = groups.get("standings", {}), groups.get("team_stats", {})
        yield NflTeamSeason(
            source=SOURCE, season=season, team=team, team_name=names.get(team),
            games=to_int(off.get("g")), wins=to_int(st.get("wins")), losses=to_int(st.get("losses")),
            ties=to_int(st.get("ties")) if "ties" in st else (0 if st else None),
            points=to_int(st.get("points", off.get("points"))), points_against=to_int(st.get("points_opp")),
            total_yards=to_int(off.get("total_yards")), plays=to_int(off.get("plays_offense")),
            turnovers=to_int(off.get("turnovers")), pass_yds=to_int(off.get("pass_yds")),
            rush_yds=to_int(off.get("rush_yds")), stats=groups,
        )


SEASON_PAGES = ("fantasy", "passing", "rushing", "receiving")
#: canonical team code -> PFR's franchise id in /teams/<id>/ addresses
PFR_FRANCHISE = {"ARI": "crd", "BAL": "rav", "GB": "gnb", "HOU": "htx", "IND": "clt", "KC": "kan",
                 "LAC": "sdg", "LAR": "ram", "LV": "rai", "NE": "nwe", "NO": "nor", "SF": "sfo",
                 "TB": "tam", "TEN": "oti"}


def season_page_url(season: int, page: str) -> str:
    return f"{BASE}/years/{season}/" if page == "index" else f"{BASE}/years/{season}/{page}.htm"


def player_url(pfr_id: str) -> str:
    return f"{BASE}/players/{pfr_id[0].upper()}/{pfr_id}.htm"


def roster_url(team: str, season: int) -> str:
    code = team_code(team) or team.upper()
    return f"{BASE}/teams/{PFR_FRANCHISE.get(code, code.lower())}/{season}_roster.htm"


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

    args = (
        Arg("seasons", "seasons to read; default: the current NFL season", type=list, item=int, min=1920,
            allowed="a comma list of years (1920 or later)"),
        Arg("pages", "season pages to read (none: only players/rosters)", type=list,
            choices=("fantasy", "passing", "rushing", "receiving", "index", "none"),
            default="fantasy,passing,rushing,receiving"),
        Arg("players", "PFR player ids (the id in the player page's address)", type=list, example="BreeDr00,MahoPa00"),
        Arg("rosters", "team rosters to read: team codes, or all", type=list, example="KC,NO"),
    )

    def after_load(self):
        """Once the rows are in: link the new players."""
        return [MATCH_PLAYERS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seasons = self.seasons or []
        self.pages = [p for p in self.pages or SEASON_PAGES if p != "none"]
        self.players = self.players or []
        self.rosters = TEAMS if [r.lower() for r in self.rosters or []] == ["all"] else self.rosters or []

    def live_requests(self):
        for season in self.seasons or [current_season()]:
            for page in self.pages:
                yield scrapy.Request(season_page_url(season, page), callback=self.parse)
            for team in self.rosters:
                yield scrapy.Request(roster_url(team, season), callback=self.parse)
        for pid in self.players:
            yield scrapy.Request(player_url(pid), callback=self.parse)

    def parse(self, response):
        require_whole_html(response.text, response.url, "Pro-Football-Reference page")
        try:
            yield from parse(Selector(text=response.text))
        except UnknownLayout as exc:
            raise ParseError(f"{response.url}: {exc}") from exc
