"""The inbox: downloaded statements and saved pages dropped into PDE_INBOX (or uploaded on the home page) are
recognised by their content, crawled by the matching spider and moved to ``done/`` or ``failed/`` beside a note.

    $PDE_INBOX/              new files (default $PDE_HOME/inbox)
    $PDE_INBOX/done/         crawled: NAME and NAME.note.txt (run id, rows)
    $PDE_INBOX/failed/       not crawled: NAME and NAME.note.txt (the error and what to do)
    $PDE_INBOX/.imported.json  content hash -> run: the same file dropped twice is not crawled again

The ``inbox`` DAG (dags/inbox.py) runs :func:`process_inbox` every few minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pde.db import DatabaseError, connect, pde_home
from pde.runs import format_counts, load_run
from pde.schedule.config import START_DATE

log = logging.getLogger(__name__)

HINT = ("pde's inbox reads OFX/QFX/QBO statements, bank CSV exports and Zillow or Redfin pages saved from a "
        "browser (File > Save Page As...)")
#: spiders that may not be installed yet (Redfin): the message says so instead of failing obscurely
SPIDERS = {"ofx": "ofx_statements", "csv": "bank_csv", "zillow": "zillow_listings", "redfin": "redfin_listings"}
SCHEDULE_MINUTES = 5


class NotRecognised(ValueError):
    """The file is none of the kinds the inbox reads."""


def inbox_dir() -> Path:
    return Path(os.environ.get("PDE_INBOX") or pde_home() / "inbox").expanduser()


def safe_name(name: str) -> str:
    """A plain file name: no folders, no glob or list characters (the spiders' url= takes globs and commas)."""
    base = Path(name.replace("\\", "/")).name.strip().lstrip(".")
    base = re.sub(r"[^A-Za-z0-9._+-]+", "_", base)
    return base[:150] or "upload"


def save_upload(name: str, data: bytes, folder: Path | None = None) -> Path:
    """Put an uploaded file into the inbox under a free name (the DAG picks it up)."""
    folder = folder or inbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = _free(folder / safe_name(name))
    tmp = folder / f".upload-{os.getpid()}-{target.name}"
    tmp.write_bytes(data)
    tmp.replace(target)  # atomic: the DAG never sees half a file
    return target


def _free(path: Path) -> Path:
    n = 1
    candidate = path
    while candidate.exists() or Path(str(candidate) + ".note.txt").exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def recognise(data: bytes) -> str:
    """The spider for a file's content (not its name); raises NotRecognised with what was seen."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    lower = data[:400_000].lower()
    if head.upper().startswith(b"OFXHEADER") or (b"<ofx>" in head[:4096].lower()) or \
            (head.startswith(b"<?xml") and b"<ofx>" in head[:4096].lower()):
        return SPIDERS["ofx"]
    if b"<html" in head[:4096].lower() or head.startswith(b"<!"):
        if b"zillow.com" in lower or b"zillow" in lower[:20000]:
            return SPIDERS["zillow"]
        if b"redfin.com" in lower:
            return SPIDERS["redfin"]
        raise NotRecognised("an HTML page, but not one saved from Zillow or Redfin")
    if b"\x00" in head[:4096]:
        raise NotRecognised("a binary file (not text)")
    try:
        text = head[:8192].decode("utf-8")
    except UnicodeDecodeError:
        text = head[:8192].decode("latin-1")
    first = text.splitlines()[0] if text.splitlines() else ""
    if any(first.count(sep) >= 2 for sep in (",", ";", "\t")):
        return SPIDERS["csv"]
    raise NotRecognised("neither an OFX statement, a CSV with a header row, nor a saved listing page")


@dataclass
class Outcome:
    """What happened to one inbox file."""

    name: str
    state: str  # done, failed, duplicate
    note: str
    run_id: int | None = None


def _ledger(folder: Path) -> dict:
    try:
        return json.loads((folder / ".imported.json").read_text())
    except FileNotFoundError:
        return {}


def _write_ledger(folder: Path, ledger: dict) -> None:
    tmp = folder / ".imported.json.tmp"
    tmp.write_text(json.dumps(ledger, indent=1) + "\n")
    tmp.replace(folder / ".imported.json")


def _file_away(path: Path, state: str, note: str) -> Path:
    dest_dir = path.parent / ("failed" if state == "failed" else "done")
    dest_dir.mkdir(exist_ok=True)
    dest = _free(dest_dir / path.name)
    path.replace(dest)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    Path(str(dest) + ".note.txt").write_text(f"{stamp}  {state}\n{note}\n")
    return dest


def pending(folder: Path | None = None) -> list[Path]:
    folder = folder or inbox_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def process_file(path: Path, crawl=None, installed: set[str] | None = None) -> Outcome:
    """Recognise, crawl and file away one inbox file. ``crawl(spec) -> dict`` is tasks.run_crawl by default;
    ``installed``: the spider names (read from source once per inbox run)."""
    from pde.schedule import registry, tasks  # lazy: the home page lists the inbox without loading the crawl runner

    crawl = crawl or tasks.run_crawl
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    ledger = _ledger(path.parent)
    if digest in ledger:
        seen = ledger[digest]
        note = (f"The same content was already imported from {seen['name']} (run {seen['run_id']}, "
                f"{seen['at']}); nothing was crawled again.")
        _file_away(path, "duplicate", note)
        return Outcome(path.name, "duplicate", note, seen.get("run_id"))
    try:
        spider = recognise(data)
    except NotRecognised as exc:
        note = f"Not recognised: {exc}. {HINT}. Nothing was loaded; drop a file of one of those kinds."
        _file_away(path, "failed", note)
        return Outcome(path.name, "failed", note)
    if spider not in (installed if installed is not None else registry.spider_registry()):
        note = (f"This looks like a file for the {spider} spider, which is not installed in this pde. "
                f"Nothing was loaded.")
        _file_away(path, "failed", note)
        return Outcome(path.name, "failed", note)
    spec = {"label": f"inbox {path.name}", "spider": spider, "args": {"url": str(path)}, "settings": {}}
    try:
        result = crawl(spec)
    except Exception as exc:  # every crawl error says what happened; the note keeps it for the user
        note = (f"{spider} could not load it: {exc}\nFix the file (or add a bank profile: `pde csv-profile`), "
                f"then drop it into the inbox again.")
        _file_away(path, "failed", note)
        return Outcome(path.name, "failed", note)
    run_id = result.get("run_id")
    rows = _rows(run_id, spec)
    note = f"Crawled by {spider} as run {run_id}: {rows}."
    ledger[digest] = {"name": path.name, "run_id": run_id, "spider": spider,
                      "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    _file_away(path, "done", note)
    _write_ledger(path.parent, ledger)
    return Outcome(path.name, "done", note, run_id)


def _rows(run_id: int | None, spec: dict) -> str:
    """The run's per-table counts in words (from platform.run_tables)."""
    if run_id is None:
        return "no run recorded"
    from pde.schedule.tasks import data_database_url  # lazy: as in process_file

    conn = connect(data_database_url(spec))
    try:
        run = load_run(conn, run_id)
    finally:
        conn.close()
    return f"{run.status}, {format_counts(run.tables)}" + (f". {run.message}" if run.message else "")


def process_inbox(folder: Path | None = None, crawl=None) -> list[Outcome]:
    """Every new file in the inbox, oldest name first; one file's failure never stops the others.

    The database is checked first: when it cannot be reached, no file is the culprit, so none is moved to
    failed/; they all stay in the inbox and the DatabaseError (which says what to do) is raised.
    """
    files = pending(folder)
    if files:
        from pde.schedule.tasks import data_database_url  # lazy: as in process_file

        try:
            connect(data_database_url()).close()
        except DatabaseError as exc:
            raise DatabaseError(f"{exc}\nThe {len(files)} file(s) in the inbox stay there and are crawled once the "
                                f"database is back.") from exc
    from pde.schedule.registry import spider_registry  # lazy: as in process_file

    installed = set(spider_registry()) if files else set()
    outcomes = []
    for path in files:
        outcome = process_file(path, crawl, installed)
        log.info("%s: %s. %s", outcome.name, outcome.state, outcome.note)
        outcomes.append(outcome)
    return outcomes


def listing(folder: Path | None = None) -> dict[str, list[tuple[str, str]]]:
    """For the home page: waiting files, and (name, note) of the latest done and failed ones."""
    folder = folder or inbox_dir()
    out: dict[str, list[tuple[str, str]]] = {"waiting": [(p.name, "") for p in pending(folder)]}
    for state in ("done", "failed"):
        sub = folder / state
        notes = sorted(sub.glob("*.note.txt"), key=lambda p: p.stat().st_mtime, reverse=True) if sub.is_dir() else []
        out[state] = [(n.name.removesuffix(".note.txt"), n.read_text(errors="replace").strip()) for n in notes[:20]]
    return out


def inbox_task() -> dict:
    """The DAG's task: process the inbox; fails (so the run shows red) when a file ended in failed/."""
    outcomes = process_inbox()
    failed = [o for o in outcomes if o.state == "failed"]
    summary = {"done": [o.name for o in outcomes if o.state == "done"],
               "duplicate": [o.name for o in outcomes if o.state == "duplicate"],
               "failed": [o.name for o in failed]}
    if failed:
        from airflow.sdk.exceptions import AirflowFailException  # lazy: importing Airflow reads its configuration

        raise AirflowFailException("; ".join(f"{o.name} -> failed/: {o.note}" for o in failed))
    return summary


def inbox_dag():
    """The ``inbox`` DAG (dags/inbox.py): every few minutes, one run at a time."""
    from airflow.sdk import DAG, task  # lazy: importing Airflow reads its configuration (see pde/schedule/tasks.py)

    with DAG(
        dag_id="inbox",
        description="crawl the files dropped into PDE_INBOX (or uploaded on the home page) with the matching spider",
        schedule=dt.timedelta(minutes=SCHEDULE_MINUTES),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["platform", "inbox"],
        default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=1)},
        doc_md=__doc__,
    ) as dag:
        task(task_id="process_inbox", execution_timeout=dt.timedelta(hours=1))(inbox_task)()
    return dag
