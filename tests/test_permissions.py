"""Files that hold personal data are the user's only: PDE_HOME, the database, its log, spool and backups."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from pde.db import free_port
from tests.conftest import reachable, run_pde


@pytest.fixture
def home_env():
    top = reachable(Path(tempfile.mkdtemp(prefix="pde-test-perm-")))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PDE_HOME=str(top / "pde"), PDE_PG_PORT=str(free_port()))
    yield env
    run_pde("db", "stop", env=env)
    shutil.rmtree(top, ignore_errors=True)


def mode(path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)


def test_embedded_database_home_and_log_are_private(home_env):
    home = Path(home_env["PDE_HOME"])
    home.mkdir(mode=0o755)  # as an older pde left it
    (home / "postgresql.log").write_text("old lines\n")
    os.chmod(home / "postgresql.log", 0o644)
    out = run_pde("db", "start", env=home_env)
    assert out.returncode == 0, out.stderr
    if os.geteuid() == 0:
        # the server runs as `postgres`, which may pass through PDE_HOME (group, x only) but not list it
        assert mode(home) == 0o710 and home.stat().st_gid == pwd.getpwnam("postgres").pw_gid
    else:
        assert mode(home) == 0o700
    assert mode(home / "pgdata") == 0o700
    assert mode(home / "postgresql.log") == 0o600
    assert mode(home / "db-password") == 0o600
    # everything else under PDE_HOME is out of reach for other users through the home's mode
    assert mode(home) & 0o007 == 0
    # and the server still works (it wrote its log through the private folder)
    assert "database system is ready" in (home / "postgresql.log").read_text()
    assert run_pde("migrate", env=home_env).returncode == 0
