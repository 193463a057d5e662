"""Is a run still going? Runs left ``running`` by a process that died are found per spider and closed.

A crawl's run-recording connection carries ``application_name = pde-run-<id>``, so
PostgreSQL itself says whether the run's process is still connected, from any
host. On the host that started the run, the process id is checked as well
(a dead pid is dead even if its connection has not timed out yet). A run judged
dead that later finishes writes its real end over the mark (same run id).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

APP_PREFIX = "pde-run-"

ABANDONED = ("The crawl process ended without recording how it finished (killed, crashed, or the machine "
             "stopped): its process {pid} on {host} is gone. Marked by run {by}.")


def tag_connection(conn, run_id) -> None:
    """Name the connection after the run, so other processes can see that it is alive."""
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('application_name', %s, false)", (f"{APP_PREFIX}{run_id}",))


def pid_alive(pid: int | None) -> bool:
    """Does process ``pid`` of this host exist and look like a crawl (not a recycled pid)?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, IndexError):
        return True
    return not cmdline or b"scrapy" in cmdline or b"crawl" in cmdline or b"python" in cmdline


def connected_runs(conn) -> set[int]:
    """Run ids whose recording connection is open right now."""
    with conn.cursor() as cur:
        cur.execute("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE %s",
                    (APP_PREFIX + "%",))
        names = [r[0] for r in cur.fetchall()]
    return {int(n[len(APP_PREFIX):]) for n in names if n[len(APP_PREFIX):].isdigit()}


def mark_abandoned(conn, spider: str, by_run=None) -> list[int]:
    """Close every ``running`` run of ``spider`` whose process is gone (any arguments); returns their ids.

    Does not commit: the caller does, with the rest of its start-up.
    """
    here = socket.gethostname()
    connected = connected_runs(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT run_id, host, pid FROM platform.runs WHERE spider = %s AND status = 'running' "
                    "FOR UPDATE SKIP LOCKED", (spider,))
        running = cur.fetchall()
        dead = []
        for run_id, host, pid in running:
            if host == here:
                alive = pid_alive(pid) and pid != os.getpid()
            else:
                alive = run_id in connected
            if not alive:
                dead.append(run_id)
                cur.execute(
                    "UPDATE platform.runs SET status = 'failed', finish_reason = 'abandoned', finished_at = now(), "
                    "message = %s WHERE run_id = %s AND status = 'running'",
                    (ABANDONED.format(pid=pid, host=host, by=by_run or "a later run"), run_id))
    return dead
