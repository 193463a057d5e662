"""Where pde's PostgreSQL is, and the embedded cluster pde runs when none is given.

With ``DATABASE_URL`` set, pde uses that server and starts nothing. Without it,
pde initialises (once) and starts (when needed) its own cluster in
``$PDE_HOME/pgdata`` (default ``<project>/.pde``) on 127.0.0.1:``$PDE_PG_PORT``
(default 54320). The cluster survives restarts of the machine's processes: the
next command that needs it starts it again; ``pde db stop`` stops it.

PostgreSQL refuses to run as root, so when pde runs as root the server runs
as the ``postgres`` system user (created by Debian's postgresql package).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg2
from psycopg2.extensions import parse_dsn

from pde.secrets import mask_dsn

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 54320
DB_NAME = "pde"
DB_USER = "pde"


class DatabaseError(RuntimeError):
    """A problem a user can act on; the message says what to do."""


def pde_home() -> Path:
    return Path(os.environ.get("PDE_HOME") or PROJECT_ROOT / ".pde").resolve()


def exports_dir() -> Path:
    """Where pde writes exports (cheat sheets...): $PDE_EXPORTS, default $PDE_HOME/exports (git ignores both)."""
    return Path(os.environ.get("PDE_EXPORTS") or pde_home() / "exports").expanduser().resolve()


def find_bindir() -> Path:
    """The directory holding initdb/pg_ctl: $PG_BINDIR, Debian's layout, or PATH."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise DatabaseError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them "
        "(Debian/Ubuntu: `apt-get install postgresql`), set PG_BINDIR to their folder, "
        "or set DATABASE_URL to use a server you already run."
    )


def binary_major(bindir: Path) -> int | None:
    """The major version of the PostgreSQL server in bindir (`postgres --version`), None when absent."""

    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except OSError:
        return None
    m = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(m.group(1)) if m else None


def server_major() -> int:
    major = binary_major(find_bindir())
    if major is None:
        raise DatabaseError(f"{find_bindir() / 'postgres'} does not run or say its version; check PG_BINDIR.")
    return major


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in a folder of ours, reachable on 127.0.0.1 only."""

    home: Path
    port: int = DEFAULT_PORT
    fast: bool = False  # tests: no fsync, for throwaway clusters

    @classmethod
    def default(cls) -> EmbeddedPostgres:
        port = int(os.environ.get("PDE_PG_PORT", DEFAULT_PORT))
        return cls(home=pde_home(), port=port)

    # -- layout -------------------------------------------------------------
    @property
    def datadir(self) -> Path:
        return self.home / "pgdata"

    @property
    def rundir(self) -> Path:
        return self.home / "pgrun"

    @property
    def logfile(self) -> Path:
        return self.home / "postgresql.log"

    @property
    def password_file(self) -> Path:
        return self.home / "db-password"

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    @property
    def url(self) -> str:
        return (
            f"postgresql://{DB_USER}:{quote(self.password, safe='')}@127.0.0.1:"
            f"{self.port}/{DB_NAME}"
        )

    # -- running commands as the right user -----------------------------------
    def _server_user(self) -> str | None:
        """None when we are not root (the server runs as us)."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", "postgres"],
                check=True,
            )
        return "postgres"

    def _pg(self, *args: str, check: bool = True, bindir: Path | None = None, cwd: str = "/"
            ) -> subprocess.CompletedProcess:
        """Run a server binary (initdb, pg_ctl) as the user the server runs as."""
        user = self._server_user()
        as_user = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}
        proc = subprocess.run(
            [str((bindir or find_bindir()) / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, **as_user,
        )
        if check and proc.returncode != 0:
            raise DatabaseError(
                f"`{args[0]}` failed for the embedded PostgreSQL in {self.datadir}:\n"
                f"{proc.stderr.strip() or proc.stdout.strip()}\n"
                f"Server log: {self.logfile}"
            )
        return proc

    def _give_to_server_user(self, *paths: Path) -> None:
        user = self._server_user()
        if user is None:
            return
        pw = pwd.getpwnam(user)
        for path in paths:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        # The server user must be able to reach the folder through its parents (PDE_HOME itself: its group).
        for parent in self.home.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise DatabaseError(
                    f"The embedded PostgreSQL runs as the `postgres` user (the server "
                    f"refuses root), and that user cannot enter {parent}. Set PDE_HOME to "
                    f"a folder it can reach (e.g. /var/lib/pde), or set DATABASE_URL."
                )

    # -- life cycle -----------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def data_major(self) -> int | None:
        """The PostgreSQL major version that made the data directory (its PG_VERSION file)."""
        try:
            return int((self.datadir / "PG_VERSION").read_text().strip().split(".")[0])
        except (FileNotFoundError, ValueError):
            return None

    def check_version(self) -> None:
        """Refuse to start a data directory the installed server cannot read; say how to get there."""
        data, binaries = self.data_major(), server_major()
        if data is None or data == binaries:
            return
        if data < binaries:
            raise DatabaseError(
                f"The embedded PostgreSQL data in {self.datadir} was made by PostgreSQL {data}; this machine's "
                f"server is PostgreSQL {binaries} ({find_bindir()}), which cannot read it, so pde did not start it. "
                f"Upgrade it with `pde db upgrade` (pg_upgrade into a new folder; the old one is kept until you "
                f"delete it), or set PG_BINDIR to PostgreSQL {data}'s bin folder to keep using it as it is.")
        raise DatabaseError(
            f"The embedded PostgreSQL data in {self.datadir} was made by PostgreSQL {data}, newer than this "
            f"machine's PostgreSQL {binaries} ({find_bindir()}); PostgreSQL cannot go back a major version, so pde "
            f"did not start it. Install PostgreSQL {data} (Debian: `apt-get install postgresql-{data}`) or set "
            f"PG_BINDIR to its bin folder. Nothing was changed.")

    def check_interrupted_upgrade(self) -> None:
        if self.initialised:
            return
        kept = sorted(self.home.glob("pgdata-pg*-*"))
        if kept:
            raise DatabaseError(
                f"{self.datadir} is missing but {kept[-1]} holds earlier data: an upgrade was interrupted while "
                f"swapping folders. pde did not create an empty database over it. Move it back "
                f"(`mv {kept[-1]} {self.datadir}`) and run `pde db upgrade` again.")

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        return self._pg("pg_ctl", "status", "-D", str(self.datadir), check=False).returncode == 0

    def make_home(self) -> None:
        """PDE_HOME holds personal data (spool, logs, backups): only the user may enter it (0700).

        As root the server runs as ``postgres``, which may pass through (0710, group postgres) but not list it.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        user = self._server_user()
        if user is None:
            os.chmod(self.home, 0o700)
        else:
            os.chown(self.home, -1, pwd.getpwnam(user).pw_gid)
            os.chmod(self.home, 0o710)

    def init(self) -> None:
        self.make_home()
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(18) + "\n")
            os.chmod(self.password_file, 0o600)
        for d in (self.datadir, self.rundir):
            d.mkdir(exist_ok=True)
            os.chmod(d, 0o700)
        self._give_to_server_user(self.datadir, self.rundir)
        pwfile = self.rundir / "initdb-pw"
        pwfile.write_text(self.password + "\n")
        self._give_to_server_user(pwfile)
        try:
            args = [
                "initdb", "-D", str(self.datadir), "-U", DB_USER, "--pwfile", str(pwfile),
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8",
            ]
            if self.fast:
                args.append("--no-sync")
            self._pg(*args)
        finally:
            pwfile.unlink(missing_ok=True)
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.rundir}'",
            "max_connections = 60",
            "shared_buffers = 128MB",
            "timezone = 'UTC'",
        ]
        if self.fast:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        auto = self.datadir / "postgresql.auto.conf"
        with open(auto, "a") as f:
            f.write("\n# written by pde\n" + "\n".join(conf) + "\n")

    def start(self) -> None:
        """Initialise if needed, start if not running, create the pde database."""
        self.check_interrupted_upgrade()
        if not self.initialised:
            self.init()
        if not self.is_running():
            self.check_version()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    raise DatabaseError(
                        f"Port {self.port} on 127.0.0.1 is taken by another program (another pde "
                        f"checkout's PostgreSQL?), so the embedded PostgreSQL in {self.datadir} "
                        "cannot start. Set PDE_PG_PORT to a free port, or DATABASE_URL to use that server."
                    )
            self.make_home()
            self.logfile.touch(mode=0o600)
            os.chmod(self.logfile, 0o600)  # the server log shows queries and rows: the user's only
            self._give_to_server_user(self.logfile)
            self._pg("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir),
                     "-l", str(self.logfile), "-o", f"-p {self.port}")
        self._ensure_database()

    def _ensure_database(self) -> None:
        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=DB_USER, password=self.password,
            dbname="postgres", connect_timeout=10,
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DB_NAME}"')
        conn.close()

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.datadir))
        return True

    def destroy(self) -> None:
        if self.initialised:
            self._pg("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.datadir), check=False)
        shutil.rmtree(self.home, ignore_errors=True)


def database_url(start: bool = True) -> str:
    """DATABASE_URL if set; otherwise the embedded cluster's URL (started if needed)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    pg = EmbeddedPostgres.default()
    if start:
        pg.start()
    return pg.url


def describe(url: str) -> str:
    """A DSN with its password hidden (URL, ``?password=`` or ``key=value`` form), for logs and messages."""
    return mask_dsn(url)


def check_url(url: str) -> None:
    """Refuse a DATABASE_URL libpq cannot parse (``not-a-url``) before anything else runs."""
    try:
        parse_dsn(url)
    except psycopg2.ProgrammingError as exc:
        raise DatabaseError(
            f"DATABASE_URL is not a PostgreSQL connection string ({describe(url)!r}: "
            f"{str(exc).strip().splitlines()[0]}). Use postgresql://user:password@host:5432/dbname "
            "(or host=... dbname=... user=... key=value pairs), or unset it to use the embedded server."
        ) from None


def connect(url: str | None = None, **kwargs):
    """A psycopg2 connection to pde's database, with a message a user can act on."""
    url = url or database_url()
    check_url(url)
    try:
        return psycopg2.connect(url, application_name="pde", connect_timeout=10, **kwargs)
    except psycopg2.OperationalError as exc:
        raise DatabaseError(
            f"Cannot connect to PostgreSQL at {describe(url)}: {str(exc).strip()}\n"
            "Is the server running? For the embedded one run `pde db start`; "
            "otherwise check DATABASE_URL."
        ) from exc


def wait_until_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(url).close()
            return
        except DatabaseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


DEMO_SUFFIX = "_demo"


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path="/" + name).geturl()


def demo_url(url: str | None = None, create: bool = True) -> str:
    """The demo's own database beside pde's (``pde_demo`` next to ``pde``), created on first use.

    The demo's made-up rows never mix with the user's: crawls, dashboards and
    Airflow use ``pde``; ``pde demo --reset`` drops the demo database.
    """
    url = url or database_url()
    name = (urlsplit(url).path.lstrip("/") or DB_NAME) + DEMO_SUFFIX
    if create:
        _admin(url, f'CREATE DATABASE "{name}"', unless_exists=name)
    return _with_database(url, name)


def drop_database(url: str) -> bool:
    """Drop the database ``url`` names (the demo's); False when it did not exist."""
    name = urlsplit(url).path.lstrip("/")
    if not name.endswith(DEMO_SUFFIX):
        raise DatabaseError(f"refusing to drop {name!r}: only the demo database ({DB_NAME}{DEMO_SUFFIX}) is dropped")
    return _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', only_if_exists=name)


def _admin(url: str, statement: str, unless_exists: str | None = None, only_if_exists: str | None = None) -> bool:
    """Run a CREATE/DROP DATABASE through the server's maintenance database."""
    conn = connect(_with_database(url, "postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            check = unless_exists or only_if_exists
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (check,))
            exists = cur.fetchone() is not None
            if (unless_exists and exists) or (only_if_exists and not exists):
                return False
            cur.execute(statement)
            return True
    finally:
        conn.close()
