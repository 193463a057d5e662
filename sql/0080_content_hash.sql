-- A content hash per source row, so a re-crawl can tell "unchanged" cheaply:
-- the pipeline sends each row's key and hash, the server answers which keys are
-- new or changed, and only those rows travel (pipelines/upsert.py).
-- content_hash is the hash of the crawled row pde last applied; NULL means
-- "compare in full next time" (rows from before this migration, manual edits).
--
-- History rows are now copied by column name, not position, so a source table
-- and its <table>_history may differ in column order (content_hash is not kept
-- in history; columns added later need not line up).

-- The functions (keep_history by column name, forget_hash, add_content_hash, track with
-- content_hash) live in sql/repeatable/0001_platform_functions.sql.

-- every table tracked so far: it has the bookkeeping columns and is not a history table
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS tbl
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'valid_to'
                           AND NOT a.attisdropped)
           AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
                  AND a.attname IN ('first_seen_at', 'last_seen_at', 'updated_at', 'run_id')) = 4
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'content_hash'
                           AND NOT a.attisdropped)
         ORDER BY c.oid::regclass::text
    LOOP
        PERFORM platform.add_content_hash(r.tbl);
    END LOOP;
END $$;
