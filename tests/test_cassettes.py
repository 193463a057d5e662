"""Recording a live crawl into a cassette (against a local server), with secrets scrubbed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from betamax.cassette import Cassette

from pde import cassettes
from tests.conftest import run_crawl

SECRET_TOKEN = "tok-9f8e7d6c5b4a-very-secret"
GZIPPED = None


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        import gzip

        n = int(self.path.split("/")[-1].split(".")[0])
        body = json.dumps({"things": [{"id": n, "name": f"thing {n}", "price": n,
                                       "note": f"echo {SECRET_TOKEN}"}],
                           "next": 2 if n == 1 else None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", f"session={SECRET_TOKEN}; Path=/; HttpOnly")
        if n == 2:  # a compressed body must round-trip byte for byte
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def local_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_record_then_replay_offline(pg_url, tmp_path, pde_home, local_site, monkeypatch):
    out = tmp_path / "recorded.json"
    # the spider's start URL is https://things.test/...; point it at the local site via -a url
    p = run_crawl("selftest_things", db=pg_url, args={"url": f"{local_site}/page/1.json"},
                  settings={"PDE_RECORD": str(out),
                            "DEFAULT_REQUEST_HEADERS": json.dumps({"Authorization": f"Bearer {SECRET_TOKEN}"})},
                  env={"THINGS_API_TOKEN": SECRET_TOKEN})
    assert p.returncode == 0, p.stderr[-3000:]
    text = out.read_text()
    assert SECRET_TOKEN not in text, "a secret reached the cassette"
    assert SECRET_TOKEN not in p.stderr, "a secret reached the log"
    doc = json.loads(text)
    assert [i["request"]["uri"] for i in doc["http_interactions"]] == [f"{local_site}/page/1.json",
                                                                       f"{local_site}/page/2.json"]
    first = doc["http_interactions"][0]
    assert first["request"]["headers"]["Authorization"] == [cassettes.PLACEHOLDER]
    assert first["response"]["headers"]["Set-Cookie"][0].startswith(f"session={cassettes.PLACEHOLDER}; Path=/")
    assert "<SECRET:THINGS_API_TOKEN>" in first["response"]["body"]["string"]
    second = doc["http_interactions"][1]["response"]["body"]
    assert "base64_string" in second  # gzip bytes stored exactly

    # betamax itself reads what we wrote
    cas = Cassette(out.stem, "json", cassette_library_dir=str(out.parent), record_mode="none")
    assert len(cas.interactions) == 2

    # replay: same rows again, nothing fetched (the local server is not needed any more)
    p2 = run_crawl("selftest_things", db=pg_url, cassette=out, args={"url": f"{local_site}/page/1.json"})
    assert p2.returncode == 0, p2.stderr[-3000:]
    assert "'pde/cassette_replayed': 2" in p2.stderr


def test_replay_of_a_missing_cassette_fails_instead_of_creating_one(tmp_path):
    with pytest.raises(cassettes.CassetteError, match="does not exist"):
        cassettes.Replayer(tmp_path / "nope.json")
    assert not (tmp_path / "nope.json").exists()


def test_scrubbing_of_urls_and_bodies():
    assert cassettes.scrub_url("https://a.test/x?api_key=123&q=1") == "https://a.test/x?api_key=REDACTED&q=1"
    body = cassettes.scrub_body(b'{"client_id": "c", "secret": "s3cr3t", "access_token": "access-x", "cursor": "abc"}')
    assert json.loads(body) == {"client_id": "c", "secret": cassettes.PLACEHOLDER,
                                "access_token": cassettes.PLACEHOLDER, "cursor": "abc"}
    assert cassettes.scrub_body(b"user=me&password=hunter2") == b"user=me&password=REDACTED"
    ofx = b"<SIGNONMSGSRQV1><SONRQ><USERID>me<USERPASS>hunter2\n<LANGUAGE>ENG"
    assert b"hunter2" not in cassettes.scrub_body(ofx)
