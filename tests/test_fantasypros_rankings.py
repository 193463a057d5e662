"""fantasypros_rankings: the API v2 answers (real bodies) and the cheat-sheet page (synthetic,
per the shared PROVENANCE.md) parsed field by field.

Expected values are literals read from the files by hand or looked up in the raw JSON
by the test; never the parser's own output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import psycopg2
import pytest
from scrapy.http import Request, TextResponse

from pde.records import Rejected, validate
from pde.sources import ParseError
from scrapers.fantasy.fantasypros_rankings import (
    FantasyprosRankingsSpider,
    api_url,
    cheatsheet_url,
)
from scrapers.fantasy.records import PlayerStats, Ranking, SourcePlayer
from tests.helpers import FIXTURES, of

FIX = FIXTURES / "fantasypros_rankings"


def raw(name):
    return json.loads((FIX / name).read_text(encoding="utf-8"))


def crawl(name, body=None):
    url = f"file://{FIX / name}"
    response = TextResponse(url=url, body=body if body is not None else (FIX / name).read_bytes(), encoding="utf-8",
                            request=Request(url))
    items = list(FantasyprosRankingsSpider().parse(response))
    for item in items:
        if not isinstance(item, Rejected):
            assert validate(item) is None, item
    return items


# -- the cheat sheet's inline ecrData ----------------------------------------------------------------------
def test_cheatsheet_page():
    items = crawl("ppr-cheatsheets_synthetic.html")
    ranks = {r.source_player_id: r for r in of(items, Ranking)}
    assert len(ranks) == 6
    cmc = ranks["16393"]
    assert (cmc.source, cmc.season, cmc.week, cmc.ranking_type, cmc.scoring, cmc.position_group) == (
        "fantasypros", 2025, 0, "draft", "ppr", "ALL")
    assert (cmc.player_name, cmc.position, cmc.team, cmc.rank, cmc.pos_rank, cmc.tier) == (
        "Christian McCaffrey", "RB", "SF", 1, 1, 1)
    assert (cmc.rank_min, cmc.rank_max, cmc.rank_avg, cmc.rank_std) == (1, 3, 1.35, 0.52)
    assert (cmc.bye_week, cmc.owned_pct, cmc.expert_count) == (14, 99.5, 120)
    assert cmc.published_at == dt.datetime(2025, 9, 1, tzinfo=dt.UTC)  # last_updated_ts 1756684800
    assert (ranks["16413"].pos_rank, ranks["16413"].tier, ranks["16413"].team) == (2, 5, "KC")  # "QB2"
    players = {p.source_player_id: p for p in of(items, SourcePlayer)}
    assert players["16413"].name_key == "patrick mahomes"  # "Patrick Mahomes II"
    assert players["16393"].url == "https://www.fantasypros.com/nfl/players/christian-mccaffrey.php"


def test_ecr_data_is_read_whole_even_with_braces_in_strings():
    html = (FIX / "ppr-cheatsheets_synthetic.html").read_text().replace('"Jalen Hurts"', '"Jalen {Hurts};"')
    names = [r.player_name for r in of(crawl("ppr-cheatsheets_synthetic.html", body=html.encode()), Ranking)]
    assert "Jalen {Hurts};" in names and len(names) == 6


# -- API v2 ------------------------------------------------------------------------------------------
def test_consensus_rankings():
    items = crawl("consensus-rankings.json")
    ranks = {r.source_player_id: r for r in of(items, Ranking)}
    assert len(ranks) == 10
    cmc = ranks["16393"]
    assert (cmc.season, cmc.week, cmc.ranking_type, cmc.scoring, cmc.position_group) == (2025, 10, "weekly", "ppr",
                                                                                         "RB")
    assert (cmc.rank, cmc.pos_rank, cmc.rank_min, cmc.rank_max, cmc.rank_avg, cmc.rank_std) == (1, 1, 1, 1, 1.0, 0.0)
    assert (cmc.team, cmc.bye_week, cmc.owned_pct, cmc.expert_count) == ("SF", 14, 99.5, 2)
    assert cmc.published_at == dt.datetime(2025, 11, 9, 17, 43, 19, tzinfo=dt.UTC)  # 1762710199
    assert (ranks["17240"].rank, ranks["17240"].pos_rank, ranks["17240"].player_name) == (9, 9, "Saquon Barkley")
    for p in raw("consensus-rankings.json")["players"]:
        r = ranks[str(p["player_id"])]
        assert (r.rank, r.pos_rank, r.team) == (p["rank_ecr"], int(p["pos_rank"][2:]), p["player_team_id"])
    players = {p.source_player_id: p for p in of(items, SourcePlayer)}
    cmc_ids = players["16393"]
    assert (cmc_ids.yahoo_id, cmc_ids.cbs_id, cmc_ids.sportsdata_id) == ("30121", "2136743",
                                                                         "f96db0af-5e25-42d1-a07a-49b4e065b364")
    assert players["23136"].name_key == "devon achane"  # De'Von Achane


def test_rankings_every_type_and_position():
    items = crawl("rankings.json")
    body = raw("rankings.json")
    ranks = {(r.ranking_type, r.scoring, r.position_group): r for r in of(items, Ranking)}
    assert len(ranks) == 21
    std_rb = ranks[("weekly", "std", "RB")]
    assert (std_rb.source_player_id, std_rb.season, std_rb.week, std_rb.rank, std_rb.pos_rank) == ("17240", 2025, 10,
                                                                                                   8, 8)
    assert (std_rb.rank_min, std_rb.rank_max, std_rb.rank_avg, std_rb.rank_std, std_rb.expert_count) == (4, 11, 8.0,
                                                                                                         1.5, 169)
    assert ranks[("weekly", "std", "FLX")].pos_rank is None and ranks[("weekly", "std", "FLX")].rank == 8
    assert ranks[("ros", "ppr", "ALL")].rank == 19 and ranks[("ros", "ppr", "ALL")].expert_count == 37
    dyn = ranks[("dynasty", "none", "ALL")]
    assert (dyn.rank, dyn.rank_min, dyn.rank_max, dyn.rank_avg, dyn.week) == (17, 5, 69, 20.6, 10)
    key = {"weekly": "", "ros": "ROS-", "dynasty": "DYN"}
    for (kind, scoring, group), r in ranks.items():
        k = "DYN" if kind == "dynasty" else key[kind] + scoring.upper()
        assert r.rank == body["players"][0]["rank"]["ECR"][k][group]
        assert r.rank_std == body["players"][0]["rank"]["ECR_STD"][k][group]


def test_players_endpoint_is_the_adp_source():
    items = crawl("players.json")
    [player] = of(items, SourcePlayer)
    assert (player.source_player_id, player.full_name, player.first_name, player.last_name, player.position,
            player.team) == (
        "17240", "Saquon Barkley", "Saquon", "Barkley", "RB", "PHI")
    assert (player.birth_date, player.age, player.sportsdata_id, player.yahoo_id) == (
        dt.date(1997, 2, 9), 29, "9811b753-347c-467a-b3cb-85937e71e2b9", None)
    ranks = {r.scoring: r for r in of(items, Ranking)}
    assert set(ranks) == {"std", "ppr", "half"}
    assert (ranks["std"].season, ranks["std"].week, ranks["std"].ranking_type, ranks["std"].rank, ranks["std"].adp) == (
        2026, 0, "draft", 16, 14.0)
    assert (ranks["ppr"].rank, ranks["ppr"].adp) == (26, 14.0)
    assert (ranks["half"].rank, ranks["half"].adp) == (16, None)  # no rank_adp_half in the answer


def test_projections():
    items = crawl("projections.json")
    stats = {s.source_player_id: s for s in of(items, PlayerStats)}
    assert set(stats) == {"16393", "22968"}
    cmc = stats["16393"]
    assert (cmc.season, cmc.week, cmc.kind, cmc.position, cmc.team) == (2025, 4, "projection", "RB", "SF")
    assert (cmc.points_std, cmc.points_ppr, cmc.points_half) == (Decimal("17.78"), Decimal("23.30"), Decimal("20.54"))
    assert (cmc.rush_att, cmc.rush_yds, cmc.rush_td, cmc.rec, cmc.rec_yds, cmc.rec_td) == (17.65, 77.66, 0.55, 5.52,
                                                                                           50.05, 0.32)
    assert cmc.stats == raw("projections.json")["players"][0]["stats"]
    assert {p.source_player_id: p.mfl_id for p in of(items, SourcePlayer)} == {"16393": "13130", "22968": "16162"}


def test_player_points():
    items = crawl("player-points.json")
    stats = {(s.source_player_id, s.week): s for s in of(items, PlayerStats)}
    hurts = [stats[("19275", w)] for w in range(5)]
    assert [s.points_ppr for s in hurts] == [Decimal("84.26"), Decimal("24.30"), Decimal("11.50"), Decimal("29.00"),
                                             Decimal("19.40")]
    assert {(s.season, s.kind, s.team, s.points_std) for s in hurts} == {(2025, "actual", "PHI", None)}
    assert (hurts[0].games, hurts[1].games) == (4, 1)
    assert sorted(w for p, w in stats if p == "20081") == [0, 1, 4]  # Feleipe Franks played weeks 1 and 4
    assert ("22799", 0) not in stats  # Davis Mills: listed, no games
    assert len(of(items, SourcePlayer)) == 86
    body = raw("player-points.json")["players"]
    assert len(stats) == sum(1 + len(p["weeks"]) for p in body if "weeks" in p)
    assert stats[("19780", 0)].team == "JAX"  # Trevor Lawrence, "JAC"


# -- failures --------------------------------------------------------------------------------------------
def test_unknown_content_raises_parse_error():
    with pytest.raises(ParseError, match=r"ppr-cheatsheets_synthetic\.html: .*var ecrData"):
        crawl("ppr-cheatsheets_synthetic.html", body=b"<html><body>Log in to see rankings</body></html>")
    with pytest.raises(ParseError, match=r"expected an object with players\[\]"):
        crawl("players.json", body=b'{"message": "Forbidden"}')


def test_bad_rows_become_rejected():
    body = raw("consensus-rankings.json")
    body["players"][0].pop("player_id")
    items = crawl("consensus-rankings.json", body=json.dumps(body).encode())
    assert [r.reason for r in of(items, Rejected)] == ["ranked player without player_id/player_name"]
    assert len(of(items, Ranking)) == 9


def test_saloon_envelope_is_unwrapped_too():
    envelope = {"statusCode": 200, "headers": {}, "data": (FIX / "projections.json").read_text(), "context": []}
    assert len(of(crawl("projections.json", body=json.dumps(envelope).encode()), PlayerStats)) == 2


# -- requests -------------------------------------------------------------------------------------------------
def test_live_requests(monkeypatch):
    monkeypatch.setenv("FANTASYPROS_API_KEY", "fp-test-key")
    reqs = list(FantasyprosRankingsSpider(season="2025", scoring="PPR,HALF").live_requests())
    urls = [r.url for r in reqs]
    assert urls[:2] == [cheatsheet_url("PPR"), cheatsheet_url("HALF")]
    assert urls[2:] == [
        "https://api.fantasypros.com/public/v2/json/nfl/2025/consensus-rankings?position=ALL&type=draft&scoring=PPR&week=0",
        "https://api.fantasypros.com/public/v2/json/nfl/2025/consensus-rankings?position=ALL&type=draft&scoring=HALF&week=0",
        "https://api.fantasypros.com/public/v2/json/nfl/players",
        "https://api.fantasypros.com/public/v2/json/nfl/2025/projections?position=ALL&week=0",
        "https://api.fantasypros.com/public/v2/json/nfl/2025/player-points?scoring=PPR",
        "https://api.fantasypros.com/public/v2/json/nfl/2025/player-points?scoring=HALF",
    ]
    assert reqs[2].headers["x-api-key"] == b"fp-test-key" and b"x-api-key" not in {k.lower() for k in reqs[0].headers}
    weekly = [r.url for r in FantasyprosRankingsSpider(season="2025", week="3",
                                                       endpoints="consensus-rankings").live_requests()]
    assert [re.search(r"position=(\w+)", u).group(1) for u in weekly] == ["QB", "RB", "WR", "TE", "K", "DST"]
    assert "type=weekly" in weekly[0] and "week=3" in weekly[0]
    monkeypatch.delenv("FANTASYPROS_API_KEY")
    assert [r.url for r in FantasyprosRankingsSpider().live_requests()] == [cheatsheet_url("PPR")]
    assert api_url("rankings", 2025, week=10) == "https://api.fantasypros.com/public/v2/json/nfl/2025/rankings?week=10"
    with pytest.raises(ValueError, match="unknown scoring"):
        FantasyprosRankingsSpider(scoring="PPR,TWO")


def test_cassettes_replay_into_the_database(pg_url, pde_home):
    from pde import cassettes
    from tests.conftest import run_crawl

    for name in ("cassette_cheatsheet.json", "cassette_api_week10.json", "cassette_api_week4.json"):
        p = run_crawl("fantasypros_rankings", db=pg_url, cassette=FIX / name,
                      args=cassettes.metadata(FIX / name)["args"])
        assert p.returncode == 0, p.stderr[-3000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, items_quarantined FROM platform.runs ORDER BY run_id")
        assert cur.fetchall() == [("succeeded", 0)] * 3
        cur.execute("SELECT ranking_type, scoring, position_group, rank, adp FROM fantasy.rankings "
                    "WHERE source_player_id = '17240' AND season = 2025 AND ranking_type = 'weekly' AND scoring = "
                    "'ppr' "
                    "ORDER BY position_group")
        assert cur.fetchall() == [("weekly", "ppr", "FLX", 16, None), ("weekly", "ppr", "OP", 32, None),
                                  ("weekly", "ppr", "RB", 9, None)]  # ECR 9 (consensus) and rankings' RB 9 agree
        cur.execute("SELECT points_std, points_ppr FROM fantasy.player_stats WHERE source_player_id = '16393' AND "
                    "week = 4")
        assert cur.fetchone() == (Decimal("17.78"), Decimal("23.30"))
