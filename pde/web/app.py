"""The home page app (Starlette + Jinja2, served by uvicorn from .venv-airflow; pde/services/web.py starts it).

    /                 links (dashboards, Airflow, JupyterLab, exports, reports); for admins also each
                      source's freshness, the quarantine counts and the inbox with its upload form
    /events           what the watches found (dags/crawls.yaml watches:), each at #event-<id>: alerts link here
    /quarantine/NAME  the quarantined rows of one source and why (admins)
    /upload           POST: files into the inbox (admins)
    /files/exports/NAME, /files/reports/NAME   the files themselves
    /ca.crt           the HTTPS proxy's root certificate, for the partner's device to trust (no login)
    /auth/operations  the proxy's gate to Airflow and JupyterLab (Caddy's forward_auth): admins pass

Reached through the HTTPS proxy (pde/services/proxy.py; uvicorn takes the scheme from Caddy's
X-Forwarded-Proto), the page links the proxied HTTPS ports and marks its cookie Secure.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import psycopg2
import yaml
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from pde.db import PROJECT_ROOT, DatabaseError, database_url, exports_dir, pde_home
from pde.reports import reports_dir
from pde.schedule import inbox
from pde.services.proxy import Proxy
from pde.services.superset import _secret
from pde.web import records, users

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
MAX_UPLOAD = 50 * 1024 * 1024


def _port(var: str, default: int) -> int:
    return int(os.environ.get(var) or default)


def _proxied(request: Request | None) -> dict[str, str] | None:
    """{service: base URL} when the request came through pde's HTTPS proxy (it names its ports), else None."""
    if request is None or request.url.scheme != "https" or "x-pde-proxy" not in request.headers:
        return None
    host = request.url.hostname or ""
    host = f"[{host}]" if ":" in host else host
    out = {}
    for item in request.headers["x-pde-proxy"].split():
        name, _, port = item.partition("=")
        if port.isdigit():
            out[name] = f"https://{host}:{port}"
    return out


def links(request: Request | None = None) -> dict:
    """Where the other services are: their own ports on this machine's loopback, or the proxy's HTTPS ports."""
    proxied = _proxied(request)
    local = {"superset": f"http://127.0.0.1:{_port('PDE_SUPERSET_PORT', 8088)}",
             "airflow": f"http://127.0.0.1:{_port('PDE_AIRFLOW_PORT', 8080)}",
             "jupyter": f"http://127.0.0.1:{_port('PDE_JUPYTER_PORT', 8888)}"}
    if proxied is not None:  # Airflow and JupyterLab only when the proxy opens them (PDE_PROXY_OPERATIONS=1)
        local = {name: proxied.get(name) for name in local}
    superset = local["superset"] or ""
    dashboards = []
    for f in sorted((PROJECT_ROOT / "superset" / "assets" / "dashboards").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        title = doc.get("title") or doc.get("dashboard_title")
        dashboards.append((title, f"{superset}/superset/dashboard/{doc['slug']}/"))
    return {"superset": superset, "dashboards": dashboards, "airflow": local["airflow"],
            "jupyter": local["jupyter"] and local["jupyter"] + "/lab", "proxied": proxied is not None}


def _user(request: Request) -> tuple[str, str] | None:
    name, role = request.session.get("user"), request.session.get("role")
    return (name, role) if name and role in users.ROLES else None


def _login_first(request: Request) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def _forbidden() -> Response:
    return PlainTextResponse("Only an admin sees this page; ask the owner of this pde.", status_code=403)


async def home(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _login_first(request)
    ctx = {"request": request, "user": user[0], "admin": user[1] == "admin", "links": links(request),
           "exports": records.files(exports_dir()),
           "reports": records.files(reports_dir(), (".html", ".ipynb", ".pdf")),
           "message": request.query_params.get("message", "")}
    if ctx["admin"]:
        try:
            ctx["sources"] = records.freshness(request.app.state.database_url)
        except (DatabaseError, psycopg2.Error) as exc:  # the page still links everything else
            ctx["sources"], ctx["db_error"] = [], f"Cannot read the run records: {str(exc).strip()}"
        ctx["inbox"] = inbox.listing()
        ctx["inbox_dir"] = inbox.inbox_dir()
    return TEMPLATES.TemplateResponse(request, "home.html", ctx)


async def login(request: Request) -> Response:
    error = ""
    nxt = request.query_params.get("next", "/")
    if request.method == "POST":
        form = await request.form()
        role = users.authenticate(str(form.get("username", "")), str(form.get("password", "")))
        nxt = str(form.get("next") or "/")
        if role:
            request.session.update(user=str(form["username"]), role=role)
            return RedirectResponse(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/", status_code=303)
        error = "Wrong user name or password."
    return TEMPLATES.TemplateResponse(request, "login.html", {"request": request, "error": error, "next": nxt},
                                      status_code=401 if error else 200)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def events(request: Request) -> Response:
    """The watches' events: results, not operations, so viewers see them too."""
    user = _user(request)
    if user is None:
        return _login_first(request)
    baseline = request.query_params.get("baseline") == "1"
    ctx = {"request": request, "user": user[0], "baseline": baseline, "events": []}
    try:
        ctx["events"] = records.watch_events(request.app.state.database_url, baseline)
    except (DatabaseError, psycopg2.Error) as exc:
        ctx["db_error"] = f"Cannot read the watch events: {str(exc).strip()}"
    return TEMPLATES.TemplateResponse(request, "events.html", ctx)


async def quarantine(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _login_first(request)
    if user[1] != "admin":
        return _forbidden()
    spider = request.path_params["spider"]
    rows = records.quarantine_rows(request.app.state.database_url, spider)
    return TEMPLATES.TemplateResponse(request, "quarantine.html",
                                      {"request": request, "spider": spider, "rows": rows, "user": user[0]})


async def upload(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _login_first(request)
    if user[1] != "admin":
        return _forbidden()
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD:
        return PlainTextResponse(f"Too large: the inbox takes files up to {MAX_UPLOAD // 2**20} MiB.", 413)
    form = await request.form(max_part_size=MAX_UPLOAD)
    saved = []
    for item in form.getlist("file"):
        if hasattr(item, "read") and item.filename:
            saved.append(inbox.save_upload(item.filename, await item.read()).name)
    if not saved:
        return PlainTextResponse("No file was sent: choose a file (field name `file`).", status_code=400)
    msg = f"In the inbox: {', '.join(saved)}; the inbox DAG crawls it within {inbox.SCHEDULE_MINUTES} minutes."
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"saved": saved, "message": msg})
    return RedirectResponse(f"/?message={quote(msg)}#inbox", status_code=303)


async def file(request: Request) -> Response:
    if _user(request) is None:
        return _login_first(request)
    folder = {"exports": exports_dir(), "reports": reports_dir()}.get(request.path_params["kind"])
    name = request.path_params["name"]
    path = (folder or Path("/nonexistent")) / name
    if folder is None or "/" in name or name.startswith(".") or not path.is_file():
        return PlainTextResponse(f"No such file in {request.path_params['kind']}: {name}", status_code=404)
    return FileResponse(path)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def ca_certificate(request: Request) -> Response:
    """The local CA's root certificate (public): a phone or laptop installs it to trust the HTTPS proxy."""
    path = Proxy.default().root_cert
    if os.environ.get("PDE_TLS_CERT") or not path.is_file():
        return PlainTextResponse("This pde has no local CA certificate to install (it is not serving HTTPS through "
                                 "its own CA, or uses your own certificate).", status_code=404)
    return Response(path.read_bytes(), media_type="application/x-x509-ca-cert",
                    headers={"Content-Disposition": 'attachment; filename="pde-local-ca.crt"'})


async def operations_gate(request: Request) -> Response:
    """Caddy asks here before it lets a request through to Airflow or JupyterLab (PDE_PROXY_OPERATIONS=1).

    The home page's session cookie is sent to every port of the same host, so one admin login opens them;
    Airflow's and JupyterLab's own logins still follow.
    """
    user = _user(request)
    if user is not None and user[1] == "admin":
        return PlainTextResponse("ok")
    home = (_proxied(request) or {}).get("web")
    if user is None and home:
        return RedirectResponse(f"{home}/login?next=/", status_code=303)
    return _forbidden()


class SecureCookiesOverHttps:
    """Marks every cookie Secure on requests that came over HTTPS (through the proxy); plain loopback is untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("scheme") != "https":
            return await self.app(scope, receive, send)

        async def send_secure(message):
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v + b"; secure" if k.lower() == b"set-cookie" and b"secure" not in v.lower()
                                       else v) for k, v in message.get("headers", [])]
            await send(message)

        return await self.app(scope, receive, send_secure)


def create_app(db_url: str | None = None) -> Starlette:
    key = _secret(pde_home() / "web" / "session-key", "PDE_WEB_SECRET_KEY", nbytes=32)[0]
    app = Starlette(routes=[
        Route("/", home), Route("/login", login, methods=["GET", "POST"]), Route("/logout", logout),
        Route("/events", events), Route("/quarantine/{spider}", quarantine), Route("/upload", upload, methods=["POST"]),
        Route("/files/{kind:str}/{name:str}", file), Route("/healthz", healthz), Route("/ca.crt", ca_certificate),
        Route("/auth/operations", operations_gate),
    ], middleware=[Middleware(SecureCookiesOverHttps),
                   Middleware(SessionMiddleware, secret_key=key, session_cookie="pde_session", same_site="strict",
                              https_only=os.environ.get("PDE_WEB_HTTPS") == "1", max_age=14 * 24 * 3600)])
    app.state.database_url = db_url or database_url(start=False)
    return app
