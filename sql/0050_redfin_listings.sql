-- housing.redfin_listings: rows of the redfin_listings spider (scrapers/housing/redfin_listings.py). Replace the columns with
-- the record's fields; every table and column carries a COMMENT (people read them in DBeaver).

CREATE SCHEMA IF NOT EXISTS housing;
COMMENT ON SCHEMA housing IS 'Housing: data of the housing area, one table per kind of row.';

CREATE TABLE housing.redfin_listings (
    id   text PRIMARY KEY,
    name text
);
COMMENT ON TABLE housing.redfin_listings IS 'One row per item Redfin lists, as last seen (spider redfin_listings).';
COMMENT ON COLUMN housing.redfin_listings.id IS 'Redfin''s own id of the item.';
COMMENT ON COLUMN housing.redfin_listings.name IS 'The item''s name as Redfin shows it.';
-- bookkeeping columns (first_seen_at, last_seen_at, updated_at, run_id); true = keep a history table
SELECT platform.track('housing.redfin_listings', false);
