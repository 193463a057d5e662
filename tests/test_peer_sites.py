"""Real files of the sites (issue 11, "Sites"): each peer file loads with every record right, or is
refused with a message that says what it is; and the site behaviours a new user meets.

Peer files are copies in fixtures/<spider>/peer/ (provenance beside them). "Right" is computed here
from the file itself (json / regex, a few lines each), never copied from the parser's output.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

import pytest

from pde.records import Rejected
from pde.sources import ParseError, Truncated, expand_urls
from scrapers.fantasy.fantasypros_rankings import FantasyprosRankingsSpider
from scrapers.fantasy.records import PlayerStats, Ranking, SourcePlayer, Trending
from tests.conftest import run_crawl
from tests.helpers import FIXTURES, count, last_run, of, parse_saved, rows

FP = FIXTURES / "fantasypros_rankings" / "peer"
SLEEPER = FIXTURES / "sleeper_league" / "peer"
PFR = FIXTURES / "pfr_stats" / "peer"
BOSTON = FIXTURES / "zillow_listings" / "zillow-search-boston-20260402-1.html"


def run_row(db) -> tuple:
    run = last_run(db)
    return run["status"], run["message"], run["items_scraped"]


def body(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_peer_file_is_covered():
    """A new peer file must be added to one of the lists below, not silently skipped."""
    covered = {*FP_CONSENSUS, *FP_PROJECTIONS, *FP_BOARDS, *FP_EMPTY, "01-players-full.json",
               *SLEEPER_REFUSED, "trending-drop.json", *PFR_PLAYERS, *PFR_EXTRACTS, "boxscores-1-2020.html"}
    on_disk = {p.name for d in (FP, SLEEPER, PFR) for p in d.iterdir() if p.suffix != ".md"}
    assert on_disk == covered


# -- FantasyPros API v2 ---------------------------------------------------------------------------------
FP_CONSENSUS = sorted(p.name for p in FP.glob("*consensus*") if body(p)["players"])
FP_PROJECTIONS = sorted(p.name for p in FP.glob("*projections*") if body(p)["players"])
FP_BOARDS = sorted(p.name for p in FP.glob("*rankings-board*"))
FP_EMPTY = sorted(p.name for p in FP.glob("*.json") if not body(p)["players"])


@pytest.mark.parametrize("name", FP_CONSENSUS)
def test_fantasypros_consensus(name):
    data = body(FP / name)
    items = parse_saved("fantasypros_rankings", FP / name)
    ranks = {r.source_player_id: r for r in of(items, Ranking)}
    assert len(of(items, Ranking)) == len(data["players"]) == len(ranks)
    assert not of(items, Rejected)
    for p in data["players"]:
        r = ranks[str(p["player_id"])]
        assert (r.player_name, r.rank, r.season, r.week) == (
            p["player_name"], int(p["rank_ecr"]), int(data["year"]), int(data["week"]))
        assert (r.position_group, r.scoring, r.ranking_type) == (
            data["position_id"], data["scoring"].lower(), data["ranking_type_name"].lower())
        assert r.tier == (int(p["tier"]) if "tier" in p else None) and r.rank_avg == pytest.approx(float(p["rank_ave"]))


@pytest.mark.parametrize("name", FP_PROJECTIONS)
def test_fantasypros_projections(name):
    data = body(FP / name)
    items = parse_saved("fantasypros_rankings", FP / name)
    stats = {s.source_player_id: s for s in of(items, PlayerStats)}
    assert len(stats) == len(data["players"]) and not of(items, Rejected)
    assert data["scoring"] == "STD"
    for p in data["players"]:
        s = stats[str(p["fpid"])]
        assert (s.season, s.week, s.kind) == (int(data["season"]), int(data["week"]), "projection")
        assert float(s.points_std) == pytest.approx(p["stats"]["points"], abs=0.01)


@pytest.mark.parametrize("name", FP_BOARDS)
def test_fantasypros_rankings_board(name):
    data = body(FP / name)
    items = parse_saved("fantasypros_rankings", FP / name)
    kinds = {"ROS": "ros", "DYN": "dynasty", "BB": "bestball", "DRAFTERS": "drafters"}

    def meaning(key):  # "WK1-STD" is week 1's weekly ranking; "BB-HALF" best ball; "PPR" the draft ranking
        head, _, tail = key.rpartition("-") if key not in kinds else (key, "", "")
        if head.startswith("WK"):
            return "weekly", tail.lower(), int(head[2:])
        return kinds.get(head, "draft"), tail.lower() or "none", int(data["week"])

    expected = Counter((str(p["id"]), *meaning(key), group, int(rank)) for p in data["players"]
                       for key, by_group in p["rank"]["ECR"].items() for group, rank in by_group.items())
    got = Counter((r.source_player_id, r.ranking_type, r.scoring, r.week, r.position_group, r.rank)
                  for r in of(items, Ranking))
    assert got == expected and not of(items, Rejected)
    assert any(k.startswith("WK") for p in data["players"] for k in p["rank"]["ECR"])
    assert len(of(items, SourcePlayer)) == len(data["players"])


def test_fantasypros_players_adp():
    data = body(FP / "01-players-full.json")
    items = parse_saved("fantasypros_rankings", FP / "01-players-full.json")
    assert len(of(items, SourcePlayer)) == len(data["players"])
    expected = {(str(p["player_id"]), s): float(p[f"rank_adp{x}"]) for p in data["players"]
                for s, x in (("std", ""), ("ppr", "_ppr"), ("half", "_half")) if p.get(f"rank_adp{x}")}
    got = {(r.source_player_id, r.scoring): r.adp for r in of(items, Ranking) if r.adp is not None}
    assert got == pytest.approx(expected) and expected


@pytest.mark.parametrize("name", FP_EMPTY)
def test_fantasypros_empty_answer_is_nothing_yet(name):
    assert body(FP / name)["players"] in ([], None)
    spider = FantasyprosRankingsSpider()
    assert parse_saved(spider, FP / name) == []
    assert "had nothing yet" in spider.nothing_yet_message


def test_fantasypros_empty_answers_crawl_succeeds_with_zero_rows(pg_url, pde_home):
    files = ",".join(str(FP / n) for n in FP_EMPTY)
    proc = run_crawl("fantasypros_rankings", db=pg_url, args={"url": files})
    assert proc.returncode == 0, proc.stderr[-3000:]
    status, message, scraped = run_row(pg_url)
    assert (status, scraped) == ("succeeded", 0)
    assert "the source had nothing yet" in message and "0 rows" in message
    assert count(pg_url, "fantasy.rankings") == count(pg_url, "fantasy.player_stats") == 0


# -- Sleeper ----------------------------------------------------------------------------------------------
SLEEPER_REFUSED = {
    "traded-picks.json": "traded draft picks", "trades.json": "traded draft picks",
    "draft.json": "one draft's settings", "league-drafts.json": "a list of drafts",
    "user_drafts.json": "a list of drafts", "leagues.json": "list of leagues", "user.json": "a user profile",
    "playoff-bracket-winner.json": "a playoff bracket",
}


@pytest.mark.parametrize("name", sorted(SLEEPER_REFUSED))
def test_sleeper_other_endpoints_are_refused_by_name(name):
    with pytest.raises(ParseError, match=re.escape(SLEEPER_REFUSED[name])) as err:
        parse_saved("sleeper_league", SLEEPER / name, league_id="289646328504385536", season="2018")
    assert "Nothing was taken from it" in str(err.value)


def test_sleeper_traded_picks_are_not_written_as_rosters(pg_url, pde_home):
    picks = body(SLEEPER / "traded-picks.json")
    assert {"roster_id", "owner_id"} <= set(picks[0])  # what made it look like rosters
    proc = run_crawl("sleeper_league", db=pg_url, args={
        "url": str(SLEEPER / "traded-picks.json"), "league_id": "289646328504385536", "season": "2018"})
    assert proc.returncode == 1
    status, message, _ = run_row(pg_url)
    assert status == "failed" and "traded draft picks" in message and "not rosters" in message
    assert count(pg_url, "fantasy.rosters") == 0 and count(pg_url, "platform.quarantine") == 0


def test_sleeper_trending_drops_load_when_named():
    data = body(SLEEPER / "trending-drop.json")
    items = parse_saved("sleeper_league", SLEEPER / "trending-drop.json", trending="drop")
    rows = of(items, Trending)
    assert [(t.source_player_id, t.count) for t in rows] == [(d["player_id"], d["count"]) for d in data]
    assert {t.direction for t in rows} == {"drop"} and [t.rank for t in rows] == list(range(1, len(data) + 1))
    unnamed = parse_saved("sleeper_league", SLEEPER / "trending-drop.json")  # add or drop? it does not say
    assert len(of(unnamed, Rejected)) == len(data)
    assert all("-a trending=add|drop" in r.reason for r in unnamed)


# -- ESPN ---------------------------------------------------------------------------------------------------
def test_espn_league_of_another_sport_is_refused(tmp_path):
    league = body(FIXTURES / "espn_league" / "league_team_2018.json")
    assert league["gameId"] == 1
    football = parse_saved("espn_league", FIXTURES / "espn_league" / "league_team_2018.json")
    assert len(football) > 10
    hockey = tmp_path / "hockey_league.json"
    hockey.write_text(json.dumps({**league, "gameId": 4}))
    with pytest.raises(ParseError, match=r"not a football league: gameId 4 .*hockey"):
        parse_saved("espn_league", hockey)
    history = tmp_path / "hockey_history.json"  # the leagueHistory endpoint: a list of league objects
    history.write_text(json.dumps([{**league, "gameId": 2}]))
    with pytest.raises(ParseError, match="not a football league: gameId 2"):
        parse_saved("espn_league", history)


# -- Pro-Football-Reference -----------------------------------------------------------------------------------
PFR_PLAYERS = sorted(p.name for p in PFR.glob("*.htm"))
PFR_EXTRACTS = ["2017_afc.html", "2017_all_team_stats.html", "2017_nfc.html", "table.html"]


def _table_html(text: str, table_id: str) -> str:
    """The HTML of table#id, live or inside a comment (comment markers do not matter to a regex)."""
    m = re.search(rf'<table[^>]*\bid="{table_id}".*?</table>', text, re.S)
    return m.group(0) if m else ""


@pytest.mark.parametrize("name", PFR_PLAYERS)
def test_pfr_player_pages(name):
    text = (PFR / name).read_text(encoding="utf-8")
    items = parse_saved("pfr_stats", PFR / name)
    pid = name.removesuffix(".htm")
    assert [p.source_player_id for p in of(items, SourcePlayer)] == [pid]
    h1 = re.search(r'<div[^>]*id="meta".*?<h1[^>]*>\s*(?:<span>)?([^<]+)', text, re.S).group(1).strip()
    assert of(items, SourcePlayer)[0].full_name == h1
    stats = of(items, PlayerStats)
    assert {s.source_player_id for s in stats} <= {pid} and not of(items, Rejected)
    # game log (table#stats): one row per game, with its week and date
    log = _table_html(text, "stats")
    weeks = [int(w) for w in re.findall(r'data-stat="week_num"\s*>(\d+)<', log)]
    assert sorted(s.week for s in stats if s.week) == sorted(weeks)
    # season totals: one per season of the regular-season tables pde reads (first row of each season)
    seasons: dict[int, int | None] = {}
    for tid in ("passing", "rushing_and_receiving", "receiving_and_rushing", "rushing", "receiving", "fantasy"):
        for tr in re.findall(r"<tr[^>]*>.*?</tr>", _table_html(text, tid), re.S):
            year = re.search(r'data-stat="year_id"[^>]*>(?:<a[^>]*>)?(\d{4})', tr)
            games = re.search(r'data-stat="g"[^>]*>(\d+)<', tr)
            if year and "partial_table" not in tr.split(">")[0]:
                seasons.setdefault(int(year.group(1)), int(games.group(1)) if games else None)
    assert {s.season: s.games for s in stats if s.week == 0} == seasons


@pytest.mark.parametrize("name", PFR_EXTRACTS)
def test_pfr_extracts_are_refused(name):
    first_table = re.search(r'<table[^>]*\bid="([\w-]+)"', (PFR / name).read_text()).group(1)
    with pytest.raises(ParseError, match="not a whole Pro-Football-Reference page") as err:
        parse_saved("pfr_stats", PFR / name)
    assert f"table#{first_table}" in str(err.value) and "Save the whole page" in str(err.value)


def test_pfr_boxscores_page_is_refused():
    with pytest.raises(ParseError, match="expected a player page"):
        parse_saved("pfr_stats", PFR / "boxscores-1-2020.html")


def test_pfr_truncated_season_page_is_refused_and_keeps_good_rows(pg_url, pde_home, tmp_path):
    page = FIXTURES / "pfr_stats" / "2017.html"
    text = page.read_text(encoding="utf-8")
    cut = tmp_path / "2017.html"
    cut.write_text(text[: text.index('id="all_team_stats"')])  # the standings survive, team stats do not
    with pytest.raises(Truncated, match="truncated"):
        parse_saved("pfr_stats", cut)

    def team_rows():
            return rows(pg_url, "SELECT team, stats, total_yards FROM fantasy.nfl_team_seasons ORDER BY team")

    assert run_crawl("pfr_stats", db=pg_url, args={"url": str(page)}).returncode == 0
    good = team_rows()
    assert len(good) == 32 and all("team_stats" in s for _, s, _ in good)
    proc = run_crawl("pfr_stats", db=pg_url, args={"url": str(cut)})
    assert proc.returncode == 1
    status, message, _ = run_row(pg_url)
    assert status == "failed" and "truncated" in message and "Download it again" in message
    assert team_rows() == good


# -- Zillow ---------------------------------------------------------------------------------------------------
def _cards(text: str) -> list[str]:
    return text.split("<article")[1:]


def test_zillow_cards_with_data_test_attributes(tmp_path):
    """A November 2025 page wrote data-test= where others write data-testid=: same listings."""
    text = BOSTON.read_text(encoding="utf-8")
    variant = re.sub(r'\s+data-testid="[^"]*"', "", text)
    assert "data-testid" not in variant and 'data-test="property-card"' in variant
    page = tmp_path / "boston-data-test.html"
    page.write_text(variant)
    items = parse_saved("zillow_listings", page)
    cards = _cards(text)
    assert len(items) == len(cards) == 9
    by_zpid = {i.zpid: i for i in items}
    for card in cards:
        zpid = re.search(r'id="zpid_([^"]+)"', card).group(1)
        listing = by_zpid[zpid]
        price = re.search(r'property-card-price".*?\$([\d,]+)', card, re.S).group(1)
        address = re.search(r"<address>([^<]+)</address>", card).group(1).split(" | ")[-1].strip()
        href = re.search(r'property-card-title-link"[^>]*href="([^"]+)"', card).group(1)
        assert listing.price == int(price.replace(",", ""))
        assert listing.address == address
        assert listing.url == urljoin("https://www.zillow.com", href)


def test_zillow_older_card_names(tmp_path):
    """2022-23 cards: a[data-test=property-card-link] > address[data-test=property-card-addr], no card id."""
    html = ('<html><body><ul><li><article data-test="property-card">'
            '<a data-test="property-card-link" href="https://www.zillow.com/homedetails/1-Main-St-Boston-MA-02114/123_zpid/">'
            '<address data-test="property-card-addr">1 Main St, Boston, MA 02114</address></a>'
            '<span data-test="property-card-price">$689,000</span>'
            '<ul class="StyledPropertyCardHomeDetailsList-c11n-8-84-3__sc-1xvdaej-0 eYPFID">'
            "<li><b>4</b> <abbr>bds</abbr></li><li><b>3</b> <abbr>ba</abbr></li></ul>"
            "</article></li></ul></body></html>")
    page = tmp_path / "old-cards.html"
    page.write_text(html)
    [listing] = parse_saved("zillow_listings", page)
    assert (listing.zpid, listing.price, listing.address, listing.zip) == ("123", 689000, "1 Main St, Boston, MA 02114",
                                                                        "02114")
    assert (listing.beds, listing.baths) == (4, 3)
    assert listing.url.endswith("/123_zpid/")


def test_zillow_layout_change_fails_the_run(pg_url, pde_home, tmp_path):
    """Cards still found, but price/address/link renamed: the run fails and says the layout changed."""
    text = BOSTON.read_text(encoding="utf-8")
    renamed = (r'data-test(id)?="(property-card-price|property-card-address-link|property-card-title-link'
               r'|PropertyCardInventoryBox)"')
    changed = re.sub(renamed, r'data-qa="\2"', text)
    page = tmp_path / "zillow-new-layout.html"
    page.write_text(changed)
    proc = run_crawl("zillow_listings", db=pg_url, args={"url": str(page)})
    assert proc.returncode == 1, proc.stderr[-2000:]
    status, message, scraped = run_row(pg_url)
    assert status == "failed" and scraped == len(_cards(text))
    assert "layout has changed" in message
    for field in ("price", "address", "url"):
        assert f"9 of 9 Listing records have no {field}" in message
    assert run_crawl("zillow_listings", db=pg_url, args={"url": str(BOSTON)}).returncode == 0
    assert run_row(pg_url)[0] == "succeeded"


def test_url_argument_with_commas_spaces_and_a_missing_path(pg_url, pde_home, tmp_path):
    saved = tmp_path / "Recently Sold Homes in 33160 - 4,881 Transactions | Zillow.html"
    shutil.copy(BOSTON, saved)
    proc = run_crawl("zillow_listings", db=pg_url, args={"url": str(saved)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert run_row(pg_url)[2] == len(_cards(BOSTON.read_text()))
    as_uri = "file://" + str(saved).replace(" ", "%20")  # as a browser's address bar shows it
    assert run_crawl("zillow_listings", db=pg_url, args={"url": as_uri}).returncode == 0
    missing = tmp_path / "Saved search, page 2.html"
    runs_before = count(pg_url, "platform.runs")
    proc = run_crawl("zillow_listings", db=pg_url, args={"url": f"{saved},{missing}"})
    # a missing file is a usage error, found before the crawl starts: exit 2, named, nothing read
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"No such file: {missing}." in proc.stderr
    assert count(pg_url, "platform.runs") == runs_before


@pytest.mark.parametrize("spider, path", [
    ("sleeper_league", FIXTURES / "sleeper_league" / "rosters.json"),
    ("espn_league", FIXTURES / "espn_league" / "league_team_2018.json"),
    ("fantasypros_rankings", FP / "05-consensus-draft-std-qb.json"),
])
def test_cut_off_json_downloads_are_refused_as_truncated(spider, path):
    text = path.read_text(encoding="utf-8")
    with pytest.raises(Truncated, match=f"truncated: the .* stops after {len(text) // 2:,} characters"):
        parse_saved(spider, body=text[: len(text) // 2].encode(), url=path.resolve().as_uri())


def test_url_lists_keep_commas_that_belong_to_a_web_address_or_a_file(tmp_path):
    link = "https://www.redfin.com/stingray/api/gis-csv?al=1&region_id=1826&sf=1,2,3,5,6,7&uipt=1,2,3&v=8"
    other = "https://www.zillow.com/homes/?searchQueryState={%22mapBounds%22:{%22west%22:-71.2,%22east%22:-71.0}}"
    assert expand_urls(link) == [link]
    assert expand_urls(f"{link},{other}") == [link, other]
    saved = tmp_path / "Homes in 33160 - 4,881 Transactions.html"
    saved.write_text("<html></html>")
    plain = tmp_path / "a.html"
    plain.write_text("<html></html>")
    assert expand_urls(f"{plain},{saved},{link}") == [plain.as_uri(), saved.as_uri(), link]
    assert expand_urls("file://" + str(saved).replace(" ", "%20")) == [saved.as_uri()]
