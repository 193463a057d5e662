"""Rows that could not be written because the database was gone, kept in a file.

The pipeline appends JSON lines to ``$PDE_HOME/spool/<spider>-run<id>.jsonl``;
``pde spool load`` writes them through the same upsert once the database is
back, then deletes the file. Nothing is lost when PostgreSQL goes away mid-crawl.
"""

from __future__ import annotations

import importlib
import json
import os
from collections import defaultdict
from pathlib import Path

from pde.db import pde_home
from pde.runs import Run
from pipelines.upsert import TableWriter, insert_quarantine


def spool_dir() -> Path:
    return pde_home() / "spool"


def spool_path(spider: str, run_id) -> Path:
    return spool_dir() / f"{spider}-run{run_id or 'none'}.jsonl"


def append(path: Path, kind: str, run_id, spider: str, payloads: list[dict]) -> None:
    """Append rows; the folder (0700) and files (0600) are the user's only: they hold personal data."""
    pde_home().mkdir(mode=0o700, parents=True, exist_ok=True)  # private when it is created here
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8") as f:
        for p in payloads:
            f.write(json.dumps({"kind": kind, "run_id": run_id, "spider": spider, **p}, default=str) + "\n")
        f.flush()


def _record_class(name: str):
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(module), cls)


def load_file(conn, path: Path, log=print) -> dict[str, int]:
    """Write one spool file to the database; delete it when everything is in."""
    groups: dict[tuple, list] = defaultdict(list)
    rejects, runs = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        kind = entry.pop("kind")
        if kind == "record":
            groups[(entry["record"], entry["run_id"])].append(entry["data"])
        elif kind == "rejected":
            rejects.append(entry)
        elif kind == "run":
            runs.append(entry)
    done: dict[str, int] = {}
    for (record, run_id), rows in groups.items():
        cls = _record_class(record)
        writer = TableWriter(cls)
        for i in range(0, len(rows), 1000):
            counts = writer.write_batch(conn, [cls.from_json(r) for r in rows[i:i + 1000]], run_id)
            insert_quarantine(conn, [
                {"run_id": run_id, "spider": path.stem.split("-run")[0], "table_name": cls.table,
                 "url": None, "reason": reason, "item": item.to_json()}
                for item, reason in counts.refused_rows
            ])
        done[cls.table] = done.get(cls.table, 0) + len(rows)
    insert_quarantine(conn, [{k: r.get(k) for k in ("run_id", "spider", "table_name", "url", "reason", "item")} for r in rejects])
    if rejects:
        done["platform.quarantine"] = len(rejects)
    for r in runs:
        Run.from_json(r["run"]).save(conn)
    with conn.cursor() as cur:
        for r in {g[1] for g in groups} | {r["run_id"] for r in runs}:
            if r is not None:
                cur.execute(
                    "UPDATE platform.runs SET message = coalesce(message || ' ', '') || %s WHERE run_id = %s",
                    (f"Spooled rows loaded from {path.name} by `pde spool load`.", r),
                )
    conn.commit()
    path.unlink()
    log(f"loaded {path.name}: " + (", ".join(f"{n} {t}" for t, n in done.items()) or "run record only"))
    return done


def load_all(conn, log=print) -> int:
    files = sorted(spool_dir().glob("*.jsonl")) if spool_dir().exists() else []
    for path in files:
        load_file(conn, path, log)
    if not files:
        log(f"nothing to load: no spool files in {spool_dir()}")
    return len(files)
