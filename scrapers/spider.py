"""What every pde spider shares: declared arguments, the saved-file entry point, schedule and block signs.

A source spider subclasses ``PdeSpider``, sets ``name`` (the one name used by the
schema's tables, the DAG and the dashboard), ``area`` (the PostgreSQL schema),
declares its ``-a`` arguments once in ``args = (Arg(...), ...)`` and implements
``live_requests()`` and ``parse()``. Arguments are checked when the spider is
made (unknown ones and bad values are refused with what is allowed) and set as
typed attributes (``self.pages`` is an int). ``parse`` must recognise a page by
its content, never by its URL, so that

    scrapy crawl <spider> -a url=file:///path/to/saved.html

parses a page saved from a browser exactly like the live one. ``url`` may also
be a live URL, a local path, a glob (``~/Downloads/*.ofx``) or several,
comma-separated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy

from pde.sources import (
    Arg,
    check_files,
    check_required,
    expand_urls,
    normalised_args,
    parse_args,
)


class PdeSpider(scrapy.Spider):
    #: PostgreSQL schema and Airflow tag: housing / finance / fantasy
    area: str = ""
    #: cron expression or preset for the Airflow DAG; nightly by default
    schedule: str = "0 3 * * *"
    #: the -a arguments; a subclass's ``args`` adds to these (see pde.sources.Arg)
    args: tuple[Arg, ...] = (
        Arg("url", "saved pages or files instead of the live site: a URL, path, glob or comma list",
            example="~/Downloads/page.html"),
    )
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

    def __init__(self, name: str | None = None, **kwargs: Any):
        values = parse_args(type(self), kwargs)
        super().__init__(name)
        self.__dict__.update(values)
        #: the arguments as run records keep them (defaults filled in, secrets left out)
        self.pde_args = normalised_args(type(self), values)

    @classmethod
    def check_args(cls, values: dict[str, Any]) -> None:
        """Rules across arguments (or against data files); raise pde.sources.ArgError. None by default."""

    @classmethod
    def check_ready(cls, values: dict[str, Any], settings=None) -> None:
        """Before a crawl starts (`scrapy crawl` asks; `scrapy parse` and `shell` do not): is everything it
        needs given (required arguments, the files and environment it reads)? Raise ArgError saying what not."""
        check_required(cls, values)
        if values.get("url"):
            check_files(values["url"])

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
