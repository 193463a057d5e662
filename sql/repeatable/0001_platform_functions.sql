-- Functions every source table uses (platform.track, platform.keep_history, platform.add_content_hash,
-- platform.forget_hash). History rows are copied by column name; content_hash (sql/0080) lets a
-- re-crawl skip unchanged rows cheaply (pipelines/upsert.py).
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- History: a trigger copies the previous version of a row into <table>_history
-- whenever its content changes (the upsert bumps updated_at only then), so
-- touching last_seen_at writes no history and manual edits that set
-- updated_at are kept too.
CREATE OR REPLACE FUNCTION platform.keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %1$I.%2$I SELECT * FROM jsonb_populate_record(NULL::%1$I.%2$I, $1)',
                   TG_TABLE_SCHEMA, TG_TABLE_NAME || '_history')
      USING to_jsonb(OLD) || jsonb_build_object('valid_to', now(), 'replaced_by_run_id', NEW.run_id);
    RETURN NULL;
END $$;
COMMENT ON FUNCTION platform.keep_history() IS 'Trigger: keeps the replaced version of a row in <table>_history (columns matched by name).';

-- A manual UPDATE of a crawled row forgets its hash, so the next crawl compares
-- that row in full (and overwrites the edit where the source says otherwise),
-- as it did before hashes. The pipeline marks its own transactions with
-- pde.writer = 'on' and sets the hash itself.
CREATE OR REPLACE FUNCTION platform.forget_hash() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.content_hash := NULL;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION platform.forget_hash() IS 'Trigger: a row changed outside the pipeline loses its content_hash (compared in full by the next crawl).';

CREATE OR REPLACE FUNCTION platform.add_content_hash(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($f$
        ALTER TABLE %1$s ADD COLUMN IF NOT EXISTS content_hash uuid;
        COMMENT ON COLUMN %1$s.content_hash IS 'Hash of the crawled row pde last applied (NULL: compare in full next crawl); lets a re-crawl skip unchanged rows cheaply.';
        DROP TRIGGER IF EXISTS forget_hash ON %1$s;
        CREATE TRIGGER forget_hash BEFORE UPDATE ON %1$s FOR EACH ROW
          WHEN (current_setting('pde.writer', true) IS DISTINCT FROM 'on' AND OLD.content_hash IS NOT NULL)
          EXECUTE FUNCTION platform.forget_hash();
    $f$, tbl);
END $$;
COMMENT ON FUNCTION platform.add_content_hash(regclass) IS 'Adds content_hash (and the trigger that forgets it on manual edits) to a source table; platform.track calls it.';

-- platform.track as before, plus content_hash (added before the history table is
-- made, so a new history table has the column too; it stays NULL there).
CREATE OR REPLACE FUNCTION platform.track(tbl regclass, history boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    sch text;
    rel text;
    hist text;
    keycols text;
BEGIN
    SELECT n.nspname, c.relname INTO sch, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
    EXECUTE format($f$
        ALTER TABLE %1$s
          ADD COLUMN first_seen_at timestamptz NOT NULL DEFAULT now(),
          ADD COLUMN last_seen_at  timestamptz NOT NULL DEFAULT now(),
          ADD COLUMN updated_at    timestamptz NOT NULL DEFAULT now(),
          ADD COLUMN run_id        bigint;
        COMMENT ON COLUMN %1$s.first_seen_at IS 'When pde first saw this row.';
        COMMENT ON COLUMN %1$s.last_seen_at IS 'When a crawl last saw this row (refreshed at most every few hours, so re-runs do not rewrite unchanged rows).';
        COMMENT ON COLUMN %1$s.updated_at IS 'When the row''s content last changed.';
        COMMENT ON COLUMN %1$s.run_id IS 'The run (platform.runs) that last changed the row.';
    $f$, tbl);
    IF history THEN
        hist := format('%I.%I', sch, rel || '_history');
        EXECUTE format('CREATE TABLE %s (LIKE %s)', hist, tbl);
        EXECUTE format($f$
            ALTER TABLE %1$s ADD COLUMN valid_to timestamptz NOT NULL,
                             ADD COLUMN replaced_by_run_id bigint;
            COMMENT ON TABLE %1$s IS %2$L;
            COMMENT ON COLUMN %1$s.updated_at IS 'When this version became current (valid from).';
            COMMENT ON COLUMN %1$s.valid_to IS 'When this version was replaced by a newer one.';
            COMMENT ON COLUMN %1$s.replaced_by_run_id IS 'The run that replaced this version.';
        $f$, hist, 'Previous versions of ' || sch || '.' || rel || ' rows: one row per replaced version.');
        EXECUTE (
            SELECT string_agg(format('COMMENT ON COLUMN %s.%I IS %L', hist, a.attname, d.description), '; ')
              FROM pg_attribute a JOIN pg_description d ON d.objoid = a.attrelid AND d.objsubid = a.attnum
             WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attname NOT IN ('updated_at')
        );
        SELECT string_agg(quote_ident(a.attname), ', ') INTO keycols
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
         WHERE i.indrelid = tbl AND i.indisprimary;
        EXECUTE format('CREATE INDEX ON %s (%s, valid_to)', hist, keycols);
        EXECUTE format(
            'CREATE TRIGGER keep_history AFTER UPDATE ON %s FOR EACH ROW '
            'WHEN (OLD.updated_at IS DISTINCT FROM NEW.updated_at) EXECUTE FUNCTION platform.keep_history()', tbl);
    END IF;
    -- after the history table is made from the table: history keeps no content_hash (new and upgraded alike)
    PERFORM platform.add_content_hash(tbl);
END $$;
COMMENT ON FUNCTION platform.track(regclass, boolean) IS 'Adds first_seen_at/last_seen_at/updated_at/run_id/content_hash to a source table and, with history, a <table>_history table.';
