"""Say early what a crawl is waiting for, and how long it will keep trying.

Scrapy waits quietly: a server that accepts and never answers costs
DOWNLOAD_TIMEOUT per try, times 1 + RETRY_TIMES tries, with only "Crawled 0
pages" in the log, and a crawl without network retries at DEBUG level before
it gives up. ``SlowRequests`` (an extension) warns once per request that has
had no answer for ``PDE_SLOW_AFTER`` seconds (10), with the time left;
``NetworkTrouble`` (a downloader middleware) warns at the first failure to
reach a host, with the retries left. Both only speak; they change nothing.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from scrapy import signals
from twisted.internet import task

logger = logging.getLogger(__name__)


def _budget(settings, request) -> tuple[float, int]:
    """(seconds per try, tries left after this one) for a request."""
    timeout = float(request.meta.get("download_timeout") or settings.getfloat("DOWNLOAD_TIMEOUT", 180))
    retries = int(request.meta.get("max_retry_times", settings.getint("RETRY_TIMES", 2)))
    if not settings.getbool("RETRY_ENABLED", True) or request.meta.get("dont_retry"):
        retries = 0
    return timeout, max(0, retries - int(request.meta.get("retry_times", 0)))


def _delay(crawler, host: str) -> float:
    slot = (crawler.settings.getdict("DOWNLOAD_SLOTS") or {}).get(host) or {}
    return float(slot.get("delay", crawler.settings.getfloat("DOWNLOAD_DELAY", 0)))


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class SlowRequests:
    def __init__(self, crawler):
        self.crawler = crawler
        self.after = crawler.settings.getfloat("PDE_SLOW_AFTER", 10)
        self.waiting: dict[int, tuple[float, object]] = {}
        self.told: set[int] = set()
        self.hosts_told: set[str] = set()
        self.loop = task.LoopingCall(self.check)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.reached, signal=signals.request_reached_downloader)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def opened(self, spider):
        self.loop.start(max(0.25, min(self.after / 4, 2)), now=False)

    def closed(self, spider, reason):
        if self.loop.running:
            self.loop.stop()

    def reached(self, request, spider):
        host = urlsplit(request.url).hostname or ""
        delay = _delay(self.crawler, host)
        if request.url.startswith(("http://", "https://")) and delay >= 5 and host not in self.hosts_told:
            self.hosts_told.add(host)
            logger.info("Requests to %s are spaced about %s apart (politeness): each further page there adds "
                        "~%s to the crawl.", host, _duration(delay), _duration(delay))

    def check(self):
        """Requests on the wire (not those queued for the politeness delay) without an answer for a while."""
        now = time.monotonic()
        engine = getattr(self.crawler, "engine", None)
        slots = getattr(getattr(engine, "downloader", None), "slots", {}) or {}
        sent = {id(r): r for slot in list(slots.values()) for r in list(getattr(slot, "transferring", ()))}
        for key in set(self.waiting) - set(sent):
            del self.waiting[key]
            self.told.discard(key)
        for key, request in sent.items():
            self.waiting.setdefault(key, (now, request))
        for key, (started, request) in list(self.waiting.items()):
            waited = now - started
            if waited < self.after or key in self.told:
                continue
            self.told.add(key)
            timeout, left = _budget(self.crawler.settings, request)
            worst = max(0.0, timeout - waited) + left * timeout
            logger.warning(
                "Still waiting for %s after %s: no answer yet. This try gives up after %s (DOWNLOAD_TIMEOUT), "
                "then %s; at most about %s more for this page.%s",
                request.url, _duration(waited), _duration(timeout),
                f"{left} more tr{'y' if left == 1 else 'ies'}" if left else "no retry", _duration(worst),
                " Give up sooner with -s DOWNLOAD_TIMEOUT=20." if timeout > 20 else "")


class NetworkTrouble:
    """Warns at the first failure to reach a host (DNS, refused, timeout), before Scrapy's retries."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.told: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_exception(self, request, exception, spider=None):
        host = urlsplit(request.url).netloc
        if host in self.told or not request.url.startswith(("http://", "https://")):
            return None
        self.told.add(host)
        timeout, left = _budget(self.crawler.settings, request)
        what = str(exception).strip().splitlines()[0] if str(exception).strip() else type(exception).__name__
        hint = " Is this machine offline?" if "DNS" in what or "resolve" in what.lower() else ""
        plan = (f"Retrying {left} more time{'s' if left != 1 else ''} (each try up to {_duration(timeout)}, "
                f"~{_duration(_delay(self.crawler, urlsplit(request.url).hostname or ''))} apart) before this "
                "page counts as failed." if left else "No retry left: this page counts as failed.")
        logger.warning("Cannot reach %s: %s.%s %s", host, what.rstrip("."), hint, plan)
        return None
