"""Recorded HTTP in betamax's cassette format: build, scrub, save, and find a match.

A cassette is ``fixtures/<spider>/<name>.json``::

    {"http_interactions": [{"request": {...}, "response": {...}, "recorded_at": ...}],
     "recorded_with": "...",
     "pde": {"spider": "zillow_listings", "args": {...}, "provenance": "..."}}

The ``pde`` block (ignored by betamax) says which crawl replays it, so
``make demo`` and the tests run each cassette with the arguments it was
recorded with. Bodies are stored as text when they round-trip exactly, else as
base64. Secrets are scrubbed *before* anything is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import betamax
import requests
from betamax.cassette import Cassette

from pde.secrets import SECRET_ENV, SECRET_FIELDS, URL_PLACEHOLDER  # noqa: F401  (re-exported)
from pde.secrets import secret_values as _secret_values

PLACEHOLDER = "<REDACTED>"
#: request headers whose values are credentials
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key", "x-auth-token"}


class CassetteError(RuntimeError):
    pass


# -- scrubbing -----------------------------------------------------------------
def secret_values() -> dict[str, str]:
    """Values of secret-looking environment variables (>= 6 chars) and DSN passwords -> their name."""
    return _secret_values()


def scrub_text(text: str, secrets: dict[str, str] | None = None) -> str:
    for value, name in (secrets if secrets is not None else secret_values()).items():
        text = text.replace(value, f"<SECRET:{name}>")
    return text


def scrub_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, URL_PLACEHOLDER if SECRET_FIELDS.match(k) else v) for k, v in parse_qsl(parts.query,
                                                                                         keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe=",:/")))


def scrub_body(body: bytes, content_type: str = "") -> bytes:
    """Replace secret fields in JSON or form bodies, and secret env values anywhere."""
    if not body:
        return body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            text = json.dumps(_scrub_json(json.loads(text)), separators=(",", ":"))
        except ValueError:
            pass
    elif "=" in text and "\n" not in text.strip() and "<" not in text:
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs:
            text = urlencode([(k, URL_PLACEHOLDER if SECRET_FIELDS.match(k) else v) for k, v in pairs])
    text = re.sub(r"(<(USERPASS|USERKEY|PIN)>)[^<\r\n]*", rf"\1{PLACEHOLDER}", text)  # OFX sign-on
    return scrub_text(text).encode("utf-8")


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (PLACEHOLDER if SECRET_FIELDS.match(str(k)) and isinstance(v, str) else _scrub_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def scrub_headers(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    out = {}
    for name, values in headers.items():
        low = name.lower()
        if low in SECRET_HEADERS:
            values = [PLACEHOLDER]
        elif low == "set-cookie":  # keep the cookie's name and attributes, not its value
            values = [re.sub(r"^([^=]+)=[^;]*", rf"\1={PLACEHOLDER}", v) for v in values]
        else:
            values = [scrub_text(v) for v in values]
        out[name] = values
    return out


# -- building ------------------------------------------------------------------
def _body(data: bytes, encoding: str | None = "utf-8") -> dict[str, Any]:
    """Text when it round-trips exactly, base64 otherwise (gzip, images, cp1252 ...)."""
    try:
        text = data.decode("utf-8")
        if text.encode("utf-8") == data:
            return {"encoding": "utf-8", "string": text}
    except UnicodeDecodeError:
        pass
    return {"encoding": encoding, "base64_string": base64.b64encode(data).decode("ascii")}


def body_bytes(body: dict[str, Any]) -> bytes:
    if body.get("base64_string"):
        return base64.b64decode(body["base64_string"])
    return (body.get("string") or "").encode(body.get("encoding") or "utf-8")


def request_secrets(url: str, headers: dict[str, list[str]], body: bytes = b"") -> dict[str, str]:
    """Credentials a request carried (auth headers, secret query/form fields) -> a name, to scrub wherever echoed."""
    found: dict[str, str] = {}
    for name, values in headers.items():
        if name.lower() in SECRET_HEADERS - {"cookie"}:
            for v in values:
                token = v.split(" ", 1)[1] if " " in v.strip() else v  # "Bearer <token>"
                if len(token.strip()) >= 6:
                    found[token.strip()] = name.lower()
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    try:
        text = body.decode("utf-8") if body else ""
    except UnicodeDecodeError:
        text = ""
    if text and "=" in text and "\n" not in text.strip():
        pairs += parse_qsl(text, keep_blank_values=True)
    found.update({v: k for k, v in pairs if SECRET_FIELDS.match(k) and len(v) >= 6})
    return found


def _scrub_echo(body: bytes, headers: dict[str, list[str]], sent: dict[str, str]) -> bytes:
    """A response body with the request's credentials removed (servers echo tokens back), gzip included."""
    if not sent or not body:
        return body
    if "gzip" in str(headers).lower():
        try:
            raw = gzip.decompress(body)
        except OSError:
            return body
        clean = _replace_all(raw, sent)
        return body if clean == raw else gzip.compress(clean, mtime=0)
    return _replace_all(body, sent)


def _replace_all(data: bytes, sent: dict[str, str]) -> bytes:
    for value in sorted(sent, key=len, reverse=True):
        data = data.replace(value.encode("utf-8"), f"<SECRET:{sent[value]}>".encode())
    return data


def interaction(
    url: str,
    body: bytes,
    *,
    method: str = "GET",
    status: int = 200,
    headers: dict[str, list[str] | str] | None = None,
    request_body: bytes = b"",
    request_headers: dict[str, list[str] | str] | None = None,
    recorded_at: str | None = None,
) -> dict[str, Any]:
    """One request/response pair, scrubbed, in betamax's serialized form."""
    norm = lambda h: {k: (v if isinstance(v, list) else [v]) for k, v in (h or {}).items()}  # noqa: E731
    env_secrets = secret_values()  # scrubbed later under their variable's name
    sent = {v: n for v, n in request_secrets(url, norm(request_headers), request_body).items() if v not in env_secrets}
    resp_headers = scrub_headers({k: [scrub_text(v, sent) for v in vs] for k, vs in norm(headers).items()})
    content_type = next((v[0] for k, v in resp_headers.items() if k.lower() == "content-type"), "")
    body = _scrub_echo(body, resp_headers, sent)
    return {
        "request": {
            "method": method.upper(),
            "uri": scrub_url(url),
            "headers": scrub_headers(norm(request_headers)),
            "body": _body(scrub_body(request_body)),
        },
        "response": {
            "status": {"code": status, "message": ""},
            "headers": resp_headers,
            "body": _body(body if "gzip" in str(resp_headers).lower() else scrub_body(body, content_type)),
            "url": scrub_url(url),
        },
        "recorded_at": recorded_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    }


def build_cassette(
    path: str | Path,
    interactions: list[dict[str, Any]],
    *,
    spider: str,
    args: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    provenance: str = "",
    expect: str = "succeeded",
) -> Path:
    """Write a cassette replayed by ``scrapy crawl <spider> -a k=v ...``.

    ``interactions`` come from :func:`interaction` (e.g. a real capture wrapped
    as the response to the URL that would have served it). ``expect`` is the run
    status the replay should end with (``blocked`` for a captured block page).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "http_interactions": interactions,
        "recorded_with": f"betamax/{betamax.__version__} via pde",
        "pde": {"spider": spider, "args": args or {}, "settings": settings or {},
                "provenance": provenance, "expect": expect},
    }
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def metadata(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8")).get("pde", {})


def all_cassettes(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*.json") if "http_interactions" in p.read_text(encoding="utf-8")[:4096])


# -- replay ----------------------------------------------------------------------
class Replayer:
    """Finds the recorded response for a request, using betamax's own matchers."""

    MATCH_ON = ("method", "uri", "body")

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.exists():  # betamax would silently create an empty one
            raise CassetteError(f"Cassette {path} does not exist.")
        self.path = path
        self.cassette = Cassette(
            path.stem, "json", cassette_library_dir=str(path.parent),
            record_mode="none", allow_playback_repeats=True,
        )
        self.cassette.match_options = set(self.MATCH_ON)
        if not self.cassette.interactions:
            raise CassetteError(f"Cassette {path} holds no interactions.")

    def find(self, method: str, url: str, body: bytes = b"") -> dict[str, Any] | None:
        prepared = requests.Request(method, scrub_url(url), data=scrub_body(body) or None).prepare()
        found = self.cassette.find_match(prepared)
        return found.data["response"] if found is not None else None
