-- housing: homes found by the zillow_listings spider, their price and tax
-- history, and the price changes pde saw between crawls.

CREATE SCHEMA housing;
COMMENT ON SCHEMA housing IS 'House hunting: listings scraped from Zillow (spider zillow_listings), their price and tax history, and price changes between crawls.';

CREATE TABLE housing.listings (
    zpid              text PRIMARY KEY,
    url               text,
    address           text,
    street            text,
    city              text,
    state             text,
    zip               text,
    price             bigint,
    price_text        text,
    beds              numeric,
    baths             numeric,
    sqft              integer,
    lot_size          integer,
    latitude          double precision,
    longitude         double precision,
    home_type         text,
    status            text,
    status_text       text,
    days_on_market    integer,
    listed_date       date,
    availability_date date,
    sold_date         date,
    sold_price        bigint,
    zestimate         bigint,
    rent_zestimate    bigint,
    year_built        integer,
    is_building       boolean,
    building_name     text,
    units             jsonb,
    broker            text,
    facts             jsonb,
    search            text
);
COMMENT ON TABLE housing.listings IS 'One row per Zillow listing (a home, or an apartment building with several units), as last seen; previous versions are in housing.listings_history.';
COMMENT ON COLUMN housing.listings.zpid IS 'Zillow property id (text); apartment buildings have no zpid and use Zillow''s "latitude--longitude" id, e.g. 43.90381--69.918846.';
COMMENT ON COLUMN housing.listings.url IS 'Absolute URL of the listing''s page on zillow.com.';
COMMENT ON COLUMN housing.listings.address IS 'Address as Zillow shows it (may start with a building or complex name).';
COMMENT ON COLUMN housing.listings.street IS 'Street address with unit, e.g. 41 River Rd #A9.';
COMMENT ON COLUMN housing.listings.city IS 'City or neighbourhood Zillow files the listing under.';
COMMENT ON COLUMN housing.listings.state IS 'Two-letter state code.';
COMMENT ON COLUMN housing.listings.zip IS 'ZIP code as text, leading zeros kept (04011).';
COMMENT ON COLUMN housing.listings.price IS 'Asking price in whole dollars (monthly rent for rentals, sale price for sold homes); for a building, its cheapest unit.';
COMMENT ON COLUMN housing.listings.price_text IS 'Price as displayed, e.g. "$1,699/mo", "$2,225+" or "$2,045+ 1 bd".';
COMMENT ON COLUMN housing.listings.beds IS 'Bedrooms (0 = studio); empty for buildings, see units.';
COMMENT ON COLUMN housing.listings.baths IS 'Bathrooms, halves included (2.5).';
COMMENT ON COLUMN housing.listings.sqft IS 'Living area in square feet.';
COMMENT ON COLUMN housing.listings.lot_size IS 'Lot area in square feet (acres converted at 43,560 sq ft).';
COMMENT ON COLUMN housing.listings.latitude IS 'Latitude (WGS84).';
COMMENT ON COLUMN housing.listings.longitude IS 'Longitude (WGS84).';
COMMENT ON COLUMN housing.listings.home_type IS 'Zillow home type: SINGLE_FAMILY, CONDO, TOWNHOUSE, APARTMENT, MULTI_FAMILY, LOT, ...';
COMMENT ON COLUMN housing.listings.status IS 'Zillow status: FOR_SALE, FOR_RENT, SOLD, RECENTLY_SOLD, PENDING, ...';
COMMENT ON COLUMN housing.listings.status_text IS 'Status line as displayed, e.g. "House for rent"; for buildings Zillow puts the building name here.';
COMMENT ON COLUMN housing.listings.days_on_market IS 'Days on Zillow when last crawled.';
COMMENT ON COLUMN housing.listings.listed_date IS 'Date the listing was posted (details page datePostedString); empty until details were fetched.';
COMMENT ON COLUMN housing.listings.availability_date IS 'Rentals: date the unit becomes available.';
COMMENT ON COLUMN housing.listings.sold_date IS 'Date of sale, for sold listings.';
COMMENT ON COLUMN housing.listings.sold_price IS 'Sale price in whole dollars, for sold listings.';
COMMENT ON COLUMN housing.listings.zestimate IS 'Zillow''s estimate of the sale value, in dollars.';
COMMENT ON COLUMN housing.listings.rent_zestimate IS 'Zillow''s estimate of the monthly rent, in dollars.';
COMMENT ON COLUMN housing.listings.year_built IS 'Year the home was built.';
COMMENT ON COLUMN housing.listings.is_building IS 'True for an apartment building listed with several units (see units), false for a single home or unit.';
COMMENT ON COLUMN housing.listings.building_name IS 'Name of the building or complex, e.g. Atlantic Pointe.';
COMMENT ON COLUMN housing.listings.units IS 'Buildings: unit groups as JSON [{"beds": 1, "price": 2225, "price_text": "$2,225+"}, ...].';
COMMENT ON COLUMN housing.listings.broker IS 'Listing broker or property manager.';
COMMENT ON COLUMN housing.listings.facts IS 'Details page facts (Zillow resoFacts: heating, parking, HOA, appliances, ...) as JSON.';
COMMENT ON COLUMN housing.listings.search IS 'The search the listing was found by: the spider''s search argument, or the search page''s URL.';
SELECT platform.track('housing.listings', true);

CREATE TABLE housing.price_history (
    zpid              text NOT NULL,
    event_date        date NOT NULL,
    event             text NOT NULL,
    price             bigint,
    price_per_sqft    integer,
    price_change_rate double precision,
    source            text,
    posting_is_rental boolean,
    PRIMARY KEY (zpid, event_date, event)
);
COMMENT ON TABLE housing.price_history IS 'Price history of a home as its Zillow details page lists it (fetched with -a details=1): listings, price changes, sales.';
COMMENT ON COLUMN housing.price_history.zpid IS 'Zillow property id (housing.listings.zpid).';
COMMENT ON COLUMN housing.price_history.event_date IS 'Date of the event.';
COMMENT ON COLUMN housing.price_history.event IS 'What happened: Listed for sale, Price change, Pending sale, Sold, Listed for rent, Listing removed, ...';
COMMENT ON COLUMN housing.price_history.price IS 'Price after the event, in whole dollars.';
COMMENT ON COLUMN housing.price_history.price_per_sqft IS 'Price per square foot, in dollars.';
COMMENT ON COLUMN housing.price_history.price_change_rate IS 'Change against the previous price as a fraction (-0.024 = 2.4 % cut).';
COMMENT ON COLUMN housing.price_history.source IS 'Who reported it: the MLS, Public Record, ...';
COMMENT ON COLUMN housing.price_history.posting_is_rental IS 'True when the event concerns a rental posting.';
SELECT platform.track('housing.price_history');

CREATE TABLE housing.tax_history (
    zpid                text NOT NULL,
    year                integer NOT NULL,
    tax_paid            numeric(12, 2),
    tax_increase_rate   double precision,
    assessed_value      bigint,
    value_increase_rate double precision,
    PRIMARY KEY (zpid, year)
);
COMMENT ON TABLE housing.tax_history IS 'Property tax and assessment per year, from the Zillow details page (fetched with -a details=1).';
COMMENT ON COLUMN housing.tax_history.zpid IS 'Zillow property id (housing.listings.zpid).';
COMMENT ON COLUMN housing.tax_history.year IS 'Tax year.';
COMMENT ON COLUMN housing.tax_history.tax_paid IS 'Property tax paid that year, in dollars and cents.';
COMMENT ON COLUMN housing.tax_history.tax_increase_rate IS 'Change of the tax against the year before, as a fraction.';
COMMENT ON COLUMN housing.tax_history.assessed_value IS 'Assessed value that year, in whole dollars.';
COMMENT ON COLUMN housing.tax_history.value_increase_rate IS 'Change of the assessed value against the year before, as a fraction.';
SELECT platform.track('housing.tax_history');
