"""Apply the SQL in ``sql/``: versioned migrations once each, repeatable SQL whenever it changes.

- ``sql/NNNN_name.sql`` (tables, indexes, data): each runs once, in its own
  transaction, recorded in ``platform.schema_migrations`` with its SHA-256. A
  file edited after it was applied is refused (write a new migration instead):
  a table's history must not change under a database that already has it.
- ``sql/repeatable/NNNN_name.sql`` (views, functions: objects that can be
  re-created from their text): re-applied whenever their text changes, recorded
  in ``platform.schema_repeatables`` with their checksum. Editing a view, or its
  comment, is just editing the file. ``NNNN`` orders them among the versioned
  files: on a new database repeatable NNNN runs right after versioned NNNN (so a
  migration can use a function defined before it). When one changes, it and every
  repeatable after it are re-applied, in order, in one transaction: a file drops its
  views with CASCADE, which also drops the later views built on them.

A transaction-scoped advisory lock lets concurrent crawls call this safely.

Databases migrated before the views moved out of the versioned files (they
recorded the older, longer versions of 0001-0040) are recognised by those files'
former checksums and carried over without re-running anything.

Why not a library: yoyo-migrations and Alembic do not refuse an edited,
already-applied SQL file, which is the guarantee we want most.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pde.db import PROJECT_ROOT

SQL_DIR = Path(os.environ.get("PDE_SQL_DIR") or PROJECT_ROOT / "sql")  # another folder: for tests and forks
_LOCK_ID = 0x70646500  # "pde\0"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

#: versioned files as they were before their views and functions moved to sql/repeatable/:
#: version -> (file name then, its SHA-256 then). A database that applied them is up to date.
FORMER = {
    "0001": ("0001_platform.sql", "f66d38d4856eb41771c67c09950f460ecbad95ee98847454759cb8fbd7cb3584"),
    "0002": ("0002_housing.sql", "7a8467e54c057986b52d2d8f70831ebce45fea77ca205abd4b7bfa330ef2ac80"),
    "0010": ("0010_finance.sql", "3aabe370d26710931b2fceea7b2839aa5857072f1c13e788e06fdbc10d29fca0"),
    "0020": ("0020_fantasy.sql", "c1f35b572da91f6aeff80a8ff2cc5c6946a558fc1bcd2f094dfd27e034496148"),
    "0030": ("0030_superset_views.sql", "5eff5287cf97cffa7811892afbc52c164838111e8ee3257565bbe6da8f723c6c"),
    "0040": ("0040_dashboard_views.sql", "f48da6b2e1fd833875f68f5e00a53427e93f3111e3b80bc4fdd025ae3fc7fc7e"),
}
#: versions whose file is gone because everything in it is repeatable now
RETIRED = {"0030"}

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS platform;
COMMENT ON SCHEMA platform IS 'pde''s own tables: migrations, crawl runs, quarantined items.';
CREATE TABLE IF NOT EXISTS platform.schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE platform.schema_migrations IS 'SQL files from sql/ applied to this database, with the checksum each had when applied.';
COMMENT ON COLUMN platform.schema_migrations.version IS 'The 4-digit number the file name starts with.';
COMMENT ON COLUMN platform.schema_migrations.name IS 'The file name in sql/.';
COMMENT ON COLUMN platform.schema_migrations.checksum IS 'SHA-256 of the file when applied; an edited file is refused.';
COMMENT ON COLUMN platform.schema_migrations.applied_at IS 'When the file was applied.';
CREATE TABLE IF NOT EXISTS platform.schema_repeatables (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE platform.schema_repeatables IS 'Repeatable SQL from sql/repeatable/ (views, functions), with the checksum of the text last applied; a changed file is applied again.';
COMMENT ON COLUMN platform.schema_repeatables.name IS 'The file name in sql/repeatable/.';
COMMENT ON COLUMN platform.schema_repeatables.checksum IS 'SHA-256 of the file when last applied.';
COMMENT ON COLUMN platform.schema_repeatables.applied_at IS 'When it was last applied.';
"""  # noqa: E501 - the string's text is kept verbatim


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path
    repeatable: bool = False

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def label(self) -> str:
        return f"sql/{'repeatable/' if self.repeatable else ''}{self.path.name}"


def _scan(folder: Path, repeatable: bool) -> list[Migration]:
    found: dict[str, Migration] = {}
    for path in sorted(folder.glob("*.sql")) if folder.is_dir() else []:
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path}: SQL files are named NNNN_lowercase_name.sql")
        if m.group(1) in found:
            raise MigrationError(f"{path.name} and {found[m.group(1)].path.name} share number {m.group(1)}")
        found[m.group(1)] = Migration(m.group(1), path, repeatable)
    return list(found.values())


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Versioned files of sql/, in order."""
    return _scan(sql_dir, repeatable=False)


def discover_repeatable(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Repeatable files of sql/repeatable/, in order."""
    return _scan(sql_dir / "repeatable", repeatable=True)


def migrate(conn, sql_dir: Path = SQL_DIR, log=print) -> list[str]:
    """Apply pending versioned files and changed repeatable ones; return the files applied
    (``NNNN_x.sql``, ``repeatable/NNNN_y.sql``) in the order they ran.

    Refuses a versioned file edited after it was applied.
    """
    versioned, repeatables = discover(sql_dir), discover_repeatable(sql_dir)
    applied_now: list[str] = []
    old_autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            cur.execute(_BOOTSTRAP)
            cur.execute("SELECT version, name, checksum FROM platform.schema_migrations")
            applied = {v: (n, c) for v, n, c in cur.fetchall()}
            _carry_over_former(cur, versioned, applied, log)
        conn.commit()
        pending = [m for m in versioned if not _check_applied(m, applied)]
        # a new database: repeatable NNNN runs right after versioned NNNN, before the next version
        for m in sorted(pending, key=lambda m: m.version):
            before = [r for r in repeatables if r.version < m.version]
            applied_now += _apply_repeatables(conn, before, log)
            if _apply_versioned(conn, m):
                applied_now.append(m.path.name)
                log(f"applied {m.label}")
        # an existing database that got new tables or columns: re-create every view and function, so a
        # view over `t.*` sees the new columns as it would in a new database
        rebuild = bool(applied) and any(n.endswith(".sql") and "/" not in n for n in applied_now)
        applied_now += _apply_repeatables(conn, repeatables, log, everything=rebuild)
    finally:
        conn.autocommit = old_autocommit
    return applied_now


def _check_applied(m: Migration, applied: dict) -> bool:
    if m.version not in applied:
        return False
    name, checksum = applied[m.version]
    if name != m.path.name:
        raise MigrationError(
            f"sql/{m.path.name} has version {m.version}, which this database already "
            f"applied as {name}. Give the new file the next free number.")
    if checksum != m.checksum:
        raise MigrationError(
            f"sql/{m.path.name} was edited after it was applied (as {name}). Applied migrations must not "
            "change: restore the file and put the change in a new file with the next number. (Views and "
            "functions belong in sql/repeatable/, which is re-applied whenever it changes.)")
    return True


def _carry_over_former(cur, versioned: list[Migration], applied: dict, log) -> None:
    """A database that applied the former (pre-split) versioned files: record today's files instead."""
    for m in versioned:
        former = FORMER.get(m.version)
        if former and applied.get(m.version) == former and (m.path.name, m.checksum) != former:
            cur.execute("UPDATE platform.schema_migrations SET name = %s, checksum = %s WHERE version = %s",
                        (m.path.name, m.checksum, m.version))
            applied[m.version] = (m.path.name, m.checksum)
            log(f"{m.label}: this database has it (as {former[0]}, before its views moved to sql/repeatable/)")


def _apply_versioned(conn, m: Migration) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        cur.execute("SELECT 1 FROM platform.schema_migrations WHERE version = %s", (m.version,))
        if cur.fetchone():  # applied by a concurrent process meanwhile
            conn.commit()
            return False
        try:
            cur.execute(m.sql)
        except Exception as exc:
            conn.rollback()
            raise MigrationError(f"{m.label} failed and was rolled back: {exc}") from exc
        cur.execute("INSERT INTO platform.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (m.version, m.path.name, m.checksum))
    conn.commit()
    return True


def _apply_repeatables(conn, repeatables: list[Migration], log, everything: bool = False) -> list[str]:
    """Re-apply the first changed repeatable file and every one after it (``everything``: all), in one
    transaction."""
    if not repeatables:
        return []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        cur.execute("SELECT name, checksum FROM platform.schema_repeatables")
        done = dict(cur.fetchall())
        first = 0 if everything else next(
            (i for i, r in enumerate(repeatables) if done.get(r.path.name) != r.checksum), None)
        if first is None:
            conn.commit()
            return []
        names = []
        del conn.notices[:]
        for r in repeatables[first:]:
            try:
                cur.execute("SAVEPOINT pde_repeatable")
                cur.execute(r.sql)
                cur.execute("RELEASE SAVEPOINT pde_repeatable")
            except Exception as exc:
                conn.rollback()
                raise MigrationError(f"{r.label} failed and was rolled back (with the files after it): "
                                     f"{str(exc).strip()}") from exc
            cur.execute("""INSERT INTO platform.schema_repeatables (name, checksum) VALUES (%s, %s)
                           ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()""",
                        (r.path.name, r.checksum))
            names.append(f"repeatable/{r.path.name}")
        lost = _dropped_and_gone(cur, conn.notices)
    conn.commit()
    changed = [f"repeatable/{r.path.name}" for r in repeatables[first:] if done.get(r.path.name) != r.checksum]
    rebuilt = [n for n in names if n not in changed]
    log(f"applied sql/{', sql/'.join(changed)}"
        + (f" (and, built on it, sql/{', sql/'.join(rebuilt)})" if rebuilt else ""))
    for name, cause in lost:
        log(f"WARNING: the view {name} was dropped because it is built on {cause}, which was re-created; "
            f"it is not one of pde's files: create it again.")
    return names


_CASCADE = re.compile(r"drop cascades to (?:materialized )?view (\S+)")


def _dropped_and_gone(cur, notices: list[str]) -> list[tuple[str, str]]:
    """Views of the user's own that a CASCADE dropped and no repeatable file re-created."""
    lost = []
    for notice in notices:
        for name in _CASCADE.findall(notice):
            cur.execute("SELECT to_regclass(%s)", (name,))
            if cur.fetchone()[0] is None:
                lost.append((name, "a view of sql/repeatable/"))
    return lost
