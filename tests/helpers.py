"""What tests share, so no test module copies a helper: parse a saved file, crawl a cassette, read rows.

    parse_saved("pfr_stats", FIXTURES / "pfr_stats" / "2017.html")   # the spider's parse() on a saved file
    of(items, PlayerStats)                                            # the items of one class
    crawl_cassette(FIXTURES / "zillow_listings" / "search.json", pg_url)  # real `scrapy crawl`, replayed
    rows(pg_url, "SELECT ...") / count(pg_url, "housing.listings") / last_run(pg_url)
    api(base, "POST", "/auth/token", {...}) / until("the DAG run", lambda: ...)   # a REST service, polled
    free_ports_on("127.0.0.2", 2) / trusting_home(ca, dir)   # the HTTPS proxy's ports; a browser that trusts its CA
"""

from __future__ import annotations

import http.server
import json
import os
import random
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2

from pde.records import Rejected, validate

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def fixture(spider: str, *parts: str) -> Path:
    """A file under fixtures/<spider>/."""
    return FIXTURES.joinpath(spider, *parts)


def spider_class(name: str):
    """The spider class called ``name``, found the way `scrapy crawl` finds it."""
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    return SpiderLoader.from_settings(get_project_settings()).load(name)


def parse_saved(spider, path: Path | str | None = None, *, body: bytes | None = None, url: str | None = None,
                validated: bool = True, **args) -> list:
    """Everything ``spider.parse`` yields for a saved response (a file, or ``body`` at ``url``).

    ``spider`` is a spider name, class or instance; ``args`` are its -a arguments.
    Records are checked against their declared types unless ``validated=False``.
    """
    from scrapy.http import HtmlResponse, Request, TextResponse

    if isinstance(spider, str):
        spider = spider_class(spider)
    if isinstance(spider, type):
        spider = spider(**args)
    path = Path(path) if path is not None else None
    if body is None:
        body = path.read_bytes()
    url = url or (path.resolve().as_uri() if path else "file:///saved")
    cls = HtmlResponse if url.endswith((".htm", ".html")) else TextResponse
    response = cls(url=url, body=body, encoding="utf-8", request=Request(url))
    items = list(spider.parse(response) or [])
    if validated:
        for item in items:
            if not isinstance(item, Rejected) and hasattr(item, "columns"):
                problem = validate(item)
                assert problem is None, f"{item!r}: {problem}"
    return items


def of(items, cls) -> list:
    """The items of exactly this class, in order."""
    return [i for i in items if type(i) is cls]


def crawl_cassette(cassette: Path | str, db: str, **kwargs):
    """The real `scrapy crawl` of the cassette's spider with its recorded arguments (see tests/conftest.run_crawl)."""
    from pde import cassettes
    from tests.conftest import run_crawl

    meta = cassettes.metadata(Path(cassette))
    args = {**meta.get("args", {}), **kwargs.pop("args", {})}
    settings = {**meta.get("settings", {}), **kwargs.pop("settings", {})}
    return run_crawl(meta["spider"], db=db, cassette=cassette, args=args, settings=settings, **kwargs)


def rows(url: str, sql: str, params=None) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        result = cur.fetchall()
    conn.close()
    return result


def count(url: str, table: str) -> int:
    schema, name = table.split(".")
    return rows(url, f'SELECT count(*) FROM "{schema}"."{name}"')[0][0]


def last_run(url: str, spider: str | None = None) -> dict:
    """The newest platform.runs row (of ``spider``) as a dict."""
    where, params = ("WHERE spider = %s", (spider,)) if spider else ("", ())
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM platform.runs {where} ORDER BY run_id DESC LIMIT 1", params)
        names = [d.name for d in cur.description]
        row = cur.fetchone()
    conn.close()
    return dict(zip(names, row, strict=True)) if row else {}


def free_ports_on(address: str, count: int, start: int = 20000, stop: int = 40000) -> int:
    """The first of ``count`` consecutive TCP ports free on ``address`` (the HTTPS proxy uses one per service)."""
    for _ in range(200):
        base = random.randrange(start, stop - count)
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports on {address}")


def trusting_home(ca: Path, home: Path) -> dict:
    """An environment whose HOME has an NSS database trusting ``ca``: Chromium on Linux trusts what it lists
    (what the partner's Linux desktop does with `certutil`). Returns the browser's environment."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "pde local CA", "-i", str(ca)],
                   check=True, capture_output=True)
    return {**os.environ, "HOME": str(home)}


def api(base: str, method: str, path: str, body=None, token: str | None = None, timeout: float = 30):
    """One JSON request to a REST API (Airflow's); returns the decoded answer, raises HTTPError."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def until(what: str, fn, timeout: float = 150, every: float = 1.0):
    """Poll ``fn`` until it returns something true (connection errors count as not yet); fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
            if value:
                return value
        except (urllib.error.URLError, OSError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class Receiver:
    """A loopback HTTP server answering ``status`` and keeping every JSON body posted to it: what an Apprise
    ``json://127.0.0.1:PORT/...`` channel sends (alerts and watches), with no network."""

    def __init__(self):
        self.status, self.received = 200, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append({"status": outer.status, "path": self.path,
                                       "auth": self.headers.get("Authorization"), "json": json.loads(body or b"null")})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/watch"

    def delivered(self) -> list[dict]:
        """(title, message) of every post answered 200."""
        return [r["json"] for r in self.received if r["status"] == 200]

    def take(self) -> list[dict]:
        got, self.received[:] = self.delivered(), []
        return got

    def close(self) -> None:
        self.server.shutdown()

