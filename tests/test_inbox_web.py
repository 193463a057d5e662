"""The home page and the inbox, for real: `pde up web` serves pde/web on a free loopback port, a bank CSV is
uploaded through it (HTTP POST), an OFX file and a bad file are dropped into PDE_INBOX, and the ``inbox`` DAG
runs twice with ``dag.test()`` (Airflow's metadata on the test PostgreSQL). Then: each file landed once (the
same content dropped again changed nothing), the bad file is in failed/ with its message, and the page shows
the sources' freshness as platform.runs records it, the quarantine, and only what a viewer may see.
"""

from __future__ import annotations

import csv
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import psycopg2
import pytest

from pde.db import free_port
from pde.schedule.inbox import NotRecognised, recognise
from tests.conftest import FIXTURES, ROOT, run_pde, scratch_databases

pytestmark = pytest.mark.timeout(900)
OFX = FIXTURES / "ofx_statements" / "checking.ofx"
CSV = FIXTURES / "bank_csv" / "capitalone.csv"
PASSWORD = "admin-pass-" + uuid.uuid4().hex[:8]

CHILD = r"""
import json, os, shutil, sys
import airflow
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.db import upgradedb
upgradedb()
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["inbox"]
out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "tags": sorted(dag.tags),
       "retries": dag.get_task("process_inbox").retries, "states": []}
out["states"].append(str(dag.test().state))
shutil.copy(sys.argv[2], os.path.join(os.environ["PDE_INBOX"], "checking-again.ofx"))  # the same content again
out["states"].append(str(dag.test().state))
print("@@" + json.dumps(out))
"""


def _opener():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _login(base: str, user: str, password: str):
    opener = _opener()
    data = urllib.parse.urlencode({"username": user, "password": password}).encode()
    with opener.open(f"{base}/login", data=data, timeout=20) as r:
        assert r.url.rstrip("/") == base, r.url
    return opener


def _get(opener, url: str) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _post_file(opener, url: str, name: str, data: bytes) -> tuple[int, str]:
    body, ctype = _multipart(name, data)
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype, "Accept": "application/json"})
    try:
        with opener.open(req, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def site(pg_server, tmp_path_factory):
    with scratch_databases(pg_server, airflow=True, prefix="d_") as (data_url, meta_url):
        yield from _site(data_url, meta_url, tmp_path_factory)


def _site(data_url: str, meta_url: str, tmp_path_factory):
    from pde.services import airflow as service

    tmp = tmp_path_factory.mktemp("front")
    home, inbox = tmp / "pde-home", tmp / "inbox"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PDE_"))}
    env.update({"PDE_HOME": str(home), "PDE_INBOX": str(inbox), "PDE_WEB_PORT": str(port), "DATABASE_URL": data_url,
                "PDE_SUPERSET_ADMIN_PASSWORD": PASSWORD})
    up = run_pde("up", "web", env=env, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    base = f"http://127.0.0.1:{port}"
    try:
        # an upload through the page, a file dropped into the folder, and one that is no statement at all
        status, body = _post_file(_login(base, "admin", PASSWORD), f"{base}/upload", "capitalone.csv",
                                  CSV.read_bytes())
        assert status == 200 and json.loads(body)["saved"] == ["capitalone.csv"], body
        shutil.copy(OFX, inbox / "checking.ofx")
        (inbox / "notes.txt").write_text("remember to call the bank\n")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PDE_HOME", str(home))
            af_env = service.airflow_env(data_url, meta_url.replace("postgresql://", "postgresql+psycopg2://", 1),
                                         base=env)
        af_env["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
        proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "dags"), str(OFX)], cwd=ROOT, env=af_env,
                              capture_output=True, text=True, timeout=800)
        (tmp / "airflow-child.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
        assert proc.returncode == 0, f"the Airflow child failed ({tmp / 'airflow-child.log'}):\n{proc.stderr[-4000:]}"
        result = json.loads(next(line[2:] for line in proc.stdout.splitlines() if line.startswith("@@")))
        yield {"base": base, "env": env, "home": home, "inbox": inbox, "data_url": data_url, "dag": result,
               "tmp": tmp}
    finally:
        run_pde("down", "web", env=env, timeout=60)


def _rows(url: str, sql: str, params=()):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        out = cur.fetchall() if cur.description else []
    conn.close()
    return out


@pytest.mark.parametrize("path,spider", [
    (OFX, "ofx_statements"), (FIXTURES / "ofx_statements" / "fidelity.ofx", "ofx_statements"),
    (CSV, "bank_csv"), (FIXTURES / "bank_csv" / "n26-fr.csv", "bank_csv"),
    (FIXTURES / "zillow_listings" / "zillow-search-04011-20250601.html", "zillow_listings"),
])
def test_files_are_recognised_by_content_not_name(path, spider):
    assert recognise(path.read_bytes()) == spider


def test_other_files_are_not_recognised():
    for data in (b"remember to call the bank\n", b"\x89PNG\r\n\x1a\n\x00\x00", b"<html><body>a recipe</body></html>"):
        with pytest.raises(NotRecognised):
            recognise(data)


def test_uploaded_and_dropped_files_land_once_and_a_bad_one_fails_with_its_message(site):
    dag = site["dag"]
    assert dag["import_errors"] == {} and dag["tags"] == ["inbox", "platform"] and dag["retries"] >= 2
    # run 1 failed because notes.txt could not be read; run 2 only met a duplicate and succeeded
    assert dag["states"] == ["failed", "success"]
    inbox = site["inbox"]
    assert sorted(p.name for p in (inbox / "done").iterdir() if not p.name.endswith(".note.txt")) == \
        ["capitalone.csv", "checking-again.ofx", "checking.ofx"]
    assert [p.name for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")] == []
    failed_note = (inbox / "failed" / "notes.txt.note.txt").read_text()
    assert "Not recognised" in failed_note and "OFX" in failed_note and (inbox / "failed" / "notes.txt").exists()
    assert "already imported from checking.ofx" in (inbox / "done" / "checking-again.ofx.note.txt").read_text()

    runs = _rows(site["data_url"], "SELECT spider, run_id, status FROM platform.runs ORDER BY run_id")
    assert sorted(r[0] for r in runs) == ["bank_csv", "ofx_statements"]  # the duplicate was not crawled again
    assert all(r[2] == "succeeded" for r in runs)
    ofx_run = next(r[1] for r in runs if r[0] == "ofx_statements")
    assert f"run {ofx_run}" in (inbox / "done" / "checking.ofx.note.txt").read_text()
    # rows: counted from the files themselves
    stmttrn = len(re.findall(r"<STMTTRN>", OFX.read_text(), re.I))
    with CSV.open(newline="") as f:
        csv_rows = sum(1 for row in csv.DictReader(f) if any(row.values()))
    by_run = dict(_rows(site["data_url"], "SELECT r.spider, count(*) FROM finance.transactions t "
                                          "JOIN platform.runs r USING (run_id) GROUP BY r.spider"))
    assert by_run == {"ofx_statements": stmttrn, "bank_csv": csv_rows}
    assert f"finance.transactions +{stmttrn}" in (inbox / "done" / "checking.ofx.note.txt").read_text()
    assert f"finance.transactions +{csv_rows}" in (inbox / "done" / "capitalone.csv.note.txt").read_text()


def test_home_page_shows_freshness_from_the_run_records(site):
    url = site["data_url"]
    _rows(url, "INSERT INTO platform.runs (spider, status, message, started_at, finished_at) VALUES "
               "('zillow_listings', 'blocked', 'captcha page: try again tomorrow', now(), now())")
    _rows(url, "INSERT INTO platform.quarantine (spider, table_name, reason, item) VALUES "
               "('bank_csv', 'finance.transactions', 'no date in row 7', '{\"amount\": \"12.00\"}'), "
               "('bank_csv', 'finance.transactions', 'amount is not a number', '{\"amount\": \"x\"}')")
    status, page = _get(_login(site["base"], "admin", PASSWORD), site["base"] + "/")
    assert status == 200
    expected = _rows(url, """
        SELECT r.spider, r.run_id, to_char(r.finished_at, 'YYYY-MM-DD HH24:MI'),
               (SELECT sum(inserted + updated) FROM platform.run_tables t WHERE t.run_id = r.run_id)
          FROM platform.runs r WHERE status = 'succeeded'""")
    assert len(expected) == 2
    for spider, run_id, finished, changed in expected:
        row = re.search(rf'<tr data-spider="{spider}">(.*?)</tr>', page, re.S).group(1)
        assert finished in row and f"run {run_id}" in row
        assert re.search(r'class="rows">(\d+)<', row).group(1) == str(changed)
    zillow = re.search(r'<tr data-spider="zillow_listings">(.*?)</tr>', page, re.S).group(1)
    assert "never" in zillow and "captcha page: try again tomorrow" in zillow and "blocked" in zillow
    bank = re.search(r'<tr data-spider="bank_csv">(.*?)</tr>', page, re.S).group(1)
    assert '<a href="/quarantine/bank_csv">2</a>' in bank
    for title in ("House hunt", "Spending", "Fantasy", "Pipeline health"):
        assert title in page
    assert "notes.txt" in page and "Not recognised" in page  # the inbox section
    _, quarantine = _get(_login(site["base"], "admin", PASSWORD), site["base"] + "/quarantine/bank_csv")
    assert "no date in row 7" in quarantine and "amount is not a number" in quarantine


def test_viewer_sees_dashboards_and_exports_not_operations(site):
    env = {**site["env"], "PDE_WEB_PASSWORD": "viewer-pass-1"}
    add = run_pde("web", "adduser", "partner", "--role", "viewer", env=env)
    assert add.returncode == 0 and "partner (viewer)" in add.stdout, add.stderr
    stored = (site["home"] / "web" / "users.json").read_text()
    assert "viewer-pass-1" not in stored and PASSWORD not in stored and "scrypt$" in stored
    (site["home"] / "exports").mkdir(exist_ok=True)
    (site["home"] / "exports" / "cheatsheet.html").write_text("<h1>cheat sheet</h1>")
    viewer = _login(site["base"], "partner", "viewer-pass-1")
    status, page = _get(viewer, site["base"] + "/")
    assert status == 200 and "House hunt" in page and "cheatsheet.html" in page
    assert 'id="sources"' not in page and "Airflow" not in page and 'id="inbox"' not in page
    assert _get(viewer, site["base"] + "/files/exports/cheatsheet.html") == (200, "<h1>cheat sheet</h1>")
    assert _get(viewer, site["base"] + "/quarantine/bank_csv")[0] == 403
    assert _post_file(viewer, site["base"] + "/upload", "x.ofx", OFX.read_bytes())[0] == 403
    # no session, a wrong password, a short password at adduser
    assert _get(_opener(), site["base"] + "/quarantine/bank_csv")[1].count('id="password"') == 1
    data = urllib.parse.urlencode({"username": "partner", "password": "wrong-password"}).encode()
    with pytest.raises(urllib.error.HTTPError) as err:
        _opener().open(site["base"] + "/login", data=data, timeout=20)
    assert err.value.code == 401
    short = run_pde("web", "adduser", "x", env={**site["env"], "PDE_WEB_PASSWORD": "short"})
    assert short.returncode == 2 and "shorter than 8" in short.stderr


@pytest.mark.browser
def test_home_page_in_chromium(site):
    from pde.services.browser import ChromiumMissing, chromium, new_page

    shot = site["tmp"] / "home.png"
    try:
        with chromium("the home page test looks at the page as a person does") as browser:
            page = new_page(browser, 1400, 1400)
            page.goto(site["base"] + "/")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_selector("#freshness")
            page.screenshot(path=str(shot), full_page=True)
            cells = page.eval_on_selector_all("#freshness tr[data-spider]",
                                              "rows => rows.map(r => [r.dataset.spider, r.innerText])")
            # the upload form, as a person uses it: choose a file, press Upload
            page.set_input_files("#file", str(FIXTURES / "ofx_statements" / "fidelity.ofx"))
            page.click("#upload button[type=submit]")
            page.wait_for_selector(".msg")
            message = page.inner_text(".msg")
            waiting = page.inner_text("#inbox")
    except ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    if os.environ.get("PDE_SCREENSHOT_DIR"):
        shutil.copy(shot, os.environ["PDE_SCREENSHOT_DIR"])
    assert shot.stat().st_size > 10_000
    assert "In the inbox: fidelity.ofx" in message and "fidelity.ofx" in waiting
    assert (site["inbox"] / "fidelity.ofx").read_bytes() == (FIXTURES / "ofx_statements" / "fidelity.ofx").read_bytes()
    shown = dict(cells)
    for spider, run_id in _rows(site["data_url"], "SELECT spider, max(run_id) FROM platform.runs "
                                                  "WHERE status = 'succeeded' GROUP BY spider"):
        assert f"run {run_id}" in shown[spider]


def test_web_serve_runs_in_the_foreground_as_the_container_does(site, tmp_path):
    """docker-compose.yml's web service runs `pde web serve`: it must serve, log in, and stop on SIGTERM."""
    import signal
    import time

    port = free_port()
    env = {**site["env"], "PDE_HOME": str(tmp_path / "home")}  # no users yet: serve creates admin
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "pde"), "web", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if _get(_opener(), base + "/healthz") == (200, "ok"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "pde web serve did not answer within 90 s"
            time.sleep(0.3)
        status, page = _get(_login(base, "admin", PASSWORD), base + "/")
        assert status == 200 and 'id="freshness"' in page
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    # uvicorn shuts down cleanly, then re-raises the signal (so a supervisor sees "stopped by SIGTERM")
    assert proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in out, out
    assert f"Home page: http://127.0.0.1:{port}/" in out
    assert "user admin, password in PDE_SUPERSET_ADMIN_PASSWORD" in out
    help_ = run_pde("web", "serve", "--help")
    assert help_.returncode == 0 and "--host" in help_.stdout and "foreground" in run_pde("web", "--help").stdout


def test_pde_inbox_lists_and_crawls_without_airflow(pg_url, tmp_path):
    """`pde inbox --now`: the inbox for a user who does not run Airflow; exit 1 names the file that failed."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(OFX, inbox / "checking.ofx")
    (inbox / "notes.txt").write_text("remember to call the bank\n")
    env = {"PDE_HOME": str(tmp_path / "home"), "PDE_INBOX": str(inbox), "DATABASE_URL": pg_url}
    waiting = run_pde("inbox", env=env)
    assert waiting.returncode == 0 and "waiting: 2" in waiting.stdout and "  checking.ofx" in waiting.stdout
    now = run_pde("inbox", "--now", env=env, timeout=300)
    assert now.returncode == 1, now.stdout + now.stderr
    stmttrn = len(re.findall(r"<STMTTRN>", OFX.read_text(), re.I))
    assert re.search(rf"checking\.ofx: done\. Crawled by ofx_statements as run \d+: succeeded, .*"
                     rf"finance\.transactions \+{stmttrn}\b", now.stdout), now.stdout
    assert "notes.txt: failed. Not recognised" in now.stdout
    assert _rows(pg_url, "SELECT count(*) FROM finance.transactions") == [(stmttrn,)]
    shutil.copy(OFX, inbox / "again.ofx")
    again = run_pde("inbox", "--now", env=env, timeout=300)
    assert again.returncode == 0 and "again.ofx: duplicate" in again.stdout, again.stdout + again.stderr
    assert _rows(pg_url, "SELECT count(*) FROM finance.transactions") == [(stmttrn,)]
    after = run_pde("inbox", env=env).stdout
    assert "waiting: 0" in after and "done: 2" in after and "failed: 1" in after and "notes.txt (" in after


def test_inbox_with_the_database_away_keeps_every_file_and_says_so(tmp_path):
    """No file is to blame when PostgreSQL is unreachable: nothing moves to failed/, the command says what to do."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(OFX, inbox / "checking.ofx")
    shutil.copy(CSV, inbox / "capitalone.csv")
    env = {"PDE_HOME": str(tmp_path / "home"), "PDE_INBOX": str(inbox),
           "DATABASE_URL": f"postgresql://pde:inbox-secret-7@127.0.0.1:{free_port()}/pde"}
    now = run_pde("inbox", "--now", env=env, timeout=120)
    assert now.returncode == 2, now.stdout + now.stderr
    assert "Cannot connect to PostgreSQL" in now.stderr and "2 file(s) in the inbox stay there" in now.stderr
    assert "inbox-secret-7" not in now.stderr + now.stdout  # the password is masked
    assert sorted(p.name for p in inbox.iterdir()) == ["capitalone.csv", "checking.ofx"]
