"""Upsert one batch of records into its PostgreSQL table: deduplicated, with history.

One batch is one transaction: COPY the batch into a temp table, then
``INSERT ... ON CONFLICT DO UPDATE ... WHERE <content> IS DISTINCT FROM`` so
unchanged rows are not rewritten; ``updated_at`` moves only when content
changes, and a trigger (``platform.track(..., history => true)``) then keeps the
previous version in ``<table>_history``. ``None`` never overwrites a known value.

If the batch is refused (a value the table rejects), the rows are retried one
by one; the ones the database refuses come back with its message, for
quarantine. Used by the Scrapy pipeline (pipelines/postgres.py), the spool
loader (pipelines/spool.py) and the benchmark.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import operator
from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql
from psycopg2.extras import Json, execute_values

from pde.records import Record

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


@dataclass
class BatchCounts:
    """What one batch did: rows inserted, changed and seen unchanged, and the rows the database refused."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (record, the database's reason) for each row refused one by one: they go to quarantine
    refused_rows: list[tuple[Record, str]] = field(default_factory=list)


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
            raise RuntimeError(f"Table {self.table} does not exist: add it to a migration in sql/ "
                               "(see README, 'Adding a source').")
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
    def _upsert(self, cur, items: list[Record], run_id, rows_csv: io.StringIO | None = None) -> tuple[int, int]:
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

    def write_batch(self, conn, items: list[Record], run_id=None, rows_csv: io.StringIO | None = None) -> BatchCounts:
        """Write one batch in one transaction. Raises on connection loss (nothing written).

        ``rows_csv``: the batch already deduplicated and serialised by :meth:`prepare`.
        """
        if rows_csv is None:
            items, rows_csv = self.prepare(items)
        counts = BatchCounts()
        with conn.cursor() as cur:
            if not self.checked:
                self.check_table(cur)
            try:
                ins, upd = self._upsert(cur, items, run_id, rows_csv)
                conn.commit()
            except CONNECTION_ERRORS:
                raise
            except psycopg2.Error as exc:
                conn.rollback()
                logger.warning("%s: batch of %d refused (%s); retrying row by row", self.table, len(items),
                               str(exc).strip().splitlines()[0])
                ins = upd = 0
                for item in items:
                    cur.execute("SAVEPOINT pde_row")
                    try:
                        i, u = self._upsert(cur, [item], run_id)
                        ins += i
                        upd += u
                        cur.execute("RELEASE SAVEPOINT pde_row")
                    except CONNECTION_ERRORS:
                        raise
                    except psycopg2.Error as row_exc:
                        cur.execute("ROLLBACK TO SAVEPOINT pde_row")
                        reason = "database refused the row: " + str(row_exc).strip().splitlines()[0]
                        counts.refused_rows.append((item, reason))
                conn.commit()
        counts.inserted, counts.updated = ins, upd
        counts.unchanged = len(items) - ins - upd - len(counts.refused_rows)
        return counts


def insert_quarantine(conn, rows: list[dict]) -> None:
    """Insert rejected items into platform.quarantine; rows: dicts of run_id, spider, table_name, url, reason, item."""
    if not rows:
        return
    with conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO platform.quarantine (run_id, spider, table_name, url, reason, item) VALUES %s",
            [(r["run_id"], r["spider"], r["table_name"], r["url"], r["reason"],
              Json(r["item"], dumps=lambda o: json.dumps(o, default=str))) for r in rows],
        )
    conn.commit()
