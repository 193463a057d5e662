"""Fault injection: start, stop and starve real processes, and check pde keeps its promises.

Each test reproduces one finding of the reliability drill (issue 10) with real parts:
`scrapy crawl` subprocesses, a PostgreSQL server stopped under them, a spool
folder that is full (tmpfs, as root), limited (RLIMIT_FSIZE) or read-only,
DSNs and URLs carrying credentials, `make up` / `make down` / `make up`, and
alerts posted to a loopback HTTP receiver by a real Airflow ``dag.test()``.
Expected values are computed here from the inputs, never copied from pde.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest

from pde import cassettes
from pde.runs import crawl_command
from tests.conftest import ROOT, TEST_SETTINGS, _admin, prepare_database, reachable, run_crawl
from tests.helpers import Receiver, free_ports_on
from tests.test_machinery import _wait_for, rows, things_cassette

IS_ROOT = os.geteuid() == 0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _crawl_cmd(cassette, args: dict | None = None, **settings) -> list[str]:
    """selftest_things at the project's download delay (2 s, no jitter): slow enough to act on mid-crawl."""
    return crawl_command("selftest_things", args, {
        "SPIDER_MODULES": TEST_SETTINGS["SPIDER_MODULES"], "PDE_CASSETTE": cassette, "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY_JITTER": 0, **settings})


def _pages(n_pages: int, per_page: int) -> dict[int, dict]:
    return {n: {"things": [{"id": 1000 * n + i, "name": f"thing {n}.{i}", "price": i} for i in range(per_page)],
                "next": n + 1 if n < n_pages else None} for n in range(1, n_pages + 1)}


def _all_ids(pages: dict[int, dict]) -> set[str]:
    return {str(t["id"]) for p in pages.values() for t in p["things"]}


def _spooled_ids(folder: Path) -> tuple[set[str], int]:
    """thing ids in every spool file under folder, read with json line by line; and how many lines do not parse."""
    ids, broken = set(), 0
    for f in folder.rglob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                broken += 1
                continue
            if entry.get("kind") == "record":
                ids.add(entry["data"]["thing_id"])
    return ids, broken


@pytest.fixture
def own_pg(tmp_path):
    """A PostgreSQL server of this test's own, so the test may stop it."""
    from pde.db import EmbeddedPostgres, free_port

    pg = EmbeddedPostgres(home=reachable(Path(tempfile.mkdtemp(prefix="pde-test-pg-"))), port=free_port(), fast=True)
    pg.start()
    prepare_database(pg.url)
    yield pg
    pg.destroy()


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True)


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False)


def _crawl_while_db_stops(pg, tmp_path, pde_home, pages, *, limit_bytes: int | None = None,
                          extra_env: dict | None = None, delay: float = 0.3):
    """Crawl; stop the server once the first row is in; returns (proc, stdout, stderr, env)."""
    cas = things_cassette(tmp_path / "pages.json", pages)
    env = {**os.environ, "DATABASE_URL": pg.url, "PDE_HOME": str(pde_home), "TMPDIR": str(tmp_path / "tmp"),
           **(extra_env or {})}
    (tmp_path / "tmp").mkdir(exist_ok=True)

    def starve():
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    crawl = subprocess.Popen(
        _crawl_cmd(cas, PDE_CASSETTE_DELAY=delay, PDE_BATCH_SIZE=1, PDE_DB_RETRIES=1, PDE_DB_RETRY_DELAY=0.05),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=starve)
    try:
        assert _wait_for(lambda: rows(pg.url, "SELECT count(*) FROM selftest.things")[0][0] >= 1)
        pg.stop()
        out, err = crawl.communicate(timeout=180)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    return crawl, out, err, env


def _db_ids(url) -> set[str]:
    return {r[0] for r in rows(url, "SELECT thing_id FROM selftest.things")}


def _spool_load(env, *extra):
    return subprocess.run([sys.executable, "-m", "pde.cli", "spool", "load", *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------------
# data loss: the spool
# ---------------------------------------------------------------------------
def test_spool_hitting_a_file_size_limit_stops_the_crawl_and_keeps_every_complete_row(own_pg, tmp_path, pde_home):
    """RLIMIT_FSIZE starves both spool places: the crawl stops at once, says rows were lost, leaves no partial line."""
    pages = _pages(10, 3)
    crawl, out, err, env = _crawl_while_db_stops(own_pg, tmp_path, pde_home, pages, limit_bytes=1500)
    assert crawl.returncode == 1, err[-3000:]
    assert "NOT saved anywhere" in err and str(pde_home / "spool") in err, err[-3000:]
    assert "could not write" in err
    # it stopped at once: not every page was fetched
    crawled = len(re.findall(r"Crawled \(200\) <GET https://things.test/page/", err))
    assert crawled < len(pages), f"the crawl went on after the spool failed ({crawled} pages)"
    assert "spool_failed" in err

    spooled, broken = set(), 0
    for folder in (pde_home / "spool", tmp_path / "tmp"):
        ids, bad = _spooled_ids(folder)
        spooled |= ids
        broken += bad
    assert broken == 0, "a partial line was left in a spool file"
    assert spooled, "nothing was spooled before the limit"
    claimed = re.search(r"FAILED: selftest\.things .*? spooled (\d+)", err)
    assert claimed and int(claimed[1]) == len(spooled), "the summary must count only rows that reached a file"

    own_pg.start()
    before = _db_ids(own_pg.url)
    load = _spool_load(env)
    assert load.returncode == 0, load.stdout + load.stderr
    got = {r[0] for r in rows(own_pg.url, "SELECT thing_id FROM selftest.things")}
    assert got == before | spooled
    assert not list(pde_home.rglob("*.jsonl")) and not list((tmp_path / "tmp").rglob("*.jsonl"))
    # its end could be recorded nowhere: the next run of the spider (other arguments) closes it
    assert rows(own_pg.url, "SELECT status FROM platform.runs") == [("running",)]
    nxt = run_crawl("selftest_things", db=own_pg.url, cassette=tmp_path / "pages.json", args={"start_page": "9"})
    assert nxt.returncode == 0, nxt.stderr[-2000:]
    assert rows(own_pg.url, "SELECT status, finish_reason FROM platform.runs ORDER BY run_id") == [
        ("failed", "abandoned"), ("succeeded", "finished")]


@pytest.mark.skipif(not IS_ROOT, reason="a full disk is a 64 KiB tmpfs, and mounting one needs root (CI runs as root)")
def test_spool_on_a_full_disk_moves_to_the_fallback_folder_and_nothing_is_lost(own_pg, tmp_path, pde_home):
    mount = pde_home
    _mount_tmpfs(mount, "64k")
    try:
        pages = _pages(6, 100)
        crawl, out, err, env = _crawl_while_db_stops(own_pg, tmp_path, pde_home, pages, delay=0.2)
        assert crawl.returncode == 1, err[-3000:]
        fallback = tmp_path / "tmp" / f"pde-spool-{os.getuid()}"
        assert list(fallback.glob("*.jsonl")), "the full disk did not send rows to the fallback folder"
        main_ids, broken_main = _spooled_ids(pde_home / "spool")
        fb_ids, broken_fb = _spooled_ids(fallback)
        assert broken_main == broken_fb == 0
        assert main_ids, "nothing was spooled on the small disk before it filled"
        own_pg.start()
        before = _db_ids(own_pg.url)
        assert before | main_ids | fb_ids == _all_ids(pages), "rows were lost"
        load = _spool_load(env)
        assert load.returncode == 0, load.stdout + load.stderr
        assert {r[0] for r in rows(own_pg.url, "SELECT thing_id FROM selftest.things")} == _all_ids(pages)
        status, message = rows(own_pg.url, "SELECT status, message FROM platform.runs")[0]
        assert status == "failed" and "pde spool load" in message
    finally:
        _umount(mount)


def test_read_only_spool_folder_sends_rows_to_the_fallback_folder(own_pg, tmp_path, pde_home):
    spool = pde_home / "spool"
    if IS_ROOT:  # root ignores permission bits: a read-only mount
        _mount_tmpfs(spool, "1m")
        subprocess.run(["mount", "-o", "remount,ro", str(spool)], check=True)
    else:
        spool.mkdir(parents=True)
        spool.chmod(0o555)
    try:
        pages = _pages(4, 3)
        crawl, out, err, env = _crawl_while_db_stops(own_pg, tmp_path, pde_home, pages)
        assert crawl.returncode == 1, err[-3000:]
        fallback = tmp_path / "tmp" / f"pde-spool-{os.getuid()}"
        assert str(fallback) in err
        ids, broken = _spooled_ids(fallback)
        own_pg.start()
        before = _db_ids(own_pg.url)
        assert broken == 0 and before | ids == _all_ids(pages)
        load = _spool_load(env)
        assert load.returncode == 0, load.stdout + load.stderr
        assert {r[0] for r in rows(own_pg.url, "SELECT thing_id FROM selftest.things")} == _all_ids(pages)
        assert not list(fallback.glob("*.jsonl"))
    finally:
        if IS_ROOT:
            _umount(spool)
        else:
            spool.chmod(0o755)


def _write_spool(url: str, path: Path, things: list[dict], identity_url: str | None = None) -> None:
    from pipelines import spool
    from tests.selftest.spiders import Thing

    conn = psycopg2.connect(identity_url or url)
    ident = spool.database_identity(conn)
    conn.close()
    payloads = [{"record": Thing.record_name(), "data": Thing(thing_id=str(t["id"]), name=t["name"]).to_json()}
                for t in things]
    spool.append(path, "record", None, "selftest_things", payloads, database=ident)


def test_spool_load_loads_every_complete_line_and_keeps_a_partial_one(pg_url, pde_home):
    things = [{"id": i, "name": f"n{i}"} for i in range(1, 8)]
    path = pde_home / "spool" / "selftest_things-run7.jsonl"
    _write_spool(pg_url, path, things)
    with open(path, "a", encoding="utf-8") as f:  # a crash mid-write (an older pde, a full disk)
        f.write('{"kind": "record", "run_id": null, "spider": "selftest_things", "record": "tests.sel')
    lines = path.read_text().splitlines()
    complete = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry["kind"] == "record":
            complete.append(entry["data"]["thing_id"])
    assert complete == [str(t["id"]) for t in things]  # every record was written whole before the torn line
    env = {**os.environ, "DATABASE_URL": pg_url, "PDE_HOME": str(pde_home)}
    load = _spool_load(env)
    assert load.returncode == 1, load.stdout + load.stderr
    assert "JSONDecodeError" not in load.stderr and "Traceback" not in load.stderr
    assert f"line {len(lines)} not loaded: not a complete JSON line" in load.stdout
    assert sorted(r[0] for r in rows(pg_url, "SELECT thing_id FROM selftest.things")) == sorted(complete)
    assert not path.exists()
    kept = path.with_name(path.name + ".unreadable")
    assert kept.exists() and '"tests.sel' in kept.read_text()


def test_spool_file_is_refused_by_another_database_unless_forced(pg_url, pg_server, pde_home):
    other = "o_" + uuid.uuid4().hex[:10]
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{other}" TEMPLATE "pde"')
    other_url = pg_server.url.rsplit("/", 1)[0] + "/" + other
    try:
        path = pde_home / "spool" / "selftest_things-run3.jsonl"
        _write_spool(pg_url, path, [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        header = json.loads(path.read_text().splitlines()[0])
        assert header["database"]["database"] == pg_url.rsplit("/", 1)[1]
        env = {**os.environ, "DATABASE_URL": other_url, "PDE_HOME": str(pde_home)}
        load = _spool_load(env)
        assert load.returncode == 1
        assert f"belongs to database '{pg_url.rsplit('/', 1)[1]}'" in load.stdout and "--force" in load.stdout
        assert path.exists() and rows(other_url, "SELECT count(*) FROM selftest.things") == [(0,)]
        assert rows(other_url, "SELECT count(*) FROM platform.runs") == [(0,)]
        forced = _spool_load(env, "--force")
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert rows(other_url, "SELECT count(*) FROM selftest.things") == [(2,)]
        assert not path.exists()
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')
        admin.close()


def test_spool_file_stays_until_its_rows_are_committed(pg_server, pde_home):
    """A database without the table: the load fails, says why, and the file is still there."""
    name = "n_" + uuid.uuid4().hex[:10]
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    url = pg_server.url.rsplit("/", 1)[0] + "/" + name
    try:
        path = pde_home / "spool" / "selftest_things-run4.jsonl"
        _write_spool(url, path, [{"id": 1, "name": "a"}])
        before = path.read_bytes()
        load = _spool_load({**os.environ, "DATABASE_URL": url, "PDE_HOME": str(pde_home)})
        assert load.returncode == 1
        assert "selftest.things does not exist" in load.stdout and "The file is kept" in load.stdout
        assert path.read_bytes() == before
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# ---------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------
def _dsn_forms(pg_url: str):
    from urllib.parse import urlsplit

    u = urlsplit(pg_url)
    db = u.path.lstrip("/")
    return u.password, {
        "key=value": f"host={u.hostname} port={u.port} dbname={db} user={u.username} password={u.password}",
        "query": f"postgresql://{u.username}@{u.hostname}:{u.port}/{db}?password={u.password}&sslmode=disable",
        "url": pg_url,
    }


@pytest.mark.parametrize("form", ["key=value", "query", "url"])
def test_database_password_never_shows_in_the_crawl_log_in_any_dsn_form(pg_url, tmp_path, pde_home, form):
    from tests.test_machinery import PAGES

    password, forms = _dsn_forms(pg_url)
    ok = run_crawl("selftest_things", db=forms[form], cassette=things_cassette(tmp_path / "t.json", PAGES))
    assert ok.returncode == 0, ok.stderr[-2000:].replace(password, "<pw>")
    assert password not in ok.stdout + ok.stderr
    assert "***" in ok.stderr  # the DSN is shown, masked
    # unreachable: the error message names the server, not the password
    down = forms[form].replace(str(pg_url.rsplit(":", 1)[1].split("/")[0]), "1")
    bad = run_crawl("selftest_things", db=down, cassette=things_cassette(tmp_path / "t.json", PAGES))
    assert bad.returncode == 1
    assert "Cannot connect to PostgreSQL" in bad.stderr and password not in bad.stdout + bad.stderr


def test_malformed_database_url_stops_the_crawl_before_it_fetches(tmp_path, pde_home):
    from tests.test_machinery import PAGES

    p = run_crawl("selftest_things", db="not-a-url", cassette=things_cassette(tmp_path / "t.json", PAGES))
    assert p.returncode == 1
    assert "DATABASE_URL is not a PostgreSQL connection string" in p.stderr
    assert "Crawled (200)" not in p.stderr and "item_scraped_count" not in p.stderr


def test_secret_query_parameters_are_kept_out_of_run_records_and_logs(pg_url, tmp_path, pde_home):
    token, key = "T0KEN-" + uuid.uuid4().hex, "K3Y-" + uuid.uuid4().hex
    url = f"https://things.test/page/1.json?token={token}&api_key={key}&q=chairs"
    page = {"things": [{"id": 1, "name": "chair"}], "next": None}
    cas = cassettes.build_cassette(tmp_path / "q.json", [cassettes.interaction(
        url, json.dumps(page).encode(), headers={"Content-Type": "application/json"})], spider="selftest_things")
    assert token not in cas.read_text()
    p = run_crawl("selftest_things", db=pg_url, cassette=cas, args={"url": url}, settings={"LOG_LEVEL": "DEBUG"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert token not in p.stderr + p.stdout and key not in p.stderr + p.stdout
    assert "Crawled (200) <GET https://things.test/page/1.json?token=REDACTED" in p.stderr  # logged, without the value
    (args,) = rows(pg_url, "SELECT args FROM platform.runs")[0]
    assert args["url"] == "https://things.test/page/1.json?token=REDACTED&api_key=REDACTED&q=chairs"


def test_recorded_cassette_keeps_no_token_even_when_the_server_echoes_it(pg_url, tmp_path, pde_home):
    """Record from a loopback server that echoes the bearer token and the query token back in its body."""
    import http.server
    import threading

    bearer, token = "B3ARER-" + uuid.uuid4().hex, "T0KEN-" + uuid.uuid4().hex

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"things": [{"id": 7, "name": "lamp"}], "next": None,
                               "you_sent": self.headers.get("Authorization"), "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Echo", self.headers.get("Authorization", ""))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/page/1.json?token={token}"
        recorded = tmp_path / "recorded.json"
        p = run_crawl("selftest_things", db=pg_url, args={"url": url},
                      settings={"PDE_RECORD": recorded,
                                "DEFAULT_REQUEST_HEADERS": json.dumps({"Authorization": f"Bearer {bearer}"})})
        assert p.returncode == 0, p.stderr[-2000:]
    finally:
        server.shutdown()
    text = recorded.read_text()
    assert bearer not in text and token not in text, "a credential was recorded"
    assert bearer not in p.stderr and token not in p.stderr
    meta = json.loads(text)
    assert meta["pde"]["args"]["url"].endswith("/page/1.json?token=REDACTED")
    # the scrubbed cassette still replays
    again = run_crawl("selftest_things", db=pg_url, cassette=recorded, args={"url": url})
    assert again.returncode == 0, again.stderr[-2000:]
    assert rows(pg_url, "SELECT thing_id, name FROM selftest.things") == [("7", "lamp")]


def test_account_numbers_stay_out_of_the_crawl_log_even_at_debug(pg_url, pde_home):
    files = [ROOT / "fixtures" / "ofx_statements" / n for n in ("checking.ofx", "multiple_accounts.ofx")]
    numbers = {m for f in files for m in re.findall(r"<ACCTID>\s*([^<\s]+)", f.read_text(errors="replace"))}
    numbers = {n for n in numbers if len(re.sub(r"\D", "", n)) > 4}
    assert numbers
    p = run_crawl("ofx_statements", db=pg_url, args={"url": ",".join(f.as_uri() for f in files)},
                  settings={"LOG_LEVEL": "DEBUG"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Scraped from" in p.stderr  # items were logged, with their numbers masked
    leaked = [line for line in p.stderr.splitlines() if any(n in line for n in numbers)]
    assert leaked == [], "account numbers in the log:\n" + "\n".join(line[:300] for line in leaked[:5])


# ---------------------------------------------------------------------------
# day two
# ---------------------------------------------------------------------------
def _listening(port: int) -> list[str]:
    from tests.test_airflow_services import _listening as listening

    return listening(port)


@pytest.mark.timeout(1800)
def test_make_up_down_up_from_the_makefile(tmp_path):
    """The second `make up` used to fail (the crawl environment's pde has no Airflow to read migrations from)."""
    from pde.db import free_port

    home = reachable(Path(tempfile.mkdtemp(prefix="pde-test-make-")))  # the postgres user must reach it
    ports = {name: str(free_port()) for name in ("PDE_PG_PORT", "PDE_AIRFLOW_PORT", "PDE_SUPERSET_PORT",
                                                 "PDE_AIRFLOW_LOG_PORT", "PDE_AIRFLOW_TRIGGER_LOG_PORT",
                                                 "PDE_WEB_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATABASE_URL", "PDE_"))}
    env.update({"PDE_HOME": str(home), **ports})
    # the partner's browser too: PDE_LISTEN makes `make up` start the HTTPS proxy, `make down` stop it
    network, proxy_port = "127.0.0.5", free_ports_on("127.0.0.5", 2)
    env.update({"PDE_LISTEN": network, "PDE_PROXY_PORT": str(proxy_port)})

    def make(target):
        return subprocess.run(["make", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)

    try:
        first = make("up")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert f"Airflow is running: http://127.0.0.1:{ports['PDE_AIRFLOW_PORT']}" in first.stdout
        for name in ("PDE_AIRFLOW_PORT", "PDE_AIRFLOW_LOG_PORT", "PDE_AIRFLOW_TRIGGER_LOG_PORT", "PDE_SUPERSET_PORT",
                     "PDE_WEB_PORT"):
            assert _listening(int(ports[name])) == ["0100007F"], f"{name} must listen on 127.0.0.1 only"
        assert f"Home page: http://127.0.0.1:{ports['PDE_WEB_PORT']}/" in first.stdout
        assert f"home page   https://{network}:{proxy_port}/" in first.stdout, first.stdout[-3000:]
        assert _listening(proxy_port) == ["0500007F"], "the proxy listens on PDE_LISTEN only"
        down = make("down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert all(_listening(int(p)) == [] for p in [*ports.values(), proxy_port]), \
            "something still listens after make down"
        second = make("up")
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        assert f"Airflow is running: http://127.0.0.1:{ports['PDE_AIRFLOW_PORT']}" in second.stdout
        assert "migrating it" not in second.stdout  # the metadata was current: no `airflow db migrate`
    finally:
        last = make("down")
        import shutil

        shutil.rmtree(home, ignore_errors=True)
        assert last.returncode == 0, last.stdout + last.stderr


# ---------------------------------------------------------------------------
# alerts, through a real Airflow dag.test()
# ---------------------------------------------------------------------------
ALERT_CONFIG = """
spider_modules: [scrapers.housing, scrapers.finance, scrapers.fantasy, tests.selftest.spiders]
defaults:
  retry_delay_minutes: 0.02
  max_retry_delay_minutes: 0.05
  alerts: [PDE_ALERT_URLS]
  alert_digest: true
spiders:
  zillow_listings:
    crawls:
      - {label: blocked, args: {search: "04011", status: for_rent}}
  selftest_things:
    alert_after_days: 4
    crawls:
      - {label: empty}
  sleeper_league:
    alert_after_days: 7
"""


@pytest.mark.timeout(600)
def test_alerts_reach_the_configured_channel_and_say_what_to_do(airflow_dbs, tmp_path):
    import datetime as dt
    from urllib.parse import urlsplit

    from pde.services import airflow as service

    data_url, meta_url = airflow_dbs
    u = urlsplit(data_url)
    password = u.password
    # the crawl DAGs get the data database as a key=value DSN: its password must stay out of every log too
    data_dsn = f"host={u.hostname} port={u.port} dbname={u.path[1:]} user={u.username} password={password}"
    five_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=5)
    with psycopg2.connect(data_url) as conn, conn.cursor() as cur:
        for spider in ("selftest_things", "sleeper_league"):
            cur.execute("INSERT INTO platform.runs (spider, args, host, pid, status, started_at, finished_at) "
                        "VALUES (%s, '{}', 'h', 1, 'succeeded', %s, %s)", (spider, five_days_ago, five_days_ago))
    conn.close()
    receiver = Receiver()
    alert_secret = "al3rt-" + uuid.uuid4().hex
    empty = things_cassette(tmp_path / "empty.json", {1: {"things": [], "next": None}})
    config = tmp_path / "crawls.yaml"
    config.write_text(ALERT_CONFIG)
    zillow = ROOT / "fixtures" / "zillow_listings" / "blocked.json"
    scenarios = [
        {"name": "blocked", "dag": "zillow_listings", "overlay": {"spiders": {"zillow_listings": {"crawls": [
            {"label": "blocked", "args": {"search": "04011", "status": "for_rent"},
             "settings": {"PDE_CASSETTE": str(zillow)}}]}}}},
        {"name": "empty", "dag": "selftest_things", "overlay": {"spiders": {"selftest_things": {"crawls": [
            {"label": "empty", "settings": {"PDE_CASSETTE": str(empty)}}]}}}},
        {"name": "health", "dag": "pde_health"},
    ]
    (tmp_path / "scenarios.json").write_text(json.dumps(scenarios))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"PDE_HOME": str(tmp_path / "pde-home"), "PDE_CRAWLS_FILE": str(config),
                "AIRFLOW_VAR_PDE_ALERT_URLS": f"json://pde:{alert_secret}@127.0.0.1:{receiver.port}/alerts"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PDE_HOME", env["PDE_HOME"])
        env = service.airflow_env(data_dsn, meta_url.replace("postgresql://", "postgresql+psycopg2://"), base=env)
    out = tmp_path / "results.json"
    code = f"from tests.test_dags import _harness; _harness({str(tmp_path / 'scenarios.json')!r}, {str(out)!r})"
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=500)
    finally:
        receiver.close()
    everything = proc.stdout + proc.stderr
    assert proc.returncode == 0 and out.exists(), everything[-4000:].replace(password, "<pw>")
    results = json.loads(out.read_text())
    assert results["runs"]["blocked"]["state"] == "failed" and results["runs"]["empty"]["state"] == "failed"
    assert results["runs"]["health"]["state"] == "success"
    assert password not in everything, "the database password reached a task log"
    assert alert_secret not in everything, "an alert URL (a secret) reached a log"

    got = [(r["json"]["title"], r["json"]["message"]) for r in receiver.received]
    digest = [b for t, b in got if t == "pde: daily digest"]
    assert len(digest) == 1, got
    assert "selftest_things: 0 of 1 run(s) succeeded in the last 24h; latest failed" in digest[0]
    assert "zillow_listings: 0 of 1 run(s) succeeded in the last 24h; latest blocked; last success never" in digest[0]
    got = [g for g in got if g[0] != "pde: daily digest"]
    assert all(r["path"] == "/alerts" and r["auth"] for r in receiver.received)
    titles = sorted(t for t, _ in got)
    assert titles == sorted(["pde: zillow_listings [blocked] was blocked",
                             "pde: selftest_things [empty] failed its quality check",
                             "pde: selftest_things has not succeeded for 4 days"]), titles
    bodies = {t: b for t, b in got}
    blocked = bodies["pde: zillow_listings [blocked] was blocked"]
    assert "What happened:" in blocked and "blocked by the site" in blocked and "What to do:" in blocked
    quality = bodies["pde: selftest_things [empty] failed its quality check"]
    assert "produced no items" in quality and "Source: selftest_things [empty] (run " in quality
    stale = bodies["pde: selftest_things has not succeeded for 4 days"]
    assert f"{five_days_ago:%Y-%m-%d}" in stale and "pde runs --spider selftest_things" in stale


# ---------------------------------------------------------------------------
# a run is never left `running`
# ---------------------------------------------------------------------------
def test_database_restart_mid_crawl_the_run_reconnects_and_records_its_end(own_pg, tmp_path, pde_home):
    pages = _pages(6, 2)
    cas = things_cassette(tmp_path / "pages.json", pages)
    env = {**os.environ, "DATABASE_URL": own_pg.url, "PDE_HOME": str(pde_home)}
    crawl = subprocess.Popen(
        _crawl_cmd(cas, PDE_CASSETTE_DELAY=0.5, PDE_BATCH_SIZE=1, PDE_DB_RETRIES=6, PDE_DB_RETRY_DELAY=0.3),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: rows(own_pg.url, "SELECT count(*) FROM selftest.things")[0][0] >= 1)
        own_pg.stop()
        own_pg.start()  # a restart: every connection of the crawl is gone
        out, err = crawl.communicate(timeout=180)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    assert crawl.returncode == 0, err[-3000:]
    assert _db_ids(own_pg.url) == _all_ids(pages)
    status, message = rows(own_pg.url, "SELECT status, coalesce(message, '') FROM platform.runs")[0]
    assert status == "succeeded", message
    assert not list(pde_home.rglob("*.jsonl")), "nothing should have been spooled"


def test_killed_run_is_marked_by_the_next_run_with_other_arguments_and_a_live_one_is_not(pg_url, tmp_path,
                                                                                         pde_home):
    from tests.test_machinery import PAGES

    cas = things_cassette(tmp_path / "slow.json", {**PAGES, 3: {"things": [{"id": 9, "name": "x"}], "next": None}})
    env = {**os.environ, "DATABASE_URL": pg_url, "PDE_HOME": str(pde_home)}

    def start(page):
        return subprocess.Popen(_crawl_cmd(cas, {"start_page": page}, PDE_CASSETTE_DELAY=10), cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    running = "SELECT count(*) FROM platform.runs WHERE status = 'running'"
    first = start(1)
    try:
        assert _wait_for(lambda: rows(pg_url, running) == [(1,)])
        # a second, live run with other arguments: a third run must leave it alone
        second = start(3)
        assert _wait_for(lambda: rows(pg_url, running) == [(2,)])
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        third = run_crawl("selftest_things", db=pg_url, cassette=cas, args={"start_page": "2"})
        assert third.returncode == 0, third.stderr[-2000:]
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err[-2000:]
    finally:
        for p in (first, second):
            if p.poll() is None:
                p.kill()
    got = rows(pg_url, "SELECT run_id, args->>'start_page', status, finish_reason, coalesce(message, '') "
                       "FROM platform.runs ORDER BY run_id")
    assert [(r[0], r[1], r[2], r[3]) for r in got] == [
        (1, "1", "failed", "abandoned"), (2, "3", "succeeded", "finished"), (3, "2", "succeeded", "finished")]
    assert f"process {first.pid} on" in got[0][4] and "is gone" in got[0][4]


def test_a_run_whose_every_item_was_quarantined_fails_and_pde_runs_says_the_share(pg_url, tmp_path, pde_home):
    bad = {1: {"things": [{"id": i, "name": None} for i in range(1, 5)], "next": None}}  # name is required
    p = run_crawl("selftest_things", db=pg_url, cassette=things_cassette(tmp_path / "bad.json", bad))
    assert p.returncode == 1, p.stderr[-2000:]
    some = {1: {"things": [{"id": i, "name": None if i <= 2 else f"n{i}"} for i in range(1, 6)], "next": None}}
    p = run_crawl("selftest_things", db=pg_url, cassette=things_cassette(tmp_path / "some.json", some))
    assert p.returncode == 0, p.stderr[-2000:]
    got = rows(pg_url, "SELECT status, items_quarantined FROM platform.runs ORDER BY run_id")
    assert got == [("failed", 4), ("succeeded", 2)]
    runs = subprocess.run([sys.executable, "-m", "pde.cli", "runs"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": pg_url, "PDE_HOME": str(pde_home)})
    assert runs.returncode == 0, runs.stderr
    lines: dict[int, str] = {}  # a run's row and its message lines (indented below it)
    for line in runs.stdout.splitlines()[1:]:
        first = line.split()[0] if line.strip() else ""
        if line[:5].strip().isdigit():
            current = int(first)
            lines[current] = line
        elif first:
            lines[current] += " " + line.strip()
    assert "failed" in lines[1] and "Every one of the 4 items was quarantined" in lines[1]
    assert "succeeded" in lines[2] and "2 of 5 items quarantined" in lines[2]
