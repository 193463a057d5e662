"""The last pipeline of a dry run (``-s PDE_DB=off``): nothing is written, nothing is lost silently.

Records go on to the feed exports (``-O out.json``); a record that would have
been quarantined is logged with its reason and left out of the export.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from pde.records import Rejected

logger = logging.getLogger(__name__)


class DryRunPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self, spider=None):
        logger.info("Dry run (PDE_DB=off): nothing is written to the database and no run is recorded")

    def process_item(self, item, spider=None):
        if isinstance(item, Rejected):
            self.crawler.stats.inc_value("pde/quarantined")
            raise DropItem(f"would be quarantined in the database ({item.table}): {item.reason}")
        return item
