"""pfr_stats: Pro-Football-Reference pages (real ~2020 captures and synthetic 2024-25 pages)
parsed field by field, tables hidden in HTML comments included.

Expected values are literals read from the pages by hand (or written into the
synthetic pages), never the parser's own output.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg2
import pytest
from parsel import Selector
from scrapy.http import HtmlResponse, Request

from pde.records import Rejected, validate
from pde.sources import ParseError
from scrapers.fantasy import pfr_stats as pfr
from scrapers.fantasy.pfr_stats import (
    PfrStatsSpider,
    player_url,
    roster_url,
    season_page_url,
)
from scrapers.fantasy.records import (
    NflRosterEntry,
    NflTeamSeason,
    PlayerStats,
    SourcePlayer,
)
from tests.helpers import FIXTURES, of

FIX = FIXTURES / "pfr_stats"


def crawl(name, body=None, spider=None):
    url = f"file://{FIX / name}"
    response = HtmlResponse(url=url, body=body if body is not None else (FIX / name).read_bytes(),
                            encoding="utf-8", request=Request(url))
    items = list((spider or PfrStatsSpider()).parse(response))
    for item in items:
        if not isinstance(item, Rejected):
            assert validate(item) is None, item
    return items


def page(name):
    return Selector(text=(FIX / name).read_text(encoding="utf-8"))


# -- the comment-hidden tables ----------------------------------------------------------------------
@pytest.mark.parametrize("name, live, hidden", [
    ("BreeDr00.htm", {"stats", "passing"}, {"rushing_and_receiving", "fantasy", "defense", "scoring", "combine"}),
    ("2018_roster.htm", {"starters"}, {"roster"}),
    ("2017.html", {"AFC", "NFC"}, {"team_stats", "passing", "rushing", "kicking", "drives"}),
    ("WillJa10_synthetic.htm", {"rushing_and_receiving", "snap_counts"}, {"fantasy", "combine"}),
])
def test_tables_inside_html_comments_are_found(name, live, hidden):
    sel = page(name)
    assert {t.attrib["id"] for t in sel.css("table[id]")} >= live
    assert not hidden & {t.attrib["id"] for t in sel.css("table[id]")}  # a plain query cannot see them
    assert set(pfr.tables(sel)) >= live | hidden


def test_both_generations_of_cell_names_read_the_same():
    old = pfr.rows(pfr.tables(page("BreeDr00.htm"))["passing"])[0]
    new = pfr.rows(pfr.tables(page("passing_2024_synthetic.htm"))["passing"])[0]
    for stat in ("team", "g", "gs", "pass_cmp_perc"):
        assert stat in old.cells and stat in new.cells
    assert (new.cells["player"], new.cells["team"], new.cells["pass_cmp_perc"]) == ("Joe Burrow*", "CIN", "70.6")
    assert "team_name_abbr" not in new.cells and "name_display" not in new.cells


# -- player pages -------------------------------------------------------------------------------------
def test_brees_player_page():
    items = crawl("BreeDr00.htm")
    [bio] = of(items, SourcePlayer)
    assert (bio.source_player_id, bio.full_name, bio.position, bio.team) == ("BreeDr00", "Drew Brees", "QB", "NO")
    assert (bio.birth_date, bio.height_in, bio.weight_lb, bio.college) == (dt.date(1979, 1, 15), 72, 209, "Purdue")
    assert bio.url == "https://www.pro-football-reference.com/players/B/BreeDr00.htm"

    seasons = {s.season: s for s in of(items, PlayerStats) if s.week == 0}
    assert sorted(seasons) == list(range(2001, 2019))  # the 18 seasons of the (commented) fantasy table
    s2018 = seasons[2018]  # merged from #passing (live), #rushing_and_receiving and #fantasy (comments)
    assert (s2018.kind, s2018.team, s2018.position, s2018.games, s2018.games_started) == ("actual", "NO", "QB", 3, 3)
    assert (s2018.pass_cmp, s2018.pass_att, s2018.pass_yds, s2018.pass_td, s2018.pass_int) == (104, 129, 1078, 8, 0)
    assert (s2018.rush_att, s2018.rush_yds, s2018.rush_td) == (4, 6, 2)
    assert s2018.points_std == Decimal("90.00") and s2018.points_ppr is None  # this layout has no PPR column
    assert (s2018.stats["pass_cmp_perc"], s2018.stats["vbd"], s2018.stats["fantasy_rank_pos"],
            s2018.stats["fantasy_rank_overall"]) == (
        80.6, 32, 3, 5)
    s2001 = seasons[2001]  # only in the fantasy table here
    assert (s2001.games, s2001.points_std, s2001.stats["fantasy_rank_pos"], s2001.pass_yds) == (1, Decimal("15.00"),
                                                                                                49, None)

    games = {s.week: s for s in of(items, PlayerStats) if s.week}
    assert sorted(games) == [1, 2, 3] and {g.season for g in games.values()} == {2018}
    w1 = games[1]  # 2018-09-09 vs TAM: 37/45, 439 yards, 3 TD
    assert (w1.team, w1.games, w1.games_started, w1.pass_cmp, w1.pass_att, w1.pass_yds, w1.pass_td) == ("NO", 1, 1, 37,
                                                                                                        45, 439, 3)
    assert (w1.stats["opp"], w1.stats["game_result"]) == ("TAM", "L 40-48")
    assert (games[3].rush_att, games[3].rush_td, games[3].stats["game_location"]) == (3, 2, "@")


def test_player_page_2024_25_layout():
    items = crawl("WillJa10_synthetic.htm")
    [bio] = of(items, SourcePlayer)
    assert (bio.full_name, bio.position, bio.team, bio.birth_date, bio.height_in, bio.weight_lb, bio.college) == (
        "Javonte Williams", "RB", "DAL", dt.date(2000, 4, 25), 70, 220, "North Carolina")
    seasons = {s.season: s for s in of(items, PlayerStats)}
    assert sorted(seasons) == [2021, 2024]  # the "4 Yrs" career row is not a season
    s = seasons[2021]
    assert (s.team, s.games, s.games_started, s.rush_att, s.rush_yds, s.rush_td, s.targets, s.rec, s.rec_yds,
            s.rec_td) == (
        "DEN", 17, 7, 203, 903, 4, 53, 43, 316, 3)
    assert (s.points_std, s.points_ppr, s.stats["fantasy_rank_pos"], s.stats["fumbles"]) == (
        Decimal("154.00"), Decimal("197.90"), 21, 4)  # points from the commented #fantasy table


# -- season pages ---------------------------------------------------------------------------------
def test_season_fantasy_page_2019_layout():
    items = crawl("fantasy_2019_synthetic.htm")
    stats = {s.source_player_id: s for s in of(items, PlayerStats)}
    assert set(stats) == {"McCaCh01", "JackLa00", "ThomMi05", "SandEm00"}
    cmc = stats["McCaCh01"]
    assert (cmc.season, cmc.week, cmc.team, cmc.position, cmc.games, cmc.games_started) == (2019, 0, "CAR", "RB", 16,
                                                                                            16)
    assert (cmc.rush_yds, cmc.rec, cmc.rec_yds, cmc.points_std, cmc.points_ppr) == (1387, 116, 1005, Decimal("355.00"),
                                                                                    Decimal("471.20"))
    assert (cmc.stats["draftkings_points"], cmc.stats["vbd"], cmc.stats["fantasy_rank_overall"]) == (474.2, 202, 1)
    assert stats["ThomMi05"].team == "NO" and stats["ThomMi05"].rush_yds == -9  # NOR
    assert stats["SandEm00"].team == "2TM"
    players = {p.source_player_id: p for p in of(items, SourcePlayer)}
    assert players["JackLa00"].full_name == "Lamar Jackson" and players["JackLa00"].team is None  # a past season's team
    assert players["McCaCh01"].name_key == "christian mccaffrey"  # award marks *+ dropped


def test_season_fantasy_page_2025_layout():
    items = crawl("fantasy_2025_synthetic.htm")
    stats = {s.source_player_id: s for s in of(items, PlayerStats)}
    assert set(stats) == {"AlleJo02", "BarkSa00", "AdamDa01"}  # header repeat skipped, one line per player
    allen = stats["AlleJo02"]
    assert (allen.season, allen.team, allen.games, allen.games_started, allen.pass_yds, allen.rush_td) == (2025, "BUF",
                                                                                                           17, 17,
                                                                                                           3668, 14)
    assert (allen.points_std, allen.points_ppr) == (Decimal("356.12"), Decimal("356.12"))
    adams = stats["AdamDa01"]  # the combined line, not his LVR/NYJ lines
    assert (adams.team, adams.games, adams.rec_yds, adams.points_ppr) == ("2TM", 14, 1063, Decimal("239.30"))


def test_passing_page_saved_from_a_browser():
    items = crawl("passing_2024_synthetic.htm")
    stats = {s.source_player_id: s for s in of(items, PlayerStats)}
    assert set(stats) == {"BurrJo01", "GoffJa00"}  # "League Average" is not a player
    burrow = stats["BurrJo01"]
    assert (burrow.season, burrow.team, burrow.games, burrow.pass_cmp, burrow.pass_att, burrow.pass_yds,
            burrow.pass_td, burrow.pass_int) == (
        2024, "CIN", 17, 460, 652, 4918, 43, 9)
    assert burrow.stats["pass_cmp_perc"] == 70.6 and burrow.stats["qb_rec"] == "9-8-0"
    assert burrow.points_std is None


def test_roster_page():
    items = crawl("2018_roster.htm")
    roster = {r.source_player_id: r for r in of(items, NflRosterEntry)}
    assert set(roster) == {"BreeDr00", "DaviDe00", "LewiTo00", "LutzWi00", "MorsTh00"}  # "Team Total" skipped
    brees = roster["BreeDr00"]
    assert (brees.season, brees.team, brees.player_name, brees.position, brees.jersey, brees.age) == (2018, "NO",
                                                                                                      "Drew Brees",
                                                                                                      "QB", "9", 39)
    assert (brees.games, brees.games_started, brees.experience, brees.approximate_value) == (15, 15, 17, 16)
    assert brees.draft_info == "San Diego Chargers / 2nd / 32nd pick / 2001"
    assert (roster["DaviDe00"].position, roster["MorsTh00"].games_started) == ("OLB", 0)
    bio = {p.source_player_id: p for p in of(items, SourcePlayer)}["BreeDr00"]
    assert (bio.birth_date, bio.height_in, bio.weight_lb, bio.college, bio.team) == (dt.date(1979, 1, 15), 72, 209,
                                                                                     "Purdue", None)


def test_season_index_page():
    teams = {t.team: t for t in of(crawl("2017.html"), NflTeamSeason)}
    assert len(teams) == 32
    ne = teams["NE"]  # standings (live) + team_stats (comment)
    assert (ne.season, ne.team_name, ne.wins, ne.losses, ne.ties, ne.points, ne.points_against) == (
        2017, "New England Patriots", 13, 3, 0, 458, 296)
    assert (ne.games, ne.total_yards, ne.plays, ne.turnovers, ne.pass_yds, ne.rush_yds) == (16, 6307, 1070, 12, 4418,
                                                                                            1889)
    assert ne.stats["standings"]["srs_total"] == 8.9 and ne.stats["team_stats"]["exp_pts_tot"] == 262.10
    assert ne.stats["passing"]["pass_cmp_perc"] == 66.3  # the commented team passing table
    assert (teams["LAR"].points, teams["LAR"].total_yards) == (478, 5784)  # /teams/ram/
    assert (teams["LV"].team_name, teams["LV"].wins, teams["LV"].losses) == ("Oakland Raiders", 6, 10)  # /teams/rai/
    assert teams["LAC"].pass_yds == 4431  # /teams/sdg/


# -- failures ---------------------------------------------------------------------------------------------
def test_unknown_page_raises_parse_error():
    with pytest.raises(ParseError, match=r"2017\.html: expected a player page .* found tables none"):
        crawl("2017.html", body=b"<html><body><p>Nothing here</p></body></html>")
    body = (FIX / "BreeDr00.htm").read_bytes().replace(b"/players/B/BreeDr00.htm", b"/somewhere.htm")
    with pytest.raises(ParseError, match="player page without its /players/X/<id>.htm address"):
        crawl("BreeDr00.htm", body=body)


def test_row_without_player_link_is_rejected():
    body = (FIX / "passing_2024_synthetic.htm").read_bytes().replace(
        b'data-append-csv="GoffJa00" data-stat="name_display" csk="Goff,Jared"><a '
        b'href="/players/G/GoffJa00.htm">Jared Goff</a>',
        b'data-stat="name_display">Jared Goff')
    items = crawl("passing_2024_synthetic.htm", body=body)
    [bad] = of(items, Rejected)
    assert bad.reason == "#passing row without a player link" and bad.raw["player"] == "Jared Goff*"
    assert [s.source_player_id for s in of(items, PlayerStats)] == ["BurrJo01"]


# -- requests and politeness -------------------------------------------------------------------------------
def test_live_requests_and_rate_limit_settings():
    spider = PfrStatsSpider(seasons="2024", pages="fantasy,index", players="BreeDr00", rosters="KC,NO")
    assert [r.url for r in spider.live_requests()] == [
        "https://www.pro-football-reference.com/years/2024/fantasy.htm",
        "https://www.pro-football-reference.com/years/2024/",
        "https://www.pro-football-reference.com/teams/kan/2024_roster.htm",
        "https://www.pro-football-reference.com/teams/nor/2024_roster.htm",
        "https://www.pro-football-reference.com/players/B/BreeDr00.htm",
    ]
    assert (season_page_url(2017, "passing"), player_url("WillJa10"), roster_url("LV", 2017)) == (
        "https://www.pro-football-reference.com/years/2017/passing.htm",
        "https://www.pro-football-reference.com/players/W/WillJa10.htm",
        "https://www.pro-football-reference.com/teams/rai/2017_roster.htm")
    s = PfrStatsSpider.custom_settings
    assert s["DOWNLOAD_DELAY"] >= 6 and s["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1 and s["DOWNLOAD_DELAY_JITTER"] == 0
    assert 429 not in s["RETRY_HTTP_CODES"]
    assert any(m in (FIX / "rate_limited_synthetic.html").read_text() for m in PfrStatsSpider.block_markers)
    assert not any(m in (FIX / n).read_text(encoding="utf-8") for n in ("BreeDr00.htm", "2017.html", "2018_roster.htm")
                   for m in PfrStatsSpider.block_markers)
    with pytest.raises(ValueError, match="unknown pages"):
        PfrStatsSpider(pages="defense")


def test_cassettes_replay_and_block(pg_url, pde_home):
    from pde import cassettes
    from tests.conftest import run_crawl

    for name in ("cassette_2017.json", "cassette_roster_2018.json", "cassette_2025.json", "blocked.json"):
        meta = cassettes.metadata(FIX / name)
        p = run_crawl("pfr_stats", db=pg_url, cassette=FIX / name, args=meta["args"])
        assert (p.returncode == 0) == (meta["expect"] == "succeeded"), p.stderr[-3000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, items_quarantined FROM platform.runs ORDER BY run_id")
        assert cur.fetchall() == [("succeeded", 0)] * 3 + [("blocked", 0)]
        cur.execute("SELECT count(*) FROM fantasy.nfl_team_seasons WHERE season = 2017")
        assert cur.fetchone() == (32,)
        cur.execute("SELECT season, points_std FROM fantasy.player_stats WHERE source_player_id = 'BreeDr00' AND week "
                    "= 0 "
                    "AND season IN (2001, 2018) ORDER BY season")
        assert cur.fetchall() == [(2001, Decimal("15.00")), (2018, Decimal("90.00"))]
        cur.execute("SELECT team FROM fantasy.nfl_rosters WHERE source_player_id = 'BreeDr00'")
        assert cur.fetchone() == ("NO",)
        cur.execute("SELECT team FROM fantasy.player_stats WHERE source_player_id = 'AdamDa01'")
        assert cur.fetchone() == ("2TM",)
