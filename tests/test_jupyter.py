"""`pde notebook` / `pde down jupyter` for real: JupyterLab from .venv-notebook on 127.0.0.1, token required."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest

from pde.db import free_port
from tests.conftest import ROOT

PDE = str(ROOT / ".venv" / "bin" / "pde")


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def notebook_env(pg_url, tmp_path):
    if not (ROOT / ".venv-notebook" / "bin" / "jupyter-lab").exists():
        pytest.fail(".venv-notebook is missing: run `make setup` (it syncs the notebook group)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDE_JUPYTER")}
    env.update({"DATABASE_URL": pg_url, "PDE_HOME": str(tmp_path / "home"), "PDE_JUPYTER_PORT": str(free_port())})
    yield env
    subprocess.run([PDE, "down", "jupyter"], cwd=ROOT, env=env, capture_output=True, timeout=60)


def test_pde_notebook_starts_jupyterlab_on_loopback_with_a_token_and_pde_down_stops_it(notebook_env):
    port = notebook_env["PDE_JUPYTER_PORT"]
    up = subprocess.run([PDE, "notebook"], cwd=ROOT, env=notebook_env, capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    m = re.search(rf"JupyterLab: http://127\.0\.0\.1:{port}/lab\?token=(\S+)", up.stdout)
    assert m, up.stdout
    token = m.group(1)
    home = ROOT / notebook_env["PDE_HOME"]
    assert (home / "jupyter" / "token").read_text().strip() == token
    pid = int((home / "jupyter" / "jupyter.pid").read_text())

    status, body = _get(f"http://127.0.0.1:{port}/api", token)
    assert status == 200 and "version" in json.loads(body)
    # the notebooks are what it serves, and nothing is served without the token
    status, body = _get(f"http://127.0.0.1:{port}/api/contents", token)
    assert status == 200 and {"housing.ipynb", "fantasy.ipynb", "finance.ipynb"} <= {
        c["name"] for c in json.loads(body)["content"]}
    assert _get(f"http://127.0.0.1:{port}/api/contents")[0] == 403
    # bound to loopback only: no socket of the server listens on another address
    listening = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    assert listening.strip() and all("127.0.0.1:" in line for line in listening.strip().splitlines()), listening

    again = subprocess.run([PDE, "notebook"], cwd=ROOT, env=notebook_env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and token in again.stdout and "starting" not in again.stdout

    down = subprocess.run([PDE, "down", "jupyter"], cwd=ROOT, env=notebook_env, capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == 0 and "JupyterLab stopped" in down.stdout
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=3)
    status = subprocess.run([PDE, "status", "jupyter"], cwd=ROOT, env=notebook_env, capture_output=True, text=True)
    assert status.returncode == 3 and "JupyterLab: stopped" in status.stdout


def test_a_taken_port_is_reported_with_what_to_do(notebook_env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(notebook_env["PDE_JUPYTER_PORT"])))
        busy.listen()
        up = subprocess.run([PDE, "notebook"], cwd=ROOT, env=notebook_env, capture_output=True, text=True, timeout=180)
    assert up.returncode == 2 and "PDE_JUPYTER_PORT" in up.stderr


def test_bare_pde_up_leaves_jupyterlab_alone_and_bare_pde_down_stops_it_too():
    import argparse

    from pde import services

    parser = argparse.ArgumentParser(prog="pde")
    services.register(parser.add_subparsers(dest="command", required=True))
    assert services._names(parser.parse_args(["up"]), services.DEFAULT_UP) == ["airflow", "superset", "web"]
    # bare `pde down` stops the HTTPS proxy too (it is stopped first: `down` goes in reverse)
    assert services._names(parser.parse_args(["down"])) == ["airflow", "superset", "jupyter", "web", "proxy"]
    assert parser.parse_args(["notebook"]).func is not None
