"""Is the data a crawl just wrote good? Checks on a run record, with reasons a person can act on.

After each crawl the Airflow quality task calls :func:`check_run` with the run's
id (``platform.runs``) and the spider's thresholds (``quality:`` in
dags/crawls.yaml). A run fails the check when

- it failed or was blocked (the run's own message says why);
- it scraped far fewer items than the median of its recent successful runs
  (same spider, same arguments): the site shows fewer results or the parser
  misses some;
- a large share of its items was quarantined (platform.quarantine has why);
- a column that is usually filled is empty in the rows it wrote: the site's
  layout changed under the parser.

The empty-column check looks at rows the run inserted or changed
(``run_id`` = this run) against the table's other rows. A row seen again with
identical content is not rewritten, and ``None`` never overwrites a known
value, so new rows are where a layout change shows first.

Thresholds (all optional, per spider or per crawl)::

    min_items_ratio       0.5   fail below this share of the median of recent successful runs
    history_runs          10    how many recent successful runs make that median
    min_history           3     fewer earlier successful runs: no comparison yet
    max_quarantine_share  0.2   fail when more of the items than this were quarantined
    usually_filled        0.9   a column filled in at least this share of earlier rows ...
    empty_fill            0.1   ... fails when filled in at most this share of the run's rows
    min_rows              5     ... if the run wrote at least this many rows
    min_baseline_rows     20    ... and the table has at least this many earlier rows
    ignore_fields         []    columns (``col`` or ``schema.table.col``) never checked
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from typing import Any

from pde.runs import Run, format_counts, load_run

BOOKKEEPING = ("first_seen_at", "last_seen_at", "updated_at", "run_id")


@dataclass(frozen=True)
class Thresholds:
    min_items_ratio: float = 0.5
    history_runs: int = 10
    min_history: int = 3
    max_quarantine_share: float = 0.2
    usually_filled: float = 0.9
    empty_fill: float = 0.1
    min_rows: int = 5
    min_baseline_rows: int = 20
    ignore_fields: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Thresholds:
        values = dict(values or {})
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"Unknown quality threshold(s) {', '.join(unknown)}; known: {', '.join(known)}."
            )
        out = {}
        for name, value in values.items():
            if name == "ignore_fields":
                out[name] = tuple(value or ())
            else:
                out[name] = type(getattr(cls, name))(value)
        return cls(**out)


@dataclass
class Report:
    run: Run
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        r = self.run
        tables = format_counts(r.tables, empty="no table written")
        head = (f"{r.title}: {r.status}, {r.items_scraped} items, {r.items_quarantined} quarantined; {tables}.")
        lines = [head]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def is_data_failure(run: Run) -> bool:
    """The crawl worked but found nothing: a question for the quality check, not a retry."""
    return (run.status == "failed" and run.finish_reason == "finished" and not run.errors
            and run.items_scraped == 0 and not run.items_spooled)


def check_run(conn, run_id: int, thresholds: Thresholds | dict | None = None) -> Report:
    """All checks on one run; ``report.problems`` is empty when the data looks right."""
    if not isinstance(thresholds, Thresholds):
        thresholds = Thresholds.from_dict(thresholds)
    run = load_run(conn, run_id)
    report = Report(run)
    if run.status != "succeeded":
        what = {"running": "has not finished (still marked running)"}.get(run.status, run.status)
        report.problems.append(f"{run.title} {what}: {run.message or 'no message recorded'}")
        return report
    _check_item_count(conn, run, thresholds, report)
    _check_quarantine(conn, run, thresholds, report)
    for table in sorted(run.written_tables):
        _check_empty_fields(conn, run, table, thresholds, report)
    conn.rollback()
    return report


def _check_item_count(conn, run: Run, t: Thresholds, report: Report) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT items_scraped FROM platform.runs
               WHERE spider = %s AND args = %s::jsonb AND status = 'succeeded' AND run_id < %s
               ORDER BY run_id DESC LIMIT %s""",
            (run.spider, _json(run.args), run.run_id, t.history_runs),
        )
        earlier = [r[0] for r in cur.fetchall()]
    if len(earlier) < t.min_history:
        report.notes.append(
            f"item count not compared: {len(earlier)} earlier successful run(s) with these arguments, "
            f"{t.min_history} needed")
        return
    median = statistics.median(earlier)
    floor = t.min_items_ratio * median
    if run.items_scraped < floor:
        report.problems.append(
            f"{run.title} scraped {run.items_scraped} items, far below the median of {median:g} over its "
            f"last {len(earlier)} successful runs (threshold {t.min_items_ratio:.0%}: {floor:g}). The site may "
            "show fewer results, a page may have failed to load, or the parser misses part of the page.")
    else:
        report.notes.append(f"{run.items_scraped} items vs median {median:g} of {len(earlier)} earlier runs")


def _check_quarantine(conn, run: Run, t: Thresholds, report: Report) -> None:
    if not run.items_scraped or not run.items_quarantined:
        return
    share = run.items_quarantined / run.items_scraped
    if share <= t.max_quarantine_share:
        return
    with conn.cursor() as cur:
        cur.execute(
            """SELECT reason, count(*) FROM platform.quarantine WHERE run_id = %s
               GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 3""",
            (run.run_id,),
        )
        reasons = "; ".join(f"{n} x {reason}" for reason, n in cur.fetchall())
    report.problems.append(
        f"{run.title}: {run.items_quarantined} of {run.items_scraped} items ({share:.0%}) were quarantined "
        f"(threshold {t.max_quarantine_share:.0%}). Most common reasons: {reasons or 'see platform.quarantine'}. "
        f"Details: SELECT reason, item FROM platform.quarantine WHERE run_id = {run.run_id};")


def _check_empty_fields(conn, run: Run, table: str, t: Thresholds, report: Report) -> None:
    schema, _, name = table.partition(".")
    with conn.cursor() as cur:
        cur.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
            (schema, name),
        )
        columns = [r[0] for r in cur.fetchall()]
        if "run_id" not in columns:
            return
        ignored = set(t.ignore_fields)
        check = [c for c in columns if c not in BOOKKEEPING and c not in ignored and f"{table}.{c}" not in ignored]
        if not check:
            return
        mine = "run_id = %(run)s"
        other = "run_id IS DISTINCT FROM %(run)s"
        parts = [f"count(*) FILTER (WHERE {mine})", f"count(*) FILTER (WHERE {other})"]
        for c in check:
            parts += [f'count("{c}") FILTER (WHERE {mine})', f'count("{c}") FILTER (WHERE {other})']
        cur.execute(f'SELECT {", ".join(parts)} FROM "{schema}"."{name}"', {"run": run.run_id})
        counts = cur.fetchone()
    rows, base_rows = counts[0], counts[1]
    if rows < t.min_rows or base_rows < t.min_baseline_rows:
        report.notes.append(
            f"{table}: empty columns not checked ({rows} rows written, {base_rows} earlier rows; "
            f"needs {t.min_rows} and {t.min_baseline_rows})")
        return
    for i, c in enumerate(check):
        filled, base_filled = counts[2 + 2 * i], counts[3 + 2 * i]
        base_share, share = base_filled / base_rows, filled / rows
        if base_share >= t.usually_filled and share <= t.empty_fill:
            report.problems.append(
                f"{table}.{c} went empty: filled in {base_share:.0%} of the {base_rows} earlier rows but in "
                f"{filled} of the {rows} rows {run.title} wrote. The site's layout has probably changed "
                f"under the {run.spider} parser: save a current page and compare "
                f"(scrapy crawl {run.spider} -a url=/path/to/saved/page). If the column is legitimately "
                f"empty now, add it to quality.ignore_fields for {run.spider} in dags/crawls.yaml.")


def _json(value) -> str:
    return json.dumps(value, sort_keys=True)
