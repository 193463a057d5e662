"""What the home page reads: each source's freshness and quarantine from the run records, files on disk.

Every query runs in a read-only transaction: the home page never writes data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pde.db import connect

FRESHNESS_SQL = """
WITH last_ok AS (
    SELECT DISTINCT ON (spider) spider, run_id, finished_at FROM platform.runs
     WHERE status = 'succeeded' ORDER BY spider, finished_at DESC NULLS LAST, run_id DESC),
last_bad AS (
    SELECT DISTINCT ON (spider) spider, run_id, finished_at, status, message FROM platform.runs
     WHERE status IN ('failed', 'blocked') ORDER BY spider, finished_at DESC NULLS LAST, run_id DESC),
quarantined AS (SELECT spider, count(*) AS n FROM platform.quarantine GROUP BY spider),
spiders AS (SELECT DISTINCT spider FROM platform.runs UNION SELECT spider FROM quarantined)
SELECT s.spider, ok.run_id, ok.finished_at,
       (SELECT coalesce(sum(t.inserted + t.updated), 0) FROM platform.run_tables t WHERE t.run_id = ok.run_id),
       bad.run_id, bad.finished_at, bad.status, bad.message, coalesce(q.n, 0)
  FROM spiders s LEFT JOIN last_ok ok USING (spider) LEFT JOIN last_bad bad USING (spider)
  LEFT JOIN quarantined q USING (spider)
 ORDER BY s.spider
"""


@dataclass
class Freshness:
    """One source's health: its last success (and rows it changed), its last failure, its quarantine."""

    spider: str
    ok_run: int | None
    ok_at: datetime | None
    rows_changed: int
    bad_run: int | None
    bad_at: datetime | None
    bad_status: str | None
    bad_message: str | None
    quarantined: int

    @property
    def healthy(self) -> bool:
        return self.ok_at is not None and (self.bad_at is None or self.bad_at < self.ok_at)


def _read(url: str, sql: str, params=()) -> list[tuple]:
    conn = connect(url)
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def freshness(url: str) -> list[Freshness]:
    return [Freshness(*row) for row in _read(url, FRESHNESS_SQL)]


def quarantine_rows(url: str, spider: str, limit: int = 500) -> list[tuple]:
    """(id, run id, table, url, reason, item as JSON text, when), newest first."""
    return _read(url, "SELECT quarantine_id, run_id, table_name, url, reason, item::text, created_at "
                      "FROM platform.quarantine WHERE spider = %s ORDER BY created_at DESC, quarantine_id DESC "
                      "LIMIT %s", (spider, limit))


def watch_events(url: str, baseline: bool = False, limit: int = 300) -> list[dict]:
    """The watches' events (pde/schedule/watches.py), newest first; baseline ones (never sent) only when asked."""
    rows = _read(url, "SELECT event_id, watch, kind, title, body, url, status, detected_at, sent_at, attempts, "
                      "last_error FROM platform.watch_events WHERE status <> 'baseline' OR %s "
                      "ORDER BY detected_at DESC, event_id DESC LIMIT %s", (baseline, limit))
    names = ("id", "watch", "kind", "title", "body", "url", "status", "detected_at", "sent_at", "attempts",
             "last_error")
    return [dict(zip(names, r)) for r in rows]


def files(folder: Path, suffixes: tuple[str, ...] = ()) -> list[tuple[str, datetime, int]]:
    """(name, modified, bytes) of the files in folder, newest first."""
    if not folder.is_dir():
        return []
    out = [(p.name, datetime.fromtimestamp(p.stat().st_mtime), p.stat().st_size) for p in folder.iterdir()
           if p.is_file() and not p.name.startswith(".") and (not suffixes or p.suffix.lower() in suffixes)]
    return sorted(out, key=lambda f: f[1], reverse=True)
