-- Zillow and Redfin in one shape: the address key, every portal listing, which listings are one home,
-- one row per home, and the sales the house-value model learns from (the table: sql/0025_redfin_listings.sql).
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- Dropped first so a changed column list applies; views of later files that build on these
-- (housing.listings_dashboard and housing.price_cuts in 0030) are dropped with them (CASCADE) and
-- re-created when pde migrate re-applies those files.
DROP VIEW IF EXISTS housing.sold_homes, housing.properties, housing.property_matches, housing.portal_listings CASCADE;

-- "41 River Road, Unit A9" and "41 River Rd #A9" (ZIP 04011) are the same home: one key for both.
CREATE OR REPLACE FUNCTION housing.address_key(street text, zip text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s text;
    z text := left(regexp_replace(coalesce(zip, ''), '[^0-9]', '', 'g'), 5);
    pair text[];
BEGIN
    IF street IS NULL OR btrim(street) = '' OR length(z) < 5 THEN
        RETURN NULL;
    END IF;
    s := lower(street);
    s := regexp_replace(s, '[.,'';]', ' ', 'g');
    s := regexp_replace(s, '\m(apt|apartment|unit|ste|suite|no|number)\M|#', ' # ', 'g');
    FOREACH pair SLICE 1 IN ARRAY ARRAY[
        ['street', 'st'], ['road', 'rd'], ['avenue', 'ave'], ['av', 'ave'], ['drive', 'dr'], ['lane', 'ln'],
        ['court', 'ct'], ['place', 'pl'], ['boulevard', 'blvd'], ['terrace', 'ter'], ['circle', 'cir'],
        ['parkway', 'pkwy'], ['highway', 'hwy'], ['square', 'sq'], ['trail', 'trl'], ['extension', 'ext'],
        ['north', 'n'], ['south', 's'], ['east', 'e'], ['west', 'w'],
        ['northeast', 'ne'], ['northwest', 'nw'], ['southeast', 'se'], ['southwest', 'sw']]
    LOOP
        s := regexp_replace(s, '\m' || pair[1] || '\M', pair[2], 'g');
    END LOOP;
    s := regexp_replace(btrim(regexp_replace(s, '\s+', ' ', 'g')), '(#\s*)+', '#', 'g');
    RETURN z || ' ' || s;
END $$;
COMMENT ON FUNCTION housing.address_key(text, text) IS 'Normalised "ZIP street" of a home, so portals that spell an address differently (Road/Rd, Unit/#, punctuation, case) give one key; NULL without a street or a 5-digit ZIP.';

-- Every listing of every portal in one shape.
CREATE VIEW housing.portal_listings AS
SELECT 'zillow'::text AS portal,
       l.zpid AS listing_id,
       l.url,
       coalesce(l.street, l.address) AS street,
       l.city, l.state, l.zip,
       l.price, l.beds, l.baths, l.sqft, l.lot_size, l.year_built, l.latitude, l.longitude,
       l.home_type AS property_type,
       l.home_type,
       l.status,
       CASE WHEN l.status IN ('SOLD', 'RECENTLY_SOLD') THEN 'sold'
            WHEN l.status = 'FOR_RENT' THEN 'for_rent'
            WHEN l.status = 'PENDING' THEN 'pending'
            WHEN l.status IN ('FOR_SALE', 'COMING_SOON') THEN 'for_sale' END AS status_group,
       l.sold_date,
       coalesce(l.sold_price, CASE WHEN l.status IN ('SOLD', 'RECENTLY_SOLD') THEN l.price END) AS sold_price,
       l.days_on_market,
       NULL::text AS mls_number,
       housing.address_key(l.street, l.zip) AS address_key,
       l.first_seen_at, l.last_seen_at
  FROM housing.listings l
 WHERE NOT coalesce(l.is_building, false)
UNION ALL
SELECT 'redfin', r.redfin_id, r.url, r.address, r.city, r.state, r.zip,
       r.price, r.beds, r.baths, r.sqft, r.lot_size, r.year_built, r.latitude, r.longitude,
       r.property_type,
       CASE WHEN r.property_type ILIKE 'single family%' THEN 'SINGLE_FAMILY'
            WHEN r.property_type ILIKE 'condo%' THEN 'CONDO'
            WHEN r.property_type ILIKE 'townhouse%' THEN 'TOWNHOUSE'
            WHEN r.property_type ILIKE 'multi-family%' THEN 'MULTI_FAMILY'
            WHEN r.property_type ILIKE '%land%' THEN 'LOT'
            WHEN r.property_type ILIKE 'mobile%' OR r.property_type ILIKE '%manufactured%' THEN 'MANUFACTURED'
            WHEN r.property_type IS NOT NULL THEN 'OTHER' END,
       r.status,
       CASE WHEN r.sale_type = 'PAST SALE' OR r.sold_date IS NOT NULL OR r.status ILIKE 'sold%' THEN 'sold'
            WHEN r.status ILIKE 'pending%' OR r.status ILIKE 'contingent%' OR r.status ILIKE 'under contract%'
                THEN 'pending'
            ELSE 'for_sale' END,
       r.sold_date,
       CASE WHEN r.sale_type = 'PAST SALE' OR r.sold_date IS NOT NULL THEN r.price END,
       r.days_on_market, r.mls_number,
       housing.address_key(r.address, r.zip),
       r.first_seen_at, r.last_seen_at
  FROM housing.redfin_listings r;
COMMENT ON VIEW housing.portal_listings IS 'Zillow (housing.listings, apartment buildings left out) and Redfin (housing.redfin_listings) listings in one shape, one row per portal listing.';
COMMENT ON COLUMN housing.portal_listings.portal IS 'zillow or redfin.';
COMMENT ON COLUMN housing.portal_listings.listing_id IS 'The portal''s id: Zillow zpid, Redfin property id.';
COMMENT ON COLUMN housing.portal_listings.status IS 'The status as the portal writes it (Zillow FOR_SALE..., Redfin Active...).';
COMMENT ON COLUMN housing.portal_listings.status_group IS 'for_sale, pending, sold or for_rent, whichever portal.';
COMMENT ON COLUMN housing.portal_listings.sold_price IS 'Sale price in whole dollars, for sold homes.';
COMMENT ON COLUMN housing.portal_listings.address_key IS 'housing.address_key(street, zip): the same home on two portals has the same key.';

-- Which Zillow listing (if any) each Redfin listing is: same address key, else (houses only, not units in
-- one building, which share a location) within 30 m in the same ZIP with no conflicting bedroom count.
-- Each listing is matched once at most: the best pair (address before location, then nearest) wins.
CREATE VIEW housing.property_matches AS
WITH z AS (
    SELECT listing_id AS zpid, address_key, zip, latitude, longitude, beds,
           street ~ '#|\m([Aa]pt|[Uu]nit|[Ss]te|[Ss]uite)\M' AS is_unit
      FROM housing.portal_listings WHERE portal = 'zillow'
), r AS (
    SELECT listing_id AS redfin_id, address_key, zip, latitude, longitude, beds,
           street ~ '#|\m([Aa]pt|[Uu]nit|[Ss]te|[Ss]uite)\M' AS is_unit
      FROM housing.portal_listings WHERE portal = 'redfin'
), candidates AS (
    SELECT r.redfin_id, z.zpid,
           CASE WHEN z.address_key = r.address_key THEN 'address' ELSE 'location' END AS matched_on,
           111320 * sqrt(power(z.latitude - r.latitude, 2)
                         + power(cos(radians(r.latitude)) * (z.longitude - r.longitude), 2)) AS distance_m
      FROM r JOIN z ON z.address_key = r.address_key
                    OR (z.zip = r.zip AND NOT z.is_unit AND NOT r.is_unit
                        AND (z.beds IS NULL OR r.beds IS NULL OR z.beds = r.beds)
                        AND 111320 * sqrt(power(z.latitude - r.latitude, 2)
                                          + power(cos(radians(r.latitude)) * (z.longitude - r.longitude), 2)) < 30)
), best_for_redfin AS (
    SELECT *, row_number() OVER (PARTITION BY redfin_id
                                 ORDER BY matched_on = 'address' DESC, distance_m NULLS LAST, zpid) AS n
      FROM candidates
), best AS (
    SELECT *, row_number() OVER (PARTITION BY zpid
                                 ORDER BY matched_on = 'address' DESC, distance_m NULLS LAST, redfin_id) AS m
      FROM best_for_redfin WHERE n = 1
)
SELECT redfin_id, zpid, matched_on, round(distance_m::numeric, 1) AS distance_m FROM best WHERE m = 1;
COMMENT ON VIEW housing.property_matches IS 'Each Redfin listing that is also a Zillow listing, with how they were matched.';
COMMENT ON COLUMN housing.property_matches.matched_on IS 'address (same housing.address_key) or location (houses within 30 m in the same ZIP).';
COMMENT ON COLUMN housing.property_matches.distance_m IS 'Distance between the two portals'' coordinates, in metres.';

-- One row per home, whichever portals list it.
CREATE VIEW housing.properties AS
WITH pairs AS (
    SELECT m.zpid, r.listing_id AS redfin_id, m.matched_on
      FROM housing.portal_listings r LEFT JOIN housing.property_matches m ON m.redfin_id = r.listing_id
     WHERE r.portal = 'redfin'
    UNION ALL
    SELECT z.listing_id, NULL, NULL
      FROM housing.portal_listings z
     WHERE z.portal = 'zillow' AND z.listing_id NOT IN (SELECT zpid FROM housing.property_matches)
)
SELECT coalesce('zillow:' || p.zpid, 'redfin:' || p.redfin_id) AS property_id,
       p.zpid,
       p.redfin_id,
       p.matched_on,
       coalesce(r.street, z.street) AS street,
       coalesce(r.city, z.city) AS city,
       coalesce(r.state, z.state) AS state,
       coalesce(r.zip, z.zip) AS zip,
       coalesce(r.beds, z.beds) AS beds,
       coalesce(r.baths, z.baths) AS baths,
       coalesce(r.sqft, z.sqft) AS sqft,
       coalesce(r.year_built, z.year_built) AS year_built,
       coalesce(r.latitude, z.latitude) AS latitude,
       coalesce(r.longitude, z.longitude) AS longitude,
       coalesce(r.property_type, z.property_type) AS property_type,
       z.price AS zillow_price,
       r.price AS redfin_price,
       r.price - z.price AS price_difference,
       z.status AS zillow_status,
       r.status AS redfin_status,
       coalesce(r.status_group, z.status_group) AS status_group,
       r.mls_number,
       z.url AS zillow_url,
       r.url AS redfin_url
  FROM pairs p
  LEFT JOIN housing.portal_listings z ON z.portal = 'zillow' AND z.listing_id = p.zpid
  LEFT JOIN housing.portal_listings r ON r.portal = 'redfin' AND r.listing_id = p.redfin_id;
COMMENT ON VIEW housing.properties IS 'One row per home: a Zillow listing, a Redfin listing, or both when they are the same home (housing.property_matches), with each portal''s id and price side by side.';
COMMENT ON COLUMN housing.properties.property_id IS 'zillow:<zpid> when Zillow lists the home, else redfin:<id>.';
COMMENT ON COLUMN housing.properties.matched_on IS 'How the Redfin and Zillow listings were found to be one home: address or location; empty when only one portal lists it.';
COMMENT ON COLUMN housing.properties.zillow_price IS 'Zillow''s price in whole dollars.';
COMMENT ON COLUMN housing.properties.redfin_price IS 'Redfin''s price in whole dollars.';
COMMENT ON COLUMN housing.properties.price_difference IS 'redfin_price - zillow_price: the portals disagree when this is not 0.';
COMMENT ON COLUMN housing.properties.status_group IS 'for_sale, pending, sold or for_rent (Redfin''s word when both list it).';

-- Sales the house-value model trains on: every sold home once (Redfin's row when both portals have it).
CREATE VIEW housing.sold_homes AS
SELECT DISTINCT ON (coalesce(address_key, portal || ':' || listing_id), sold_date)
       portal, listing_id, street, city, state, zip, sold_price, sold_date, beds, baths, sqft, lot_size,
       year_built, latitude, longitude, property_type, home_type, address_key
  FROM housing.portal_listings
 WHERE status_group = 'sold' AND sold_price IS NOT NULL
 ORDER BY coalesce(address_key, portal || ':' || listing_id), sold_date, (portal = 'redfin') DESC;
COMMENT ON VIEW housing.sold_homes IS 'Sold homes from Zillow and Redfin, one row per home and sale date, for the house-value model''s training data.';

-- Column comments the views share (same meaning wherever the column appears).
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT v.rel, d.col, d.txt
          FROM (VALUES ('housing.portal_listings'), ('housing.properties'), ('housing.sold_homes'),
                       ('housing.property_matches')) v(rel)
          JOIN (VALUES
            ('url', 'The listing''s page on the portal.'),
            ('street', 'Street address with unit, as the portal writes it.'),
            ('city', 'City.'),
            ('state', 'Two-letter state code.'),
            ('zip', 'ZIP code as text, leading zeros kept.'),
            ('price', 'Price in whole dollars: asking price, monthly rent for rentals, sale price for sold homes.'),
            ('beds', 'Bedrooms.'),
            ('baths', 'Bathrooms, halves included.'),
            ('sqft', 'Living area in square feet.'),
            ('lot_size', 'Lot area in square feet.'),
            ('year_built', 'Year the home was built.'),
            ('latitude', 'Latitude (WGS84).'),
            ('longitude', 'Longitude (WGS84).'),
            ('property_type', 'Home type as the portal says it (Zillow SINGLE_FAMILY, Redfin Single Family Residential, ...).'),
            ('home_type', 'Home type in Zillow''s words for both portals: SINGLE_FAMILY, CONDO, TOWNHOUSE, MULTI_FAMILY, LOT, MANUFACTURED, OTHER.'),
            ('sold_date', 'Date of the sale, for sold homes.'),
            ('sold_price', 'Sale price in whole dollars.'),
            ('days_on_market', 'Days on the portal when last crawled.'),
            ('mls_number', 'MLS number of the listing (Redfin''s export has it; Zillow''s search pages do not).'),
            ('first_seen_at', 'When pde first saw the listing.'),
            ('last_seen_at', 'When a crawl last saw the listing.'),
            ('portal', 'zillow or redfin.'),
            ('listing_id', 'The portal''s id: Zillow zpid, Redfin property id.'),
            ('address_key', 'housing.address_key(street, zip): the same home on two portals has the same key.'),
            ('zpid', 'Zillow property id (housing.listings.zpid), when Zillow lists the home.'),
            ('redfin_id', 'Redfin property id (housing.redfin_listings.redfin_id), when Redfin lists the home.'),
            ('zillow_status', 'Zillow''s status: FOR_SALE, PENDING, SOLD, ...'),
            ('redfin_status', 'Redfin''s status: Active, Pending, Coming Soon, Sold, ...'),
            ('zillow_url', 'The home''s page on zillow.com.'),
            ('redfin_url', 'The home''s page on redfin.com.')
          ) d(col, txt) ON true
          JOIN information_schema.columns ic
            ON ic.table_schema || '.' || ic.table_name = v.rel AND ic.column_name = d.col
          JOIN pg_class k ON k.oid = v.rel::regclass
         WHERE col_description(k.oid, ic.ordinal_position) IS NULL
    LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', c.rel, c.col, c.txt);
    END LOOP;
END $$;
