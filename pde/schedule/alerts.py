"""Alerts: a failed or blocked crawl, a failed quality check, a source gone quiet, told to a person.

Channels are Apprise URLs (e-mail ``mailtos://``, ``ntfy://``, ``tgram://``, ``slack://``,
``json://`` ...; https://github.com/caronc/apprise/wiki). They carry credentials, so
dags/crawls.yaml names them like ``secrets:`` and their values come from the
environment, an Airflow Variable or a Connection::

    defaults:
      alerts: [PDE_ALERT_URLS]          # Variable or environment variable PDE_ALERT_URLS
      alert_after_days: 3               # "has not succeeded for N days"
    spiders:
      zillow_listings:
        alerts: {ZILLOW_NTFY: "connection:ntfy.password"}
        alert_after_days: 7

One value may hold several URLs (comma or space separated). ``alert_digest: true``
under defaults adds a daily summary of every source's runs. Every message says
which source, what happened and what to do. The crawl task alerts when a crawl
is blocked or fails for good (its last retry), the quality task when a check
fails, and the ``pde_health`` DAG once a day for each spider whose last success
is older than its ``alert_after_days`` (default 3).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from pde.db import connect
from pde.schedule.config import DEFAULT_AFTER_DAYS, START_DATE, load_config, normalise_secrets, spider_config
from pde.schedule.tasks import _mask, data_database_url, resolve_secrets, runtime_overlay

log = logging.getLogger(__name__)

HEALTH_DAG = "pde_health"

ADVICE = {
    "blocked": ("The site refused the crawl; it is not retried (retrying soon makes it worse). Wait a few hours, "
                "slow down (settings: {{DOWNLOAD_DELAY: 10}} in dags/crawls.yaml), or save the page in your browser "
                "and crawl it with -a url=file:///path/to/page.html."),
    "failed": ("Its retries are used up. Read the crawl task's log in Airflow and `pde runs --spider {spider}`; "
               "fix the cause (network, database, a changed site), then clear the task in Airflow to run it again."),
    "config": ("This is a configuration error, not retried: fix the spider's entry in dags/crawls.yaml "
               "(or the pde_crawls Variable), then trigger the DAG again."),
    "quality": ("The crawl ran, but its data looks wrong. Open the site and compare; if the parser misses fields, "
                "fix it (tests/test_{spider}.py); if the change is expected, adjust quality: in dags/crawls.yaml. "
                "Quarantined rows and their reasons: platform.quarantine."),
    "stale": ("Look at its last runs (`pde runs --spider {spider}`, or the DAG {spider} in Airflow): is it paused, "
              "failing, or not configured? Unpause it or fix the cause; `alert_after_days:` in dags/crawls.yaml "
              "sets how long to wait before this alert."),
}

HEADLINE = {
    "blocked": "{source} was blocked",
    "failed": "{source} failed",
    "config": "{source} is misconfigured",
    "quality": "{source} failed its quality check",
    "stale": "{source} has not succeeded for {days} days",
}


@dataclass
class Alert:
    kind: str
    spider: str
    what: str
    label: str | None = None
    run_id: int | None = None
    days: int | None = None

    @property
    def source(self) -> str:
        return self.spider + (f" [{self.label}]" if self.label and self.label != "default" else "")

    @property
    def title(self) -> str:
        return "pde: " + HEADLINE[self.kind].format(source=self.source, days=self.days)

    @property
    def body(self) -> str:
        lines = [f"Source: {self.source}" + (f" (run {self.run_id})" if self.run_id else ""),
                 f"What happened: {self.what.strip()}",
                 f"What to do: {ADVICE[self.kind].format(spider=self.spider)}"]
        return "\n".join(lines)


def alert_urls(alerts: dict[str, str], spider: str) -> list[str]:
    """The Apprise URLs named by ``alerts:`` (NAME: source, as for secrets), resolved and masked in logs."""
    values = resolve_secrets({"spider": spider, "secrets": alerts or {}})
    urls = []
    for value in values.values():
        _mask(value)
        urls += [u for u in value.replace(",", " ").split() if u]
    return urls


def send(alert: Alert, urls: list[str]) -> bool:
    """Notify every URL; never raises (an alert that cannot be sent is logged, the task's own outcome stands)."""
    if not urls:
        log.info("no alert channel configured for %s (alerts: in dags/crawls.yaml): %s", alert.spider, alert.title)
        return False
    return notify(alert.title, alert.body, urls, alert.spider)


def notify(title: str, body: str, urls: list[str], whose: str) -> bool:
    """One message to every Apprise URL; never raises: what could not be sent is logged."""
    try:
        import apprise  # lazy: installed in Airflow's environment only (the airflow dependency group)
    except ImportError:
        log.error("cannot send %r: the apprise package is not installed in Airflow's environment", title)
        return False
    sender = apprise.Apprise()
    bad = [i for i, url in enumerate(urls, 1) if not sender.add(url)]
    if bad:
        log.error("alert channel(s) %s of %s are not valid Apprise URLs", bad, whose)
    ok = bool(len(sender)) and sender.notify(title=title, body=body)
    (log.info if ok else log.error)("alert %s: %s", "sent" if ok else "NOT sent", title)
    return bool(ok)


def alert_for(spec: dict, kind: str, what: str, run_id=None) -> bool:
    """Send one alert about a crawl spec (from the crawl or quality task); a failure only on its last try."""
    if kind == "failed" and not is_last_try():
        return False
    alert = Alert(kind=kind, spider=spec["spider"], label=spec.get("label"), what=what, run_id=run_id)
    try:
        urls = alert_urls(spec.get("alerts") or {}, spec["spider"])
    except Exception as exc:  # a missing Connection must not hide the task's own error
        log.error("could not read the alert channels of %s: %s", spec["spider"], exc)
        return False
    return send(alert, urls)


def is_last_try() -> bool:
    """In an Airflow task: will a failure now be final (no retry left)?"""
    try:
        from airflow.sdk import get_current_context  # lazy: Airflow is imported only inside its tasks

        ti = get_current_context()["ti"]
        return ti.try_number > (ti.max_tries or 0)
    except Exception:
        return True


# -- sources gone quiet ------------------------------------------------------------------
@dataclass
class Quiet:
    spider: str
    days: int
    last_success: dt.datetime | None
    first_run: dt.datetime
    last_status: str
    last_message: str | None


def quiet_sources(conn, after_days: dict[str, int], now: dt.datetime | None = None) -> list[Quiet]:
    """Spiders with runs whose last success is older than their threshold (or that never succeeded since then)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT spider, max(started_at) FILTER (WHERE status = 'succeeded'), min(started_at),
                      (array_agg(status ORDER BY run_id DESC))[1], (array_agg(message ORDER BY run_id DESC))[1],
                      coalesce(%s::timestamptz, now())
               FROM platform.runs GROUP BY spider ORDER BY spider""", (now,))
        found = []
        for spider, last_ok, first, status, message, at in cur.fetchall():
            days = int(after_days.get(spider, after_days.get("*", DEFAULT_AFTER_DAYS)))
            since = last_ok or first
            if days > 0 and at - since > dt.timedelta(days=days):
                found.append(Quiet(spider, days, last_ok, first, status, message))
    conn.commit()
    return found


def quiet_alert(q: Quiet) -> Alert:
    if q.last_success:
        what = f"its last successful run started {q.last_success:%Y-%m-%d %H:%M %Z}"
    else:
        what = f"it has not succeeded since its first run ({q.first_run:%Y-%m-%d %H:%M %Z})"
    what += f", more than {q.days} days ago. Its latest run {q.last_status}"
    what += f": {q.last_message}" if q.last_message else "."
    return Alert(kind="stale", spider=q.spider, what=what, days=q.days)


def check_health(config: dict | None = None) -> list[Alert]:
    """The pde_health task: alert for every source gone quiet; returns the alerts."""
    config = config if config is not None else load_config()
    overlay = runtime_overlay()
    conn = connect(data_database_url())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT DISTINCT spider FROM platform.runs")
            spiders = [r[0] for r in cur.fetchall()]
        conn.commit()
        cfgs = {s: spider_config(s, config, overlay) for s in spiders}
        quiet = quiet_sources(conn, {s: c.get("alert_after_days", DEFAULT_AFTER_DAYS) for s, c in cfgs.items()})
        defaults = spider_config("", config, overlay)
        if defaults.get("alert_digest"):
            send_digest(conn, normalise_secrets(defaults.get("alerts")))
    finally:
        conn.close()
    alerts = []
    for q in quiet:
        alert = quiet_alert(q)
        log.warning("%s: %s", alert.title, alert.what)
        send(alert, alert_urls(normalise_secrets(cfgs[q.spider].get("alerts")), q.spider))
        alerts.append(alert)
    if not alerts:
        log.info("every source with runs succeeded within its alert_after_days")
    return alerts


def digest_text(conn, hours: int = 24) -> str:
    """One line per spider: its runs in the last ``hours`` and how the latest ended."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT spider, count(*) FILTER (WHERE started_at > now() - %s * interval '1 hour'),
                      count(*) FILTER (WHERE status = 'succeeded' AND started_at > now() - %s * interval '1 hour'),
                      (array_agg(status ORDER BY run_id DESC))[1],
                      to_char(max(started_at) FILTER (WHERE status = 'succeeded'), 'YYYY-MM-DD HH24:MI')
               FROM platform.runs GROUP BY spider ORDER BY spider""", (hours, hours))
        rows = cur.fetchall()
    conn.commit()
    return "\n".join(f"{spider}: {ok} of {n} run(s) succeeded in the last {hours}h; latest {latest}; "
                     f"last success {last_ok or 'never'}" for spider, n, ok, latest, last_ok in rows) or "no runs yet"


def send_digest(conn, alerts: dict[str, str]) -> bool:
    urls = alert_urls(alerts, "digest")
    return bool(urls) and notify("pde: daily digest", digest_text(conn), urls, "digest")


def health_dags(config: dict | None = None) -> dict:
    """The daily ``pde_health`` DAG (07:00 UTC)."""
    from airflow.sdk import DAG, task  # lazy: Airflow only where DAGs are built

    with DAG(
        dag_id=HEALTH_DAG, schedule="0 7 * * *", start_date=START_DATE, catchup=False, max_active_runs=1,
        tags=["pde", "alerts"], default_args={"owner": "pde", "retries": 2},
        description="alert for every source that has not succeeded for alert_after_days",
        doc_md=__doc__,
    ) as dag:

        @task(task_id="check")
        def check() -> list[str]:
            return [a.title for a in check_health(config)]

        check()
    return {HEALTH_DAG: dag}
