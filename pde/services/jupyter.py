"""JupyterLab for pde: the notebooks in notebooks/, on 127.0.0.1, with pde importable.

JupyterLab, papermill and matplotlib live in their own environment
(``.venv-notebook``, the ``notebook`` dependency group of uv.lock), so ``scrapy
crawl`` never loads them. State (the token, the log, Jupyter's runtime files)
is kept in ``$PDE_HOME/jupyter``. The kernel gets ``DATABASE_URL``, so
``from pde import data`` reads the same database as the crawls (as the
read-only role).

    pde notebook               (= pde up jupyter; make notebook) start, print the URL with its token
    pde down jupyter           stop it (plain `pde down` stops it too)

Port: ``PDE_JUPYTER_PORT`` (default 8888). Token: ``PDE_JUPYTER_TOKEN``, else
generated once and kept in ``$PDE_HOME/jupyter/token``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pde.db import PROJECT_ROOT, pde_home
from pde.services import migrated_database
from pde.services.process import Background
from pde.services.superset import _secret

VENV = ".venv-notebook"
DEFAULT_PORT = 8888
NOTEBOOKS = PROJECT_ROOT / "notebooks"


class JupyterError(RuntimeError):
    """A problem a user can act on; the message says what to do."""


def venv_dir() -> Path:
    return Path(os.environ.get("PDE_NOTEBOOK_VENV") or PROJECT_ROOT / VENV)


def install(quiet: bool = False) -> Path:
    """`uv sync --frozen --group notebook` into .venv-notebook when it is missing or older than uv.lock."""
    venv = venv_dir()
    marker = venv / ".pde-synced"
    lock = PROJECT_ROOT / "uv.lock"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime and (venv / "bin" / "jupyter-lab").exists():
        return venv
    uv = shutil.which("uv")
    if uv is None:
        if (venv / "bin" / "jupyter-lab").exists():
            return venv
        raise JupyterError("uv is not installed: run scripts/system-deps.sh (or `pip install uv`), then try again")
    if not quiet:
        print(f"installing JupyterLab into {venv} (uv sync --frozen --group notebook)", flush=True)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    proc = subprocess.run([uv, "sync", "--frozen", "--group", "notebook"], cwd=PROJECT_ROOT, env=env,
                          capture_output=quiet, text=True)
    if proc.returncode != 0:
        raise JupyterError(f"installing JupyterLab failed (uv sync --frozen --group notebook):\n"
                           f"{(proc.stderr or '')[-2000:]}")
    marker.touch()
    return venv


@dataclass
class Jupyter(Background):
    """One JupyterLab server: its state folder and where it serves."""

    title = "JupyterLab"
    error = JupyterError

    home: Path
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    root: Path = NOTEBOOKS

    @classmethod
    def default(cls) -> Jupyter:
        return cls(home=pde_home() / "jupyter", port=int(os.environ.get("PDE_JUPYTER_PORT", DEFAULT_PORT)))

    @property
    def pidfile(self) -> Path:
        return self.home / "jupyter.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "jupyter.log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def token(self) -> str:
        if os.environ.get("PDE_JUPYTER_TOKEN"):
            return os.environ["PDE_JUPYTER_TOKEN"]

        return _secret(self.home / "token", nbytes=24)[0]

    def url(self) -> str:
        return f"{self.base_url}/lab?token={self.token()}"

    def healthy(self) -> bool:
        """The server answers its API with our token."""
        req = urllib.request.Request(f"{self.base_url}/api/status", headers={"Authorization": f"token {self.token()}"})
        try:
            with urllib.request.urlopen(req, timeout=3) as r:
                return r.status == 200 and "started" in json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def env(self, database_url: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": database_url,
            "PDE_HOME": str(pde_home()),
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "IPYTHONDIR": str(self.home / "ipython"),
        }

    def start(self, database_url: str, timeout: float = 90) -> None:
        if self.pid() and self.healthy():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)

        self.refuse_taken_port(self.host, self.port, "PDE_JUPYTER_PORT")
        python = venv_dir() / "bin" / "python"
        if not python.exists():
            raise JupyterError(f"{python} is missing: run `make setup` (or `pde notebook`, which installs it)")
        cmd = [str(python), "-m", "jupyterlab", "--no-browser", f"--ip={self.host}", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={self.root}",
               f"--IdentityProvider.token={self.token()}", "--ServerApp.allow_remote_access=False",
               # offline and quiet: no extension catalogue from PyPI, no update checks
               "--LabApp.extension_manager=readonly",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and CI run as root; the server still binds loopback only
        proc = self.spawn(cmd, self.env(database_url), self.root)
        self.wait_ready(proc, self.healthy, timeout, self.base_url, every=0.3,
                        hint=f"; is port {self.port} taken? Set PDE_JUPYTER_PORT")

def up() -> int:
    install()
    url = migrated_database()
    svc = Jupyter.default()
    if not (svc.pid() and svc.healthy()):
        print(f"starting JupyterLab on {svc.base_url} (log {svc.logfile})", flush=True)
        svc.start(url)
    print(f"JupyterLab: {svc.url()}")
    print(f"  notebooks in {svc.root}; stop with `pde down jupyter` (or make down)")
    return 0


def down() -> int:
    print("JupyterLab stopped" if Jupyter.default().stop() else "JupyterLab was not running")
    return 0


def status() -> int:
    svc = Jupyter.default()
    pid = svc.pid()
    ok = pid is not None and svc.healthy()
    print(f"JupyterLab: {'running' if ok else 'stopped'}" + (f" (pid {pid}, {svc.base_url})" if pid else ""))
    return 0 if ok else 3


def register(subparsers) -> None:
    """Adds `pde notebook` (start JupyterLab, print its URL)."""
    p = subparsers.add_parser("notebook", help="start JupyterLab on 127.0.0.1 with the notebooks; prints the URL")
    p.set_defaults(func=lambda args: _up_with_messages())


def _up_with_messages() -> int:
    try:
        return up()
    except JupyterError as exc:
        print(f"pde: jupyter: {exc}", file=sys.stderr)
        return 2
