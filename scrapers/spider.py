"""What every pde spider shares: the saved-file entry point, schedule and block signs.

A source spider subclasses ``PdeSpider``, sets ``name`` (the one name used by the
schema's tables, the DAG and the dashboard), ``area`` (the PostgreSQL schema),
and implements ``live_requests()`` and ``parse()``. ``parse`` must recognise a
page by its content, never by its URL, so that

    scrapy crawl <spider> -a url=file:///path/to/saved.html

parses a page saved from a browser exactly like the live one. ``url`` may also
be a live URL, a local path, a glob (``~/Downloads/*.ofx``) or several,
comma-separated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import scrapy

from pde.sources import expand_urls


class PdeSpider(scrapy.Spider):
    #: PostgreSQL schema and Airflow tag: housing / finance / fantasy
    area: str = ""
    #: cron expression or preset for the Airflow DAG; nightly by default
    schedule: str = "0 3 * * *"
    #: a successful crawl that yields no item is a failure
    expects_items: bool = True
    #: substrings of a response body that mean "the site blocked us"
    block_markers: tuple[str, ...] = ()
    #: response headers whose presence means "blocked"
    block_headers: tuple[str, ...] = ()
    #: what to tell the user when blocked
    block_advice: str = (
        "Wait a few hours, slow down (-s DOWNLOAD_DELAY=10), or save the page from "
        "your browser and crawl it with -a url=file:///path/to/page.html."
    )

    def __init__(self, *args, url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.url = url

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        #: every -a argument as given (whatever the subclass consumed), recorded with
        #: the run and keying its concurrency lock; secret-looking ones are dropped there
        spider.pde_args = {k: v for k, v in kwargs.items() if v is not None}
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.url:
            try:
                targets = expand_urls(self.url)
            except ValueError as exc:  # a missing file: say which, read none of them
                self.logger.error("%s Nothing was read.", exc)
                return
            for target in targets:
                yield scrapy.Request(target, callback=self.parse, dont_filter=True)
            return
        for request in self.live_requests():
            yield request

    def nothing_yet(self, response, what: str) -> None:
        """Note a valid answer that holds no rows (an off-season list): the run succeeds with 0 rows and says so."""
        message = f"{self.name}: the source had nothing yet: {what} ({response.url}). 0 rows; nothing to do."
        self.logger.info(message)
        self.nothing_yet_message = getattr(self, "nothing_yet_message", None) or message
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats.get_value("pde/nothing_yet") is None:
            crawler.stats.set_value("pde/nothing_yet", message)

    def live_requests(self) -> Iterable[scrapy.Request]:
        """Requests for a live crawl from the spider's arguments."""
        raise NotImplementedError(f"{self.name} can only crawl saved files: pass -a url=...")
