"""Fail a run whose records lack the fields their page layout always has: the site changed its layout.

A record class names those fields (``Listing.layout_fields = ("price", "address", "url")``). When a
site renames its markup (Zillow's ``data-testid=`` became ``data-test=`` on some pages), selectors
stop matching but each card still yields a record with its id, validation passes, and the run would
report success with empty rows. This pipeline counts, per record class, the records missing each
layout field; at the end of the crawl a field missing on more than half of a class's records sets
the run's ``layout_changed`` (:mod:`pde.runs`), and the run's verdict is failed with that message.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from pde.records import Record
from pde.runs import run_of


class LayoutCheckPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.seen: Counter = Counter()
        self.missing: dict[type, Counter] = defaultdict(Counter)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        fields = getattr(type(item), "layout_fields", ()) if isinstance(item, Record) else ()
        if fields:
            cls = type(item)
            self.seen[cls] += 1
            for name in fields:
                if getattr(item, name, None) in (None, ""):
                    self.missing[cls][name] += 1
        return item

    def problems(self) -> list[str]:
        out = []
        for cls, n in self.seen.items():
            lost = [(f, m) for f, m in self.missing[cls].items() if m * 2 > n]
            if lost:
                out.append(f"{', '.join(f'{m} of {n} {cls.__name__} records have no {f}' for f, m in lost)}")
        return out

    def close_spider(self):
        problems = self.problems()
        if not problems:
            return
        spider = self.crawler.spider
        message = (
            f"The site's layout has changed: {'; '.join(problems)}, fields every {spider.name} record "
            "has when its page is read right. The parser no longer finds them; the rows were kept as read "
            "(known values are never overwritten with empty ones). Save a page from your browser and check "
            f"it with `scrapy crawl {spider.name} -a url=/path/to/page`, then update the parser."
        )
        run_of(self.crawler).layout_changed = message
        self.crawler.stats.set_value("pde/layout_changed", message)  # for people reading the stats dump
