"""Long-running services pde starts on this machine: ``pde up [airflow|superset|jupyter|web|proxy]``, ``pde down``.

Each service is a module here with ``up()``, ``down()`` and ``status()``
(exit codes); :func:`register` adds the ``pde up``, ``pde down`` and
``pde status`` commands that drive them (``make up`` / ``make down``), and
adds each module's own commands (its ``register(subparsers)``: ``pde airflow
...``, ``pde superset ...``).

``up`` starts the embedded PostgreSQL when it is the database and was not
running; ``down`` stops it again in that case, after the services.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pde.db import DatabaseError, EmbeddedPostgres, connect, database_url, pde_home
from pde.migrate import migrate

SERVICES = ("airflow", "superset", "jupyter", "web", "proxy")
#: what a bare `pde up` starts; JupyterLab starts on request (`pde notebook`), `pde down` stops it too;
#: the HTTPS proxy only when PDE_LISTEN asks for the home network (pde/services/proxy.py)
DEFAULT_UP = ("airflow", "superset", "web")


def default_up() -> tuple[str, ...]:
    return DEFAULT_UP + (("proxy",) if os.environ.get("PDE_LISTEN", "").strip() else ())


def _module(name: str):
    try:
        return importlib.import_module(f"pde.services.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"pde.services.{name}":
            return None
        raise


def available() -> list[str]:
    return [s for s in SERVICES if (m := _module(s)) is not None and hasattr(m, "up")]


def _marker():
    return pde_home() / "run" / "postgres-started-by-up"


def start_database() -> str:
    """The data database URL; the embedded server is started (and remembered) if needed."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    pg = EmbeddedPostgres.default()
    was_running = pg.is_running()
    url = database_url(start=True)
    if not was_running:
        _marker().parent.mkdir(parents=True, exist_ok=True)
        _marker().write_text(f"{pg.port}\n")
    return url


def migrated_database() -> str:
    """start_database(), then its schema brought up to date: the pages and notebooks read tables a fresh database
    does not have yet."""
    url = start_database()
    conn = connect(url)
    try:
        migrate(conn, log=lambda m: None)
    finally:
        conn.close()
    return url


def stop_database_if_started() -> bool:
    if not _marker().exists():
        return False
    stopped = EmbeddedPostgres.default().stop()
    _marker().unlink(missing_ok=True)
    return stopped


def _names(args, default: tuple[str, ...] | None = None) -> list[str]:
    unknown = [n for n in args.services if n not in SERVICES]
    if unknown:
        raise SystemExit(f"pde: unknown service(s) {', '.join(unknown)}; services: {', '.join(SERVICES)}")
    return args.services or [n for n in available() if default is None or n in default]


def cmd_up(args) -> int:
    names = _names(args, default_up())
    if getattr(args, "celery", False):
        os.environ["PDE_AIRFLOW_EXECUTOR"] = "celery"
    code = 0
    for name in names:
        try:
            code = max(code, _module(name).up() or 0)
        except RuntimeError as exc:  # the service's own errors say what to do
            print(f"pde: {name}: {exc}", file=sys.stderr)
            code = 2
    return code


def cmd_down(args) -> int:
    names = _names(args)
    for name in reversed(names):
        _module(name).down()
    if not args.services or set(args.services) >= set(available()):
        if stop_database_if_started():
            print("embedded PostgreSQL stopped (pde up had started it)")
    return 0


def cmd_status(args) -> int:
    code = 0
    for name in _names(args):
        code = max(code, _module(name).status() or 0)
    return code


def register(subparsers) -> None:
    """Add ``up``, ``down`` and ``status`` to the ``pde`` command."""
    choices = list(SERVICES)
    up = subparsers.add_parser("up", help="start services on 127.0.0.1 (default: " + ", ".join(DEFAULT_UP)
                               + "; and the HTTPS proxy when PDE_LISTEN is set)")
    up.add_argument("services", nargs="*", metavar="SERVICE",
                    help="any of: " + ", ".join(choices) + " (default: " + ", ".join(DEFAULT_UP) + ", proxy with "
                         "PDE_LISTEN)")
    up.add_argument("--celery", action="store_true",
                    help="Airflow's CeleryExecutor: also Redis and a worker here (= PDE_AIRFLOW_EXECUTOR=celery)")
    up.set_defaults(func=cmd_up)
    down = subparsers.add_parser("down", help="stop what `pde up` started (default: all)")
    down.add_argument("services", nargs="*", metavar="SERVICE")
    down.set_defaults(func=cmd_down)
    st = subparsers.add_parser("status", help="which services are running, and where")
    st.add_argument("services", nargs="*", metavar="SERVICE")
    st.set_defaults(func=cmd_status)
    for name in SERVICES:
        module = _module(name)
        if module is not None and hasattr(module, "register"):
            module.register(subparsers)


@dataclass
class Action:
    """One ``pde <service> <action>`` subcommand: what it runs (returns the exit code) and its help."""

    run: Callable[[argparse.Namespace], int | None]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


def register_actions(subparsers, service: str, help: str, actions: dict[str, Action],
                     errors: tuple[type[Exception], ...] = ()) -> argparse.ArgumentParser:
    """Add ``pde <service> <action>``; a service's own errors (and DatabaseError) print as ``pde: ...``, exit 2."""
    parser = subparsers.add_parser(service, help=help)
    sub = parser.add_subparsers(dest="action", required=True)
    for name, action in actions.items():
        action_parser = sub.add_parser(name, help=action.help)
        if action.arguments is not None:
            action.arguments(action_parser)

    def dispatch(args) -> int:
        try:
            return actions[args.action].run(args) or 0
        except (*errors, DatabaseError) as exc:  # they say what to do
            print(f"pde: {exc}", file=sys.stderr)
            return 2

    parser.set_defaults(func=dispatch)
    return parser


def service_main(service: str, register_service: Callable, argv: list[str] | None = None) -> int:
    """``python -m pde.services.<service> <action>``: the same commands as ``pde <service> <action>``."""
    parser = argparse.ArgumentParser(prog=f"python -m pde.services.{service}")
    register_service(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([service, *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
