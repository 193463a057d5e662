"""espn_league: every ESPN capture in fixtures/espn_league parsed field by field.

Expected values are literals read from the captures by hand, or looked up in the
raw JSON by the test itself; never the parser's own output.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import psycopg2
import pytest
from scrapy.http import Request, TextResponse

from pde.records import Rejected, validate
from pde.sources import ParseError
from scrapers.fantasy import espn_league as espn
from scrapers.fantasy.espn_league import EspnLeagueSpider, activity_url, league_url
from scrapers.fantasy.records import (
    DraftPick,
    League,
    Matchup,
    Member,
    PlayerStats,
    Ranking,
    Roster,
    SourcePlayer,
    Team,
    Transaction,
)
from tests.helpers import FIXTURES, of

FIX = FIXTURES / "espn_league"
LEAGUE = "368876"


def raw(name):
    return json.loads((FIX / name).read_text(encoding="utf-8"))


def crawl(name, spider=None, status=200, body=None, meta=None):
    spider = spider or EspnLeagueSpider()
    url = f"file://{FIX / name}"
    response = TextResponse(url=url, body=body if body is not None else (FIX / name).read_bytes(),
                            encoding="utf-8", status=status, request=Request(url, meta=meta or {}))
    items = list(spider.parse(response))
    for item in items:
        if not isinstance(item, Rejected):
            assert validate(item) is None, item
    return items


def pts(x):
    return Decimal(str(x)).quantize(Decimal("0.01"))


# -- mTeam -----------------------------------------------------------------------------
def test_team_view_league_teams_and_members():
    items = crawl("league_team_2018.json")
    assert not of(items, Rejected)
    [league] = of(items, League)
    assert (league.source, league.league_id, league.season) == ("espn", LEAGUE, 2018)
    assert league.size == 10 and league.current_week == 16 and league.status == "active"
    assert league.previous_seasons == [2015, 2016, 2017]
    assert league.name is None and league.settings is None  # mTeam says neither

    teams = {t.team_id: t for t in of(items, Team)}
    assert len(teams) == 10
    t1 = teams["1"]
    assert t1.name == "Goin' HAM Newton" and t1.abbrev == "GHN"
    assert t1.owner_ids == ["{fdhdfhf-53A5-4CF2-A937-hghgfhfg}"]
    assert (t1.wins, t1.losses, t1.ties) == (8, 5, 0)
    assert t1.points_for == Decimal("1937.52") and t1.points_against == Decimal("1640.60")
    assert (t1.playoff_seed, t1.final_rank, t1.waiver_position, t1.faab_used) == (2, 3, 9, 0)
    for team in raw("league_team_2018.json")["teams"]:
        got, rec = teams[str(team["id"])], team["record"]["overall"]
        assert got.abbrev == team["abbrev"] and got.owner_ids == team["owners"]
        assert (got.wins, got.losses, got.ties) == (rec["wins"], rec["losses"], rec["ties"])
        assert got.points_for == pts(rec["pointsFor"]) and got.points_against == pts(rec["pointsAgainst"])
        assert (got.league_id, got.season) == (LEAGUE, 2018)

    members = of(items, Member)
    assert len(members) == 10
    assert (members[0].member_id, members[0].display_name, members[0].first_name, members[0].last_name) == (
        "{THWGWHGHJWG-45A0-4E5C-A807-RHGTCNHFVF}", "dub2", "C", "Dub")
    assert all(m.season == 2018 and m.league_id == LEAGUE for m in members)


def test_league_name_and_commissioner():
    items = crawl("league_2018.json")
    [league] = of(items, League)
    assert league.name == "FXBG League"
    members = {m.display_name: m for m in of(items, Member)}
    assert members["adr"].is_commissioner is True
    assert [n for n, m in members.items() if m.is_commissioner] == ["adr"]
    teams = {t.team_id: t for t in of(items, Team)}
    assert teams["3"].name == "Feel the Brees"  # location "Feel the " + nickname "Brees"
    assert teams["9"].name == "Misunderstood Mistfits"
    assert teams["3"].wins is None  # no record in this view: unknown, not zero


def test_settings_view():
    [league] = crawl("league_settings_2018_excerpt.json")
    assert league.name == "FXBG League"
    assert league.scoring_format == "ppr"  # scoringItems statId 53 (reception) = 1 point
    assert league.roster_positions == ["QB", "RB", "RB", "WR", "WR", "TE", "FLEX", "D/ST", "K"] + ["BE"] * 6
    assert league.playoff_teams == 6 and league.playoff_week_start == 14  # 13 regular matchup periods
    assert league.settings["draftSettings"]["pickOrder"] == [2, 8, 1, 9, 4, 3, 10, 5, 7, 11]
    assert "name" not in league.settings and league.scoring_settings["playerRankType"] == "STANDARD"


# -- mMatchupScore (2018 object, 2015 leagueHistory list) -------------------------------------
def check_schedule(items, schedule, season):
    rows = {(m.week, m.team_id): m for m in of(items, Matchup)}
    sides = 0
    for game in schedule:
        for side, other, home in (("home", "away", True), ("away", "home", False)):
            if side not in game:
                continue
            sides += 1
            m = rows[(game["matchupPeriodId"], str(game[side]["teamId"]))]
            assert (m.league_id, m.season, m.matchup_id, m.is_home) == (LEAGUE, season, str(game["id"]), home)
            assert m.points == pts(game[side]["totalPoints"])
            assert m.playoff_tier == game["playoffTierType"]
            if other in game:
                assert m.opponent_team_id == str(game[other]["teamId"])
                assert m.opponent_points == pts(game[other]["totalPoints"])
                expected = {"TIE": "T", "UNDECIDED": None}.get(game["winner"],
                                                               "W" if game["winner"] == side.upper() else "L")
                assert m.result == expected
            else:
                assert m.opponent_team_id is None and m.result is None
    assert len(rows) == sides


def test_matchup_score_2018():
    items = crawl("league_matchupScore_2018.json")
    schedule = raw("league_matchupScore_2018.json")["schedule"]
    assert len(schedule) == 81 and len(of(items, Matchup)) == 160  # two playoff byes
    check_schedule(items, schedule, 2018)
    rows = {(m.week, m.team_id): m for m in of(items, Matchup)}
    first = rows[(1, "9")]  # schedule[0]: home 9 125.5 lost to away 11 163.56
    assert (first.points, first.opponent_team_id, first.opponent_points, first.result) == (
        Decimal("125.50"), "11", Decimal("163.56"), "L")
    assert rows[(1, "11")].result == "W"
    bye = rows[(14, "11")]  # schedule id 65: a first-round bye
    assert bye.opponent_team_id is None and bye.points == Decimal("139.40") and bye.playoff_tier == "WINNERS_BRACKET"


def test_league_history_2015_is_a_list():
    data = raw("league_matchupScore_2015.json")
    assert isinstance(data, list) and len(data) == 1
    items = crawl("league_matchupScore_2015.json")
    [league] = of(items, League)
    assert (league.league_id, league.season) == (LEAGUE, 2015)
    check_schedule(items, data[0]["schedule"], 2015)
    rows = {(m.week, m.team_id): m for m in of(items, Matchup)}
    assert len(rows) == 2 * 65 - 2
    tie_home, tie_away = rows[(9, "1")], rows[(9, "8")]  # schedule id 35: 122-122
    assert (tie_home.result, tie_away.result, tie_home.points, tie_away.points) == ("T", "T", Decimal("122.00"),
                                                                                    Decimal("122.00"))


# -- mDraftDetail -----------------------------------------------------------------------
def test_draft_picks():
    picks = {p.overall_pick: p for p in of(crawl("league_draft_2018.json"), DraftPick)}
    assert len(picks) == 150
    first, last = picks[1], picks[150]
    assert (first.round, first.round_pick, first.team_id, first.source_player_id, first.member_id) == (
        1, 1, "2", "15825", "{6863-6934-3455}")
    assert (first.is_keeper, first.bid_amount) == (False, 0)
    assert (last.round, last.round_pick, last.team_id, last.source_player_id) == (15, 10, "11", "1097")
    for p in raw("league_draft_2018.json")["draftDetail"]["picks"]:
        got = picks[p["overallPickNumber"]]
        assert (got.round, got.round_pick, got.team_id, got.source_player_id, got.league_id, got.season) == (
            p["roundId"], p["roundPickNumber"], str(p["teamId"]), str(p["playerId"]), LEAGUE, 2018)


# -- player pool -------------------------------------------------------------------------
def test_free_agents_players_stats_and_ranks():
    items = crawl("league_free_agents_2018.json")
    assert not of(items, Rejected)
    players = {p.source_player_id: p for p in of(items, SourcePlayer)}
    assert len(players) == 50
    gordon = players["15705"]
    assert (gordon.full_name, gordon.name_key, gordon.position, gordon.team, gordon.jersey, gordon.injury_status) == (
        "Josh Gordon", "josh gordon", "WR", "NE", "10", "OUT")  # proTeamId 17 = NE
    dst = players["-16024"]
    assert (dst.full_name, dst.position, dst.team) == ("Chargers D/ST", "DEF", "LAC")
    assert players["10636"].position == "K"  # Mason Crosby, defaultPositionId 5

    stats = {(s.source_player_id, s.season, s.week, s.kind): s for s in of(items, PlayerStats)}
    assert len(stats) == sum(len(p["player"]["stats"]) for p in raw("league_free_agents_2018.json")["players"])
    proj = stats[("15705", 2018, 0, "projection")]
    assert proj.points_league == Decimal("199.96")  # appliedTotal 199.958651...
    assert proj.rec == pytest.approx(62.33618434) and proj.targets == pytest.approx(117.4091167)
    week1 = stats[("15705", 2018, 1, "actual")]  # his week 1 game was for Cleveland (proTeamId 5)
    assert (week1.team, week1.points_league, week1.rec, week1.rec_yds, week1.rec_td, week1.targets) == (
        "CLE", Decimal("8.70"), 1.0, 17.0, 1.0, 3.0)
    assert week1.stats["47"] == 3.0  # every raw stat kept
    assert ("15705", 2018, 0, "projection_split3") in stats
    assert stats[("15705", 2018, 0, "actual")].points_league == Decimal("138.70")

    ranks = {(r.source_player_id, r.scoring): r for r in of(items, Ranking)}
    r = ranks[("15705", "std")]
    assert (r.season, r.week, r.ranking_type, r.position_group, r.rank, r.auction_value) == (
        2018, 0, "draft", "ALL", 39, Decimal("21"))
    assert r.adp == pytest.approx(49.7) and r.owned_pct == pytest.approx(76.510067114093)
    assert r.started_pct == pytest.approx(8.389261744966)


def test_player_card():
    items = crawl("league_2019_playerCard.json")
    [player] = of(items, SourcePlayer)
    assert (player.source_player_id, player.full_name, player.position, player.team) == ("3045147", "James Conner",
                                                                                         "RB", "PIT")
    stats = {(s.season, s.week, s.kind): s for s in of(items, PlayerStats)}
    season = stats[(2019, 0, "actual")]
    assert season.points_league == Decimal("145.50")
    assert (season.rush_att, season.rush_yds, season.rush_td, season.rec, season.rec_yds, season.rec_td,
            season.targets) == (
        116.0, 464.0, 4.0, 34.0, 251.0, 3.0, 38.0)
    assert stats[(2019, 8, "actual")].rush_yds == 145.0 and stats[(2019, 8, "actual")].points_league == Decimal("24.00")
    assert stats[(2019, 17, "actual")].stats is None  # a week without a game: no stats, 0 points
    assert stats[(2020, 0, "projection")].points_league == Decimal("192.93")
    # the card was fetched for 2020 (it holds 2020's projection): its draft ranks are 2020's
    ranks = {r.scoring: r for r in of(items, Ranking)}
    assert set(ranks) == {"std", "ppr"}
    assert all(r.season == 2020 and r.rank == 47 and r.auction_value == Decimal("17") for r in ranks.values())
    assert ranks["ppr"].adp == pytest.approx(49.15868710096434)


def test_season_argument_overrides_the_guess():
    items = crawl("league_2019_playerCard.json", EspnLeagueSpider(league_id=LEAGUE, seasons="2019"))
    assert {r.season for r in of(items, Ranking)} == {2019}
    assert {s.league_id for s in of(items, PlayerStats)} == {LEAGUE}


# -- mRoster (synthetic) ---------------------------------------------------------------------
def test_roster_view():
    items = crawl("league_roster_2019_synthetic.json")
    [roster] = of(items, Roster)
    assert (roster.league_id, roster.season, roster.team_id, roster.week) == (LEAGUE, 2019, "4", 3)
    assert roster.player_ids == ["3045147", "10636", "-16018"]
    assert roster.lineup == {"3045147": "RB", "10636": "BE", "-16018": "IR"}
    assert roster.starters == ["3045147"] and roster.reserve == ["-16018"]
    assert roster.owner_id == "{sdgsdgs-6C8D-462C-8E53-sdgsdgs}"
    assert {p.source_player_id for p in of(items, SourcePlayer)} == {"3045147", "10636", "-16018"}
    [line] = of(items, PlayerStats)
    assert (line.week, line.points_league, line.rush_yds, line.rec) == (3, Decimal("17.40"), 33.0, 4.0)


# -- recent activity -----------------------------------------------------------------------------
def test_recent_activity():
    items = crawl("league_recent_activity_2019.json", EspnLeagueSpider(league_id=LEAGUE, seasons="2019"))
    txs = {t.transaction_id: t for t in of(items, Transaction)}
    assert len(txs) == 25
    first = txs["fb0926b0-1678-4e58-a6e0-afebaec2b278"]  # FA add of -16001, drop of -16021, team 11
    assert (first.league_id, first.season, first.type) == (LEAGUE, 2019, "free_agent")
    assert first.created_at == dt.datetime(2019, 9, 26, 22, 38, 29, 290000, tzinfo=dt.UTC)  # 1569537509290 ms
    assert (first.adds, first.drops, first.team_ids) == ({"-16001": "11"}, {"-16021": "11"}, ["11"])
    assert first.creator_id == "{61E5E7DB-8FF9-413B-BC45-10AB6DDA15D6}"
    by_prefix = {t[:8]: t for t in txs}
    waiver = txs[by_prefix["9e18235f"]]  # 180 waiver add of -16011 + 181 drop of 2969962, team 1
    assert (waiver.type, waiver.adds, waiver.drops) == ("waiver", {"-16011": "1"}, {"2969962": "1"})
    dropped = txs[by_prefix["08a45d73"]]  # messageTypeId 239: to = -1, the team is in "for" (2)
    assert (dropped.type, dropped.adds, dropped.drops) == ("drop", None, {"4361606": "2"})
    trade = next(t for t in txs.values() if t.type == "trade")  # messageTypeId 244
    assert trade.adds == {"3043234": "3"} and trade.drops == {"2971573": "3"}
    for topic in raw("league_recent_activity_2019.json")["topics"]:
        assert [d["player_id"] for d in txs[topic["id"]].details] == [str(m["targetId"]) for m in topic["messages"]]


# -- failures ----------------------------------------------------------------------------------
def test_unknown_json_raises_parse_error_naming_the_page():
    with pytest.raises(ParseError, match=r"league_2018\.json.*expected a league object"):
        crawl("league_2018.json", body=b'{"something": "else"}')
    with pytest.raises(ParseError, match="not JSON"):
        crawl("league_2018.json", body=b"<html>Sign in</html>")


def test_private_league_without_cookies_says_what_to_set():
    with pytest.raises(ParseError, match="ESPN_S2 and ESPN_SWID"):
        crawl("league_2018.json", status=401, body=b'{"messages": ["You are not authorized to view this League."]}')


def test_bad_rows_become_rejected():
    data = raw("league_matchupScore_2018.json")
    data["schedule"][0].pop("matchupPeriodId")
    data["draftDetail"] = {"picks": [{"playerId": 1}]}
    data["teams"] = [{"abbrev": "X"}]
    items = crawl("league_matchupScore_2018.json", body=json.dumps(data).encode())
    reasons = sorted(r.reason for r in of(items, Rejected))
    assert reasons == ["draft pick without overallPickNumber", "schedule entry without matchupPeriodId or home team",
                       "team without id"]
    assert len(of(items, Matchup)) == 158  # the other entries still parsed
    pool = {"players": [{"id": 1, "player": {"id": 1}}, raw("league_free_agents_2018.json")["players"][0]]}
    items = crawl("league_free_agents_2018.json", body=json.dumps(pool).encode())
    assert [r.reason for r in of(items, Rejected)] == ["player entry without player.id/fullName"]
    assert [p.full_name for p in of(items, SourcePlayer)] == ["Josh Gordon"]


def test_ranks_without_a_season_are_rejected():
    entry = raw("league_free_agents_2018.json")["players"][0]
    entry["player"]["stats"] = []
    items = crawl("league_free_agents_2018.json", body=json.dumps({"players": [entry]}).encode())
    assert [r.reason for r in of(items, Rejected)] == ["ESPN draft ranks without a season: pass -a seasons=YYYY"]


# -- live requests ---------------------------------------------------------------------------------
def test_live_requests(monkeypatch):
    monkeypatch.setenv("ESPN_S2", "s2-cookie-value")
    monkeypatch.setenv("ESPN_SWID", "{SWID-VALUE}")
    spider = EspnLeagueSpider(league_id=LEAGUE, seasons="2015,2019", players_limit="100")
    reqs = list(spider.live_requests())
    urls = [r.url for r in reqs]
    assert urls[:5] == [league_url(LEAGUE, 2015, v) for v in ("mSettings", "mTeam", "mRoster", "mMatchupScore",
                                                              "mDraftDetail")]
    assert urls[0] == "https://lm-api-reads.fantasy.espn.com/apis/v3/games/ffl/leagueHistory/368876?seasonId=2015&view=mSettings"
    assert urls[5:] == [league_url(LEAGUE, 2019, v) for v in ("mSettings", "mTeam", "mRoster", "mMatchupScore",
                                                               "mDraftDetail",
                                                               "kona_player_info")] + [activity_url(LEAGUE, 2019)]
    assert urls[5] == "https://lm-api-reads.fantasy.espn.com/apis/v3/games/ffl/seasons/2019/segments/0/leagues/368876?view=mSettings"
    kona = reqs[10]
    assert json.loads(kona.headers["X-Fantasy-Filter"])["players"]["limit"] == 100
    assert reqs[0].cookies == {"espn_s2": "s2-cookie-value", "SWID": "{SWID-VALUE}"}
    assert reqs[5].meta["espn_ctx"] == espn.Context(league_id=LEAGUE, season=2019)
    with pytest.raises(ValueError, match="league_id"):
        list(EspnLeagueSpider().live_requests())


# -- replayed end to end (cassettes built by fixtures/espn_league/build_cassettes.py) --------------------
def test_cassettes_replay_into_the_database(pg_url, pde_home):
    from pde import cassettes
    from tests.conftest import run_crawl

    for name in ("cassette_2018.json", "cassette_history_2015.json", "cassette_2019.json"):
        meta = cassettes.metadata(FIX / name)
        p = run_crawl("espn_league", db=pg_url, cassette=FIX / name, args=meta["args"])
        assert p.returncode == 0, p.stderr[-3000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, items_quarantined FROM platform.runs ORDER BY run_id")
        assert cur.fetchall() == [("succeeded", 0)] * 3
        cur.execute("SELECT season, name, scoring_format FROM fantasy.leagues ORDER BY season")
        assert cur.fetchall() == [(2015, None, None), (2018, "FXBG League", "ppr"), (2019, None, None)]
        cur.execute("SELECT count(*) FROM fantasy.matchups GROUP BY season ORDER BY season")
        assert cur.fetchall() == [(128,), (160,)]
        cur.execute("SELECT count(*), count(league_id) FROM fantasy.transactions")
        assert cur.fetchone() == (25, 25)
        cur.execute("SELECT lineup FROM fantasy.rosters WHERE team_id = '4'")
        assert cur.fetchone()[0] == {"3045147": "RB", "10636": "BE", "-16018": "IR"}
