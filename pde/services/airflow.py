"""Airflow on this machine: ``pde up airflow`` (``make up``) starts it, ``pde down`` stops it.

Airflow runs from the project's venv (it co-installs with Scrapy) as four
processes: scheduler (with a small LocalExecutor worker pool), dag-processor,
triggerer and api-server (UI and API on 127.0.0.1 only). Everything is
configured here through environment variables; nothing is edited by hand:

- ``AIRFLOW_HOME`` is ``$PDE_HOME/airflow`` (default ``.pde/airflow``): logs,
  pid files, generated secrets (0600).
- The DAGs are the project's ``dags/`` folder.
- Airflow's metadata lives in its own database (``airflow``, or
  ``$PDE_AIRFLOW_DB``) on the same PostgreSQL server as the data, created here
  if missing. The tasks write the data to ``DATABASE_URL`` (or the embedded
  server).
- Login: user ``admin`` (``$PDE_AIRFLOW_USER``); the password is
  ``$PDE_AIRFLOW_PASSWORD``, else generated on first run, kept in
  ``$PDE_HOME/airflow/passwords.json`` and printed by ``pde up airflow``.

Settings: ``PDE_AIRFLOW_PORT`` (8080), ``PDE_AIRFLOW_PARALLELISM`` (task slots, 4),
``PDE_AIRFLOW_LOG_PORT`` (8793) and ``PDE_AIRFLOW_TRIGGER_LOG_PORT`` (8794): the log
servers, which pde starts itself on ``PDE_AIRFLOW_LOG_HOST`` (127.0.0.1) because
Airflow's own bind every interface. Give a second checkout other ports and a
second ``PDE_HOME`` and both run side by side.

CeleryExecutor (``pde up --celery`` or ``PDE_AIRFLOW_EXECUTOR=celery``): also a Redis broker
(Debian's ``redis-server`` on 127.0.0.1:``PDE_REDIS_PORT``, 6379) and one Celery worker on this
machine; ``PDE_CELERY_BROKER_URL`` points at a broker elsewhere instead (then no Redis is started).
``PDE_CELERY_CONCURRENCY``: task slots per worker (default: ``PDE_AIRFLOW_PARALLELISM``).
Workers on other machines run ``pde airflow worker`` with the same settings (README: More than one machine).

    pde up airflow             start (migrating the metadata database first)
    pde down airflow           stop every process it started
    pde airflow status         what runs, where
    pde airflow cli -- ARGS    the airflow command with this configuration,
                               e.g. pde airflow cli -- dags trigger zillow_listings
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2

from pde.db import PROJECT_ROOT, database_url, describe, pde_home
from pde.envs import airflow_python
from pde.services import Action, register_actions, service_main, start_database

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server", "log-server", "trigger-log-server")
DEFAULT_PORT = 8080
DEFAULT_LOG_PORT = 8793
DEFAULT_TRIGGER_LOG_PORT = 8794
DEFAULT_DB = "airflow"
HOST = "127.0.0.1"


class AirflowServiceError(RuntimeError):
    """A problem a user can act on; the message says what to do."""


# -- where things are ---------------------------------------------------------------
def home() -> Path:
    return pde_home() / "airflow"


def port() -> int:
    return int(os.environ.get("PDE_AIRFLOW_PORT") or DEFAULT_PORT)


def log_port() -> int:
    return int(os.environ.get("PDE_AIRFLOW_LOG_PORT") or DEFAULT_LOG_PORT)


def trigger_log_port() -> int:
    return int(os.environ.get("PDE_AIRFLOW_TRIGGER_LOG_PORT") or DEFAULT_TRIGGER_LOG_PORT)


def log_host() -> str:
    """Where the log servers listen: loopback unless remote workers need them (then protect it: README)."""
    return os.environ.get("PDE_AIRFLOW_LOG_HOST") or HOST


def base_url() -> str:
    return f"http://{HOST}:{port()}"


def user() -> str:
    return os.environ.get("PDE_AIRFLOW_USER") or "admin"


# -- CeleryExecutor (issue 17) ---------------------------------------------------------
def celery() -> bool:
    """Run tasks on Celery workers (this machine's, and any others') instead of the scheduler's pool?"""
    return (os.environ.get("PDE_AIRFLOW_EXECUTOR") or "local").strip().lower() in ("celery", "celeryexecutor")


def redis_port() -> int:
    return int(os.environ.get("PDE_REDIS_PORT") or 6379)


def broker_url() -> str:
    return os.environ.get("PDE_CELERY_BROKER_URL") or f"redis://{HOST}:{redis_port()}/0"


def components() -> tuple[str, ...]:
    """What ``start`` runs, in start order: the broker before the scheduler, the worker last."""
    if not celery():
        return COMPONENTS
    local_broker = () if os.environ.get("PDE_CELERY_BROKER_URL") else ("redis",)
    return (*local_broker, *COMPONENTS, "celery-worker")


def worker_command(hostname: str | None = None) -> list[str]:
    """A Celery worker; its task logs go to the shared log folder, so it serves none over HTTP."""

    name = hostname or os.environ.get("PDE_CELERY_HOSTNAME") or f"pde@{socket.gethostname()}"
    return [airflow_python(), "-m", "airflow", "celery", "worker", "--celery-hostname", name, "--skip-serve-logs"]


def _private_json(path: Path, make) -> dict:
    """A JSON file only we may read, created with ``make()`` on first use."""
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    data = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    return data


def generated_secrets() -> dict[str, str]:
    """Keys Airflow's components must share: generated once, kept in AIRFLOW_HOME (0600)."""
    return _private_json(home() / "secrets.json", lambda: {
        "fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "api_secret_key": secrets.token_urlsafe(32),
        "jwt_secret": secrets.token_urlsafe(32),
    })


def password_file() -> Path:
    return home() / "passwords.json"


def login() -> tuple[str, str]:
    """(user, password): $PDE_AIRFLOW_PASSWORD, else the one generated on first run."""
    name = user()
    given = os.environ.get("PDE_AIRFLOW_PASSWORD")
    passwords = _private_json(password_file(), lambda: {})
    if given or name not in passwords:
        passwords[name] = given or secrets.token_urlsafe(12)
        fd = os.open(password_file(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(passwords, f)
    return name, passwords[name]


# -- the metadata database ------------------------------------------------------------
def metadata_url(data_url: str) -> str:
    """Airflow's SQLAlchemy URL: database ``airflow`` on the data's server, same credentials."""
    if os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    parts = urlsplit(data_url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise AirflowServiceError(f"DATABASE_URL must be a postgresql:// URL, not {describe(data_url)}")
    name = os.environ.get("PDE_AIRFLOW_DB") or DEFAULT_DB
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/" + quote(name)))


def ensure_metadata_database(data_url: str) -> str:
    """Create Airflow's database on the data's server if it is missing; returns its SQLAlchemy URL."""
    url = metadata_url(data_url)
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql"):
        return url  # configured by hand (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN): not ours to create
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(urlsplit(data_url)._replace(scheme="postgresql", path="/postgres"))
    try:
        conn = psycopg2.connect(maintenance, connect_timeout=10)
    except psycopg2.OperationalError:
        conn = psycopg2.connect(data_url, connect_timeout=10)  # no access to "postgres": use the data db
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                try:
                    cur.execute(f'CREATE DATABASE "{name}"')
                except psycopg2.Error as exc:
                    raise AirflowServiceError(
                        f"Airflow keeps its state in a database {name!r} on the same server as the data "
                        f"({describe(data_url)}), and creating it failed: {str(exc).strip()}. Create it "
                        f"(CREATE DATABASE \"{name}\" OWNER <the user in DATABASE_URL>), or set "
                        "PDE_AIRFLOW_DB to a database that user may use.") from exc
    finally:
        conn.close()
    return url


# -- the environment every Airflow process gets -----------------------------------------
def airflow_env(data_url: str, meta_url: str | None = None, *, base: dict | None = None) -> dict[str, str]:
    """The complete configuration of this Airflow, as environment variables."""
    keys = generated_secrets()
    h = home()
    env = dict(os.environ if base is None else base)
    env.update({
        "AIRFLOW_HOME": str(h),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("PDE_AIRFLOW_PARALLELISM", "4"),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": os.environ.get("PDE_AIRFLOW_PARALLELISM", "4"),
        "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url()}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user()}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file()),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url or metadata_url(data_url),
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(port()),
        "AIRFLOW__API__BASE_URL": base_url(),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(h / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port()),
        # task logs show crawled rows: readable by the user only
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS": "0o700",
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS": "0o600",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
        "AIRFLOW__SECRETS__USE_CACHE": "True",
        "DATABASE_URL": data_url,
        "PDE_HOME": str(pde_home()),
        "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
        "PYTHONUNBUFFERED": "1",
    })
    if celery():  # the result backend is Airflow's own database (SQLAlchemy URL with Celery's db+ prefix)
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": broker_url(),
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + (meta_url or metadata_url(data_url)),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": (os.environ.get("PDE_CELERY_CONCURRENCY")
                                                    or os.environ.get("PDE_AIRFLOW_PARALLELISM", "4")),
        })
    return env


# -- processes ------------------------------------------------------------------------
def _pidfile(component: str) -> Path:
    return home() / "run" / f"{component}.pid"


def _logfile(component: str) -> Path:
    return home() / "logs" / f"{component}.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def pid(component: str) -> int | None:
    f = _pidfile(component)
    if not f.exists():
        return None
    try:
        p = int(f.read_text().split()[0])
    except (ValueError, IndexError):
        return None
    return p if _alive(p) else None


def healthy(timeout: float = 3) -> dict | None:
    try:
        with urllib.request.urlopen(f"{base_url()}/api/v2/monitor/health", timeout=timeout) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _airflow_package() -> Path:
    """Airflow's package folder, from this interpreter or (``make up`` runs the lean .venv) Airflow's own."""
    spec = importlib.util.find_spec("airflow")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    code = "import importlib.util as u; print(next(iter(u.find_spec('airflow').submodule_search_locations)))"
    proc = subprocess.run([airflow_python(), "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AirflowServiceError(f"Airflow is not installed in {airflow_python()}: run `make setup` "
                                  f"(it builds .venv-airflow).\n{proc.stderr.strip()[-500:]}")
    return Path(proc.stdout.strip())


def _migration_heads() -> set[str]:
    """The newest migration revision(s) of the installed Airflow, read from its files (no import)."""
    folder = _airflow_package() / "migrations" / "versions"
    revisions, parents = set(), set()
    for f in folder.glob("*.py"):
        text = f.read_text(errors="replace")
        if m := re.search(r'^revision\s*=\s*"(\w+)"', text, re.M):
            revisions.add(m.group(1))
        if m := re.search(r"^down_revision\s*=\s*(.+)$", text, re.M):
            parents.update(re.findall(r'"(\w+)"', m.group(1)))
    return revisions - parents


def metadata_is_current(meta_url: str) -> bool:
    """Is Airflow's database already at the installed Airflow's version (then `db migrate` can be skipped)?"""
    url = urlunsplit(urlsplit(meta_url)._replace(scheme="postgresql"))
    try:
        with psycopg2.connect(url, connect_timeout=10) as conn, conn.cursor() as cur:
            cur.execute("SELECT version_num FROM alembic_version")
            current = {r[0] for r in cur.fetchall()}
        conn.close()
    except psycopg2.Error:
        return False
    return bool(current) and current == _migration_heads()


def migrate_metadata(env: dict[str, str]) -> None:
    proc = subprocess.run([airflow_python(), "-m", "airflow", "db", "migrate"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    (home() / "logs").mkdir(parents=True, exist_ok=True)
    (home() / "logs" / "db-migrate.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise AirflowServiceError(
            "`airflow db migrate` failed:\n" + "\n".join((proc.stdout + proc.stderr).splitlines()[-20:]))


def start(timeout: float = 180) -> dict:
    """Start whatever part is not running; wait until the API answers. Returns url/user/password."""
    data_url = start_database()
    meta = ensure_metadata_database(data_url)
    env = airflow_env(data_url, meta)
    name, password = login()
    running = {c: pid(c) for c in components()}
    if not all(running.values()) and not (meta.startswith("postgresql") and metadata_is_current(meta)):
        print(f"Airflow: metadata in {describe(meta)}; migrating it", flush=True)
        migrate_metadata(env)
    for component in components():
        if running[component]:
            continue
        log = _logfile(component)
        for folder in (home(), log.parent):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        _pidfile(component).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "ab") as out:
            proc = subprocess.Popen(
                _command(component), env=env, cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_default_signals,
            )
        _pidfile(component).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [c for c in components() if pid(c) is None]
        if dead:
            c = dead[0]
            stop()
            raise AirflowServiceError(f"Airflow's {c} stopped while starting. Its log "
                                      f"({_logfile(c)}):\n{_tail(_logfile(c))}")
        if healthy():
            return {"url": base_url(), "user": name, "password": password}
        time.sleep(1)
    stop()
    raise AirflowServiceError(f"Airflow's API did not answer on {base_url()} within {timeout:.0f}s. "
                              f"Log: {_logfile('api-server')}\n{_tail(_logfile('api-server'))}")


def _command(component: str) -> list[str]:
    """How each part starts; scheduler and triggerer without the log servers they would bind to 0.0.0.0."""
    py = airflow_python()
    if component == "redis":  # CeleryExecutor's broker, on loopback only
        (home() / "redis").mkdir(parents=True, exist_ok=True)
        return ["redis-server", "--bind", HOST, "--port", str(redis_port()), "--protected-mode", "yes",
                "--save", "", "--appendonly", "no", "--dir", str(home() / "redis")]
    if component == "celery-worker":
        return worker_command()
    if component in ("scheduler", "triggerer"):
        return [py, "-m", "airflow", component, "--skip-serve-logs"]
    if component in ("log-server", "trigger-log-server"):
        port = log_port() if component == "log-server" else trigger_log_port()
        return [py, "-c", f"from pde.services.airflow import serve_logs; serve_logs({port})"]
    return [py, "-m", "airflow", component]


def serve_logs(port: int) -> None:
    """Airflow's log server app, bound to ``log_host()`` (Airflow's own serve_logs binds every interface)."""
    import uvicorn  # lazy: runs in Airflow's environment, which has it; pde's CLI does not need it

    uvicorn.run("airflow.utils.serve_logs.log_server:get_app", factory=True, host=log_host(), port=port,
                log_config=None, access_log=False)


def _default_signals() -> None:
    """Children start with default SIGINT/SIGTERM, even when we run in the background."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop(timeout: float = 45) -> list[str]:
    """Stop every component (with its workers and running tasks); returns what was stopped."""
    stopped = []
    for component in reversed(("redis", *COMPONENTS, "celery-worker")):
        p = pid(component)
        if p is None:
            _pidfile(component).unlink(missing_ok=True)
            continue
        try:
            os.killpg(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
        stopped.append((component, p))
    deadline = time.monotonic() + timeout
    for component, p in stopped:
        while _group_alive(p) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(p):
            try:
                os.killpg(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while _group_alive(p):
                time.sleep(0.1)
        _pidfile(component).unlink(missing_ok=True)
    return [c for c, _ in stopped]


def _group_alive(pgid: int) -> bool:
    """Does any process of the group still run (zombies waiting to be reaped do not count)?"""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


# -- the commands -----------------------------------------------------------------------
def up() -> int:
    info = start()
    print(f"""Airflow is running: {info['url']}
  login     {info['user']} / {info['password']}
  DAGs      {PROJECT_ROOT / 'dags'} (one per spider; crawls in dags/crawls.yaml)
  logs      {home() / 'logs'}{_celery_lines()}
Stop it with `make down` (pde down).""")
    return 0


def _celery_lines() -> str:
    if not celery():
        return ""
    return (f"\n  executor  CeleryExecutor: broker {describe(broker_url())}, one worker here"
            "\n            (more machines: `pde airflow worker` there; README: More than one machine)")


def worker(hostname: str | None = None) -> int:
    """Run a Celery worker in the foreground (on a worker machine: same DATABASE_URL, broker and secrets)."""

    if not celery():
        raise AirflowServiceError("a Celery worker needs PDE_AIRFLOW_EXECUTOR=celery (and PDE_CELERY_BROKER_URL "
                                  "on a machine other than the main one).")
    data_url = database_url()
    env = airflow_env(data_url, metadata_url(data_url))
    return subprocess.call(worker_command(hostname), env=env, cwd=PROJECT_ROOT)


def down() -> int:
    stopped = stop()
    print(f"Airflow stopped ({', '.join(stopped)})" if stopped else "Airflow was not running")
    return 0


def status() -> int:
    pids = {c: pid(c) for c in components()}
    health = healthy() if any(pids.values()) else None
    for c, p in pids.items():
        state = (health or {}).get(c.replace("-", "_"), {}).get("status")
        print(f"  {c:<14} {'pid ' + str(p) if p else 'stopped':<12} {state or ''}")
    ok = all(pids.values()) and health is not None
    print(f"Airflow: {'running on ' + base_url() if ok else 'not (fully) running'}")
    return 0 if ok else 3


def cli(args: list[str]) -> int:
    """Run the ``airflow`` command with this project's configuration."""
    data_url = database_url()
    env = airflow_env(data_url, ensure_metadata_database(data_url))
    return subprocess.call([airflow_python(), "-m", "airflow", *args], env=env, cwd=PROJECT_ROOT)


def _cli_args(args) -> list[str]:
    return [a for a in args.args if a != "--"] if args.args[:1] == ["--"] else args.args


def register(subparsers) -> None:
    """Adds ``pde airflow {up,down,status,cli}`` to pde's CLI."""
    register_actions(subparsers, "airflow", "the scheduler: up, down, status, cli -- <airflow args>", {
        "up": Action(lambda args: up(), f"start Airflow on {HOST} (UI and API), migrating its database first"),
        "down": Action(lambda args: down(), "stop every Airflow process pde started"),
        "status": Action(lambda args: status(), "which Airflow processes run, and their health"),
        "worker": Action(lambda args: worker(args.hostname), "run a Celery worker here (PDE_AIRFLOW_EXECUTOR=celery)",
                         lambda p: p.add_argument("--hostname", help="its Celery name (default pde@<this host>)")),
        "cli": Action(lambda args: cli(_cli_args(args)), "run the airflow command with this configuration",
                      lambda p: p.add_argument("args", nargs=argparse.REMAINDER)),
    }, errors=(AirflowServiceError,))


def main(argv: list[str] | None = None) -> int:
    return service_main("airflow", register, argv)


if __name__ == "__main__":
    sys.exit(main())
