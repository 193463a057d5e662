"""Upsert records into their PostgreSQL tables: batched, deduplicated, with history.

``TableWriter`` does the work for one record class (and is reused by the spool
loader and the benchmark); ``PostgresPipeline`` buffers items per class and
flushes at ``PDE_BATCH_SIZE`` and at close.

One flush is one transaction: COPY the batch into a temp table, copy the
current version of every row whose content changes into ``<table>_history``,
then ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <content> IS DISTINCT FROM``
so unchanged rows are not rewritten; ``updated_at`` moves only when content
changes, and a trigger (``platform.track(..., history => true)``) then keeps the
previous version in ``<table>_history``. ``None`` never overwrites a known value.

If the batch is refused (a value the table rejects), the rows are retried one
by one and the bad ones quarantined with the database's message. If the
database goes away, the batch is retried, then spooled to a file
(``pde spool load`` writes it later) and the run is marked failed.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import operator
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import psycopg2
from psycopg2 import sql

from pde.records import Record, Rejected

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class DatabaseUnavailable(RuntimeError):
    pass


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[Record, str]] | None = None


def _ident(qualified: str) -> sql.Composable:
    return sql.Identifier(*qualified.split("."))


class TableWriter:
    """Writes batches of one Record class into its table."""

    def __init__(self, cls: type[Record], seen_interval: str = "6 hours"):
        self.cls = cls
        self.table = cls.table
        cols = cls.columns()
        self.names = [c.name for c in cols]
        self.key = list(cls.key)
        self.content = [n for n in self.names if n not in self.key]
        self.compared = [n for n in self.content if n not in cls.volatile]
        self.json_idx = [i for i, c in enumerate(cols) if c.json]
        self._get = operator.attrgetter(*self.names)
        self.seen_interval = seen_interval
        self.checked = False
        self._build_sql()

    def _build_sql(self) -> None:
        t = _ident(self.table)
        stg = sql.Identifier("pde_stg_" + self.table.replace(".", "_"))
        cols = sql.SQL(", ").join(map(sql.Identifier, self.names))
        key = sql.SQL(", ").join(map(sql.Identifier, self.key))
        I = sql.Identifier  # noqa: E741

        def changed(new: str) -> sql.Composable:
            if not self.compared:
                return sql.SQL("false")
            old_row = sql.SQL(", ").join(sql.SQL("t.{}").format(I(c)) for c in self.compared)
            new_row = sql.SQL(", ").join(
                sql.SQL("COALESCE({}.{}, t.{})").format(sql.SQL(new), I(c), I(c)) for c in self.compared
            )
            return sql.SQL("ROW({}) IS DISTINCT FROM ROW({})").format(old_row, new_row)

        self.sql_stage = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {stg} AS "
            "SELECT {cols} FROM {t} WITH NO DATA"
        ).format(stg=stg, cols=cols, t=t)
        self.sql_copy = sql.SQL("COPY {stg} ({cols}) FROM STDIN WITH (FORMAT csv)").format(stg=stg, cols=cols)
        join = sql.SQL(" AND ").join(sql.SQL("t.{k} = s.{k}").format(k=I(k)) for k in self.key)
        sets = [sql.SQL("{c} = COALESCE(EXCLUDED.{c}, t.{c})").format(c=I(c)) for c in self.content]
        ch = changed("EXCLUDED")
        sets += [
            sql.SQL("updated_at = CASE WHEN {ch} THEN now() ELSE t.updated_at END").format(ch=ch),
            sql.SQL("run_id = CASE WHEN {ch} THEN EXCLUDED.run_id ELSE t.run_id END").format(ch=ch),
            sql.SQL("last_seen_at = now()"),
        ]
        self.sql_upsert = sql.SQL(
            "WITH r AS (INSERT INTO {t} AS t ({cols}, run_id) SELECT {cols}, %(run_id)s FROM {stg} "
            "ON CONFLICT ({key}) DO UPDATE SET {sets} "
            "WHERE {ch} OR t.last_seen_at < now() - %(seen)s::interval "
            "RETURNING (xmax = 0) AS inserted, (updated_at = now()) AS changed) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE changed AND NOT inserted) FROM r"
        ).format(t=t, cols=cols, stg=stg, key=key, sets=sql.SQL(", ").join(sets), ch=ch)

    # -- helpers ----------------------------------------------------------------
    def check_table(self, cur) -> None:
        """Fail early, in words, when the table lacks a field of the record."""
        schema, name = self.table.split(".")
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (schema, name),
        )
        have = {r[0] for r in cur.fetchall()}
        if not have:
            raise RuntimeError(f"Table {self.table} does not exist: add it to a migration in sql/ (see README, 'Adding a source').")
        missing = [n for n in self.names + ["first_seen_at", "last_seen_at", "updated_at", "run_id"] if n not in have]
        if missing:
            raise RuntimeError(
                f"{self.table} has no column(s) {', '.join(missing)} that {self.cls.__name__} writes: "
                "add them in a new migration in sql/ (or call platform.track() for the bookkeeping columns)."
            )
        self.checked = True

    def dedupe(self, items: list[Record]) -> list[Record]:
        """One item per key; a later item's known values win, its Nones keep earlier ones."""
        if len(self.key) == 1:
            keyf = operator.attrgetter(self.key[0])
        else:
            keyf = operator.attrgetter(*self.key)
        seen: dict = {}
        for item in items:
            k = keyf(item)
            prev = seen.get(k)
            if prev is not None:
                for n in self.content:
                    if getattr(item, n) is None:
                        setattr(item, n, getattr(prev, n))
            seen[k] = item
        return list(seen.values()) if len(seen) != len(items) else items

    def to_csv(self, items: list[Record]) -> io.StringIO:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        get = self._get
        if len(self.names) == 1:
            rows = ((get(i),) for i in items)
        else:
            rows = (get(i) for i in items)
        if self.json_idx:
            jidx = self.json_idx

            def fix(row):
                row = list(row)
                for j in jidx:
                    if row[j] is not None:
                        row[j] = json.dumps(row[j], default=str)
                return row

            rows = map(fix, rows)
        w.writerows(rows)
        buf.seek(0)
        return buf

    def prepare(self, items: list[Record]) -> tuple[list[Record], io.StringIO]:
        """Deduplicate and serialise a batch (CPU work, done before handing it to the writer)."""
        items = self.dedupe(items)
        return items, self.to_csv(items)

    # -- writing ----------------------------------------------------------------
    def _write(self, cur, items: list[Record], run_id, rows_csv: io.StringIO | None = None) -> tuple[int, int]:
        cur.execute(self.sql_stage)
        if rows_csv is None:
            rows_csv = self.to_csv(items)
        rows_csv.seek(0)
        cur.copy_expert(self.sql_copy, rows_csv)
        params = {"run_id": run_id, "seen": self.seen_interval}
        cur.execute(self.sql_upsert, params)
        ins, upd = cur.fetchone()
        cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier("pde_stg_" + self.table.replace(".", "_"))))
        return ins, upd

    def write(self, conn, items: list[Record], run_id=None, rows_csv: io.StringIO | None = None) -> Counts:
        """Write one batch in one transaction. Raises on connection loss (nothing written).

        ``rows_csv``: the batch already deduplicated and serialised by :meth:`prepare`.
        """
        if rows_csv is None:
            items, rows_csv = self.prepare(items)
        counts = Counts(rejected=[])
        with conn.cursor() as cur:
            if not self.checked:
                self.check_table(cur)
            try:
                ins, upd = self._write(cur, items, run_id, rows_csv)
                conn.commit()
            except CONNECTION_ERRORS:
                raise
            except psycopg2.Error as exc:
                conn.rollback()
                logger.warning("%s: batch of %d refused (%s); retrying row by row", self.table, len(items), str(exc).strip().splitlines()[0])
                ins = upd = 0
                for item in items:
                    cur.execute("SAVEPOINT pde_row")
                    try:
                        i, u = self._write(cur, [item], run_id)
                        ins += i
                        upd += u
                        cur.execute("RELEASE SAVEPOINT pde_row")
                    except CONNECTION_ERRORS:
                        raise
                    except psycopg2.Error as row_exc:
                        cur.execute("ROLLBACK TO SAVEPOINT pde_row")
                        counts.rejected.append((item, "database refused the row: " + str(row_exc).strip().splitlines()[0]))
                conn.commit()
        counts.inserted, counts.updated = ins, upd
        counts.unchanged = len(items) - ins - upd - len(counts.rejected)
        return counts


def write_quarantine(conn, rows: list[dict]) -> None:
    """rows: dicts with run_id, spider, table_name, url, reason, item."""
    if not rows:
        return
    from psycopg2.extras import Json, execute_values

    with conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO platform.quarantine (run_id, spider, table_name, url, reason, item) VALUES %s",
            [(r["run_id"], r["spider"], r["table_name"], r["url"], r["reason"], Json(r["item"], dumps=lambda o: json.dumps(o, default=str))) for r in rows],
        )
    conn.commit()


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
        self.stats = crawler.stats
        self.buffers: dict[type, list] = defaultdict(list)
        self.writers: dict[type, TableWriter] = {}
        self.rejects: list[dict] = []
        self.conn = None
        self.db_down = False
        self._lock = threading.Lock()  # stats and the rejects list, shared with the writer thread
        self._jobs: queue.Queue = queue.Queue(maxsize=2)
        self._worker: threading.Thread | None = None
        self._worker_error: BaseException | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- connection (writer thread only, or the main thread once it has stopped) ----
    def _connection(self):
        if self.conn is None or self.conn.closed:
            from pde.db import connect, database_url

            url = self.crawler.settings.get("DATABASE_URL") or database_url()
            self.conn = connect(url)
        return self.conn

    def _with_db(self, fn):
        """Run fn(conn), reconnecting and retrying while the database is unreachable."""
        from pde.db import DatabaseError

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
                logger.warning("Database unavailable (%s); retry %d/%d in %.1fs", str(exc).strip().splitlines()[0], attempt, attempts - 1, delay)
                time.sleep(delay)

    @property
    def run_id(self):
        return self.stats.get_value("pde/run_id")

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
    def process_item(self, item):
        if isinstance(item, Record):
            buf = self.buffers[type(item)]
            buf.append(item)
            if len(buf) >= self.batch_size:
                self.flush(type(item))
        elif isinstance(item, Rejected):
            self._reject(item.table, item.reason, item.raw, item.source_url)
            if len(self.rejects) >= self.batch_size:
                self.flush_rejects()
        return item

    def close_spider(self):
        for cls in list(self.buffers):
            self.flush(cls)
        self._stop_worker()
        self._write_rejects()  # including rows the database refused in the last batches
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
    def _reject(self, table, reason, raw, url):
        row = {"run_id": self.run_id, "spider": self.crawler.spider.name, "table_name": table,
               "url": url, "reason": reason, "item": raw}
        with self._lock:
            self.rejects.append(row)
            self.stats.inc_value(f"pde/table/{table}/quarantined")
            self.stats.inc_value("pde/quarantined")
        logger.warning("Quarantined an item for %s: %s (%s)", table, reason, url or "no url")

    def _writer(self, cls) -> TableWriter:
        writer = self.writers.get(cls)
        if writer is None:
            writer = self.writers[cls] = TableWriter(cls, self.seen_interval)
        return writer

    def flush(self, cls) -> None:
        items = self.buffers.pop(cls, [])
        if items:
            # serialise here, so the writer thread only waits on PostgreSQL
            items, rows_csv = self._writer(cls).prepare(items)
            self._submit(lambda: self._write(cls, items, rows_csv))

    def _write(self, cls, items, rows_csv) -> None:
        writer = self._writer(cls)
        try:
            counts = self._with_db(lambda conn: writer.write(conn, items, self.run_id, rows_csv))
        except DatabaseUnavailable as exc:
            self._spool("record", [{"record": cls.record_name(), "data": i.to_json()} for i in items])
            self._inc(f"pde/table/{cls.table}/spooled", len(items))
            logger.error(
                "Database unavailable (%s): %d %s rows spooled to %s; load them with `pde spool load` once it is back.",
                exc, len(items), cls.table, self._spool_path(),
            )
            return
        t = f"pde/table/{cls.table}"
        self._inc(f"{t}/inserted", counts.inserted)
        self._inc(f"{t}/updated", counts.updated)
        self._inc(f"{t}/unchanged", counts.unchanged)
        for item, reason in counts.rejected or []:
            self._reject(cls.table, reason, item.to_json(), source_url(item))

    def flush_rejects(self) -> None:
        self._submit(self._write_rejects)

    def _write_rejects(self) -> None:
        with self._lock:
            rows, self.rejects = self.rejects, []
        if not rows:
            return
        try:
            self._with_db(lambda conn: write_quarantine(conn, rows))
        except DatabaseUnavailable:
            self._spool("rejected", rows)

    def _spool_path(self):
        from pipelines.spool import spool_path

        return spool_path(self.crawler.spider.name, self.run_id)

    def _spool(self, kind, payloads):
        from pipelines.spool import append

        append(self._spool_path(), kind, self.run_id, self.crawler.spider.name, payloads)
        self._inc("pde/spooled", len(payloads))
