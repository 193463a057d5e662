"""What every server pde leaves running in the background shares: a pid file, a log, start-and-wait, stop.

The home page, JupyterLab, Superset and the HTTPS proxy each subclass :class:`Background` and give it
``pidfile``, ``logfile``, ``title`` (for messages) and ``error`` (their error class, which says what to do).
Airflow's several components keep their own process-group handling (pde/services/airflow.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def alive(pid: int) -> bool:
    """Running (a zombie that exited but was not reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class Background:
    """A server started in its own session, its output appended to ``logfile``, its pid in ``pidfile``."""

    title = "the service"
    error: type[Exception] = RuntimeError
    pidfile: Path
    logfile: Path

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if alive(pid) else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def refuse_taken_port(self, host: str, port: int, setting: str) -> None:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                raise self.error(f"port {port} on {host} is taken by another program; set {setting} to a free port")

    def spawn(self, cmd: list[str], env: dict[str, str], cwd: Path | str, write_pid: bool = True) -> subprocess.Popen:
        """Start ``cmd`` detached from the terminal (Ctrl-C in `pde up` does not reach it)."""
        with self.logfile.open("ab") as log:
            proc = self._proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, start_new_session=True)
        if write_pid:  # gunicorn writes its own (--pid)
            self.pidfile.write_text(f"{proc.pid}\n")
        return proc

    def wait_ready(self, proc: subprocess.Popen, ready: Callable[[], bool], timeout: float, where: str,
                   every: float = 0.2, hint: str = "") -> None:
        """Until ``ready()``; raises ``error`` with the log's tail if the process exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                self.pidfile.unlink(missing_ok=True)
                raise self.error(f"{self.title} exited while starting (code {proc.returncode}){hint}; "
                                 f"log {self.logfile}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise self.error(f"{self.title} did not answer on {where} within {timeout:.0f} s; "
                                 f"log {self.logfile}:\n{self.log_tail()}")
            time.sleep(every)

    def stop(self, timeout: float = 20) -> bool:
        """SIGTERM (each server finishes what is in flight), then SIGKILL to the whole group; False if not running."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            proc = getattr(self, "_proc", None)
            if proc is not None and proc.pid == pid:
                proc.poll()  # reap our own child, or it lingers as a zombie
            time.sleep(0.05)
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)
        return True
