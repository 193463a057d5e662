"""The Scrapy item pipeline that writes records into PostgreSQL.

``PostgresPipeline`` buffers items per record class and upserts them in batches
(``PDE_BATCH_SIZE``, and at close) through :class:`pipelines.upsert.TableWriter`,
on a writer thread. Each batch's counts go into the run (:mod:`pde.runs`).
Invalid items and rows the database refuses go to ``platform.quarantine`` with
the reason. If the database goes away, a batch is retried, then spooled to a
file (``pde spool load`` writes it later) and the run is marked failed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import defaultdict

import psycopg2

from pde.db import DatabaseError, connect, database_url
from pde.records import Record, Rejected
from pde.runs import run_of
from pipelines.spool import SpoolError, append, database_identity, spool_path
from pipelines.upsert import CONNECTION_ERRORS, TableWriter, insert_quarantine

logger = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    pass


def source_url(item) -> str | None:
    return getattr(item, "source_url", None) or getattr(item, "_pde_source_url", None)


class PostgresPipeline:
    """Buffers records per class and writes full batches on a writer thread.

    The thread owns the database connection; while it waits on PostgreSQL (COPY,
    upsert, or a reconnect back-off when the database is gone) the crawl and the
    next batch's validation go on. At most two batches wait in its queue, so
    memory stays bounded; ``close_spider`` waits for everything to be written.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        s = crawler.settings
        self.batch_size = s.getint("PDE_BATCH_SIZE", 5000)
        self.retries = s.getint("PDE_DB_RETRIES", 3)
        self.retry_delay = s.getfloat("PDE_DB_RETRY_DELAY", 1.0)
        self.seen_interval = s.get("PDE_SEEN_INTERVAL", "6 hours")
        self.stats = crawler.stats  # for people: the run object carries the counts
        self.run = run_of(crawler)
        self.buffers: dict[type, list] = defaultdict(list)
        self.writers: dict[type, TableWriter] = {}
        self.quarantine_rows: list[dict] = []
        self.conn = None
        self.db_down = False
        self._lock = threading.Lock()  # stats and quarantine_rows, shared with the writer thread
        self._jobs: queue.Queue = queue.Queue(maxsize=2)
        self._worker: threading.Thread | None = None
        self._worker_error: BaseException | None = None
        self.database: dict | None = None  # identity of the database, written into spool files
        self.spooled_to = None
        self.spool_files: list = []
        self._stopping = False

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- connection (writer thread only, or the main thread once it has stopped) ----
    def _connection(self):
        if self.conn is None or self.conn.closed:
            url = self.crawler.settings.get("DATABASE_URL") or database_url()
            self.conn = connect(url)
        return self.conn

    def _with_db(self, fn):
        """Run fn(conn), reconnecting and retrying while the database is unreachable."""
        attempts = 1 if self.db_down else self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                result = fn(self._connection())
                self.db_down = False
                return result
            except (DatabaseError, *CONNECTION_ERRORS) as exc:
                try:
                    if self.conn is not None:
                        self.conn.close()
                except Exception:
                    pass
                self.conn = None
                if attempt == attempts:
                    self.db_down = True
                    raise DatabaseUnavailable(str(exc).strip().splitlines()[0]) from exc
                delay = self.retry_delay * 2 ** (attempt - 1)
                logger.warning("Database unavailable (%s); retry %d/%d in %.1fs", str(exc).strip().splitlines()[0],
                               attempt, attempts - 1, delay)
                time.sleep(delay)

    @property
    def run_id(self):
        return self.run.run_id

    def _inc(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats.inc_value(key, n)

    # -- the writer thread --------------------------------------------------------
    def _submit(self, job) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="pde-db-writer", daemon=True)
            self._worker.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except BaseException as exc:  # reported at close; the crawl is marked failed
                logger.error("Writing to the database failed: %s", exc, exc_info=True)
                self._worker_error = self._worker_error or exc

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join()
            self._worker = None

    # -- scrapy hooks -------------------------------------------------------------
    def open_spider(self):
        """Learn which database this is now, so rows spooled later say where they belong."""
        try:
            self.database = database_identity(self._connection())
        except (DatabaseError, *CONNECTION_ERRORS, psycopg2.Error) as exc:
            logger.warning("Could not identify the database (%s); spooled rows will need `pde spool load --force`",
                           str(exc).strip().splitlines()[0])
            self.conn = None

    def process_item(self, item):
        if isinstance(item, Record):
            buf = self.buffers[type(item)]
            buf.append(item)
            if len(buf) >= self.batch_size:
                self.flush(type(item))
        elif isinstance(item, Rejected):
            self.quarantine(item.table, item.reason, item.raw, item.source_url)
            if len(self.quarantine_rows) >= self.batch_size:
                self.flush_quarantine()
        return item

    def close_spider(self):
        for cls in list(self.buffers):
            self.flush(cls)
        self._stop_worker()
        self._store_quarantine()  # including rows the database refused in the last batches
        self._after_load()
        if self.conn is not None and not self.conn.closed:
            self.conn.close()
        if self._worker_error is not None:
            raise RuntimeError(f"writing to the database failed: {self._worker_error}") from self._worker_error

    def _after_load(self) -> None:
        """Run the SQL the spider asks for once its rows are in (spider.after_load(): [(sql, params)]),
        e.g. linking newly crawled players. Skipped when writing failed or the database is away;
        its failure is logged, and the crawl's rows stay."""
        after = getattr(self.crawler.spider, "after_load", None)
        if not callable(after) or self._worker_error is not None or self.db_down:
            return
        statements = after() or []

        def run(conn):
            with conn.cursor() as cur:
                for statement, params in statements:
                    cur.execute(statement, params)
            conn.commit()

        try:
            if statements:
                self._with_db(run)
        except Exception as exc:  # noqa: BLE001 - follow-up work never fails the crawl that loaded the rows
            if self.conn is not None:
                self.conn.rollback()
            logger.error("After loading: %s", str(exc).strip())

    # -- flushing -------------------------------------------------------------------
    def quarantine(self, table, reason, raw, url):
        """Keep an item that cannot be written, with the reason (written with the next quarantine flush)."""
        row = {"run_id": self.run_id, "spider": self.crawler.spider.name, "table_name": table,
               "url": url, "reason": reason, "item": raw}
        with self._lock:
            self.quarantine_rows.append(row)
            self.stats.inc_value(f"pde/table/{table}/quarantined")
            self.stats.inc_value("pde/quarantined")
        self.run.count(table, quarantined=1)
        logger.warning("Quarantined an item for %s: %s (%s)", table, reason, url or "no url")

    def table_writer(self, cls) -> TableWriter:
        writer = self.writers.get(cls)
        if writer is None:
            writer = self.writers[cls] = TableWriter(cls, self.seen_interval)
        return writer

    def flush(self, cls) -> None:
        items = self.buffers.pop(cls, [])
        if items:
            # serialise here, so the writer thread only waits on PostgreSQL
            batch = self.table_writer(cls).prepare(items, self.run_id)
            self._submit(lambda: self._store_batch(cls, batch))

    def _store_batch(self, cls, batch) -> None:
        """Writer thread: write one prepared batch; spool it if the database stays away."""
        writer = self.table_writer(cls)
        items = batch.items
        try:
            counts = self._with_db(lambda conn: writer.write_batch(conn, batch))
        except DatabaseUnavailable as exc:
            if not self._spool("record", [{"record": cls.record_name(), "data": i.to_json()} for i in items]):
                return
            self._inc(f"pde/table/{cls.table}/spooled", len(items))
            self.run.count(cls.table, spooled=len(items))
            logger.error(
                "Database unavailable (%s): %d %s rows spooled to %s; load them with `pde spool load` once it is back.",
                exc, len(items), cls.table, self._spool_path(),
            )
            return
        self.run.count(cls.table, inserted=counts.inserted, updated=counts.updated, unchanged=counts.unchanged)
        t = f"pde/table/{cls.table}"
        self._inc(f"{t}/inserted", counts.inserted)
        self._inc(f"{t}/updated", counts.updated)
        self._inc(f"{t}/unchanged", counts.unchanged)
        for item, reason in counts.refused_rows:
            self.quarantine(cls.table, reason, item.to_json(), source_url(item))

    def flush_quarantine(self) -> None:
        self._submit(self._store_quarantine)

    def _store_quarantine(self) -> None:
        """Write the kept quarantine rows; spool them if the database stays away."""
        with self._lock:
            rows, self.quarantine_rows = self.quarantine_rows, []
        if not rows:
            return
        try:
            self._with_db(lambda conn: insert_quarantine(conn, rows))
        except DatabaseUnavailable:
            self._spool("rejected", rows)

    def _spool_path(self):
        return self.spooled_to or spool_path(self.crawler.spider.name, self.run_id)

    def _spool(self, kind, payloads) -> bool:
        """Append to the spool file; False (and the crawl stops) when that failed too."""
        try:
            self.spooled_to = append(self._spool_path(), kind, self.run_id, self.crawler.spider.name, payloads,
                                     database=self.database)
            if self.spooled_to not in self.spool_files:
                self.spool_files.append(self.spooled_to)
        except SpoolError as exc:
            self._inc("pde/unsaved", len(payloads))
            with self._lock:
                lost = self.stats.get_value("pde/unsaved", 0)
            saved = self.stats.get_value("pde/spooled", 0)
            message = (
                f"The database is unavailable and the spool failed: {exc}. {lost} row(s) were NOT saved anywhere"
                + (f"; {saved} earlier row(s) are safe in {' and '.join(map(str, self.spool_files))} "
                   "(`pde spool load` once the database is back)" if saved else "")
                + ". The crawl stopped. Free disk space (or set PDE_HOME to a writable folder) and run it again.")
            self.run.stop("failed", message)
            logger.error("%s", message)
            self._stop_crawl("spool_failed")
            return False
        self._inc("pde/spooled", len(payloads))
        return True

    def _stop_crawl(self, reason: str) -> None:
        """Close the spider from the writer thread (once): nothing more can be kept."""
        if self._stopping:
            return
        self._stopping = True
        from twisted.internet import reactor  # lazy: the reactor Scrapy installed; importing it early installs one

        def close():
            engine = self.crawler.engine
            if engine is not None and engine.spider is not None:
                self._close_task = asyncio.ensure_future(engine.close_spider_async(reason=reason))

        reactor.callFromThread(close)
