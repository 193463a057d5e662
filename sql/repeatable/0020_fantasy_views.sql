-- Views and functions of the fantasy schema (player matching).
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- Dropped first so a changed column list applies; views of later files that depend on these
-- are dropped with them (CASCADE) and re-created when pde migrate re-applies those files.
DROP VIEW IF EXISTS fantasy.unlinked_across_sources, fantasy.unmatched_players, fantasy.source_player_teams, fantasy.player_ids CASCADE;

CREATE VIEW fantasy.player_ids AS
    SELECT 'sleeper'::text AS source, sleeper_id AS source_player_id, player_id FROM fantasy.players WHERE sleeper_id IS NOT NULL
    UNION ALL SELECT 'espn', espn_id, player_id FROM fantasy.players WHERE espn_id IS NOT NULL
    UNION ALL SELECT 'pfr', pfr_id, player_id FROM fantasy.players WHERE pfr_id IS NOT NULL
    UNION ALL SELECT 'fantasypros', fantasypros_id, player_id FROM fantasy.players WHERE fantasypros_id IS NOT NULL;
COMMENT ON VIEW fantasy.player_ids IS 'Every linked (source, source_player_id) with its fantasy.players.player_id: join any fantasy table on (source, source_player_id) to compare sources.';
COMMENT ON COLUMN fantasy.player_ids.source IS 'sleeper, espn, pfr or fantasypros.';
COMMENT ON COLUMN fantasy.player_ids.source_player_id IS 'The source''s player id.';
COMMENT ON COLUMN fantasy.player_ids.player_id IS 'pde''s player id (fantasy.players).';

-- a source player's team for matching: the current team if known, else the latest season's
CREATE VIEW fantasy.source_player_teams AS
    SELECT sp.source, sp.source_player_id,
           coalesce(sp.team, (
               SELECT s.team FROM fantasy.player_stats s
                WHERE s.source = sp.source AND s.source_player_id = sp.source_player_id
                  AND s.team IS NOT NULL AND s.team !~ '^[0-9]TM$'
                ORDER BY s.season DESC, s.week DESC LIMIT 1), (
               SELECT r.team FROM fantasy.nfl_rosters r
                WHERE r.source = sp.source AND r.source_player_id = sp.source_player_id
                ORDER BY r.season DESC LIMIT 1)) AS team
      FROM fantasy.source_players sp;
COMMENT ON VIEW fantasy.source_player_teams IS 'Team used to match a source player: source_players.team, else the team of his latest stat line or NFL roster (PFR pages tell past seasons'' teams only).';
COMMENT ON COLUMN fantasy.source_player_teams.source IS 'The source.';
COMMENT ON COLUMN fantasy.source_player_teams.source_player_id IS 'The source''s player id.';
COMMENT ON COLUMN fantasy.source_player_teams.team IS 'Current or latest known NFL team code.';

CREATE OR REPLACE FUNCTION fantasy.match_players(create_missing boolean DEFAULT false)
RETURNS TABLE (action text, source text, players bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    src text;
    n bigint;
    pass int;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS _match_log (action text, source text, players bigint) ON COMMIT DROP;
    TRUNCATE _match_log;

    -- 1. Sleeper is the backbone: refresh linked rows, attach new Sleeper players to rows another
    --    source created (same ESPN/Yahoo id, or same name + position + birth date), insert the rest.
    UPDATE fantasy.players p
       SET full_name = sp.full_name, name_key = sp.name_key, position = coalesce(sp.position, p.position),
           team = sp.team, birth_date = coalesce(sp.birth_date, p.birth_date),
           yahoo_id = coalesce(sp.yahoo_id, p.yahoo_id), sportradar_id = coalesce(sp.sportradar_id, p.sportradar_id),
           gsis_id = coalesce(sp.gsis_id, p.gsis_id), updated_at = now()
      FROM fantasy.source_players sp
     WHERE sp.source = 'sleeper' AND p.sleeper_id = sp.source_player_id
       AND (p.full_name, p.name_key, p.position, p.team, p.birth_date, p.yahoo_id, p.sportradar_id, p.gsis_id)
           IS DISTINCT FROM (sp.full_name, sp.name_key, coalesce(sp.position, p.position), sp.team,
                             coalesce(sp.birth_date, p.birth_date), coalesce(sp.yahoo_id, p.yahoo_id),
                             coalesce(sp.sportradar_id, p.sportradar_id), coalesce(sp.gsis_id, p.gsis_id));

    WITH cand AS (
        SELECT sp.source_player_id, p.player_id,
               count(*) OVER (PARTITION BY sp.source_player_id) AS per_sleeper,
               count(*) OVER (PARTITION BY p.player_id) AS per_player
          FROM fantasy.source_players sp
          JOIN fantasy.players p ON p.sleeper_id IS NULL AND (
                   p.espn_id = sp.espn_id OR p.yahoo_id = sp.yahoo_id OR p.sportradar_id = sp.sportradar_id
                OR (p.name_key = sp.name_key AND p.position = sp.position AND p.birth_date = sp.birth_date)
                -- a row another source made without a birth date: same name, position and team
                OR (p.name_key = sp.name_key AND p.position = sp.position AND p.position <> 'DEF'
                    AND (p.birth_date IS NULL OR sp.birth_date IS NULL) AND p.team = sp.team)
                OR (p.position = 'DEF' AND sp.position = 'DEF' AND p.team = sp.team))
         WHERE sp.source = 'sleeper'
           AND NOT EXISTS (SELECT 1 FROM fantasy.players q WHERE q.sleeper_id = sp.source_player_id))
    UPDATE fantasy.players p
       SET sleeper_id = c.source_player_id, matched_by = p.matched_by || '{"sleeper": "attached"}', updated_at = now()
      FROM cand c WHERE c.player_id = p.player_id AND c.per_sleeper = 1 AND c.per_player = 1;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO _match_log VALUES ('linked', 'sleeper', n);

    WITH fresh AS (
        SELECT sp.*, row_number() OVER (PARTITION BY sp.espn_id ORDER BY sp.source_player_id) AS espn_rank
          FROM fantasy.source_players sp
         WHERE sp.source = 'sleeper'
           AND NOT EXISTS (SELECT 1 FROM fantasy.players q WHERE q.sleeper_id = sp.source_player_id)),
    espn AS (  -- an ESPN id goes to one Sleeper player only, and never to a second row
        SELECT f.*, CASE WHEN f.espn_rank = 1 AND NOT EXISTS (
                        SELECT 1 FROM fantasy.players q WHERE q.espn_id = f.espn_id)
                    THEN f.espn_id END AS free_espn_id
          FROM fresh f)
    INSERT INTO fantasy.players (full_name, name_key, position, team, birth_date, sleeper_id, espn_id,
                                 yahoo_id, sportradar_id, gsis_id, matched_by)
    SELECT e.full_name, e.name_key, e.position, e.team, e.birth_date, e.source_player_id, e.free_espn_id,
           e.yahoo_id, e.sportradar_id, e.gsis_id,
           CASE WHEN e.free_espn_id IS NOT NULL THEN '{"sleeper": "source", "espn": "sleeper_espn_id"}'
                ELSE '{"sleeper": "source"}' END::jsonb
      FROM espn e;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO _match_log VALUES ('created', 'sleeper', n);

    -- ESPN ids Sleeper learned after the row was made
    UPDATE fantasy.players p
       SET espn_id = sp.espn_id, matched_by = p.matched_by || '{"espn": "sleeper_espn_id"}', updated_at = now()
      FROM fantasy.source_players sp
     WHERE sp.source = 'sleeper' AND p.sleeper_id = sp.source_player_id AND p.espn_id IS NULL
       AND sp.espn_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fantasy.players q WHERE q.espn_id = sp.espn_id);

    -- 2. Shared ids: FantasyPros gives Yahoo (and Sportradar-style) ids that Sleeper also has.
    WITH cand AS (
        SELECT sp.source_player_id, p.player_id,
               CASE WHEN p.yahoo_id = sp.yahoo_id THEN 'yahoo_id' ELSE 'sportradar_id' END AS method,
               count(*) OVER (PARTITION BY sp.source_player_id) AS per_source,
               count(*) OVER (PARTITION BY p.player_id) AS per_player
          FROM fantasy.source_players sp
          JOIN fantasy.players p ON p.fantasypros_id IS NULL
               AND (p.yahoo_id = sp.yahoo_id OR p.sportradar_id = sp.sportsdata_id)
         WHERE sp.source = 'fantasypros'
           AND NOT EXISTS (SELECT 1 FROM fantasy.players q WHERE q.fantasypros_id = sp.source_player_id))
    UPDATE fantasy.players p
       SET fantasypros_id = c.source_player_id, matched_by = p.matched_by || jsonb_build_object('fantasypros', c.method),
           yahoo_id = coalesce(p.yahoo_id, (SELECT s.yahoo_id FROM fantasy.source_players s
                                             WHERE s.source = 'fantasypros' AND s.source_player_id = c.source_player_id)),
           updated_at = now()
      FROM cand c WHERE c.player_id = p.player_id AND c.per_source = 1 AND c.per_player = 1;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO _match_log VALUES ('linked', 'fantasypros', n);

    -- 3. Names: the same normalised name and position, and only one such player on either side.
    --    The same team decides between namesakes; a team defense is matched on its team alone.
    FOR pass IN 1..2 LOOP
        FOREACH src IN ARRAY ARRAY['espn', 'fantasypros', 'pfr'] LOOP
            WITH unlinked AS (
                SELECT sp.source_player_id, sp.name_key, sp.position, t.team, sp.birth_date,
                       count(*) OVER (PARTITION BY sp.name_key, sp.position) AS namesakes
                  FROM fantasy.source_players sp
                  JOIN fantasy.source_player_teams t USING (source, source_player_id)
                 WHERE sp.source = src
                   AND NOT EXISTS (SELECT 1 FROM fantasy.player_ids i
                                    WHERE i.source = src AND i.source_player_id = sp.source_player_id)),
            cand AS (
                SELECT u.source_player_id, p.player_id,
                       CASE WHEN u.position = 'DEF' THEN 'team_defense'
                            WHEN u.team = p.team THEN 'name_position_team' ELSE 'name_position' END AS method,
                       u.team = p.team AS same_team, u.namesakes
                  FROM unlinked u
                  JOIN fantasy.players p
                    ON CASE WHEN u.position = 'DEF' THEN p.position = 'DEF' AND p.team = u.team
                            ELSE p.name_key = u.name_key AND p.position = u.position
                                 AND (u.birth_date IS NULL OR p.birth_date IS NULL OR u.birth_date = p.birth_date) END
                 WHERE CASE src WHEN 'espn' THEN p.espn_id WHEN 'pfr' THEN p.pfr_id ELSE p.fantasypros_id END IS NULL),
            ranked AS (  -- keep the same-team candidates when there are any
                SELECT c.*, bool_or(same_team) OVER (PARTITION BY source_player_id) AS any_same
                  FROM cand c),
            kept AS (
                SELECT r.*, count(*) OVER (PARTITION BY source_player_id) AS per_source
                  FROM ranked r WHERE NOT any_same OR same_team),
            sure AS (  -- one candidate for the source player, and no other source player wants it
                SELECT k.*, count(*) OVER (PARTITION BY player_id) AS per_player
                  FROM kept k WHERE k.per_source = 1 AND (k.namesakes = 1 OR k.method <> 'name_position'))
            UPDATE fantasy.players p
               SET espn_id = CASE WHEN src = 'espn' THEN k.source_player_id ELSE p.espn_id END,
                   pfr_id = CASE WHEN src = 'pfr' THEN k.source_player_id ELSE p.pfr_id END,
                   fantasypros_id = CASE WHEN src = 'fantasypros' THEN k.source_player_id ELSE p.fantasypros_id END,
                   matched_by = p.matched_by || jsonb_build_object(src, k.method), updated_at = now()
              FROM sure k
             WHERE k.player_id = p.player_id AND k.per_player = 1;
            GET DIAGNOSTICS n = ROW_COUNT;
            INSERT INTO _match_log VALUES ('linked', src, n);

            -- 4. Optionally, a player no other source has becomes a row of his own.
            IF create_missing AND pass = 1 THEN
                INSERT INTO fantasy.players (full_name, name_key, position, team, birth_date,
                                             espn_id, pfr_id, fantasypros_id, yahoo_id, sportradar_id, matched_by)
                SELECT DISTINCT ON (sp.source_player_id) sp.full_name, sp.name_key, sp.position, t.team, sp.birth_date,
                       CASE WHEN src = 'espn' THEN sp.source_player_id END,
                       CASE WHEN src = 'pfr' THEN sp.source_player_id END,
                       CASE WHEN src = 'fantasypros' THEN sp.source_player_id END,
                       sp.yahoo_id, coalesce(sp.sportradar_id, sp.sportsdata_id),  -- so Sleeper can attach later
                       jsonb_build_object(src, 'source')
                  FROM fantasy.source_players sp
                  JOIN fantasy.source_player_teams t USING (source, source_player_id)
                 WHERE sp.source = src
                   AND NOT EXISTS (SELECT 1 FROM fantasy.player_ids i
                                    WHERE i.source = src AND i.source_player_id = sp.source_player_id)
                   AND NOT EXISTS (SELECT 1 FROM fantasy.players p
                                    WHERE CASE WHEN sp.position = 'DEF' THEN p.position = 'DEF' AND p.team = t.team
                                               ELSE p.name_key = sp.name_key
                                                    AND p.position IS NOT DISTINCT FROM sp.position END);
                GET DIAGNOSTICS n = ROW_COUNT;
                INSERT INTO _match_log VALUES ('created', src, n);
            END IF;
        END LOOP;
    END LOOP;

    RETURN QUERY SELECT l.action, l.source, sum(l.players)::bigint FROM _match_log l
                  GROUP BY l.action, l.source ORDER BY l.action, l.source;
END $$;
COMMENT ON FUNCTION fantasy.match_players(boolean) IS 'Links fantasy.source_players to fantasy.players (run after a fantasy crawl; safe to repeat). create_missing => true also creates a row for a player no other source knows (PFR-only retirees, say). Returns how many players were linked or created per source.';

CREATE VIEW fantasy.unmatched_players AS
    SELECT sp.source, sp.source_player_id, sp.full_name, sp.position, t.team,
           count(p.player_id) AS candidates,
           CASE WHEN count(p.player_id) = 0 THEN 'no player with this name: link by hand, or run fantasy.match_players(true) to create one'
                WHEN count(p.player_id) FILTER (WHERE p.position = sp.position) = 0 THEN 'same name, other position'
                WHEN count(p.player_id) FILTER (WHERE p.position = sp.position) > 1 THEN 'several players with this name and position'
                ELSE 'the namesake already has another id from this source, or several source players share this name'
           END AS reason,
           jsonb_agg(jsonb_build_object('player_id', p.player_id, 'full_name', p.full_name, 'position', p.position,
                                        'team', p.team, 'birth_date', p.birth_date)
                     ORDER BY p.player_id) FILTER (WHERE p.player_id IS NOT NULL) AS candidate_players
      FROM fantasy.source_players sp
      JOIN fantasy.source_player_teams t USING (source, source_player_id)
      LEFT JOIN fantasy.players p ON p.name_key = sp.name_key
     WHERE NOT EXISTS (SELECT 1 FROM fantasy.player_ids i
                        WHERE i.source = sp.source AND i.source_player_id = sp.source_player_id)
     GROUP BY sp.source, sp.source_player_id, sp.full_name, sp.position, t.team;
COMMENT ON VIEW fantasy.unmatched_players IS 'Source players fantasy.match_players() could not link safely, with why and the possible matches: review these rather than trusting a guess (set the id column in fantasy.players by hand).';
COMMENT ON COLUMN fantasy.unmatched_players.source IS 'The source.';
COMMENT ON COLUMN fantasy.unmatched_players.source_player_id IS 'The source''s player id.';
COMMENT ON COLUMN fantasy.unmatched_players.full_name IS 'Name as the source spells it.';
COMMENT ON COLUMN fantasy.unmatched_players.position IS 'Position.';
COMMENT ON COLUMN fantasy.unmatched_players.team IS 'Current or latest known team.';
COMMENT ON COLUMN fantasy.unmatched_players.candidates IS 'How many fantasy.players share the normalised name.';
COMMENT ON COLUMN fantasy.unmatched_players.reason IS 'Why it was not linked.';
COMMENT ON COLUMN fantasy.unmatched_players.candidate_players IS 'The fantasy.players rows with the same name, JSON array.';


CREATE VIEW fantasy.unlinked_across_sources AS
WITH sp AS (  -- every source player with how pde would recognise him elsewhere, and the row he is linked to
    SELECT sp.source, sp.source_player_id, sp.full_name, sp.position, t.team, i.player_id,
           CASE WHEN sp.position = 'DEF' THEN 'DEF:' || t.team ELSE sp.name_key || ':' || coalesce(sp.position, '') END
               AS person
      FROM fantasy.source_players sp
      JOIN fantasy.source_player_teams t USING (source, source_player_id)
      LEFT JOIN fantasy.player_ids i USING (source, source_player_id)
), people AS (
    SELECT person, count(DISTINCT source) AS sources, count(DISTINCT player_id) AS rows_linked,
           count(*) FILTER (WHERE player_id IS NULL) AS not_linked,
           bool_or(source_count > 1) AS namesakes
      FROM (SELECT sp.*, count(*) OVER (PARTITION BY person, source) AS source_count FROM sp) x
     GROUP BY person
)
SELECT sp.source, sp.source_player_id, sp.full_name, sp.position, sp.team, sp.player_id,
       p.sources,
       CASE WHEN p.namesakes THEN 'namesakes: one source lists several players with this name and position; '
                                  'link them by hand (set the id column in fantasy.players)'
            WHEN p.not_linked > 0 AND sp.player_id IS NULL
            THEN 'not linked: run SELECT * FROM fantasy.match_players(true), or see fantasy.unmatched_players'
            ELSE 'linked to different fantasy.players rows: the sources disagree on who he is (team, birth date); '
                 'merge the rows by hand' END AS reason
  FROM sp JOIN people p USING (person)
 WHERE p.sources > 1 AND (p.not_linked > 0 OR p.rows_linked > 1);
COMMENT ON VIEW fantasy.unlinked_across_sources IS 'Players that two or more crawled sources list under the same normalised name and position (a team defense: the same team) but that are not all linked to one fantasy.players row, with the reason. Empty when every such player is linked.';
COMMENT ON COLUMN fantasy.unlinked_across_sources.source IS 'The source.';
COMMENT ON COLUMN fantasy.unlinked_across_sources.source_player_id IS 'The source''s player id.';
COMMENT ON COLUMN fantasy.unlinked_across_sources.full_name IS 'Name as the source spells it.';
COMMENT ON COLUMN fantasy.unlinked_across_sources.position IS 'Position.';
COMMENT ON COLUMN fantasy.unlinked_across_sources.team IS 'Current or latest known team.';
COMMENT ON COLUMN fantasy.unlinked_across_sources.player_id IS 'The fantasy.players row it is linked to (null: none).';
COMMENT ON COLUMN fantasy.unlinked_across_sources.sources IS 'How many sources list a player with this name and position.';
COMMENT ON COLUMN fantasy.unlinked_across_sources.reason IS 'Why they are not one linked player, and what to do.';
