"""sleeper_league: every Sleeper capture parsed field by field, the live crawl's chain of
requests, the daily players refresh, and fantasy.match_players() in PostgreSQL.

Expected values are literals read from the captures by hand or looked up in the raw
JSON by the test; never the parser's own output.
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
from scrapers.fantasy import sleeper_league as sleeper
from scrapers.fantasy.records import (
    DraftPick,
    League,
    Matchup,
    Member,
    PlayerStats,
    Roster,
    SourcePlayer,
    Team,
    Transaction,
    Trending,
)
from scrapers.fantasy.sleeper_league import SleeperLeagueSpider, parse_weeks
from tests.helpers import FIXTURES, of

FIX = FIXTURES / "sleeper_league"
LEAGUE = "289646328504385536"
API = "https://api.sleeper.app/v1"


def raw(name):
    return json.loads((FIX / name).read_text(encoding="utf-8"))


def response(name, meta=None, body=None, url=None, headers=None):
    url = url or f"file://{FIX / name}"
    return TextResponse(url=url, body=body if body is not None else (FIX / name).read_bytes(), encoding="utf-8",
                        headers=headers, request=Request(url, meta=meta or {}))


def crawl(name, spider=None, meta=None, **kw):
    items = list((spider or SleeperLeagueSpider()).parse(response(name, meta=meta, **kw)))
    for item in items:
        if not isinstance(item, (Rejected, Request)):
            assert validate(item) is None, item
    return items


def file_spider(**args):
    return SleeperLeagueSpider(league_id=LEAGUE, season="2018", week="1", **args)


# -- endpoints recognised by content ------------------------------------------------------------
@pytest.mark.parametrize("name, kind", [
    ("league.json", "league"), ("users.json", "users"), ("rosters.json", "rosters"), ("matchups.json", "matchups"),
    ("transactions.json", "transactions"), ("draft-picks.json", "draft_picks"), ("state.json", "state"),
    ("trending-add.json", "trending"), ("players.json", "players"),
])
def test_every_capture_is_recognised(name, kind):
    assert sleeper.kind_of(raw(name)) == kind


def test_league():
    [league] = crawl("league.json")
    assert (league.source, league.league_id, league.season, league.name) == ("sleeper", LEAGUE, 2018,
                                                                             "Sleeper Friends League")
    assert (league.status, league.size, league.scoring_format) == ("complete", 12, "ppr")  # scoring_settings.rec = 1.0
    assert (league.current_week, league.playoff_week_start, league.playoff_teams) == (16, 14, 6)
    assert (league.previous_league_id, league.draft_id) == ("198946952535085056", "289646328508579840")
    assert league.roster_positions == ["QB", "RB", "RB", "WR", "WR", "TE", "FLEX", "FLEX", "DEF"] + ["BN"] * 6
    assert league.settings["waiver_budget"] == 100 and league.scoring_settings["pass_td"] == 6.0


def test_users():
    members = {m.member_id: m for m in of(crawl("users.json"), Member)}
    assert len(members) == 14
    m = members["457511950237696"]
    assert (m.league_id, m.display_name, m.team_name, m.is_commissioner, m.avatar) == (
        LEAGUE, "2KSports", "Giant Dolphins", True, "cc12ec49965eb7856f84d71cf85306af")
    assert members["476735150112768"].team_name is None  # "sunny" named no team
    for user in raw("users.json"):
        assert members[user["user_id"]].is_commissioner == user["is_owner"]


def test_rosters_are_teams_and_rosters():
    items = crawl("rosters.json", file_spider())
    teams = {t.team_id: t for t in of(items, Team)}
    rosters = {r.team_id: r for r in of(items, Roster)}
    assert len(teams) == len(rosters) == 12
    t1 = teams["1"]  # wins 7, losses 6, fpts 1776 + fpts_decimal 6, against 1695 + 36
    assert (t1.league_id, t1.season, t1.owner_ids, t1.wins, t1.losses, t1.ties) == (
        LEAGUE, 2018, ["189140835533586432"], 7, 6, 0)
    assert (t1.points_for, t1.points_against, t1.waiver_position, t1.faab_used) == (
        Decimal("1776.06"), Decimal("1695.36"), 4, 100)
    assert t1.name is None  # the users response names teams; see the live chain below
    assert teams["2"].owner_ids == ["457511950237696", "476735150112768"]  # owner + co-owner
    r2 = rosters["2"]
    assert r2.reserve == ["2078"] and r2.taxi is None and r2.week == 1
    for roster in raw("rosters.json"):
        got = rosters[str(roster["roster_id"])]
        assert (got.player_ids, got.starters, got.owner_id) == (roster["players"], roster["starters"],
                                                                roster["owner_id"])
        s = roster["settings"]
        assert teams[str(roster["roster_id"])].points_for == Decimal(s["fpts"]) + Decimal(s["fpts_decimal"]) / 100


def test_matchups_pair_opponents():
    items = crawl("matchups.json", file_spider())
    rows = {m.team_id: m for m in of(items, Matchup)}
    assert len(rows) == 12
    one = rows["1"]  # roster 1 (108.9) and roster 7 (139.72) share matchup_id 6
    assert (one.league_id, one.season, one.week, one.matchup_id) == (LEAGUE, 2018, 1, "6")
    assert (one.points, one.opponent_team_id, one.opponent_points, one.result) == (
        Decimal("108.90"), "7", Decimal("139.72"), "L")
    assert rows["7"].result == "W" and rows["7"].opponent_team_id == "1"
    assert one.starters == ["2306", "4035", "788", "4146", "2449", "2118", "1352", "223", "PHI"]
    assert one.starters_points[0] == 20.1 and one.players_points["421"] == 21.58
    entries = raw("matchups.json")
    for entry in entries:
        other = next(e for e in entries if e["matchup_id"] == entry["matchup_id"] and e is not entry)
        assert rows[str(entry["roster_id"])].opponent_team_id == str(other["roster_id"])


def test_matchups_of_an_unfinished_week_have_no_result():
    spider = SleeperLeagueSpider(league_id=LEAGUE)
    ctx = sleeper.Context(league_id=LEAGUE, season=2018, week=1, week_final=False)
    rows = of(crawl("matchups.json", spider, meta={"sleeper_ctx": ctx}), Matchup)
    assert {m.result for m in rows} == {None} and rows[0].points == Decimal("108.90")


def test_transactions():
    txs = {t.transaction_id: t for t in of(crawl("transactions.json", file_spider()), Transaction)}
    assert len(txs) == 5
    t = txs["236033779569782784"]
    assert (t.type, t.status, t.week, t.league_id, t.team_ids) == ("waiver", "failed", 10, LEAGUE, ["1"])
    assert (t.adds, t.drops) == ({"788": "1"}, {"2222": "1"})
    assert t.created_at == dt.datetime(2017, 11, 14, 5, 29, 7, 645000, tzinfo=dt.UTC)  # 1510637347645 ms
    assert t.status_updated_at == dt.datetime(2017, 11, 15, 8, 4, 1, 378000, tzinfo=dt.UTC)
    assert t.notes == "Unfortunately, your roster will have too many players after this transaction."
    bid = txs["345351393839702016"]
    assert (bid.faab_bid, bid.week, bid.adds, bid.drops, bid.creator_id) == (5, 1, {"4992": "4"}, {"5013": "4"},
                                                                             "61960473868124160")
    assert txs["234154875586342912"].type == "free_agent" and txs["233620375005556736"].adds == {"DET": "1"}


def test_draft_picks():
    picks = {p.overall_pick: p for p in of(crawl("draft-picks.json", file_spider()), DraftPick)}
    assert len(picks) == 180
    p1 = picks[1]
    assert (p1.round, p1.round_pick, p1.team_id, p1.member_id, p1.source_player_id) == (1, 1, "10",
                                                                                        "76888557872365568", "2315")
    assert (p1.player_name, p1.position, p1.nfl_team, p1.draft_id) == ("Todd Gurley", "RB", "LAR", "289646328508579840")
    assert (picks[13].round, picks[13].round_pick, picks[13].player_name) == (2, 1, "Julio Jones")  # snake: slot 12
    assert (picks[180].player_name, picks[180].nfl_team) == ("Jalen Richard", "LV")  # OAK then
    for p in raw("draft-picks.json"):
        got = picks[p["pick_no"]]
        assert (got.round, got.team_id, got.source_player_id) == (p["round"], str(p["roster_id"]), p["player_id"])


def test_trending_uses_the_response_date():
    headers = {"Date": "Mon, 20 Sep 2021 12:00:00 GMT"}
    items = crawl("trending-add.json", SleeperLeagueSpider(trending="add"), headers=headers)
    rows = of(items, Trending)
    assert len(rows) == 25
    assert (rows[0].source_player_id, rows[0].count, rows[0].rank, rows[0].direction) == ("6853", 233312, 1, "add")
    assert rows[0].observed_on == dt.date(2021, 9, 20) and rows[0].lookback_hours == 24
    assert (rows[18].source_player_id, rows[18].count) == ("TEN", 29540)
    assert [r.count for r in rows] == [r["count"] for r in raw("trending-add.json")]


def test_players_database():
    players = {p.source_player_id: p for p in of(crawl("players.json"), SourcePlayer)}
    assert set(players) == {"2103", "3199", "WAS", "4981"}
    mt = players["3199"]
    assert (mt.full_name, mt.name_key, mt.position, mt.team, mt.birth_date) == (
        "Michael Thomas", "michael thomas", "WR", "NO", dt.date(1993, 3, 3))
    assert (mt.height_in, mt.weight_lb, mt.jersey, mt.status, mt.injury_status, mt.college) == (75, 212, "13",
                                                                                                "Inactive", "PUP",
                                                                                                "Ohio State")
    assert (mt.espn_id, mt.yahoo_id, mt.sportradar_id, mt.gsis_id) == (
        "2976316", "29281", "90c1756d-1f47-41b7-89fe-b113c9850bc1", "00-0032765")
    assert mt.other_ids == {"rotowire": "10759", "rotoworld": "11222", "fantasy_data": "17960", "stats": "653699",
                            "swish": "653699"}
    dst = players["WAS"]
    assert (dst.full_name, dst.position, dst.team, dst.espn_id, dst.other_ids) == (
        "Washington Football Team", "DEF", "WAS", None, None)
    assert players["2103"].team is None and players["2103"].fantasy_positions == ["OL"]


def test_nfl_state_yields_nothing_by_itself():
    assert crawl("state.json") == []


# -- context missing, bad rows, unknown content ----------------------------------------------------
def test_saved_files_without_context_are_rejected_with_the_fix():
    items = crawl("matchups.json")
    assert len(items) == 12 and all(isinstance(i, Rejected) for i in items)
    assert items[0].reason == ("a matchups response does not say its league_id, season, week: crawl it through the "
                               "league or pass -a league_id=... -a season=... -a week=...")
    assert items[0].raw["roster_id"] == 1
    rosters = crawl("rosters.json")  # rosters name their league but not the season
    assert {r.reason for r in rosters} == {"a rosters response does not say its season: crawl it through the league "
                                          "or pass -a season=..."}
    trending = crawl("trending-add.json")  # default -a trending=add,drop: which one is this file?
    assert "-a trending=add|drop" in trending[0].reason


def test_bad_rows_become_rejected():
    body = json.dumps([{"transaction_id": ""}, raw("transactions.json")[0]]).encode()
    items = crawl("transactions.json", file_spider(), body=body)
    assert [i.reason for i in of(items, Rejected)] == ["transaction without transaction_id"]
    assert len(of(items, Transaction)) == 1
    players = {"1": {"player_id": "1", "position": "QB"}, **raw("players.json")}
    items = crawl("players.json", body=json.dumps(players).encode())
    assert [i.reason for i in of(items, Rejected)] == ["player without a name"]


def test_unknown_content_raises_parse_error():
    with pytest.raises(ParseError,
                       match=r"users\.json: a JSON list of objects with keys \['a', 'b'\].*expected a Sleeper"):
        crawl("users.json", body=b'[{"a": 1, "b": 2}]')
    with pytest.raises(ParseError, match="not JSON"):
        crawl("users.json", body=b"<html>502 Bad Gateway</html>")
    assert crawl("users.json", body=b"[]") == []  # a week without transactions


# -- the live chain -------------------------------------------------------------------------------------
def test_live_requests_and_players_switch():
    reqs = list(SleeperLeagueSpider(league_id=LEAGUE, players="1").live_requests())
    assert [r.url for r in reqs] == [f"{API}/state/nfl", f"{API}/players/nfl/trending/add?lookback_hours=24&limit=25",
                                     f"{API}/players/nfl/trending/drop?lookback_hours=24&limit=25",
                                     f"{API}/players/nfl"]
    assert reqs[1].meta["sleeper_ctx"].trending == "add" and reqs[0].meta["follow"] is True
    assert f"{API}/players/nfl" not in [r.url for r in SleeperLeagueSpider(players="0", trending="").live_requests()]


def test_players_auto_asks_the_database(monkeypatch):
    import pde.db

    class Conn:
        def close(self):
            pass

    monkeypatch.setattr(sleeper, "database_url", lambda start=True: "postgresql://nowhere/pde")
    monkeypatch.setattr(sleeper, "connect", lambda url: Conn())
    now = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(sleeper, "players_last_fetched", lambda conn: now - dt.timedelta(hours=2))
    assert SleeperLeagueSpider().players_wanted() is False
    monkeypatch.setattr(sleeper, "players_last_fetched", lambda conn: now - dt.timedelta(days=2))
    assert SleeperLeagueSpider().players_wanted() is True

    def refuse(url):
        raise pde.db.DatabaseError("down")

    monkeypatch.setattr(sleeper, "connect", refuse)
    assert SleeperLeagueSpider().players_wanted() is True  # cannot tell: fetch


def test_players_refresh_due():
    t = dt.datetime(2021, 9, 20, 12, tzinfo=dt.UTC)
    assert sleeper.players_refresh_due(None)
    assert not sleeper.players_refresh_due(t - dt.timedelta(hours=19), now=t)
    assert sleeper.players_refresh_due(t - dt.timedelta(hours=20), now=t)
    assert not sleeper.players_refresh_due(dt.datetime(2021, 9, 20, 11), now=t)  # naive = UTC


def test_chain_state_league_users_rosters():
    spider = SleeperLeagueSpider(league_id=LEAGUE, weeks="1-2")
    state_req = list(spider.live_requests())[0]
    out = list(spider.parse(response("state.json", meta=state_req.meta, url=state_req.url)))
    [league_req] = out
    assert league_req.url == f"{API}/league/{LEAGUE}"
    assert (league_req.meta["state_season"], league_req.meta["state_week"]) == (2021, 2)

    out = list(spider.parse(response("league.json", meta=league_req.meta, url=league_req.url)))
    assert of(out, League)[0].name == "Sleeper Friends League"
    urls = [r.url for r in out if isinstance(r, Request)]
    assert urls == [f"{API}/league/{LEAGUE}/users", f"{API}/draft/289646328508579840/picks",
                    f"{API}/league/{LEAGUE}/matchups/1", f"{API}/league/{LEAGUE}/transactions/1",
                    f"{API}/league/{LEAGUE}/matchups/2", f"{API}/league/{LEAGUE}/transactions/2"]
    week1 = next(r for r in out if isinstance(r, Request) and r.url.endswith("matchups/1")).meta["sleeper_ctx"]
    assert (week1.league_id, week1.season, week1.week, week1.week_final) == (LEAGUE, 2018, 1, True)  # a past season

    users_req = next(r for r in out if isinstance(r, Request) and r.url.endswith("/users"))
    out = list(spider.parse(response("users.json", meta=users_req.meta, url=users_req.url)))
    [rosters_req] = [r for r in out if isinstance(r, Request)]
    assert rosters_req.url == f"{API}/league/{LEAGUE}/rosters"
    teams = {t.team_id: t for t in of(list(spider.parse(response("rosters.json", meta=rosters_req.meta))), Team)}
    assert teams["1"].name == "Kamara is the new DJ"  # owner 189140835533586432's metadata.team_name
    users = {u["user_id"]: u for u in raw("users.json")}
    for roster in raw("rosters.json"):  # a user without a team name: the display name
        user = users[roster["owner_id"]]
        assert (teams[str(roster["roster_id"])].name
                == (user.get("metadata") or {}).get("team_name") or user["display_name"])


def test_current_season_crawls_weeks_up_to_now():
    spider = SleeperLeagueSpider(league_id=LEAGUE, previous="1")
    league = raw("league.json")
    meta = {"sleeper_ctx": sleeper.Context(league_id=LEAGUE), "follow": True, "state_season": 2018,
            "state_week": 3, "season_type": "regular", "previous_left": 1}
    out = [r for r in spider.parse(response("league.json", meta=meta, body=json.dumps(league).encode()))
           if isinstance(r, Request)]
    weeks = [r.meta["sleeper_ctx"] for r in out if "/matchups/" in r.url]
    assert [(c.week, c.week_final) for c in weeks] == [(1, True), (2, True), (3, True)]  # status complete
    league["status"] = "in_season"
    out = [r for r in spider.parse(response("league.json", meta=meta, body=json.dumps(league).encode()))
           if isinstance(r, Request)]
    assert [(r.meta["sleeper_ctx"].week, r.meta["sleeper_ctx"].week_final) for r in out if "/matchups/" in r.url] == [
        (1, True), (2, True), (3, False)]
    previous = [r for r in out if r.url == f"{API}/league/198946952535085056"]
    assert len(previous) == 1 and previous[0].meta["previous_left"] == 0


def test_parse_weeks():
    assert parse_weeks("3") == {3} and parse_weeks("1-4") == {1, 2, 3, 4} and parse_weeks("1, 5,7-8") == {1, 5, 7, 8}


# -- PostgreSQL: the cassette, and matching players across sources -----------------------------------
def test_cassette_replays_a_live_crawl(pg_url, pde_home):
    from pde import cassettes
    from tests.conftest import run_crawl

    cassette = FIX / "cassette_league.json"
    for _ in range(2):
        p = run_crawl("sleeper_league", db=pg_url, cassette=cassette, args=cassettes.metadata(cassette)["args"])
        assert p.returncode == 0, p.stderr[-3000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, items_quarantined FROM platform.runs ORDER BY run_id")
        assert cur.fetchall() == [("succeeded", 0), ("succeeded", 0)]
        cur.execute("SELECT table_name, inserted, updated FROM platform.run_tables WHERE run_id = 2 AND (inserted > 0 "
                    "OR updated > 0)")
        assert cur.fetchall() == []  # the second run changed nothing
        cur.execute("SELECT name FROM fantasy.teams WHERE team_id = '1'")
        assert cur.fetchone() == ("Kamara is the new DJ",)
        cur.execute("SELECT count(*) FROM fantasy.matchups WHERE week = 1 AND result IS NOT NULL")
        assert cur.fetchone() == (12,)
        cur.execute("SELECT observed_on FROM fantasy.trending LIMIT 1")
        assert cur.fetchone() == (dt.date(2021, 9, 20),)
        assert sleeper.players_last_fetched(conn) is not None
        assert not sleeper.players_refresh_due(sleeper.players_last_fetched(conn))


def sp(source, pid, name, position, team=None, **kw):
    from scrapers.fantasy.normalize import name_key

    return SourcePlayer(source=source, source_player_id=pid, full_name=name, name_key=name_key(name),
                        position=position, team=team, **kw)


def load(conn, items):
    from pipelines.upsert import TableWriter

    for cls in {type(i) for i in items}:
        TableWriter(cls).write_batch(conn, [i for i in items if type(i) is cls])


def players(cur):
    cur.execute("SELECT full_name, sleeper_id, espn_id, fantasypros_id, pfr_id, matched_by FROM fantasy.players "
                "ORDER BY player_id")
    return cur.fetchall()


def test_match_players(pg_conn):
    d = dt.date
    load(pg_conn, [
        sp("sleeper", "4034", "Patrick Mahomes", "QB", "KC", birth_date=d(1995, 9, 17), espn_id="3139477",
           yahoo_id="30123"),
        sp("sleeper", "1001", "Mike Williams", "WR", "LAC", espn_id="3045138"),
        sp("sleeper", "1002", "Mike Williams", "WR", "NYJ"),
        sp("sleeper", "KC", "Kansas City Chiefs", "DEF", "KC"),
        sp("sleeper", "9999", "Josh Allen", "QB", "BUF"),
        sp("sleeper", "9998", "Josh Allen", "LB", "JAX"),
        sp("espn", "3139477", "Patrick Mahomes", "QB", "KC"),
        sp("espn", "-16012", "Chiefs D/ST", "DEF", "KC"),
        sp("espn", "3045138", "Mike Williams", "WR", "LAC"),
        sp("espn", "3918298", "Josh Allen", "QB", "BUF"),
        sp("fantasypros", "16413", "Patrick Mahomes II", "QB", "KC", yahoo_id="30123"),
        sp("fantasypros", "19196", "Joe Burrow", "QB", "CIN"),
        sp("pfr", "MahoPa00", "Patrick Mahomes", "QB"),
        sp("pfr", "WillMi03", "Mike Williams", "WR"),
        sp("pfr", "WillMi04", "Mike Williams", "WR"),
        sp("pfr", "AlleJo02", "Josh Allen", "QB"),
        sp("pfr", "BreeDr00", "Drew Brees", "QB"),
        PlayerStats(source="pfr", source_player_id="MahoPa00", season=2023, week=0, kind="actual", team="KC"),
        PlayerStats(source="pfr", source_player_id="WillMi03", season=2022, week=0, kind="actual", team="LAC"),
        PlayerStats(source="pfr", source_player_id="WillMi03", season=2024, week=0, kind="actual", team="NYJ"),
        PlayerStats(source="pfr", source_player_id="AlleJo02", season=2023, week=0, kind="actual", team="2TM"),
        PlayerStats(source="pfr", source_player_id="AlleJo02", season=2022, week=0, kind="actual", team="BUF"),
    ])
    with pg_conn.cursor() as cur:
        cur.execute("SELECT * FROM fantasy.match_players()")
        summary = dict(((a, s), n) for a, s, n in cur.fetchall())
        assert summary[("created", "sleeper")] == 6 and summary[("linked", "fantasypros")] == 1
        rows = {r[0] + "/" + (r[1] or r[2] or r[3] or r[4]): r for r in players(cur)}
        assert rows["Patrick Mahomes/4034"][1:] == ("4034", "3139477", "16413", "MahoPa00", {
            "sleeper": "source", "espn": "sleeper_espn_id", "fantasypros": "yahoo_id", "pfr": "name_position_team"})
        assert (rows["Kansas City Chiefs/KC"][2] == "-16012"
                and rows["Kansas City Chiefs/KC"][5]["espn"] == "team_defense")
        assert rows["Mike Williams/1001"][2:5] == ("3045138", None, None)  # ESPN via Sleeper's ESPN id
        assert rows["Mike Williams/1002"][4] == "WillMi03"  # his latest PFR season was with the Jets
        assert rows["Josh Allen/9999"][2] == "3918298" and rows["Josh Allen/9999"][4] == "AlleJo02"  # 2TM skipped
        assert rows["Josh Allen/9998"][2:5] == (None, None, None)  # the linebacker namesake untouched
        cur.execute("SELECT source, source_player_id, reason, candidates FROM fantasy.unmatched_players ORDER BY 1, 2")
        assert cur.fetchall() == [
            ("fantasypros", "19196",
             "no player with this name: link by hand, or run fantasy.match_players(true) to create one", 0),
            ("pfr", "BreeDr00",
             "no player with this name: link by hand, or run fantasy.match_players(true) to create one", 0),
            ("pfr", "WillMi04", "several players with this name and position", 2),
        ]
        cur.execute("SELECT * FROM fantasy.match_players(true)")
        assert {(a, s): n for a, s, n in cur.fetchall()}[("created", "pfr")] == 1
        cur.execute("SELECT source, source_player_id FROM fantasy.unmatched_players")
        assert cur.fetchall() == [("pfr", "WillMi04")]  # never guessed, even when creating
        cur.execute("SELECT full_name, matched_by FROM fantasy.players WHERE pfr_id = 'BreeDr00'")
        assert cur.fetchone() == ("Drew Brees", {"pfr": "source"})
        before = players(cur)
        cur.execute("SELECT sum(players) FROM fantasy.match_players(true)")
        assert cur.fetchone() == (0,) and players(cur) == before  # idempotent
        cur.execute("SELECT player_id FROM fantasy.player_ids WHERE source = 'espn' AND source_player_id = '3139477'")
        mahomes = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM fantasy.player_ids WHERE player_id = %s", (mahomes,))
        assert cur.fetchone() == (4,)


def test_stays_far_below_sleepers_rate_limit():
    s = SleeperLeagueSpider.custom_settings
    assert 60 / s["DOWNLOAD_DELAY"] <= 250 and s["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 2  # limit: 1,000 a minute


@pytest.mark.parametrize("a, b", [
    ("Patrick Mahomes II", "Patrick Mahomes"), ("De'Von Achane", "DeVon Achane"), ("D.J. Moore", "DJ Moore"),
    ("Odell Beckham Jr.", "Odell Beckham"), ("Amon-Ra St. Brown", "Amon-Ra St Brown"), ("Drew Brees*+", "Drew Brees"),
    ("José Ramírez", "Jose Ramirez"), ("Kenneth Walker III", "Kenneth Walker"),
])
def test_name_keys_match_across_sources(a, b):
    from scrapers.fantasy.normalize import name_key

    assert name_key(a) == name_key(b)


def test_team_and_position_codes():
    from scrapers.fantasy.normalize import position_code, team_code

    assert [team_code(t) for t in ("NOR", "nwe", "KAN", "JAC", "WSH", "OAK", "LVR", "SDG", "STL", "2TM", "FA", "")] == [
        "NO", "NE", "KC", "JAX", "WAS", "LV", "LV", "LAC", "LAR", "2TM", None, None]
    assert [team_code(i) for i in (17, 33, 34, 28, 0)] == ["NE", "BAL", "HOU", "WAS", None]  # ESPN proTeamId
    assert [position_code(p) for p in ("D/ST", "DST", "DEF", "PK", "qb", 16, 5)] == ["DEF", "DEF", "DEF", "K", "QB",
                                                                                     "DEF", "K"]
