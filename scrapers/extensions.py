"""Run records: every crawl is a row in ``platform.runs`` that says how it went.

At start: connect, apply pending migrations, refuse a second concurrent run
of the same spider and arguments (a PostgreSQL advisory lock held for the
whole crawl), mark runs left ``running`` by a crashed process as failed, and
insert this run. At the end: decide the status (succeeded / failed / blocked),
write the counts per table, and tell the user in one line. The ``crawl``
command turns any status but ``succeeded`` into a non-zero exit code.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time

from psycopg2.extras import Json
from scrapy import signals
from scrapy.exceptions import CloseSpider

from pde.sources import public_args

logger = logging.getLogger(__name__)

MAX_ERRORS = 50


class _ErrorCollector(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        if len(self.messages) < MAX_ERRORS:
            try:
                msg = record.getMessage()
            except Exception:
                msg = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                msg += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self.messages.append(msg[:2000])


def finish_run(conn, run_id, update: dict) -> None:
    """Write a run's final state (also used by the spool loader)."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE platform.runs SET status = %(status)s, finish_reason = %(finish_reason)s,
                   message = %(message)s, finished_at = %(finished_at)s::timestamptz,
                   duration_s = %(duration_s)s, items_scraped = %(items_scraped)s,
                   items_quarantined = %(items_quarantined)s, requests = %(requests)s,
                   response_codes = %(response_codes)s, errors = %(errors)s
               WHERE run_id = %(run_id)s""",
            {**update, "run_id": run_id, "response_codes": Json(update["response_codes"]),
             "errors": Json(update["errors"])},
        )
        for table, c in update["tables"].items():
            cur.execute(
                """INSERT INTO platform.run_tables (run_id, table_name, inserted, updated, unchanged, quarantined, spooled)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (run_id, table_name) DO UPDATE SET inserted = EXCLUDED.inserted,
                     updated = EXCLUDED.updated, unchanged = EXCLUDED.unchanged,
                     quarantined = EXCLUDED.quarantined, spooled = EXCLUDED.spooled""",
                (run_id, table, c.get("inserted", 0), c.get("updated", 0), c.get("unchanged", 0),
                 c.get("quarantined", 0), c.get("spooled", 0)),
            )
    conn.commit()


class RunRecorder:
    def __init__(self, crawler):
        self.crawler = crawler
        self.conn = None
        self.run_id = None
        self.started = None
        self.errors = _ErrorCollector()
        crawler.pde_status = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _refuse(self, status: str, message: str, reason: str):
        logger.error(message)
        self.crawler.pde_status = status
        self.crawler.pde_message = message
        raise CloseSpider(reason)

    def spider_opened(self, spider):
        from pde.db import DatabaseError, connect, database_url, describe
        from pde.migrate import MigrationError, migrate

        self.started = time.time()
        logging.getLogger().addHandler(self.errors)
        try:
            url = self.crawler.settings.get("DATABASE_URL") or database_url()
            self.conn = connect(url)
            self.conn.autocommit = False
            migrate(self.conn, log=logger.info)
        except (DatabaseError, MigrationError) as exc:
            self._refuse("failed", f"{spider.name} did not start: {exc}", "database_unavailable")
        args = public_args(spider)
        lock_key = f"pde:{spider.name}:{json.dumps(args, sort_keys=True)}"
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (lock_key,))
            if not cur.fetchone()[0]:
                cur.execute(
                    "SELECT run_id, started_at, host, pid FROM platform.runs WHERE spider = %s AND args = %s "
                    "AND status = 'running' ORDER BY run_id DESC LIMIT 1", (spider.name, Json(args)))
                other = cur.fetchone()
                self.conn.rollback()
                who = (f"run {other[0]}, started {other[1]:%Y-%m-%d %H:%M:%S %Z} on {other[2]} as pid {other[3]}"
                       if other else "another process")
                self._refuse(
                    "refused",
                    f"{spider.name} {args or ''} is already running ({who}). This run did nothing and exits; "
                    "wait for the other one to finish, or stop it.",
                    "already_running",
                )
            cur.execute(
                """UPDATE platform.runs SET status = 'failed', finish_reason = 'abandoned', finished_at = now(),
                       message = 'The crawl process ended without recording how it finished (killed, crashed, or the machine stopped). Marked by the next run.'
                   WHERE spider = %s AND args = %s AND status = 'running' RETURNING run_id""",
                (spider.name, Json(args)),
            )
            stale = [r[0] for r in cur.fetchall()]
            if stale:
                logger.warning("Marked abandoned run(s) %s of %s as failed", stale, spider.name)
            cur.execute(
                "INSERT INTO platform.runs (spider, args, host, pid) VALUES (%s, %s, %s, %s) RETURNING run_id",
                (spider.name, Json(args), socket.gethostname(), os.getpid()),
            )
            self.run_id = cur.fetchone()[0]
        self.conn.commit()
        self.crawler.stats.set_value("pde/run_id", self.run_id)
        logger.info("Run %s of %s started (database %s)", self.run_id, spider.name, describe(url))

    def _status(self, spider, reason: str) -> tuple[str, str]:
        stats = self.crawler.stats
        scraped = stats.get_value("item_scraped_count", 0)
        spooled = stats.get_value("pde/spooled", 0)
        if stats.get_value("pde/blocked"):
            return "blocked", stats.get_value("pde/blocked")
        if reason == "cassette_miss":
            return "failed", f"The crawl asked for a request that is not in the cassette: {stats.get_value('pde/cassette_miss_request')}."
        if spooled:
            return "failed", (f"The database went away during the crawl: {spooled} rows were spooled to "
                              f"{os.environ.get('PDE_HOME', '.pde')}/spool. Run `pde spool load` when it is back.")
        if reason == "start_error" and self.errors.messages:
            why = self.errors.messages[0].splitlines()[0].removeprefix("Error while reading start items and requests: ")
            return "failed", f"The crawl could not start: {why}"
        if reason != "finished":
            return "failed", f"The crawl stopped early ({reason})."
        errors = stats.get_value("spider_exceptions/count", 0) + stats.get_value("log_count/ERROR", 0)
        if errors:
            first = self.errors.messages[0] if self.errors.messages else "see the log"
            return "failed", f"{errors} error(s) during the crawl; first: {first}"
        if scraped == 0 and getattr(spider, "expects_items", True):
            return "failed", (f"{spider.name} finished but produced no items. The site may have changed its layout, "
                              "or the search matched nothing; check the arguments and the pages in the log.")
        notes = " ".join(getattr(spider, "run_notes", ()))  # what a spider wants said
        quarantined = stats.get_value("pde/quarantined", 0)
        where = f"SELECT reason, item FROM platform.quarantine WHERE run_id = {self.run_id};"
        if quarantined and quarantined >= scraped:
            return "failed", f"Every one of the {scraped} items was quarantined, nothing was loaded. Why: {where}"
        if quarantined:
            notes = f"{quarantined} of {scraped} items quarantined (the rest loaded). Why: {where} {notes}".strip()
        return "succeeded", notes

    def spider_closed(self, spider, reason):
        logging.getLogger().removeHandler(self.errors)
        if self.crawler.pde_status == "refused" or self.run_id is None:
            if self.crawler.pde_status is None:
                self.crawler.pde_status = "failed"
            return
        status, message = self._status(spider, reason)
        self.crawler.pde_status = status
        self.crawler.pde_message = message
        stats = self.crawler.stats.get_stats()
        tables: dict[str, dict] = {}
        for k, v in stats.items():
            if k.startswith("pde/table/"):
                table, metric = k[len("pde/table/"):].rsplit("/", 1)
                tables.setdefault(table, {})[metric] = v
        codes = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("downloader/response_status_count/")}
        update = {
            "status": status, "finish_reason": reason, "message": message or None,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "duration_s": round(time.time() - self.started, 3),
            "items_scraped": stats.get("item_scraped_count", 0),
            "items_quarantined": stats.get("pde/quarantined", 0),
            "requests": stats.get("downloader/request_count", 0),
            "response_codes": codes, "errors": self.errors.messages, "tables": tables,
        }
        try:
            finish_run(self.conn, self.run_id, update)
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock_all()")
            self.conn.commit()
            self.conn.close()
        except Exception as exc:  # the database went away: keep the record in the spool
            from pipelines.spool import append, spool_path

            update["status"] = status = "failed"
            update["message"] = (message + " " if message else "") + f"The run record could not be written ({exc})."
            self.crawler.pde_status = "failed"
            append(spool_path(spider.name, self.run_id), "run", self.run_id, spider.name, [{"update": update}])
            logger.error("Could not record the end of run %s (%s); saved to the spool: run `pde spool load` later.", self.run_id, exc)
        summary = ", ".join(
            f"{t} +{c.get('inserted', 0)} ~{c.get('updated', 0)} ={c.get('unchanged', 0)}"
            + (f" quarantined {c['quarantined']}" if c.get("quarantined") else "")
            + (f" spooled {c['spooled']}" if c.get("spooled") else "")
            for t, c in sorted(tables.items())
        ) or "nothing written"
        log = logger.info if status == "succeeded" else logger.error
        log("Run %s %s: %s%s", self.run_id, status.upper(), summary, f". {message}" if message else "")
