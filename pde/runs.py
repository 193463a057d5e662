"""One run of a spider and how it went: the single object that carries a run's result.

Like dlt's ``LoadInfo``: the run extension creates it and writes it to
``platform.runs``; the pipeline adds each batch's counts to it; the block and
cassette middlewares report into it; at the end the extension decides its status,
the crawl command turns that status into the exit code and writes it as JSON to
``PDE_RESULT_FILE``, which is how Airflow learns the run id and the result.
Scrapy's stats stay output for people: nothing reads them back.

No Scrapy here: the core is importable by the pipelines, the spool loader, the
quality check and Airflow alike.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

#: ``scrapy crawl`` exit codes. 2 (usage error: bad or missing argument, unknown spider)
#: is raised before a run exists; Airflow must not retry it.
EXIT_CODES = {"succeeded": 0, "failed": 1, "usage": 2, "blocked": 3, "refused": 4}
#: how many error messages a run keeps (platform.runs.errors)
MAX_ERRORS = 50
COUNTS = ("inserted", "updated", "unchanged", "quarantined", "spooled")


@dataclass
class TableCounts:
    """What one run did to one table (a row of platform.run_tables)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    spooled: int = 0

    @property
    def written(self) -> bool:
        """The run inserted or changed rows here."""
        return self.inserted + self.updated > 0


def format_counts(tables: dict[str, TableCounts], empty: str = "nothing written") -> str:
    """``housing.listings +36 ~2 =0 quarantined 1``, table by table: the one summary people read."""
    return ", ".join(
        f"{t} +{c.inserted} ~{c.updated} ={c.unchanged}"
        + (f" quarantined {c.quarantined}" if c.quarantined else "")
        + (f" spooled {c.spooled}" if c.spooled else "")
        for t, c in sorted(tables.items())
    ) or empty


@dataclass
class Run:
    """A crawl's result: who ran, how it ended, and what it did to each table."""

    spider: str = ""
    args: dict = field(default_factory=dict)
    run_id: int | None = None
    #: running, succeeded, failed, blocked, refused (another run with these arguments holds the lock)
    status: str = "running"
    message: str = ""
    #: Scrapy's close reason (finished, blocked, cassette_miss, shutdown, ...)
    finish_reason: str | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    items_scraped: int = 0
    #: items rejected into platform.quarantine (the sum of the tables' ``quarantined``)
    items_quarantined: int = 0
    requests: int = 0
    response_codes: dict[str, int] = field(default_factory=dict)
    tables: dict[str, TableCounts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: every error logged, also past the MAX_ERRORS messages kept
    error_count: int = 0
    #: set by a middleware that stopped the crawl (blocked, cassette miss); it decides the status
    stopped: tuple[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- what the parts report -------------------------------------------------------
    def count(self, table: str, **counts: int) -> None:
        """Add a batch's counts (the pipeline's writer thread calls this too)."""
        unknown = set(counts) - set(COUNTS)
        if unknown:
            raise ValueError(f"unknown count(s) {', '.join(sorted(unknown))}; known: {', '.join(COUNTS)}")
        with self._lock:
            c = self.tables.setdefault(table, TableCounts())
            for name, n in counts.items():
                setattr(c, name, getattr(c, name) + n)
            self.items_quarantined += counts.get("quarantined", 0)

    def error(self, message: str) -> None:
        with self._lock:
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(message[:2000])

    def stop(self, status: str, message: str) -> None:
        """A middleware ends the crawl (``blocked``, ``failed``); the first one to say so wins."""
        with self._lock:
            if self.stopped is None:
                self.stopped = (status, message)

    # -- the totals ------------------------------------------------------------------
    @property
    def items_spooled(self) -> int:
        return sum(c.spooled for c in self.tables.values())

    @property
    def duration_s(self) -> float | None:
        return None if self.finished_at is None else round(self.finished_at - self.started_at, 3)

    @property
    def written_tables(self) -> dict[str, TableCounts]:
        """Tables where the run inserted or changed rows."""
        return {t: c for t, c in self.tables.items() if c.written}

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)

    @property
    def title(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"Run {self.run_id} ({self.spider}{' ' + args if args else ''})"

    def summary(self) -> str:
        """One line for the log and the terminal: ``Run 7 SUCCEEDED: housing.listings +36 ~0 =0``."""
        return (f"Run {self.run_id} {self.status.upper()}: {format_counts(self.tables)}"
                + (f". {self.message}" if self.message else ""))

    # -- deciding how it ended ---------------------------------------------------------
    def finish(self, reason: str, *, expects_items: bool = True, spool_dir: str = "", notes=()) -> None:
        """Decide the status from what was reported, in order of what a person must act on first.

        ``notes``: what the spider wants said in the message of a successful run (``run_notes``).
        """
        self.finish_reason = reason
        self.finished_at = time.time()
        self.status, self.message = self._verdict(reason, expects_items, spool_dir, " ".join(notes))

    def _verdict(self, reason: str, expects_items: bool, spool_dir: str, notes: str) -> tuple[str, str]:
        if self.stopped is not None:
            return self.stopped
        if self.items_spooled:
            return "failed", (f"The database went away during the crawl: {self.items_spooled} rows were spooled to "
                              f"{spool_dir or 'the spool'}. Run `pde spool load` when it is back.")
        if reason == "start_error" and self.errors:  # the real reason, not Scrapy's word for it
            why = self.errors[0].splitlines()[0].removeprefix("Error while reading start items and requests: ")
            return "failed", f"The crawl could not start: {why}"
        if reason != "finished":
            return "failed", f"The crawl stopped early ({reason})."
        if self.error_count:
            first = self.errors[0] if self.errors else "see the log"
            return "failed", f"{self.error_count} error(s) during the crawl; first: {first}"
        if self.items_scraped == 0 and expects_items:
            return "failed", (f"{self.spider} finished but produced no items. The site may have changed its layout, "
                              "or the search matched nothing; check the arguments and the pages in the log.")
        quarantined, scraped = self.items_quarantined, self.items_scraped
        where = f"SELECT reason, item FROM platform.quarantine WHERE run_id = {self.run_id};"
        if quarantined and quarantined >= scraped:
            return "failed", f"Every one of the {scraped} items was quarantined, nothing was loaded. Why: {where}"
        if quarantined:
            notes = f"{quarantined} of {scraped} items quarantined (the rest loaded). Why: {where} {notes}".strip()
        return "succeeded", notes

    def fail(self, message: str) -> None:
        """Something after the verdict went wrong (the end could not be recorded): the run failed."""
        self.status = "failed"
        self.message = (self.message + " " if self.message else "") + message

    # -- JSON (result file, spool) -------------------------------------------------------
    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}
        out["tables"] = {t: dataclasses.asdict(c) for t, c in self.tables.items()}
        out["stopped"] = list(self.stopped) if self.stopped else None
        out.update(duration_s=self.duration_s, exit_code=self.exit_code)
        return out

    @classmethod
    def from_json(cls, data: dict) -> Run:
        names = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        run = cls(**{k: v for k, v in data.items() if k in names and k not in ("tables", "stopped")})
        run.tables = {t: TableCounts(**c) for t, c in (data.get("tables") or {}).items()}
        run.stopped = tuple(data["stopped"]) if data.get("stopped") else None
        return run

    def write_result(self, path: str | Path) -> None:
        """Write the result file atomically (a reader never sees half of it)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, default=str) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def read_result(cls, path: str | Path) -> Run:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    # -- platform.runs -----------------------------------------------------------------
    def insert(self, conn, host: str, pid: int) -> int:
        """Record the start (status running); sets and returns ``run_id``. The caller commits."""
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO platform.runs (spider, args, host, pid, started_at) "
                "VALUES (%s, %s::jsonb, %s, %s, to_timestamp(%s)) RETURNING run_id",
                (self.spider, json.dumps(self.args), host, pid, self.started_at),
            )
            self.run_id = cur.fetchone()[0]
        return self.run_id

    def save(self, conn) -> None:
        """Write the end of the run: its row in platform.runs and one row per table in platform.run_tables."""
        with conn.cursor() as cur:
            cur.execute(
                """UPDATE platform.runs SET status = %(status)s, finish_reason = %(finish_reason)s,
                       message = %(message)s, finished_at = to_timestamp(%(finished_at)s),
                       duration_s = %(duration_s)s, items_scraped = %(items_scraped)s,
                       items_quarantined = %(items_quarantined)s, requests = %(requests)s,
                       response_codes = %(response_codes)s::jsonb, errors = %(errors)s::jsonb
                   WHERE run_id = %(run_id)s""",
                {"status": self.status, "finish_reason": self.finish_reason, "message": self.message or None,
                 "finished_at": self.finished_at, "duration_s": self.duration_s, "items_scraped": self.items_scraped,
                 "items_quarantined": self.items_quarantined, "requests": self.requests,
                 "response_codes": json.dumps(self.response_codes), "errors": json.dumps(self.errors),
                 "run_id": self.run_id},
            )
            for table, c in self.tables.items():
                cur.execute(
                    """INSERT INTO platform.run_tables (run_id, table_name, inserted, updated, unchanged, quarantined,
                                                        spooled)
                       VALUES (%s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT (run_id, table_name) DO UPDATE SET inserted = EXCLUDED.inserted,
                         updated = EXCLUDED.updated, unchanged = EXCLUDED.unchanged,
                         quarantined = EXCLUDED.quarantined, spooled = EXCLUDED.spooled""",
                    (self.run_id, table, c.inserted, c.updated, c.unchanged, c.quarantined, c.spooled),
                )
        conn.commit()


def load_run(conn, run_id: int) -> Run:
    """A recorded run from platform.runs and platform.run_tables."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT run_id, spider, args, status, finish_reason, coalesce(message, ''), items_scraped,
                      items_quarantined, requests, response_codes, errors,
                      extract(epoch FROM started_at), extract(epoch FROM finished_at)
               FROM platform.runs WHERE run_id = %s""",
            (run_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"There is no run {run_id} in platform.runs.")
        cur.execute(
            """SELECT table_name, inserted, updated, unchanged, quarantined, spooled
               FROM platform.run_tables WHERE run_id = %s""",
            (run_id,),
        )
        tables = {t: TableCounts(*counts) for t, *counts in cur.fetchall()}
    conn.rollback()
    (run_id, spider, args, status, reason, message, items, quarantined, requests, codes, errors, started,
     finished) = row
    return Run(spider=spider, args=args, run_id=run_id, status=status, message=message, finish_reason=reason,
               started_at=float(started), finished_at=None if finished is None else float(finished),
               items_scraped=items, items_quarantined=quarantined, requests=requests, response_codes=codes,
               tables=tables, errors=errors,
               error_count=len(errors))


def run_of(crawler) -> Run:
    """The crawler's run: created on first use, so a pipeline used without the run extension still counts."""
    run = getattr(crawler, "pde_run", None)
    if run is None:
        run = crawler.pde_run = Run()
    return run


class ErrorCollector(logging.Handler):
    """Every ERROR logged during the crawl goes into the run's errors."""

    def __init__(self, run: Run):
        super().__init__(level=logging.ERROR)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:
            msg = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            msg += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.run.error(msg)


def crawl_command(spider: str, args: dict | None = None, settings: dict | None = None,
                  python: str | None = None) -> list[str]:
    """The ``scrapy crawl`` command line (Airflow, ``pde demo``, tests and benchmarks all build it here).

    ``args`` become ``-a name=value``, ``settings`` ``-s NAME=value`` (lists and dicts as JSON).
    """
    cmd = [python or sys.executable, "-m", "scrapy", "crawl", spider]
    for k, v in (args or {}).items():
        cmd += ["-a", f"{k}={v}"]
    for k, v in (settings or {}).items():
        cmd += ["-s", f"{k}={json.dumps(v) if isinstance(v, (dict, list)) else v}"]
    return cmd
