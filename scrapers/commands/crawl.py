"""``scrapy crawl`` that checks its arguments first, exits non-zero unless the run succeeded, and can
leave its result in a file.

Scrapy exits 0 after a crawl that was blocked, failed or found nothing; a
scheduler (Airflow, cron) would think all is well. Exit codes (pde.runs.EXIT_CODES):
0 succeeded, 1 failed, 2 usage error (unknown spider, unknown argument, bad or
missing value: one line says which, nothing runs and nothing is recorded; Airflow
does not retry it), 3 blocked, 4 refused (the same crawl is already running).
With ``-s PDE_RESULT_FILE=path`` the run (pde.runs.Run: run id, status, message,
counts per table) is written there as JSON at the end. ``-a help=1`` lists the
spider's arguments.
"""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from pde.runs import EXIT_CODES, run_of
from pde.sources import ArgError, describe_args, has_declaration, parse_args, suggest
from scrapers.addons import is_db_on

EXIT_USAGE = EXIT_CODES["usage"]


def usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def check_crawl(spider_loader, name: str, spargs: dict, settings=None) -> str | None:
    """What is wrong with ``scrapy crawl name -a ...`` (one line), or None. Nothing is started."""
    try:
        spidercls = spider_loader.load(name)
    except KeyError:
        names = spider_loader.list()
        return (f"there is no spider {name!r}{suggest(name, names) or '.'} "
                f"Spiders: {', '.join(sorted(names))} (`scrapy list`, `pde sources`).")
    if not has_declaration(spidercls):
        return None
    try:
        values = parse_args(spidercls, spargs)
        ready = getattr(spidercls, "check_ready", None)
        if ready is not None:
            ready(values, settings)
    except ArgError as exc:
        return str(exc) if str(exc).startswith(f"{name}:") else f"{name}: {exc}"
    return None


class Command(ScrapyCrawl):
    def short_desc(self) -> str:
        return ("Run a spider into PostgreSQL; exit 0 only if the run succeeded "
                "(1 failed, 2 usage error, 3 blocked, 4 refused); -a help=1 lists its arguments")

    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name (`scrapy list` shows them)")
        assert self.crawler_process
        name, spargs = args[0], dict(opts.spargs)
        if str(spargs.get("help", "")).lower() in ("1", "true", "yes"):
            self.exitcode = self._help(name)
            return
        problem = check_crawl(self.crawler_process.spider_loader, name, spargs, self.settings)
        if problem:
            self.exitcode = usage_error(problem)
            return
        crawler = self._create_crawler(name)
        run = run_of(crawler)
        run.spider = name
        self.crawler_process.crawl(crawler, **spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed and run.status in ("running", "succeeded"):
            run.status, run.message = "failed", run.message or "The crawl could not start; see the log."
        elif run.status == "running" and not is_db_on(crawler.settings):  # a dry run: no run record decides
            errors = crawler.stats.get_value("log_count/ERROR", 0)
            run.status = "failed" if errors else "succeeded"
            run.message = f"dry run with {errors} error(s); see the log above." if errors else ""
        elif run.status == "running":  # no run extension: nothing decided a status
            run.status = "failed"
        self.exitcode = run.exit_code
        if run.status != "succeeded":
            print(f"{name}: {run.status}. {run.message}", file=sys.stderr)
        result_file = self.settings.get("PDE_RESULT_FILE")
        if result_file:
            run.write_result(result_file)

    def _help(self, name: str) -> int:
        loader = self.crawler_process.spider_loader
        if name not in loader.list():
            return usage_error(check_crawl(loader, name, {}) or name)
        spidercls = loader.load(name)
        doc = (sys.modules[spidercls.__module__].__doc__ or "").strip().splitlines()
        print(f"{name}: {doc[0] if doc else ''}\n\nArguments (-a name=value):")
        print("\n".join(describe_args(spidercls)) if has_declaration(spidercls) else "  (not declared)")
        return 0
