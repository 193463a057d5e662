"""Slow failures say early what is being waited on and for how long (real crawls, local sockets only)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading

import pytest

from tests.conftest import ROOT


@pytest.fixture
def silent_server():
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def crawl(spider, url, *settings):
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"url={url}", "-s", "PDE_DB=off",
           "-s", "AUTOTHROTTLE_ENABLED=False", *[x for s in settings for x in ("-s", s)]]
    return subprocess.run(cmd, cwd=ROOT, env={**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"},
                          capture_output=True, text=True, timeout=120, check=False)


def seconds(line: str) -> int:
    h, m, s = map(int, re.search(r"\d{4}-\d\d-\d\d (\d\d):(\d\d):(\d\d)", line).groups())
    return h * 3600 + m * 60 + s


def test_a_server_that_never_answers_is_named_early_with_the_time_left(silent_server):
    url = f"http://127.0.0.1:{silent_server}/page"
    proc = crawl("zillow_listings", url, "PDE_SLOW_AFTER=1", "DOWNLOAD_TIMEOUT=5", "RETRY_TIMES=1",
                 "DOWNLOAD_DELAY=0")
    log = proc.stderr.splitlines()
    still = [line for line in log if "Still waiting for " + url in line]
    assert still, proc.stderr[-3000:]
    first_timeout = next(line for line in log if "took longer than 5.0 seconds" in line)
    assert seconds(still[0]) < seconds(first_timeout)  # said before the first try gave up
    assert "This try gives up after 5 s (DOWNLOAD_TIMEOUT), then 1 more try" in still[0]
    assert re.search(r"at most about [5-9] s more for this page", still[0]), still[0]
    assert proc.returncode == 1  # the page failed


def test_an_unreachable_host_is_said_at_the_first_failure_with_the_retries_left():
    port = closed_port()
    proc = crawl("pfr_stats", f"http://127.0.0.1:{port}/x", "RETRY_TIMES=2", "DOWNLOAD_DELAY=0.5")
    log = proc.stderr
    warn = re.search(rf"WARNING: Cannot reach 127\.0\.0\.1:{port}: .*refused.*Retrying 2 more times", log)
    assert warn, log[-3000:]
    assert warn.start() < log.index("Gave up retrying")  # before Scrapy's retries ran out


def test_a_polite_delay_is_announced(tmp_path):
    proc = crawl("pfr_stats", f"http://127.0.0.1:{closed_port()}/x", "RETRY_TIMES=0")
    assert re.search(r"Requests to 127\.0\.0\.1 are spaced about 7 s apart \(politeness\)", proc.stderr), \
        proc.stderr[-2000:]
