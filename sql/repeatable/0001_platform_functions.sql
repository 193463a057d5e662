-- Functions every source table uses (platform.track, platform.keep_history).
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- History: a trigger copies the previous version of a row into <table>_history
-- whenever its content changes (the upsert bumps updated_at only then), so
-- touching last_seen_at writes no history and manual edits that set
-- updated_at are kept too.
CREATE OR REPLACE FUNCTION platform.keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.%I SELECT ($1).*, now(), $2', TG_TABLE_SCHEMA, TG_TABLE_NAME || '_history')
      USING OLD, NEW.run_id;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION platform.keep_history() IS 'Trigger: keeps the replaced version of a row in <table>_history.';

-- platform.track('schema.table', history => true) adds the bookkeeping columns
-- every source table has, and with history a <table>_history table that keeps
-- each replaced version (SCD type 2: valid from updated_at to valid_to).
-- Add later columns to both tables (the history table mirrors the source's column order).
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
        -- copy the column comments of the source table
        PERFORM 1;
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
END $$;
COMMENT ON FUNCTION platform.track(regclass, boolean) IS 'Adds first_seen_at/last_seen_at/updated_at/run_id to a source table and, with history, a <table>_history table.';
