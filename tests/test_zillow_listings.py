"""zillow_listings: every Zillow layout parsed field by field, pagination, details, block and error paths.

Expected values were read from the fixtures (fixtures/zillow_listings/, see its
PROVENANCE.md), or are looked up in the page's own JSON inside the test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import scrapy
from scrapy.http import HtmlResponse, TextResponse

from pde.records import Rejected, validate
from pde.sources import ParseError
from scrapers.housing.records import Listing, PriceEvent, TaxRecord
from scrapers.housing.zillow_listings import (
    ZillowListingsSpider,
    listing_from_card,
    money,
    search_url,
    split_address,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zillow_listings"
SQL = Path(__file__).resolve().parent.parent / "sql" / "0002_housing.sql"
BRUNSWICK = "https://www.zillow.com/brunswick-me-04011/rentals/"
BOSTON = "https://www.zillow.com/boston-ma/rentals/"
API = "https://www.zillow.com/async-create-search-page-state"
DETAILS = "https://www.zillow.com/homedetails/12-Example-Rd-Brunswick-ME-04011/84890001_zpid/"
NEXT = '<html><script id="__NEXT_DATA__" type="application/json">{}</script></html>'


def response(name: str, url: str, body: bytes | None = None):
    data = body if body is not None else (FIXTURES / name).read_bytes()
    cls = TextResponse if name.endswith(".json") else HtmlResponse
    return cls(url=url, body=data, encoding="utf-8")


def crawl(name: str, url: str, body: bytes | None = None, **args) -> list:
    return list(ZillowListingsSpider(**args).parse(response(name, url, body)))


def records(out: list, kind=Listing) -> dict:
    return {r.zpid if kind is Listing else (r.zpid, getattr(r, "event_date", None) or r.year): r
            for r in out if isinstance(r, kind)}


def requests(out: list) -> list[scrapy.Request]:
    return [r for r in out if isinstance(r, scrapy.Request)]


def next_data(html: str) -> dict:
    return json.loads(re.search(r'<script id="__NEXT_DATA__"[^>]*>(.*?)</script>', html, re.S).group(1))


@pytest.fixture(scope="module")
def brunswick() -> list:
    return crawl("zillow-search-04011-20250601.html", BRUNSWICK)


@pytest.fixture(scope="module")
def brunswick_rows() -> list[dict]:
    html = (FIXTURES / "zillow-search-04011-20250601.html").read_text(encoding="utf-8")
    return next_data(html)["props"]["pageProps"]["searchPageState"]["cat1"]["searchResults"]["listResults"]


@pytest.fixture(scope="module")
def boston() -> list:
    return crawl("zillow-search-boston-20260402-1.html", BOSTON)


# -- layout 1: current search page, __NEXT_DATA__ (real) ------------------------------
def test_next_data_page_gives_every_row_in_order(brunswick, brunswick_rows):
    listings = [r for r in brunswick if isinstance(r, Listing)]
    assert len(brunswick) == 36 and len(listings) == 36
    assert [r.zpid for r in listings] == [row["zpid"] for row in brunswick_rows]
    assert sum(r.is_building for r in listings) == 6
    assert sum(r.is_building is False for r in listings) == 30
    assert all(validate(r) is None for r in listings)


def test_next_data_unit_row(brunswick):
    r = records(brunswick)["343985606"]
    assert r.url == "https://www.zillow.com/apartments/brunswick-me/41-river-rd./CjNMfF/"
    assert r.address == "41 River Rd., 41 River Rd #A9, Brunswick, ME 04011"
    assert (r.street, r.city, r.state, r.zip) == ("41 River Rd #A9", "Brunswick", "ME", "04011")
    assert r.price == 1699 and r.price_text == "$1,699/mo"
    assert r.beds == Decimal(2) and r.baths == Decimal(1) and r.sqft == 700
    assert (r.latitude, r.longitude) == (43.914337, -69.98345)
    assert r.home_type == "APARTMENT"
    assert r.status == "FOR_RENT" and r.status_text == "Apartment for rent"
    assert r.days_on_market == 31
    assert r.availability_date == dt.date(2025, 6, 23)
    assert r.rent_zestimate == 1710 and r.zestimate is None
    assert r.broker == "Maine Real Estate Management LLC"
    assert r.is_building is False and r.units is None and r.building_name is None
    assert r.listed_date is None and r.sold_date is None and r.facts is None
    assert r.search == BRUNSWICK


def test_next_data_house_and_studio_rows(brunswick):
    house = records(brunswick)["114300037"]
    assert house.url == "https://www.zillow.com/homedetails/180-Columbia-Ave-Brunswick-ME-04011/114300037_zpid/"
    assert (house.price, house.price_text) == (3300, "$3,300/mo")
    assert (house.beds, house.baths, house.sqft) == (Decimal(3), Decimal(2), 1665)
    assert (house.latitude, house.longitude) == (43.904793, -69.98476)
    assert house.home_type == "SINGLE_FAMILY" and house.status_text == "House for rent"
    assert (house.zestimate, house.rent_zestimate, house.days_on_market) == (405300, 2937, 62)
    assert house.availability_date == dt.date(2025, 9, 1)
    hidden = records(brunswick)["2085145720"]  # isUndisclosedAddress, empty latLong
    assert hidden.address == "(undisclosed Address), Brunswick, ME 04011" and hidden.street is None
    assert (hidden.city, hidden.zip, hidden.latitude, hidden.longitude) == ("Brunswick", "04011", None, None)
    assert (hidden.price, hidden.home_type, hidden.zestimate) == (2275, "TOWNHOUSE", 416200)
    studio = records(brunswick)["84948074"]
    assert (studio.beds, studio.baths, studio.sqft, studio.price) == (Decimal(0), Decimal(1), 440, 1550)


def test_next_data_building_rows(brunswick):
    b = records(brunswick)["43.90381--69.918846"]
    assert b.is_building is True and b.building_name == "Atlantic Pointe"
    assert b.url == "https://www.zillow.com/b/building/43.90381,-69.918846_ll/"
    assert b.units == [
        {"beds": 1, "price": 2225, "price_text": "$2,225+", "room_for_rent": False},
        {"beds": 2, "price": 2602, "price_text": "$2,602+", "room_for_rent": False},
    ]
    assert (b.price, b.price_text) == (2225, "$2,225+")
    assert b.address == "10 Townsend Ln, Brunswick, ME" and b.zip == "04011"
    assert (b.latitude, b.longitude) == (43.90381, -69.918846)
    assert b.status == "FOR_RENT" and b.status_text == "Atlantic Pointe"
    assert b.beds is None and b.baths is None and b.home_type is None and b.days_on_market is None
    west = records(brunswick)["43.894203--69.92451"]
    assert west.units == [{"beds": 2, "price": 1602, "price_text": "$1,602+", "room_for_rent": False}]
    assert west.price == 1602 and west.url == "https://www.zillow.com/apartments/brunswick-me/haven-west/CkBHgk/"


def test_next_data_rows_match_their_json(brunswick, brunswick_rows):
    got = records(brunswick)
    for row in brunswick_rows:
        r = got[row["zpid"]]
        assert r.zip == row["addressZipcode"] == "04011"
        assert r.city == row["addressCity"] and r.state == row["addressState"]
        assert (r.latitude, r.longitude) == (row["latLong"].get("latitude"), row["latLong"].get("longitude"))
        if row.get("isBuilding"):
            assert r.price == min(money(u["price"]) for u in row["units"])
        else:
            assert r.price == row["unformattedPrice"] == row["hdpData"]["homeInfo"]["price"]
            assert r.sqft == row.get("area") and r.beds == Decimal(row["beds"])


def test_next_data_single_page_requests_nothing_more(brunswick):
    assert requests(brunswick) == []


def test_next_data_pagination_builds_page_urls():
    html = (FIXTURES / "zillow-search-04011-20250601.html").read_text(encoding="utf-8")
    three_pages = html.replace('"totalPages": 1', '"totalPages": 3').encode()
    [nxt] = requests(crawl("x.html", BRUNSWICK, three_pages))
    assert nxt.url == "https://www.zillow.com/brunswick-me-04011/rentals/2_p/"
    assert nxt.meta["zillow_page"] == 2 and nxt.callback.__name__ == "parse"
    assert requests(crawl("x.html", BRUNSWICK, three_pages, pages="1")) == []
    assert requests(crawl("x.html", "file:///tmp/saved.html", three_pages)) == []


# -- layout 4: rendered property cards only (real) ------------------------------------
def test_cards_all_parsed(boston):
    listings = [r for r in boston if isinstance(r, Listing)]
    assert [r.zpid for r in listings] == [
        "42.264652--71.15673", "42.27969--71.08847", "459362582", "42.31953--71.03987", "42.35364--71.13968",
        "42.348885--71.130974", "2072000832", "42.353363--71.12713", "42.284348--71.0922",
    ]
    assert [r.is_building for r in listings] == [True, True, False, True, True, True, False, True, True]
    assert all(r.status == "FOR_RENT" and r.search == BOSTON for r in listings)
    assert all(validate(r) is None for r in listings)


def test_card_unit(boston):
    r = records(boston)["2072000832"]
    assert r.url == "https://www.zillow.com/apartments/allston-ma/malvern-place-apartments/CjgyQ2/"
    assert (r.price, r.price_text) == (3000, "$3,000/mo")
    assert (r.beds, r.baths, r.sqft) == (Decimal(2), Decimal(2), 800)
    assert r.address == "Malvern Place Apartments, 40 Malvern St #105, Allston, MA 02134"
    assert (r.street, r.city, r.state, r.zip) == ("40 Malvern St #105", "Allston", "MA", "02134")
    assert r.status_text == "Apartment for rent"
    assert r.latitude is None and r.units is None and r.is_building is False
    river = records(boston)["459362582"]
    assert (river.price, river.price_text) == (1950, "$1,950+/mo")
    assert (river.beds, river.baths, river.sqft) == (Decimal(1), Decimal(1), None)  # "-- sqft"
    assert river.zip == "02126"


def test_card_buildings(boston):
    glen = records(boston)["42.264652--71.15673"]
    assert glen.building_name == "Rockingham Glen"
    assert glen.address == "30 Rockingham Ave, West Roxbury, MA"
    assert (glen.street, glen.city, glen.state, glen.zip) == ("30 Rockingham Ave", "West Roxbury", "MA", None)
    assert (glen.latitude, glen.longitude) == (42.264652, -71.15673)
    assert glen.url == "https://www.zillow.com/apartments/west-roxbury-ma/rockingham-glen/5XjW9P/"
    assert (glen.price, glen.price_text) == (2045, "$2,045+ 1 bd")
    assert glen.units == [{"beds": 1, "price": 2045, "price_text": "$2,045+"},
                          {"beds": 2, "price": 2975, "price_text": "$2,975+"}]
    assert glen.beds is None
    # headline "$2,235+ 1 bd" is a cheaper unit group than the 2bd/3bd boxes shown
    harbor = records(boston)["42.31953--71.03987"]
    assert harbor.price == 2235
    assert [(u["beds"], u["price"]) for u in harbor.units] == [(1, 2235), (2, 2586), (3, 3758)]
    # no inventory boxes; its details list holds only the building name
    royce = records(boston)["42.348885--71.130974"]
    assert royce.building_name == "24 Royce Rd." and royce.address == "24 Royce Rd, Boston, MA"
    assert royce.units == [{"beds": 2, "price": 2795, "price_text": "$2,795+"}]
    assert (royce.price, royce.beds) == (2795, None)


def test_cards_pagination(boston):
    [nxt] = requests(boston)
    assert nxt.url == "https://www.zillow.com/boston-ma/rentals/2_p/" and nxt.meta["zillow_page"] == 2
    assert requests(crawl("zillow-search-boston-20260402-1.html", BOSTON, pages=1)) == []
    assert requests(crawl("zillow-search-boston-20260402-1.html", "file:///home/me/boston.html")) == []


def test_cards_under_an_unknown_next_data_still_parse():
    html = (FIXTURES / "zillow-search-boston-20260402-1.html").read_text(encoding="utf-8")
    html = html.replace("</body>", NEXT.format('{"props": {"pageProps": {"other": 1}}}') + "</body>")
    out = crawl("x.html", BOSTON, html.encode())
    assert len([r for r in out if isinstance(r, Listing)]) == 9


def test_card_without_zpid_is_rejected():
    sel = scrapy.Selector(text='<article data-testid="property-card"><address>1 A St, B, MA</address></article>')
    rejected = listing_from_card(sel.css("article")[0])
    assert isinstance(rejected, Rejected) and rejected.table == "housing.listings"
    assert "zpid" in rejected.reason and "1 A St" in rejected.raw


# -- layout 2: search API JSON (synthetic) ---------------------------------------------
def test_api_json():
    out = crawl("search_api_page.json", API)
    got = records(out)
    assert list(got) == ["84890001", "2055000002", "114300999"]  # map duplicate dropped, map-only kept
    r = got["84890001"]
    assert r.url == DETAILS
    assert (r.price, r.price_text, r.status, r.status_text) == (415000, "$415,000", "FOR_SALE", "House for sale")
    assert (r.beds, r.baths, r.sqft, r.lot_size) == (Decimal(3), Decimal(2), 1850, 14810)  # 0.34 acres
    assert (r.zestimate, r.rent_zestimate, r.days_on_market) == (431200, 2650, 17)
    assert (r.home_type, r.broker, r.zip) == ("SINGLE_FAMILY", "Example Realty Group", "04011")
    assert r.search == "Brunswick ME 04011"
    condo = got["2055000002"]
    assert (condo.baths, condo.lot_size, condo.home_type) == (Decimal("1.5"), 2178, "CONDO")
    lot = got["114300999"]
    assert (lot.price, lot.price_text, lot.lot_size) == (1200000, "$1.2M", 544500)
    assert lot.url == "https://www.zillow.com/homedetails/3-Placeholder-St-Brunswick-ME-04011/114300999_zpid/"
    [nxt] = requests(out)
    assert nxt.url == "https://www.zillow.com/brunswick-me-04011/2_p/"


def test_api_json_bad_rows_are_rejected():
    doc = json.loads((FIXTURES / "search_api_page.json").read_text())
    good = doc["cat1"]["searchResults"]["listResults"][0]
    bad_price = dict(good, zpid="999", hdpData=None, unformattedPrice={"amount": 1}, price=None)
    doc["cat1"]["searchResults"] = {"listResults": [{"zpid": "", "price": "$1"}, "junk", bad_price, good]}
    out = crawl("x.json", API, json.dumps(doc).encode())
    rejected = [r for r in out if isinstance(r, Rejected)]
    assert [r.raw for r in rejected] == [{"zpid": "", "price": "$1"}, "junk", bad_price]
    assert "no zpid" in rejected[0].reason and "not an object" in rejected[1].reason
    assert rejected[2].reason.startswith("search row 999: TypeError")
    assert {r.table for r in rejected} == {"housing.listings"}
    assert list(records(out)) == ["84890001"]


# -- layout 3: old mobileSearchPageStore page (synthetic) -----------------------------
def test_old_search_page():
    out = crawl("old_search_page_sold.html", "https://www.zillow.com/homes/recently_sold/33160_rb/")
    got = records(out)
    assert list(got) == ["43910001", "43910002", "43910003"]
    sold = got["43910001"]
    assert sold.status == "RECENTLY_SOLD" and sold.status_text == "Sold"
    assert (sold.sold_date, sold.sold_price) == (dt.date(2019, 12, 16), 1150000)
    assert (sold.price, sold.price_text) == (1150000, None)  # "price": null on sold rows
    assert sold.address == "100 Example Ave APT 1203, Sunny Isles Beach, FL 33160"
    assert (sold.street, sold.city, sold.zip) == ("100 Example Ave APT 1203", "Sunny Isles Beach", "33160")
    assert (sold.beds, sold.baths, sold.sqft, sold.year_built) == (Decimal(3), Decimal("2.5"), 2100, 2005)
    assert sold.lot_size is None and sold.days_on_market is None  # -1 in the page
    assert sold.broker == "Example Brokers of Miami" and sold.search == "33160"
    active = got["43910002"]
    assert (active.price, active.price_text, active.days_on_market) == (649000, "$649,000", 126)
    assert (active.lot_size, active.year_built, active.sold_date) == (7500, 1968, None)
    assert got["43910003"].sold_date == dt.date(2019, 11, 2)  # from "Sold 11/02/2019", no dateSold
    assert got["43910003"].sold_price == 512500


# -- layout 5: home details (synthetic) -------------------------------------------------
def test_home_details():
    out = crawl("home_details.html", DETAILS, details="1")
    [r] = [o for o in out if isinstance(o, Listing)]
    assert r.zpid == "84890001" and r.url == DETAILS
    assert r.address == "12 Example Rd, Brunswick, ME 04011"
    assert (r.street, r.city, r.state, r.zip) == ("12 Example Rd", "Brunswick", "ME", "04011")
    assert (r.price, r.beds, r.baths, r.sqft, r.lot_size) == (415000, Decimal(3), Decimal(2), 1850, 14810)
    assert (r.listed_date, r.days_on_market, r.year_built) == (dt.date(2025, 5, 16), 17, 1978)
    assert (r.zestimate, r.rent_zestimate, r.home_type, r.status) == (431200, 2650, "SINGLE_FAMILY", "FOR_SALE")
    assert r.sold_date is None and r.sold_price is None  # lastSoldPrice is an old sale
    assert r.broker == "Example Realty Group"
    assert r.facts["heating"] == ["Forced Air", "Oil"] and r.facts["garageParkingCapacity"] == 2
    assert "cooling" not in r.facts and "associationFee" not in r.facts  # nulls dropped
    assert r.search is None and r.price_text is None  # keep what the search page said

    events = [o for o in out if isinstance(o, PriceEvent)]
    assert [(e.event_date, e.event, e.price, e.price_per_sqft, e.source) for e in events] == [
        (dt.date(2025, 5, 28), "Price change", 415000, 224, "Maine Listings"),
        (dt.date(2025, 5, 16), "Listed for sale", 425000, 230, "Maine Listings"),
        (dt.date(2019, 7, 1), "Sold", 305000, 165, "Public Record"),
    ]
    assert events[0].price_change_rate == pytest.approx(-0.0235294) and events[0].posting_is_rental is False
    taxes = [o for o in out if isinstance(o, TaxRecord)]
    assert [(t.year, t.tax_paid, t.assessed_value) for t in taxes] == [
        (2024, Decimal("4321.56"), 312000), (2023, Decimal("4191.10"), 297100)]
    assert (taxes[0].tax_increase_rate, taxes[0].value_increase_rate) == (0.031, 0.05)
    assert all(validate(o) is None for o in out)
    assert requests(out) == []  # a details page leads nowhere


def test_home_details_bad_history_rows_are_rejected():
    html = (FIXTURES / "home_details.html").read_text()
    nd = next_data(html)
    cache = json.loads(nd["props"]["pageProps"]["componentProps"]["gdpClientCache"])
    prop = next(iter(cache.values()))["property"]
    prop["priceHistory"] = [{"event": "Listed for sale", "price": 1}, prop["priceHistory"][0], "junk"]
    prop["taxHistory"] = [{"taxPaid": 10.5}]
    nd["props"]["pageProps"]["componentProps"]["gdpClientCache"] = json.dumps(cache)
    body = f'<html><script id="__NEXT_DATA__" type="application/json">{json.dumps(nd)}</script></html>'
    out = crawl("x.html", DETAILS, body.encode())
    rejected = [o for o in out if isinstance(o, Rejected)]
    assert [(r.table, r.raw) for r in rejected] == [
        ("housing.price_history", {"event": "Listed for sale", "price": 1}),
        ("housing.price_history", "junk"),
        ("housing.tax_history", {"taxPaid": 10.5}),
    ]
    assert len([o for o in out if isinstance(o, PriceEvent)]) == 1


# -- details requests ----------------------------------------------------------------
def test_details_option_requests_each_home(brunswick_rows):
    out = crawl("zillow-search-04011-20250601.html", BRUNSWICK, details="1")
    urls = [r.url for r in requests(out)]
    homes = [row for row in brunswick_rows if not row.get("isBuilding")]
    assert len(urls) == len(homes) == 30
    for url, row in zip(urls, homes, strict=True):
        if "/homedetails/" in row["detailUrl"]:
            assert url == row["detailUrl"]
        else:  # /apartments/... and /b/... links lead to building pages
            assert url == f"https://www.zillow.com/homedetails/{row['zpid']}_zpid/"
    assert urls[:2] == ["https://www.zillow.com/homedetails/343985606_zpid/",
                        "https://www.zillow.com/homedetails/180-Columbia-Ave-Brunswick-ME-04011/114300037_zpid/"]
    assert all(r.callback.__name__ == "parse" for r in requests(out))
    assert requests(crawl("zillow-search-04011-20250601.html", BRUNSWICK, details="0")) == []
    assert requests(crawl("zillow-search-04011-20250601.html", "file:///tmp/04011.html", details="1")) == []


# -- live requests ----------------------------------------------------------------
def test_live_requests_from_arguments():
    def first(**args):
        [req] = list(ZillowListingsSpider(**args).live_requests())
        return req.url

    assert first(search="04011") == "https://www.zillow.com/homes/04011_rb/"
    assert first(search="Brunswick, ME", status="for_rent") == "https://www.zillow.com/homes/for_rent/Brunswick,-ME_rb/"
    assert first(search="33160", status="sold") == "https://www.zillow.com/homes/recently_sold/33160_rb/"
    assert first(search_url=BOSTON) == BOSTON
    with pytest.raises(ValueError, match="search"):
        list(ZillowListingsSpider().live_requests())
    with pytest.raises(ValueError, match="for_sale, for_rent, sold"):
        ZillowListingsSpider(search="04011", status="rented")
    spider = ZillowListingsSpider(search="04011", pages="3", details="1")
    assert (spider.pages, spider.details) == (3, True)
    assert ZillowListingsSpider(search="04011").search == "04011"


def test_search_argument_labels_rows():
    out = crawl("zillow-search-04011-20250601.html", BRUNSWICK, search="04011")
    assert {r.search for r in out if isinstance(r, Listing)} == {"04011"}


# -- block page and unknown content ----------------------------------------------------
def test_block_page_raises_and_spider_markers_find_it():
    with pytest.raises(ParseError, match="block page"):
        crawl("captcha_page.html", BOSTON)
    captcha = (FIXTURES / "captcha_page.html").read_text()
    assert any(m in captcha for m in ZillowListingsSpider.block_markers)
    assert ZillowListingsSpider.block_headers == ("x-px-blocked",)
    assert "zillow_listings -a url=" in ZillowListingsSpider.block_advice


@pytest.mark.parametrize("name", ["zillow-search-04011-20250601.html", "zillow-search-boston-20260402-1.html"])
def test_block_markers_do_not_fire_on_real_pages(name):
    page = (FIXTURES / name).read_text(encoding="utf-8")
    assert not [m for m in ZillowListingsSpider.block_markers if m in page]


@pytest.mark.parametrize("name, body, expected", [
    ("x.html", b"<html><head><title>Hello</title></head><body>nothing</body></html>",
     "title 'Hello'.*matches no Zillow layout"),
    ("x.json", b'{"foo": 1, "bar": []}', r"no Zillow search results.*\['bar', 'foo'\]"),
    ("x.json", b"[1, 2]", "no Zillow search results"),
    ("x.json", b"{not json", "expected JSON"),
    ("x.html", NEXT.format('{"props": {').encode(), "__NEXT_DATA__.*expected JSON"),
    ("x.html", NEXT.format('{"props": {"pageProps": {}}}').encode(), "no Zillow search results"),
    ("x.html", NEXT.format('{"props": []}').encode(), "no Zillow search results"),
    ("x.html", NEXT.format('{"props": {"pageProps": {"componentProps": {"gdpClientCache": "[]"}}}}').encode(),
     "gdpClientCache holds no 'property'"),
])
def test_unknown_content_raises_parse_error(name, body, expected):
    with pytest.raises(ParseError, match=expected) as err:
        crawl(name, "https://www.zillow.com/some/page/", body)
    assert "https://www.zillow.com/some/page/" in str(err.value)


# -- helpers ----------------------------------------------------------------------
@pytest.mark.parametrize("text, dollars", [
    ("$1,699/mo", 1699), ("$2,225+", 2225), ("$1.2M", 1200000), ("$415K", 415000), (3300, 3300),
    (1699.6, 1700), ("289900", 289900), ("Contact for price", None), (None, None), ("$2,045+ 1 bd", 2045),
])
def test_money(text, dollars):
    assert money(text) == dollars


def test_split_address():
    assert split_address("Gardner Street Apartments, 75-84 Gardner St, Allston, MA 02134") == (
        "75-84 Gardner St", "Allston", "MA", "02134")
    assert split_address("24 Royce Rd, Boston, MA") == ("24 Royce Rd", "Boston", "MA", None)
    assert split_address("Somewhere") == (None, None, None, None)


# -- contract: SQL and cassettes ------------------------------------------------------
@pytest.mark.parametrize("record", [Listing, PriceEvent, TaxRecord])
def test_sql_has_every_column_with_a_comment(record):
    sql = SQL.read_text()
    create = re.search(rf"CREATE TABLE {record.table} \((.*?)\n\);", sql, re.S).group(1)
    columns = [line.split()[0] for line in create.strip().splitlines() if not line.strip().startswith("PRIMARY")]
    assert columns == [c.name for c in record.columns()]
    for c in columns:
        assert f"COMMENT ON COLUMN {record.table}.{c} IS" in sql
    assert f"COMMENT ON TABLE {record.table} IS" in sql
    history = ", true" if record.history else ""
    assert f"SELECT platform.track('{record.table}'{history});" in sql
    key = re.search(r"PRIMARY KEY \(([^)]*)\)", create)
    assert (tuple(k.strip() for k in key.group(1).split(",")) if key else ("zpid",)) == record.key


def test_cassettes_replay_the_spiders_own_request():
    from pde.cassettes import Replayer, body_bytes, metadata

    for name, expect in (("search_04011.json", "succeeded"), ("blocked.json", "blocked")):
        meta = metadata(FIXTURES / name)
        assert (meta["spider"], meta["expect"]) == ("zillow_listings", expect)
        [req] = list(ZillowListingsSpider(**meta["args"]).live_requests())
        assert req.url == search_url("04011", "for_rent")
        found = Replayer(FIXTURES / name).find("GET", req.url)
        assert found is not None
        body = body_bytes(found["body"])
        if expect == "blocked":
            with pytest.raises(ParseError, match="block page"):
                crawl("x.html", req.url, body)
        else:
            out = crawl("x.html", req.url, body, **meta["args"])
            assert len([r for r in out if isinstance(r, Listing)]) == 36 and requests(out) == []
