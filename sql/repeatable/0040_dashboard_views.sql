-- Views the Spending and Fantasy dashboards read.
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- Dropped first so a changed column list applies; views of later files that depend on these
-- are dropped with them (CASCADE) and re-created when pde migrate re-applies those files.
DROP VIEW IF EXISTS fantasy.draft_vs_adp, fantasy.roster_vs_free_agents, fantasy.standings, fantasy.team_weeks, fantasy.league_teams, finance.balance_history, finance.cashflow, finance.account_names CASCADE;

-- Views the Spending and Fantasy dashboards read (superset/assets/); fantasy.me,
-- the table you fill by hand so the dashboards know which teams are yours, is in
-- sql/0040_fantasy_me.sql. Plain SQL, so they are just as useful from psql or DBeaver.
--
-- Spending: finance.cashflow (one row per transaction with spending, income,
-- merchant and whether it needs a look), finance.balance_history (each
-- account's balance, day by day), finance.account_names (readable names).
-- Fantasy: fantasy.league_teams (league and team names, yours marked),
-- fantasy.standings, fantasy.team_weeks (weekly scores with running totals),
-- fantasy.roster_vs_free_agents, fantasy.draft_vs_adp.
--
-- No GRANTs here: pde_reader (Superset's login) reads new tables and views of
-- these schemas through the default privileges pde.services.superset sets.

-- == finance =====================================================================================
CREATE VIEW finance.account_names AS
WITH named AS (
    SELECT a.account_id,
           coalesce(nullif(btrim(a.name), ''), nullif(btrim(a.official_name), ''),
                    concat_ws(' ', coalesce(i.name, i.ofx_org, 'bank ' || a.bank_id, upper(a.source)), a.type,
                              '…' || coalesce(a.mask, right(a.number, 4)))) AS base,
           coalesce(i.name, i.ofx_org) AS institution,
           a.type,
           a.currency
      FROM finance.accounts a
      LEFT JOIN finance.institutions i USING (institution_id)
)
SELECT account_id,
       base || CASE WHEN count(*) OVER (PARTITION BY base, currency) > 1 THEN ' [' || account_id || ']' ELSE '' END
            || coalesce(' (' || currency || ')', '') AS account,
       institution,
       type,
       currency
  FROM named;
COMMENT ON VIEW finance.account_names IS 'A readable name for every account, for charts and tables: its own name (CSV account column, Plaid name), else institution, type and last four digits; with its currency.';
COMMENT ON COLUMN finance.account_names.account_id IS 'The account (finance.accounts).';
COMMENT ON COLUMN finance.account_names.account IS 'Readable name with the currency, unique: e.g. "Plaid Checking (USD)" or "fidelity.com investment …7890 (USD)" (the account id is added when two accounts would read the same).';
COMMENT ON COLUMN finance.account_names.institution IS 'The bank or broker''s name (finance.institutions.name, else its OFX ORG).';
COMMENT ON COLUMN finance.account_names.type IS 'checking, savings, credit card, investment, depository, credit... (finance.accounts.type).';
COMMENT ON COLUMN finance.account_names.currency IS 'ISO 4217 currency of the account.';

-- plpgsql, so the tables they read (sql/0060, sql/0070) are looked up when called, not when this file is applied
CREATE OR REPLACE FUNCTION finance.transfer_sides() RETURNS TABLE (account_id text, transaction_id text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT m.out_account_id, m.out_transaction_id FROM finance.transfer_matches m
                 UNION SELECT m.in_account_id, m.in_transaction_id FROM finance.transfer_matches m;
END $$;
COMMENT ON FUNCTION finance.transfer_sides() IS 'Both sides of every transfer between your own accounts that pde.finance.spending matched (finance.transfer_matches).';

CREATE OR REPLACE FUNCTION finance.home_currency() RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    code text;
BEGIN
    SELECT upper(btrim(s.value)) INTO code FROM platform.settings s WHERE s.key = 'home_currency';
    IF code IS NULL THEN  -- the currency you use most: most transactions in the year up to the latest one
        SELECT t.currency INTO code FROM finance.transactions t
         WHERE t.posted_date > (SELECT max(posted_date) FROM finance.transactions) - 365
         GROUP BY t.currency ORDER BY count(*) DESC, t.currency LIMIT 1;
    END IF;
    RETURN code;
END $$;
COMMENT ON FUNCTION finance.home_currency() IS 'Your home currency: platform.settings home_currency, else the currency with the most transactions in the last year of data.';

CREATE VIEW finance.cashflow AS
WITH t AS (
    SELECT t.*,
           lower(t.category) IN ('transfer', 'transfers')
               OR (t.account_id, t.transaction_id) IN (SELECT * FROM finance.transfer_sides()) AS transfer,
           nullif(btrim(regexp_replace(t.payee, '(\s+|[#*])\S*\d.*$', ''), ' -:#*,.;/'), '') AS payee_clean
      FROM finance.transactions_current t
)
SELECT t.account_id,
       coalesce(n.account, t.account_id) AS account,
       t.transaction_id,
       t.source,
       t.posted_date,
       to_char(t.posted_date, 'YYYY-MM') AS month,
       extract(year FROM t.posted_date)::integer AS year,
       t.amount,
       t.currency,
       t.currency = h.code AS is_home_currency,
       CASE WHEN t.amount < 0 AND NOT coalesce(t.transfer, false) THEN -t.amount ELSE 0 END AS spending,
       CASE WHEN t.amount > 0 AND NOT coalesce(t.transfer, false) THEN t.amount ELSE 0 END AS income,
       coalesce(t.transfer, false) AS is_transfer,
       coalesce(t.category, 'Uncategorized') AS category,
       t.category_origin,
       t.category_source,
       t.category_predicted AS model_guess,
       t.category_confidence,
       upper(coalesce(nullif(btrim(t.merchant_name), ''), t.payee_clean, nullif(btrim(t.payee), ''),
                      nullif(btrim(t.memo), ''), '(no payee)')) AS merchant,
       t.payee,
       t.memo,
       coalesce(t.pending, false) AS pending,
       t.category IS NULL AND NOT coalesce(t.transfer, false) AS needs_review,
       CASE WHEN t.category IS NOT NULL OR coalesce(t.transfer, false) THEN NULL
            WHEN t.category_predicted IS NOT NULL
            THEN 'unsure guess: ' || t.category_predicted || ' (' || round(100 * coalesce(t.category_confidence, 0)) || ' %)'
            ELSE 'no category' END AS review_reason
  FROM t
 CROSS JOIN (SELECT finance.home_currency() AS code) h  -- once per query, not per row
  LEFT JOIN finance.account_names n USING (account_id);
COMMENT ON VIEW finance.cashflow IS 'Every current transaction (finance.transactions_current) as the spending dashboard counts it: money out as spending, money in as income, transfers between your own accounts (category Transfer, or a pair matched by pde.finance.spending in finance.transfer_matches) as neither; the effective category (yours > rule > the institution''s > a model guess at least 60 % sure); a merchant name to group by; and whether the category needs a look. Amounts are in each account''s currency and are never converted or added across currencies: group or filter by currency (the dashboard opens on your home currency).';
COMMENT ON COLUMN finance.cashflow.account_id IS 'The account (finance.accounts).';
COMMENT ON COLUMN finance.cashflow.account IS 'Readable account name with its currency (finance.account_names).';
COMMENT ON COLUMN finance.cashflow.transaction_id IS 'The transaction (finance.transactions.transaction_id).';
COMMENT ON COLUMN finance.cashflow.source IS 'ofx, csv or plaid.';
COMMENT ON COLUMN finance.cashflow.posted_date IS 'The day the institution booked it.';
COMMENT ON COLUMN finance.cashflow.month IS 'Month of posted_date as YYYY-MM (monthly charts group by it).';
COMMENT ON COLUMN finance.cashflow.year IS 'Year of posted_date.';
COMMENT ON COLUMN finance.cashflow.amount IS 'Exact amount; negative = money out, positive = money in.';
COMMENT ON COLUMN finance.cashflow.currency IS 'ISO 4217 currency of amount, spending and income.';
COMMENT ON COLUMN finance.cashflow.spending IS 'Money out as a positive number (-amount for amount < 0); 0 for money in and for transfers.';
COMMENT ON COLUMN finance.cashflow.income IS 'Money in (amount for amount > 0); 0 for money out and for transfers.';
COMMENT ON COLUMN finance.cashflow.is_transfer IS 'True for money moved between your own accounts (a card payment, savings): the category is Transfer, or pde matched it with the other side (finance.transfer_matches). Counted as neither spending nor income.';
COMMENT ON COLUMN finance.cashflow.category IS 'The effective category (user > rule > model, see finance.transactions_current), or Uncategorized.';
COMMENT ON COLUMN finance.cashflow.category_origin IS 'Where category came from: user, rule, source (the institution''s category, mapped) or model (null = uncategorized).';
COMMENT ON COLUMN finance.cashflow.category_source IS 'The institution''s own category as it gave it (Plaid, the CSV''s Category column).';
COMMENT ON COLUMN finance.cashflow.model_guess IS 'The model''s guess, shown as the category only when at least 60 % sure; otherwise a hint in the review queue.';
COMMENT ON COLUMN finance.cashflow.is_home_currency IS 'True when currency is your home currency (finance.home_currency(): platform.settings home_currency, else the one you use most).';
COMMENT ON COLUMN finance.cashflow.category_confidence IS 'The model''s probability for model_guess (0-1).';
COMMENT ON COLUMN finance.cashflow.merchant IS 'Who got or sent the money, in capitals: Plaid''s merchant_name, else the payee cut before its first number (store numbers, dates, references), else the memo.';
COMMENT ON COLUMN finance.cashflow.payee IS 'Payee as the statement writes it.';
COMMENT ON COLUMN finance.cashflow.memo IS 'Extra description from the statement.';
COMMENT ON COLUMN finance.cashflow.pending IS 'True while not yet posted.';
COMMENT ON COLUMN finance.cashflow.needs_review IS 'True when the transaction (not a transfer) has no category: no rule, no institution category, and no model guess at least 60 % sure. Set category_user or add a rule to finance.category_rules.';
COMMENT ON COLUMN finance.cashflow.review_reason IS 'Why it needs a look: no category, or unsure guess: <category> (NN %); null when it does not.';

CREATE VIEW finance.balance_history AS
WITH readings AS (  -- one reported balance per account and day: ledger, else current, else cash
    SELECT DISTINCT ON (account_id, as_of) account_id, as_of AS day, amount, balance_type
      FROM finance.balances
     WHERE balance_type IN ('ledger', 'current', 'cash')
     ORDER BY account_id, as_of, CASE balance_type WHEN 'ledger' THEN 0 WHEN 'current' THEN 1 ELSE 2 END
), anchor AS (  -- the latest reading of each account: the other days are counted from it
    SELECT DISTINCT ON (account_id) account_id, day, amount, balance_type
      FROM readings ORDER BY account_id, day DESC
), days AS (  -- every day with a reading or posted transactions, with the day's net movement
    SELECT account_id, day, sum(net) AS net
      FROM (SELECT account_id, posted_date AS day, amount AS net  -- an investment account's cash also moves
              FROM finance.transactions_current        -- with its trades: only readings count there
             WHERE NOT coalesce(pending, false)
               AND account_id IN (SELECT account_id FROM anchor WHERE balance_type IN ('ledger', 'current'))
            UNION ALL
            SELECT account_id, day, 0 FROM readings) x
     GROUP BY account_id, day
), running AS (
    SELECT d.account_id, d.day, sum(d.net) OVER (PARTITION BY d.account_id ORDER BY d.day) AS moved
      FROM days d
), balances AS (
    SELECT r.account_id, r.day,
           coalesce(rd.amount, a.amount + r.moved - ra.moved) AS balance,
           CASE WHEN rd.amount IS NOT NULL THEN rd.balance_type ELSE 'computed' END AS how
      FROM running r
      JOIN anchor a USING (account_id)
      JOIN running ra ON ra.account_id = a.account_id AND ra.day = a.day
      LEFT JOIN readings rd ON rd.account_id = r.account_id AND rd.day = r.day
)
SELECT b.account_id,
       coalesce(n.account, b.account_id) AS account,
       n.type AS account_type,
       b.day,
       extract(year FROM b.day)::integer AS year,
       b.balance,
       n.currency,
       b.how,
       b.day = max(b.day) OVER (PARTITION BY b.account_id) AS is_latest
  FROM balances b
  LEFT JOIN finance.account_names n USING (account_id);
COMMENT ON VIEW finance.balance_history IS 'Each account''s end-of-day balance on every day it had a reported balance (finance.balances: ledger, else current, else an investment account''s cash) or posted transactions. Days without a reported balance are computed from the latest reported one and the transactions in between (not for investment accounts, whose cash also moves with trades). Accounts that never reported a balance are not here. Negative = owed (credit cards, loans).';
COMMENT ON COLUMN finance.balance_history.account_id IS 'The account (finance.accounts).';
COMMENT ON COLUMN finance.balance_history.account IS 'Readable account name with its currency (finance.account_names).';
COMMENT ON COLUMN finance.balance_history.account_type IS 'checking, savings, credit card, investment... (finance.accounts.type).';
COMMENT ON COLUMN finance.balance_history.day IS 'The day, in the institution''s own time zone.';
COMMENT ON COLUMN finance.balance_history.year IS 'Year of day.';
COMMENT ON COLUMN finance.balance_history.balance IS 'Balance at the end of the day; negative = owed.';
COMMENT ON COLUMN finance.balance_history.currency IS 'ISO 4217 currency of the account.';
COMMENT ON COLUMN finance.balance_history.how IS 'ledger, current or cash: reported by the institution that day; computed: the latest reported balance minus the transactions posted since that day (or plus those posted after it).';
COMMENT ON COLUMN finance.balance_history.is_latest IS 'True on the account''s latest day here (its balance now, as far as pde knows).';

CREATE VIEW fantasy.league_teams AS
WITH keys AS (
    SELECT source, league_id, season, team_id FROM fantasy.teams
    UNION SELECT source, league_id, season, team_id FROM fantasy.matchups
    UNION SELECT source, league_id, season, team_id FROM fantasy.rosters
    UNION SELECT source, league_id, season, team_id FROM fantasy.draft_picks WHERE team_id IS NOT NULL
)
SELECT k.source,
       k.league_id,
       coalesce(l.name, (SELECT o.name FROM fantasy.leagues o
                          WHERE o.source = k.source AND o.league_id = k.league_id AND o.name IS NOT NULL
                          ORDER BY o.season DESC LIMIT 1),
                initcap(k.source) || ' league ' || k.league_id) AS league,
       k.season,
       k.team_id,
       coalesce(t.name, 'Team ' || k.team_id) AS team,
       coalesce(t.owner_ids, jsonb_build_array(r.owner_id)) AS owner_ids,
       EXISTS (SELECT 1 FROM fantasy.me me
                WHERE me.source = k.source
                  AND (t.owner_ids ? me.member_id OR r.owner_id = me.member_id)) AS is_mine
  FROM keys k
  LEFT JOIN fantasy.leagues l USING (source, league_id, season)
  LEFT JOIN fantasy.teams t USING (source, league_id, season, team_id)
  LEFT JOIN fantasy.rosters r USING (source, league_id, season, team_id);
COMMENT ON VIEW fantasy.league_teams IS 'Every fantasy team pde knows of in a league season (from teams, matchups, rosters or draft picks) with readable league and team names, and whether it is yours (one of its owners is in fantasy.me).';
COMMENT ON COLUMN fantasy.league_teams.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.league_teams.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.league_teams.league IS 'League name (from another season of the same league when this one has none; else the platform and id).';
COMMENT ON COLUMN fantasy.league_teams.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.league_teams.team_id IS 'The team (fantasy.teams.team_id).';
COMMENT ON COLUMN fantasy.league_teams.team IS 'Team name that season, else Team <id>.';
COMMENT ON COLUMN fantasy.league_teams.owner_ids IS 'Member ids owning the team, JSON array (fantasy.teams.owner_ids, else the roster''s owner).';
COMMENT ON COLUMN fantasy.league_teams.is_mine IS 'True when one of the team''s owners is you (fantasy.me).';

CREATE VIEW fantasy.team_weeks AS
WITH w AS (
    SELECT m.*,
           coalesce(m.playoff_tier = 'NONE', m.week < l.playoff_week_start, true) AS regular
      FROM fantasy.matchups m
      LEFT JOIN fantasy.leagues l USING (source, league_id, season)
)
SELECT w.source,
       w.league_id,
       lt.league,
       w.season,
       w.week,
       w.team_id,
       lt.team,
       lt.is_mine,
       bool_or(lt.is_mine) OVER (PARTITION BY w.source, w.league_id, w.season) AS in_my_league,
       w.points,
       w.opponent_team_id,
       ot.team AS opponent,
       w.opponent_points,
       w.result,
       w.regular AS regular_season,
       w.playoff_tier,
       sum(w.points) FILTER (WHERE w.regular) OVER run AS points_for_to_date,
       sum(w.opponent_points) FILTER (WHERE w.regular) OVER run AS points_against_to_date,
       count(*) FILTER (WHERE w.regular AND w.result = 'W') OVER run AS wins_to_date,
       count(*) FILTER (WHERE w.regular AND w.result = 'L') OVER run AS losses_to_date,
       w.season = max(w.season) OVER () AS latest_season
  FROM w
  JOIN fantasy.league_teams lt USING (source, league_id, season, team_id)
  LEFT JOIN fantasy.league_teams ot
         ON ot.source = w.source AND ot.league_id = w.league_id AND ot.season = w.season
        AND ot.team_id = w.opponent_team_id
WINDOW run AS (PARTITION BY w.source, w.league_id, w.season, w.team_id ORDER BY w.week);
COMMENT ON VIEW fantasy.team_weeks IS 'Weekly scores (fantasy.matchups) with names, your team marked, and the regular season''s running totals (points for and against, wins, losses) week by week: the standings as they stood after each week.';
COMMENT ON COLUMN fantasy.team_weeks.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.team_weeks.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.team_weeks.league IS 'League name (fantasy.league_teams.league).';
COMMENT ON COLUMN fantasy.team_weeks.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.team_weeks.week IS 'Week (Sleeper) / matchup period (ESPN).';
COMMENT ON COLUMN fantasy.team_weeks.team_id IS 'The team (fantasy.teams.team_id).';
COMMENT ON COLUMN fantasy.team_weeks.team IS 'Team name.';
COMMENT ON COLUMN fantasy.team_weeks.is_mine IS 'True for your team (fantasy.me).';
COMMENT ON COLUMN fantasy.team_weeks.in_my_league IS 'True when you have a team in this league season.';
COMMENT ON COLUMN fantasy.team_weeks.points IS 'The team''s fantasy points that week.';
COMMENT ON COLUMN fantasy.team_weeks.opponent_team_id IS 'The opponent; null on a bye.';
COMMENT ON COLUMN fantasy.team_weeks.opponent IS 'The opponent''s team name.';
COMMENT ON COLUMN fantasy.team_weeks.opponent_points IS 'The opponent''s fantasy points that week.';
COMMENT ON COLUMN fantasy.team_weeks.result IS 'W, L or T; null while undecided.';
COMMENT ON COLUMN fantasy.team_weeks.regular_season IS 'True for regular-season weeks (ESPN playoff tier NONE; Sleeper weeks before the playoffs start).';
COMMENT ON COLUMN fantasy.team_weeks.playoff_tier IS 'ESPN playoffTierType: NONE (regular season), WINNERS_BRACKET, LOSERS_CONSOLATION_LADDER, ...';
COMMENT ON COLUMN fantasy.team_weeks.points_for_to_date IS 'Regular-season points scored up to and including this week.';
COMMENT ON COLUMN fantasy.team_weeks.points_against_to_date IS 'Regular-season points scored against the team up to and including this week.';
COMMENT ON COLUMN fantasy.team_weeks.wins_to_date IS 'Regular-season wins up to and including this week.';
COMMENT ON COLUMN fantasy.team_weeks.losses_to_date IS 'Regular-season losses up to and including this week.';
COMMENT ON COLUMN fantasy.team_weeks.latest_season IS 'True for the most recent season pde has scores for (the dashboard''s week-by-week charts show it).';

CREATE VIEW fantasy.standings AS
WITH played AS (  -- the record from the weekly scores, for seasons the platform gave no standings for
    SELECT source, league_id, season, team_id,
           count(*) FILTER (WHERE result = 'W') AS wins,
           count(*) FILTER (WHERE result = 'L') AS losses,
           count(*) FILTER (WHERE result = 'T') AS ties,
           sum(points) AS points_for,
           sum(opponent_points) AS points_against
      FROM fantasy.team_weeks WHERE regular_season AND result IS NOT NULL
     GROUP BY source, league_id, season, team_id
), s AS (
    SELECT lt.source, lt.league_id, lt.league, lt.season, lt.team_id, lt.team, lt.is_mine,
           coalesce(t.wins, p.wins)::integer AS wins,
           coalesce(t.losses, p.losses)::integer AS losses,
           coalesce(t.ties, p.ties, 0)::integer AS ties,
           coalesce(t.points_for, p.points_for) AS points_for,
           coalesce(t.points_against, p.points_against) AS points_against,
           t.playoff_seed,
           t.final_rank
      FROM fantasy.league_teams lt
      LEFT JOIN fantasy.teams t USING (source, league_id, season, team_id)
      LEFT JOIN played p USING (source, league_id, season, team_id)
)
SELECT s.source,
       s.league_id,
       s.league,
       s.season,
       rank() OVER (PARTITION BY s.source, s.league_id, s.season
                    ORDER BY s.wins + 0.5 * s.ties DESC NULLS LAST, s.points_for DESC NULLS LAST)::integer AS place,
       s.team_id,
       s.team,
       s.is_mine,
       CASE WHEN s.is_mine THEN '★' ELSE '' END AS yours,
       s.wins,
       s.losses,
       s.ties,
       s.wins + s.losses + s.ties AS games,
       round((s.wins + 0.5 * s.ties) / nullif(s.wins + s.losses + s.ties, 0), 3) AS win_pct,
       s.points_for,
       s.points_against,
       s.points_for - s.points_against AS point_diff,
       s.playoff_seed,
       s.final_rank,
       s.season = max(s.season) FILTER (WHERE s.wins + s.losses + s.ties > 0) OVER () AS latest_season
  FROM s;
COMMENT ON VIEW fantasy.standings IS 'League standings, one row per team and season: the platform''s record and points (fantasy.teams), else the record counted from the regular season''s weekly scores; place by wins (a tie counts half) then points for.';
COMMENT ON COLUMN fantasy.standings.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.standings.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.standings.league IS 'League name (fantasy.league_teams.league).';
COMMENT ON COLUMN fantasy.standings.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.standings.place IS 'Place in the league: most wins (ties count half), then most points for.';
COMMENT ON COLUMN fantasy.standings.team_id IS 'The team (fantasy.teams.team_id).';
COMMENT ON COLUMN fantasy.standings.team IS 'Team name.';
COMMENT ON COLUMN fantasy.standings.is_mine IS 'True for your team (fantasy.me).';
COMMENT ON COLUMN fantasy.standings.yours IS 'A star on your team, empty for the others (for tables).';
COMMENT ON COLUMN fantasy.standings.wins IS 'Regular-season wins.';
COMMENT ON COLUMN fantasy.standings.losses IS 'Regular-season losses.';
COMMENT ON COLUMN fantasy.standings.ties IS 'Regular-season ties.';
COMMENT ON COLUMN fantasy.standings.games IS 'Games played (wins + losses + ties).';
COMMENT ON COLUMN fantasy.standings.win_pct IS 'Share of games won, a tie counting half (0-1).';
COMMENT ON COLUMN fantasy.standings.points_for IS 'Fantasy points scored.';
COMMENT ON COLUMN fantasy.standings.points_against IS 'Fantasy points scored against the team.';
COMMENT ON COLUMN fantasy.standings.point_diff IS 'points_for - points_against.';
COMMENT ON COLUMN fantasy.standings.playoff_seed IS 'Playoff seed (ESPN).';
COMMENT ON COLUMN fantasy.standings.final_rank IS 'Final place after the playoffs (ESPN).';
COMMENT ON COLUMN fantasy.standings.latest_season IS 'True for the most recent season with games played (the dashboard''s season charts show it).';

CREATE VIEW fantasy.roster_vs_free_agents AS
WITH mine AS (  -- your teams and their leagues
    SELECT lt.source, lt.league_id, lt.league, lt.season, lt.team_id, lt.team, l.scoring_format
      FROM fantasy.league_teams lt
      LEFT JOIN fantasy.leagues l USING (source, league_id, season)
     WHERE lt.is_mine
), rostered AS (  -- every player on a team of those leagues
    SELECT r.source, r.league_id, r.season, r.team_id, p.player_id, r.lineup ->> p.player_id AS slot
      FROM fantasy.rosters r
     CROSS JOIN LATERAL jsonb_array_elements_text(r.player_ids) p(player_id)
     WHERE (r.source, r.league_id, r.season) IN (SELECT source, league_id, season FROM mine)
), projected AS (  -- season projections as each league's platform knows its players
    SELECT m.source, m.league_id, m.season, s.own_id AS source_player_id,
           -- same platform (ESPN scores it with the league's own settings), else FantasyPros through fantasy.player_ids
           (array_agg(CASE WHEN s.league_id = m.league_id THEN s.points_league END
                      ORDER BY s.source <> m.source, s.league_id IS DISTINCT FROM m.league_id))[1] AS league_points,
           (array_agg(CASE coalesce(m.scoring_format, 'ppr') WHEN 'std' THEN s.points_std WHEN 'half' THEN s.points_half
                           ELSE s.points_ppr END
                      ORDER BY s.source <> m.source))[1] AS format_points,
           (array_agg(s.player_name ORDER BY s.source <> m.source))[1] AS player_name,
           (array_agg(s.position ORDER BY s.source <> m.source))[1] AS position,
           (array_agg(s.team ORDER BY s.source <> m.source))[1] AS nfl_team,
           (array_agg(s.source ORDER BY s.source <> m.source))[1] AS projection_source
      FROM mine m
      JOIN (SELECT ps.*, ps.source_player_id AS own_id, ps.source AS own_source FROM fantasy.player_stats ps
             WHERE ps.kind = 'projection' AND ps.week = 0
            UNION ALL
            SELECT ps.*, o.source_player_id, o.source FROM fantasy.player_stats ps
              JOIN fantasy.player_ids f ON f.source = ps.source AND f.source_player_id = ps.source_player_id
              JOIN fantasy.player_ids o ON o.player_id = f.player_id AND o.source <> ps.source
             WHERE ps.kind = 'projection' AND ps.week = 0 AND ps.source = 'fantasypros'
           ) s ON s.season = m.season AND s.own_source = m.source
                  AND (s.source <> 'espn' OR s.league_id IS NULL OR s.league_id = m.league_id)
     GROUP BY m.source, m.league_id, m.season, s.own_id
), proj AS (
    SELECT source, league_id, season, source_player_id,
           coalesce(league_points, format_points) AS projected_points,
           player_name, position, nfl_team, projection_source
      FROM projected
), players AS (
    SELECT m.source, m.league_id, m.league, m.season, m.team AS my_team, r.player_id AS source_player_id,
           'your roster'::text AS status, r.slot
      FROM mine m JOIN rostered r USING (source, league_id, season, team_id)
    UNION ALL
    SELECT m.source, m.league_id, m.league, m.season, m.team, p.source_player_id, 'free agent', NULL
      FROM (SELECT DISTINCT source, league_id, league, season, team FROM mine) m
      JOIN proj p USING (source, league_id, season)
     WHERE NOT EXISTS (SELECT 1 FROM rostered r
                        WHERE (r.source, r.league_id, r.season, r.player_id)
                              = (p.source, p.league_id, p.season, p.source_player_id))
), listed AS (
    SELECT pl.*,
           coalesce(sp.full_name, pm.full_name, pr.player_name, '#' || pl.source_player_id) AS player,
           coalesce(sp.position, pm.position, pr.position) AS position,
           coalesce(sp.team, pm.team, pr.nfl_team) AS nfl_team,
           pr.projected_points,
           pr.projection_source,
           (SELECT max(rk.owned_pct) FROM fantasy.rankings rk
             WHERE rk.source = pl.source AND rk.season = pl.season
               AND rk.source_player_id = pl.source_player_id) AS owned_pct
      FROM players pl
      LEFT JOIN fantasy.source_players sp
             ON sp.source = pl.source AND sp.source_player_id = pl.source_player_id
      LEFT JOIN fantasy.player_ids pi  -- the player model: his name from any linked source
             ON pi.source = pl.source AND pi.source_player_id = pl.source_player_id
      LEFT JOIN fantasy.players pm ON pm.player_id = pi.player_id
      LEFT JOIN proj pr
             ON (pr.source, pr.league_id, pr.season, pr.source_player_id)
                = (pl.source, pl.league_id, pl.season, pl.source_player_id)
)
SELECT r.source,
       r.league_id,
       r.league,
       r.season,
       r.my_team,
       r.source_player_id,
       r.player,
       r.position,
       r.nfl_team,
       r.status,
       r.slot AS lineup_slot,
       r.projected_points,
       r.projection_source,
       r.owned_pct,
       CASE WHEN r.status = 'free agent' THEN
           rank() OVER (PARTITION BY r.source, r.league_id, r.season, r.status, r.position
                        ORDER BY r.projected_points DESC NULLS LAST)::integer END AS free_agent_rank,
       CASE WHEN r.status = 'your roster' THEN
           (SELECT count(*) FROM listed f
             WHERE f.status = 'free agent' AND (f.source, f.league_id, f.season) = (r.source, r.league_id, r.season)
               AND f.position IS NOT DISTINCT FROM r.position AND f.projected_points > r.projected_points)::integer
       END AS better_free_agents
  FROM listed r;
COMMENT ON VIEW fantasy.roster_vs_free_agents IS 'Your roster (fantasy.rosters of your teams, see fantasy.me) and the free agents of the same league (players with a season projection who are on no team''s roster there), with projected season points: the league platform''s projection (ESPN''s in the league''s own scoring), else FantasyPros'' linked through fantasy.player_ids in the league''s format.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.source IS 'Platform of the league: espn or sleeper.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.league IS 'League name (fantasy.league_teams.league).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.my_team IS 'Your team''s name in that league.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.source_player_id IS 'The platform''s player id (join fantasy.player_ids).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.player IS 'Player name: the platform''s player list, else the linked player (fantasy.players), else the projection''s; #id only when none knows him.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.position IS 'Position (QB, RB, WR, TE, K, DEF).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.nfl_team IS 'NFL team code.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.status IS 'your roster, or free agent (on no roster in the league).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.lineup_slot IS 'ESPN lineup slot of a player on your roster (QB, RB, FLEX, BE = bench, IR...).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.projected_points IS 'Projected fantasy points for the season; null when no source projects the player.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.projection_source IS 'Whose projection: espn, sleeper or fantasypros.';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.owned_pct IS 'Percent of the platform''s leagues that roster the player (ESPN percentOwned).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.free_agent_rank IS 'For a free agent: his place among the league''s free agents at his position by projection (1 = best).';
COMMENT ON COLUMN fantasy.roster_vs_free_agents.better_free_agents IS 'For a player on your roster: how many free agents at his position are projected to score more.';

CREATE VIEW fantasy.draft_vs_adp AS
WITH adp AS (  -- each drafted player's ADP that season: the league platform's, else FantasyPros'
    SELECT d.source, d.league_id, d.season, d.overall_pick,
           (SELECT avg(r.adp) FROM fantasy.rankings r
             WHERE r.source = d.source AND r.season = d.season AND r.source_player_id = d.source_player_id
               AND r.adp IS NOT NULL) AS own_adp,
           (SELECT r.adp FROM fantasy.player_ids o
              JOIN fantasy.player_ids f ON f.player_id = o.player_id AND f.source = 'fantasypros'
              JOIN fantasy.rankings r ON r.source = 'fantasypros' AND r.source_player_id = f.source_player_id
             WHERE o.source = d.source AND o.source_player_id = d.source_player_id
               AND r.season = d.season AND r.week = 0 AND r.ranking_type = 'draft' AND r.adp IS NOT NULL
             ORDER BY r.scoring = coalesce(l.scoring_format, 'ppr') DESC, r.position_group = 'ALL' DESC
             LIMIT 1) AS fantasypros_adp
      FROM fantasy.draft_picks d
      LEFT JOIN fantasy.leagues l USING (source, league_id, season)
)
SELECT d.source,
       d.league_id,
       lt.league,
       d.season,
       d.overall_pick,
       d.round,
       d.round_pick,
       d.team_id,
       coalesce(lt.team, 'Team ' || d.team_id) AS team,
       coalesce(lt.is_mine, false) AS is_mine,
       d.source_player_id,
       coalesce(d.player_name, sp.full_name, pm.full_name, '#' || d.source_player_id) AS player,
       coalesce(d.position, sp.position, pm.position) AS position,
       round(coalesce(a.own_adp, a.fantasypros_adp)::numeric, 1) AS adp,
       CASE WHEN a.own_adp IS NOT NULL THEN d.source
            WHEN a.fantasypros_adp IS NOT NULL THEN 'fantasypros' END AS adp_source,
       round((d.overall_pick - coalesce(a.own_adp, a.fantasypros_adp))::numeric, 1) AS picks_after_adp,
       d.season = max(d.season) OVER () AS latest_season
  FROM fantasy.draft_picks d
  JOIN adp a USING (source, league_id, season, overall_pick)
  LEFT JOIN fantasy.league_teams lt USING (source, league_id, season, team_id)
  LEFT JOIN fantasy.source_players sp
         ON sp.source = d.source AND sp.source_player_id = d.source_player_id
  LEFT JOIN fantasy.player_ids pi ON pi.source = d.source AND pi.source_player_id = d.source_player_id
  LEFT JOIN fantasy.players pm ON pm.player_id = pi.player_id;
COMMENT ON VIEW fantasy.draft_vs_adp IS 'Each draft pick against the player''s average draft position (ADP) that season: the league platform''s ADP (ESPN averageDraftPosition), else FantasyPros'' ADP rank linked through fantasy.player_ids. picks_after_adp > 0: the player went later than the market expected (a bargain); < 0: a reach.';
COMMENT ON COLUMN fantasy.draft_vs_adp.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.draft_vs_adp.league_id IS 'The league (fantasy.leagues).';
COMMENT ON COLUMN fantasy.draft_vs_adp.league IS 'League name (fantasy.league_teams.league).';
COMMENT ON COLUMN fantasy.draft_vs_adp.season IS 'NFL season.';
COMMENT ON COLUMN fantasy.draft_vs_adp.overall_pick IS 'Pick number over the whole draft, from 1.';
COMMENT ON COLUMN fantasy.draft_vs_adp.round IS 'Round.';
COMMENT ON COLUMN fantasy.draft_vs_adp.round_pick IS 'Pick number within the round.';
COMMENT ON COLUMN fantasy.draft_vs_adp.team_id IS 'The team that picked (fantasy.teams.team_id).';
COMMENT ON COLUMN fantasy.draft_vs_adp.team IS 'Name of the team that picked.';
COMMENT ON COLUMN fantasy.draft_vs_adp.is_mine IS 'True for your picks (fantasy.me).';
COMMENT ON COLUMN fantasy.draft_vs_adp.source_player_id IS 'The platform''s id of the player picked.';
COMMENT ON COLUMN fantasy.draft_vs_adp.player IS 'Player name (the draft''s, else the platform''s player list, else the linked player in fantasy.players, else #id).';
COMMENT ON COLUMN fantasy.draft_vs_adp.position IS 'Player position.';
COMMENT ON COLUMN fantasy.draft_vs_adp.adp IS 'Average draft position that season (1 = first); null when no source gives one.';
COMMENT ON COLUMN fantasy.draft_vs_adp.adp_source IS 'Whose ADP: espn, or fantasypros (its ADP rank).';
COMMENT ON COLUMN fantasy.draft_vs_adp.picks_after_adp IS 'overall_pick - adp: positive = taken later than ADP (value), negative = taken earlier (a reach).';
COMMENT ON COLUMN fantasy.draft_vs_adp.latest_season IS 'True for the most recent season with a draft (the dashboard''s per-team chart shows it).';
