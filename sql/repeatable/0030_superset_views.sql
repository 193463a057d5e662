-- Views the Superset dashboards read: house hunt and pipeline health.
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- Dropped first so a changed column list applies; views of later files that depend on these
-- are dropped with them (CASCADE) and re-created when pde migrate re-applies those files.
DROP VIEW IF EXISTS platform.source_health, housing.price_cuts, housing.listings_dashboard CASCADE;

-- Views the Superset dashboards read (superset/assets/): the house hunt
-- (listings with price per sq ft and a link, price cuts with the listing's
-- city, beds and price so the dashboard's filters apply to them) and pipeline
-- health (one row per source: freshness and last error). Plain SQL, so they
-- are just as useful from psql or DBeaver.

CREATE VIEW housing.listings_dashboard AS
SELECT l.zpid,
       coalesce(l.street, l.address) AS street,
       l.address,
       '<a href="' || replace(replace(replace(l.url, '&', '&amp;'), '"', '&quot;'), '<', '&lt;')
           || '" target="_blank" rel="noopener noreferrer">'
           || replace(replace(coalesce(l.street, l.address, l.zpid), '&', '&amp;'), '<', '&lt;')
           || '</a>' AS link,
       l.url,
       l.city,
       l.state,
       l.zip,
       l.status,
       l.home_type,
       l.price,
       l.beds,
       l.baths,
       l.sqft,
       round(l.price::numeric / nullif(l.sqft, 0), 2) AS price_per_sqft,
       l.days_on_market,
       l.latitude,
       l.longitude,
       l.is_building,
       l.building_name,
       l.first_seen_at,
       l.last_seen_at,
       l.updated_at
  FROM housing.listings l;
COMMENT ON VIEW housing.listings_dashboard IS 'housing.listings as the house-hunt dashboard shows them: one row per listing as last seen, with price per square foot and an HTML link to the Zillow page.';
COMMENT ON COLUMN housing.listings_dashboard.zpid IS 'Zillow property id (housing.listings.zpid).';
COMMENT ON COLUMN housing.listings_dashboard.street IS 'Street address with unit, or the full address when Zillow gave no street.';
COMMENT ON COLUMN housing.listings_dashboard.address IS 'Address as Zillow shows it.';
COMMENT ON COLUMN housing.listings_dashboard.link IS 'HTML link (<a href>) to the listing on zillow.com, labelled with the street address; Superset tables render it as a link.';
COMMENT ON COLUMN housing.listings_dashboard.url IS 'Absolute URL of the listing''s page on zillow.com.';
COMMENT ON COLUMN housing.listings_dashboard.city IS 'City or neighbourhood Zillow files the listing under.';
COMMENT ON COLUMN housing.listings_dashboard.state IS 'Two-letter state code.';
COMMENT ON COLUMN housing.listings_dashboard.zip IS 'ZIP code as text, leading zeros kept.';
COMMENT ON COLUMN housing.listings_dashboard.status IS 'Zillow status: FOR_SALE, FOR_RENT, SOLD, RECENTLY_SOLD, PENDING, ...';
COMMENT ON COLUMN housing.listings_dashboard.home_type IS 'Zillow home type: SINGLE_FAMILY, CONDO, APARTMENT, ...';
COMMENT ON COLUMN housing.listings_dashboard.price IS 'Asking price in whole dollars (monthly rent for rentals); for a building, its cheapest unit.';
COMMENT ON COLUMN housing.listings_dashboard.beds IS 'Bedrooms (0 = studio); empty for buildings.';
COMMENT ON COLUMN housing.listings_dashboard.baths IS 'Bathrooms, halves included.';
COMMENT ON COLUMN housing.listings_dashboard.sqft IS 'Living area in square feet.';
COMMENT ON COLUMN housing.listings_dashboard.price_per_sqft IS 'price / sqft in dollars (per month for rentals); empty without a living area.';
COMMENT ON COLUMN housing.listings_dashboard.days_on_market IS 'Days on Zillow when last crawled.';
COMMENT ON COLUMN housing.listings_dashboard.latitude IS 'Latitude (WGS84).';
COMMENT ON COLUMN housing.listings_dashboard.longitude IS 'Longitude (WGS84).';
COMMENT ON COLUMN housing.listings_dashboard.is_building IS 'True for an apartment building listed with several units.';
COMMENT ON COLUMN housing.listings_dashboard.building_name IS 'Name of the building or complex.';
COMMENT ON COLUMN housing.listings_dashboard.first_seen_at IS 'When pde first saw the listing (new listings per day count these).';
COMMENT ON COLUMN housing.listings_dashboard.last_seen_at IS 'When a crawl last saw the listing.';
COMMENT ON COLUMN housing.listings_dashboard.updated_at IS 'When the listing''s content last changed.';

CREATE VIEW housing.price_cuts AS
SELECT c.zpid,
       c.changed_at,
       c.old_price,
       c.new_price,
       -c.change AS cut,
       -c.change_pct AS cut_pct,
       d.street,
       d.link,
       d.url,
       d.city,
       d.zip,
       d.status,
       d.beds,
       d.baths,
       d.sqft,
       d.price
  FROM housing.price_changes c
  JOIN housing.listings_dashboard d USING (zpid)
 WHERE c.change < 0;
COMMENT ON VIEW housing.price_cuts IS 'Price cuts pde saw between crawls (housing.price_changes with change < 0), with the listing''s current city, status, beds and price. Last week''s: WHERE changed_at > now() - interval ''7 days''.';
COMMENT ON COLUMN housing.price_cuts.zpid IS 'Zillow property id (housing.listings.zpid).';
COMMENT ON COLUMN housing.price_cuts.changed_at IS 'When the crawl that saw the lower price stored it.';
COMMENT ON COLUMN housing.price_cuts.old_price IS 'Price before the cut, in whole dollars.';
COMMENT ON COLUMN housing.price_cuts.new_price IS 'Price after the cut, in whole dollars.';
COMMENT ON COLUMN housing.price_cuts.cut IS 'How much cheaper it got, in dollars (positive).';
COMMENT ON COLUMN housing.price_cuts.cut_pct IS 'The cut in percent of the old price (positive).';
COMMENT ON COLUMN housing.price_cuts.street IS 'Street address of the listing.';
COMMENT ON COLUMN housing.price_cuts.link IS 'HTML link to the listing on zillow.com (see housing.listings_dashboard.link).';
COMMENT ON COLUMN housing.price_cuts.url IS 'Absolute URL of the listing''s page on zillow.com.';
COMMENT ON COLUMN housing.price_cuts.city IS 'City of the listing.';
COMMENT ON COLUMN housing.price_cuts.zip IS 'ZIP code of the listing.';
COMMENT ON COLUMN housing.price_cuts.status IS 'Current status of the listing.';
COMMENT ON COLUMN housing.price_cuts.beds IS 'Bedrooms.';
COMMENT ON COLUMN housing.price_cuts.baths IS 'Bathrooms.';
COMMENT ON COLUMN housing.price_cuts.sqft IS 'Living area in square feet.';
COMMENT ON COLUMN housing.price_cuts.price IS 'Current asking price in whole dollars.';

CREATE VIEW platform.source_health AS
WITH last_run AS (
    SELECT DISTINCT ON (spider) spider, run_id, status, started_at
      FROM platform.runs ORDER BY spider, started_at DESC, run_id DESC
), last_success AS (
    SELECT spider, max(coalesce(finished_at, started_at)) AS at
      FROM platform.runs WHERE status = 'succeeded' GROUP BY spider
), last_error AS (
    SELECT DISTINCT ON (spider) spider, status, started_at,
           coalesce(message, errors ->> 0, finish_reason) AS message
      FROM platform.runs WHERE status IN ('failed', 'blocked')
     ORDER BY spider, started_at DESC, run_id DESC
), week AS (
    SELECT spider, count(*) AS runs_7d, count(*) FILTER (WHERE status <> 'succeeded' AND status <> 'running') AS problems_7d
      FROM platform.runs WHERE started_at > now() - interval '7 days' GROUP BY spider
)
SELECT r.spider,
       r.status AS last_status,
       r.started_at AS last_run_at,
       s.at AS last_success_at,
       round((extract(epoch FROM now() - s.at) / 3600)::numeric, 1) AS hours_since_success,
       s.at IS NULL OR s.at < now() - interval '26 hours' AS stale,
       CASE WHEN s.at IS NULL THEN 'never succeeded'
            WHEN s.at < now() - interval '26 hours' THEN 'STALE'
            ELSE 'ok' END AS health,
       coalesce(w.runs_7d, 0) AS runs_7d,
       coalesce(w.problems_7d, 0) AS problems_7d,
       e.started_at AS last_error_at,
       e.status AS last_error_status,
       e.message AS last_error
  FROM last_run r
  LEFT JOIN last_success s USING (spider)
  LEFT JOIN last_error e USING (spider)
  LEFT JOIN week w USING (spider);
COMMENT ON VIEW platform.source_health IS 'One row per spider (source): when it last ran and last succeeded, whether it is stale (no successful run in 26 hours: a daily source that missed a day), and its last error.';
COMMENT ON COLUMN platform.source_health.spider IS 'Spider name, e.g. zillow_listings.';
COMMENT ON COLUMN platform.source_health.last_status IS 'How the latest run ended: succeeded, failed, blocked or running.';
COMMENT ON COLUMN platform.source_health.last_run_at IS 'When the latest run started.';
COMMENT ON COLUMN platform.source_health.last_success_at IS 'When the latest successful run ended (null: never succeeded).';
COMMENT ON COLUMN platform.source_health.hours_since_success IS 'Hours from the latest successful run to now (null: never succeeded).';
COMMENT ON COLUMN platform.source_health.stale IS 'True when the source has had no successful run in 26 hours (or never).';
COMMENT ON COLUMN platform.source_health.health IS 'ok, STALE (no success in 26 hours) or never succeeded.';
COMMENT ON COLUMN platform.source_health.runs_7d IS 'Runs started in the last 7 days.';
COMMENT ON COLUMN platform.source_health.problems_7d IS 'Runs in the last 7 days that failed or were blocked.';
COMMENT ON COLUMN platform.source_health.last_error_at IS 'When the latest failed or blocked run started (null: none).';
COMMENT ON COLUMN platform.source_health.last_error_status IS 'failed or blocked, for the latest run that did not succeed.';
COMMENT ON COLUMN platform.source_health.last_error IS 'What went wrong in that run, in words (its message, else its first logged error).';
