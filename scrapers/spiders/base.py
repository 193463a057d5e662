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

import glob
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import scrapy


class ParseError(ValueError):
    """A page that does not look like any layout we know. Say which page and why."""


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
            for target in expand_urls(self.url):
                yield scrapy.Request(target, callback=self.parse, dont_filter=True)
            return
        for request in self.live_requests():
            yield request

    def live_requests(self) -> Iterable[scrapy.Request]:
        """Requests for a live crawl from the spider's arguments."""
        raise NotImplementedError(f"{self.name} can only crawl saved files: pass -a url=...")


def public_args(spider) -> dict:
    """The run's -a arguments without secret-looking ones: what run records and cassettes keep."""
    from pde.cassettes import SECRET_FIELDS

    return {k: v for k, v in getattr(spider, "pde_args", {}).items() if not SECRET_FIELDS.match(k)}


def expand_urls(spec: str) -> list[str]:
    """Comma-separated URLs, paths or globs -> URLs (paths become file:// URLs)."""
    urls: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if "://" in part and not part.startswith("file://"):
            urls.append(part)
            continue
        path = os.path.expanduser(part.removeprefix("file://"))
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        if not matches:
            raise ValueError(f"No file matches {part!r}")
        for m in matches:
            p = Path(m).resolve()
            if not p.exists():
                raise ValueError(f"No such file: {p}")
            urls.append(p.as_uri())
    return urls
