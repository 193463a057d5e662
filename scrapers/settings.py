"""Scrapy settings for every pde spider. Per-run overrides: `-s NAME=value`.

pde-specific settings:
  DATABASE_URL        PostgreSQL to write to (default: the environment's DATABASE_URL, else the embedded cluster)
  PDE_BATCH_SIZE      rows per upsert batch (5000)
  PDE_DB_RETRIES      reconnect attempts before spooling a batch (3), PDE_DB_RETRY_DELAY first delay in s (1.0)
  PDE_SEEN_INTERVAL   how stale last_seen_at may get before an unchanged row is touched ("6 hours")
  PDE_CASSETTE        replay this cassette; never touch the network
  PDE_SLOW_AFTER      seconds without an answer before the log says what is being waited for (10)
  PDE_DB              off = a dry run: parse, validate and export (-O out.json), write nothing, record no run
  PDE_RECORD          record the live crawl into this cassette (secrets scrubbed)
  PDE_BROWSER         1 = render pages in headless Chromium (scrapy-playwright)
  PDE_IMPERSONATE     1 (or a target, e.g. chrome131) = present a real browser's TLS fingerprint (scrapy-impersonate)
"""

import logging
import os
from pathlib import Path

# tldextract (used by the cookie middleware) must use its bundled suffix list, not the network.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

BOT_NAME = "pde"
# every area package under scrapers/ (housing, finance, fantasy, ...): a new area needs no edit here
SPIDER_MODULES = sorted(
    f"scrapers.{p.name}" for p in Path(__file__).resolve().parent.iterdir()
    if (p / "__init__.py").exists() and p.name not in ("commands", "templates")
)
NEWSPIDER_MODULE = "scrapers"
COMMANDS_MODULE = "scrapers.commands"

DATABASE_URL = os.environ.get("DATABASE_URL")

# Polite by default: these are personal crawls of a few pages, not bulk harvesting.
# robots.txt is not consulted: the pages are ones the user could open in a browser
# (their own accounts and searches); set ROBOTSTXT_OBEY=True to respect it.
ROBOTSTXT_OBEY = False
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 2
DOWNLOAD_DELAY_JITTER = 0.5  # ±50%
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2
AUTOTHROTTLE_MAX_DELAY = 60
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_TIMES = 2
DOWNLOAD_TIMEOUT = 60
COOKIES_ENABLED = True

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = os.environ.get("PDE_LOG_LEVEL", "INFO")
# ofxtools logs whole statement requests (account numbers) at INFO; scrapers.logs masks what still gets through
logging.getLogger("ofxtools").setLevel(logging.WARNING)
FEED_EXPORT_ENCODING = "utf-8"

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.postgres.PostgresPipeline": 900,
}
DOWNLOADER_MIDDLEWARES = {
    # only with PDE_BROWSER / PDE_IMPERSONATE: route requests to those handlers
    "scrapers.middlewares.DownloadModeMiddleware": 100,
    # after decompression (590), so it reads the page a browser would show
    "scrapers.middlewares.BlockDetectionMiddleware": 580,
    # before the retry middleware (550) sees a failure: says at once that a host cannot be reached
    "scrapers.waiting.NetworkTrouble": 560,
    # beside Scrapy's DownloaderStats (850): every request and response, replayed ones too
    "scrapers.middlewares.RunCountsMiddleware": 860,
    # closest to the network: sees final requests and raw (still compressed) bodies
    "scrapers.middlewares.CassetteMiddleware": 950,
}
SPIDER_MIDDLEWARES = {
    "scrapers.middlewares.SourceUrlMiddleware": 600,
}
EXTENSIONS = {
    "scrapers.logs.RedactLogs": 0,
    "scrapers.extensions.RunRecorder": 100,
    "scrapers.waiting.SlowRequests": 200,  # "still waiting for ... after 10 s; gives up in ..."
}
ADDONS = {
    "scrapers.addons.DownloadHandlers": 100,
    "scrapers.addons.Database": 200,  # -s PDE_DB=off: a dry run
}
