"""Run records: every crawl is a row in ``platform.runs`` that says how it went.

At start: connect, apply pending migrations, refuse a second concurrent run
of the same spider and arguments (a PostgreSQL advisory lock held for the
whole crawl), mark runs left ``running`` by a crashed process as failed, and
insert this run. At the end: let the run object (:mod:`pde.runs`) decide the
status, write it with its counts per table, and tell the user in one line. The
``crawl`` command turns the status into the exit code.
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

from pde.db import DatabaseError, connect, database_url, describe
from pde.liveness import mark_abandoned, tag_connection
from pde.migrate import MigrationError, migrate
from pde.runs import ErrorCollector, run_of
from pde.sources import public_args
from pipelines.spool import SpoolError, append, database_identity, spool_dir, spool_path

logger = logging.getLogger(__name__)


class RunRecorder:
    def __init__(self, crawler):
        self.crawler = crawler
        self.run = run_of(crawler)
        self.conn = None
        self.url = None
        self.database = None  # which database this is (written into spool files)
        self.errors = ErrorCollector(self.run)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _refuse(self, status: str, message: str, reason: str):
        logger.error(message)
        self.run.status, self.run.message = status, message
        raise CloseSpider(reason)

    def item_scraped(self, item, spider):
        self.run.items_scraped += 1

    def spider_opened(self, spider):
        run = self.run
        run.spider, run.args, run.started_at = spider.name, public_args(spider), time.time()
        logging.getLogger().addHandler(self.errors)
        try:
            url = self.crawler.settings.get("DATABASE_URL") or database_url()
            self.conn = connect(url)
            self.conn.autocommit = False
            migrate(self.conn, log=logger.info)
        except (DatabaseError, MigrationError) as exc:
            self._refuse("failed", f"{spider.name} did not start: {exc}", "database_unavailable")
        args = run.args
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
            stale = mark_abandoned(self.conn, spider.name)  # any arguments: their processes are gone
            if stale:
                logger.warning("Marked abandoned run(s) %s of %s as failed", stale, spider.name)
            run.insert(self.conn, socket.gethostname(), os.getpid())
            tag_connection(self.conn, run.run_id)
        self.conn.commit()
        self.url, self.database = url, database_identity(self.conn)
        self.crawler.stats.set_value("pde/run_id", run.run_id)  # for people reading the stats dump
        logger.info("Run %s of %s started (database %s)", run.run_id, spider.name, describe(url))

    def _save(self, attempts: int = 4) -> None:
        """Write the run's end, reconnecting if the database restarted during the crawl."""
        for attempt in range(attempts):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = connect(self.url)
                self.run.save(self.conn)
                with self.conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock_all()")
                self.conn.commit()
                self.conn.close()
                return
            except Exception as exc:
                if attempt == attempts - 1:
                    raise
                logger.warning("Recording the end of run %s failed (%s); reconnecting", self.run.run_id,
                               str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.conn = None
                time.sleep(min(0.5 * 2 ** attempt, 5))

    def spider_closed(self, spider, reason):
        logging.getLogger().removeHandler(self.errors)
        run = self.run
        if run.status == "refused" or run.run_id is None:
            if run.status == "running":
                run.status, run.message = "failed", "The crawl ended before its run was recorded; see the log."
            return
        run.finish(reason, expects_items=getattr(spider, "expects_items", True), spool_dir=str(spool_dir()),
                   notes=getattr(spider, "run_notes", ()))
        try:
            self._save()
        except Exception as exc:  # the database is still away: keep the record in the spool
            run.fail(f"The run record could not be written ({exc}).")
            try:
                where = append(spool_path(spider.name, run.run_id), "run", run.run_id, spider.name,
                               [{"run": run.to_json()}], database=self.database)
                logger.error("Could not record the end of run %s (%s); saved to %s: run `pde spool load` later.",
                             run.run_id, exc, where)
            except SpoolError as spool_exc:
                logger.error("Could not record the end of run %s (%s), nor spool it (%s). It stays `running` "
                             "until the next run of %s marks it failed.", run.run_id, exc, spool_exc, spider.name)
        (logger.info if run.status == "succeeded" else logger.error)("%s", run.summary())
