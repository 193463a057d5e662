"""pde cheatsheet: the draft cheat sheet built from replayed fantasy cassettes, as HTML and as a PDF
printed by Chromium (its text read back with pdftotext, page 1 rendered to test-artifacts/).

Two databases: one holds only the FantasyPros cheat-sheet page (2025 PPR ECR, tiers, byes); the
other adds the FantasyPros API (2026 ECR/ADP, 2025 PPR points), PFR's 2025 fantasy page and an
ESPN league's 2018 player pool (draft ranks, ADP, projections in league scoring).
Expected values are read from the fixture files by the test, never from the sheet's own output.
"""

from __future__ import annotations

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
    for bad in (["--scoring", "two"], ["--replacement", "OL=5"]):
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
