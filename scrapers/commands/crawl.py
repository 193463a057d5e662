"""``scrapy crawl`` that exits non-zero unless the run succeeded.

Scrapy exits 0 after a crawl that was blocked, failed or found nothing; a
scheduler (Airflow, cron) would think all is well. Exit codes: 0 succeeded,
1 failed (or refused because the same crawl is already running), 3 blocked.
"""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

EXIT_CODES = {"succeeded": 0, "failed": 1, "refused": 1, "blocked": 3}


class Command(ScrapyCrawl):
    def short_desc(self) -> str:
        return "Run a spider into PostgreSQL; exit 0 only if the run succeeded (1 failed, 3 blocked)"

    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name (`scrapy list` shows them)")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        status = getattr(crawler, "pde_status", None)
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        elif status is not None:
            self.exitcode = EXIT_CODES.get(status, 1)
            if status != "succeeded":
                print(f"{args[0]}: {status}. {getattr(crawler, 'pde_message', '')}", file=sys.stderr)
