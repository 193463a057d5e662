"""Optional download handlers, switched on per run: ``-s PDE_BROWSER=1``, ``-s PDE_IMPERSONATE=1``.

An add-on sees command-line settings, so one flag sets the handlers and the
browser's launch options together.
"""

from __future__ import annotations

from pde.envs import CHROMIUM, CHROMIUM_ARGS
from pde.sources import is_true


def impersonate_target(value) -> str | None:
    """PDE_IMPERSONATE: off (unset, 0, no), on (1, yes: a current Chrome) or a curl_cffi target such as chrome131."""
    try:
        return "chrome" if is_true(value) else None
    except ValueError:
        return str(value).strip()


class DownloadHandlers:
    def update_settings(self, settings) -> None:
        if is_true(settings.get("PDE_BROWSER")):
            handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
            settings.set("DOWNLOAD_HANDLERS", {"http": handler, "https": handler}, priority="addon")
            settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", priority="addon")
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", {
                "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS,
            }, priority="addon")
        elif impersonate_target(settings.get("PDE_IMPERSONATE")):
            handler = "scrapy_impersonate.ImpersonateDownloadHandler"
            settings.set("DOWNLOAD_HANDLERS", {"http": handler, "https": handler}, priority="addon")


class Database:
    """``-s PDE_DB=off``: a dry run. Items are parsed, validated and exported (``-O out.json``), nothing is
    written to PostgreSQL and no run is recorded. ``scrapy shell``, ``parse``, ``check``, ``bench``, ``fetch``
    and ``view`` run this way (scrapers/commands/): looking at a page is not a crawl."""

    def update_settings(self, settings) -> None:
        if is_db_on(settings):
            return
        settings["EXTENSIONS"]["scrapers.extensions.RunRecorder"] = None
        settings["ITEM_PIPELINES"]["pipelines.postgres.PostgresPipeline"] = None
        settings["ITEM_PIPELINES"]["pipelines.dryrun.DryRunPipeline"] = 900


def is_db_on(settings) -> bool:
    return str(settings.get("PDE_DB", "on")).strip().lower() not in ("off", "0", "false", "no")
