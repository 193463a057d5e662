"""Secrets never reach the crawl log: a filter on Scrapy's log handlers (pde.secrets.RedactingFilter).

Masks DSN passwords in any form, secret-looking query parameters in logged URLs,
values of secret-looking environment variables, and account numbers (last four
digits at most). Scrapy replaces its root handler after the extensions are built,
so the filter is (re)attached when the spider opens, before anything is crawled.
"""

from __future__ import annotations

from scrapy import signals

from pde.secrets import install_log_redaction


class RedactLogs:
    def __init__(self, crawler):
        install_log_redaction()
        crawler.signals.connect(self.attach, signal=signals.spider_opened)
        crawler.signals.connect(self.attach, signal=signals.engine_started)

    def attach(self, *args, **kwargs):
        install_log_redaction()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)
