"""Check each record against its declared fields; a failing one becomes a Rejected item.

Runs before the database pipeline, so invalid items are quarantined with the
reason (``platform.quarantine``) instead of being dropped or crashing a batch.
"""

from __future__ import annotations

from pde.records import Record, Rejected, validate


class ValidatePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        if not isinstance(item, Record):
            if not isinstance(item, Rejected):
                raise TypeError(f"pde spiders yield Record or Rejected items, not {type(item).__name__}")
            return item
        reason = validate(item)
        if reason is None:
            return item
        self.stats.inc_value("pde/validate/rejected")
        return Rejected(table=item.table, reason=reason, raw=item.to_json(),
                        source_url=getattr(item, "_pde_source_url", None))
