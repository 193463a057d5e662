"""Players across the fantasy sources, on every recorded fantasy fixture crawled for real.

"The same player" is decided here by the test's own reading of the names (accents, punctuation,
Jr./Sr./II-V suffixes, D/ST spellings), independently of pde's name_key: at least 95 % of the
players two or more sources list must be one linked fantasy.players row after the crawls alone
(they run fantasy.match_players() themselves), and the others must be listed with a reason.
The crawl's credentials (ESPN_SWID, SLEEPER_USER_ID) mark the user's own teams in fantasy.me.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict

import psycopg2
import pytest

from pde import cassettes
from tests.conftest import FIXTURES, run_crawl, scratch_databases

FANTASY = ("espn_league", "sleeper_league", "pfr_stats", "fantasypros_rankings")
SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
DEFENSE = {"D/ST", "DST", "DEF", "D"}


def rows(url, sql, args=None):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def crawl_all(url, env=None):
    for path in cassettes.all_cassettes(FIXTURES):
        meta = cassettes.metadata(path)
        if meta.get("spider") in FANTASY and meta.get("expect", "succeeded") == "succeeded":
            p = run_crawl(meta["spider"], db=url, cassette=path, args=meta.get("args"),
                          settings=meta.get("settings"), env=env)
            assert p.returncode == 0, (path, p.stderr[-2000:])


def person(name: str, position: str | None, team: str | None) -> str:
    if (position or "").upper() in DEFENSE:
        return f"DEF {team}"
    s = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).lower()
    words = re.sub(r"[^a-z ]+", "", s.replace("-", " ")).split()
    while len(words) > 2 and words[-1] in SUFFIXES:
        words.pop()
    return " ".join(words) + f" {position}"


def espn_team_one() -> dict:
    """Team 1 of the recorded 2018 mTeam response (its owner is whom ESPN_SWID names)."""
    doc = json.loads((FIXTURES / "espn_league" / "cassette_2018.json").read_text())
    for it in doc["http_interactions"]:
        if it["request"]["uri"].endswith("view=mTeam"):
            body = it["response"]["body"]
            text = body["string"] if body.get("encoding", "utf-8").lower() in ("utf-8", "") else None
            if text is None or not text.lstrip().startswith("{"):
                import base64

                text = base64.b64decode(body.get("base64_string") or body["string"]).decode()
            return next(t for t in json.loads(text)["teams"] if t["id"] == 1)
    raise AssertionError("no mTeam response in cassette_2018.json")


@pytest.fixture(scope="module")
def crawled(pg_server, tmp_path_factory):
    team1 = espn_team_one()
    roster = json.loads((FIXTURES / "sleeper_league" / "rosters.json").read_text())[1]
    home = tmp_path_factory.mktemp("home")
    with scratch_databases(pg_server, prefix="links_") as url:
        crawl_all(url, env={"ESPN_SWID": team1["owners"][0].strip("{}").lower(),  # as a browser may show it
                            "SLEEPER_USER_ID": roster["owner_id"], "PDE_HOME": str(home)})
        yield url, team1, roster


def test_players_in_two_or_more_sources_are_linked(crawled):
    url, _, _ = crawled
    players = rows(url, """SELECT sp.source, sp.source_player_id, sp.full_name, sp.position, sp.team, i.player_id
                             FROM fantasy.source_players sp
                             LEFT JOIN fantasy.player_ids i USING (source, source_player_id)""")
    groups: dict[str, list[tuple]] = defaultdict(list)
    for source, sid, name, position, team, player_id in players:
        groups[person(name, position, team)].append((source, sid, player_id))
    shared = {k: v for k, v in groups.items() if len({s for s, _, _ in v}) >= 2}
    linked = {k for k, v in shared.items() if len({p for _, _, p in v}) == 1 and v[0][2] is not None}
    # the fixtures overlap on few players (Josh Allen, Saquon Barkley, Matthew Stafford, Carson Wentz, Jimmy
    # Garoppolo, Jameis Winston: different eras and teams, e.g. ESPN 2018 SF against FantasyPros 2025 LAR)
    assert {"josh allen QB", "saquon barkley RB", "matthew stafford QB", "jimmy garoppolo QB"} <= set(shared), shared
    assert len(linked) / len(shared) >= 0.95, sorted(set(shared) - linked)
    # the rest are listed, each with a reason
    listed = {(s, sid) for s, sid, *_ in rows(url, "SELECT source, source_player_id, reason FROM "
                                                   "fantasy.unlinked_across_sources WHERE reason <> ''")}
    for k in set(shared) - linked:
        assert {(s, sid) for s, sid, _ in shared[k]} & listed, k
    assert rows(url, "SELECT count(*) FROM fantasy.unmatched_players") == [(0,)]


def test_the_crawls_credentials_mark_my_teams(crawled):
    url, team1, roster = crawled
    me = rows(url, "SELECT source, member_id FROM fantasy.me ORDER BY source")
    assert me == [("espn", team1["owners"][0]), ("sleeper", roster["owner_id"])]
    mine = rows(url, "SELECT source, season, team_id FROM fantasy.league_teams WHERE is_mine ORDER BY 1, 2")
    assert ("espn", 2018, str(team1["id"])) in mine and ("sleeper", 2018, str(roster["roster_id"])) in mine


def test_a_mistyped_id_marks_nothing(pg_url, pde_home):
    meta = cassettes.metadata(FIXTURES / "sleeper_league" / "cassette_league.json")
    p = run_crawl("sleeper_league", db=pg_url, cassette=FIXTURES / "sleeper_league" / "cassette_league.json",
                  args=meta.get("args"), env={"SLEEPER_USER_ID": "000000000000"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert rows(pg_url, "SELECT count(*) FROM fantasy.me") == [(0,)]
    assert "000000000000" not in p.stderr  # the id is never logged
