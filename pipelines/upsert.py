"""Write one batch of records into its PostgreSQL table: deduplicated, with history.

One batch is one transaction. Each row carries ``content_hash``, the md5 of the
row as pde serialises it. The batch's keys and hashes go to the server first
(a small COPY into a temp table), which answers which rows need writing:
- new keys are COPied straight into the table (one server pass, like a plain COPY);
- rows whose hash equals the stored one are not sent again (a re-crawl writes nothing);
- changed rows, rows not seen for ``seen_interval`` and rows with no stored hash
  take the full path: COPY into a temp table, then
  ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <content> IS DISTINCT FROM``, so
  ``updated_at`` moves only when content changes, and a trigger
  (``platform.track(..., history => true)``) keeps the previous version in
  ``<table>_history``. ``None`` never overwrites a known value; volatile fields
  are written along but are no change.
The hash is that of the crawled row last applied: applying the same row again
changes nothing (``None`` keeps known values either way), which is why an equal
hash may skip the row. A manual UPDATE clears the hash (trigger ``forget_hash``,
sql/0080_content_hash.sql), so such a row is compared in full again.
After a batch of only new keys (or into an empty table) the next batch is COPied
straight in without the key check; a unique violation falls back to the check.

If the batch is refused (a value the table rejects), the rows are retried one
by one; the ones the database refuses come back with its message, for
quarantine. Used by the Scrapy pipeline (pipelines/postgres.py), the spool
loader (pipelines/spool.py) and the benchmark.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import operator
from dataclasses import dataclass, field

import psycopg2
from psycopg2 import errors, sql
from psycopg2.extras import Json, execute_values

from pde.records import Record

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
#: the columns every tracked table has besides the record's (platform.track)
BOOKKEEPING = ("first_seen_at", "last_seen_at", "updated_at", "run_id")


@dataclass
class BatchCounts:
    """What one batch did: rows inserted, changed and seen unchanged, and the rows the database refused."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (record, the database's reason) for each row refused one by one: they go to quarantine
    refused_rows: list[tuple[Record, str]] = field(default_factory=list)


@dataclass
class Batch:
    """A batch deduplicated and serialised (CPU work, done before it reaches the writer thread)."""

    items: list[Record]
    #: the record's fields as one CSV line per item
    bodies: list[str]
    #: md5 of each body (hex): the row's content_hash; None when the table has no content_hash
    hashes: list[str] | None
    run_id: int | None = None
    get_key: operator.attrgetter | None = None
    key_width: int = 1

    def lines(self, which: list[int] | None = None) -> list[str]:
        """COPY lines (content_hash, run_id, fields) of all rows or of the rows at positions ``which``."""
        run = "" if self.run_id is None else str(int(self.run_id))
        bodies, hashes = self.bodies, self.hashes
        if which is not None:
            bodies = [bodies[i] for i in which]
            hashes = hashes and [hashes[i] for i in which]
        if hashes is None:
            return [f"{run},{b}" for b in bodies]
        return [f"{h},{run},{b}" for h, b in zip(hashes, bodies, strict=True)]

    def keys(self) -> str:
        """COPY text for the key check: position, key fields, content_hash per row."""
        getk = self.get_key
        if self.key_width == 1:
            rows = ((n, getk(i), h) for n, (i, h) in enumerate(zip(self.items, self.hashes, strict=True)))
        else:
            rows = ((n, *getk(i), h) for n, (i, h) in enumerate(zip(self.items, self.hashes, strict=True)))
        return "".join(_csv_lines(rows))


class _Lines:
    """A file for csv.writer that keeps each row's line (the writer writes one line per call)."""

    __slots__ = ("write",)

    def __init__(self, out: list[str]):
        self.write = out.append


def _copy(cur, statement, text: str) -> None:
    """COPY text in one read: copy_expert's default 8 KiB reads retake the GIL for each chunk,
    which the crawl thread (validating and serialising the next batch) holds most of the time."""
    cur.copy_expert(statement, io.StringIO(text), size=len(text) + 1)


def _ident(qualified: str) -> sql.Composable:
    return sql.Identifier(*qualified.split("."))


def _csv_lines(rows) -> list[str]:
    out: list[str] = []
    csv.writer(_Lines(out), lineterminator="\n").writerows(rows)
    return out


def content_hashes(bodies: list[str]) -> list[str]:
    """md5 (hex, a uuid to PostgreSQL) of each CSV line: C calls only, no Python frame per row."""
    return list(map(_HEXDIGEST, map(hashlib.md5, map(str.encode, bodies))))


_HEXDIGEST = operator.methodcaller("hexdigest")


class TableWriter:
    """Writes batches of one Record class into its table.

    ``mode="upsert"`` sends every row through the temp table and
    ``INSERT ... ON CONFLICT`` (the path before content hashes; tests compare the two).
    """

    def __init__(self, cls: type[Record], seen_interval: str = "6 hours", mode: str = "hash"):
        if mode not in ("hash", "upsert"):
            raise ValueError(f"mode must be 'hash' or 'upsert', not {mode!r}")
        self.cls = cls
        self.table = cls.table
        cols = cls.columns()
        self.names = [c.name for c in cols]
        self.key = list(cls.key)
        self.content = [n for n in self.names if n not in self.key]
        self.compared = [n for n in self.content if n not in cls.volatile]
        self.json_idx = [i for i, c in enumerate(cols) if c.json]
        self._get = operator.attrgetter(*self.names)
        self._get_key = operator.attrgetter(*self.key)
        self.seen_interval = seen_interval
        self.mode = mode
        self.checked = False
        self.hashed = True  # False when the table has no content_hash column (see check_table)
        #: the last batch held only new keys: COPY the next one straight in, no key check
        self.expect_new = False
        self._build_sql()

    def _build_sql(self) -> None:
        t = _ident(self.table)
        # temp tables live as long as the session: their names say their shape
        base = self.table.replace(".", "_") + ("_h" if self.hashed else "")
        self.stg_name, self.keys_name = "pde_stg_" + base, "pde_keys_" + base
        stg, keys = sql.Identifier(self.stg_name), sql.Identifier(self.keys_name)
        I = sql.Identifier  # noqa: E741
        row_cols = ([I("content_hash")] if self.hashed else []) + [I("run_id")] + [I(n) for n in self.names]
        cols = sql.SQL(", ").join(row_cols)
        key = sql.SQL(", ").join(map(I, self.key))
        on_key = sql.SQL(" AND ").join(sql.SQL("t.{c} = k.{c}").format(c=I(c)) for c in self.key)

        def changed(new: str) -> sql.Composable:
            if not self.compared:
                return sql.SQL("false")
            old_row = sql.SQL(", ").join(sql.SQL("t.{}").format(I(c)) for c in self.compared)
            new_row = sql.SQL(", ").join(
                sql.SQL("COALESCE({}.{}, t.{})").format(sql.SQL(new), I(c), I(c)) for c in self.compared
            )
            return sql.SQL("ROW({}) IS DISTINCT FROM ROW({})").format(old_row, new_row)

        self.sql_stage = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {stg} AS SELECT {cols} FROM {t} WITH NO DATA"
        ).format(stg=stg, cols=cols, t=t)
        self.sql_copy_stage = sql.SQL("COPY {stg} ({cols}) FROM STDIN WITH (FORMAT csv)").format(stg=stg, cols=cols)
        self.sql_copy_table = sql.SQL("COPY {t} ({cols}) FROM STDIN WITH (FORMAT csv)").format(t=t, cols=cols)
        sets = [sql.SQL("{c} = COALESCE(EXCLUDED.{c}, t.{c})").format(c=I(c)) for c in self.content]
        ch = changed("EXCLUDED")
        sets += [
            sql.SQL("updated_at = CASE WHEN {ch} THEN now() ELSE t.updated_at END").format(ch=ch),
            sql.SQL("run_id = CASE WHEN {ch} THEN EXCLUDED.run_id ELSE t.run_id END").format(ch=ch),
            sql.SQL("last_seen_at = now()"),
        ]
        if self.hashed:
            sets.append(sql.SQL("content_hash = EXCLUDED.content_hash"))
        self.sql_upsert = sql.SQL(
            "WITH r AS (INSERT INTO {t} AS t ({cols}) SELECT {cols} FROM {stg} "
            "ON CONFLICT ({key}) DO UPDATE SET {sets} "
            "WHERE {ch} OR t.last_seen_at < now() - %(seen)s::interval "
            "RETURNING (xmax = 0) AS inserted, (updated_at = now()) AS changed) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE changed AND NOT inserted) FROM r"
        ).format(t=t, cols=cols, stg=stg, key=key, sets=sql.SQL(", ").join(sets), ch=ch)
        self.sql_truncate = sql.SQL("TRUNCATE {}").format(stg)

        # the key check: which rows are new (no such key), differ from what was last written, or were
        # not seen for seen_interval (those take the full path too, which refreshes last_seen_at).
        # LATERAL ... OFFSET 0 (not flattened into a join): one primary-key probe per row; the planner
        # knows nothing of the temp table and would otherwise hash the whole table for every batch
        key_cols = sql.SQL(", ").join([I("i")] + [I(c) for c in self.key] + [I("h")])
        self.sql_keys_table = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {keys} AS SELECT 0 AS i, {kc}, NULL::uuid AS h FROM {t} WITH NO DATA"
        ).format(keys=keys, kc=sql.SQL(", ").join(I(c) for c in self.key), t=t)
        self.sql_copy_keys = sql.SQL("COPY {keys} ({kc}) FROM STDIN WITH (FORMAT csv)").format(keys=keys, kc=key_cols)
        self.sql_check = sql.SQL(
            "SELECT k.i, t.found IS NULL FROM {keys} AS k LEFT JOIN LATERAL "
            "(SELECT true AS found, t.content_hash, t.last_seen_at FROM {t} AS t WHERE {on_key} OFFSET 0) AS t ON true "
            "WHERE t.found IS NULL OR t.content_hash IS DISTINCT FROM k.h "
            "OR t.last_seen_at < now() - %(seen)s::interval"
        ).format(t=t, keys=keys, on_key=on_key)
        self.sql_truncate_keys = sql.SQL("TRUNCATE {}").format(keys)

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
        missing = [n for n in self.names + list(BOOKKEEPING) if n not in have]
        if missing:
            raise RuntimeError(
                f"{self.table} has no column(s) {', '.join(missing)} that {self.cls.__name__} writes: "
                "add them in a new migration in sql/ (or call platform.track() for the bookkeeping columns)."
            )
        if self.hashed and "content_hash" not in have:
            logger.warning("%s has no content_hash column (migration 0080 not applied?): every row is compared "
                           "in full", self.table)
            self.hashed = False
            self._build_sql()
        if self.hashed and self.mode == "hash":
            cur.execute(sql.SQL("SELECT NOT EXISTS (SELECT FROM {})").format(_ident(self.table)))
            self.expect_new = cur.fetchone()[0]
        self.checked = True

    def dedupe(self, items: list[Record]) -> list[Record]:
        """One item per key; a later item's known values win, its Nones keep earlier ones."""
        keyf = self._get_key
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

    def prepare(self, items: list[Record], run_id=None) -> Batch:
        """Deduplicate and serialise a batch; each line's hash is over the record's fields as written."""
        items = self.dedupe(items)
        get = self._get
        rows = ((get(i),) for i in items) if len(self.names) == 1 else map(get, items)
        if self.json_idx:
            jidx = self.json_idx

            def fix(row):
                row = list(row)
                for j in jidx:
                    if row[j] is not None:
                        row[j] = json.dumps(row[j], default=str)
                return row

            rows = map(fix, rows)
        bodies = _csv_lines(rows)
        return Batch(items, bodies, content_hashes(bodies) if self.hashed else None, run_id, self._get_key,
                     len(self.key))

    # -- writing ----------------------------------------------------------------
    def _upsert(self, cur, lines: list[str]) -> tuple[int, int]:
        """The full path: COPY into the temp table, then INSERT ... ON CONFLICT DO UPDATE."""
        cur.execute(self.sql_stage)
        _copy(cur, self.sql_copy_stage, "".join(lines))
        cur.execute(self.sql_upsert, {"seen": self.seen_interval})
        ins, upd = cur.fetchone()
        cur.execute(self.sql_truncate)
        return ins, upd

    def _copy_new(self, cur, lines: list[str]) -> bool:
        """COPY rows with new keys straight into the table; False (nothing written) on a unique violation."""
        cur.execute("SAVEPOINT pde_new")
        try:
            _copy(cur, self.sql_copy_table, "".join(lines))
        except errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT pde_new")
            return False
        cur.execute("RELEASE SAVEPOINT pde_new")
        return True

    def _check_keys(self, cur, batch: Batch) -> tuple[list[int], list[int]]:
        """Send keys and hashes; the server answers the positions of new and of changed rows."""
        cur.execute(self.sql_keys_table)
        _copy(cur, self.sql_copy_keys, batch.keys())
        cur.execute(self.sql_check, {"seen": self.seen_interval})
        new, changed = [], []
        for i, is_new in cur.fetchall():
            (new if is_new else changed).append(i)
        cur.execute(self.sql_truncate_keys)
        return new, changed

    def _write(self, cur, batch: Batch) -> tuple[int, int]:
        cur.execute("SET LOCAL pde.writer = 'on'")  # our own updates keep their content_hash
        n = len(batch.items)
        if not self.hashed or self.mode == "upsert":
            return self._upsert(cur, batch.lines())
        if self.expect_new and self._copy_new(cur, batch.lines()):
            return n, 0
        new, changed = self._check_keys(cur, batch)
        self.expect_new = len(new) == n
        ins = upd = 0
        if new:
            if self._copy_new(cur, batch.lines(None if len(new) == n else new)):
                ins = len(new)
            else:  # another writer inserted some of these keys meanwhile
                changed = sorted(changed + new)
        if changed:
            i, u = self._upsert(cur, batch.lines(changed))
            ins, upd = ins + i, upd + u
        return ins, upd

    def write_batch(self, conn, items: list[Record] | Batch, run_id=None) -> BatchCounts:
        """Write one batch in one transaction. Raises on connection loss (nothing written).

        ``items``: records, or a :class:`Batch` already made by :meth:`prepare` (with its run id).
        """
        counts = BatchCounts()
        with conn.cursor() as cur:
            if not self.checked:
                self.check_table(cur)
            batch = items if isinstance(items, Batch) else self.prepare(items, run_id)
            if (batch.hashes is not None) != self.hashed:  # prepared before check_table found no content_hash
                batch = self.prepare(batch.items, batch.run_id)
            try:
                ins, upd = self._write(cur, batch)
                conn.commit()
            except CONNECTION_ERRORS:
                raise
            except psycopg2.Error as exc:
                conn.rollback()
                logger.warning("%s: batch of %d refused (%s); retrying row by row", self.table, len(batch.items),
                               str(exc).strip().splitlines()[0])
                self.expect_new = False
                ins = upd = 0
                cur.execute("SET LOCAL pde.writer = 'on'")
                for item, line in zip(batch.items, batch.lines(), strict=True):
                    cur.execute("SAVEPOINT pde_row")
                    try:
                        i, u = self._upsert(cur, [line])
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
        counts.unchanged = len(batch.items) - ins - upd - len(counts.refused_rows)
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
