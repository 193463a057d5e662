"""The partner's browser: pde's home page on the home network over HTTPS only, through a real Caddy.

`pde up web proxy` runs as a user runs it, with PDE_LISTEN=127.0.0.2 (Linux routes all of 127/8 to this
machine, so a second loopback address stands in for the home-network address). Then: the certificate chain
verifies with Python's ssl against pde's CA file and fails without it; `pde proxy ca` prints the fingerprint
openssl computes; a viewer logs in through HTTPS in headless Chromium that trusts the CA the way a Linux desktop
does (an NSS database) and sees the dashboards and exports, not the operations; nothing answers plain HTTP on
the network address; Airflow/JupyterLab are proxied only with PDE_PROXY_OPERATIONS=1, for the home page's admins;
a user's own certificate works; and the refusals (no caddy, no key, a port in use) say what to do.
Superset through the proxy with the viewer login is in tests/test_superset_live.py (its one live Superset).
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from pde.db import free_port
from tests.conftest import ROOT, run_pde, scratch_databases
from tests.helpers import free_ports_on, trusting_home

pytestmark = pytest.mark.timeout(300)
ADDRESS, OTHER = "127.0.0.2", "127.0.0.3"
PASSWORD = "admin-pass-" + uuid.uuid4().hex[:8]
VIEWER, VIEWER_PASSWORD = "partner", "viewer-pass-" + uuid.uuid4().hex[:6]
ARTIFACTS = ROOT / "test-artifacts"


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PDE_"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def front(pg_server, tmp_path_factory):
    if shutil.which("caddy") is None:
        pytest.fail("caddy is not installed: run scripts/system-deps.sh (apt-get install caddy)", pytrace=False)
    with scratch_databases(pg_server, prefix="d_") as data_url:
        yield from _front(data_url, tmp_path_factory)


def _front(data_url: str, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proxy")
    home = tmp / "pde-home"
    base = free_ports_on(ADDRESS, 2)
    env = _clean_env(PDE_HOME=str(home), PDE_WEB_PORT=str(free_port()), PDE_SUPERSET_PORT=str(free_port()),
                     DATABASE_URL=data_url, PDE_SUPERSET_ADMIN_PASSWORD=PASSWORD,
                     PDE_LISTEN=ADDRESS, PDE_PROXY_PORT=str(base))
    try:
        up = run_pde("up", "web", "proxy", env=env, timeout=120)  # the first start makes the user admin
        assert up.returncode == 0, up.stdout + up.stderr
        add = run_pde("web", "adduser", VIEWER, "--role", "viewer", env={**env, "PDE_WEB_PASSWORD": VIEWER_PASSWORD})
        assert add.returncode == 0, add.stderr
        (home / "exports").mkdir(parents=True)
        (home / "exports" / "cheatsheet.html").write_text("<h1>cheat sheet</h1>")
        yield {"env": env, "home": home, "tmp": tmp, "base": base, "up": up.stdout,
               "url": f"https://{ADDRESS}:{base}", "ca": home / "proxy" / "data" / "pki" / "authorities" / "local"
                                                       / "root.crt"}
    finally:
        run_pde("down", "proxy", "web", env=env, timeout=60)


def _https_opener(cafile):
    ctx = ssl.create_default_context(cafile=str(cafile))
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx),
                                       urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _fetch(opener, url: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=body, headers=headers or {}), timeout=20) as r:
            return r.status, r.read().decode(errors="replace"), r.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), exc.headers


def _openssl_fingerprint(path) -> str:
    """A second reader: openssl's SHA-256 fingerprint of the certificate."""
    out = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-fingerprint", "-sha256"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


def test_certificate_verifies_against_pde_ca_and_not_without_it(front):
    assert f"home page   {front['url']}/" in front["up"]
    assert "Airflow and JupyterLab stay on this machine" in front["up"]
    ca = run_pde("proxy", "ca", env=front["env"])
    assert ca.returncode == 0, ca.stderr
    path = re.search(r"root certificate of pde local CA: (\S+)", ca.stdout).group(1)
    assert path == str(front["ca"])
    assert f"SHA-256 fingerprint: {_openssl_fingerprint(path)}" in ca.stdout

    ctx = ssl.create_default_context(cafile=path)  # check_hostname: the IP must be in the certificate
    with socket.create_connection((ADDRESS, front["base"]), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=ADDRESS) as tls:
        cert = tls.getpeercert()
    assert ("IP Address", ADDRESS) in cert["subjectAltName"]
    assert dict(x[0] for x in cert["issuer"])["commonName"] == "pde local CA - intermediate"
    for port in (front["base"], front["base"] + 1):  # the home page's and Superset's ports
        with socket.create_connection((ADDRESS, port), timeout=10) as raw, \
                pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            ssl.create_default_context().wrap_socket(raw, server_hostname=ADDRESS)  # the system's CAs only

    # the home page offers the same root certificate for download, without a login
    status, body, headers = _fetch(_https_opener(path), front["url"] + "/ca.crt")
    assert status == 200 and headers["Content-Type"] == "application/x-x509-ca-cert"
    assert body == front["ca"].read_text()

    st = run_pde("status", "web", "proxy", env=front["env"])
    assert st.returncode == 0 and "HTTPS proxy: running (pid" in st.stdout and front["url"] in st.stdout, st.stdout


def test_pages_through_the_proxy_link_https_and_set_secure_cookies(front):
    admin = _https_opener(front["ca"])
    status, page, headers = _fetch(admin, front["url"] + "/login", {"username": "admin", "password": PASSWORD})
    assert status == 200 and 'id="sources"' in page, page[:500]
    superset = f"https://{ADDRESS}:{front['base'] + 1}"
    dashboards = re.findall(r'<a href="([^"]+/superset/dashboard/[^"]+)"', page)
    assert len(dashboards) >= 4 and all(u.startswith(superset + "/superset/dashboard/") for u in dashboards)
    assert "http://" not in page  # no plain link leaves the HTTPS page; Airflow and JupyterLab are named, not linked
    assert re.search(r'id="operations">Operations:\s*Airflow ·\s*JupyterLab', page), page
    # the session cookie carries Secure over HTTPS, and not on plain loopback (where it could not be sent back)
    cookie = _fetch(_https_opener(front["ca"]), front["url"] + "/login", {"username": "admin", "password": "x" * 9})
    assert cookie[0] == 401
    req = urllib.request.Request(front["url"] + "/login", data=urllib.parse.urlencode(
        {"username": "admin", "password": PASSWORD}).encode())
    no_redirect = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(front["ca"]))),
        type("NoRedirect", (urllib.request.HTTPRedirectHandler,), {"redirect_request": lambda *a, **k: None})())
    with pytest.raises(urllib.error.HTTPError) as over_https:
        no_redirect.open(req, timeout=20)
    assert over_https.value.code == 303
    assert "pde_session=" in over_https.value.headers["Set-Cookie"]
    assert "secure" in over_https.value.headers["Set-Cookie"].lower()
    local = f"http://127.0.0.1:{front['env']['PDE_WEB_PORT']}/login"
    with pytest.raises(urllib.error.HTTPError) as over_http:
        urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                         {"redirect_request": lambda *a, **k: None})()).open(
            urllib.request.Request(local, data=req.data), timeout=20)
    assert over_http.value.code == 303 and "secure" not in over_http.value.headers["Set-Cookie"].lower()
    # the same page on loopback links the loopback services
    plain = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    _, local_page, _ = _fetch(plain, local, {"username": "admin", "password": PASSWORD})
    assert f'href="http://127.0.0.1:{front["env"]["PDE_SUPERSET_PORT"]}/superset/dashboard/' in local_page


def test_nothing_answers_plain_http_on_the_network_address(front):
    refused = []
    for port in (80, 443, int(front["env"]["PDE_WEB_PORT"]), int(front["env"]["PDE_SUPERSET_PORT"]), 8080, 8888,
                 front["base"] + 2, front["base"] + 3):
        with socket.socket() as s:
            s.settimeout(5)
            refused.append(s.connect_ex((ADDRESS, port)) != 0)
    assert all(refused), refused
    # the HTTPS port itself serves no page to plain HTTP
    with pytest.raises(urllib.error.HTTPError) as plain:
        urllib.request.urlopen(f"http://{ADDRESS}:{front['base']}/login", timeout=10)
    body = plain.value.read().decode()
    assert plain.value.code == 400 and "HTTPS" in body and "password" not in body
    # while on 127.0.0.1 the home page is still plain HTTP, for this machine
    with urllib.request.urlopen(f"http://127.0.0.1:{front['env']['PDE_WEB_PORT']}/healthz", timeout=10) as r:
        assert r.read() == b"ok"


@pytest.mark.browser
def test_viewer_logs_in_over_https_in_chromium(front):
    from pde.services.browser import ChromiumMissing, chromium, new_page

    env = trusting_home(front["ca"], front["tmp"] / "partner-home")
    shot = front["tmp"] / "proxy-viewer.png"
    try:
        with chromium("the partner's browser", env=env, allow=(ADDRESS,)) as browser:
            page = new_page(browser, 1200, 900)
            first = page.goto(front["url"] + "/")
            security = first.security_details()
            page.fill("#username", VIEWER)
            page.fill("#password", VIEWER_PASSWORD)
            page.click("#login")
            page.wait_for_selector("#links")
            page.screenshot(path=str(shot), full_page=True)
            text = page.inner_text("main")
            hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.href)")
            cookies = {c["name"]: c for c in page.context.cookies()}
            page.goto(front["url"] + "/files/exports/cheatsheet.html")
            export = page.inner_text("h1")
            url = page.url
    except ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "proxy-viewer-home.png")
    assert shot.stat().st_size > 10_000
    assert security["issuer"] == "pde local CA - intermediate" and security["subjectName"] == "", security
    for title in ("House hunt", "Spending", "Fantasy", "Pipeline health", "cheatsheet.html"):
        assert title in text
    assert "Airflow" not in text and "JupyterLab" not in text and "Sources" not in text and "Inbox" not in text
    superset = f"https://{ADDRESS}:{front['base'] + 1}/superset/dashboard/"
    assert sum(h.startswith(superset) for h in hrefs) >= 4, hrefs
    assert not [h for h in hrefs if h.startswith("http://")], hrefs
    assert cookies["pde_session"]["secure"] is True and cookies["pde_session"]["httpOnly"] is True
    assert export == "cheat sheet" and url.startswith("https://")


def test_operations_only_with_their_setting_and_only_for_the_home_pages_admins(front, tmp_path):
    """PDE_PROXY_OPERATIONS=1 on a second address; Airflow's upstream is the home page, so a pass shows its answer."""
    base = free_ports_on(OTHER, 4)
    env = _clean_env(PDE_HOME=str(tmp_path / "home"), PDE_LISTEN=OTHER, PDE_PROXY_PORT=str(base),
                     PDE_PROXY_OPERATIONS="1", PDE_WEB_PORT=front["env"]["PDE_WEB_PORT"],
                     PDE_AIRFLOW_PORT=front["env"]["PDE_WEB_PORT"], PDE_JUPYTER_PORT=str(free_port()))
    without = run_pde("up", "proxy", env={**env, "PDE_PROXY_OPERATIONS": ""}, timeout=120)
    try:
        assert without.returncode == 0 and "starting the HTTPS proxy" in without.stdout, without.stderr
        with socket.socket() as s:
            assert s.connect_ex((OTHER, base + 2)) != 0  # Airflow's HTTPS port: nothing listens
        up = run_pde("up", "proxy", env=env, timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "restarting (its settings changed)" in up.stdout
        assert f"Airflow     https://{OTHER}:{base + 2}/" in up.stdout
        again = run_pde("up", "proxy", env=env, timeout=120)
        assert again.returncode == 0 and "starting" not in again.stdout
        assert f"JupyterLab  https://{OTHER}:{base + 3}/" in again.stdout
        ca = tmp_path / "home" / "proxy" / "data" / "pki" / "authorities" / "local" / "root.crt"
        home, airflow, jupyter = (f"https://{OTHER}:{base + i}" for i in (0, 2, 3))
        no_redirect = type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                           {"redirect_request": lambda *a, **k: None})()
        anonymous = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(ca))), no_redirect)
        status, _, headers = _fetch(anonymous, airflow + "/healthz")
        assert status == 303 and headers["Location"] == f"{home}/login?next=/"  # log in on the home page first
        assert _fetch(anonymous, jupyter + "/lab")[0] == 303
        viewer = _https_opener(ca)
        assert _fetch(viewer, home + "/login", {"username": VIEWER, "password": VIEWER_PASSWORD})[0] == 200
        assert _fetch(viewer, airflow + "/healthz")[0] == 403  # a viewer never reaches the operations
        admin = _https_opener(ca)
        status, page, _ = _fetch(admin, home + "/login", {"username": "admin", "password": PASSWORD})
        assert status == 200 and f'href="{airflow}"' in page and f'href="{jupyter}/lab"' in page
        assert _fetch(admin, airflow + "/healthz")[:2] == (200, "ok")  # the admin's cookie opens the port
        st = run_pde("status", "proxy", env=env)
        assert st.returncode == 0 and "HTTPS proxy: running" in st.stdout and "JupyterLab" in st.stdout
    finally:
        down = run_pde("down", "proxy", env=env)
    assert down.returncode == 0 and "HTTPS proxy stopped" in down.stdout, down.stderr
    st = run_pde("status", "proxy", env=env)
    assert st.returncode == 3 and "HTTPS proxy: stopped" in st.stdout
    with socket.socket() as s:
        assert s.connect_ex((OTHER, base)) != 0


@pytest.mark.browser
def test_admin_opens_jupyterlab_through_the_proxy_in_chromium(front, tmp_path):
    """JupyterLab accepts only local Host/Origin headers; behind the proxy its UI loads and lists the notebooks."""
    from pde.services.browser import ChromiumMissing, chromium, new_page

    if not (ROOT / ".venv-notebook" / "bin" / "jupyter-lab").exists():
        pytest.fail(".venv-notebook is missing: run `make setup` (it syncs the notebook group)", pytrace=False)
    base = free_ports_on(OTHER, 4)
    env = _clean_env(PDE_HOME=str(tmp_path / "home"), PDE_LISTEN=OTHER, PDE_PROXY_PORT=str(base),
                     PDE_PROXY_OPERATIONS="1", PDE_WEB_PORT=front["env"]["PDE_WEB_PORT"],
                     PDE_JUPYTER_PORT=str(free_port()), DATABASE_URL=front["env"]["DATABASE_URL"])
    try:
        notebook = run_pde("notebook", env=env, timeout=180)
        assert notebook.returncode == 0, notebook.stdout + notebook.stderr
        token = re.search(r"/lab\?token=(\S+)", notebook.stdout).group(1)
        up = run_pde("up", "proxy", env=env, timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        ca = tmp_path / "home" / "proxy" / "data" / "pki" / "authorities" / "local" / "root.crt"
        with chromium("an admin's browser", env=trusting_home(ca, tmp_path / "desk"), allow=(OTHER,)) as browser:
            page = new_page(browser, 1200, 800)
            page.goto(f"https://{OTHER}:{base}/")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_selector("#operations")
            page.click("#operations a:text('JupyterLab')")
            page.wait_for_url(f"https://{OTHER}:{base + 3}/**")
            page.goto(f"https://{OTHER}:{base + 3}/lab?token={token}")
            page.wait_for_selector(".jp-DirListing-item[title*='housing.ipynb'], "
                                   ".jp-DirListing-item:has-text('housing.ipynb')", timeout=60_000)
            listed = page.inner_text(".jp-DirListing-content")
            page.screenshot(path=str(tmp_path / "jupyter.png"))
    except ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        run_pde("down", "proxy", "jupyter", env=env, timeout=60)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(tmp_path / "jupyter.png", ARTIFACTS / "proxy-jupyterlab.png")
    assert {"housing.ipynb", "finance.ipynb", "fantasy.ipynb"} <= set(listed.split()), listed


def test_the_users_own_certificate(front, tmp_path):
    cert, key = tmp_path / "mine.crt", tmp_path / "mine.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                    "/CN=pde test", "-addext", f"subjectAltName=IP:{OTHER}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    base = free_ports_on(OTHER, 2)
    env = _clean_env(PDE_HOME=str(tmp_path / "home"), PDE_LISTEN=OTHER, PDE_PROXY_PORT=str(base),
                     PDE_WEB_PORT=front["env"]["PDE_WEB_PORT"], PDE_TLS_CERT=str(cert), PDE_TLS_KEY=str(key))
    up = run_pde("up", "proxy", env=env, timeout=120)
    try:
        assert up.returncode == 0 and "your certificate" in up.stdout, up.stdout + up.stderr
        status, body, _ = _fetch(_https_opener(cert), f"https://{OTHER}:{base}/healthz")
        assert (status, body) == (200, "ok")
        ca = run_pde("proxy", "ca", env=env)
        assert ca.returncode == 0 and f"SHA-256 fingerprint: {_openssl_fingerprint(cert)}" in ca.stdout
        with socket.create_connection((OTHER, base), timeout=10) as raw, \
                ssl.create_default_context(cafile=str(cert)).wrap_socket(raw, server_hostname=OTHER) as tls:
            served = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest().upper()
        assert served == _openssl_fingerprint(cert).replace(":", "")  # the very certificate, not one Caddy made
    finally:
        run_pde("down", "proxy", env=env)


def test_refusals_say_what_to_do(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    home = str(tmp_path / "home")
    no_caddy = run_pde("up", "proxy", env=_clean_env(PDE_HOME=home, PDE_LISTEN=OTHER, PATH=str(empty)))
    assert no_caddy.returncode == 2
    assert "caddy is not installed" in no_caddy.stderr and "scripts/system-deps.sh" in no_caddy.stderr

    unset = run_pde("up", "proxy", env=_clean_env(PDE_HOME=home))
    assert unset.returncode == 2 and "PDE_LISTEN is not set" in unset.stderr
    off = run_pde("status", "proxy", env=_clean_env(PDE_HOME=home))
    assert off.returncode == 0 and "HTTPS proxy: off" in off.stdout

    if shutil.which("caddy") is None:
        pytest.fail("caddy is not installed: run scripts/system-deps.sh (apt-get install caddy)", pytrace=False)
    cert = tmp_path / "mine.crt"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    no_key = run_pde("up", "proxy", env=_clean_env(PDE_HOME=home, PDE_LISTEN=OTHER, PDE_TLS_CERT=str(cert)))
    assert no_key.returncode == 2 and "PDE_TLS_CERT is set but PDE_TLS_KEY is not" in no_key.stderr

    base = free_ports_on(OTHER, 2)
    with socket.socket() as taken:
        taken.bind((OTHER, base + 1))
        taken.listen()
        busy = run_pde("up", "proxy", env=_clean_env(PDE_HOME=home, PDE_LISTEN=OTHER, PDE_PROXY_PORT=str(base)))
    assert busy.returncode == 2 and f"port {base + 1} on {OTHER}" in busy.stderr and "in use" in busy.stderr
    assert not (tmp_path / "home" / "proxy" / "caddy.pid").exists()


def test_plain_pde_up_starts_the_proxy_only_with_pde_listen(monkeypatch):
    from pde import services

    monkeypatch.delenv("PDE_LISTEN", raising=False)
    assert "proxy" not in services.default_up()
    monkeypatch.setenv("PDE_LISTEN", "0.0.0.0")
    assert services.default_up()[-1] == "proxy"


def test_doctor_says_whether_the_proxy_serves_pde_listen(front, tmp_path):
    def https_findings(env) -> list[dict]:
        proc = run_pde("doctor", "--json", env=env, timeout=180)
        return [f for f in json.loads(proc.stdout) if f["area"] == "https"]

    (running,) = https_findings(front["env"])
    assert running["status"] == "ok" and f"home page {front['url']}/" in running["text"], running
    (stopped,) = https_findings({**front["env"], "PDE_HOME": str(tmp_path / "home"), "PDE_LISTEN": OTHER})
    assert stopped["status"] == "FAIL" and "not running" in stopped["text"] and "pde up proxy" in stopped["todo"]
    assert https_findings(_clean_env(**{k: v for k, v in front["env"].items() if k != "PDE_LISTEN"})) == []
