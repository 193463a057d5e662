"""Downloader and spider middlewares shared by every spider.

- ``CassetteMiddleware``: replays a recorded cassette (``PDE_CASSETTE``) and never
  lets a request reach the network; a request that is not in the cassette stops
  the crawl with an error naming it. With ``PDE_RECORD`` it writes a live crawl
  into a cassette, secrets scrubbed first.
- ``BlockDetectionMiddleware``: recognises block and captcha pages from the
  spider's ``block_markers``/``block_headers`` and 403/429, and ends the crawl as
  ``blocked`` with advice instead of parsing them.
- ``RunCountsMiddleware``: counts requests and responses per HTTP status into the run.
- ``SourceUrlMiddleware``: remembers which page each item came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from pde import cassettes
from pde.records import Record, Rejected
from pde.runs import run_of
from pde.sources import is_true, public_args
from scrapers.addons import impersonate_target

logger = logging.getLogger(__name__)

OFFLINE_SCHEMES = ("file:", "data:")


def _close(crawler, reason: str) -> None:
    engine = crawler.engine
    if engine is not None and engine.spider is not None:
        crawler._pde_close_task = engine.close_spider_async(reason=reason)  # keep a reference
        with contextlib.suppress(Exception):
            asyncio.ensure_future(crawler._pde_close_task)


class CassetteMiddleware:
    """Replay (PDE_CASSETTE=path) or record (PDE_RECORD=path) HTTP in betamax format."""

    def __init__(self, crawler):
        self.crawler = crawler
        s = crawler.settings
        self.replay_path = s.get("PDE_CASSETTE")
        self.record_path = s.get("PDE_RECORD")
        if self.replay_path and self.record_path:
            raise ValueError("Set PDE_CASSETTE (replay) or PDE_RECORD (record), not both.")
        if not (self.replay_path or self.record_path):
            raise NotConfigured
        self.replayer = cassettes.Replayer(self.replay_path) if self.replay_path else None
        #: seconds to wait before each replayed response (simulated latency; tests of slow crawls)
        self.delay = s.getfloat("PDE_CASSETTE_DELAY", 0.0)
        self.recorded: list[dict] = []
        if self.record_path:
            crawler.signals.connect(self.save, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request, spider=None):
        if self.replayer is None or request.url.startswith(OFFLINE_SCHEMES):
            return None
        if self.delay:
            await asyncio.sleep(self.delay)
        found = self.replayer.find(request.method, request.url, request.body or b"")
        if found is None:
            msg = (
                f"Cassette miss: {request.method} {request.url} is not recorded in {self.replay_path}. "
                "Nothing was fetched (replay never uses the network). Re-record the cassette "
                "(see README, 'Recording a fixture') or fix the request the spider makes."
            )
            logger.error(msg)
            self.crawler.stats.inc_value("pde/cassette_miss")
            run_of(self.crawler).stop("failed", "The crawl asked for a request that is not in the cassette: "
                                                f"{request.method} {request.url}.")
            _close(self.crawler, "cassette_miss")
            raise IgnoreRequest(msg)
        self.crawler.stats.inc_value("pde/cassette_replayed")
        headers = Headers({k: v for k, v in found["headers"].items()})
        body = cassettes.body_bytes(found["body"])
        respcls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return respcls(url=request.url, status=found["status"]["code"], headers=headers, body=body, request=request)

    def process_response(self, request, response, spider=None):
        if self.record_path and not request.url.startswith(OFFLINE_SCHEMES):
            headers = {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()}
            req_headers = {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in request.headers.items()}
            self.recorded.append(cassettes.interaction(
                request.url, response.body, method=request.method, status=response.status,
                headers=headers, request_body=request.body or b"", request_headers=req_headers,
            ))
        return response

    def save(self, spider, reason):
        spider_obj = self.crawler.spider
        path = Path(self.record_path)
        cassettes.build_cassette(
            path, self.recorded, spider=spider_obj.name,
            args=public_args(spider_obj),
            provenance=f"Recorded live by `scrapy crawl {spider_obj.name} -s PDE_RECORD={path}`.",
            expect="blocked" if reason == "blocked" else "succeeded",
        )
        logger.info("Recorded %d interactions into %s (secrets scrubbed)", len(self.recorded), path)


class BlockDetectionMiddleware:
    """Stops the crawl as 'blocked' when a response is a block or captcha page."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.statuses = set(crawler.settings.getlist("PDE_BLOCK_STATUSES", [403, 429]))

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response, spider=None):
        spider = self.crawler.spider
        sign = None
        if int(response.status) in {int(s) for s in self.statuses}:
            sign = f"HTTP {response.status}"
        else:
            for h in getattr(spider, "block_headers", ()):
                if h.encode() in {k.lower() for k in response.headers}:
                    sign = f"header {h}"
                    break
            else:
                body = response.body[:500_000]
                for marker in getattr(spider, "block_markers", ()):
                    if marker.encode() in body:
                        sign = f"page contains {marker!r}"
                        break
        if sign is None:
            return response
        advice = getattr(spider, "block_advice", "")
        msg = (f"Blocked: {request.url} answered with a block/captcha page ({sign}). No items were taken from it. "
               f"{advice}")
        logger.error(msg)
        self.crawler.stats.inc_value("pde/blocked")
        run_of(self.crawler).stop("blocked", msg)
        _close(self.crawler, "blocked")
        raise IgnoreRequest(msg)


class RunCountsMiddleware:
    """Counts requests (replayed ones too) and responses per HTTP status into the run (platform.runs)."""

    def __init__(self, crawler):
        self.run = run_of(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        self.run.requests += 1

    def process_response(self, request, response, spider=None):
        code = str(response.status)
        self.run.response_codes[code] = self.run.response_codes.get(code, 0) + 1
        return response


class DownloadModeMiddleware:
    """Marks requests for the optional handlers the add-on installed.

    PDE_BROWSER=1: every http(s) request is rendered by scrapy-playwright (Chromium).
    PDE_IMPERSONATE=1 (or a target such as chrome131): every http(s) request goes
    through scrapy-impersonate with a real browser's TLS fingerprint.
    """

    def __init__(self, crawler):
        s = crawler.settings
        self.browser = is_true(s.get("PDE_BROWSER"))
        self.impersonate = impersonate_target(s.get("PDE_IMPERSONATE"))
        if not (self.browser or self.impersonate):
            raise NotConfigured
        self.wait_until = s.get("PDE_BROWSER_WAIT_UNTIL", "load")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        if not request.url.startswith(("http:", "https:")):
            return None
        if self.browser and "playwright" not in request.meta:
            request.meta["playwright"] = True
            request.meta.setdefault("playwright_page_goto_kwargs", {"wait_until": self.wait_until})
        elif self.impersonate and "impersonate" not in request.meta:
            request.meta["impersonate"] = self.impersonate
        return None


class SourceUrlMiddleware:
    """Tags each item with the URL of the response it came from (for quarantine)."""

    @staticmethod
    def _tag(response, item):
        if isinstance(item, Record) and getattr(item, "_pde_source_url", None) is None:
            item._pde_source_url = response.url
        elif isinstance(item, Rejected) and item.source_url is None:
            item.source_url = response.url
        return item

    def process_spider_output(self, response, result, spider=None):
        for item in result:
            yield self._tag(response, item)

    async def process_spider_output_async(self, response, result, spider=None):
        async for item in result:
            yield self._tag(response, item)
