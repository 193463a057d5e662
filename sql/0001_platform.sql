-- pde's own tables: crawl runs, what each run wrote, quarantined items,
-- and platform.track(), which gives a source table its bookkeeping columns
-- and (optionally) a history table. The schema itself is created by the migrator.

CREATE TABLE platform.runs (
    run_id        bigserial PRIMARY KEY,
    spider        text NOT NULL,
    args          jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'failed', 'blocked')),
    finish_reason text,
    message       text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    duration_s    double precision,
    items_scraped integer NOT NULL DEFAULT 0,
    items_quarantined integer NOT NULL DEFAULT 0,
    requests      integer NOT NULL DEFAULT 0,
    response_codes jsonb NOT NULL DEFAULT '{}',
    errors        jsonb NOT NULL DEFAULT '[]',
    host          text,
    pid           integer
);
CREATE INDEX runs_spider_started ON platform.runs (spider, started_at DESC);
COMMENT ON TABLE platform.runs IS 'One row per crawl (scrapy crawl <spider>): when, with which arguments, how it ended and what it did.';
COMMENT ON COLUMN platform.runs.run_id IS 'Run number; source rows carry the run that last changed them.';
COMMENT ON COLUMN platform.runs.spider IS 'Spider name, e.g. zillow_listings (same name as its Airflow DAG).';
COMMENT ON COLUMN platform.runs.args IS 'Spider arguments (-a name=value), secrets removed.';
COMMENT ON COLUMN platform.runs.status IS 'running, succeeded, failed (error, nothing scraped, data spooled) or blocked (the site refused us).';
COMMENT ON COLUMN platform.runs.finish_reason IS 'Scrapy''s close reason (finished, blocked, cassette_miss, shutdown, ...) or abandoned for a crashed run.';
COMMENT ON COLUMN platform.runs.message IS 'What happened and what to do, in words, for failed and blocked runs.';
COMMENT ON COLUMN platform.runs.started_at IS 'When the crawl started.';
COMMENT ON COLUMN platform.runs.finished_at IS 'When the crawl ended (null while running).';
COMMENT ON COLUMN platform.runs.duration_s IS 'Wall-clock seconds from start to end.';
COMMENT ON COLUMN platform.runs.items_scraped IS 'Items the spider produced (valid and quarantined).';
COMMENT ON COLUMN platform.runs.items_quarantined IS 'Items rejected into platform.quarantine.';
COMMENT ON COLUMN platform.runs.requests IS 'HTTP requests made (or replayed).';
COMMENT ON COLUMN platform.runs.response_codes IS 'Count of responses per HTTP status, e.g. {"200": 3}.';
COMMENT ON COLUMN platform.runs.errors IS 'Error messages logged during the run (first 50).';
COMMENT ON COLUMN platform.runs.host IS 'Machine the crawl ran on.';
COMMENT ON COLUMN platform.runs.pid IS 'Process id of the crawl.';

CREATE TABLE platform.run_tables (
    run_id      bigint NOT NULL REFERENCES platform.runs ON DELETE CASCADE,
    table_name  text NOT NULL,
    inserted    integer NOT NULL DEFAULT 0,
    updated     integer NOT NULL DEFAULT 0,
    unchanged   integer NOT NULL DEFAULT 0,
    quarantined integer NOT NULL DEFAULT 0,
    spooled     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, table_name)
);
COMMENT ON TABLE platform.run_tables IS 'What one run did to one table.';
COMMENT ON COLUMN platform.run_tables.run_id IS 'The run (platform.runs).';
COMMENT ON COLUMN platform.run_tables.table_name IS 'Schema-qualified table, e.g. housing.listings.';
COMMENT ON COLUMN platform.run_tables.inserted IS 'Rows new to the table.';
COMMENT ON COLUMN platform.run_tables.updated IS 'Rows whose content changed (previous version kept in the history table, if any).';
COMMENT ON COLUMN platform.run_tables.unchanged IS 'Rows seen again with identical content (not rewritten).';
COMMENT ON COLUMN platform.run_tables.quarantined IS 'Items for this table rejected into platform.quarantine.';
COMMENT ON COLUMN platform.run_tables.spooled IS 'Rows that could not be written (database unavailable) and were spooled to a file; load with `pde spool load`.';

CREATE TABLE platform.quarantine (
    quarantine_id bigserial PRIMARY KEY,
    run_id      bigint REFERENCES platform.runs ON DELETE SET NULL,
    spider      text NOT NULL,
    table_name  text NOT NULL,
    url         text,
    reason      text NOT NULL,
    item        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_run ON platform.quarantine (run_id);
COMMENT ON TABLE platform.quarantine IS 'Items that failed validation or were refused by the database, kept with the reason instead of being dropped.';
COMMENT ON COLUMN platform.quarantine.quarantine_id IS 'Row number.';
COMMENT ON COLUMN platform.quarantine.run_id IS 'The run that produced the item.';
COMMENT ON COLUMN platform.quarantine.spider IS 'The spider that produced the item.';
COMMENT ON COLUMN platform.quarantine.table_name IS 'The table the item was meant for.';
COMMENT ON COLUMN platform.quarantine.url IS 'The page or file the item came from.';
COMMENT ON COLUMN platform.quarantine.reason IS 'Why it was rejected, e.g. "price should be int, got str ''$1,200''".';
COMMENT ON COLUMN platform.quarantine.item IS 'The item as the spider produced it.';
COMMENT ON COLUMN platform.quarantine.created_at IS 'When it was quarantined.';
