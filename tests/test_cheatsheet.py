"""pde cheatsheet: the draft cheat sheet built from replayed fantasy cassettes, as HTML and as a PDF
printed by Chromium (its text read back with pdftotext, page 1 rendered to test-artifacts/).

Two databases: one holds only the FantasyPros cheat-sheet page (2025 PPR ECR, tiers, byes); the
other adds the FantasyPros API (2026 ECR/ADP, 2025 PPR points), PFR's 2025 fantasy page and an
ESPN league's 2018 player pool (draft ranks, ADP, projections in league scoring).
Expected values are read from the fixture files by the test, never from the sheet's own output.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest

from pde import cassettes
from pde.fantasy import cheatsheet
from pde.services import browser
from tests.conftest import ROOT, _admin, run_crawl

FIX = ROOT / "fixtures"
FP = FIX / "fantasypros_rankings"
ARTIFACTS = ROOT / "test-artifacts"
ESPN_POSITIONS = {1: "QB", 2: "RB", 3: "WR", 4: "TE", 5: "K", 16: "DEF"}


def crawl(cassette: Path, db: str, home: Path) -> None:
    meta = cassettes.metadata(cassette)
    p = run_crawl(meta["spider"], db=db, cassette=cassette, args=meta["args"], env={"PDE_HOME": str(home)})
    assert p.returncode == 0, p.stderr[-3000:]


@pytest.fixture(scope="module")
def databases(pg_server, tmp_path_factory):
    """{"fantasypros": url with the cheat-sheet page only, "all": url with every source below}."""
    home = tmp_path_factory.mktemp("pde-home")
    base = pg_server.url.rsplit("/", 1)[0]
    one, every = "cs_" + uuid.uuid4().hex[:10], "cs_" + uuid.uuid4().hex[:10]
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{one}" TEMPLATE "pde"')
    crawl(FP / "cassette_cheatsheet.json", f"{base}/{one}", home)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{every}" TEMPLATE "{one}"')
    for cassette in (FP / "cassette_api_week4.json", FIX / "pfr_stats" / "cassette_2025.json",
                     FIX / "espn_league" / "cassette_2018.json", FIX / "sleeper_league" / "cassette_league.json"):
        crawl(cassette, f"{base}/{every}", home)
    yield {"fantasypros": f"{base}/{one}", "all": f"{base}/{every}"}
    with admin.cursor() as cur:
        for name in (one, every):
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def sheet_of(url: str, **kw) -> cheatsheet.Sheet:
    with psycopg2.connect(url) as conn:
        return cheatsheet.build(conn, **kw)


def ecr_players() -> list[dict]:
    """The cheat-sheet page's `var ecrData = {...};`, players in rank order."""
    page = (FP / "ppr-cheatsheets_synthetic.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r"var ecrData = (\{.*?\});\s*$", page, re.M).group(1))
    return sorted(data["players"], key=lambda p: p["rank_ecr"])


def espn_pool() -> list[dict]:
    """ESPN's 2018 player pool: draft rank (STANDARD), ADP and season projection (league scoring)."""
    out = []
    for entry in json.loads((FIX / "espn_league" / "league_free_agents_2018.json").read_text())["players"]:
        p = entry["player"]
        proj = [s["appliedTotal"] for s in p.get("stats", [])
                if (s["statSourceId"], s["statSplitTypeId"], s["seasonId"]) == (1, 0, 2018)]
        out.append({"name": p["fullName"], "position": ESPN_POSITIONS[p["defaultPositionId"]],
                    "rank": p["draftRanksByRankType"]["STANDARD"]["rank"],
                    "adp": p["ownership"]["averageDraftPosition"], "projection": round(proj[0], 2) if proj else None})
    return sorted(out, key=lambda p: p["rank"])


def needs_tools() -> None:
    missing = [t for t in ("pdftotext", "pdftoppm") if not shutil.which(t)]
    msg = browser.missing_message(cheatsheet.WHY_CHROMIUM)
    if msg or missing:
        pytest.fail((msg or "") + (f" Missing {', '.join(missing)} (poppler-utils): " if missing else "")
                    + " scripts/system-deps.sh installs them.")


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def page_one_png(pdf: Path, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / name
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(prefix)],
                   check=True)
    png = prefix.with_suffix(".png")
    assert png.stat().st_size > 10_000  # a page with a table on it, not a blank one
    return png


def column_order(players: list[dict]) -> list[str]:
    """What the sheet's columns read, top to bottom and left to right: each position's players in ECR order,
    a "Tier N" line where the tier changes (the page's own data, not the sheet's)."""
    out = []
    for pos in ("QB", "RB", "WR", "TE", "K", "DST"):
        tier = None
        for p in [p for p in players if p["player_position_id"] == pos]:
            if p["tier"] != tier:
                out.append(f"Tier {p['tier']}")
                tier = p["tier"]
            out.append(p["player_name"])
    return out


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def in_order(text: str, names: list[str]) -> None:
    at = 0
    for name in names:
        found = text.find(name, at)
        assert found >= 0, f"{name!r} missing or out of order after offset {at}"
        at = found + len(name)


# -- only the FantasyPros cheat-sheet page ----------------------------------------------------------
def test_fantasypros_ecr_orders_the_sheet(databases):
    sheet = sheet_of(databases["fantasypros"], scoring="ppr")
    assert (sheet.season, sheet.scoring, sheet.total) == (2025, "ppr", 6)  # the only season ranked
    expected = ecr_players()
    assert [p.name for p in sheet.players] == [e["player_name"] for e in expected]
    for got, e in zip(sheet.players, expected):
        assert (got.rank, got.tier, got.bye, got.position, got.team) == (
            e["rank_ecr"], e["tier"], int(e["player_bye_week"]), e["player_position_id"], e["player_team_id"])
        assert f"{got.position}{got.pos_rank}" == e["pos_rank"] and got.primary
    assert [p.name for p in sheet.players][:3] == ["Christian McCaffrey", "Bijan Robinson", "Saquon Barkley"]
    assert sheet.sources == ["Order: FantasyPros ECR (PPR), 2025 draft, 6 players, updated 2025-09-01"]
    missing = "\n".join(sheet.missing)
    for notice in ("No 2025 ADP",
                   "No 2024 fantasy points: crawl `scrapy crawl pfr_stats -a seasons=2024 -a pages=fantasy`",
                   "No 2025 season projections", "No value over replacement"):
        assert notice in missing
    assert all(p.adp is None and p.last_points is None and p.projection is None and p.vor is None
               for p in sheet.players)

    html = cheatsheet.render_html(sheet)
    in_order(html, column_order(expected))  # a column per position, QB first, tier breaks inside
    assert "Missing:" in html and "No 2024 fantasy points" in html


def test_another_scoring_falls_back_to_the_nearest_list_and_says_so(databases):
    sheet = sheet_of(databases["fantasypros"], scoring="half", season=2025)
    assert [p.name for p in sheet.players] == [e["player_name"] for e in ecr_players()]
    assert sheet.missing[0].startswith("No FantasyPros Half PPR ECR for 2025: ordered by FantasyPros ECR (PPR) "
                                       "instead. Crawl `scrapy crawl fantasypros_rankings -a season=2025 -a "
                                       "scoring=HALF`")
    assert sheet.title == "2025 draft cheat sheet: Half PPR"


def test_pdf_through_the_command_line(databases, tmp_path, monkeypatch, capsys):
    needs_tools()
    monkeypatch.setenv("DATABASE_URL", databases["fantasypros"])
    out, pdf = tmp_path / "sheet.html", tmp_path / "sheet.pdf"
    assert cheatsheet.main(["--scoring", "ppr", "--out", str(out), "--pdf", str(pdf)]) == 0
    assert "2025 draft cheat sheet: PPR: 6 of 6 players" in capsys.readouterr().out
    assert "Christian McCaffrey" in out.read_text() and pdf.read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf)
    in_order(text, ["2025 draft cheat sheet: PPR", "Missing", "No 2025 ADP"])
    assert pages(pdf) == 1
    # a row: tick box, overall order, name, team, bye, rank (no VOR without points)
    first = ecr_players()[0]
    assert re.search(rf"1\s+{first['player_name']}\s+{first['player_team_id']}\s+{first['player_bye_week']}\s+1\b",
                     text), text
    assert re.search(r"6\s+Patrick Mahomes II\s+KC\s+10\s+31\b", text), text
    page_one_png(pdf, "cheatsheet-2025-ppr")


# -- every source ---------------------------------------------------------------------------------
def test_all_sources_season_2026(databases):
    sheet = sheet_of(databases["all"])  # ppr, and the latest season ranked: FantasyPros players endpoint, 2026
    assert (sheet.season, sheet.scoring) == (2026, "ppr")
    saquon = (json.loads((FP / "players.json").read_text()))["players"][0]
    first = sheet.players[0]
    assert (first.name, first.rank, first.adp, first.primary) == ("Saquon Barkley", saquon["rank_ecr_ppr"],
                                                                   saquon["rank_adp_ppr"], True)
    assert (first.last_points, first.last_source) == (340.3, "pfr")  # fantasy_2025_synthetic.htm: 340.3 PPR
    # Then the players no draft list ranks, by VOR on 2025 PPR points: FantasyPros' four weeks for the
    # QBs, except Josh Allen, whose full PFR season (356.12 in 17 games) beats them; QB12 is replacement.
    qbs = {p["player_name"]: round(p["points"], 2)
           for p in json.loads((FP / "player-points.json").read_text())["players"] if p.get("games")}
    qbs["Josh Allen"] = 356.12
    replacement = sorted(qbs.values(), reverse=True)[11]
    assert sheet.replacement["QB"].points == replacement and not sheet.replacement["QB"].estimated
    unranked = [p for p in sheet.players if p.rank is None]
    assert [p.name for p in unranked[:11]] == sorted(qbs, key=lambda n: -qbs[n])[:11]
    allen = unranked[0]
    assert (allen.last_source, allen.value_basis, allen.vor) == ("pfr", "last", round(356.12 - replacement, 2))
    assert {p.name: p.vor for p in unranked}["Davante Adams"] == 0.0  # the only WR: his own replacement
    assert "Replacement level estimated from too few players: RB (1 with points, replacement is RB30), WR (1" in (
        "\n".join(sheet.missing))
    used = "\n".join(sheet.sources)
    assert "FantasyPros 2025 (59 players" in used and "Pro-Football-Reference 2025 (3 players" in used
    # Saquon (FantasyPros + PFR) is linked by the crawls themselves (fantasy.match_players after loading)
    assert "matched across sources by name and position only" not in "\n".join(sheet.missing)
    assert "No tiers" in sheet.missing[0] and any(m.startswith("No 2026 season projections") for m in sheet.missing)

    half = sheet_of(databases["all"], scoring="standard", top=3)
    assert half.scoring == "std" and len(half.players) == 3 and half.total == sheet.total
    assert half.players[0].last_points == 307.3  # PFR standard points


def test_espn_ranks_adp_and_projections_when_fantasypros_has_no_list(databases, tmp_path):
    needs_tools()
    pool = espn_pool()
    rbs = sorted((p["projection"] for p in pool if p["position"] == "RB" and p["projection"] is not None), reverse=True)
    sheet = sheet_of(databases["all"], season=2018, scoring="ppr", replacement={"RB": 4})
    assert [p.name for p in sheet.players] == [p["name"] for p in pool]
    hunt = sheet.players[0]
    assert (hunt.name, hunt.rank, hunt.adp, hunt.projection, hunt.proj_source) == (
        "Kareem Hunt", pool[0]["rank"], pool[0]["adp"], pool[0]["projection"], "espn")
    assert hunt.vor == round(pool[0]["projection"] - rbs[3], 2) and not sheet.replacement["RB"].estimated
    assert {p.adp for p in sheet.players} == {p["adp"] for p in pool}
    assert sheet.missing[0] == ("No FantasyPros PPR ECR for 2018: ordered by ESPN draft rank (Standard) instead. "
                                "Crawl `scrapy crawl fantasypros_rankings -a season=2018 -a scoring=PPR`.")
    assert any(m.startswith("No 2017 fantasy points") for m in sheet.missing)
    assert any("ESPN 2018 (49 players" in s and "league 368876 (ppr)" in s for s in sheet.sources)

    pdf = cheatsheet.write_pdf(cheatsheet.render_html(sheet), tmp_path / "2018.pdf")
    assert pages(pdf) == 1  # 49 players: one landscape page
    text = pdf_text(pdf)
    for pos in ESPN_POSITIONS.values():  # each position's column in ESPN's order
        in_order(text, [p["name"] for p in pool if p["position"] == pos])
    page_one_png(pdf, "cheatsheet-2018-ppr")


def test_the_demo_sheet_is_one_landscape_page_in_position_columns(databases, tmp_path):
    """2026: FantasyPros ranks one player, the rest come by VOR: no 60 quarterbacks after him."""
    needs_tools()
    sheet = sheet_of(databases["all"], top=200)
    qbs = [p for p in sheet.players if p.position == "QB"]
    assert sheet.total > 24 + 10 and len(qbs) == 24  # the QBs' share of 200 (12 %)
    assert sheet.players[0].name == "Saquon Barkley"
    pdf = cheatsheet.write_pdf(cheatsheet.render_html(sheet), tmp_path / "demo.pdf")
    assert pages(pdf) == 1
    text = pdf_text(pdf)
    # the QB column, best VOR first, as computed from the points files in test_all_sources_season_2026
    qb_points = {p["player_name"]: round(p["points"], 2)
                 for p in json.loads((FP / "player-points.json").read_text())["players"] if p.get("games")}
    qb_points["Josh Allen"] = 356.12
    in_order(text, sorted(qb_points, key=lambda n: -qb_points[n])[:5])
    assert text.count("\u2610") == 0  # tick boxes are drawn boxes, not characters
    png = page_one_png(pdf, "cheatsheet-demo-2026")
    assert png.exists()


def test_the_league_scoring_drives_points_and_vor(databases):
    """Sleeper league 2018 (6 points a passing TD, -2 an interception): ESPN's projected stats times its points."""
    league = json.loads((FIX / "sleeper_league" / "league.json").read_text())
    w = league["scoring_settings"]
    ids = {"pass_yd": "3", "pass_td": "4", "pass_int": "20", "rush_yd": "24", "rush_td": "25", "rec": "53",
           "rec_yd": "42", "rec_td": "43", "fum_lost": "72"}
    expected = {}
    for entry in json.loads((FIX / "espn_league" / "league_free_agents_2018.json").read_text())["players"]:
        p = entry["player"]
        for st in p.get("stats", []):
            if (st["statSourceId"], st["statSplitTypeId"], st["seasonId"]) == (1, 0, 2018) and "3" in st["stats"]:
                expected[p["fullName"]] = round(sum(st["stats"].get(i, 0) * w.get(k, 0) for k, i in ids.items()), 1)
    assert len(expected) >= 3, expected  # quarterbacks with projected passing yards
    sheet = sheet_of(databases["all"], season=2018, league=league["league_id"])
    assert sheet.title == f"2018 draft cheat sheet: {league['name']} (sleeper {league['league_id']}) scoring"
    got = {p.name: round(p.projection, 1) for p in sheet.players if p.name in expected}
    assert got == expected
    # replacement: 12 teams x the lineup's spots (QB, RB x2, WR x2, TE, FLEX x2 shared by RB and WR, DEF)
    assert {p: r.needed for p, r in sheet.replacement.items() if p in ("QB", "RB", "WR", "TE")} == {
        "QB": 12, "RB": 36, "WR": 36, "TE": 12}
    plain = sheet_of(databases["all"], season=2018, scoring="ppr")
    assert {p.name: p.projection for p in plain.players if p.name in expected} != got  # ESPN's own scoring


# -- pde's own projections beside the consensus ------------------------------------------------------
def qb_points() -> dict[str, float]:
    """2025 PPR points of the 2026 sheet's QBs, from the fixture files: FantasyPros' four weeks, Josh Allen's
    full PFR season (356.12 in 17 games, fantasy_2025_synthetic.htm), which beats them."""
    qbs = {p["player_name"]: round(p["points"], 2)
           for p in json.loads((FP / "player-points.json").read_text())["players"] if p.get("games")}
    qbs["Josh Allen"] = 356.12
    return qbs


@pytest.fixture
def copy_of_all(databases, pg_server):
    """A private copy of the every-source database (projections written here stay out of the other tests)."""
    name = "cs_" + uuid.uuid4().hex[:10]
    source = databases["all"].rsplit("/", 1)[1]
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (source,))
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    yield databases["all"].rsplit("/", 1)[0] + "/" + name
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


# the back-test the run reports (platform.model_runs.metrics), chosen here
METRICS = {"backtest_n": 640, "backtest_seasons": [2019, 2020, 2021, 2022, 2023, 2024, 2025], "mae": 41.37,
           "baseline_mae": 52.06, "beats_baseline": True, "consensus_n": 87, "consensus_mae": 38.21,
           "mae_same_rows": 44.93, "mae_vs_consensus": 6.72, "scoring": "ppr"}


def write_projections(url: str, chosen: dict[str, tuple[str, str, float]]) -> int:
    """Write pde projections for 2026 PPR through the trainer's own writer; returns the run's id.

    chosen: player_key -> (name, position, projected points); the keys are looked up by the caller."""
    import pandas as pd

    from pde.fantasy import projections
    from pde.model_runs import ModelRun

    proj = pd.DataFrame([{"player_key": key, "season": 2026, "scoring": "ppr", "player_name": name, "position": pos,
                          "team": "NYJ", "projected_points": pts, "baseline_points": None, "consensus_points": None,
                          "last_points": None, "last_games": None} for key, (name, pos, pts) in chosen.items()])
    run = ModelRun(model="fantasy.projections", area="fantasy", rows=812, features=projections.NUMERIC,
                   metrics=METRICS, message="chosen by the test")
    with psycopg2.connect(url) as conn:
        projections.write(conn, run, proj, "ppr")
    return run.model_run_id


def player_ids(url: str, *names: str) -> dict[str, int]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT full_name, player_id FROM fantasy.players WHERE full_name = ANY(%s)", (list(names),))
        found = dict(cur.fetchall())
    assert set(found) == set(names), found
    return found


@pytest.fixture
def projected(copy_of_all):
    """The copy with pde projections for five players: linked (fantasy.players ids), one by its FantasyPros id
    ('<source>:<id>', through the sheet's own matching) and one nobody else knows."""
    ids = player_ids(copy_of_all, "Saquon Barkley", "Josh Allen", "Joe Burrow")
    hurts = next(p for p in json.loads((FP / "player-points.json").read_text())["players"]
                 if p["player_name"] == "Jalen Hurts")
    chosen = {str(ids["Saquon Barkley"]): ("Saquon Barkley", "RB", 180.5),
              str(ids["Josh Allen"]): ("Josh Allen", "QB", 120.0),
              str(ids["Joe Burrow"]): ("Joe Burrow", "QB", 300.0),
              f"fantasypros:{hurts['player_id']}": ("Jalen Hurts", "QB", 410.25),
              "pfr:OnlyPd00": ("Pde Only", "QB", 250.0)}
    run_id = write_projections(copy_of_all, chosen)
    return {"url": copy_of_all, "run_id": run_id, "points": {name: pts for name, _, pts in chosen.values()}}


def test_pde_projection_shows_beside_the_consensus(projected, databases):
    before = sheet_of(databases["all"], top=0)
    sheet = sheet_of(projected["url"], top=0)
    points = projected["points"]
    # the consensus order and values are untouched; the pde column holds the run's numbers for the right players
    assert [(p.name, p.vor) for p in sheet.players] == [(p.name, p.vor) for p in before.players]
    assert {p.name: p.pde for p in sheet.players if p.pde is not None} == {
        n: v for n, v in points.items() if n != "Pde Only"}  # on the sheet only when ranked by pde
    assert sheet.value_by == "consensus" and sheet.pde_run.model_run_id == projected["run_id"]
    line = sheet.pde_line()
    for words in (f"model run #{projected['run_id']}", "on 812 player-seasons", "4 of 62 players here",
                  "Back-test 2019-2025 (640 player-seasons): MAE 41.4 pts vs 52.1 for last season's points per game "
                  "(beats it)", "vs FantasyPros consensus on 87 player-seasons: pde 44.9, consensus 38.2 "
                  "(the consensus closer)"):
        assert words in line, line
    assert "Ranked by pde" not in line

    html = cheatsheet.render_html(sheet)
    assert f"model run #{projected['run_id']}" in html and '<td class="p">pde</td>' in html
    for name, pts in points.items():
        if name != "Pde Only":
            assert re.search(rf">{re.escape(name)}</td>(<td[^>]*>[^<]*</td>){{2}}<td class=\"p\">{round(pts)}</td>",
                             html), name
    # a league's own scoring: the pde projection is still PPR (the league's format), and the line says so
    league = json.loads((FIX / "sleeper_league" / "league.json").read_text())
    in_league = sheet_of(projected["url"], league=league["league_id"], season=2026, top=0)
    assert in_league.scoring == "ppr" and "PPR projection (points), not the league's scoring" in in_league.pde_line()
    # another scoring has no pde projections: no column, no line
    half = sheet_of(projected["url"], scoring="half", top=0)
    assert half.pde_run is None and half.pde_line() == "" and 'class="p"' not in cheatsheet.render_html(half)


def test_ranking_by_pde_orders_by_its_projection_and_falls_back_to_the_consensus(projected):
    sheet = sheet_of(projected["url"], top=0, value_by="pde")
    points = projected["points"]
    assert sheet.value_by == "pde"
    by_name = {p.name: p for p in sheet.players}
    assert {n: p.pde for n, p in by_name.items() if p.pde is not None} == points
    # QBs: pde's points where it has them, else last season's (no 2026 projections were crawled)
    value = {**qb_points(), **{n: v for n, v in points.items() if n != "Saquon Barkley"}}
    qbs = [p.name for p in sheet.players if p.position == "QB"]
    expected = sorted(value, key=lambda n: -value[n])
    assert qbs[:15] == expected[:15]
    assert qbs[0] == "Jalen Hurts" and sheet.players[0].name == "Jalen Hurts"  # 410.25, the best VOR
    replacement = sorted(value.values(), reverse=True)[11]
    assert sheet.replacement["QB"].points == replacement
    assert by_name["Joe Burrow"].vor == round(300.0 - replacement, 2) and by_name["Joe Burrow"].value_basis == "pde"
    assert by_name["Lamar Jackson"].value_basis == "last" and by_name["Lamar Jackson"].pde is None
    vors = [p.vor for p in sheet.players if p.vor is not None]
    assert vors == sorted(vors, reverse=True)
    assert sheet.players.index(by_name["Saquon Barkley"]) > 0  # ECR's first is first no more
    assert by_name["Pde Only"].team == "NYJ" and by_name["Pde Only"].position == "QB"
    # the legend says who falls back and how; the sheet's sources say what orders it
    fallback = len(sheet.players) - len(points)
    assert f"{fallback} players without one (pde \u2013) by the consensus projection, else last season's points" in (
        sheet.pde_line())
    assert sheet.sources[0] == "Order: pde's 2026 projection, by value over replacement"
    assert "No tiers" not in "\n".join(sheet.missing)
    html = cheatsheet.render_html(sheet)
    assert "VOR = value over replacement by pde's projection" in html


def test_no_pde_projections_leaves_the_sheet_as_it_was(copy_of_all, databases):
    """The real trainer on the fixtures' one season: too few rows, so no projections, no column, no pde line."""
    from pde.fantasy import projections

    runs = projections.train(copy_of_all)
    with psycopg2.connect(copy_of_all) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, message FROM platform.model_runs WHERE model = 'fantasy.projections'")
        (status, message), = cur.fetchall()
        cur.execute("SELECT count(*) FROM fantasy.projections")
        assert cur.fetchone()[0] == 0
    assert status == "too_few_rows" and runs[0].status == status
    before = sheet_of(databases["all"], top=0)
    for value_by in ("consensus", "pde"):
        sheet = sheet_of(copy_of_all, top=0, value_by=value_by)
        assert sheet.pde_run is None and sheet.value_by == "consensus"
        assert [(p.name, p.vor, p.pde) for p in sheet.players] == [(p.name, p.vor, None) for p in before.players]
        html = cheatsheet.render_html(sheet)
        assert '<td class="p">' not in html and "model run" not in html and '<div class="pdeline">' not in html
        if value_by == "consensus":  # the very same page as without a model
            sheet.generated_at = before.generated_at
            assert html.replace(f"{sheet.generated_at:%Y-%m-%d %H:%M}", "") == cheatsheet.render_html(
                before).replace(f"{before.generated_at:%Y-%m-%d %H:%M}", "")
    assert sheet.missing[0].startswith("No pde projections for 2026 in PPR: ordered by the consensus instead. "
                                       "Train them with `pde model train fantasy`")
    assert message.rstrip(".") in sheet.missing[0]
    assert sheet.missing[1:] == before.missing


def test_the_trust_line_says_what_cannot_be_measured():
    run = cheatsheet.PdeRun(model_run_id=3, trained_at=datetime.datetime(2026, 8, 1), code_version=None, rows=40,
                            metrics={"backtest_n": 0}, synthetic=True, message=None, projections=40)
    assert run.trust() == "not back-tested (too few earlier seasons): no measure of its error yet"
    run.metrics = {"backtest_n": 31, "backtest_seasons": [2024], "mae": 60.0, "baseline_mae": 55.5}
    assert run.trust() == ("back-test 2024 (31 player-seasons): MAE 60.0 pts vs 55.5 for last season's points per "
                           "game (does not beat it); vs FantasyPros consensus: cannot be measured yet (no crawled "
                           "projection for a back-tested season)")
    sheet = cheatsheet.Sheet(season=2026, scoring="half", players=[], total=0, pde_run=run)
    assert "SYNTHETIC" in sheet.pde_line() and "2026 Half PPR projection" in sheet.pde_line()


def test_the_command_ranks_by_pde_on_one_page(projected, tmp_path):
    """`pde cheatsheet --value pde` as a subprocess: the pde column and the run in the printed PDF, one page."""
    import os
    import sys

    needs_tools()
    out, pdf = tmp_path / "sheet.html", tmp_path / "sheet.pdf"
    env = {**os.environ, "DATABASE_URL": projected["url"], "PDE_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pde.cli", "cheatsheet", "--value", "pde", "--out", str(out),
                           "--pdf", str(pdf)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert f"pde = pde's own 2026 PPR projection (points): model run #{projected['run_id']}" in proc.stdout
    assert "Ranked by pde" in proc.stdout
    assert pages(pdf) == 1
    text = pdf_text(pdf)
    assert f"model run #{projected['run_id']}" in text and "MAE 41.4" in text
    in_order(text, ["Jalen Hurts", "Joe Burrow", "Pde Only", "Josh Allen", "Lamar Jackson"])  # the QB column
    for name, pts in projected["points"].items():  # name, team, (bye), pde, VOR
        assert re.search(rf"{re.escape(name)}\s+[A-Z]{{2,3}}\s+(\d+\s+)?{round(pts)}\s+-?\d+\.\d\b", text), name
    assert not re.search(r"Lamar Jackson\s+BAL\s+(\d+\s+)?\d+\s+-?\d+\.\d", text)  # no pde number: a dash
    page_one_png(pdf, "cheatsheet-2026-ppr-by-pde")


# -- no data, no browser, the command line ----------------------------------------------------------
def test_an_empty_database_says_what_to_crawl(pg_conn):
    with pytest.raises(cheatsheet.CheatSheetError,
                       match="No fantasy rankings or stats.*scrapy crawl fantasypros_rankings"):
        cheatsheet.build(pg_conn)


def test_missing_chromium_names_the_installer(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(cheatsheet.CheatSheetError, match="scripts/system-deps.sh"):
        cheatsheet.write_pdf("<p>x</p>", tmp_path / "x.pdf")


def test_arguments():
    import argparse

    parser = argparse.ArgumentParser(prog="pde")
    cheatsheet.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["cheatsheet", "--scoring", "standard", "--season", "2025", "--top", "50",
                              "--replacement", "rb=24,DST=10"])
    assert (args.scoring, args.season, args.top, args.replacement, args.func) == (
        "std", 2025, 50, {"RB": 24, "DEF": 10}, cheatsheet.cmd_cheatsheet)
    assert parser.parse_args(["cheatsheet"]).scoring is None  # the league's, else ppr
    assert parser.parse_args(["cheatsheet", "--league", "123"]).league == "123"
    assert parser.parse_args(["cheatsheet"]).value == "consensus"
    assert parser.parse_args(["cheatsheet", "--value", "pde"]).value == "pde"
    for bad in (["--scoring", "two"], ["--replacement", "OL=5"], ["--value", "espn"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["cheatsheet", *bad])


def test_the_command_writes_into_the_exports_folder_not_the_current_directory(databases, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    cwd, home = tmp_path / "somewhere", tmp_path / "home"
    cwd.mkdir()
    env = {**os.environ, "DATABASE_URL": databases["fantasypros"], "PDE_HOME": str(home),
           "PYTHONPATH": str(ROOT)}
    env.pop("PDE_EXPORTS", None)
    proc = subprocess.run([sys.executable, "-m", "pde.cli", "cheatsheet", "--no-pdf"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = home / "exports" / "cheatsheet-2025-ppr.html"
    assert f"-> {written}" in proc.stdout and "Christian McCaffrey" in written.read_text()
    assert list(cwd.iterdir()) == []
    elsewhere = tmp_path / "my-exports"
    proc = subprocess.run([sys.executable, "-m", "pde.cli", "cheatsheet", "--no-pdf"], cwd=cwd,
                          env={**env, "PDE_EXPORTS": str(elsewhere)}, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0 and (elsewhere / "cheatsheet-2025-ppr.html").exists()
    # git ignores the default folder
    check = subprocess.run(["git", "check-ignore", "-q", str(ROOT / ".pde" / "exports" / "x.html")], cwd=ROOT,
                           check=False)
    assert check.returncode == 0
