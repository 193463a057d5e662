-- Fantasy sports: leagues (ESPN, Sleeper), NFL players and their stats (Pro-Football-Reference),
-- expert rankings (FantasyPros), and one registry of players across the four sources.
-- Spiders: espn_league, sleeper_league, pfr_stats, fantasypros_rankings (records in scrapers/fantasy/records.py).

CREATE SCHEMA fantasy;
COMMENT ON SCHEMA fantasy IS 'Fantasy football: your leagues on ESPN and Sleeper, NFL stats from Pro-Football-Reference, rankings and projections from FantasyPros, and fantasy.players linking one person''s ids across them.';

-- == players as each source knows them ==================================================
CREATE TABLE fantasy.source_players (
    source            text NOT NULL,
    source_player_id  text NOT NULL,
    full_name         text NOT NULL,
    name_key          text NOT NULL,
    first_name        text,
    last_name         text,
    position          text,
    fantasy_positions jsonb,
    team              text,
    birth_date        date,
    age               integer,
    years_exp         integer,
    college           text,
    height_in         integer,
    weight_lb         integer,
    jersey            text,
    status            text,
    injury_status     text,
    active            boolean,
    espn_id           text,
    yahoo_id          text,
    sportradar_id     text,
    gsis_id           text,
    sportsdata_id     text,
    cbs_id            text,
    mfl_id            text,
    other_ids         jsonb,
    url               text,
    PRIMARY KEY (source, source_player_id)
);
CREATE INDEX source_players_name_key ON fantasy.source_players (name_key, position);
COMMENT ON TABLE fantasy.source_players IS 'A player as one source knows him (Sleeper''s players database, ESPN''s player pool, PFR pages, FantasyPros lists). fantasy.match_players() links these to fantasy.players.';
COMMENT ON COLUMN fantasy.source_players.source IS 'Where the player comes from: espn, sleeper, pfr or fantasypros.';
COMMENT ON COLUMN fantasy.source_players.source_player_id IS 'The source''s own player id, as text: ESPN 3045147 (negative for team defenses, e.g. -16001), Sleeper 4981 (team code such as WAS for a defense), PFR BreeDr00, FantasyPros 16393.';
COMMENT ON COLUMN fantasy.source_players.full_name IS 'Name as the source spells it (PFR''s Pro Bowl/All-Pro marks * and + removed).';
COMMENT ON COLUMN fantasy.source_players.name_key IS 'Name normalised for matching across sources: lower-case ASCII, no punctuation, no Jr./Sr./II-V suffix ("Patrick Mahomes II" -> patrick mahomes).';
COMMENT ON COLUMN fantasy.source_players.first_name IS 'First name, when the source gives it separately.';
COMMENT ON COLUMN fantasy.source_players.last_name IS 'Last name, when the source gives it separately.';
COMMENT ON COLUMN fantasy.source_players.position IS 'Position: QB, RB, WR, TE, K, DEF (every team-defense spelling: D/ST, DST), or the source''s other codes (OT, OLB, P, ...).';
COMMENT ON COLUMN fantasy.source_players.fantasy_positions IS 'Positions the player may fill in fantasy lineups (Sleeper fantasy_positions, ESPN eligible slots, FantasyPros positions), JSON array.';
COMMENT ON COLUMN fantasy.source_players.team IS 'Current NFL team code (ARI ... WAS; relocated franchises under today''s code: OAK -> LV); null for free agents and where the page tells only a past season''s team (PFR season and roster pages).';
COMMENT ON COLUMN fantasy.source_players.birth_date IS 'Date of birth.';
COMMENT ON COLUMN fantasy.source_players.age IS 'Age in years as the source reported it when crawled.';
COMMENT ON COLUMN fantasy.source_players.years_exp IS 'Seasons of NFL experience (Sleeper years_exp).';
COMMENT ON COLUMN fantasy.source_players.college IS 'College.';
COMMENT ON COLUMN fantasy.source_players.height_in IS 'Height in inches.';
COMMENT ON COLUMN fantasy.source_players.weight_lb IS 'Weight in pounds.';
COMMENT ON COLUMN fantasy.source_players.jersey IS 'Jersey number.';
COMMENT ON COLUMN fantasy.source_players.status IS 'Roster status as the source says it (Sleeper: Active, Inactive, Injured Reserve, ...).';
COMMENT ON COLUMN fantasy.source_players.injury_status IS 'Injury designation (Questionable, Out, IR, PUP; ESPN ACTIVE/OUT/...).';
COMMENT ON COLUMN fantasy.source_players.active IS 'Whether the source lists the player as active.';
COMMENT ON COLUMN fantasy.source_players.espn_id IS 'ESPN''s id for the player, as another source gives it (Sleeper).';
COMMENT ON COLUMN fantasy.source_players.yahoo_id IS 'Yahoo''s id for the player (Sleeper, FantasyPros).';
COMMENT ON COLUMN fantasy.source_players.sportradar_id IS 'Sportradar''s id (Sleeper).';
COMMENT ON COLUMN fantasy.source_players.gsis_id IS 'The NFL''s GSIS id (Sleeper).';
COMMENT ON COLUMN fantasy.source_players.sportsdata_id IS 'FantasyPros'' sportsdata_id (a Sportradar-style UUID).';
COMMENT ON COLUMN fantasy.source_players.cbs_id IS 'CBS Sports'' id (FantasyPros).';
COMMENT ON COLUMN fantasy.source_players.mfl_id IS 'MyFantasyLeague''s id (FantasyPros projections).';
COMMENT ON COLUMN fantasy.source_players.other_ids IS 'Any further ids the source gives, JSON object (Sleeper: rotowire, rotoworld, fantasy_data, stats, swish, ...).';
COMMENT ON COLUMN fantasy.source_players.url IS 'The player''s page on the source site, when known.';
SELECT platform.track('fantasy.source_players', true);

-- == leagues ==================================================================================
CREATE TABLE fantasy.leagues (
    source             text NOT NULL,
    league_id          text NOT NULL,
    season             integer NOT NULL,
    name               text,
    status             text,
    size               integer,
    scoring_format     text,
    current_week       integer,
    playoff_week_start integer,
    playoff_teams      integer,
    previous_league_id text,
    previous_seasons   jsonb,
    draft_id           text,
    roster_positions   jsonb,
    settings           jsonb,
    scoring_settings   jsonb,
    PRIMARY KEY (source, league_id, season)
);
COMMENT ON TABLE fantasy.leagues IS 'A fantasy league in one season (ESPN keeps one league id across seasons; Sleeper gives every season a new league id, linked by previous_league_id).';
COMMENT ON COLUMN fantasy.leagues.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.leagues.league_id IS 'The platform''s league id (-a league_id= of the spider).';
COMMENT ON COLUMN fantasy.leagues.season IS 'NFL season (year the season starts in).';
COMMENT ON COLUMN fantasy.leagues.name IS 'League name.';
COMMENT ON COLUMN fantasy.leagues.status IS 'Sleeper: pre_draft, drafting, in_season, complete; ESPN: active or inactive.';
COMMENT ON COLUMN fantasy.leagues.size IS 'Number of teams.';
COMMENT ON COLUMN fantasy.leagues.scoring_format IS 'ppr, half or std from the points per reception; custom for any other value.';
COMMENT ON COLUMN fantasy.leagues.current_week IS 'The league''s current (or last scored) week / matchup period.';
COMMENT ON COLUMN fantasy.leagues.playoff_week_start IS 'First week of the fantasy playoffs.';
COMMENT ON COLUMN fantasy.leagues.playoff_teams IS 'Number of teams that make the playoffs.';
COMMENT ON COLUMN fantasy.leagues.previous_league_id IS 'Sleeper: the league id of the same league''s previous season.';
COMMENT ON COLUMN fantasy.leagues.previous_seasons IS 'ESPN: earlier seasons the league existed in, JSON array (crawl them with -a seasons=...).';
COMMENT ON COLUMN fantasy.leagues.draft_id IS 'Sleeper: the id of the league''s draft.';
COMMENT ON COLUMN fantasy.leagues.roster_positions IS 'Lineup slots in order, JSON array (QB, RB, RB, WR, ..., BN for bench).';
COMMENT ON COLUMN fantasy.leagues.settings IS 'The platform''s league settings as served (waivers, trades, draft, schedule), JSON.';
COMMENT ON COLUMN fantasy.leagues.scoring_settings IS 'Points per statistic as served (Sleeper {stat: points}; ESPN scoringItems), JSON.';
SELECT platform.track('fantasy.leagues', true);

CREATE TABLE fantasy.teams (
    source         text NOT NULL,
    league_id      text NOT NULL,
    season         integer NOT NULL,
    team_id        text NOT NULL,
    name           text,
    abbrev         text,
    owner_ids      jsonb,
    division_id    text,
    wins           integer,
    losses         integer,
    ties           integer,
    points_for     numeric,
    points_against numeric,
    playoff_seed   integer,
    final_rank     integer,
    waiver_position integer,
    faab_used      integer,
    logo_url       text,
    PRIMARY KEY (source, league_id, season, team_id)
);
COMMENT ON TABLE fantasy.teams IS 'A fantasy team in a league season with its record (history keeps the standings week by week).';
COMMENT ON COLUMN fantasy.teams.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.teams.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.teams.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.teams.team_id IS 'ESPN team id / Sleeper roster_id, as text.';
COMMENT ON COLUMN fantasy.teams.name IS 'Team name (ESPN location + nickname or name; Sleeper the owner''s team_name, else display name).';
COMMENT ON COLUMN fantasy.teams.abbrev IS 'ESPN team abbreviation.';
COMMENT ON COLUMN fantasy.teams.owner_ids IS 'Member ids (fantasy.members.member_id) owning the team, JSON array; the first is the primary owner.';
COMMENT ON COLUMN fantasy.teams.division_id IS 'Division the team plays in.';
COMMENT ON COLUMN fantasy.teams.wins IS 'Wins so far.';
COMMENT ON COLUMN fantasy.teams.losses IS 'Losses so far.';
COMMENT ON COLUMN fantasy.teams.ties IS 'Ties so far.';
COMMENT ON COLUMN fantasy.teams.points_for IS 'Fantasy points scored (Sleeper fpts + fpts_decimal/100).';
COMMENT ON COLUMN fantasy.teams.points_against IS 'Fantasy points scored against the team.';
COMMENT ON COLUMN fantasy.teams.playoff_seed IS 'Current playoff seed (ESPN).';
COMMENT ON COLUMN fantasy.teams.final_rank IS 'Final place in the league (ESPN, after the season).';
COMMENT ON COLUMN fantasy.teams.waiver_position IS 'Waiver priority.';
COMMENT ON COLUMN fantasy.teams.faab_used IS 'Free-agent budget (FAAB, league dollars) spent.';
COMMENT ON COLUMN fantasy.teams.logo_url IS 'Team logo image.';
SELECT platform.track('fantasy.teams', true);

CREATE TABLE fantasy.members (
    source          text NOT NULL,
    league_id       text NOT NULL,
    member_id       text NOT NULL,
    season          integer,
    display_name    text,
    first_name      text,
    last_name       text,
    team_name       text,
    is_commissioner boolean,
    avatar          text,
    PRIMARY KEY (source, league_id, member_id)
);
COMMENT ON TABLE fantasy.members IS 'People in a league: ESPN members and Sleeper users (a Sleeper league id is one season; an ESPN one spans seasons).';
COMMENT ON COLUMN fantasy.members.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.members.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.members.member_id IS 'ESPN member id ({GUID}) / Sleeper user_id.';
COMMENT ON COLUMN fantasy.members.season IS 'Latest season the member was seen in the league.';
COMMENT ON COLUMN fantasy.members.display_name IS 'User name on the platform.';
COMMENT ON COLUMN fantasy.members.first_name IS 'First name (ESPN).';
COMMENT ON COLUMN fantasy.members.last_name IS 'Last name (ESPN).';
COMMENT ON COLUMN fantasy.members.team_name IS 'Team name the user chose (Sleeper metadata.team_name).';
COMMENT ON COLUMN fantasy.members.is_commissioner IS 'League manager / commissioner (ESPN isLeagueManager, Sleeper is_owner).';
COMMENT ON COLUMN fantasy.members.avatar IS 'Sleeper avatar id.';
SELECT platform.track('fantasy.members');

CREATE TABLE fantasy.matchups (
    source           text NOT NULL,
    league_id        text NOT NULL,
    season           integer NOT NULL,
    week             integer NOT NULL,
    team_id          text NOT NULL,
    matchup_id       text,
    opponent_team_id text,
    points           numeric,
    opponent_points  numeric,
    is_home          boolean,
    result           text,
    playoff_tier     text,
    starters         jsonb,
    starters_points  jsonb,
    players          jsonb,
    players_points   jsonb,
    PRIMARY KEY (source, league_id, season, week, team_id)
);
COMMENT ON TABLE fantasy.matchups IS 'Weekly scores: one row per team per week (both sides of a game appear, each from its own point of view).';
COMMENT ON COLUMN fantasy.matchups.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.matchups.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.matchups.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.matchups.week IS 'Week (Sleeper) / matchup period (ESPN; equals the NFL week unless the league made playoff rounds span two weeks).';
COMMENT ON COLUMN fantasy.matchups.team_id IS 'The team (fantasy.teams.team_id).';
COMMENT ON COLUMN fantasy.matchups.matchup_id IS 'Id shared by the two sides of one game (ESPN schedule id; Sleeper matchup_id, unique within a week).';
COMMENT ON COLUMN fantasy.matchups.opponent_team_id IS 'The opponent; null on a bye.';
COMMENT ON COLUMN fantasy.matchups.points IS 'The team''s fantasy points that week.';
COMMENT ON COLUMN fantasy.matchups.opponent_points IS 'The opponent''s fantasy points.';
COMMENT ON COLUMN fantasy.matchups.is_home IS 'ESPN home side; null for Sleeper (no home team).';
COMMENT ON COLUMN fantasy.matchups.result IS 'W, L or T; null while undecided (and for Sleeper weeks not yet over).';
COMMENT ON COLUMN fantasy.matchups.playoff_tier IS 'ESPN playoffTierType: NONE (regular season), WINNERS_BRACKET, LOSERS_CONSOLATION_LADDER, ...';
COMMENT ON COLUMN fantasy.matchups.starters IS 'Sleeper: player ids in the starting lineup, in slot order (JSON array).';
COMMENT ON COLUMN fantasy.matchups.starters_points IS 'Sleeper: points of each starter, same order as starters.';
COMMENT ON COLUMN fantasy.matchups.players IS 'Sleeper: every player id on the roster that week.';
COMMENT ON COLUMN fantasy.matchups.players_points IS 'Sleeper: points per player id that week (JSON object).';
SELECT platform.track('fantasy.matchups', true);

CREATE TABLE fantasy.rosters (
    source       text NOT NULL,
    league_id    text NOT NULL,
    season       integer NOT NULL,
    team_id      text NOT NULL,
    week         integer,
    owner_id     text,
    co_owner_ids jsonb,
    player_ids   jsonb,
    starters     jsonb,
    reserve      jsonb,
    taxi         jsonb,
    lineup       jsonb,
    PRIMARY KEY (source, league_id, season, team_id)
);
COMMENT ON TABLE fantasy.rosters IS 'Each fantasy team''s current roster; fantasy.rosters_history keeps every earlier version (who was on the team when).';
COMMENT ON COLUMN fantasy.rosters.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.rosters.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.rosters.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.rosters.team_id IS 'The team (fantasy.teams.team_id).';
COMMENT ON COLUMN fantasy.rosters.week IS 'Scoring period the roster was read in (ESPN scoringPeriodId; Sleeper the NFL week when crawled).';
COMMENT ON COLUMN fantasy.rosters.owner_id IS 'Primary owner (fantasy.members.member_id).';
COMMENT ON COLUMN fantasy.rosters.co_owner_ids IS 'Sleeper co-owners, JSON array.';
COMMENT ON COLUMN fantasy.rosters.player_ids IS 'Every player id on the roster (the platform''s ids: join fantasy.player_ids), JSON array.';
COMMENT ON COLUMN fantasy.rosters.starters IS 'Player ids in the starting lineup.';
COMMENT ON COLUMN fantasy.rosters.reserve IS 'Player ids on injured reserve.';
COMMENT ON COLUMN fantasy.rosters.taxi IS 'Sleeper dynasty taxi squad.';
COMMENT ON COLUMN fantasy.rosters.lineup IS 'ESPN: player id -> lineup slot (QB, RB, FLEX, BE, IR, ...), JSON object.';
SELECT platform.track('fantasy.rosters', true);

CREATE TABLE fantasy.draft_picks (
    source           text NOT NULL,
    league_id        text NOT NULL,
    season           integer NOT NULL,
    overall_pick     integer NOT NULL,
    draft_id         text,
    round            integer,
    round_pick       integer,
    team_id          text,
    member_id        text,
    source_player_id text,
    player_name      text,
    position         text,
    nfl_team         text,
    is_keeper        boolean,
    bid_amount       integer,
    PRIMARY KEY (source, league_id, season, overall_pick)
);
COMMENT ON TABLE fantasy.draft_picks IS 'A league''s draft, pick by pick.';
COMMENT ON COLUMN fantasy.draft_picks.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.draft_picks.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.draft_picks.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.draft_picks.overall_pick IS 'Pick number over the whole draft, from 1.';
COMMENT ON COLUMN fantasy.draft_picks.draft_id IS 'Sleeper draft id.';
COMMENT ON COLUMN fantasy.draft_picks.round IS 'Round.';
COMMENT ON COLUMN fantasy.draft_picks.round_pick IS 'Pick number within the round.';
COMMENT ON COLUMN fantasy.draft_picks.team_id IS 'The team that picked (fantasy.teams.team_id).';
COMMENT ON COLUMN fantasy.draft_picks.member_id IS 'The member who made the pick.';
COMMENT ON COLUMN fantasy.draft_picks.source_player_id IS 'The platform''s id of the player picked (ESPN''s draft view names no player: join fantasy.source_players).';
COMMENT ON COLUMN fantasy.draft_picks.player_name IS 'Player name when the draft response gives it (Sleeper).';
COMMENT ON COLUMN fantasy.draft_picks.position IS 'Player position when given.';
COMMENT ON COLUMN fantasy.draft_picks.nfl_team IS 'Player''s NFL team at draft time, when given.';
COMMENT ON COLUMN fantasy.draft_picks.is_keeper IS 'The pick was a kept player.';
COMMENT ON COLUMN fantasy.draft_picks.bid_amount IS 'Auction drafts: price paid in league dollars (not real money).';
SELECT platform.track('fantasy.draft_picks');

CREATE TABLE fantasy.transactions (
    source            text NOT NULL,
    transaction_id    text NOT NULL,
    league_id         text,
    season            integer,
    week              integer,
    type              text,
    status            text,
    created_at        timestamptz,
    status_updated_at timestamptz,
    team_ids          jsonb,
    adds              jsonb,
    drops             jsonb,
    faab_bid          integer,
    creator_id        text,
    notes             text,
    draft_picks       jsonb,
    details           jsonb,
    PRIMARY KEY (source, transaction_id)
);
CREATE INDEX transactions_league ON fantasy.transactions (source, league_id, season);
COMMENT ON TABLE fantasy.transactions IS 'Adds, drops, waiver claims and trades.';
COMMENT ON COLUMN fantasy.transactions.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.transactions.transaction_id IS 'Sleeper transaction_id / ESPN activity topic id.';
COMMENT ON COLUMN fantasy.transactions.league_id IS 'The league (null when crawled from a saved file without -a league_id).';
COMMENT ON COLUMN fantasy.transactions.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.transactions.week IS 'Week the transaction belongs to (Sleeper leg).';
COMMENT ON COLUMN fantasy.transactions.type IS 'free_agent, waiver, trade, drop (ESPN drop-only), commissioner.';
COMMENT ON COLUMN fantasy.transactions.status IS 'Sleeper: complete or failed.';
COMMENT ON COLUMN fantasy.transactions.created_at IS 'When it was made.';
COMMENT ON COLUMN fantasy.transactions.status_updated_at IS 'When its status last changed (Sleeper: waiver processed).';
COMMENT ON COLUMN fantasy.transactions.team_ids IS 'Teams involved, JSON array.';
COMMENT ON COLUMN fantasy.transactions.adds IS 'Player id -> team id that received him, JSON object.';
COMMENT ON COLUMN fantasy.transactions.drops IS 'Player id -> team id that let him go, JSON object.';
COMMENT ON COLUMN fantasy.transactions.faab_bid IS 'Waiver bid in league dollars (Sleeper settings.waiver_bid).';
COMMENT ON COLUMN fantasy.transactions.creator_id IS 'Member who made it.';
COMMENT ON COLUMN fantasy.transactions.notes IS 'Sleeper''s note, e.g. why a waiver claim failed.';
COMMENT ON COLUMN fantasy.transactions.draft_picks IS 'Sleeper: draft picks traded, as served.';
COMMENT ON COLUMN fantasy.transactions.details IS 'ESPN: the activity messages ({message_type, action, player_id, team_id, from, for}); Sleeper: waiver_budget moves.';
SELECT platform.track('fantasy.transactions');

-- == stats, rankings, trends ===============================================================================
CREATE TABLE fantasy.player_stats (
    source           text NOT NULL,
    source_player_id text NOT NULL,
    season           integer NOT NULL,
    week             integer NOT NULL,
    kind             text NOT NULL,
    player_name      text,
    position         text,
    team             text,
    games            integer,
    games_started    integer,
    points_std       numeric,
    points_half      numeric,
    points_ppr       numeric,
    points_league    numeric,
    league_id        text,
    pass_cmp         double precision,
    pass_att         double precision,
    pass_yds         double precision,
    pass_td          double precision,
    pass_int         double precision,
    rush_att         double precision,
    rush_yds         double precision,
    rush_td          double precision,
    targets          double precision,
    rec              double precision,
    rec_yds          double precision,
    rec_td           double precision,
    fumbles_lost     double precision,
    stats            jsonb,
    PRIMARY KEY (source, source_player_id, season, week, kind)
);
CREATE INDEX player_stats_season_week ON fantasy.player_stats (season, week, kind);
COMMENT ON TABLE fantasy.player_stats IS 'Stat lines: a player''s season (week 0) or week, actual or projected, from ESPN, PFR or FantasyPros. History keeps earlier versions (how a projection moved).';
COMMENT ON COLUMN fantasy.player_stats.source IS 'espn, pfr or fantasypros.';
COMMENT ON COLUMN fantasy.player_stats.source_player_id IS 'The source''s player id (join fantasy.player_ids for fantasy.players.player_id).';
COMMENT ON COLUMN fantasy.player_stats.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.player_stats.week IS 'NFL week; 0 = the whole season.';
COMMENT ON COLUMN fantasy.player_stats.kind IS 'actual or projection; ESPN stat splits other than season/week are kept as actual_splitN / projection_splitN (meaning undocumented).';
COMMENT ON COLUMN fantasy.player_stats.player_name IS 'Name as the source spells it.';
COMMENT ON COLUMN fantasy.player_stats.position IS 'Position (QB, RB, WR, TE, K, DEF, ...).';
COMMENT ON COLUMN fantasy.player_stats.team IS 'NFL team for that season/week (PFR 2TM/3TM = a traded player''s combined season).';
COMMENT ON COLUMN fantasy.player_stats.games IS 'Games played.';
COMMENT ON COLUMN fantasy.player_stats.games_started IS 'Games started.';
COMMENT ON COLUMN fantasy.player_stats.points_std IS 'Fantasy points, standard scoring (PFR fantasy_points, FantasyPros points).';
COMMENT ON COLUMN fantasy.player_stats.points_half IS 'Fantasy points, half-point PPR.';
COMMENT ON COLUMN fantasy.player_stats.points_ppr IS 'Fantasy points, full PPR.';
COMMENT ON COLUMN fantasy.player_stats.points_league IS 'ESPN appliedTotal: points under the scoring of the league it was fetched through (league_id).';
COMMENT ON COLUMN fantasy.player_stats.league_id IS 'The league whose scoring points_league uses (ESPN).';
COMMENT ON COLUMN fantasy.player_stats.pass_cmp IS 'Passes completed (projections are fractional).';
COMMENT ON COLUMN fantasy.player_stats.pass_att IS 'Passes attempted.';
COMMENT ON COLUMN fantasy.player_stats.pass_yds IS 'Passing yards.';
COMMENT ON COLUMN fantasy.player_stats.pass_td IS 'Passing touchdowns.';
COMMENT ON COLUMN fantasy.player_stats.pass_int IS 'Interceptions thrown.';
COMMENT ON COLUMN fantasy.player_stats.rush_att IS 'Rushing attempts.';
COMMENT ON COLUMN fantasy.player_stats.rush_yds IS 'Rushing yards.';
COMMENT ON COLUMN fantasy.player_stats.rush_td IS 'Rushing touchdowns.';
COMMENT ON COLUMN fantasy.player_stats.targets IS 'Pass targets.';
COMMENT ON COLUMN fantasy.player_stats.rec IS 'Receptions.';
COMMENT ON COLUMN fantasy.player_stats.rec_yds IS 'Receiving yards.';
COMMENT ON COLUMN fantasy.player_stats.rec_td IS 'Receiving touchdowns.';
COMMENT ON COLUMN fantasy.player_stats.fumbles_lost IS 'Fumbles lost.';
COMMENT ON COLUMN fantasy.player_stats.stats IS 'Every stat the source gave, under its own names (ESPN numeric stat ids; PFR data-stat names, 2024-25 renames mapped to the older ones; FantasyPros stat names), JSON object.';
SELECT platform.track('fantasy.player_stats', true);

CREATE TABLE fantasy.rankings (
    source           text NOT NULL,
    season           integer NOT NULL,
    week             integer NOT NULL,
    ranking_type     text NOT NULL,
    scoring          text NOT NULL,
    position_group   text NOT NULL,
    source_player_id text NOT NULL,
    player_name      text,
    position         text,
    team             text,
    rank             integer,
    pos_rank         integer,
    tier             integer,
    rank_min         integer,
    rank_max         integer,
    rank_avg         double precision,
    rank_std         double precision,
    adp              double precision,
    auction_value    numeric,
    owned_pct        double precision,
    started_pct      double precision,
    bye_week         integer,
    expert_count     integer,
    published_at     timestamptz,
    PRIMARY KEY (source, season, week, ranking_type, scoring, position_group, source_player_id)
);
CREATE INDEX rankings_list ON fantasy.rankings (season, week, ranking_type, scoring, position_group, rank);
COMMENT ON TABLE fantasy.rankings IS 'Player rankings: FantasyPros expert consensus (ECR) and ADP, ESPN draft ranks and ADP. History keeps how a rank moved.';
COMMENT ON COLUMN fantasy.rankings.source IS 'fantasypros or espn.';
COMMENT ON COLUMN fantasy.rankings.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.rankings.week IS 'Week of a weekly ranking; 0 for draft, rest-of-season and dynasty rankings.';
COMMENT ON COLUMN fantasy.rankings.ranking_type IS 'draft, weekly, ros (rest of season), dynasty, or adp (ESPN ownership without a draft rank).';
COMMENT ON COLUMN fantasy.rankings.scoring IS 'std, half or ppr; none when the ranking has no scoring format (dynasty, ESPN ADP).';
COMMENT ON COLUMN fantasy.rankings.position_group IS 'The list the rank is in: ALL (overall), a position (RB, WR, ...), FLX (flex), OP (superflex).';
COMMENT ON COLUMN fantasy.rankings.source_player_id IS 'The source''s player id (join fantasy.player_ids).';
COMMENT ON COLUMN fantasy.rankings.player_name IS 'Name as the source spells it.';
COMMENT ON COLUMN fantasy.rankings.position IS 'Player position.';
COMMENT ON COLUMN fantasy.rankings.team IS 'NFL team when ranked.';
COMMENT ON COLUMN fantasy.rankings.rank IS 'Rank in the list (FantasyPros rank_ecr; ESPN draft rank).';
COMMENT ON COLUMN fantasy.rankings.pos_rank IS 'Rank among the same position (FantasyPros pos_rank RB9 -> 9).';
COMMENT ON COLUMN fantasy.rankings.tier IS 'FantasyPros tier.';
COMMENT ON COLUMN fantasy.rankings.rank_min IS 'Best rank any expert gave.';
COMMENT ON COLUMN fantasy.rankings.rank_max IS 'Worst rank any expert gave.';
COMMENT ON COLUMN fantasy.rankings.rank_avg IS 'Average expert rank.';
COMMENT ON COLUMN fantasy.rankings.rank_std IS 'Standard deviation of expert ranks.';
COMMENT ON COLUMN fantasy.rankings.adp IS 'Average draft position (ESPN averageDraftPosition; FantasyPros rank_adp, the player''s place by ADP).';
COMMENT ON COLUMN fantasy.rankings.auction_value IS 'ESPN auction value in league dollars (not real money).';
COMMENT ON COLUMN fantasy.rankings.owned_pct IS 'Percent of leagues the player is rostered in (ESPN percentOwned; FantasyPros player_owned_avg).';
COMMENT ON COLUMN fantasy.rankings.started_pct IS 'Percent of leagues the player is started in (ESPN).';
COMMENT ON COLUMN fantasy.rankings.bye_week IS 'NFL bye week.';
COMMENT ON COLUMN fantasy.rankings.expert_count IS 'Number of experts in the consensus.';
COMMENT ON COLUMN fantasy.rankings.published_at IS 'When the source last updated the ranking (FantasyPros last_updated_ts).';
SELECT platform.track('fantasy.rankings', true);

CREATE TABLE fantasy.trending (
    source           text NOT NULL,
    source_player_id text NOT NULL,
    direction        text NOT NULL,
    observed_on      date NOT NULL,
    count            integer,
    rank             integer,
    lookback_hours   integer,
    observed_at      timestamptz,
    PRIMARY KEY (source, source_player_id, direction, observed_on)
);
COMMENT ON TABLE fantasy.trending IS 'Sleeper''s trending players: how many leagues added or dropped a player in the lookback window, one row per day observed.';
COMMENT ON COLUMN fantasy.trending.source IS 'sleeper.';
COMMENT ON COLUMN fantasy.trending.source_player_id IS 'Sleeper player id (join fantasy.player_ids).';
COMMENT ON COLUMN fantasy.trending.direction IS 'add or drop.';
COMMENT ON COLUMN fantasy.trending.observed_on IS 'Day (UTC) the list was read; a re-run the same day replaces it.';
COMMENT ON COLUMN fantasy.trending.count IS 'Number of adds (or drops) in the window.';
COMMENT ON COLUMN fantasy.trending.rank IS 'Place in the list, 1 = most.';
COMMENT ON COLUMN fantasy.trending.lookback_hours IS 'Window the count covers, in hours.';
COMMENT ON COLUMN fantasy.trending.observed_at IS 'When the list was read (the response''s Date header, else the crawl time).';
SELECT platform.track('fantasy.trending');

-- == the NFL: team seasons and rosters (Pro-Football-Reference) ===============================================
CREATE TABLE fantasy.nfl_team_seasons (
    source         text NOT NULL,
    season         integer NOT NULL,
    team           text NOT NULL,
    team_name      text,
    games          integer,
    wins           integer,
    losses         integer,
    ties           integer,
    points         integer,
    points_against integer,
    total_yards    integer,
    plays          integer,
    turnovers      integer,
    pass_yds       integer,
    rush_yds       integer,
    stats          jsonb,
    PRIMARY KEY (source, season, team)
);
COMMENT ON TABLE fantasy.nfl_team_seasons IS 'An NFL team''s season: standings and offense (PFR /years/<season>/ page).';
COMMENT ON COLUMN fantasy.nfl_team_seasons.source IS 'pfr.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.team IS 'Team code under today''s franchise abbreviation (2017 Oakland Raiders -> LV).';
COMMENT ON COLUMN fantasy.nfl_team_seasons.team_name IS 'Team name that season (Oakland Raiders).';
COMMENT ON COLUMN fantasy.nfl_team_seasons.games IS 'Games played.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.wins IS 'Regular-season wins.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.losses IS 'Regular-season losses.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.ties IS 'Regular-season ties.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.points IS 'Points scored.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.points_against IS 'Points allowed.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.total_yards IS 'Offensive yards.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.plays IS 'Offensive plays.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.turnovers IS 'Giveaways.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.pass_yds IS 'Net passing yards.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.rush_yds IS 'Rushing yards.';
COMMENT ON COLUMN fantasy.nfl_team_seasons.stats IS 'Every column of every team table on the page, by table id (standings, team_stats, passing, rushing, kicking, drives, ...), JSON object.';
SELECT platform.track('fantasy.nfl_team_seasons', true);

CREATE TABLE fantasy.nfl_rosters (
    source            text NOT NULL,
    season            integer NOT NULL,
    team              text NOT NULL,
    source_player_id  text NOT NULL,
    player_name       text,
    position          text,
    jersey            text,
    age               integer,
    games             integer,
    games_started     integer,
    experience        integer,
    approximate_value integer,
    draft_info        text,
    PRIMARY KEY (source, season, team, source_player_id)
);
COMMENT ON TABLE fantasy.nfl_rosters IS 'Who played for an NFL team in a season (PFR /teams/<team>/<season>_roster.htm).';
COMMENT ON COLUMN fantasy.nfl_rosters.source IS 'pfr.';
COMMENT ON COLUMN fantasy.nfl_rosters.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.nfl_rosters.team IS 'Team code (today''s franchise abbreviation).';
COMMENT ON COLUMN fantasy.nfl_rosters.source_player_id IS 'PFR player id (join fantasy.player_ids).';
COMMENT ON COLUMN fantasy.nfl_rosters.player_name IS 'Player name.';
COMMENT ON COLUMN fantasy.nfl_rosters.position IS 'Position that season (QB, OLB, P, ...).';
COMMENT ON COLUMN fantasy.nfl_rosters.jersey IS 'Uniform number.';
COMMENT ON COLUMN fantasy.nfl_rosters.age IS 'Age that season.';
COMMENT ON COLUMN fantasy.nfl_rosters.games IS 'Games played.';
COMMENT ON COLUMN fantasy.nfl_rosters.games_started IS 'Games started.';
COMMENT ON COLUMN fantasy.nfl_rosters.experience IS 'Seasons of NFL experience before this one (0 = rookie).';
COMMENT ON COLUMN fantasy.nfl_rosters.approximate_value IS 'PFR Approximate Value (AV) for the season.';
COMMENT ON COLUMN fantasy.nfl_rosters.draft_info IS 'Draft team / round / pick / year as PFR writes it.';
SELECT platform.track('fantasy.nfl_rosters');

-- == one person, every source's id ==============================================================================
CREATE TABLE fantasy.players (
    player_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    full_name      text NOT NULL,
    name_key       text NOT NULL,
    position       text,
    team           text,
    birth_date     date,
    sleeper_id     text UNIQUE,
    espn_id        text UNIQUE,
    pfr_id         text UNIQUE,
    fantasypros_id text UNIQUE,
    yahoo_id       text,
    sportradar_id  text,
    gsis_id        text,
    matched_by     jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX players_name_key ON fantasy.players (name_key, position);
COMMENT ON TABLE fantasy.players IS 'One row per person with each source''s id. Filled by fantasy.match_players(): Sleeper''s players database is the backbone (it carries ESPN and Yahoo ids); the rest are linked by those ids, then by normalised name + position (+ team). Anything not linked surely is listed in fantasy.unmatched_players; link it by setting the id column here by hand.';
COMMENT ON COLUMN fantasy.players.player_id IS 'pde''s own player id.';
COMMENT ON COLUMN fantasy.players.full_name IS 'Name (from Sleeper when linked there, else the source that created the row).';
COMMENT ON COLUMN fantasy.players.name_key IS 'Normalised name used for matching (see fantasy.source_players.name_key).';
COMMENT ON COLUMN fantasy.players.position IS 'Position.';
COMMENT ON COLUMN fantasy.players.team IS 'Current NFL team code.';
COMMENT ON COLUMN fantasy.players.birth_date IS 'Date of birth.';
COMMENT ON COLUMN fantasy.players.sleeper_id IS 'Sleeper player id.';
COMMENT ON COLUMN fantasy.players.espn_id IS 'ESPN player id.';
COMMENT ON COLUMN fantasy.players.pfr_id IS 'Pro-Football-Reference player id (BreeDr00).';
COMMENT ON COLUMN fantasy.players.fantasypros_id IS 'FantasyPros player id.';
COMMENT ON COLUMN fantasy.players.yahoo_id IS 'Yahoo player id (from Sleeper or FantasyPros).';
COMMENT ON COLUMN fantasy.players.sportradar_id IS 'Sportradar id (from Sleeper).';
COMMENT ON COLUMN fantasy.players.gsis_id IS 'NFL GSIS id (from Sleeper).';
COMMENT ON COLUMN fantasy.players.matched_by IS 'How each source id was linked, JSON {source: method}: source (created from it), sleeper_espn_id, yahoo_id, sportradar_id, name_position_team, name_position, team_defense, manual (set by hand).';
COMMENT ON COLUMN fantasy.players.created_at IS 'When the row was created.';
COMMENT ON COLUMN fantasy.players.updated_at IS 'When the row last changed.';
