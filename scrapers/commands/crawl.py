"""``scrapy crawl`` that exits non-zero unless the run succeeded, and can leave its result in a file.

Scrapy exits 0 after a crawl that was blocked, failed or found nothing; a
scheduler (Airflow, cron) would think all is well. Exit codes (pde.runs.EXIT_CODES):
0 succeeded, 1 failed, 2 usage error, 3 blocked, 4 refused (the same crawl is
already running). With ``-s PDE_RESULT_FILE=path`` the run (pde.runs.Run: run id,
status, message, counts per table) is written there as JSON at the end.
"""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from pde.runs import run_of


class Command(ScrapyCrawl):
    def short_desc(self) -> str:
        return "Run a spider into PostgreSQL; exit 0 only if the run succeeded (1 failed, 3 blocked, 4 refused)"

    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name (`scrapy list` shows them)")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        run = run_of(crawler)
        run.spider = args[0]
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed and run.status in ("running", "succeeded"):
            run.status, run.message = "failed", run.message or "The crawl could not start; see the log."
        elif run.status == "running":  # no run extension: nothing decided a status
            run.status = "failed"
        self.exitcode = run.exit_code
        if run.status != "succeeded":
            print(f"{args[0]}: {run.status}. {run.message}", file=sys.stderr)
        result_file = self.settings.get("PDE_RESULT_FILE")
        if result_file:
            run.write_result(result_file)
