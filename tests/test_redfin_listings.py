"""redfin_listings: the saved answer parsed field by field, and a real crawl of its cassette into PostgreSQL.

Expected values are read from the saved answer itself, never from the parser's output.
"""

from __future__ import annotations

import json

from scrapers.housing.redfin_listings import RedfinListing
from tests.helpers import count, crawl_cassette, fixture, last_run, of, parse_saved

SAMPLE = fixture("redfin_listings", "sample.json")


def expected() -> list[dict]:
    return json.loads(SAMPLE.read_text())["items"]


def test_every_item_of_the_saved_answer_becomes_a_record():
    records = of(parse_saved("redfin_listings", SAMPLE), RedfinListing)
    assert [r.id for r in records] == [str(i["id"]) for i in expected()]
    assert [r.name for r in records] == [i["name"] for i in expected()]


def test_crawl_of_the_cassette_loads_every_row(pg_url, pde_home):
    crawl = crawl_cassette(fixture("redfin_listings", "cassette.json"), pg_url)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert last_run(pg_url, "redfin_listings")["status"] == "succeeded"
    assert count(pg_url, "housing.redfin_listings") == len(expected())
