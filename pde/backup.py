"""Backups and restores of pde's databases: ``pde backup``, ``pde restore``, the nightly ``backup`` DAG.

Everything pde keeps is history that cannot be scraped again, so a backup is a
consistent ``pg_dump`` (custom format) of pde's database and, when they live on
the same server, of Airflow's and Superset's metadata, written to
``$PDE_BACKUP_DIR`` (default ``$PDE_HOME/backups``; point it at another disk)::
    <PDE_BACKUP_DIR>/20261201T023000Z/   one backup set, named by its UTC time
        pde.dump  airflow.dump  superset.dump   (.enc when encrypted)
        manifest.json                     checksums, row counts per table, migrations

Row counts are taken inside the very snapshot pg_dump dumps (``--snapshot``),
so ``pde restore`` can check a restore exactly. Each file is recorded in
``platform.backups``. Old sets are pruned: the newest set of each of the last
N days, weeks and months is kept (7/4/12 by default).

With ``PDE_BACKUP_KEY`` (or ``PDE_BACKUP_KEY_FILE``) set, files are encrypted
with that key (Fernet: AES-128-CBC + HMAC-SHA256, in authenticated 4 MiB frames
that are numbered, so a cut or reordered file is refused). ``pde backup
--new-key`` prints a new key. pde never stores the key: lose it and the
encrypted backups cannot be read by anyone.

``pde restore`` restores into a NEW database and checks it; only
``--force-replace`` swaps it in for the live one (which is renamed, not dropped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg2

from pde.db import DatabaseError, connect, database_url, describe, find_bindir, pde_home
from pde.envs import crawl_python
from pde.migrate import discover, migrate
from pde.schedule.tasks import data_database_url, resolve_secrets, run_streaming, sensitive_values
from pde.services import airflow, superset

KEEP_DEFAULTS = {"daily": 7, "weekly": 4, "monthly": 12}
LABEL_FORMAT = "%Y%m%dT%H%M%SZ"
_LABEL = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
MAGIC = b"PDE-BACKUP-FERNET-1\n"
FRAME = 4 * 1024 * 1024


class BackupError(DatabaseError):
    """A backup or restore problem; the message says what to do."""


# -- where, and private ----------------------------------------------------------------
def backup_dir() -> Path:
    return Path(os.environ.get("PDE_BACKUP_DIR") or pde_home() / "backups").expanduser().resolve()


def private_dir(path: Path) -> Path:
    """A folder only the user may enter (backups, spool and logs hold personal data)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def private_file(path: Path, mode: str = "wb"):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode)


def keep_settings(daily=None, weekly=None, monthly=None) -> dict[str, int]:
    """How many daily/weekly/monthly sets to keep: arguments, else PDE_BACKUP_KEEP_*, else 7/4/12."""
    given = {"daily": daily, "weekly": weekly, "monthly": monthly}
    out = {}
    for kind, default in KEEP_DEFAULTS.items():
        value = given[kind]
        if value is None:
            raw = os.environ.get(f"PDE_BACKUP_KEEP_{kind.upper()}")
            try:
                value = int(raw) if raw else default
            except ValueError:
                raise BackupError(f"PDE_BACKUP_KEEP_{kind.upper()}={raw!r} is not a whole number") from None
        if value < 0:
            raise BackupError(f"keep {kind}: {value} is negative")
        out[kind] = value
    return out


# -- encryption ----------------------------------------------------------------------------
def backup_key(required: bool = False) -> bytes | None:
    """The user's key: $PDE_BACKUP_KEY, else the file $PDE_BACKUP_KEY_FILE names; None when neither is set."""
    raw = os.environ.get("PDE_BACKUP_KEY")
    if not raw and os.environ.get("PDE_BACKUP_KEY_FILE"):
        path = Path(os.environ["PDE_BACKUP_KEY_FILE"]).expanduser()
        try:
            raw = path.read_text().strip()
        except OSError as exc:
            raise BackupError(f"PDE_BACKUP_KEY_FILE={path}: cannot read it ({exc.strerror})") from exc
    if not raw:
        if required:
            raise BackupError("This backup is encrypted: set PDE_BACKUP_KEY (or PDE_BACKUP_KEY_FILE) to the key it "
                              "was made with. Without that key it cannot be read.")
        return None
    # lazy: cryptography is needed only for encrypted backups
    from cryptography.fernet import Fernet

    try:
        Fernet(raw.encode())
    except ValueError:
        raise BackupError("PDE_BACKUP_KEY is not a Fernet key (44 characters of URL-safe base64). "
                          "Make one with `pde backup --new-key`.") from None
    return raw.encode()


def key_id(key: bytes) -> str:
    """A fingerprint that tells keys apart without revealing them."""
    return hashlib.sha256(b"pde-backup-key-id:" + key).hexdigest()[:16]


def new_key() -> str:
    # lazy: cryptography is needed only for encrypted backups
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class _Encryptor:
    """Writes numbered, authenticated frames: [4-byte length][Fernet token of (index, last?, data)]."""

    def __init__(self, key: bytes, out):
        # lazy: cryptography is needed only for encrypted backups
        from cryptography.fernet import Fernet

        self.f, self.out, self.index = Fernet(key), out, 0
        out.write(MAGIC)

    def frame(self, data: bytes, last: bool) -> None:
        token = self.f.encrypt(struct.pack(">QB", self.index, int(last)) + data)
        self.out.write(struct.pack(">I", len(token)) + token)
        self.index += 1


def encrypt_stream(key: bytes, source, out) -> None:
    enc = _Encryptor(key, out)
    chunk = source.read(FRAME)
    while True:
        following = source.read(FRAME)
        enc.frame(chunk, last=not following)
        if not following:
            return
        chunk = following


def decrypt_file(key: bytes, src: Path, dest: Path) -> None:
    # lazy: cryptography is needed only for encrypted backups
    from cryptography.fernet import Fernet, InvalidToken

    f = Fernet(key)
    with open(src, "rb") as inp, private_file(dest) as out:
        if inp.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{src} is not an encrypted pde backup")
        index, last = 0, False
        while header := inp.read(4):
            if last:
                raise BackupError(f"{src}: data after the last frame; the file was tampered with")
            (n,) = struct.unpack(">I", header)
            token = inp.read(n)
            try:
                plain = f.decrypt(token)
            except InvalidToken:
                raise BackupError(f"{src}: cannot decrypt with this PDE_BACKUP_KEY (wrong key, or the file is "
                                  "damaged). Only the key the backup was made with can read it.") from None
            got, last = struct.unpack(">QB", plain[:9])
            if got != index:
                raise BackupError(f"{src}: frames out of order; the file was tampered with")
            out.write(plain[9:])
            index += 1
        if not last:
            raise BackupError(f"{src} is cut short (its last frame is missing): copy it again from where it was kept")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# -- PostgreSQL client tools of the right version --------------------------------------------
def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    m = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(m.group(1)) if m else None


def client_tool(name: str, server_major: int) -> Path:
    """pg_dump/pg_restore at least as new as the server (older ones refuse newer servers and archives)."""
    dirs: list[Path] = []
    try:
        dirs.append(find_bindir())
    except DatabaseError:
        pass
    dirs += [Path(p).parent for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))]
    if shutil.which(name):
        dirs.append(Path(shutil.which(name)).resolve().parent)
    found = []
    for d in dict.fromkeys(dirs):
        tool = d / name
        if tool.exists() and (major := _tool_major(tool)) is not None:
            found.append((major, tool))
    usable = sorted((m, t) for m, t in found if m >= server_major)
    if not usable:
        have = ", ".join(f"{t} ({m})" for m, t in found) or "none"
        raise BackupError(f"{name} of PostgreSQL {server_major} or newer is needed for this server (found: {have}). "
                          f"Install it (Debian: `apt-get install postgresql-client-{server_major}`) or set PG_BINDIR.")
    return usable[0][1]


def _libpq_env(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it (never on a command line)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.netloc.replace(":" + parts.password + "@", "@")
        url = urlunsplit(parts._replace(netloc=netloc))
    return url, env


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


# -- what is in a database -------------------------------------------------------------------
def table_counts(cur) -> dict[str, int]:
    """Rows per table, every user schema (the same in the dump and the restore when all went well)."""
    cur.execute("""SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                     AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1""")
    tables = [r[0] for r in cur.fetchall()]
    counts = {}
    for t in tables:
        cur.execute(f"SELECT count(*) FROM {t}")
        counts[t] = cur.fetchone()[0]
    return counts


def migrations(cur) -> list[list[str]]:
    cur.execute("SELECT to_regclass('platform.schema_migrations') IS NOT NULL")
    if not cur.fetchone()[0]:
        return []
    cur.execute("SELECT version, name, checksum FROM platform.schema_migrations ORDER BY version")
    return [list(r) for r in cur.fetchall()]


# -- taking a backup ---------------------------------------------------------------------------
@dataclass
class DumpedFile:
    database: str
    role: str
    path: Path
    size: int
    sha256: str
    seconds: float
    taken_at: str
    server_version: str
    tables: dict[str, int]
    migrations: list


@dataclass
class BackupSet:
    label: str
    folder: Path
    encrypted: bool
    files: list[DumpedFile] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


def databases_to_back_up(url: str) -> list[tuple[str, str]]:
    """(role, database): pde's data, plus Airflow's and Superset's metadata when on the same server."""
    data_db = database_name(url)
    wanted = [("data", data_db)]

    names = {"airflow": os.environ.get("PDE_AIRFLOW_DB") or airflow.DEFAULT_DB, "superset": superset.METADATA_DB}
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            existing = {r[0] for r in cur.fetchall()}
    finally:
        conn.close()
    for role, name in names.items():
        if name in existing and name != data_db:
            wanted.append((role, name))
    return wanted


def _new_label(dest: Path) -> str:
    label = dt.datetime.now(dt.UTC).strftime(LABEL_FORMAT)
    n, candidate = 1, label
    while (dest / candidate).exists():
        n += 1
        candidate = f"{label}-{n}"
    return candidate


def dump_database(db_url: str, role: str, out_path: Path, key: bytes | None) -> DumpedFile:
    """pg_dump one database inside an exported snapshot, counting its rows in that same snapshot."""

    conn = connect(db_url)
    try:
        conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot(), now(), current_setting('server_version'), "
                        "current_setting('server_version_num')::int / 10000")
            snapshot, taken_at, version, major = cur.fetchone()
            tables = table_counts(cur)
            applied = migrations(cur)
        bare_url, env = _libpq_env(db_url)
        argv = [str(client_tool("pg_dump", major)), "--format=custom", "--compress=6", f"--snapshot={snapshot}",
                "--no-password", f"--dbname={bare_url}"]
        t0 = time.monotonic()
        if key is None:
            with private_file(out_path):
                pass
            proc = subprocess.run([*argv, f"--file={out_path}"], env=env, capture_output=True, text=True)
            err = proc.stderr
        else:
            with tempfile.TemporaryFile() as errors:  # a file, so a chatty pg_dump cannot block on a full pipe
                proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=errors)
                with private_file(out_path) as out:
                    encrypt_stream(key, proc.stdout, out)
                proc.wait()
                errors.seek(0)
                err = errors.read().decode(errors="replace")
        seconds = time.monotonic() - t0
    finally:
        conn.close()
    if proc.returncode != 0:
        raise BackupError(f"pg_dump of {describe(db_url)} failed: {err.strip()}")
    return DumpedFile(database=database_name(db_url), role=role, path=out_path, size=out_path.stat().st_size,
                      sha256=sha256_file(out_path), seconds=seconds, taken_at=taken_at.isoformat(),
                      server_version=version, tables=tables, migrations=applied)


def take_backup(url: str | None = None, dest: Path | None = None, keep: dict[str, int] | None = None,
                prune: bool = True, log=print) -> BackupSet:
    """Dump, write the manifest, record in platform.backups, prune old sets."""
    url = url or database_url()
    dest = private_dir(dest or backup_dir())
    key = backup_key()
    label = _new_label(dest)
    partial = private_dir(dest / f".{label}.partial")
    result = BackupSet(label=label, folder=dest / label, encrypted=key is not None)
    try:
        for role, name in databases_to_back_up(url):
            db_url = with_database(url, name)
            out_path = partial / (name + (".dump.enc" if key else ".dump"))
            try:
                dumped = dump_database(db_url, role, out_path, key)
            except DatabaseError as exc:
                if role == "data":
                    raise
                # Airflow's or Superset's metadata may be out of this user's reach; pde's data is what counts
                out_path.unlink(missing_ok=True)
                log(f"  {name:<12} skipped: {str(exc).splitlines()[0]}")
                continue
            result.files.append(dumped)
            rows = sum(dumped.tables.values())
            log(f"  {name:<12} {dumped.size / 1e6:8.2f} MB  {dumped.seconds:6.1f} s  {rows} rows "
                f"in {len(dumped.tables)} tables")
        state = _save_state(partial, key, log)
        manifest = {
            "state": state,
            "label": label, "host": socket.gethostname(), "encrypted": key is not None,
            "key_id": key_id(key) if key else None, "format": "pg_dump custom",
            "files": {f.path.name: {"database": f.database, "role": f.role, "sha256": f.sha256, "size": f.size,
                                    "seconds": round(f.seconds, 3), "taken_at": f.taken_at,
                                    "server_version": f.server_version, "tables": f.tables,
                                    "migrations": f.migrations} for f in result.files},
        }
        with private_file(partial / "manifest.json", "w") as out:
            json.dump(manifest, out, indent=1)
        partial.rename(result.folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    for f in result.files:
        f.path = result.folder / f.path.name
    _record(url, result)
    if prune:
        result.pruned = prune_sets(dest, keep or keep_settings(), url=url)
    return result


#: Keys in PDE_HOME without which restored metadata cannot be read: Airflow encrypts Variables and Connections
#: with its Fernet key, Superset its database passwords with its secret key.
STATE_FILES = ("airflow/secrets.json", "airflow/passwords.json", "superset/secret-key", "superset/admin-password",
               "db-password")


def _save_state(folder: Path, key: bytes | None, log) -> dict[str, str]:
    """Encrypted copies of STATE_FILES (only when encrypting: in a plain backup they would hand out the keys)."""
    present = [rel for rel in STATE_FILES if (pde_home() / rel).is_file()]
    if not present:
        return {}
    if key is None:
        log(f"  note: keys in {pde_home()} ({', '.join(present)}) are left out of an unencrypted backup; "
            "copy them yourself, or set PDE_BACKUP_KEY and they are included, encrypted")
        return {}
    out = {}
    for rel in present:
        dest = private_dir(folder / "state") / (rel.replace("/", "__") + ".enc")
        with open(pde_home() / rel, "rb") as src, private_file(dest) as enc:
            encrypt_stream(key, src, enc)
        out[rel] = dest.name
    return out


def restore_state(arg: str, dest: Path, log=print) -> int:
    """Decrypt the state files of a backup set into dest (0600), and say where each belongs."""
    path, manifest, _ = find_backup(arg)
    state = manifest.get("state") or {}
    if not state:
        raise BackupError(f"{path.parent} holds no state files (only encrypted backups do)")
    key = backup_key(required=True)
    if manifest.get("key_id") and key_id(key) != manifest["key_id"]:
        raise BackupError("PDE_BACKUP_KEY is not the key this backup was made with.")
    private_dir(dest)
    for rel, name in state.items():
        target = dest / rel
        private_dir(target.parent)
        decrypt_file(key, path.parent / "state" / name, target)
        log(f"  {target}  -> belongs in $PDE_HOME/{rel}")
    log(f"Copy them into PDE_HOME ({pde_home()}) before `pde up` on a new machine, so restored Airflow "
        "Connections/Variables and Superset's database settings can be read.")
    return 0


def _record(url: str, result: BackupSet) -> None:
    conn = connect(url)
    try:
        migrate(conn, log=lambda m: None)
        with conn.cursor() as cur:
            for f in result.files:
                cur.execute(
                    """INSERT INTO platform.backups (label, database, taken_at, file, size_bytes, duration_s, sha256,
                                                     encrypted, server_version, host)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    (result.label, f.database, f.taken_at, str(f.path), f.size, f.seconds, f.sha256,
                     result.encrypted, f.server_version, socket.gethostname()))
        conn.commit()
    finally:
        conn.close()


# -- retention --------------------------------------------------------------------------------
def label_time(label: str) -> dt.datetime:
    return dt.datetime.strptime(label.split("-")[0], LABEL_FORMAT).replace(tzinfo=dt.UTC)


def sets_to_keep(labels: list[str], keep: dict[str, int]) -> set[str]:
    """Grandfather-father-son: the newest set of each of the last N days, ISO weeks and months (and the newest)."""
    newest_first = sorted(labels, key=lambda s: (label_time(s), s), reverse=True)
    kept: set[str] = set(newest_first[:1])
    buckets = {"daily": lambda t: t.date(), "weekly": lambda t: t.isocalendar()[:2],
               "monthly": lambda t: (t.year, t.month)}
    for kind, bucket in buckets.items():
        seen = []
        for label in newest_first:
            b = bucket(label_time(label))
            if b in seen:
                continue
            if len(seen) >= keep[kind]:
                break
            seen.append(b)
            kept.add(label)
    return kept


def backup_sets(dest: Path) -> list[str]:
    if not dest.exists():
        return []
    return sorted(p.name for p in dest.iterdir() if p.is_dir() and _LABEL.match(p.name)
                  and (p / "manifest.json").exists())


def prune_sets(dest: Path, keep: dict[str, int], url: str | None = None) -> list[str]:
    labels = backup_sets(dest)
    doomed = sorted(set(labels) - sets_to_keep(labels, keep))
    for label in doomed:
        shutil.rmtree(dest / label)
    if doomed and url:
        conn = connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("UPDATE platform.backups SET pruned_at = now() WHERE label = ANY(%s) AND pruned_at IS NULL "
                            "AND file LIKE %s", (doomed, str(dest) + "/%"))
            conn.commit()
        finally:
            conn.close()
    return doomed


# -- restoring ---------------------------------------------------------------------------------
@dataclass
class Check:
    ok: bool
    lines: list[str]


def find_backup(arg: str, database: str | None = None) -> tuple[Path, dict, str]:
    """(dump file, manifest, its name in the manifest) for `latest`, a set folder or a dump file."""
    if arg == "latest":
        sets = backup_sets(backup_dir())
        if not sets:
            raise BackupError(f"No backup in {backup_dir()} (PDE_BACKUP_DIR). Make one with `pde backup`.")
        path = backup_dir() / sorted(sets, key=label_time)[-1]
    else:
        path = Path(arg).expanduser().resolve()
    if not path.exists():
        raise BackupError(f"{arg}: no such backup (give a folder under {backup_dir()}, a .dump file, or `latest`)")
    folder = path if path.is_dir() else path.parent
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise BackupError(f"{folder} has no manifest.json, so the restore could not be checked. Restore the file "
                          "by hand with pg_restore, or point at a folder `pde backup` wrote.")
    manifest = json.loads(manifest_path.read_text())
    if path.is_dir():
        want = database or "data"
        matches = [n for n, f in manifest["files"].items() if want in (f["database"], f["role"])]
        if not matches:
            have = ", ".join(f["database"] for f in manifest["files"].values())
            raise BackupError(f"{folder} holds no dump of {want!r} (it holds: {have})")
        path = folder / matches[0]
    if path.name not in manifest["files"]:
        raise BackupError(f"{path.name} is not listed in {manifest_path}")
    return path, manifest, path.name


def _admin_connection(url: str):
    """A connection to the server's maintenance database (to create and rename databases)."""

    try:
        conn = psycopg2.connect(with_database(url, "postgres"), connect_timeout=10)
    except psycopg2.OperationalError:
        conn = connect(url)
    conn.autocommit = True
    return conn


def check_restored(url: str, expected: dict) -> Check:
    """Row counts per table and the migrations, against what the manifest recorded at backup time."""

    conn = connect(url)
    try:
        with conn.cursor() as cur:
            counts = table_counts(cur)
            applied = migrations(cur)
        conn.commit()
    finally:
        conn.close()
    ok, lines = True, []
    want = expected["tables"]
    for table in sorted(set(want) | set(counts)):
        w, g = want.get(table), counts.get(table)
        same = w == g
        ok &= same
        if g or not same:  # empty tables that match are summed up below
            lines.append(f"  {'ok ' if same else 'BAD'} {table:<45} {g if g is not None else 'missing':>9}"
                         + ("" if same else f"  (backup had {w if w is not None else 'no such table'})"))
    empty = [t for t in want if want[t] == 0 and counts.get(t) == 0]
    if empty:
        lines.append(f"  ok  {len(empty)} empty table(s), empty in the backup too")
    if applied != expected["migrations"]:
        ok = False
        lines.append("  BAD platform.schema_migrations differs from the backup's")
    else:
        lines.append(f"  ok  platform.schema_migrations: {len(applied)} migration(s), as in the backup")
    if expected.get("role") == "data":
        known = {v for v, _, _ in applied}
        pending = [m.path.name for m in discover() if m.version not in known]
        if pending:
            lines.append(f"  note: this checkout has {len(pending)} newer migration(s) ({', '.join(pending)}); "
                         "`pde migrate` applies them after you switch")
    return Check(ok, lines)


def restore(arg: str, name: str | None = None, database: str | None = None, force_replace: bool = False,
            url: str | None = None, log=print) -> int:
    url = url or database_url()
    path, manifest, entry_name = find_backup(arg, database)
    entry = manifest["files"][entry_name]
    log(f"backup {path} ({entry['database']} as of {entry['taken_at']}, {entry['size'] / 1e6:.2f} MB)")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise BackupError(f"{path} is damaged: its SHA-256 is {actual}, the backup wrote {entry['sha256']}. "
                          "Use another backup (`ls` the backup folder) or a copy from another disk.")
    live = database_name(url) if entry["role"] == "data" else entry["database"]
    target = name or f"{entry['database']}_restored_{manifest['label'].replace('-', '_').lower()}"
    server_url = url
    admin = _admin_connection(server_url)
    tmp_plain = None
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,))
            if cur.fetchone():
                raise BackupError(f"Database {target!r} already exists; restore never writes over a database. "
                                  "Pick another name with --name, or drop that one first.")
            cur.execute("SELECT current_setting('server_version_num')::int / 10000")
            major = cur.fetchone()[0]
        source = path
        if manifest.get("encrypted"):
            key = backup_key(required=True)
            if manifest.get("key_id") and key_id(key) != manifest["key_id"]:
                raise BackupError("PDE_BACKUP_KEY is not the key this backup was made with (its fingerprint is "
                                  f"{manifest['key_id']}, the key given has {key_id(key)}). Only that key can read it.")
            fd, tmp = tempfile.mkstemp(prefix=".restore-", suffix=".dump", dir=path.parent)
            os.close(fd)
            tmp_plain = Path(tmp)
            decrypt_file(key, path, tmp_plain)
            source = tmp_plain
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{target}" TEMPLATE template0')
        target_url = with_database(server_url, target)
        bare, env = _libpq_env(target_url)
        t0 = time.monotonic()
        # Owners and grants are the server's business (pde up re-grants Superset's reader role): restoring
        # them would fail on a server without the same roles.
        proc = subprocess.run([str(client_tool("pg_restore", major)), "--no-owner", "--no-privileges",
                               "--exit-on-error", "--no-password", f"--dbname={bare}", str(source)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BackupError(f"pg_restore into {target!r} failed (the half-restored database is left for a look; "
                              f"drop it with DROP DATABASE \"{target}\"): {proc.stderr.strip()[-2000:]}")
        log(f"restored into database {target!r} in {time.monotonic() - t0:.1f} s; checking it against the backup:")
    finally:
        if tmp_plain is not None:
            tmp_plain.unlink(missing_ok=True)
        admin.close()
    check = check_restored(target_url, entry)
    for line in check.lines:
        log(line)
    if not check.ok:
        log(f"\nThe restored database {target!r} does NOT match the backup (lines marked BAD). The live database "
            f"{live!r} was not touched. Try another backup; keep {target!r} for a look or drop it.")
        return 1
    log(f"\nThe restored database {target!r} matches the backup.")
    if force_replace:
        return _swap(server_url, live, target, manifest["label"], log)
    log(f"""The live database {live!r} was not touched. To switch to the restored one, either
  - point pde at it:      export DATABASE_URL='{describe(target_url)}'  (the password is pde's usual one)
  - or swap it in:        `pde down`, then `pde restore {arg} --force-replace` (renames {live!r} aside, keeps it)
                          or by hand in `pde db psql`:
                            ALTER DATABASE "{live}" RENAME TO "{live}_old";
                            ALTER DATABASE "{target}" RENAME TO "{live}";
then `pde migrate` and `pde up`.""")
    return 0


def _swap(url: str, live: str, target: str, label: str, log) -> int:
    aside = f"{live}_before_restore_{label.replace('-', '_').lower()}"
    admin = _admin_connection(url)
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT coalesce(nullif(application_name, ''), 'unnamed') FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (live,))
            users = [r[0] for r in cur.fetchall()]
            if users:
                raise BackupError(f"{len(users)} connection(s) still use {live!r} ({', '.join(sorted(set(users)))}). "
                                  f"Stop them (`pde down`, wait for running crawls) and run the restore again; "
                                  f"the restored copy {target!r} stays ready (pass --name for a fresh one).")
            cur.execute(f'ALTER DATABASE "{live}" RENAME TO "{aside}"')
            cur.execute(f'ALTER DATABASE "{target}" RENAME TO "{live}"')
    finally:
        admin.close()
    log(f"Swapped: {live!r} is now the restored data; the previous one is kept as {aside!r} "
        f"(drop it when you are sure: DROP DATABASE \"{aside}\"). Next: `pde migrate`, `pde up`.")
    return 0


# -- the nightly DAG ----------------------------------------------------------------------------
DAG_SCHEDULE = "30 2 * * *"  # before the crawls (3:00 by default), so a bad crawl never lands in the only copy


def run_backup_task() -> None:
    """The DAG's task: `pde backup` in the project's Python, the key from Airflow (Variable) or the environment."""

    secrets = resolve_secrets({"spider": "backup", "secrets": {"PDE_BACKUP_KEY": "variable"}})
    env = {**os.environ, "DATABASE_URL": data_database_url(), **secrets}
    code, tail, _ = run_streaming([crawl_python(), "-m", "pde.cli", "backup"], env,
                                  redact=sensitive_values(env, secrets))
    if code != 0:
        raise RuntimeError(f"`pde backup` exited with {code}:\n" + "\n".join(tail))


def backup_dag():
    """The ``backup`` DAG (dags/backup.py): nightly, retried, settings from the environment of Airflow."""
    # lazy: importing Airflow reads its configuration; only this step needs it
    from airflow.sdk import DAG, task

    with DAG(
        dag_id="backup",
        description="pde backup: dump pde's databases to PDE_BACKUP_DIR, prune old sets",
        schedule=os.environ.get("PDE_BACKUP_SCHEDULE") or DAG_SCHEDULE,
        start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        tags=["platform", "backup"],
        default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=15), "retry_exponential_backoff": True},
        doc_md=__doc__,
    ) as dag:
        task(task_id="backup", execution_timeout=dt.timedelta(hours=3))(run_backup_task)()
    return dag


# -- commands ----------------------------------------------------------------------------------
def cmd_backup(args) -> int:
    if args.new_key:
        print(f"""{new_key()}

Keep this key somewhere other than this machine (a password manager, paper). pde never stores it.
Set it for backups (and for restores) as PDE_BACKUP_KEY, or put it in a file only you can read and set
PDE_BACKUP_KEY_FILE to that file. Without it, encrypted backups cannot be restored by anyone.""")
        return 0
    keep = keep_settings(args.keep_daily, args.keep_weekly, args.keep_monthly)
    dest = Path(args.dir).expanduser().resolve() if args.dir else backup_dir()
    url = database_url()
    print(f"backing up {describe(url)} to {dest}" + (" (encrypted)" if backup_key() else ""), flush=True)
    result = take_backup(url, dest, keep=keep, prune=not args.no_prune)
    total = sum(f.size for f in result.files)
    print(f"backup {result.label}: {len(result.files)} database(s), {total / 1e6:.2f} MB in {result.folder}")
    if result.pruned:
        print(f"pruned {len(result.pruned)} old set(s) (keeping {keep['daily']} daily, {keep['weekly']} weekly, "
              f"{keep['monthly']} monthly): {', '.join(result.pruned)}")
    if not result.encrypted:
        print("note: not encrypted (set PDE_BACKUP_KEY to encrypt; `pde backup --new-key` makes one)")
    return 0


def cmd_restore(args) -> int:
    if args.state_to:
        return restore_state(args.backup, Path(args.state_to).expanduser().resolve())
    return restore(args.backup, name=args.name, database=args.database, force_replace=args.force_replace)


def register(subparsers) -> None:
    """Adds `pde backup` and `pde restore` to pde's CLI."""
    b = subparsers.add_parser("backup", help="dump pde's databases to PDE_BACKUP_DIR, record it, prune old sets")
    b.add_argument("--dir", help="backup folder (default $PDE_BACKUP_DIR, else $PDE_HOME/backups)")
    b.add_argument("--keep-daily", type=int, help="newest set of each of the last N days (default 7, "
                                                  "$PDE_BACKUP_KEEP_DAILY)")
    b.add_argument("--keep-weekly", type=int, help="... of the last N weeks (default 4, $PDE_BACKUP_KEEP_WEEKLY)")
    b.add_argument("--keep-monthly", type=int, help="... of the last N months (default 12, $PDE_BACKUP_KEEP_MONTHLY)")
    b.add_argument("--no-prune", action="store_true", help="delete no old sets this time")
    b.add_argument("--new-key", action="store_true", help="print a new encryption key for PDE_BACKUP_KEY and exit")
    b.set_defaults(func=cmd_backup)
    r = subparsers.add_parser("restore", help="restore a backup into a NEW database, check it, say how to switch")
    r.add_argument("backup", help="`latest`, a set folder under the backup folder, or one of its .dump files")
    r.add_argument("--name", help="name of the new database (default <database>_restored_<label>)")
    r.add_argument("--database", help="which dump of the set: pde (default), airflow or superset")
    r.add_argument("--state-to", metavar="DIR", help="instead: decrypt the set's saved keys (Airflow's Fernet key, "
                                                     "Superset's secret key, ...) into DIR")
    r.add_argument("--force-replace", action="store_true",
                   help="after a clean check, swap the restored database in for the live one (kept, renamed)")
    r.set_defaults(func=cmd_restore)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pde.backup")
    register(parser.add_subparsers(dest="command", required=True))
    a = parser.parse_args()
    sys.exit(a.func(a))
