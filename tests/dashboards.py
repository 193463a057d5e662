"""Superset dashboards in a real browser, for the live dashboard tests and the render benchmark.

Logs in through the form as a person would, opens a dashboard and waits until
every chart is drawn or has failed. The browser itself is pde's one Chromium
helper (pde/services/browser.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# The state of every chart on a dashboard page: still loading, drawn (a canvas,
# svg, table or "no results"), or failed (Superset's error alert instead of a chart).
_CHARTS_JS = """
() => [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')].map(h => {
  const idEl = h.querySelector('[data-test-chart-id]');
  const title = h.querySelector('[data-test="editable-title"], [data-test="slice-header"]');
  const loading = !!h.querySelector('[data-test="loading-indicator"], .loading');
  const container = h.querySelector('[data-test="chart-container"]');
  const slice = h.querySelector('[data-test="slice-container"]');
  const alert = h.querySelector('.ant-alert-error, .ant-alert-warning, [role="alert"], [data-test="error-tooltip"]');
  const drawn = !!(slice && slice.querySelector('canvas, svg, table, .ant-empty'));
  const body = (h.innerText || '').trim();
  let error = null;
  if (alert) error = (alert.innerText || 'error').trim();
  else if (!loading && !container && body && title && body !== title.innerText.trim()) error = body;
  return {id: idEl ? idEl.getAttribute('data-test-chart-id') : null,
          name: title ? title.innerText.trim() : null, loading, drawn: drawn && !loading, error,
          empty: !!(slice && slice.querySelector('.ant-empty'))};
})
"""


class DashboardRenderError(AssertionError):
    pass


def browser_login(page, base_url: str, user: str, password: str) -> None:
    """Through the login form, as a person would."""
    page.goto(base_url + "/login/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("[data-test=login-button]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)


@dataclass
class Rendered:
    seconds: float
    charts: list[dict]

    @property
    def errors(self) -> list[dict]:
        return [c for c in self.charts if c["error"]]


def render_dashboard(page, base_url: str, slug: str, timeout: float = 60, query: str = "") -> Rendered:
    """Open a dashboard; return once every chart is drawn or has failed (seconds from navigation).

    query: URL parameters, e.g. ``native_filters=(...)`` as a shared link carries them.
    """
    t0 = time.monotonic()
    page.goto(f"{base_url}/superset/dashboard/{slug}/" + (f"?{query}" if query else ""))
    try:
        page.wait_for_selector('[data-test="dashboard-component-chart-holder"]', timeout=timeout * 1000)
    except Exception as exc:  # playwright's TimeoutError
        text = page.evaluate("() => document.body ? document.body.innerText : ''")[:1000]
        raise DashboardRenderError(f"dashboard {slug} shows no charts after {timeout:.0f} s "
                                   f"(at {page.url}): {text!r}") from exc
    while True:
        charts = page.evaluate(_CHARTS_JS)
        if charts and all(c["drawn"] or c["error"] for c in charts):
            return Rendered(time.monotonic() - t0, charts)
        if time.monotonic() - t0 > timeout:
            waiting = [c["name"] for c in charts if not (c["drawn"] or c["error"])]
            raise DashboardRenderError(f"dashboard {slug}: charts not rendered after {timeout:.0f} s: {waiting}")
        page.wait_for_timeout(50)
