"""Rows that could not be written because the database was gone, kept in a file.

The pipeline appends JSON lines to ``$PDE_HOME/spool/<spider>-run<id>.jsonl``;
``pde spool load`` writes them through the same upsert once the database is
back, then deletes the file. Nothing is lost when PostgreSQL goes away mid-crawl.

Promises, each tested in tests/test_faults.py:

- A batch is appended whole and durably (one write, then fsync) or not at all:
  a failed write (full disk, read-only folder, file-size limit) is cut back to
  the last complete line and raises :class:`SpoolError`; nothing counts a row as
  spooled before it is on disk. When ``$PDE_HOME/spool`` cannot be written, the
  batch goes to a fallback folder in the system's temp directory, which
  ``pde spool load`` reads too.
- The first line of a file says which database it belongs to (PostgreSQL's
  system identifier and the database name) and which run; ``pde spool load``
  refuses a file meant for another database unless ``--force``.
- ``pde spool load`` loads every complete record, keeps lines it cannot read in
  ``<file>.unreadable`` and says which, and deletes a file only after its rows
  are committed.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from pde.db import pde_home
from pde.runs import Run
from pipelines.upsert import TableWriter, insert_quarantine

FORMAT = 2
#: the keys each kind of line must have ("run": the run object, pde.runs.Run.to_json)
KINDS = {"record": ("record", "data"), "rejected": ("table_name", "reason", "item"), "run": ("run",)}


class SpoolError(OSError):
    """Rows could not be written to a spool file; the message says which and where."""


def spool_dir() -> Path:
    return pde_home() / "spool"


def fallback_dir() -> Path:
    """Where rows go when ``$PDE_HOME/spool`` cannot be written (another filesystem, usually)."""
    return Path(tempfile.gettempdir()) / f"pde-spool-{os.getuid()}"


def spool_path(spider: str, run_id) -> Path:
    return spool_dir() / f"{spider}-run{run_id or 'none'}.jsonl"


def spool_files() -> list[Path]:
    files: list[Path] = []
    for d in (spool_dir(), fallback_dir()):
        if d.is_dir():
            files += sorted(d.glob("*.jsonl"))
    return files


def database_identity(conn) -> dict:
    """What identifies a database: the cluster's system identifier and the database name."""
    with conn.cursor() as cur:
        try:
            cur.execute("SELECT system_identifier::text, current_database() FROM pg_control_system()")
            sysid, name = cur.fetchone()
        except psycopg2.Error:  # a role that may not read the control file: host and port instead
            conn.rollback()
            cur.execute("SELECT coalesce(host(inet_server_addr()), 'local') || ':' || "
                        "current_setting('port'), current_database()")
            sysid, name = cur.fetchone()
            sysid = "server " + sysid
    conn.rollback()
    return {"system_identifier": sysid, "database": name}


def describe_identity(ident: dict | None) -> str:
    if not ident:
        return "an unknown database"
    return f"database {ident.get('database')!r} of the PostgreSQL cluster {ident.get('system_identifier')}"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def append(path: Path, kind: str, run_id, spider: str, payloads: list[dict], database: dict | None = None) -> Path:
    """Append one batch durably; on failure try the fallback folder. Returns the file written.

    Raises SpoolError when neither place could take the batch (nothing of it is left behind).
    """
    try:
        return _append(path, kind, run_id, spider, payloads, database)
    except OSError as exc:
        first = exc
    other = fallback_dir() / path.name
    try:
        return _append(other, kind, run_id, spider, payloads, database)
    except OSError as exc:
        raise SpoolError(
            first.errno, f"could not write {len(payloads)} {kind} line(s) to {path} ({first.strerror or first}) "
                         f"nor to {other} ({exc.strerror or exc})") from exc


def _append(path: Path, kind: str, run_id, spider: str, payloads: list[dict], database: dict | None) -> Path:
    """The folder (0700) and files (0600) are the user's only: they hold personal data."""
    pde_home().mkdir(mode=0o700, parents=True, exist_ok=True)  # private when it is created here
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent.stat().st_mode & 0o077:
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.fstat(fd).st_size
        lines = []
        if start == 0:
            lines.append(json.dumps({"kind": "header", "format": FORMAT, "spider": spider, "run_id": run_id,
                                     "database": database,
                                     "created_at": dt.datetime.now(dt.UTC).isoformat()}))
        lines += [json.dumps({"kind": kind, "run_id": run_id, "spider": spider, **p}, default=str) for p in payloads]
        try:
            _write_all(fd, ("\n".join(lines) + "\n").encode("utf-8"))
            os.fsync(fd)
        except OSError:
            try:  # leave no partial line behind
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)
    if start == 0:
        _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _record_class(name: str):
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(module), cls)


@dataclass
class SpoolFile:
    path: Path
    header: dict | None = None
    entries: list[dict] = field(default_factory=list)
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)  # (line number, reason, text)


def read(path: Path) -> SpoolFile:
    """Every complete, well-formed line of a spool file; the others listed with the reason."""
    out = SpoolFile(path)
    with open(path, "rb") as f:
        data = f.read()
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            out.unreadable.append((n, f"not a complete JSON line ({exc})", raw.decode("utf-8", "replace")))
            continue
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "header" and n == 1:
            out.header = entry
            continue
        missing = [k for k in KINDS.get(kind, ()) if k not in entry]
        if kind not in KINDS or missing:
            why = f"unknown kind {kind!r}" if kind not in KINDS else f"missing {', '.join(missing)}"
            out.unreadable.append((n, why, raw.decode("utf-8", "replace")))
            continue
        out.entries.append(entry)
    return out


class WrongDatabase(RuntimeError):
    pass


def check_database(spool: SpoolFile, conn, force: bool = False, here: dict | None = None) -> None:
    """Refuse to load rows into a database other than the one they were crawled for (``here``: its identity)."""
    meant = (spool.header or {}).get("database")
    here = here if here is not None else database_identity(conn)
    if force or meant == here:
        return
    if not meant:
        raise WrongDatabase(
            f"{spool.path.name} does not say which database its rows belong to (written by an older pde, or "
            f"before the crawl reached the database). This is {describe_identity(here)}. If that is the right one, "
            "run `pde spool load --force`.")
    raise WrongDatabase(
        f"{spool.path.name} belongs to {describe_identity(meant)}, but DATABASE_URL points at "
        f"{describe_identity(here)}. Set DATABASE_URL to the crawl's database (or unset it for the embedded one) "
        "and run `pde spool load` again; `--force` loads it here anyway.")


def load_file(conn, path: Path, log=print, force: bool = False, spool: SpoolFile | None = None,
              here: dict | None = None) -> dict[str, int]:
    """Write one spool file to the database; delete it once everything readable is committed.

    ``spool``: the file already read; ``here``: this database's identity (both worked out once by load_all)."""
    spool = spool if spool is not None else read(path)
    check_database(spool, conn, force, here)
    spider = (spool.header or {}).get("spider") or path.stem.split("-run")[0]
    groups: dict[tuple, list] = defaultdict(list)
    rejects, runs = [], []
    for entry in spool.entries:
        kind = entry.pop("kind")
        if kind == "record":
            groups[(entry["record"], entry.get("run_id"))].append(entry["data"])
        elif kind == "rejected":
            rejects.append(entry)
        else:
            runs.append(entry)
    done: dict[str, int] = {}
    writers: dict[type, TableWriter] = {}  # one per record class: a writer checks its table when made
    for (record, run_id), rows in groups.items():
        cls = _record_class(record)
        writer = writers.get(cls) or writers.setdefault(cls, TableWriter(cls))
        for i in range(0, len(rows), 1000):
            counts = writer.write_batch(conn, [cls.from_json(r) for r in rows[i:i + 1000]], run_id)
            insert_quarantine(conn, [
                {"run_id": run_id, "spider": spider, "table_name": cls.table,
                 "url": None, "reason": reason, "item": item.to_json()}
                for item, reason in counts.refused_rows
            ])
        done[cls.table] = done.get(cls.table, 0) + len(rows)
    insert_quarantine(conn, [{"run_id": r.get("run_id"), "spider": r.get("spider", spider),
                              "table_name": r["table_name"], "url": r.get("url"), "reason": r["reason"],
                              "item": r["item"]} for r in rejects])
    if rejects:
        done["platform.quarantine"] = len(rejects)
    for r in runs:
        Run.from_json(r["run"]).save(conn)
    note = f"Spooled rows loaded from {path.name} by `pde spool load`."
    if spool.unreadable:
        note += f" {len(spool.unreadable)} line(s) could not be read (kept in {path.name}.unreadable)."
    with conn.cursor() as cur:
        for r in {g[1] for g in groups} | {r["run_id"] for r in runs}:
            if r is not None:
                cur.execute(
                    "UPDATE platform.runs SET message = coalesce(message || ' ', '') || %s WHERE run_id = %s",
                    (note, r),
                )
    conn.commit()
    if spool.unreadable:
        kept = path.with_name(path.name + ".unreadable")
        with os.fdopen(os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8") as f:
            for n, reason, text in spool.unreadable:
                f.write(json.dumps({"line": n, "reason": reason, "text": text}) + "\n")
            f.flush()
            os.fsync(f.fileno())
    path.unlink()
    log(f"loaded {path.name}: " + (", ".join(f"{n} {t}" for t, n in done.items()) or "run record only"))
    for n, reason, _ in spool.unreadable[:10]:
        log(f"  line {n} not loaded: {reason}")
    if spool.unreadable:
        log(f"  {len(spool.unreadable)} unreadable line(s) kept in {path.with_name(path.name + '.unreadable')}")
    return done


def load_all(conn, log=print, force: bool = False) -> int:
    """Load every spool file; returns how many could not be loaded (or were loaded only in part)."""
    files = spool_files()
    problems = 0
    here = None
    for path in files:
        try:
            here = here if here is not None else database_identity(conn)
            spool = read(path)
            load_file(conn, path, log, force, spool=spool, here=here)
            problems += bool(spool.unreadable)
        except WrongDatabase as exc:
            conn.rollback()
            log(f"not loaded: {exc}")
            problems += 1
        except Exception as exc:  # e.g. a table that is missing here: the file stays for a later try
            conn.rollback()
            log(f"not loaded: {path}: {type(exc).__name__}: {str(exc).strip()}. The file is kept; "
                "fix the cause and run `pde spool load` again.")
            problems += 1
    if not files:
        log(f"nothing to load: no spool files in {spool_dir()}")
    return problems
