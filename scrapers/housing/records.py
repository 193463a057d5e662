"""Records of the ``housing`` schema (sql/0002_housing.sql): listings and what their pages tell.

Money is whole dollars (``int``) except tax amounts, which carry cents
(``Decimal``). Beds and baths are ``Decimal`` (2.5 baths). ``None`` means the
page did not say, so a search row never erases what a details page told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from pde.records import Record


@dataclass(kw_only=True)
class Listing(Record):
    """One Zillow listing: a home (numeric zpid) or an apartment building (``lat--long`` id)."""

    table = "housing.listings"
    key = ("zpid",)
    history = True
    # refreshed whenever the row is written, but not a change worth a history row
    volatile = ("days_on_market", "search")
    # every Zillow layout shows these for each listing: their absence means the layout changed
    layout_fields = ("price", "address", "url")

    zpid: str
    url: str | None = None
    address: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    price: int | None = None
    price_text: str | None = None
    beds: Decimal | None = None
    baths: Decimal | None = None
    sqft: int | None = None
    lot_size: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    home_type: str | None = None
    status: str | None = None
    status_text: str | None = None
    days_on_market: int | None = None
    listed_date: dt.date | None = None
    availability_date: dt.date | None = None
    sold_date: dt.date | None = None
    sold_price: int | None = None
    zestimate: int | None = None
    rent_zestimate: int | None = None
    year_built: int | None = None
    is_building: bool | None = None
    building_name: str | None = None
    units: list | None = None
    broker: str | None = None
    facts: dict | None = None
    search: str | None = None


@dataclass(kw_only=True)
class PriceEvent(Record):
    """One line of a listing's price history (details page): listed, price change, sold..."""

    table = "housing.price_history"
    key = ("zpid", "event_date", "event")

    zpid: str
    event_date: dt.date
    event: str
    price: int | None = None
    price_per_sqft: int | None = None
    price_change_rate: float | None = None
    source: str | None = None
    posting_is_rental: bool | None = None


@dataclass(kw_only=True)
class TaxRecord(Record):
    """One year of a property's tax history (details page)."""

    table = "housing.tax_history"
    key = ("zpid", "year")

    zpid: str
    year: int
    tax_paid: Decimal | None = None
    tax_increase_rate: float | None = None
    assessed_value: int | None = None
    value_increase_rate: float | None = None
