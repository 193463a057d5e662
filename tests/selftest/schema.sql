-- A tiny source used only by the machinery tests (tests/test_machinery.py).
CREATE SCHEMA selftest;
COMMENT ON SCHEMA selftest IS 'Test-only source for the pipeline machinery tests.';
CREATE TABLE selftest.things (
    thing_id text PRIMARY KEY,
    name     text NOT NULL,
    price    integer CHECK (price >= 0),
    tags     jsonb,
    seen_on  date
);
COMMENT ON TABLE selftest.things IS 'Things.';
COMMENT ON COLUMN selftest.things.thing_id IS 'Id.';
COMMENT ON COLUMN selftest.things.name IS 'Name.';
COMMENT ON COLUMN selftest.things.price IS 'Price.';
COMMENT ON COLUMN selftest.things.tags IS 'Tags.';
COMMENT ON COLUMN selftest.things.seen_on IS 'Date.';
SELECT platform.track('selftest.things', true);
