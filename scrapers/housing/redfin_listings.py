"""Redfin listings (for sale, or sold within N days) into housing.redfin_listings (sql/0025_redfin_listings.sql).

Redfin offers what users already download by hand: the "Download All" CSV of a search (350 rows
at most), served by its gis-csv endpoint. This spider asks that endpoint for a region, or reads
CSVs downloaded from the browser, recognised by their header (never by URL or file name)::

    scrapy crawl redfin_listings -a region_id=29470 -a region_type=city
    scrapy crawl redfin_listings -a search_url="https://www.redfin.com/city/29470/IL/Chicago" -a status=sold
    scrapy crawl redfin_listings -a url="~/Downloads/redfin_2026-*.csv"

Arguments: see ``args`` below (status ``for_sale`` or ``sold``: Redfin's rentals are not in the
gis-csv export, so there is no ``for_rent``). Credentials: none. Redfin answers too many requests with 403/429
or a block page: the run stops as "blocked" (exit 3) with advice, and stores nothing from it.

The same home seen on Zillow and on Redfin is one property in ``housing.properties`` (matched on
the normalised street address and ZIP, else on location), with each portal's listing id and price.

Parsing
-------
The export's 27 columns (``SALE TYPE, SOLD DATE, PROPERTY TYPE, ADDRESS, CITY, STATE OR PROVINCE,
ZIP OR POSTAL CODE, PRICE, BEDS, BATHS, LOCATION, SQUARE FEET, LOT SIZE, YEAR BUILT, DAYS ON
MARKET, $/SQUARE FEET, HOA/MONTH, STATUS, NEXT OPEN HOUSE START TIME, NEXT OPEN HOUSE END TIME,
URL (SEE https://www.redfin.com/buy-a-home/comparative-market-analysis FOR INFO ON PRICING),
SOURCE, MLS#, FAVORITE, INTERESTED, LATITUDE, LONGITUDE``) are found by name, so a reordered or
extended header still reads. The column with the long name is the listing URL; Redfin's property id
is its trailing ``/home/<id>``. ``LOCATION`` is a neighbourhood, not coordinates. Newer downloads put
a disclaimer line ("In accordance with local MLS rules, ...") as the second line: it is skipped and
logged. Empty cells are ``None``. ``SOLD DATE`` (``March-15-2024``) is filled only on ``PAST SALE``
rows. ZIP codes are text (``02114``); one that lost its leading zero in a spreadsheet is padded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode, urlsplit

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg, ArgError, ParseError
from scrapers.spider import PdeSpider

logger = logging.getLogger(__name__)

REDFIN = "https://www.redfin.com"
GIS_CSV = f"{REDFIN}/stingray/api/gis-csv"
URL_COLUMN = "URL (SEE https://www.redfin.com/buy-a-home/comparative-market-analysis FOR INFO ON PRICING)"
#: columns a file must have to be read as a Redfin export (the rest are optional)
REQUIRED = ("SALE TYPE", "ADDRESS", "PRICE", "STATUS")
#: Redfin caps a download at this many rows
ROW_CAP = 350
#: region types as Redfin's own download links number them
REGION_TYPES = {"neighborhood": 1, "zip": 2, "county": 5, "city": 6}
#: search-page paths that carry the region id: /city/29470/IL/Chicago
_SEARCH_PATH = re.compile(r"/(city|neighborhood|county)/(\d+)(?:/|$)")
_HOME_ID = re.compile(r"/home/(\d+)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
DATE_FORMATS = ("%B-%d-%Y", "%b-%d-%Y", "%m/%d/%Y", "%Y-%m-%d")
TIME_FORMATS = ("%B-%d-%Y %I:%M %p", "%b-%d-%Y %I:%M %p", "%m/%d/%Y %I:%M %p", "%Y-%m-%d %H:%M:%S")
LISTINGS = "housing.redfin_listings"
ROW_ERRORS = (ValueError, TypeError, InvalidOperation, KeyError)


@dataclass(kw_only=True)
class RedfinListing(Record):
    """One Redfin listing (or past sale) as the CSV export shows it."""

    table = LISTINGS
    key = ("redfin_id",)
    history = True
    volatile = ("days_on_market", "search")
    layout_fields = ("price", "address", "url")

    redfin_id: str
    url: str | None = None
    sale_type: str | None = None
    status: str | None = None
    sold_date: dt.date | None = None
    property_type: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    neighborhood: str | None = None
    price: int | None = None
    beds: Decimal | None = None
    baths: Decimal | None = None
    sqft: int | None = None
    lot_size: int | None = None
    year_built: int | None = None
    days_on_market: int | None = None
    price_per_sqft: int | None = None
    hoa_month: int | None = None
    next_open_house_start: dt.datetime | None = None
    next_open_house_end: dt.datetime | None = None
    mls_source: str | None = None
    mls_number: str | None = None
    favorite: bool | None = None
    interested: bool | None = None
    latitude: float | None = None
    longitude: float | None = None
    search: str | None = None


# -- parsing ------------------------------------------------------------------------------------------
def is_redfin_csv(text: str) -> bool:
    head = text.lstrip("\ufeff").split("\n", 1)[0].upper()
    return all(c in head for c in REQUIRED) and "URL (SEE" in head


def parse_redfin_listings(text: str, where: str, search: str | None = None) -> Iterable[Record | Rejected]:
    """Records from one Redfin CSV export. ParseError for anything else (an HTML page, another CSV)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ParseError(f"{where}: empty answer, not a Redfin CSV export (no header line).")
    if text.lstrip()[:1] in "<{":
        kind = "a web page" if text.lstrip()[:1] == "<" else "JSON"
        raise ParseError(f"{where}: Redfin answered with {kind}, not the CSV export: {_snippet(text)}")
    if not is_redfin_csv(text):
        raise ParseError(
            f"{where}: not a Redfin CSV export; its first line is {_snippet(text)}. Expected a header with "
            f"{', '.join(REQUIRED)} and the 'URL (SEE ...)' column (Redfin's 'Download All' file)."
        )
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    columns = {name: i for i, name in enumerate(header)}
    url_col = next(i for i, name in enumerate(header) if name.upper().startswith("URL (SEE"))
    rows = 0
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len([c for c in cells if c.strip()]) == 1 and len(header) > 1 and not _HOME_ID.search(cells[0]):
            logger.info("%s line %d: skipped Redfin's note %r", where, line, cells[0].strip()[:120])
            continue  # "In accordance with local MLS rules, some MLS listings are not included ..."
        rows += 1
        if len(cells) != len(header):
            yield Rejected(table=LISTINGS, raw=dict(zip(header, cells)),
                           reason=f"line {line} has {len(cells)} cells, the header {len(header)} (a cut-off file?)")
            continue
        row = {name: cells[i].strip() for name, i in columns.items()}
        row["URL"] = cells[url_col].strip()
        yield listing_from_row(row, line, search)
    if rows >= ROW_CAP:
        logger.warning("%s: %d rows, Redfin's cap for one download: the search has more homes. Narrow it "
                       "(price bands, smaller regions) to get them all.", where, rows)


def listing_from_row(row: dict[str, str], line: int, search: str | None = None) -> RedfinListing | Rejected:
    """One export row (column name -> cell) -> RedfinListing; Rejected with the reason if it cannot be read."""
    url = row.get("URL") or None
    m = _HOME_ID.search(url or "")
    if not m:
        return Rejected(table=LISTINGS, raw=row,
                        reason=f"line {line}: no Redfin listing URL ending in /home/<id> ({url!r}), so no id")
    try:
        return RedfinListing(
            redfin_id=m.group(1), url=url, sale_type=_text(row.get("SALE TYPE")), status=_text(row.get("STATUS")),
            sold_date=day(row.get("SOLD DATE")), property_type=_text(row.get("PROPERTY TYPE")),
            address=_text(row.get("ADDRESS")), city=_text(row.get("CITY")),
            state=_text(row.get("STATE OR PROVINCE")), zip=zip_code(row.get("ZIP OR POSTAL CODE")),
            neighborhood=_text(row.get("LOCATION")), price=whole(row.get("PRICE")),
            beds=dec(row.get("BEDS")), baths=dec(row.get("BATHS")), sqft=whole(row.get("SQUARE FEET")),
            lot_size=whole(row.get("LOT SIZE")), year_built=whole(row.get("YEAR BUILT")),
            days_on_market=whole(row.get("DAYS ON MARKET")), price_per_sqft=whole(row.get("$/SQUARE FEET")),
            hoa_month=whole(row.get("HOA/MONTH")),
            next_open_house_start=moment(row.get("NEXT OPEN HOUSE START TIME")),
            next_open_house_end=moment(row.get("NEXT OPEN HOUSE END TIME")),
            mls_source=_text(row.get("SOURCE")), mls_number=_text(row.get("MLS#")),
            favorite=yes_no(row.get("FAVORITE")), interested=yes_no(row.get("INTERESTED")),
            latitude=_float(row.get("LATITUDE")), longitude=_float(row.get("LONGITUDE")), search=search,
        )
    except ROW_ERRORS as exc:
        return Rejected(table=LISTINGS, raw=row, reason=f"line {line} (home {m.group(1)}): {exc}")


# -- values ------------------------------------------------------------------------------------------------
def _text(value: str | None) -> str | None:
    return " ".join(value.split()) if value and value.strip() else None


def whole(value: str | None) -> int | None:
    """'1250000', '$1,250,000', '1,850' -> int; '' -> None; anything else is an error (never a silent None)."""
    if not value or not value.strip() or value.strip() in ("—", "-", "--"):
        return None
    m = _NUMBER.fullmatch(value.strip().lstrip("$").strip())
    if not m:
        raise ValueError(f"{value!r} is not a number")
    return int(Decimal(m.group(0).replace(",", "")))


def dec(value: str | None) -> Decimal | None:
    if not value or not value.strip():
        return None
    return Decimal(value.strip().replace(",", ""))


def _float(value: str | None) -> float | None:
    return float(value) if value and value.strip() else None


def zip_code(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    return value.zfill(5) if value.isdigit() and 3 <= len(value) < 5 else value  # 2114 -> 02114 (spreadsheets)


def yes_no(value: str | None) -> bool | None:
    value = (value or "").strip().upper()
    return {"Y": True, "YES": True, "TRUE": True, "N": False, "NO": False, "FALSE": False}.get(value)


def _parse(value: str | None, formats: tuple[str, ...]) -> dt.datetime | None:
    if not value or not value.strip():
        return None
    for fmt in formats:
        try:
            return dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date Redfin writes (e.g. March-15-2024)")


def day(value: str | None) -> dt.date | None:
    moment_ = _parse(value, DATE_FORMATS)
    return moment_.date() if moment_ else None


def moment(value: str | None) -> dt.datetime | None:
    """An open-house time: the home's local time as Redfin prints it (no time zone)."""
    return _parse(value, TIME_FORMATS)


def _snippet(text: str) -> str:
    return repr(" ".join(text.strip().split())[:160])


# -- the spider ---------------------------------------------------------------------------------------------
STATUSES = ("for_sale", "sold")


def gis_csv_url(region_id: int | str, region_type: int, status: str = "for_sale", sold_days: int = 90,
                limit: int = ROW_CAP) -> str:
    """The gis-csv address Redfin's "Download All" link uses for a region (one page of up to 350 homes)."""
    query = {"al": 1, "isRentals": "false", "num_homes": min(limit, ROW_CAP), "ord": "redfin-recommended-asc",
             "page_number": 1, "region_id": region_id, "region_type": region_type,
             "sf": "1,2,3,5,6,7", "uipt": "1,2,3,4,5,6,7,8", "v": 8}
    if status == "sold":
        query["sold_within_days"] = sold_days
    else:
        query["status"] = 9  # for sale: active and coming soon, as the site's own link asks
    return f"{GIS_CSV}?{urlencode(query)}"


def region_from_url(url: str) -> tuple[str, int]:
    """(region id, region type) from a Redfin search page or a gis-csv link; ValueError saying what to pass."""
    parts = urlsplit(url)
    if parts.path.startswith("/stingray/api/gis-csv"):
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if query.get("region_id") and query.get("region_type", "").isdigit():
            return query["region_id"], int(query["region_type"])
    m = _SEARCH_PATH.search(parts.path)
    if m:
        return m.group(2), REGION_TYPES[m.group(1)]
    raise ValueError(
        f"redfin_listings: cannot tell the region of {url!r}. Pass a search page whose address has the id "
        "(https://www.redfin.com/city/29470/IL/Chicago), the 'Download All' link itself, or "
        "-a region_id=<id> -a region_type=city|zip|neighborhood|county."
    )


class RedfinListingsSpider(PdeSpider):
    name = "redfin_listings"
    area = "housing"
    args = (
        Arg("search_url", "a Redfin search page or its 'Download All' link", required=True,
            pattern=r"https?://(www\.)?redfin\.com/.*", allowed="a https://www.redfin.com/... URL",
            example="https://www.redfin.com/city/29470/IL/Chicago"),
        Arg("region_id", "Redfin's id of the region (the number in the search page's address)",
            instead_of="search_url", pattern=r"\d+", allowed="Redfin's number of the region", example="29470"),
        # literals only: the Airflow DAG files read this declaration from the source (REGION_TYPES, STATUSES, ROW_CAP)
        Arg("region_type", "what region_id is", default="city", choices=("neighborhood", "zip", "county", "city")),
        Arg("status", "for_sale (active and coming soon) or sold (sold within sold_days)", default="for_sale",
            choices=("for_sale", "sold")),
        Arg("sold_days", "with status=sold: sold within this many days", type="int", default=90, min=1),
        Arg("limit", "rows to ask for (Redfin sends 350 at most)", type="int", default=350, min=1, max=350),
    )
    block_markers = ("px-captcha", "g-recaptcha", "Your request has been blocked", "unusual traffic from your")
    block_advice = (
        "Redfin limits automated downloads. Wait an hour or more before the next run and keep to a few "
        "regions. Or open the search in your browser, click 'Download All' under the results, and run: "
        "scrapy crawl redfin_listings -a url=~/Downloads/redfin_*.csv"
    )
    #: one request at a time to redfin.com, ~10 s apart; saved files (file://) are read at once
    custom_settings = {
        "DOWNLOAD_SLOTS": {"www.redfin.com": {"concurrency": 1, "delay": 10, "jitter": 0.5}},
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],  # never retry 429/403: it extends the block
    }

    @classmethod
    def check_args(cls, values):
        """A search page whose address does not say its region is a usage error, found before the crawl."""
        if values.get("search_url"):
            try:
                region_from_url(values["search_url"])
            except ValueError as exc:
                raise ArgError(str(exc).removeprefix("redfin_listings: ")) from None

    def live_requests(self) -> Iterable[scrapy.Request]:
        if self.search_url:
            region_id, region_type = region_from_url(self.search_url)
        elif self.region_id:
            region_id, region_type = self.region_id, REGION_TYPES[self.region_type]
        else:
            raise ValueError("redfin_listings needs -a search_url=<Redfin search page>, -a region_id=<id> "
                             "(with -a region_type=...), or -a url=<downloaded CSV>")
        url = gis_csv_url(region_id, region_type, self.status, self.sold_days, self.limit)
        yield scrapy.Request(url, callback=self.parse, headers={"Accept": "text/csv,*/*;q=0.8",
                                                                "Referer": f"{REDFIN}/"})

    def parse(self, response):
        search = self.search_url or (f"{self.status} region {self.region_id}" if self.region_id else None)
        text = response.text if hasattr(response, "text") else response.body.decode("utf-8-sig", "replace")
        yield from parse_redfin_listings(text, response.url, search)
