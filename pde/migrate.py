"""Apply the versioned SQL files in ``sql/`` in order, once each.

Each file ``NNNN_name.sql`` runs in its own transaction and is recorded in
``platform.schema_migrations`` with its SHA-256. Applying again is a no-op; a
file that was edited after it was applied is refused (write a new migration
instead). A transaction-scoped advisory lock lets concurrent crawls call this
safely.

Why not a library: yoyo-migrations and Alembic do not refuse an edited,
already-applied SQL file, which is the guarantee we want most; this is ~80 lines.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pde.db import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
_LOCK_ID = 0x70646500  # "pde\0"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

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
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    found: dict[str, Migration] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(
                f"{path}: migration files are named NNNN_lowercase_name.sql"
            )
        if m.group(1) in found:
            raise MigrationError(
                f"{path.name} and {found[m.group(1)].path.name} share version {m.group(1)}"
            )
        found[m.group(1)] = Migration(m.group(1), path)
    return list(found.values())


def migrate(conn, sql_dir: Path = SQL_DIR, log=print) -> list[str]:
    """Apply pending migrations; return the names applied. Refuses edited files."""
    migrations = discover(sql_dir)
    applied_now: list[str] = []
    old_autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            cur.execute(_BOOTSTRAP)
            cur.execute("SELECT version, name, checksum FROM platform.schema_migrations")
            applied = {v: (n, c) for v, n, c in cur.fetchall()}
        conn.commit()
        for m in migrations:
            if m.version in applied:
                name, checksum = applied[m.version]
                if name != m.path.name:
                    raise MigrationError(
                        f"sql/{m.path.name} has version {m.version}, which this database already "
                        f"applied as {name}. Give the new file the next free number."
                    )
                if checksum != m.checksum:
                    raise MigrationError(
                        f"sql/{m.path.name} was edited after it was applied (as {name}). "
                        "Applied migrations must not change: restore the file and put the "
                        "change in a new file with the next number."
                    )
                continue
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                cur.execute("SELECT 1 FROM platform.schema_migrations WHERE version = %s", (m.version,))
                if cur.fetchone():  # applied by a concurrent process meanwhile
                    conn.commit()
                    continue
                try:
                    cur.execute(m.sql)
                except Exception as exc:
                    conn.rollback()
                    raise MigrationError(f"sql/{m.path.name} failed and was rolled back: {exc}") from exc
                cur.execute(
                    "INSERT INTO platform.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (m.version, m.path.name, m.checksum),
                )
            conn.commit()
            applied_now.append(m.path.name)
            log(f"applied sql/{m.path.name}")
    finally:
        conn.autocommit = old_autocommit
    return applied_now
