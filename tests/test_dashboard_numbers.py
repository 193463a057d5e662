"""The numbers the house-hunt dashboard shows, on the recorded fixtures, computed here independently.

Price cuts come from Zillow's dated price history (the details page) and from pde's own crawls,
one row per cut; a median price per square foot never mixes sale prices with monthly rents.
"""

from __future__ import annotations

import json
import re
import statistics
from decimal import Decimal

import psycopg2

from pde import cassettes
from tests.conftest import FIXTURES, run_crawl

ZL = FIXTURES / "zillow_listings"


def q(url, sql, args=None):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def crawl(name, db):
    meta = cassettes.metadata(ZL / name)
    p = run_crawl(meta["spider"], db=db, cassette=ZL / name, args=meta.get("args"), settings=meta.get("settings"))
    assert p.returncode == 0, p.stderr[-3000:]


def history_cuts(html: str) -> list[tuple[str, int, int]]:
    """(date, old price, new price) of each "Price change" down in the page's priceHistory, read with a regex."""
    events = [(m.group(1), int(m.group(2)), m.group(3)) for m in re.finditer(
        r'\\*"date\\*":\\*"(\d{4}-\d\d-\d\d)\\*".{0,80}?\\*"price\\*":(\d+).{0,200}?\\*"event\\*":\\*"([^"\\]+)',
        html)]
    events.sort()
    return [(d, events[i - 1][1], p) for i, (d, p, e) in enumerate(events)
            if e == "Price change" and i and p < events[i - 1][1]]


def test_price_cuts_come_from_zillow_history_and_crawls_once_each(pg_url, pde_home):
    crawl("details_84890001.json", pg_url)
    expected = history_cuts((ZL / "home_details.html").read_text(encoding="utf-8"))
    assert expected == [("2025-05-28", 425000, 415000)]  # the page's real-looking -$10,000 change
    rows = q(pg_url, "SELECT changed_at::date::text, old_price, new_price, cut, seen_in FROM housing.price_cuts")
    assert rows == [(d, old, new, old - new, "zillow history") for d, old, new in expected]

    # a crawl before the cut saw the old price: pde's own comparison finds the same cut, counted once
    q(pg_url, """INSERT INTO housing.listings_history
                 SELECT (jsonb_populate_record(NULL::housing.listings_history, to_jsonb(l) || jsonb_build_object(
                        'price', 425000, 'updated_at', '2025-05-20T00:00:00Z', 'valid_to', now()))).*
                   FROM housing.listings l WHERE zpid = '84890001'""")
    assert q(pg_url, "SELECT count(*) FROM housing.price_changes WHERE change < 0") == [(1,)]
    rows = q(pg_url, "SELECT changed_at::date::text, cut, seen_in FROM housing.price_cuts")
    assert rows == [("2025-05-28", 10000, "zillow history, pde crawls")]


def test_median_price_per_sqft_is_split_by_status(pg_url, pde_home):
    crawl("search_04011.json", pg_url)   # homes for rent
    crawl("details_84890001.json", pg_url)  # a home for sale
    page = (ZL / "zillow-search-04011-20250601.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script id="__NEXT_DATA__"[^>]*>(.*?)</script>', page, re.S).group(1))
    homes = data["props"]["pageProps"]["searchPageState"]["cat1"]["searchResults"]["listResults"]
    by_status: dict[str, list[float]] = {}
    for h in homes:
        info = (h.get("hdpData") or {}).get("homeInfo") or {}
        sqft, price = info.get("livingArea"), info.get("price")
        if sqft and price and not h.get("buildingId"):
            by_status.setdefault(info["homeStatus"], []).append(price / sqft)
    details = (ZL / "home_details.html").read_text(encoding="utf-8")
    sale = [re.search(r'\\"' + k + r'\\":\\?"?(\w+)', details).group(1) for k in ("homeStatus", "price", "livingArea")]
    by_status.setdefault(sale[0], []).append(int(sale[1]) / int(sale[2]))
    assert set(by_status) == {"FOR_RENT", "FOR_SALE"}, by_status
    rows = q(pg_url, """SELECT status, percentile_cont(0.5) WITHIN GROUP (ORDER BY price_per_sqft)
                          FROM housing.listings_dashboard WHERE price_per_sqft IS NOT NULL GROUP BY status""")
    got = {s: float(m) for s, m in rows}
    for status, values in by_status.items():
        assert abs(got[status] - float(statistics.median([round(Decimal(v), 2) for v in values]))) < 0.006, status
    # the chart groups by status, so a rent of $2/sq ft never sits in a sale price's median
    import yaml

    chart = yaml.safe_load((FIXTURES.parent / "superset/assets/charts/house_price_per_sqft_by_zip.yaml").read_text())
    assert chart["params"]["groupby"] == ["status"]
