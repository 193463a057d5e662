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

-- Both portals: Redfin homes that Zillow does not list are added (a home on both stays one row, the
-- Zillow one, with Redfin's id and price beside it; housing.property_matches, 0025).
CREATE VIEW housing.listings_dashboard AS
SELECT l.zpid,
       coalesce(l.street, l.address) AS street,
       l.address,
       '<a href="' || replace(replace(replace(l.url, '&', '&amp;'), '"', '&quot;'), '<', '&lt;')
           || '" target="_blank" rel="noopener noreferrer">'
           || replace(replace(coalesce(l.street, l.address, l.zpid), '&', '&amp;'), '<', '&lt;')
           || '</a>' AS link,
       l.url, l.city, l.state, l.zip, l.status, l.home_type, l.price, l.beds, l.baths, l.sqft,
       round(l.price::numeric / nullif(l.sqft, 0), 2) AS price_per_sqft,
       l.days_on_market, l.latitude, l.longitude, l.is_building, l.building_name,
       l.first_seen_at, l.last_seen_at, l.updated_at,
       'zillow'::text AS portal,
       m.redfin_id,
       r.price AS redfin_price
  FROM housing.listings l
  LEFT JOIN housing.property_matches m ON m.zpid = l.zpid
  LEFT JOIN housing.redfin_listings r ON r.redfin_id = m.redfin_id
UNION ALL
SELECT NULL, r.address, concat_ws(', ', r.address, r.city, concat_ws(' ', r.state, r.zip)),
       '<a href="' || replace(replace(replace(r.url, '&', '&amp;'), '"', '&quot;'), '<', '&lt;')
           || '" target="_blank" rel="noopener noreferrer">'
           || replace(replace(coalesce(r.address, r.redfin_id), '&', '&amp;'), '<', '&lt;') || '</a>',
       r.url, r.city, r.state, r.zip, r.status, r.property_type, r.price, r.beds, r.baths, r.sqft,
       round(r.price::numeric / nullif(r.sqft, 0), 2), r.days_on_market, r.latitude, r.longitude, false, NULL,
       r.first_seen_at, r.last_seen_at, r.updated_at,
       'redfin', r.redfin_id, r.price
  FROM housing.redfin_listings r
 WHERE r.redfin_id NOT IN (SELECT redfin_id FROM housing.property_matches);
COMMENT ON VIEW housing.listings_dashboard IS 'housing.listings as the house-hunt dashboard shows them: one row per listing as last seen, with price per square foot and an HTML link to the Zillow page; plus the Redfin listings Zillow does not have (portal = redfin, link to the Redfin page).';
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
COMMENT ON COLUMN housing.listings_dashboard.portal IS 'zillow, or redfin for a home only Redfin lists.';
COMMENT ON COLUMN housing.listings_dashboard.redfin_id IS 'Redfin property id when Redfin lists the home too.';
COMMENT ON COLUMN housing.listings_dashboard.redfin_price IS 'Redfin''s price in whole dollars, when Redfin lists the home.';

CREATE VIEW housing.price_cuts AS
WITH crawled AS (  -- cuts pde saw between two of its own crawls
    SELECT c.zpid, c.changed_at, c.old_price, c.new_price FROM housing.price_changes c WHERE c.change < 0
), events AS (  -- Zillow's dated price history: each priced event against the one before it (same kind of posting)
    SELECT h.zpid, h.event_date, h.event, h.price AS new_price,
           lag(h.price) OVER (PARTITION BY h.zpid, coalesce(h.posting_is_rental, false)
                              ORDER BY h.event_date, h.event) AS old_price
      FROM housing.price_history h
     WHERE h.price IS NOT NULL
), history AS (
    SELECT e.zpid, e.event_date, e.old_price, e.new_price FROM events e
     WHERE e.event = 'Price change' AND e.new_price < e.old_price
), cuts AS (  -- one row per cut: a crawl that saw a price Zillow's history dates as a cut saw that cut
    SELECT h.zpid, h.event_date::timestamptz AS changed_at, h.old_price, h.new_price,
           CASE WHEN EXISTS (SELECT 1 FROM crawled c
                              WHERE c.zpid = h.zpid AND c.new_price = h.new_price AND c.changed_at::date >= h.event_date)
                THEN 'zillow history, pde crawls' ELSE 'zillow history' END AS seen_in
      FROM history h
    UNION ALL
    SELECT c.zpid, c.changed_at, c.old_price, c.new_price, 'pde crawls'
      FROM crawled c
     WHERE NOT EXISTS (SELECT 1 FROM history h
                        WHERE h.zpid = c.zpid AND h.new_price = c.new_price AND c.changed_at::date >= h.event_date)
)
SELECT c.zpid,
       c.changed_at,
       c.old_price,
       c.new_price,
       c.old_price - c.new_price AS cut,
       round(100.0 * (c.old_price - c.new_price) / nullif(c.old_price, 0), 2) AS cut_pct,
       c.seen_in,
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
  FROM cuts c
  JOIN housing.listings_dashboard d USING (zpid);
COMMENT ON VIEW housing.price_cuts IS 'Price cuts, one row each: the "Price change" events of Zillow''s dated price history (housing.price_history, from the details pages) and the cuts pde saw between its own crawls (housing.price_changes); a crawl that saw a price the history dates as a cut (same listing and new price, on or after that date) counts once, on the history''s date. With the listing''s current city, status, beds and price. Last week''s: WHERE changed_at > now() - interval ''7 days''.';
COMMENT ON COLUMN housing.price_cuts.zpid IS 'Zillow property id (housing.listings.zpid).';
COMMENT ON COLUMN housing.price_cuts.changed_at IS 'When the price went down: the date of Zillow''s price-change event, else when the crawl that saw the lower price stored it.';
COMMENT ON COLUMN housing.price_cuts.old_price IS 'Price before the cut, in whole dollars.';
COMMENT ON COLUMN housing.price_cuts.new_price IS 'Price after the cut, in whole dollars.';
COMMENT ON COLUMN housing.price_cuts.cut IS 'How much cheaper it got, in dollars (positive).';
COMMENT ON COLUMN housing.price_cuts.cut_pct IS 'The cut in percent of the old price (positive).';
COMMENT ON COLUMN housing.price_cuts.seen_in IS 'Where pde learned of the cut: zillow history, pde crawls, or both.';
COMMENT ON COLUMN housing.price_cuts.street IS 'Street address of the listing.';
COMMENT ON COLUMN housing.price_cuts.link IS 'HTML link to the listing on zillow.com (see housing.listings_dashboard.link).';
COMMENT ON COLUMN housing.price_cuts.url IS 'Absolute URL of the listing''s page on zillow.com.';
COMMENT ON COLUMN housing.price_cuts.city IS 'City of the listing.';
COMMENT ON COLUMN housing.price_cuts.zip IS 'ZIP code of the listing.';
COMMENT ON COLUMN housing.price_cuts.status IS 'Current status of the listing (FOR_SALE, FOR_RENT, ...): a rent cut is per month.';
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
