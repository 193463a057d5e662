"""Superset for pde: install, set up, serve on 127.0.0.1:8088, import the dashboards, add a viewer.

Superset lives in its own environment (``superset/.venv``, pinned by
``superset/uv.lock``: it needs SQLAlchemy < 2, Airflow >= 2), and keeps its state
in ``$PDE_HOME/superset`` (secret key, generated passwords, logs, query cache).
Its own metadata goes to a ``superset`` database on pde's PostgreSQL server (a
SQLite file there when pde may not create databases); pde's data is read
through ``pde_reader``, a login role that may SELECT from the data schemas and
nothing else.

    pde up superset            install if needed, set up on first run, serve, import
    pde down superset          stop serving
    pde superset import        rebuild the bundle from superset/assets and import it (overwrites)
    pde superset viewer NAME   a read-only user for the dashboards (no editing, no SQL Lab)

Admin: ``PDE_SUPERSET_ADMIN_USER`` (default admin) and ``PDE_SUPERSET_ADMIN_PASSWORD``;
without the latter a password is generated on first run, printed and kept in
``$PDE_HOME/superset/admin-password``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
import psycopg2.errors
from psycopg2 import sql

from pde.db import (
    PROJECT_ROOT,
    connect,
    database_url,
    describe,
    pde_home,
)
from pde.migrate import migrate
from pde.services import Action, register_actions, service_main
from pde.services.process import Background

log = logging.getLogger(__name__)
SUPERSET_DIR = PROJECT_ROOT / "superset"
DEFAULT_VENV = SUPERSET_DIR / ".venv"
DEFAULT_PORT = 8088
READER_ROLE = "pde_reader"
DATA_SCHEMAS = ("housing", "finance", "fantasy", "platform")
METADATA_DB = "superset"


class SupersetError(RuntimeError):
    """A problem a user can act on; the message says what to do."""


# -- installing -------------------------------------------------------------------
def venv_dir() -> Path:
    return Path(os.environ.get("PDE_SUPERSET_VENV") or DEFAULT_VENV)


def install(quiet: bool = False) -> Path:
    """`uv sync --frozen --project superset` when superset/.venv is missing or older than the lock."""
    venv = venv_dir()
    marker = venv / ".pde-synced"
    lock = SUPERSET_DIR / "uv.lock"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return venv
    if not quiet:
        print(f"installing Superset into {venv} (uv sync --frozen --project superset)", flush=True)
    uv = shutil.which("uv")
    if uv is None:
        raise SupersetError("uv is not installed: run scripts/system-deps.sh (or `pip install uv`), "
                            "then try again")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    proc = subprocess.run([uv, "sync", "--frozen", "--project", str(SUPERSET_DIR)], env=env,
                          capture_output=quiet, text=True)
    if proc.returncode != 0:
        raise SupersetError(f"installing Superset failed (uv sync --frozen --project superset):\n"
                            f"{(proc.stderr or '')[-2000:]}")
    marker.touch()
    return venv


# -- secrets kept under $PDE_HOME/superset ------------------------------------------
def _secret(path: Path, env_var: str | None = None, nbytes: int = 18) -> tuple[str, bool]:
    """(value, newly generated): from the environment, the file, or generated and saved."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var], False
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    path.write_text(value + "\n")
    os.chmod(path, 0o600)
    return value, True


# -- the read-only role --------------------------------------------------------------
def ensure_reader_role(conn, password: str, role: str = READER_ROLE) -> list[str]:
    """Create/refresh a login role with SELECT on the data schemas that exist; returns them.

    Also ALTER DEFAULT PRIVILEGES, so tables and views the owner creates later
    (new migrations) are readable without running this again. Run it again
    when a new schema appears (``pde up superset`` does, every time).

    Roles and grants live in cluster-wide catalogs, so two processes doing this
    at once (notebooks opening side by side) can collide ("tuple concurrently
    updated", a duplicate role); the loser rolls back and tries again.
    """
    attempts = 20
    for attempt in range(attempts):
        try:
            return _grant_reader(conn, password, role)
        except (psycopg2.errors.InternalError_, psycopg2.errors.UniqueViolation,
                psycopg2.errors.DuplicateObject) as exc:
            conn.rollback()
            collided = not isinstance(exc, psycopg2.errors.InternalError_) or "concurrently" in str(exc)
            if attempt == attempts - 1 or not collided:
                raise
            time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # jitter: colliders do not collide again
    raise AssertionError("unreachable")


def _grant_reader(conn, password: str, role: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        verb = "ALTER" if cur.fetchone() else "CREATE"
        cur.execute(sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD %s")
                    .format(sql.Identifier(role)), (password,))
        cur.execute("SELECT current_database(), current_user")
        dbname, owner = cur.fetchone()
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(role)))
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY nspname", (list(DATA_SCHEMAS),))
        schemas = [r[0] for r in cur.fetchall()]
        for schema in schemas:
            ident = {"s": sql.Identifier(schema), "r": sql.Identifier(role), "o": sql.Identifier(owner)}
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}").format(**ident))
            cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}").format(**ident))
            cur.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT ON TABLES TO {r}")
                        .format(**ident))
    conn.commit()
    return schemas


def _with_credentials(url: str, user: str, password: str, dbname: str | None = None, driver: str | None = None) -> str:
    u = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{u.hostname}:{u.port or 5432}"
    scheme = driver or u.scheme
    return urlunsplit((scheme, netloc, "/" + (dbname or u.path.lstrip("/")), u.query, ""))


# -- the service ------------------------------------------------------------------------
@dataclass
class Superset(Background):
    """One Superset: its state folder, the data it reads and where it serves."""

    title = "Superset"
    error = SupersetError

    home: Path
    data_url: str
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    workers: int = 2
    venv: Path = field(default_factory=venv_dir)

    @classmethod
    def default(cls, start_db: bool = True) -> Superset:
        return cls(home=pde_home() / "superset", data_url=database_url(start=start_db),
                   port=int(os.environ.get("PDE_SUPERSET_PORT", DEFAULT_PORT)))

    # -- layout --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.home / "gunicorn.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "superset.log"

    @property
    def setup_marker(self) -> Path:
        return self.home / "setup-done"

    @property
    def admin_user(self) -> str:
        return os.environ.get("PDE_SUPERSET_ADMIN_USER", "admin")

    def admin_password(self) -> tuple[str, bool]:
        return _secret(self.home / "admin-password", "PDE_SUPERSET_ADMIN_PASSWORD")

    def reader_password(self) -> str:
        return _secret(self.home / "reader-password")[0]

    def reader_uri(self) -> str:
        """How Superset reaches pde's data: as pde_reader, through psycopg2."""
        return _with_credentials(self.data_url, READER_ROLE, self.reader_password(), driver="postgresql+psycopg2")

    def metadata_url(self) -> str:
        """Superset's own database: `superset` on the same server, or a SQLite file if pde may not create one."""
        override = os.environ.get("PDE_SUPERSET_METADATA_URL")
        if override:
            return override
        u = urlsplit(self.data_url)
        admin_url = urlunsplit((u.scheme, u.netloc, "/postgres", u.query, ""))
        try:
            conn = psycopg2.connect(admin_url, connect_timeout=10)
        except psycopg2.Error:
            conn = None
        if conn is not None:
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (METADATA_DB,))
                    if cur.fetchone() is None:
                        cur.execute(f'CREATE DATABASE "{METADATA_DB}"')
                return _with_credentials(self.data_url, u.username or "", u.password or "", METADATA_DB,
                                         driver="postgresql+psycopg2")
            except psycopg2.Error as exc:
                print(f"note: cannot create database {METADATA_DB!r} ({str(exc).strip()}); "
                      f"Superset keeps its metadata in {self.home / 'superset.db'}", file=sys.stderr)
            finally:
                conn.close()
        return f"sqlite:///{self.home / 'superset.db'}"

    def env(self) -> dict[str, str]:
        secret_key = _secret(self.home / "secret-key", "SUPERSET_SECRET_KEY", 42)[0]
        return {
            **os.environ,
            "SUPERSET_CONFIG_PATH": str(SUPERSET_DIR / "superset_config.py"),
            "PDE_SUPERSET_HOME": str(self.home),
            "PDE_SUPERSET_SECRET_KEY": secret_key,
            "PDE_SUPERSET_METADATA_URL": self._metadata_url,
            "FLASK_APP": "superset",
            "PYTHONPATH": str(SUPERSET_DIR),
        }

    def _bin(self, name: str) -> str:
        path = self.venv / "bin" / name
        if not path.exists():
            raise SupersetError(f"{path} is missing: install Superset first (`make superset-setup`, "
                                f"or `uv sync --frozen --project superset`)")
        return str(path)

    # -- setting up ------------------------------------------------------------------
    def prepare(self) -> None:
        """Everything before serving: state folder, reader role, metadata database, first-run set-up."""
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        conn = connect(self.data_url)
        try:
            ensure_reader_role(conn, self.reader_password())
        except Exception as exc:  # psycopg2.Error: no CREATEROLE on a server pde does not own
            raise SupersetError(f"cannot create the read-only role {READER_ROLE} on {describe(self.data_url)}: "
                                f"{str(exc).strip()}. Create it by hand (LOGIN, SELECT on the data schemas) "
                                f"with the password in {self.home / 'reader-password'}.") from exc
        finally:
            conn.close()
        self._metadata_url = self.metadata_url()
        # set up again when Superset's pinned versions or its metadata database change
        lock_hash = hashlib.sha256((SUPERSET_DIR / "uv.lock").read_bytes()).hexdigest()[:16]
        lock_stamp = f"{lock_hash} {self._metadata_url.split('@')[-1]}"
        if self.setup_marker.exists() and self.setup_marker.read_text() == lock_stamp:
            return
        password, new = self.admin_password()
        print("setting up Superset (database upgrade, admin, roles; ~40 s on first run)", flush=True)
        self._run_task("setup", extra_env={"PDE_SUPERSET_ADMIN_USER": self.admin_user,
                                           "PDE_SUPERSET_ADMIN_PASSWORD": password})
        self.setup_marker.write_text(lock_stamp)
        if new:
            print(f"Superset admin: user {self.admin_user}, password {password} "
                  f"(kept in {self.home / 'admin-password'})")

    def _run_task(self, *args: str, extra_env: dict | None = None) -> str:
        proc = subprocess.run([self._bin("python"), str(SUPERSET_DIR / "admin_tasks.py"), *args],
                              env={**self.env(), **(extra_env or {})}, capture_output=True, text=True,
                              cwd=self.home)
        if proc.returncode != 0:
            raise SupersetError(f"Superset task {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return proc.stdout

    # -- serving ---------------------------------------------------------------------
    def healthy(self) -> bool:
        import requests  # lazy: every `pde` command loads this module; only Superset's API needs requests

        try:
            return requests.get(self.base_url + "/health", timeout=3).text.strip() == "OK"
        except requests.RequestException:
            return False

    def start(self, timeout: float = 180) -> None:
        if self.pid() and self.healthy():
            return
        if not hasattr(self, "_metadata_url"):
            self.prepare()
        cmd = [self._bin("gunicorn"), "-w", str(self.workers), "-k", "gthread", "--threads", "4",
               "-b", f"{self.host}:{self.port}", "--timeout", "120", "--graceful-timeout", "5",
               "--no-control-socket", "--pid", str(self.pidfile), "superset.app:create_app()"]
        proc = self.spawn(cmd, self.env(), self.home, write_pid=False)  # gunicorn writes its own (--pid)
        self.wait_ready(proc, self.healthy, timeout, self.base_url, every=0.5)

    def session(self, user: str | None = None, password: str | None = None):
        """A requests session logged in through the API (JWT), with a CSRF token for writes."""
        import requests  # lazy: every `pde` command loads this module; only Superset's API needs requests

        s = requests.Session()
        s.headers["Accept"] = "application/json"
        r = s.post(self.base_url + "/api/v1/security/login", timeout=30, json={
            "username": user or self.admin_user, "password": password or self.admin_password()[0],
            "provider": "db", "refresh": False})
        if r.status_code != 200:
            raise SupersetError(f"login to Superset as {user or self.admin_user} failed: {r.status_code} "
                                f"{r.text[:300]}")
        s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        r = s.get(self.base_url + "/api/v1/security/csrf_token/", timeout=30)
        r.raise_for_status()
        s.headers["X-CSRFToken"] = r.json()["result"]
        s.headers["Referer"] = self.base_url
        return s

    def import_bundle(self) -> dict:
        """Build the bundle from superset/assets and import it, overwriting what was imported before."""
        sys.path.insert(0, str(SUPERSET_DIR))  # superset/ is a folder of scripts, not a package
        try:
            import build_bundle  # lazy: importable only with superset/ on the path
        finally:
            sys.path.remove(str(SUPERSET_DIR))
        uri = self.reader_uri()
        masked = uri.replace(":" + quote(self.reader_password(), safe="") + "@",
                             ":" + build_bundle.MASKED_PASSWORD + "@")
        data = build_bundle.bundle_bytes(masked, defaults=self.filter_defaults(build_bundle.default_queries()))
        (self.home / "bundle.zip").write_bytes(data)
        s = self.session()
        r = s.post(self.base_url + "/api/v1/assets/import/", timeout=300,
                   files={"bundle": ("bundle.zip", data, "application/zip")},
                   data={"passwords": json.dumps({build_bundle.database_file_name(): self.reader_password()}),
                         "overwrite": "true"})
        if r.status_code != 200:
            raise SupersetError(f"Superset refused the bundle: {r.status_code} {r.text[:2000]}")
        return r.json()

    def filter_defaults(self, queries: dict[str, str]) -> dict[str, list]:
        """The value each dashboard filter opens on, read from the data now (home currency, your league...).

        A query that fails or finds nothing leaves its filter without a default (it is logged).
        """
        out: dict[str, list] = {}
        conn = connect(self.data_url)
        try:
            for fid, sql in queries.items():
                try:
                    with conn.cursor() as cur:
                        cur.execute(sql)
                        row = cur.fetchone()
                except Exception as exc:  # noqa: BLE001 - a default is a convenience, never a reason to fail
                    conn.rollback()
                    log.warning("dashboard filter %s: no default (%s)", fid, str(exc).strip())
                    continue
                if row and row[0] is not None:
                    out[fid] = [row[0]]
        finally:
            conn.close()
        return out

    def create_viewer(self, name: str, password: str | None = None) -> str:
        if not hasattr(self, "_metadata_url"):
            self._metadata_url = self.metadata_url()
        password = password or secrets.token_urlsafe(12)
        self._run_task("viewer", name, extra_env={"PDE_SUPERSET_VIEWER_PASSWORD": password})
        return password

    def dashboards(self, s=None) -> list[dict]:
        s = s or self.session()
        r = s.get(self.base_url + "/api/v1/dashboard/", params={"q": "(page_size:100)"}, timeout=30)
        r.raise_for_status()
        return r.json()["result"]


# -- commands -------------------------------------------------------------------------
def up() -> int:
    install()
    svc = Superset.default()
    conn = connect(svc.data_url)
    try:
        migrate(conn, log=lambda m: None)  # the dashboards read views from sql/
    finally:
        conn.close()
    svc.prepare()
    already = svc.pid() is not None and svc.healthy()
    if not already:
        print(f"starting Superset on {svc.base_url} (log {svc.logfile})", flush=True)
        svc.start()
    svc.import_bundle()
    print(f"Superset: {svc.base_url}  (user {svc.admin_user}; password in {svc.home / 'admin-password'} "
          f"unless PDE_SUPERSET_ADMIN_PASSWORD is set)")
    for d in svc.dashboards():
        print(f"  {d['dashboard_title']:<20} {svc.base_url}{d['url']}")
    return 0


def down() -> int:
    svc = Superset(home=pde_home() / "superset", data_url="",
                   port=int(os.environ.get("PDE_SUPERSET_PORT", DEFAULT_PORT)))
    print("Superset stopped" if svc.stop() else "Superset was not running")
    return 0


def status() -> int:
    svc = Superset(home=pde_home() / "superset", data_url="",
                   port=int(os.environ.get("PDE_SUPERSET_PORT", DEFAULT_PORT)))
    pid = svc.pid()
    ok = pid is not None and svc.healthy()
    print(f"Superset: {'running' if ok else 'stopped'}" + (f" (pid {pid}, {svc.base_url})" if pid else ""))
    return 0 if ok else 3


def import_command() -> int:
    svc = Superset.default()
    if not (svc.pid() and svc.healthy()):
        raise SupersetError("Superset is not running: start it with `pde up superset` (which also imports)")
    svc.import_bundle()
    print(f"imported superset/assets into {svc.base_url}")
    return 0


def viewer_command(name: str, password: str | None = None) -> int:
    install(quiet=True)
    svc = Superset.default()
    svc.prepare()
    password = svc.create_viewer(name, password)
    print(f"viewer {name}: password {password}\n"
          f"They log in at {svc.base_url}/login/ and see the dashboards; they cannot edit them or open SQL Lab.")
    return 0


def _install() -> int:
    install()
    return 0


def _viewer_arguments(parser) -> None:
    parser.add_argument("name")
    parser.add_argument("--password", help="default: generated and printed")


def register(subparsers) -> None:
    """Adds ``pde superset {up,down,status,install,import,viewer NAME}`` to pde's CLI."""
    register_actions(subparsers, "superset", "dashboards: up, down, status, install, import, viewer NAME", {
        "up": Action(lambda args: up(), "install if needed, set up, serve on 127.0.0.1:8088 and import the dashboards"),
        "down": Action(lambda args: down(), "stop Superset"),
        "status": Action(lambda args: status(), "is Superset running"),
        "install": Action(lambda args: _install(), "create superset/.venv from superset/uv.lock"),
        "import": Action(lambda args: import_command(),
                         "rebuild the bundle from superset/assets and import it (overwrites)"),
        "viewer": Action(lambda args: viewer_command(args.name, args.password),
                         "create (or reset) a read-only user who sees the dashboards", _viewer_arguments),
    }, errors=(SupersetError,))


if __name__ == "__main__":
    sys.exit(service_main("superset", register))
