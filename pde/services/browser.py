"""The one headless Chromium pde drives: Debian's, through Playwright, never a downloaded browser.

The cheat sheet prints its PDF with it, the dashboard tests and the render
benchmark open Superset in it. ``PDE_CHROMIUM`` points at another binary. Only
this machine resolves: every other host name fails at once (map tiles, usage
pixels), without request interception (which would also turn the browser's cache off).
The binary and its flags are in pde/envs.py, shared with crawls that render
pages (``-s PDE_BROWSER=1``: scrapy-playwright, with the network on; scrapers/addons.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pde.envs import CHROMIUM, CHROMIUM_ARGS

OFFLINE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]


def offline_args(allow: tuple[str, ...] = ()) -> list[str]:
    """The offline flags, with more hosts allowed (the HTTPS proxy test's second loopback address)."""
    if not allow:
        return OFFLINE_ARGS
    return [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, "
            + ", ".join(f"EXCLUDE {h}" for h in ("localhost", "127.0.0.1", *allow))]


class ChromiumMissing(RuntimeError):
    """Chromium is not installed where PDE_CHROMIUM (default /usr/bin/chromium) says."""


def missing_message(why: str = "pde drives a real browser") -> str | None:
    """None when Chromium is there; else what to install, and why it is needed."""
    if Path(CHROMIUM).exists():
        return None
    return (f"Chromium is not installed ({CHROMIUM} is missing): {why}. "
            "Install it with scripts/system-deps.sh (what .ci/run does; Debian: apt-get install -y chromium), "
            "or point PDE_CHROMIUM at a Chromium binary.")


def launch(playwright, why: str = "pde drives a real browser", env: dict[str, str] | None = None,
           allow: tuple[str, ...] = ()):
    """Headless Chromium from a running ``sync_playwright()`` (or its ``browser_type``, to start a second browser
    beside a running one); raises ChromiumMissing when it is not installed.

    env: the browser's environment (e.g. a HOME whose NSS database trusts pde's local CA, as a Linux desktop does);
    allow: more hosts it may reach besides this machine's 127.0.0.1.
    """
    missing = missing_message(why)
    if missing:
        raise ChromiumMissing(missing)
    browser_type = getattr(playwright, "chromium", playwright)
    return browser_type.launch(executable_path=CHROMIUM, headless=True, args=offline_args(allow),
                                      **({"env": env} if env is not None else {}))


@contextmanager
def chromium(why: str = "pde drives a real browser", env: dict[str, str] | None = None,
             allow: tuple[str, ...] = ()) -> Iterator:
    """``with chromium() as browser:``: Playwright started, Chromium launched, both closed after."""
    missing = missing_message(why)
    if missing:
        raise ChromiumMissing(missing)
    from playwright.sync_api import sync_playwright  # lazy: Playwright starts a driver; only the PDF and tests need it

    with sync_playwright() as pw:
        browser = launch(pw, why, env, allow)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = 1600, height: int = 1200):
    return browser.new_context(viewport={"width": width, "height": height}).new_page()
