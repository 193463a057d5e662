"""Zillow listings for a search (for sale, for rent or sold) into housing.listings.

Reads Zillow search result pages (and, with ``details=1``, each home's details
page for its price history, tax history, listing date and facts). Every Zillow
layout is recognised by content (see ``scrapers.housing.zillow``), so a page saved from a
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
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

import scrapy

from scrapers.housing import zillow as zillow_parse
from scrapers.spiders.base import PdeSpider

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

    def __init__(self, *args, search: str | None = None, search_url: str | None = None,
                 status: str = "for_sale", pages: str | int = 5, details: str | int | bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if status not in STATUS_PATHS:
            raise ValueError(f"status must be one of {', '.join(STATUS_PATHS)}, not {status!r}")
        self.search = search
        self.search_url = search_url
        self.status = status
        self.pages = max(1, int(pages))
        self.details = str(details).strip().lower() in ("1", "true", "yes", "on")

    def live_requests(self) -> Iterable[scrapy.Request]:
        if self.search_url:
            yield scrapy.Request(self.search_url, callback=self.parse, meta={"zillow_page": 1})
        elif self.search:
            yield scrapy.Request(search_url(self.search, self.status), callback=self.parse, meta={"zillow_page": 1})
        else:
            raise ValueError("zillow_listings needs -a search=<place>, -a search_url=<URL> or -a url=<saved page>")

    def parse(self, response):
        page = zillow_parse.parse_page(response, search=self.search or self.search_url)
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
    return f"{zillow_parse.ZILLOW}/{STATUS_PATHS[status]}/{term}_rb/"


def details_url(listing) -> str:
    """The home's details page; /apartments/ and /b/ links lead to building pages, so use /homedetails/."""
    if listing.url and "/homedetails/" in listing.url:
        return listing.url
    return f"{zillow_parse.ZILLOW}/homedetails/{listing.zpid}_zpid/"
