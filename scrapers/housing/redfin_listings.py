"""Redfin: what Redfin says into housing.redfin_listings (sql/0050_redfin_listings.sql).

Reads Redfin's JSON API live, or a response saved from a browser
(``-a url=~/Downloads/redfin_listings.json``): ``parse`` recognises the answer by its
content, never by its URL, so both go through the same code.

Arguments: see ``args`` below (``pde sources redfin_listings`` lists them).
Credentials: ``REDFIN_TOKEN`` from the environment or an Airflow connection, never an argument.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg, ParseError
from scrapers.spider import PdeSpider

API = "https://api.example.com/v1"  # Redfin's API: replace with the real address


@dataclass(kw_only=True)
class RedfinListing(Record):
    """One row of housing.redfin_listings: replace these fields with what the source really says."""

    table = "housing.redfin_listings"
    key = ("id",)

    id: str
    name: str | None = None


def parse_redfin_listings(data) -> Iterable[Record | Rejected]:
    """Records from one decoded answer of Redfin. Raise ParseError for an answer of no known layout."""
    raise ParseError("redfin_listings: the parser is not written yet: fill in parse_redfin_listings() in scrapers/housing/redfin_listings.py")


class RedfinListingsSpider(PdeSpider):
    name = "redfin_listings"
    area = "housing"
    args = (
        Arg("limit", "how many rows to ask the API for", type="int", default=100, min=1),
    )

    def live_requests(self) -> Iterable[scrapy.Request]:
        headers = {}
        if os.environ.get("REDFIN_TOKEN"):
            headers["Authorization"] = "Bearer " + os.environ["REDFIN_TOKEN"]
        yield scrapy.Request(f"{API}/items?limit={self.limit}", headers=headers, callback=self.parse)

    def parse(self, response):
        try:
            data = json.loads(response.text)
        except ValueError as exc:
            raise ParseError(f"{response.url}: not a JSON answer ({exc})") from exc
        yield from parse_redfin_listings(data)
