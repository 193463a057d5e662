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

Parsing
-------
FantasyPros rankings, ADP, projections and points -> fantasy records.

Two ways in, both recognised by content:

- the cheat-sheet page (``/nfl/rankings/ppr-cheatsheet.php`` and friends): the
  table is drawn by JavaScript from an inline ``var ecrData = {...};`` holding
  the expert consensus (ECR) with ``players[]``, ``year``, ``week``,
  ``scoring``, ``ranking_type_name``, ``total_experts``, ``last_updated_ts``;
- the public API v2 (``https://api.fantasypros.com/public/v2/json``, key in the
  ``x-api-key`` header): ``consensus-rankings`` (same shape as ecrData),
  ``rankings`` (``players[].rank.ECR.{STD,PPR,HALF,ROS-*,DYN}.{position: rank}``),
  ``players`` (the only ADP source: ``rank_adp``, ``rank_adp_ppr``),
  ``projections`` (``players[].stats``) and ``player-points``
  (``players[].weeks{week: points}``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg, ParseError, load_json
from scrapers.fantasy.normalize import (
    current_season,
    from_epoch_s,
    name_key,
    points,
    position_code,
    team_code,
    text_id,
    to_date,
    to_float,
    to_int,
)
from scrapers.fantasy.records import MATCH_PLAYERS, PlayerStats, Ranking, SourcePlayer
from scrapers.spider import PdeSpider

SOURCE = "fantasypros"
API = "https://api.fantasypros.com/public/v2/json"
SITE = "https://www.fantasypros.com"
SCORING = {"STD": "std", "PPR": "ppr", "HALF": "half", "HALF-PPR": "half", "HALF_PPR": "half"}
RANK_TYPES = {"ROS": "ros", "DYN": "dynasty", "BB": "bestball", "DRAFTERS": "drafters"}
#: a rankings-board key: "PPR", "ROS-PPR", "DYN", "BB-HALF", "DRAFTERS", "WK1-STD" (week 1's weekly ranking)
_RANK_KEY = re.compile(
    r"(?:WK(?P<week>\d+)-|(?P<prefix>ROS|DYN|BB|DRAFTERS)(?:-|$))?(?P<scoring>STD|PPR|HALF(?:-PPR)?)?")
#: projections' stat names behind PlayerStats' typed columns
PROJECTION_COLUMNS = {
    "pass_att": "pass_att", "pass_cmp": "pass_cmp", "pass_yds": "pass_yds", "pass_td": "pass_tds",
    "pass_int": "pass_ints", "rush_att": "rush_att", "rush_yds": "rush_yds", "rush_td": "rush_tds",
    "rec": "rec_rec", "rec_yds": "rec_yds", "rec_td": "rec_tds", "targets": "rec_tgt",
}
_ECR = re.compile(r"var\s+ecrData\s*=\s*")


class UnknownLayout(ValueError):
    """Not a FantasyPros page or API answer we know."""


def decode(text: str) -> Any:
    """The JSON a response holds: an API body, or a cheat-sheet page's ecrData object."""
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        data = json.loads(stripped)
        # a Saloon recording ({statusCode, headers, data: "<body>"}) wraps the body as a string
        if isinstance(data, dict) and isinstance(data.get("data"), str) and "statusCode" in data:
            data = json.loads(data["data"])
        return data
    m = _ECR.search(text)
    if not m:
        raise UnknownLayout("an HTML page without the cheat sheet's inline `var ecrData = {...};`")
    data, _ = json.JSONDecoder().raw_decode(text, m.end())
    return data


def kind_of(data: Any) -> str:
    """Which answer this is, by the shape of its players[]; 'empty' for a valid answer with no players
    (``players: []`` or ``players: null``: the off-season, or a list not published yet)."""
    if isinstance(data, dict) and "players" in data and data["players"] in (None, []):
        return "empty"
    if not isinstance(data, dict) or not isinstance(data.get("players"), list):
        keys = sorted(data)[:12] if isinstance(data, dict) else type(data).__name__
        raise UnknownLayout(f"expected an object with players[]; found {keys}")
    sample = [p for p in data["players"][:20] if isinstance(p, dict)]
    if not sample:
        return "empty"
    has = lambda test: any(test(p) for p in sample)  # noqa: E731
    if has(lambda p: isinstance(p.get("rank"), dict)):
        return "rankings"
    if has(lambda p: isinstance(p.get("weeks"), dict)):
        return "player_points"
    if has(lambda p: isinstance(p.get("stats"), dict)):
        return "projections"
    if has(lambda p: "rank_adp" in p or "rank_ecr_ppr" in p or "rank_adp_ppr" in p):
        return "players"
    if has(lambda p: "rank_ecr" in p):
        return "consensus"
    raise UnknownLayout(f"players[] entries with keys {sorted(sample[0])[:15]}")


def parse(data: Any) -> Iterator[Record | Rejected]:
    kind = kind_of(data)
    if kind != "empty":
        yield from PARSERS[kind](data)


def _scoring(value: Any) -> str:
    return SCORING.get(str(value or "").upper(), str(value or "none").lower())


def _pos_rank(value: Any) -> int | None:
    m = re.search(r"(\d+)$", str(value or ""))
    return int(m.group(1)) if m else None


def _player(p: dict, pid: str, name: str) -> SourcePlayer:
    page = p.get("player_page_url") or p.get("filename") or p.get("player_filename")
    if page and not page.startswith("http"):
        page = f"{SITE}/nfl/players/{page}"
    return SourcePlayer(
        source=SOURCE, source_player_id=pid, full_name=name, name_key=name_key(name),
        first_name=p.get("first_name"), last_name=p.get("last_name"),
        position=position_code(p.get("player_position_id") or p.get("position_id")),
        fantasy_positions=(p.get("positions")
                           or (p["player_positions"].split(",") if p.get("player_positions") else None)),
        team=team_code(p.get("player_team_id") or p.get("team_id")),
        birth_date=to_date(p.get("birthdate")), age=to_int(p.get("age")),
        yahoo_id=text_id(p.get("player_yahoo_id")), cbs_id=text_id(p.get("cbs_player_id")),
        sportsdata_id=text_id(p.get("sportsdata_id") or p.get("sportsdata_player_id")), mfl_id=text_id(p.get("mflid")),
        url=page.replace("http://", "https://") if page else None,
    )


def _ident(p: dict) -> tuple[str | None, str | None]:
    return text_id(p.get("player_id") or p.get("id") or p.get("fpid")), p.get("player_name") or p.get("name")


# -- consensus rankings (cheat-sheet ecrData and the API) -------------------------------------
def parse_consensus(data: dict) -> Iterator[Record | Rejected]:
    season, week = to_int(data.get("year") or data.get("season")), to_int(data.get("week")) or 0
    if season is None:
        raise UnknownLayout("consensus rankings without year/season")
    ranking_type = (data.get("ranking_type_name") or ("weekly" if week else "draft")).lower()
    group = str(data.get("position_id") or "ALL").upper()
    for p in data["players"]:
        pid, name = _ident(p)
        if not pid or not name:
            yield Rejected(table=Ranking.table, reason="ranked player without player_id/player_name", raw=p)
            continue
        yield _player(p, pid, name)
        yield Ranking(
            source=SOURCE, season=season, week=week, ranking_type=ranking_type, scoring=_scoring(data.get("scoring")),
            position_group=group, source_player_id=pid, player_name=name,
            position=position_code(p.get("player_position_id")), team=team_code(p.get("player_team_id")),
            rank=to_int(p.get("rank_ecr")), pos_rank=_pos_rank(p.get("pos_rank")), tier=to_int(p.get("tier")),
            rank_min=to_int(p.get("rank_min")), rank_max=to_int(p.get("rank_max")),
            rank_avg=to_float(p.get("rank_ave")), rank_std=to_float(p.get("rank_std")),
            owned_pct=to_float(p.get("player_owned_avg")), bye_week=to_int(p.get("player_bye_week")),
            expert_count=to_int(data.get("total_experts")), published_at=from_epoch_s(data.get("last_updated_ts")),
        )


# -- rankings endpoint: every ranking type and position in one player object --------------------
def parse_rankings(data: dict) -> Iterator[Record | Rejected]:
    season, week = to_int(data.get("season") or data.get("year")), to_int(data.get("week")) or 0
    if season is None:
        raise UnknownLayout("rankings without season")
    experts = data.get("experts") or {}
    for p in data["players"]:
        pid, name = _ident(p)
        ecr = (p.get("rank") or {}).get("ECR")
        if not pid or not name or not isinstance(ecr, dict):
            yield Rejected(table=Ranking.table, reason="ranked player without id, name or rank.ECR", raw=p)
            continue
        yield _player(p, pid, name)
        position = position_code(p.get("position_id"))
        for key, by_group in ecr.items():
            m = _RANK_KEY.fullmatch(key)
            if not key or not m:
                yield Rejected(table=Ranking.table, reason=f"rank.ECR key {key!r} of an unknown ranking type",
                               raw={"player_id": pid, key: by_group})
                continue
            key_week = int(m["week"]) if m["week"] else week
            ranking_type = RANK_TYPES[m["prefix"]] if m["prefix"] else ("weekly" if key_week else "draft")
            scoring = _scoring(m["scoring"] or None)
            for group, rank in (by_group or {}).items():
                stat = lambda name: ((p["rank"].get(name) or {}).get(key) or {}).get(group)  # noqa: E731
                yield Ranking(
                    source=SOURCE, season=season, week=key_week, ranking_type=ranking_type, scoring=scoring,
                    position_group=group, source_player_id=pid, player_name=name, position=position,
                    team=team_code(p.get("team_id")), rank=to_int(rank),
                    pos_rank=to_int(rank) if group == p.get("position_id") else None,
                    rank_min=to_int(stat("ECR_MIN")), rank_max=to_int(stat("ECR_MAX")),
                    rank_avg=to_float(stat("ECR_AVG")), rank_std=to_float(stat("ECR_STD")),
                    expert_count=to_int((experts.get(key) or {}).get(group)),
                )


# -- players endpoint: bio and ADP --------------------------------------------------------------
def parse_players(data: dict) -> Iterator[Record | Rejected]:
    season, week = to_int(data.get("season")), to_int(data.get("week")) or 0
    for p in data["players"]:
        pid, name = _ident(p)
        if not pid or not name:
            yield Rejected(table=SourcePlayer.table, reason="player without player_id/player_name", raw=p)
            continue
        yield _player(p, pid, name)
        if season is None:
            continue
        for scoring, suffix in (("std", ""), ("ppr", "_ppr"), ("half", "_half")):
            rank, adp = to_int(p.get(f"rank_ecr{suffix}")), to_float(p.get(f"rank_adp{suffix}"))
            if rank is None and adp is None:
                continue
            yield Ranking(
                source=SOURCE, season=season, week=week, ranking_type="draft", scoring=scoring,
                position_group="ALL", source_player_id=pid, player_name=name,
                position=position_code(p.get("position_id")), team=team_code(p.get("team_id")),
                rank=rank or None, adp=adp or None,
            )


# -- projections and actual points ----------------------------------------------------------------
def parse_projections(data: dict) -> Iterator[Record | Rejected]:
    season, week = to_int(data.get("season")), to_int(data.get("week")) or 0
    scoring = _scoring(data.get("scoring") or "STD")
    if season is None:
        raise UnknownLayout("projections without season")
    for p in data["players"]:
        pid, name = _ident(p)
        stats = p.get("stats")
        if not pid or not name or not isinstance(stats, dict):
            yield Rejected(table=PlayerStats.table, reason="projection without fpid, name or stats", raw=p)
            continue
        yield _player(p, pid, name)
        pts = {"std": stats.get("points") if scoring == "std" else None,
               "ppr": stats.get("points_ppr"), "half": stats.get("points_half")}
        if scoring in ("ppr", "half") and pts[scoring] is None:
            pts[scoring] = stats.get("points")
        yield PlayerStats(
            source=SOURCE, source_player_id=pid, season=season, week=week, kind="projection", player_name=name,
            position=position_code(p.get("position_id")), team=team_code(p.get("team_id")),
            points_std=points(pts["std"]), points_ppr=points(pts["ppr"]), points_half=points(pts["half"]),
            stats=stats, **{col: to_float(stats.get(src)) for col, src in PROJECTION_COLUMNS.items()},
        )


def parse_player_points(data: dict) -> Iterator[Record | Rejected]:
    season, scoring = to_int(data.get("season")), _scoring(data.get("scoring") or "STD")
    if season is None:
        raise UnknownLayout("player-points without season")
    column = {"std": "points_std", "ppr": "points_ppr", "half": "points_half"}.get(scoring)
    if column is None:
        raise UnknownLayout(f"player-points in an unknown scoring {data.get('scoring')!r}")
    for p in data["players"]:
        pid, name = _ident(p)
        weeks = p.get("weeks") or {}
        if not pid or not name or not isinstance(weeks, dict):
            yield Rejected(table=PlayerStats.table, reason="player points without id, name or a weeks object", raw=p)
            continue
        yield _player(p, pid, name)
        if not weeks and p.get("points") is None:
            continue  # listed, but scored in no game yet
        common = dict(source=SOURCE, source_player_id=pid, season=season, kind="actual", player_name=name,
                      position=position_code(p.get("position_id")), team=team_code(p.get("team_id")))
        yield PlayerStats(week=0, games=to_int(p.get("games")), **{column: points(p.get("points"))}, **common)
        for week, pts in weeks.items():
            if to_int(week) is None:
                yield Rejected(table=PlayerStats.table, reason=f"week {week!r} is not a number", raw=p)
                continue
            yield PlayerStats(week=to_int(week), games=1, **{column: points(pts)}, **common)


PARSERS = {
    "consensus": parse_consensus, "rankings": parse_rankings, "players": parse_players,
    "projections": parse_projections, "player_points": parse_player_points,
}


CHEATSHEETS = {
    "PPR": "ppr-cheatsheets.php", "HALF": "half-point-ppr-cheatsheets.php", "STD": "consensus-cheatsheets.php",
}
WEEKLY_POSITIONS = ("QB", "RB", "WR", "TE", "K", "DST")
ENDPOINTS = ("consensus-rankings", "players", "projections", "player-points")


def api_url(endpoint: str, season: int, **query) -> str:
    path = "nfl/players" if endpoint == "players" else f"nfl/{season}/{endpoint}"
    query = {k: v for k, v in query.items() if v is not None}
    return f"{API}/{path}" + (f"?{urlencode(query)}" if query else "")


def cheatsheet_url(scoring: str) -> str:
    return f"{SITE}/nfl/rankings/{CHEATSHEETS[scoring]}"


class FantasyprosRankingsSpider(PdeSpider):
    name = "fantasypros_rankings"
    area = "fantasy"
    custom_settings = {"CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY": 2}

    args = (
        Arg("season", "NFL season; default: the current one", type=int, min=1990),
        Arg("week", "0: draft rankings; N: that week's rankings and projections", type=int, default=0, min=0, max=23),
        Arg("scoring", "scoring formats", type=list, choices=("STD", "HALF", "PPR"), default="PPR"),
        Arg("positions", "positions; default ALL for draft rankings, QB,RB,WR,TE,K,DST for weekly ones",
            type=list),
        Arg("sources", "cheat-sheet page and/or the API (the API only when FANTASYPROS_API_KEY is set, "
            "unless sources=api alone)", type=list, choices=("cheatsheet", "api"), default="cheatsheet,api"),
        Arg("endpoints", "API endpoints to read", type=list,
            choices=("consensus-rankings", "players", "projections", "player-points", "rankings"),
            default="consensus-rankings,players,projections,player-points"),
    )

    def after_load(self):
        """Once the rows are in: link the new players."""
        return [MATCH_PLAYERS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.season = self.season or current_season()
        self.scorings = self.scoring
        self.positions = [p.upper() for p in self.positions or []] or (
            list(WEEKLY_POSITIONS) if self.week else ["ALL"])

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
        if response.text.lstrip()[:1] in "{[":
            load_json(response.text, response.url, "a FantasyPros API answer")  # refuses a cut-off download
        try:
            data = decode(response.text)
            if kind_of(data) == "empty":
                what = " ".join(str(data.get(k)) for k in ("ranking_type_name", "type", "positions", "position_id",
                                                           "scoring", "year", "season") if data.get(k))
                self.nothing_yet(response, f"FantasyPros listed no players ({what or 'players: []'}): the "
                                           "off-season, or rankings not published yet")
                return
            yield from parse(data)
        except (UnknownLayout, ValueError) as exc:
            raise ParseError(
                f"{response.url}: {exc}; expected a FantasyPros cheat sheet (var ecrData = {{...}}) or an "
                "API v2 answer (consensus-rankings, rankings, players, projections, player-points)"
            ) from exc
