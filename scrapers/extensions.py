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
from pde.migrate import MigrationError, migrate
from pde.runs import ErrorCollector, run_of
from pde.sources import public_args
from pipelines.spool import append, spool_dir, spool_path

logger = logging.getLogger(__name__)


class RunRecorder:
    def __init__(self, crawler):
        self.crawler = crawler
        self.run = run_of(crawler)
        self.conn = None
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
            cur.execute(
                """UPDATE platform.runs SET status = 'failed', finish_reason = 'abandoned', finished_at = now(),
                       message = 'The crawl process ended without recording how it finished (killed, crashed, or the machine stopped). Marked by the next run.'
                   WHERE spider = %s AND args = %s AND status = 'running' RETURNING run_id""",
                (spider.name, Json(args)),
            )
            stale = [r[0] for r in cur.fetchall()]
            if stale:
                logger.warning("Marked abandoned run(s) %s of %s as failed", stale, spider.name)
            run.insert(self.conn, socket.gethostname(), os.getpid())
        self.conn.commit()
        self.crawler.stats.set_value("pde/run_id", run.run_id)  # for people reading the stats dump
        logger.info("Run %s of %s started (database %s)", run.run_id, spider.name, describe(url))

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
            run.save(self.conn)
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock_all()")
            self.conn.commit()
            self.conn.close()
        except Exception as exc:  # the database went away: keep the record in the spool
            run.fail(f"The run record could not be written ({exc}).")
            append(spool_path(spider.name, run.run_id), "run", run.run_id, spider.name, [{"run": run.to_json()}])
            logger.error("Could not record the end of run %s (%s); saved to the spool: run `pde spool load` later.",
                         run.run_id, exc)
        (logger.info if run.status == "succeeded" else logger.error)("%s", run.summary())
