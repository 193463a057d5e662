"""A minimal source for testing the machinery (pipeline, runs, cassettes) in isolation."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg
from scrapers.spider import PdeSpider


@dataclass(kw_only=True)
class Thing(Record):
    table = "selftest.things"
    key = ("thing_id",)
    history = True
    thing_id: str
    name: str
    price: int | None = None
    tags: list | None = None
    seen_on: dt.date | None = None


class SelftestSpider(PdeSpider):
    """Reads https://things.test/page/<n>.json pages: {"things": [...], "next": n|null}."""

    name = "selftest_things"
    area = "selftest"
    block_markers = ("px-captcha",)

    args = (Arg("start_page", "first page to read", type=int, default=1, min=1),)

    def live_requests(self):
        yield scrapy.Request(f"https://things.test/page/{self.start_page}.json")

    def parse(self, response):
        pause = self.settings.getfloat("PDE_SELFTEST_PAUSE")  # tests/test_celery.py: a crawl slow enough to overlap
        if pause:
            time.sleep(pause)  # blocks the crawl on purpose (replayed pages skip DOWNLOAD_DELAY)
        data = json.loads(response.text)
        for row in data["things"]:
            if "id" not in row:
                yield Rejected(table=Thing.table, reason="row has no id", raw=row)
                continue
            yield Thing(thing_id=str(row["id"]), name=row.get("name"), price=row.get("price"),
                        tags=row.get("tags"),
                        seen_on=dt.date.fromisoformat(row["seen_on"]) if row.get("seen_on") else None)
        if data.get("next"):
            yield response.follow(f"/page/{data['next']}.json", callback=self.parse)
