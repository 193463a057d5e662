"""Zillow listings for a search (for sale, for rent or sold) into housing.listings.

Reads Zillow search result pages (and, with ``details=1``, each home's details
page for its price history, tax history, listing date and facts). Every Zillow
layout is recognised by content (see ``scrapers.housing.zillow_listings``), so a page saved from a
browser parses like a live one::

    scrapy crawl zillow_listings -a search="Brunswick, ME" -a status=for_rent
    scrapy crawl zillow_listings -a search_url="https://www.zillow.com/brunswick-me-04011/rentals/"
    scrapy crawl zillow_listings -a url=~/Downloads/zillow-*.html

Arguments:
    search      a place as typed in Zillow's search box: "04011", "Brunswick, ME"
    search_url  a Zillow search URL copied from the browser (instead of search)
    status      for_sale (default), for_rent or sold
    pages       result pages to read per search, default 5
    details     1 to also fetch each home's details page

Credentials: none. Zillow blocks automated clients quickly (PerimeterX); the
crawl stops as "blocked" with advice rather than storing a captcha page.
Pagination and details pages are only requested for live (http) responses:
a saved file never makes the spider go online.

Parsing
-------
Zillow pages -> housing records, recognised by content (never by URL).

``parse_page(response)`` tries the layouts in this order (see
fixtures/zillow_listings/PROVENANCE.md for a sample of each):

1. PerimeterX block page                -> ParseError (never items)
2. search API JSON (``cat1`` at the top: body of PUT /async-create-search-page-state)
3. ``script#__NEXT_DATA__`` with ``props.pageProps.searchPageState``: current search page
4. ``script#__NEXT_DATA__`` with ``componentProps.gdpClientCache`` (a JSON *string*): home details
5. ``script[data-zrr-shared-data-key=mobileSearchPageStore]``: JSON in an HTML comment, ~2019 search page
6. ``article[data-testid=property-card]``: rendered cards only (a page saved after scripts ran);
   some pages (November 2025) spell every test attribute ``data-test=`` instead, and others
   (2022-23) name the address ``address[data-test=property-card-addr]`` inside
   ``a[data-test=property-card-link]``: ``_tid()`` accepts each spelling.

Search rows of layouts 2, 3 and 5 share one shape and one converter. Apartment
buildings (``isBuilding``, id ``"lat--long"``, ``units[]``, no ``hdpData``) stay
listings with ``is_building=True`` and the lowest unit price as ``price``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urljoin

import scrapy
from parsel import Selector

from pde.records import Rejected
from pde.sources import Arg, ParseError, require_whole_html
from scrapers.housing.records import Listing, PriceEvent, TaxRecord
from scrapers.spider import PdeSpider

ZILLOW = "https://www.zillow.com"
#: text only a PerimeterX challenge page has (normal Zillow pages also embed ``_pxAppId``)
BLOCK_SIGNS = ("px-captcha", "captcha.px-cdn.net", "Access to this page has been denied")
SOLD = {"SOLD", "RECENTLY_SOLD"}
ACRE_SQFT = 43560

_LATLONG_ID = re.compile(r"(-?\d{1,3}\.\d+)-(-?\d{1,3}\.\d+)")
_MONEY = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)\s*([KkMm])?")
_PLAIN_NUMBER = re.compile(r"\s*(\d[\d,]*(?:\.\d+)?)\s*")
_BEDS = re.compile(r"(\d+(?:\.\d+)?|studio)\s*bds?\b", re.I)
_SOLD_ON = re.compile(r"Sold\s+(\d{1,2}/\d{1,2}/\d{4})")
_PAGE_SUFFIX = re.compile(r"\d+_p/?$")
_ZPID_LINK = re.compile(r"/(\d+)_zpid")


def _tid(*selectors: str) -> str:
    """A CSS selector matching ``{t}=value`` as ``data-testid=`` or ``data-test=`` (Zillow uses both)."""
    return ", ".join(s.format(t=t) for s in selectors for t in ("data-testid", "data-test"))


CARD = _tid("article[{t}=property-card]")
CARD_PRICE = _tid("[{t}=property-card-price] ::text")
CARD_DETAILS = _tid("ul[{t}=property-card-details]") + (
    ', ul[data-c11n-component="PropertyCard.HomeDetails"], ul[class*=StyledPropertyCardHomeDetailsList]')
CARD_ADDRESS = _tid("[{t}=property-card-address-link] address", "[{t}=property-card-link] address",
                    "address[{t}=property-card-addr]")
CARD_LINKS = (_tid("[{t}=property-card-title-link]::attr(href)"),
              _tid("[{t}=property-card-address-link]::attr(href)", "a[{t}=property-card-link]::attr(href)"),
              "a[href*=_zpid]::attr(href)")
CARD_UNITS = _tid("[{t}=PropertyCardInventoryBox]")

LISTINGS = Listing.table
ROW_ERRORS = (ValueError, TypeError, InvalidOperation, AttributeError, KeyError, OverflowError)


@dataclass
class Page:
    """What one response held: records to yield and where the search goes on."""

    layout: str
    items: list = field(default_factory=list)  # Listing / PriceEvent / TaxRecord / Rejected
    page: int = 1
    total_pages: int | None = None
    total_results: int | None = None
    next_url: str | None = None

    @property
    def listings(self) -> list[Listing]:
        return [i for i in self.items if isinstance(i, Listing)]


def is_block_page(text: str) -> bool:
    return any(sign in text for sign in BLOCK_SIGNS)


def parse_page(response, search: str | None = None) -> Page:
    """Records and pagination of one Zillow response; ParseError if no layout matches."""
    text = response.text if hasattr(response, "text") else response.body.decode("utf-8", "replace")
    where = response.url
    if is_block_page(text):
        raise ParseError(
            f"{where} is a Zillow block page (PerimeterX captcha), not listings; "
            "nothing was parsed from it."
        )
    if text.lstrip()[:1] in "{[":
        return _json_document(_loads(text, where), where, search)
    require_whole_html(text, where, "Zillow page")
    sel = response.selector if hasattr(response, "selector") else Selector(text=text)
    next_data = sel.css("script#__NEXT_DATA__::text").get()
    unknown_next_data = None
    if next_data:
        try:
            return _json_document(_loads(next_data, f"{where} (__NEXT_DATA__)"), where, search)
        except ParseError as exc:  # some other Next.js page: rendered cards may still be there
            unknown_next_data = exc
    store = sel.css('script[data-zrr-shared-data-key="mobileSearchPageStore"]::text').get()
    if store:
        raw = store.strip().removeprefix("<!--").removesuffix("-->")
        state = _loads(raw, f"{where} (mobileSearchPageStore)")
        if isinstance(state, dict) and "searchResults" in state:
            return _search_page(state, "old_search_page", search)
    cards = sel.css(CARD)
    if cards:
        return _card_page(sel, cards, search)
    if unknown_next_data:
        raise unknown_next_data
    title = (sel.css("title::text").get() or "").strip()
    raise ParseError(
        f"{where} (title {title!r}) matches no Zillow layout: expected search API JSON with 'cat1', "
        "script#__NEXT_DATA__ with searchPageState or gdpClientCache, a mobileSearchPageStore "
        "script, or article[data-testid=property-card] cards."
    )


# -- layouts -------------------------------------------------------------------
def _json_document(data: Any, where: str, search: str | None) -> Page:
    if isinstance(data, dict):
        if isinstance(data.get("cat1"), dict):
            return _search_page(data, "search_api", search)
        state = _dig(data, "props", "pageProps", "searchPageState")
        if isinstance(state, dict):
            return _search_page(state, "next_search_page", search)
        cache = _dig(data, "props", "pageProps", "componentProps", "gdpClientCache")
        if cache:
            return _details_page(cache, where)
        if isinstance(data.get("searchResults"), dict):
            return _search_page(data, "old_search_page", search)
    keys = sorted(data)[:12] if isinstance(data, dict) else type(data).__name__
    raise ParseError(
        f"{where}: JSON with no Zillow search results or home details (top-level keys: {keys}); "
        "expected 'cat1.searchResults', 'props.pageProps.searchPageState', "
        "'props.pageProps.componentProps.gdpClientCache' or 'searchResults'."
    )


def _search_page(state: dict, layout: str, search: str | None) -> Page:
    cat = state["cat1"] if isinstance(state.get("cat1"), dict) else state
    results = cat.get("searchResults") or {}
    search_list = cat.get("searchList") or state.get("searchList") or {}
    query = state.get("queryState") or {}
    seo = state.get("searchPageSeoObject") or {}
    base_path = seo.get("baseUrl")
    label = search or _search_label(query, state.get("regionState") or {}, base_path)

    page = Page(layout=layout)
    page.page = _int((query.get("pagination") or {}).get("currentPage")) or 1
    page.total_pages = _int(search_list.get("totalPages"))
    page.total_results = _int(search_list.get("totalResultCount"))
    next_url = (search_list.get("pagination") or {}).get("nextUrl")
    if next_url:
        page.next_url = urljoin(ZILLOW, next_url)
    elif base_path and page.total_pages and page.page < page.total_pages:
        page.next_url = urljoin(ZILLOW, f"{_PAGE_SUFFIX.sub('', base_path).rstrip('/')}/{page.page + 1}_p/")

    seen: set[str] = set()
    for row in list(results.get("listResults") or []) + list(results.get("mapResults") or []):
        ident = str(row.get("zpid") or row.get("id") or "") if isinstance(row, dict) else ""
        if ident and ident in seen:
            continue  # mapResults repeat the list rows
        seen.add(ident)
        page.items.append(listing_from_row(row, label))
    return page


def listing_from_row(row: Any, search: str | None = None) -> Listing | Rejected:
    """One search result row (API, __NEXT_DATA__ or mobileSearchPageStore) -> Listing."""
    if not isinstance(row, dict):
        return Rejected(table=LISTINGS, reason=f"search row is a {type(row).__name__}, not an object", raw=row)
    zpid = str(row.get("zpid") or row.get("id") or "").strip()
    if not zpid:
        return Rejected(table=LISTINGS, reason="search row has no zpid or id", raw=row)
    try:
        return _row_listing(zpid, row, search)
    except ROW_ERRORS as exc:
        return Rejected(table=LISTINGS, reason=f"search row {zpid}: {type(exc).__name__}: {exc}", raw=row)


def _row_listing(zpid: str, row: dict, search: str | None) -> Listing:
    info = (row.get("hdpData") or {}).get("homeInfo") or {}
    lat_long = row.get("latLong") or {}
    building_id = _LATLONG_ID.fullmatch(zpid)
    is_building = bool(row.get("isBuilding")) or bool(building_id)
    units = [_unit(u) for u in row.get("units") or [] if isinstance(u, dict)] or None
    status = info.get("homeStatus") or row.get("statusType")
    variable_text = (row.get("variableData") or {}).get("text") or ""
    street = _first(info.get("streetAddress"), row.get("addressStreet"))

    price = money(_first(info.get("price"), row.get("unformattedPrice"), row.get("price")))
    price_text = row.get("price") if isinstance(row.get("price"), str) else None
    priced_units = [u for u in units or [] if u["price"] is not None]
    if price is None and priced_units:
        cheapest = min(priced_units, key=lambda u: u["price"])
        price, price_text = cheapest["price"], cheapest["price_text"]

    sold_date = sold_price = None
    if status in SOLD or row.get("soldPrice") is not None:
        sold_date = epoch_date(info.get("dateSold"))
        if sold_date is None and (m := _SOLD_ON.search(variable_text)):
            sold_date = dt.datetime.strptime(m.group(1), "%m/%d/%Y").date()
        sold_price = money(_first(row.get("soldPrice"), info.get("price")))

    latitude = _float(_first(info.get("latitude"), lat_long.get("latitude")))
    longitude = _float(_first(info.get("longitude"), lat_long.get("longitude")))
    if latitude is None and building_id:
        latitude, longitude = float(building_id.group(1)), float(building_id.group(2))

    return Listing(
        zpid=zpid,
        url=urljoin(ZILLOW, row["detailUrl"]) if row.get("detailUrl") else None,
        address=_text(_first(row.get("addressWithZip"), row.get("address"))),
        street=None if row.get("isUndisclosedAddress") else _text(street),
        city=_text(_first(info.get("city"), row.get("addressCity"))),
        state=_text(_first(info.get("state"), row.get("addressState"))),
        zip=zip_code(_first(info.get("zipcode"), row.get("addressZipcode"))),
        price=price,
        price_text=price_text,
        beds=decimal(_first(info.get("bedrooms"), row.get("beds"))),
        baths=decimal(_first(info.get("bathrooms"), row.get("baths"))),
        sqft=_int(_first(info.get("livingArea"), row.get("area"))),
        lot_size=lot_sqft(info),
        latitude=latitude,
        longitude=longitude,
        home_type=info.get("homeType"),
        status=status,
        status_text=row.get("statusText"),
        days_on_market=_non_negative(info.get("daysOnZillow")),
        availability_date=text_date(row.get("availabilityDate")),
        sold_date=sold_date,
        sold_price=sold_price,
        zestimate=money(info.get("zestimate")),
        rent_zestimate=money(info.get("rentZestimate")),
        year_built=_positive(info.get("yearBuilt")),
        is_building=is_building,
        building_name=row.get("buildingName"),
        units=units,
        broker=row.get("brokerName"),
        search=search,
    )


def _unit(unit: dict) -> dict:
    return {
        "beds": _beds_count(unit.get("beds")),
        "price": money(unit.get("price")),
        "price_text": unit.get("price"),
        "room_for_rent": unit.get("roomForRent"),
    }


def _details_page(cache: Any, where: str) -> Page:
    if isinstance(cache, str):
        cache = _loads(cache, f"{where} (gdpClientCache)")
    entries = cache.values() if isinstance(cache, dict) else []
    found = [v["property"] for v in entries if isinstance(v, dict) and isinstance(v.get("property"), dict)]
    if not found:
        raise ParseError(f"{where}: home-details page whose gdpClientCache holds no 'property' object.")
    prop = found[0]
    page = Page(layout="home_details")
    zpid = str(prop.get("zpid") or "").strip()
    if not zpid:
        page.items.append(Rejected(table=LISTINGS, reason="home-details property has no zpid", raw=prop))
        return page
    try:
        page.items.append(_detail_listing(zpid, prop, where))
    except ROW_ERRORS as exc:
        reason = f"home details {zpid}: {type(exc).__name__}: {exc}"
        page.items.append(Rejected(table=LISTINGS, reason=reason, raw=prop))
    page.items.extend(price_event(zpid, e) for e in prop.get("priceHistory") or [])
    page.items.extend(tax_record(zpid, t) for t in prop.get("taxHistory") or [])
    return page


def _detail_listing(zpid: str, prop: dict, where: str) -> Listing:
    address = prop.get("address") if isinstance(prop.get("address"), dict) else {}
    street = _first(address.get("streetAddress"), prop.get("streetAddress"))
    city = _first(address.get("city"), prop.get("city"))
    state = _first(address.get("state"), prop.get("state"))
    zipcode = zip_code(_first(address.get("zipcode"), prop.get("zipcode")))
    status = prop.get("homeStatus")
    sold = status in SOLD
    url = urljoin(ZILLOW, prop["hdpUrl"]) if prop.get("hdpUrl") else (
        where if where.startswith("http") else f"{ZILLOW}/homedetails/{zpid}_zpid/")
    facts = {k: v for k, v in (prop.get("resoFacts") or {}).items() if v not in (None, "", [], {})}
    return Listing(
        zpid=zpid,
        url=url,
        address=", ".join(p for p in (street, city, f"{state or ''} {zipcode or ''}".strip()) if p) or None,
        street=street,
        city=city,
        state=state,
        zip=zipcode,
        price=money(prop.get("price")),
        beds=decimal(prop.get("bedrooms")),
        baths=decimal(prop.get("bathrooms")),
        sqft=_int(prop.get("livingArea")),
        lot_size=lot_sqft(prop),
        latitude=_float(prop.get("latitude")),
        longitude=_float(prop.get("longitude")),
        home_type=prop.get("homeType"),
        status=status,
        days_on_market=_non_negative(prop.get("daysOnZillow")),
        listed_date=text_date(prop.get("datePostedString")),
        sold_date=epoch_date(prop.get("dateSold")) if sold else None,
        sold_price=money(prop.get("lastSoldPrice")) if sold else None,
        zestimate=money(prop.get("zestimate")),
        rent_zestimate=money(prop.get("rentZestimate")),
        year_built=_positive(prop.get("yearBuilt")),
        is_building=False,
        broker=_first(prop.get("brokerageName"), (prop.get("attributionInfo") or {}).get("brokerName")),
        facts=facts or None,
    )


def price_event(zpid: str, event: Any) -> PriceEvent | Rejected:
    table = PriceEvent.table
    if not isinstance(event, dict):
        return Rejected(table=table, reason=f"priceHistory entry is a {type(event).__name__}", raw=event)
    try:
        day = text_date(event.get("date")) or epoch_date(event.get("time"))
        if day is None or not event.get("event"):
            return Rejected(table=table, reason=f"price event of {zpid} has no date or no event", raw=event)
        return PriceEvent(
            zpid=zpid,
            event_date=day,
            event=str(event["event"]),
            price=money(event.get("price")),
            price_per_sqft=_int(event.get("pricePerSquareFoot")),
            price_change_rate=_float(event.get("priceChangeRate")),
            source=event.get("source"),
            posting_is_rental=event.get("postingIsRental"),
        )
    except ROW_ERRORS as exc:
        return Rejected(table=table, reason=f"price event of {zpid}: {type(exc).__name__}: {exc}", raw=event)


def tax_record(zpid: str, entry: Any) -> TaxRecord | Rejected:
    table = TaxRecord.table
    if not isinstance(entry, dict):
        return Rejected(table=table, reason=f"taxHistory entry is a {type(entry).__name__}", raw=entry)
    try:
        day = epoch_date(entry.get("time"))
        year = _int(entry.get("year")) or (day.year if day else None)
        if year is None:
            return Rejected(table=table, reason=f"tax entry of {zpid} has no time or year", raw=entry)
        paid = entry.get("taxPaid")
        return TaxRecord(
            zpid=zpid,
            year=year,
            tax_paid=Decimal(str(paid)).quantize(Decimal("0.01")) if paid is not None else None,
            tax_increase_rate=_float(entry.get("taxIncreaseRate")),
            assessed_value=money(entry.get("value")),
            value_increase_rate=_float(entry.get("valueIncreaseRate")),
        )
    except ROW_ERRORS as exc:
        return Rejected(table=table, reason=f"tax entry of {zpid}: {type(exc).__name__}: {exc}", raw=entry)


def _card_page(sel: Selector, cards, search: str | None) -> Page:
    page = Page(layout="property_cards")
    current = sel.css('nav[aria-label=Pagination] a[aria-current="page"]')
    if current:
        page.page = _int("".join(current.css("::text").getall()).replace("Page", "")) or 1
        search = search or urljoin(ZILLOW, _PAGE_SUFFIX.sub("", current.attrib.get("href", "")))
    nxt = sel.css('nav[aria-label=Pagination] a[rel="next"]')
    if nxt and nxt.attrib.get("aria-disabled") != "true" and nxt.attrib.get("href"):
        page.next_url = urljoin(ZILLOW, nxt.attrib["href"])
    page.items = [listing_from_card(card, search) for card in cards]
    return page


def _card_href(card: Selector) -> str | None:
    return next((h for css in CARD_LINKS if (h := card.css(css).get())), None)


def listing_from_card(card: Selector, search: str | None = None) -> Listing | Rejected:
    """One rendered ``article[data-testid=property-card]`` (or ``data-test=``) -> Listing."""
    ident = card.attrib.get("id", "")
    if not ident.startswith("zpid_") or ident == "zpid_":
        m = _ZPID_LINK.search(_card_href(card) or "")
        if not m:
            return Rejected(table=LISTINGS, reason=f"property card without a zpid_ id ({ident!r}) or a "
                                                   "/<zpid>_zpid/ link", raw=card.get())
        ident = f"zpid_{m.group(1)}"
    zpid = ident.removeprefix("zpid_")
    try:
        return _card_listing(zpid, card, search)
    except ROW_ERRORS as exc:
        return Rejected(table=LISTINGS, reason=f"property card {zpid}: {type(exc).__name__}: {exc}", raw=card.get())


def _card_listing(zpid: str, card: Selector, search: str | None) -> Listing:
    classes = card.attrib.get("class", "").split()
    building_id = _LATLONG_ID.fullmatch(zpid)
    is_building = "list-card_building" in classes or bool(building_id)
    status = "FOR_RENT" if "list-card_for-rent" in classes else "FOR_SALE" if "list-card_for-sale" in classes else None
    price_texts = card.css(CARD_PRICE).getall()
    headline = next((t.strip() for t in price_texts if t.strip()), None)

    facts: dict[str, Any] = {}
    details = card.css(CARD_DETAILS)[:1]
    for li in details.css("li"):
        value, unit = (li.css("b::text").get() or "").strip(), (li.css("abbr::text").get() or "").strip().lower()
        if unit in ("bd", "bds"):
            facts["beds"] = decimal(value)
        elif unit in ("ba", "bas"):
            facts["baths"] = decimal(value)
        elif unit == "sqft":
            facts["sqft"] = _int(value)
        elif unit in ("acre lot", "acres lot"):
            acres = decimal(value)
            facts["lot_size"] = int(acres * ACRE_SQFT) if acres is not None else None
        elif unit == "sqft lot":
            facts["lot_size"] = _int(value)
    kind = details.xpath("./following-sibling::*[1]/text()").get() if details else None

    units = []
    for box in card.css(CARD_UNITS):
        texts = [t.strip() for t in box.css("::text").getall() if t.strip()]
        price_text = next((t for t in texts if "$" in t), None)
        beds = next((m.group(1) for t in texts if (m := _BEDS.search(t))), None)
        units.append({"beds": _beds_count(beds), "price": money(price_text), "price_text": price_text})
    if is_building and headline and (m := _BEDS.search(headline)):
        first = {"beds": _beds_count(m.group(1)), "price": money(headline), "price_text": headline[: m.start()].strip()}
        if first["beds"] not in {u["beds"] for u in units}:
            units.append(first)
    units.sort(key=lambda u: (u["beds"] is None, u["beds"] or 0))
    priced = [u["price"] for u in units if u["price"] is not None]

    label = card.attrib.get("aria-label", "")
    shown = " ".join(" ".join(card.css(CARD_ADDRESS)[:1].css("::text").getall()).split())
    address = shown.split(" | ")[-1] or None
    street, city, state, zipcode = split_address(address)
    href = _card_href(card)
    return Listing(
        zpid=zpid,
        url=urljoin(ZILLOW, href) if href else None,
        address=address,
        street=street,
        city=city,
        state=state,
        zip=zipcode,
        price=min(priced) if is_building and priced else money(headline),
        price_text=headline,
        latitude=float(building_id.group(1)) if building_id else None,
        longitude=float(building_id.group(2)) if building_id else None,
        status=status,
        status_text=kind.strip() if kind and kind.strip() else None,
        is_building=is_building,
        building_name=label.split(" | ")[0].strip() if " | " in label else None,
        units=units or None,
        search=search,
        **facts,
    )


# -- values ------------------------------------------------------------------------
def money(value: Any) -> int | None:
    """Whole dollars from 1699, 1699.0, "$1,699/mo", "$2,225+", "$1.2M"; None if no amount."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return int(round(value))
    if not isinstance(value, str):
        raise TypeError(f"price {value!r} is a {type(value).__name__}")
    m = _MONEY.search(value)
    if m:
        amount = Decimal(m.group(1).replace(",", ""))
        amount *= {"k": 1000, "m": 1_000_000}.get((m.group(2) or "").lower(), 1)
        return int(amount)
    if plain := _PLAIN_NUMBER.fullmatch(value):
        return int(Decimal(plain.group(1).replace(",", "")))
    return None  # "Contact for price", "--"


def decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value in ("", "--"):
        return None
    if isinstance(value, str):
        if value.strip().lower() == "studio":
            return Decimal(0)
        value = value.replace(",", "").strip()
    return Decimal(str(value))


def zip_code(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return f"{value:05d}" if isinstance(value, int) else str(value).strip()


def lot_sqft(info: dict) -> int | None:
    if info.get("lotSize") not in (None, "", -1):
        return _int(info["lotSize"])
    value, unit = info.get("lotAreaValue"), (info.get("lotAreaUnit") or "").lower()
    if value is None:
        return None
    return int(Decimal(str(value)) * ACRE_SQFT) if unit.startswith("acre") else _int(value)


def epoch_date(ms: Any) -> dt.date | None:
    if ms is None or isinstance(ms, bool):
        return None
    return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC).date()


def text_date(value: Any) -> dt.date | None:
    """'2025-06-23', '2025-06-23 00:00:00' -> date."""
    if not value or not isinstance(value, str):
        return None
    return dt.date.fromisoformat(value.strip()[:10])


def split_address(address: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """'[Name, ]Street, City, ST[ 01234]' -> (street, city, state, zip), read from the end."""
    if not address:
        return None, None, None, None
    parts = [p.strip() for p in address.split(",")]
    if len(parts) < 3:
        return None, None, None, None
    m = re.fullmatch(r"([A-Z]{2})(?:\s+(\d{5}(?:-\d{4})?))?", parts[-1])
    if not m:
        return None, None, None, None
    return parts[-3], parts[-2], m.group(1), m.group(2)


def _search_label(query: dict, region: dict, base_path: str | None) -> str | None:
    if query.get("usersSearchTerm"):
        return str(query["usersSearchTerm"])
    if base_path:
        return urljoin(ZILLOW, base_path)
    info = region.get("regionInfo") or []
    return info[0].get("displayName") if info and isinstance(info[0], dict) else None


def _beds_count(value: Any) -> int | None:
    beds = decimal(value)
    return int(beds) if beds is not None else None


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParseError(f"{where}: expected JSON, could not decode it ({exc}).") from exc


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None and v != ""), None)


def _text(value: Any) -> str | None:
    return " ".join(str(value).split()) if value not in (None, "") else None


def _int(value: Any) -> int | None:
    number = decimal(value) if not isinstance(value, int) or isinstance(value, bool) else value
    return int(number) if number is not None else None


def _float(value: Any) -> float | None:
    return float(value) if value is not None and value != "" else None


def _non_negative(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _positive(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number > 0 else None


STATUS_PATHS = {"for_sale": "homes", "for_rent": "homes/for_rent", "sold": "homes/recently_sold"}


class ZillowListingsSpider(PdeSpider):
    name = "zillow_listings"
    area = "housing"
    block_markers = ("px-captcha", "Access to this page has been denied", "captcha.px-cdn.net")
    block_headers = ("x-px-blocked",)
    block_advice = (
        "Zillow's bot protection (PerimeterX) showed a captcha. Wait a few hours before the next run "
        "and keep pages low (-a pages=2). Or open the search in your browser, scroll through the "
        "results, save the page (Ctrl+S) and run: scrapy crawl zillow_listings -a url=/path/to/page.html"
    )
    #: one request at a time to zillow.com, ~8 s apart; saved files (file://) are read at once
    custom_settings = {
        "DOWNLOAD_SLOTS": {"www.zillow.com": {"concurrency": 1, "delay": 8, "jitter": 0.5}},
    }

    args = (
        Arg("search", "a place as typed in Zillow's search box", required=True, example="Brunswick, ME"),
        Arg("search_url", "a Zillow search URL copied from the browser", instead_of="search",
            pattern=r"https?://(www\.)?zillow\.com/.*", allowed="a https://www.zillow.com/... URL"),
        Arg("status", "which listings", choices=("for_sale", "for_rent", "sold"), default="for_sale"),
        Arg("pages", "result pages to read per search", type=int, default=5, min=1),
        Arg("details", "also fetch each home's details page (price and tax history; ~8 s per home)",
            type=bool, default=False),
    )

    def live_requests(self) -> Iterable[scrapy.Request]:
        if self.search_url:
            yield scrapy.Request(self.search_url, callback=self.parse, meta={"zillow_page": 1})
        elif self.search:
            yield scrapy.Request(search_url(self.search, self.status), callback=self.parse, meta={"zillow_page": 1})
        else:
            raise ValueError("zillow_listings needs -a search=<place>, -a search_url=<URL> or -a url=<saved page>")

    def parse(self, response):
        page = parse_page(response, search=self.search or self.search_url)
        yield from page.items
        if not response.url.startswith(("http://", "https://")):
            return
        if self.details and page.layout != "home_details":
            for listing in page.listings:
                if listing.zpid.isdigit():  # buildings (lat--long ids) have no details page
                    yield scrapy.Request(details_url(listing), callback=self.parse)
        number = (response.request.meta.get("zillow_page") if response.request else None) or page.page
        if page.next_url and number < self.pages:
            yield scrapy.Request(page.next_url, callback=self.parse, meta={"zillow_page": number + 1})


def search_url(search: str, status: str = "for_sale") -> str:
    """Zillow's own form for a typed search: /homes/<term>_rb/ (redirects to the region's page)."""
    term = quote("-".join(search.split()), safe=",-")
    return f"{ZILLOW}/{STATUS_PATHS[status]}/{term}_rb/"


def details_url(listing) -> str:
    """The home's details page; /apartments/ and /b/ links lead to building pages, so use /homedetails/."""
    if listing.url and "/homedetails/" in listing.url:
        return listing.url
    return f"{ZILLOW}/homedetails/{listing.zpid}_zpid/"
