"""Secrets never reach the crawl log: a filter on Scrapy's log handlers (pde.secrets.RedactingFilter).

Masks DSN passwords in any form, secret-looking query parameters in logged URLs,
values of secret-looking environment variables, and account numbers (last four
digits at most). Installed as the first extension, after Scrapy set up its handlers.
"""

from __future__ import annotations

from pde.secrets import install_log_redaction


class RedactLogs:
    def __init__(self, crawler):
        install_log_redaction()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)
