"""ESPN fantasy football league: settings, teams and members, schedule and scores, draft,
rosters, the player pool (ownership, ADP, actual and projected stats) and recent activity.

Reads ESPN's v3 API (lm-api-reads.fantasy.espn.com), one request per view:
mSettings, mTeam, mRoster, mMatchupScore, mDraftDetail, kona_player_info, and
the communication feed. Seasons before 2018 come from the leagueHistory
endpoint (a JSON list holding one league object); it has no player pool or
activity feed.

    scrapy crawl espn_league -a league_id=368876 -a seasons=2018,2019
    scrapy crawl espn_league -a url=~/Downloads/espn/*.json -a league_id=368876 -a seasons=2019

Arguments: ``league_id`` (required live), ``seasons`` (comma list; default the
current NFL season), ``views`` (comma list, default all), ``players_limit``
(most-owned players to read from the pool, 300). For saved files,
``league_id``/``seasons`` name the league and season of responses that do not
say it themselves (the activity feed, the player pool).

Credentials: a private league needs the ``espn_s2`` and ``SWID`` cookies of a
logged-in browser, from the environment variables ESPN_S2 and ESPN_SWID. They
are sent as cookies only, never logged or recorded.

Parsing
-------
ESPN fantasy football v3 API responses -> fantasy records.

One league response carries whichever views were asked for, recognised by
their keys: ``settings`` (mSettings), ``teams``/``members`` (mTeam; a team's
``roster`` with mRoster), ``schedule`` (mMatchupScore), ``draftDetail.picks``
(mDraftDetail). ``players`` alone is the player pool (kona_player_info,
kona_playercard); ``topics`` is the communication (recent activity) endpoint.
The leagueHistory endpoint (seasons before 2018) answers with a JSON *list* of
such league objects. Ids, views and stat codes follow cwendt94/espn-api.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg, ParseError, load_json
from scrapers.fantasy.normalize import (
    current_season,
    from_epoch_ms,
    name_key,
    points,
    position_code,
    team_code,
    text_id,
    to_decimal,
    to_float,
    to_int,
)
from scrapers.fantasy.records import (
    MATCH_PLAYERS,
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
    claim_me,
)
from scrapers.spider import PdeSpider

SOURCE = "espn"
API = "https://lm-api-reads.fantasy.espn.com/apis/v3/games/ffl"

#: lineup slot ids (lineupSlotId, eligibleSlots, rosterSettings.lineupSlotCounts)
SLOTS = {
    0: "QB", 1: "TQB", 2: "RB", 3: "RB/WR", 4: "WR", 5: "WR/TE", 6: "TE", 7: "OP", 8: "DT", 9: "DE",
    10: "LB", 11: "DL", 12: "CB", 13: "S", 14: "DB", 15: "DP", 16: "D/ST", 17: "K", 18: "P", 19: "HC",
    20: "BE", 21: "IR", 23: "FLEX", 24: "ER", 25: "Rookie",
}
BENCH_SLOTS = {20, 21}
#: recent-activity messageTypeId -> (what happened, which field names the team)
ACTIVITY = {
    178: ("added", "to"), 180: ("added_waiver", "to"), 179: ("dropped", "to"),
    181: ("dropped", "to"), 239: ("dropped", "for"), 244: ("traded", "to"),
}
#: ESPN stat ids behind PlayerStats' typed columns (player.stats[].stats)
STAT_COLUMNS = {
    "pass_att": "0", "pass_cmp": "1", "pass_yds": "3", "pass_td": "4", "pass_int": "20",
    "rush_att": "23", "rush_yds": "24", "rush_td": "25", "rec": "53", "rec_yds": "42",
    "rec_td": "43", "targets": "58", "fumbles_lost": "72",
}
RANK_SCORING = {"STANDARD": "std", "PPR": "ppr", "HALF_PPR": "half", "HALF": "half"}

#: X-Fantasy-Filter for the activity feed, as ESPN's own site sends it
ACTIVITY_FILTER = {"topics": {
    "filterType": {"value": ["ACTIVITY_TRANSACTIONS"]}, "limit": 50, "limitPerMessageSet": {"value": 25},
    "offset": 0, "sortMessageDate": {"sortPriority": 1, "sortAsc": False},
    "sortFor": {"sortPriority": 2, "sortAsc": False},
    "filterIncludeMessageTypeIds": {"value": sorted(ACTIVITY)},
}}


def players_filter(limit: int) -> dict:
    """X-Fantasy-Filter for kona_player_info: the most-owned players, rostered or not."""
    return {"players": {"limit": limit, "sortPercOwned": {"sortPriority": 1, "sortAsc": False}}}


@dataclass
class Context:
    """What a response does not say about itself: the league and season it was asked for."""

    league_id: str | None = None
    season: int | None = None


class UnknownLayout(ValueError):
    """The JSON is not an ESPN fantasy response we know."""


def parse(data: Any, ctx: Context) -> Iterator[Record | Rejected]:
    """Every record in one decoded ESPN response."""
    if isinstance(data, list):  # leagueHistory: [league, ...] (empty when the league did not exist)
        if not all(isinstance(x, dict) and "seasonId" in x and "id" in x for x in data):
            raise UnknownLayout("a JSON list, but not of ESPN league objects (leagueHistory)")
        for league in data:
            yield from parse_league(league, ctx)
        return
    if not isinstance(data, dict):
        raise UnknownLayout(f"a JSON {type(data).__name__}, not an object or list")
    if "topics" in data:
        yield from parse_activity(data["topics"], ctx)
    elif "id" in data and "seasonId" in data:
        yield from parse_league(data, ctx)
    elif isinstance(data.get("players"), list):
        yield from parse_player_pool(data["players"], ctx.season or _season_of(data["players"]), ctx)
    elif data.get("messages") or data.get("details"):
        raise UnknownLayout(f"an ESPN error answer: {data.get('messages') or data.get('details')}")
    else:
        raise UnknownLayout(
            "expected a league object (id + seasonId), a player pool (players[]) or the activity "
            f"feed (topics[]); found keys {sorted(data)[:12]}"
        )


# -- league views ---------------------------------------------------------------------
#: ESPN's gameId of fantasy football (games/ffl); hockey, basketball and baseball leagues have others
FOOTBALL_GAME_ID = 1


def parse_league(data: dict, ctx: Context) -> Iterator[Record | Rejected]:
    game = data.get("gameId")
    if game is not None and game != FOOTBALL_GAME_ID:
        raise UnknownLayout(
            f"league {data.get('id')} is not a football league: gameId {game} (football is {FOOTBALL_GAME_ID}), "
            "another ESPN fantasy sport such as hockey (games/fhl), basketball (fba) or baseball (flb). pde reads "
            "fantasy football only; nothing was taken from it"
        )
    league_id, season = str(data["id"]), int(data["seasonId"])
    ctx = Context(league_id=league_id, season=season)
    yield league_record(data, league_id, season)
    for team in data.get("teams") or []:
        yield from parse_team(team, ctx, data.get("scoringPeriodId"))
    for member in data.get("members") or []:
        if not member.get("id"):
            yield Rejected(table=Member.table, reason="member without id", raw=member)
            continue
        yield Member(
            source=SOURCE, league_id=league_id, member_id=str(member["id"]), season=season,
            display_name=member.get("displayName"), first_name=member.get("firstName"),
            last_name=member.get("lastName"), is_commissioner=member.get("isLeagueManager"),
        )
    for game in data.get("schedule") or []:
        yield from parse_matchup(game, ctx)
    for pick in (data.get("draftDetail") or {}).get("picks") or []:
        yield from parse_pick(pick, ctx)
    if isinstance(data.get("players"), list):
        yield from parse_player_pool(data["players"], season, ctx)


def league_record(data: dict, league_id: str, season: int) -> League:
    settings = data.get("settings") or {}
    status = data.get("status") or {}
    schedule = settings.get("scheduleSettings") or {}
    full = "rosterSettings" in settings or "scheduleSettings" in settings  # the mSettings view
    slot_counts = (settings.get("rosterSettings") or {}).get("lineupSlotCounts") or {}
    roster_positions = [SLOTS.get(int(s), s) for s, n in sorted(slot_counts.items(), key=lambda kv: _slot_order(kv[0]))
                        for _ in range(n or 0)] or None
    regular = to_int(schedule.get("matchupPeriodCount"))
    return League(
        source=SOURCE, league_id=league_id, season=season,
        name=(settings.get("name") or "").strip() or None,
        status=("active" if status["isActive"] else "inactive") if "isActive" in status else None,
        size=to_int(settings.get("size")) or to_int(status.get("teamsJoined")),
        scoring_format=_scoring_format(settings.get("scoringSettings")),
        current_week=to_int(status.get("currentMatchupPeriod")) or None,
        playoff_week_start=regular + 1 if regular else None,
        playoff_teams=to_int(schedule.get("playoffTeamCount")),
        previous_seasons=status.get("previousSeasons") or None,
        roster_positions=roster_positions,
        settings={k: v for k, v in settings.items() if k not in ("name", "scoringSettings")} if full else None,
        scoring_settings=settings.get("scoringSettings") if full else None,
    )


def _slot_order(slot: str) -> tuple[int, int]:
    s = int(slot)
    return (1 if s in BENCH_SLOTS else 0, 6.5 if s == 23 else s)  # FLEX after TE, bench last


def _scoring_format(scoring: dict | None) -> str | None:
    if not scoring or "scoringItems" not in scoring:
        return None
    per_rec = next((i.get("points") for i in scoring["scoringItems"] if i.get("statId") == 53), 0) or 0
    return {1: "ppr", 0.5: "half", 0: "std"}.get(per_rec, "custom")


def parse_team(team: dict, ctx: Context, scoring_period: Any) -> Iterator[Record | Rejected]:
    if team.get("id") is None:
        yield Rejected(table=Team.table, reason="team without id", raw=team)
        return
    team_id = str(team["id"])
    overall = (team.get("record") or {}).get("overall") or {}
    name = team.get("name") or " ".join(
        p.strip() for p in (team.get("location"), team.get("nickname")) if p and p.strip())
    counter = team.get("transactionCounter") or {}
    yield Team(
        source=SOURCE, league_id=ctx.league_id, season=ctx.season, team_id=team_id,
        name=name or None, abbrev=team.get("abbrev"), owner_ids=team.get("owners") or None,
        division_id=text_id(team.get("divisionId")),
        wins=to_int(overall.get("wins")), losses=to_int(overall.get("losses")), ties=to_int(overall.get("ties")),
        points_for=points(overall.get("pointsFor")), points_against=points(overall.get("pointsAgainst")),
        playoff_seed=to_int(team.get("playoffSeed")) or None,
        final_rank=to_int(team.get("rankCalculatedFinal")) or to_int(team.get("rankFinal")) or None,
        waiver_position=to_int(team.get("waiverRank")) or None,
        faab_used=to_int(counter.get("acquisitionBudgetSpent")),
        logo_url=team.get("logo"),
    )
    roster = team.get("roster")
    if isinstance(roster, dict):
        entries = roster.get("entries") or []
        lineup = {str(e["playerId"]): SLOTS.get(e.get("lineupSlotId"), str(e.get("lineupSlotId")))
                  for e in entries if e.get("playerId") is not None}
        yield Roster(
            source=SOURCE, league_id=ctx.league_id, season=ctx.season, team_id=team_id,
            week=to_int(scoring_period), owner_id=(team.get("owners") or [None])[0],
            player_ids=list(lineup),
            starters=[str(e["playerId"]) for e in entries
                      if e.get("playerId") is not None and e.get("lineupSlotId") not in BENCH_SLOTS],
            reserve=[str(e["playerId"]) for e in entries if e.get("lineupSlotId") == 21],
            lineup=lineup,
        )
        yield from parse_player_pool(entries, ctx.season, ctx)


def parse_matchup(game: dict, ctx: Context) -> Iterator[Record | Rejected]:
    home, away = game.get("home") or {}, game.get("away") or {}
    week = to_int(game.get("matchupPeriodId"))
    if week is None or home.get("teamId") is None:
        yield Rejected(table=Matchup.table, reason="schedule entry without matchupPeriodId or home team", raw=game)
        return
    winner = game.get("winner")
    for side, other, is_home in ((home, away, True), (away, home, False)):
        if side.get("teamId") is None:
            continue  # a bye: the schedule entry has no away team
        won = {"HOME": is_home, "AWAY": not is_home}.get(winner)
        yield Matchup(
            source=SOURCE, league_id=ctx.league_id, season=ctx.season, week=week,
            team_id=str(side["teamId"]), matchup_id=text_id(game.get("id")),
            opponent_team_id=text_id(other.get("teamId")),
            points=points(side.get("totalPoints")), opponent_points=points(other.get("totalPoints")),
            is_home=is_home,
            result="T" if winner == "TIE" else ({True: "W", False: "L"}.get(won) if other else None),
            playoff_tier=game.get("playoffTierType"),
        )


def parse_pick(pick: dict, ctx: Context) -> Iterator[Record | Rejected]:
    overall = to_int(pick.get("overallPickNumber"))
    if not overall:
        yield Rejected(table=DraftPick.table, reason="draft pick without overallPickNumber", raw=pick)
        return
    yield DraftPick(
        source=SOURCE, league_id=ctx.league_id, season=ctx.season, overall_pick=overall,
        round=to_int(pick.get("roundId")), round_pick=to_int(pick.get("roundPickNumber")),
        team_id=text_id(pick.get("teamId")), member_id=pick.get("memberId"),
        source_player_id=text_id(pick.get("playerId")), is_keeper=pick.get("keeper"),
        bid_amount=to_int(pick.get("bidAmount")),
    )


# -- players --------------------------------------------------------------------------
def _season_of(entries: list) -> int | None:
    """The season a saved player pool was asked for: the latest its stat lines reach (a player card
    for 2020 holds 2019's games and 2020's projection)."""
    seasons = [s.get("seasonId") for e in entries if isinstance(e, dict)
               for s in ((e.get("player") or (e.get("playerPoolEntry") or {}).get("player") or {}).get("stats") or [])
               if isinstance(s.get("seasonId"), int)]
    return max(seasons) if seasons else None


def parse_player_pool(entries: list, season: int | None, ctx: Context) -> Iterator[Record | Rejected]:
    """players[] of kona_player_info / kona_playercard, or a team's roster entries."""
    for entry in entries:
        player = entry.get("player") or (entry.get("playerPoolEntry") or {}).get("player")
        if not isinstance(player, dict) or player.get("id") is None or not player.get("fullName"):
            yield Rejected(table=SourcePlayer.table, reason="player entry without player.id/fullName", raw=entry)
            continue
        pid, name = str(player["id"]), player["fullName"]
        position = position_code(player.get("defaultPositionId"))
        team = team_code(to_int(player.get("proTeamId")))
        yield SourcePlayer(
            source=SOURCE, source_player_id=pid, full_name=name, name_key=name_key(name),
            first_name=player.get("firstName"), last_name=player.get("lastName"),
            position=position, team=team, jersey=player.get("jersey") or None,
            fantasy_positions=[SLOTS[s] for s in player.get("eligibleSlots") or [] if s in SLOTS] or None,
            injury_status=player.get("injuryStatus"), active=player.get("active"),
        )
        for line in player.get("stats") or []:
            yield from _stat_line(line, pid, name, position, ctx)
        yield from _rankings(player, pid, name, position, team, season)


def _stat_line(line: dict, pid: str, name: str, position: str | None, ctx: Context) -> Iterator[Record | Rejected]:
    season, source_id, split = line.get("seasonId"), line.get("statSourceId"), line.get("statSplitTypeId")
    if season is None or source_id not in (0, 1):
        yield Rejected(table=PlayerStats.table, reason="stat line without seasonId or a known statSourceId", raw=line)
        return
    kind = "actual" if source_id == 0 else "projection"
    if split not in (0, 1):  # other splits are undocumented: kept apart rather than guessed at
        kind = f"{kind}_split{split}"
    week = 0 if split == 0 else to_int(line.get("scoringPeriodId")) or 0
    raw = line.get("stats") or {}  # (appliedStats are points per stat, not the stats)
    typed = {col: to_float(raw.get(sid)) for col, sid in STAT_COLUMNS.items()}
    if typed["rec"] is None:
        typed["rec"] = to_float(raw.get("41"))
    yield PlayerStats(
        source=SOURCE, source_player_id=pid, season=int(season), week=week, kind=kind,
        player_name=name, position=position,
        team=team_code(to_int(line.get("proTeamId"))) if line.get("proTeamId") else None,
        points_league=points(line.get("appliedTotal")), league_id=ctx.league_id,
        stats=raw or None, **typed,
    )


def _rankings(player: dict, pid: str, name: str, position: str | None, team: str | None,
              season: int | None) -> Iterator[Record | Rejected]:
    ranks = player.get("draftRanksByRankType") or {}
    own = player.get("ownership") or {}
    if not ranks and not own:
        return
    if season is None:
        yield Rejected(table=Ranking.table, reason="ESPN draft ranks without a season: pass -a seasons=YYYY",
                       raw={"id": pid, "draftRanksByRankType": ranks, "ownership": own})
        return
    market = dict(adp=to_float(own.get("averageDraftPosition")), owned_pct=to_float(own.get("percentOwned")),
                  started_pct=to_float(own.get("percentStarted")))
    rows = [(RANK_SCORING.get(t, t.lower()), r) for t, r in ranks.items()] or [("none", {})]
    for scoring, r in rows:
        yield Ranking(
            source=SOURCE, season=int(season), week=0, ranking_type="draft" if r else "adp", scoring=scoring,
            position_group="ALL", source_player_id=pid, player_name=name, position=position, team=team,
            rank=to_int(r.get("rank")), auction_value=to_decimal(r.get("auctionValue")), **market,
        )


# -- recent activity --------------------------------------------------------------------
def parse_activity(topics: list, ctx: Context) -> Iterator[Record | Rejected]:
    for topic in topics:
        messages = topic.get("messages") or []
        if not topic.get("id") or not messages:
            yield Rejected(table=Transaction.table, reason="activity topic without id or messages", raw=topic)
            continue
        adds: dict[str, str] = {}
        drops: dict[str, str] = {}
        details = []
        for m in messages:
            action, team_field = ACTIVITY.get(m.get("messageTypeId"), ("unknown", "to"))
            team, player = text_id(m.get(team_field)), text_id(m.get("targetId"))
            if player is not None and team is not None:
                (drops if action == "dropped" else adds)[player] = team
            details.append({"message_type": m.get("messageTypeId"), "action": action, "player_id": player,
                            "team_id": team, "from": m.get("from"), "for": m.get("for")})
        kinds = {d["message_type"] for d in details}
        kind = ("trade" if 244 in kinds else "waiver" if 180 in kinds else "free_agent" if 178 in kinds
                else "drop" if kinds & {179, 181, 239} else "unknown")
        yield Transaction(
            source=SOURCE, transaction_id=str(topic["id"]), league_id=ctx.league_id, season=ctx.season,
            type=kind, created_at=from_epoch_ms(topic.get("date")),
            team_ids=sorted({d["team_id"] for d in details if d["team_id"] is not None}) or None,
            adds=adds or None, drops=drops or None, creator_id=topic.get("author"), details=details,
        )


LEAGUE_VIEWS = ("mSettings", "mTeam", "mRoster", "mMatchupScore", "mDraftDetail")
#: views served for past seasons by leagueHistory
HISTORY_VIEWS = LEAGUE_VIEWS
FIRST_LIVE_SEASON = 2018


def league_url(league_id: str, season: int, view: str) -> str:
    if season < FIRST_LIVE_SEASON:
        return f"{API}/leagueHistory/{league_id}?seasonId={season}&view={view}"
    return f"{API}/seasons/{season}/segments/0/leagues/{league_id}?view={view}"


def activity_url(league_id: str, season: int) -> str:
    return f"{API}/seasons/{season}/segments/0/leagues/{league_id}/communication/?view=kona_league_communication"


class EspnLeagueSpider(PdeSpider):
    name = "espn_league"
    area = "fantasy"
    handle_httpstatus_list = [401, 404]
    custom_settings = {"CONCURRENT_REQUESTS_PER_DOMAIN": 2, "DOWNLOAD_DELAY": 1}

    args = (
        Arg("league_id", "your ESPN league id (for saved files: the league of responses that do not say it)",
            required=True, pattern=r"\d+", allowed="digits (the leagueId in the league's URL)", example="368876"),
        Arg("seasons", "seasons to read (for saved files: the season of responses that do not say it); "
            "default: the current NFL season", type=list, item=int, min=1990, allowed="a comma list of years"),
        Arg("views", "ESPN views to read; default mSettings, mTeam, mRoster, mMatchupScore, mDraftDetail, "
            "kona_player_info, communication", type=list),
        Arg("players_limit", "most-owned players to read from the player pool", type=int, default=300, min=1),
    )

    def after_load(self):
        """Once the rows are in: link the new players, and mark you in fantasy.me."""
        return [MATCH_PLAYERS, *claim_me("espn", os.environ.get("ESPN_SWID"), "ESPN_SWID")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seasons = self.seasons or []
        self.views = self.views or [*LEAGUE_VIEWS, "kona_player_info", "communication"]

    def live_requests(self):
        if not self.league_id:
            raise ValueError("espn_league needs -a league_id=<your ESPN league id> (or -a url=<saved response>)")
        cookies = {k: v for k, v in (("espn_s2", os.environ.get("ESPN_S2")),
                                     ("SWID", os.environ.get("ESPN_SWID"))) if v}
        for season in self.seasons or [current_season()]:
            meta = {"espn_ctx": Context(league_id=self.league_id, season=season)}
            for view in self.views:
                if season < FIRST_LIVE_SEASON and view not in HISTORY_VIEWS:
                    continue
                headers = {}
                if view == "communication":
                    url = activity_url(self.league_id, season)
                    headers["X-Fantasy-Filter"] = json.dumps(ACTIVITY_FILTER)
                else:
                    url = league_url(self.league_id, season, view)
                    if view == "kona_player_info":
                        headers["X-Fantasy-Filter"] = json.dumps(players_filter(self.players_limit))
                yield scrapy.Request(url, headers=headers, cookies=cookies, meta=meta, callback=self.parse)

    def parse(self, response):
        if response.status in (401, 404):
            raise ParseError(
                f"{response.url}: ESPN answered {response.status}. A private league needs the espn_s2 and SWID "
                "cookies of a logged-in browser in ESPN_S2 and ESPN_SWID; check -a league_id and -a seasons."
            )
        data = load_json(response.text, response.url, "an ESPN fantasy API response")
        ctx = response.meta.get("espn_ctx") or Context(
            league_id=self.league_id, season=self.seasons[0] if len(self.seasons) == 1 else None)
        try:
            yield from parse(data, ctx)
        except UnknownLayout as exc:
            raise ParseError(f"{response.url}: {exc}") from exc
