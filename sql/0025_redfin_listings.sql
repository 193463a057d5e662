-- housing.redfin_listings: Redfin's "Download All" export (spider redfin_listings), and one listing
-- model across portals: housing.address_key() normalises a street address, housing.portal_listings
-- shows Zillow and Redfin listings in one shape, housing.properties makes the same home on both
-- portals one row with each portal's id and price, housing.sold_homes feeds the house-value model,
-- and housing.listings_dashboard (the house hunt) now shows Redfin-only homes too.

CREATE TABLE housing.redfin_listings (
    redfin_id             text PRIMARY KEY,
    url                   text,
    sale_type             text,
    status                text,
    sold_date             date,
    property_type         text,
    address               text,
    city                  text,
    state                 text,
    zip                   text,
    neighborhood          text,
    price                 bigint,
    beds                  numeric,
    baths                 numeric,
    sqft                  integer,
    lot_size              integer,
    year_built            integer,
    days_on_market        integer,
    price_per_sqft        integer,
    hoa_month             integer,
    next_open_house_start timestamp,
    next_open_house_end   timestamp,
    mls_source            text,
    mls_number            text,
    favorite              boolean,
    interested            boolean,
    latitude              double precision,
    longitude             double precision,
    search                text
);
COMMENT ON TABLE housing.redfin_listings IS 'One row per Redfin listing or past sale, as the last CSV export (Download All / gis-csv) showed it; previous versions are in housing.redfin_listings_history.';
COMMENT ON COLUMN housing.redfin_listings.redfin_id IS 'Redfin property id: the number at the end of the listing URL (.../home/12345678).';
COMMENT ON COLUMN housing.redfin_listings.url IS 'The listing on redfin.com (the export''s "URL (SEE ...)" column).';
COMMENT ON COLUMN housing.redfin_listings.sale_type IS 'SALE TYPE: MLS Listing, PAST SALE, New Construction Home, For-Sale-by-Owner Listing, ...';
COMMENT ON COLUMN housing.redfin_listings.status IS 'STATUS: Active, Pending, Contingent, Coming Soon, Pre On-Market, Sold, ...';
COMMENT ON COLUMN housing.redfin_listings.sold_date IS 'SOLD DATE: filled only on PAST SALE rows.';
COMMENT ON COLUMN housing.redfin_listings.property_type IS 'PROPERTY TYPE: Single Family Residential, Condo/Co-op, Townhouse, Multi-Family (2-4 Unit), Vacant Land, ...';
COMMENT ON COLUMN housing.redfin_listings.address IS 'ADDRESS: street address with unit, e.g. 12 Beacon St Unit 4.';
COMMENT ON COLUMN housing.redfin_listings.city IS 'CITY.';
COMMENT ON COLUMN housing.redfin_listings.state IS 'STATE OR PROVINCE (two-letter code in the US).';
COMMENT ON COLUMN housing.redfin_listings.zip IS 'ZIP OR POSTAL CODE as text, leading zeros kept (02114).';
COMMENT ON COLUMN housing.redfin_listings.neighborhood IS 'LOCATION: the neighbourhood Redfin files the home under (not coordinates).';
COMMENT ON COLUMN housing.redfin_listings.price IS 'PRICE in whole dollars: the asking price, or the sale price on PAST SALE rows.';
COMMENT ON COLUMN housing.redfin_listings.beds IS 'BEDS.';
COMMENT ON COLUMN housing.redfin_listings.baths IS 'BATHS, halves included (2.5).';
COMMENT ON COLUMN housing.redfin_listings.sqft IS 'SQUARE FEET of living area.';
COMMENT ON COLUMN housing.redfin_listings.lot_size IS 'LOT SIZE in square feet.';
COMMENT ON COLUMN housing.redfin_listings.year_built IS 'YEAR BUILT.';
COMMENT ON COLUMN housing.redfin_listings.days_on_market IS 'DAYS ON MARKET when last crawled (the export has no listing date).';
COMMENT ON COLUMN housing.redfin_listings.price_per_sqft IS '$/SQUARE FEET as Redfin computed it.';
COMMENT ON COLUMN housing.redfin_listings.hoa_month IS 'HOA/MONTH: monthly HOA dues in dollars.';
COMMENT ON COLUMN housing.redfin_listings.next_open_house_start IS 'NEXT OPEN HOUSE START TIME, in the home''s local time.';
COMMENT ON COLUMN housing.redfin_listings.next_open_house_end IS 'NEXT OPEN HOUSE END TIME, in the home''s local time.';
COMMENT ON COLUMN housing.redfin_listings.mls_source IS 'SOURCE: the MLS (or public record) the listing comes from.';
COMMENT ON COLUMN housing.redfin_listings.mls_number IS 'MLS#: the listing''s number in that MLS.';
COMMENT ON COLUMN housing.redfin_listings.favorite IS 'FAVORITE: the user marked it on Redfin (exports made while logged in).';
COMMENT ON COLUMN housing.redfin_listings.interested IS 'INTERESTED: the user marked it as interesting on Redfin.';
COMMENT ON COLUMN housing.redfin_listings.latitude IS 'LATITUDE (WGS84).';
COMMENT ON COLUMN housing.redfin_listings.longitude IS 'LONGITUDE (WGS84).';
COMMENT ON COLUMN housing.redfin_listings.search IS 'The search the row was found by: the spider''s search URL or region.';
SELECT platform.track('housing.redfin_listings', true);

-- housing.address_key() and the views over both portals (portal_listings, property_matches, properties,
-- sold_homes) are repeatable: sql/repeatable/0025_redfin_views.sql; listings_dashboard: 0030_superset_views.sql.
