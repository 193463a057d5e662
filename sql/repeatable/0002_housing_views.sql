-- Views of the housing schema.
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- Dropped first so a changed column list applies; views of later files that depend on these
-- are dropped with them (CASCADE) and re-created when pde migrate re-applies those files.
DROP VIEW IF EXISTS housing.price_changes CASCADE;

-- Every version of a listing's price, oldest first: replaced versions from
-- listings_history (valid from updated_at) and the current row. A change is a
-- version whose price differs from the previous known price.
CREATE VIEW housing.price_changes AS
WITH versions AS (
    SELECT zpid, price, updated_at FROM housing.listings_history WHERE price IS NOT NULL
    UNION ALL
    SELECT zpid, price, updated_at FROM housing.listings WHERE price IS NOT NULL
), steps AS (
    SELECT zpid,
           updated_at AS changed_at,
           lag(price) OVER (PARTITION BY zpid ORDER BY updated_at) AS old_price,
           price AS new_price
      FROM versions
)
SELECT s.zpid,
       s.changed_at,
       s.old_price,
       s.new_price,
       s.new_price - s.old_price AS change,
       round(100.0 * (s.new_price - s.old_price) / nullif(s.old_price, 0), 2) AS change_pct,
       l.address,
       l.status,
       l.url
  FROM steps s
  LEFT JOIN housing.listings l USING (zpid)
 WHERE s.old_price IS NOT NULL
   AND s.new_price <> s.old_price;
COMMENT ON VIEW housing.price_changes IS 'Each price change pde saw between crawls, e.g. price cuts of the last week: SELECT * FROM housing.price_changes WHERE change < 0 AND changed_at > now() - interval ''7 days''.';
COMMENT ON COLUMN housing.price_changes.zpid IS 'Zillow property id (housing.listings.zpid).';
COMMENT ON COLUMN housing.price_changes.changed_at IS 'When the crawl that saw the new price stored it.';
COMMENT ON COLUMN housing.price_changes.old_price IS 'Price before the change, in whole dollars.';
COMMENT ON COLUMN housing.price_changes.new_price IS 'Price after the change, in whole dollars.';
COMMENT ON COLUMN housing.price_changes.change IS 'new_price - old_price: negative for a price cut.';
COMMENT ON COLUMN housing.price_changes.change_pct IS 'Change in percent of the old price.';
COMMENT ON COLUMN housing.price_changes.address IS 'Current address of the listing.';
COMMENT ON COLUMN housing.price_changes.status IS 'Current status of the listing (FOR_SALE, FOR_RENT, SOLD, ...).';
COMMENT ON COLUMN housing.price_changes.url IS 'Current Zillow URL of the listing.';
