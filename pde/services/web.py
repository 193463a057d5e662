"""pde's home page (pde/web/): served by uvicorn on 127.0.0.1, from .venv-airflow (Starlette, Jinja2 and uvicorn
are the ``web`` dependency group, synced there), so crawls never load them.

    pde up web                 start it (plain `pde up` / make up too); prints the URL and the login
    pde down web               stop it (plain `pde down` too)
    pde web adduser NAME [--role viewer|admin]   add a user (password from PDE_WEB_PASSWORD or a prompt)
    pde web serve [--host H] [--port P]           in the foreground (docker-compose.yml's web service)

Port: ``PDE_WEB_PORT`` (default 8000). State (pid, log, users, session key) in ``$PDE_HOME/web``.
The first start creates the user ``admin`` with Superset's admin password (PDE_SUPERSET_ADMIN_PASSWORD or
``$PDE_HOME/superset/admin-password``), so one password opens both.
"""

from __future__ import annotations

import getpass
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pde.db import PROJECT_ROOT, pde_home
from pde.envs import airflow_python
from pde.services import Action, migrated_database, register_actions
from pde.services.process import Background
from pde.services.superset import _secret
from pde.web import users

DEFAULT_PORT = 8000


class WebError(RuntimeError):
    """A problem a user can act on; the message says what to do."""


@dataclass
class Web(Background):
    """The home page server: its state folder and where it serves."""

    title = "the home page"
    error = WebError

    home: Path
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"

    @classmethod
    def default(cls) -> Web:
        return cls(home=pde_home() / "web", port=int(os.environ.get("PDE_WEB_PORT") or DEFAULT_PORT))

    @property
    def pidfile(self) -> Path:
        return self.home / "web.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "web.log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=3) as r:
                return r.status == 200 and r.read() == b"ok"
        except (urllib.error.URLError, OSError):
            return False

    def start(self, database_url: str, timeout: float = 60) -> None:
        if self.pid() and self.healthy():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        self.refuse_taken_port(self.host, self.port, "PDE_WEB_PORT")
        env = {**os.environ, "DATABASE_URL": database_url, "PDE_HOME": str(pde_home())}
        proc = self.spawn(uvicorn_command(self.host, self.port), env, PROJECT_ROOT)
        self.wait_ready(proc, self.healthy, timeout, self.base_url)


def uvicorn_command(host: str, port: int) -> list[str]:
    return [airflow_python(), "-m", "uvicorn", "pde.web.app:create_app", "--factory", "--host", host,
            "--port", str(port), "--no-server-header", "--log-level", "info"]


def first_admin() -> str | None:
    """With no users yet: the user ``admin`` with Superset's admin password. Returns where that password is."""
    if users.load():
        return None
    path = pde_home() / "superset" / "admin-password"
    password, _ = _secret(path, "PDE_SUPERSET_ADMIN_PASSWORD")
    users.add_user("admin", password, "admin")
    return "PDE_SUPERSET_ADMIN_PASSWORD" if os.environ.get("PDE_SUPERSET_ADMIN_PASSWORD") else str(path)


def up() -> int:
    url = migrated_database()  # the page reads platform.runs; a fresh database has none yet
    svc = Web.default()
    where = first_admin()
    if not (svc.pid() and svc.healthy()):
        print(f"starting the home page on {svc.base_url} (log {svc.logfile})", flush=True)
        svc.start(url)
    print(f"Home page: {svc.base_url}/")
    if where:
        print(f"  user admin, password in {where} (the same as Superset's); more: `pde web adduser NAME`")
    return 0


def serve(args) -> int:
    """In the foreground, for a container (docker-compose.yml's ``web``) or a service manager; Ctrl-C stops it."""
    url = migrated_database()  # the page reads platform.runs; a fresh database has none yet
    where = first_admin()
    print(f"Home page: http://{args.host}:{args.port}/ (Ctrl-C stops it)"
          + (f"; user admin, password in {where}" if where else ""), flush=True)
    cmd = uvicorn_command(args.host, args.port)
    os.execve(cmd[0], cmd, {**os.environ, "DATABASE_URL": url, "PDE_HOME": str(pde_home())})


def _serve_args(p) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; 0.0.0.0 only inside a container whose port is "
                        "published on loopback, or behind the HTTPS proxy)")
    p.add_argument("--port", type=int, default=int(os.environ.get("PDE_WEB_PORT") or DEFAULT_PORT),
                   help="port (default PDE_WEB_PORT or 8000)")


def down() -> int:
    print("home page stopped" if Web.default().stop() else "home page was not running")
    return 0


def status() -> int:
    svc = Web.default()
    pid = svc.pid()
    ok = pid is not None and svc.healthy()
    print(f"home page: {'running' if ok else 'stopped'}" + (f" (pid {pid}, {svc.base_url})" if pid else ""))
    return 0 if ok else 3


def adduser(args) -> int:
    password = os.environ.get("PDE_WEB_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise users.UserError("no password: set PDE_WEB_PASSWORD, or run this in a terminal to be asked")
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise users.UserError("the two passwords differ; nothing was changed")
    users.add_user(args.name, password, args.role)
    print(f"user {args.name} ({args.role}) saved in {users.users_file()}"
          + ("; a viewer sees the dashboards and exports, not the operations" if args.role == "viewer" else ""))
    return 0


def _adduser_args(p) -> None:
    p.add_argument("name")
    p.add_argument("--role", choices=users.ROLES, default="viewer", help="viewer (default) or admin")


def register(subparsers) -> None:
    """Adds `pde web adduser|up|down|status|serve`."""
    register_actions(subparsers, "web", "the home page: up, down, status, adduser NAME", {
        "up": Action(lambda args: up(), "serve the home page on 127.0.0.1 (PDE_WEB_PORT, 8000)"),
        "down": Action(lambda args: down(), "stop it"),
        "status": Action(lambda args: status(), "is it running"),
        "serve": Action(serve, "serve in the foreground (containers, service managers)", _serve_args),
        "adduser": Action(adduser, "add or replace a user (password from PDE_WEB_PASSWORD or a prompt)",
                          _adduser_args),
    }, errors=(WebError, users.UserError))


if __name__ == "__main__":
    from pde.services import service_main

    sys.exit(service_main("web", register))
