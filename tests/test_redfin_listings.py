"""redfin_listings: the CSV export parsed field by field, real crawls of its cassettes into PostgreSQL, the
block and rate-limit answers, and one listing model with Zillow (a constructed pair of the same home).

Expected values are read from the CSV with the csv module in the test (or written by hand from the
file), never taken from the parser's output.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal

import pytest

from pde.records import Rejected
from pde.sources import ArgError, ParseError
from scrapers.housing.redfin_listings import (
    REGION_TYPES,
    URL_COLUMN,
    RedfinListing,
    RedfinListingsSpider,
    gis_csv_url,
    region_from_url,
)
from tests.conftest import run_crawl
from tests.helpers import count, crawl_cassette, fixture, last_run, of, parse_saved, rows

FOR_SALE = fixture("redfin_listings", "redfin_boston_for_sale.csv")
SOLD = fixture("redfin_listings", "redfin_boston_sold.csv")
ZILLOW_SEARCH = fixture("zillow_listings", "search_04011.json")


def export_rows(path) -> list[dict]:
    """The data rows of an export as csv.DictReader sees them (the one-cell disclaimer line left out)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [r for r in csv.DictReader(f) if r.get(URL_COLUMN)]


def blank(value):
    return value if value != "" else None


@pytest.mark.parametrize("path", [FOR_SALE, SOLD], ids=["for_sale", "sold"])
def test_every_row_field_by_field(path):
    records = of(parse_saved("redfin_listings", path), RedfinListing)
    expected = export_rows(path)
    assert len(records) == len(expected) > 0
    for rec, row in zip(records, expected, strict=True):
        assert rec.redfin_id == re.search(r"/home/(\d+)$", row[URL_COLUMN]).group(1)
        assert rec.url == row[URL_COLUMN]
        assert (rec.sale_type, rec.status, rec.property_type) == (
            blank(row["SALE TYPE"]), row["STATUS"], row["PROPERTY TYPE"])
        assert (rec.address, rec.city, rec.state, rec.zip, rec.neighborhood) == (
            row["ADDRESS"], row["CITY"], row["STATE OR PROVINCE"], row["ZIP OR POSTAL CODE"], row["LOCATION"])
        for field, column in (("price", "PRICE"), ("sqft", "SQUARE FEET"), ("lot_size", "LOT SIZE"),
                              ("year_built", "YEAR BUILT"), ("days_on_market", "DAYS ON MARKET"),
                              ("price_per_sqft", "$/SQUARE FEET"), ("hoa_month", "HOA/MONTH")):
            assert getattr(rec, field) == (int(row[column]) if row[column] else None), field
        assert rec.beds == (Decimal(row["BEDS"]) if row["BEDS"] else None)
        assert rec.baths == (Decimal(row["BATHS"]) if row["BATHS"] else None)
        assert (rec.latitude, rec.longitude) == (float(row["LATITUDE"]), float(row["LONGITUDE"]))
        assert (rec.mls_source, rec.mls_number) == (blank(row["SOURCE"]), blank(row["MLS#"]))
        assert (rec.favorite, rec.interested) == (row["FAVORITE"] == "Y", row["INTERESTED"] == "Y")
        assert (rec.sold_date is None) == (row["SOLD DATE"] == "")


def test_values_written_by_hand():
    records = {r.redfin_id: r for r in of(parse_saved("redfin_listings", FOR_SALE), RedfinListing)}
    charles = records["8675301"]  # line 3: 75 Charles St Unit 3, with an open house
    assert charles.zip == "02114" and charles.baths == Decimal("1.5") and charles.hoa_month == 410
    assert charles.next_open_house_start == dt.datetime(2026, 12, 6, 11, 0)
    assert charles.next_open_house_end == dt.datetime(2026, 12, 6, 12, 30)
    assert (charles.favorite, charles.interested) == (False, True)
    land = records["8675306"]  # Vacant Land: no beds, baths or living area
    assert (land.beds, land.baths, land.sqft, land.lot_size) == (None, None, None, 8276)
    pre = records["8675308"]  # Pre On-Market: no sale type, price or MLS number yet
    assert (pre.status, pre.sale_type, pre.price, pre.mls_number) == ("Pre On-Market", None, None, None)
    assert records["8675307"].status == "Coming Soon" and records["8675307"].days_on_market is None
    sold = {r.redfin_id: r for r in of(parse_saved("redfin_listings", SOLD), RedfinListing)}
    assert sold["8675321"].sold_date == dt.date(2026, 10, 15) and sold["8675321"].price == 862000


def test_disclaimer_line_is_skipped_not_quarantined():
    lines = FOR_SALE.read_text().splitlines()
    assert lines[1].startswith('"In accordance with local MLS rules')
    items = parse_saved("redfin_listings", FOR_SALE)
    assert not of(items, Rejected)
    assert len(items) == sum("/home/" in line for line in lines)


def test_header_is_found_by_name_not_position(tmp_path):
    with open(SOLD, newline="") as f:
        table = list(csv.reader(f))
    order = list(reversed(range(len(table[0]))))
    moved = tmp_path / "reordered.csv"
    with open(moved, "w", newline="") as f:
        csv.writer(f).writerows([[r[i] for i in order] for r in table])
    assert parse_saved("redfin_listings", moved) == parse_saved("redfin_listings", SOLD)


def test_cut_off_row_and_bad_values_are_quarantined_with_the_reason(tmp_path):
    text = SOLD.read_text()
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rindex(",MLS PIN,")])  # the last row stops in the middle
    cells = len(next(csv.reader([cut.read_text().splitlines()[-1]])))
    items = parse_saved("redfin_listings", cut)
    [rejected] = of(items, Rejected)
    assert f"line 5 has {cells} cells, the header 27" in rejected.reason
    assert len(of(items, RedfinListing)) == len(export_rows(SOLD)) - 1
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("October-15-2026", "the 15th"))
    [rejected] = of(parse_saved("redfin_listings", bad), Rejected)
    assert "home 8675321" in rejected.reason and "'the 15th' is not a date" in rejected.reason


@pytest.mark.parametrize("body, words", [
    (b"Date,Description,Amount\n2026-01-05,COFFEE,-3.50\n", "not a Redfin CSV export"),
    (b"<!DOCTYPE html><html><title>Redfin</title><body>Something went wrong</body></html>", "answered with a web page"),
    (b"", "empty answer"),
])
def test_other_answers_are_refused_with_what_they_are(body, words):
    with pytest.raises(ParseError, match=words):
        parse_saved("redfin_listings", body=body, url="file:///Downloads/redfin.csv")


# -- live requests ------------------------------------------------------------------------------------------
def test_live_request_addresses():
    spider = RedfinListingsSpider(region_id="1826", region_type="city")
    [request] = spider.live_requests()
    assert request.url == gis_csv_url("1826", 6)
    assert "region_id=1826" in request.url and "region_type=6" in request.url and "num_homes=350" in request.url
    sold = RedfinListingsSpider(search_url="https://www.redfin.com/city/1826/MA/Boston", status="sold", sold_days="30")
    [request] = sold.live_requests()
    assert "sold_within_days=30" in request.url and "region_id=1826" in request.url
    link = "https://www.redfin.com/stingray/api/gis-csv?al=1&region_id=17151&region_type=2&status=9&v=8"
    assert region_from_url(link) == ("17151", REGION_TYPES["zip"])
    with pytest.raises(ValueError, match="cannot tell the region .* 'Download All' link"):
        region_from_url("https://www.redfin.com/zipcode/02114")
    with pytest.raises(ArgError, match="status=for_rent is not allowed: status takes one of for_sale, sold"):
        RedfinListingsSpider(status="for_rent")
    with pytest.raises(ArgError, match="cannot tell the region"):  # refused before a crawl starts
        RedfinListingsSpider(search_url="https://www.redfin.com/zipcode/02114")


def test_a_live_crawl_without_a_region_is_a_usage_error(pg_url):
    proc = run_crawl("redfin_listings", db=pg_url, args={"status": "sold"})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "missing argument -a search_url=" in proc.stderr and "-a region_id=..." in proc.stderr


# -- crawls into PostgreSQL ------------------------------------------------------------------------------------
def test_crawl_of_the_for_sale_cassette(pg_url, pde_home):
    crawl = crawl_cassette(fixture("redfin_listings", "for_sale.json"), pg_url)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    run = last_run(pg_url, "redfin_listings")
    assert run["status"] == "succeeded" and run["items_quarantined"] == 0
    expected = export_rows(FOR_SALE)
    assert count(pg_url, "housing.redfin_listings") == len(expected)
    assert rows(pg_url, "SELECT sum(price), count(price), sum(hoa_month) FROM housing.redfin_listings") == [(
        sum(int(r["PRICE"]) for r in expected if r["PRICE"]), sum(1 for r in expected if r["PRICE"]),
        sum(int(r["HOA/MONTH"]) for r in expected if r["HOA/MONTH"]))]
    assert rows(pg_url, "SELECT zip FROM housing.redfin_listings WHERE redfin_id = '8675301'") == [("02114",)]
    again = crawl_cassette(fixture("redfin_listings", "for_sale.json"), pg_url)
    assert again.returncode == 0 and count(pg_url, "housing.redfin_listings") == len(expected)


def test_sold_rows_feed_the_house_value_model(pg_url, pde_home):
    assert crawl_cassette(fixture("redfin_listings", "sold.json"), pg_url).returncode == 0
    expected = {(r["ADDRESS"], int(r["PRICE"]), dt.datetime.strptime(r["SOLD DATE"], "%B-%d-%Y").date())
                for r in export_rows(SOLD)}
    got = set(rows(pg_url, "SELECT street, sold_price, sold_date FROM housing.sold_homes WHERE portal = 'redfin'"))
    assert got == expected
    from pde import data
    from pde.housing import value

    listings, _ = value.load(data.engine(pg_url, readonly=False))
    redfin = listings[listings["zpid"].str.startswith("redfin:")]
    assert {(r.address, r.sold_price, r.sold_date) for r in redfin.itertuples()} == expected
    homes = dict(zip(redfin["address"], redfin["home_type"], strict=True))
    assert homes["77 Cornell St"] == "SINGLE_FAMILY" and homes["9 Greenwich Park Unit 2"] == "CONDO"
    frame = value.training_frame(listings, None, "sale")
    assert len(frame[frame["zpid"].str.startswith("redfin:")]) == len(expected)


@pytest.mark.parametrize("cassette, sign", [("blocked.json", "page contains"),
                                            ("rate_limited.json", "HTTP 429")])
def test_block_and_rate_limit_answers(pg_url, pde_home, cassette, sign):
    crawl = crawl_cassette(fixture("redfin_listings", cassette), pg_url)
    assert crawl.returncode == 3, crawl.stderr[-3000:]
    run = last_run(pg_url, "redfin_listings")
    assert run["status"] == "blocked" and sign in run["message"]
    assert "click 'Download All'" in run["message"] and "Download All" in crawl.stderr
    assert count(pg_url, "housing.redfin_listings") == 0


# -- one listing model with Zillow ----------------------------------------------------------------------------
def test_address_key_spellings(pg_conn):
    cur = pg_conn.cursor()

    def key(street, zip_):
        cur.execute("SELECT housing.address_key(%s, %s)", (street, zip_))
        return cur.fetchone()[0]

    assert key("41 River Rd #A9", "04011") == key("41 RIVER ROAD, Unit A9", "04011-2210") == "04011 41 river rd #a9"
    assert key("16 Cushing St APT 3", "04011") == key("16 Cushing Street # 3", "04011")
    assert key("41 River Rd #A9", "04011") != key("41 River Rd #A8", "04011")
    assert key("41 River Rd", "04011") != key("41 River Rd", "04012")
    assert key(None, "04011") is None and key("41 River Rd", None) is None


def test_the_same_home_on_both_portals_is_one_property(pg_url, pde_home, tmp_path):
    """A constructed pair: a real Zillow listing, and a Redfin row for it spelled Redfin's way."""
    assert crawl_cassette(ZILLOW_SEARCH, pg_url).returncode == 0
    [(zpid, street, zip_, zprice, lat, lon)] = rows(pg_url, """
        SELECT zpid, street, zip, price, latitude, longitude FROM housing.listings
         WHERE NOT is_building AND street ~ ' (Rd|St) #' ORDER BY zpid LIMIT 1""")
    redfin_street = street.replace(" Rd ", " Road ").replace(" St ", " Street ").replace("#", "Unit ").upper()
    assert redfin_street != street
    with open(SOLD, newline="") as f:
        header = next(csv.reader(f))
    row = dict.fromkeys(header, "")
    row.update({"SALE TYPE": "MLS Listing", "PROPERTY TYPE": "Condo/Co-op", "ADDRESS": redfin_street,
                "CITY": "Brunswick", "STATE OR PROVINCE": "ME", "ZIP OR POSTAL CODE": zip_,
                "PRICE": str(zprice + 25), "STATUS": "Active", "LATITUDE": str(lat + 0.0001),
                "LONGITUDE": str(lon), URL_COLUMN: "https://www.redfin.com/ME/Brunswick/x/unit-1/home/99000001"})
    export = tmp_path / "redfin_brunswick.csv"
    with open(export, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerow(row)
    crawl = run_crawl("redfin_listings", db=pg_url, args={"url": str(export)})
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    both = rows(pg_url, "SELECT property_id, redfin_id, matched_on, zillow_price, redfin_price, price_difference "
                        "FROM housing.properties WHERE zpid = %s", (zpid,))
    assert both == [(f"zillow:{zpid}", "99000001", "address", zprice, zprice + 25, 25)]
    zillow_homes = rows(pg_url, "SELECT count(*) FROM housing.listings WHERE NOT is_building")[0][0]
    assert count(pg_url, "housing.properties") == zillow_homes  # the Redfin row joined one, added none
    assert rows(pg_url, "SELECT count(*) FROM housing.listings_dashboard WHERE redfin_id = '99000001'") == [(1,)]


def test_location_matches_houses_but_not_units_and_each_listing_once(pg_conn):
    cur = pg_conn.cursor()
    cur.execute("""
        INSERT INTO housing.listings (zpid, street, zip, price, beds, latitude, longitude, is_building) VALUES
          ('1', '12 Walnut Street', '02132', 900000, 3, 42.2900000, -71.1500000, false),
          ('2', '1 Avery St #12C', '02111', 1400000, 2, 42.3531720, -71.0627601, false),
          ('3', '7 Oak Ter', '02131', 700000, 3, 42.2850000, -71.1300000, false);
        INSERT INTO housing.redfin_listings (redfin_id, address, zip, price, beds, latitude, longitude) VALUES
          ('r1', '7 Oak Terrace Rear', '02131', 705000, 3, 42.2850500, -71.1300300),
          ('r2', '1 Avery St #11B', '02111', 1350000, 2, 42.3531720, -71.0627601),
          ('r3', '12 Walnut St', '02132', 905000, 4, 42.2900000, -71.1500000),
          ('r4', '12 Walnut St (rear)', '02132', 610000, 3, 42.2900400, -71.1500400)""")
    cur.execute("SELECT redfin_id, zpid, matched_on FROM housing.property_matches ORDER BY redfin_id")
    # r1: ~6 m from zillow 3, same ZIP and beds, a house: a location match. r2: another unit of zillow 2's
    # building (same spot): no match. r3: zillow 1's address key. r4: near zillow 1 too, but r3 has it.
    assert cur.fetchall() == [("r1", "3", "location"), ("r3", "1", "address")]
    cur.execute("SELECT property_id, redfin_id FROM housing.properties ORDER BY property_id")
    assert cur.fetchall() == [("redfin:r2", "r2"), ("redfin:r4", "r4"), ("zillow:1", "r3"), ("zillow:2", None),
                              ("zillow:3", "r1")]


def test_declared_arguments_match_the_module_constants():
    """The declaration is written in literals (read without importing); it must say what the parser uses."""
    from pde.sources import declared_args
    from scrapers.housing import redfin_listings as rl

    args = declared_args(rl.RedfinListingsSpider)
    assert set(args["region_type"].choices) == set(rl.REGION_TYPES)
    assert set(args["status"].choices) == set(rl.STATUSES)
    assert args["limit"].default == args["limit"].max == rl.ROW_CAP
