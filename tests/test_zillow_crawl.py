"""zillow_listings end to end: real `scrapy crawl`, replayed cassettes, a real PostgreSQL.

The parser itself is pinned field by field in test_zillow_listings.py; here we
check what lands in the tables, history, blocking, saved files and rendering.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import pytest

from pde import cassettes
from tests.conftest import FIXTURES, run_crawl

ZL = FIXTURES / "zillow_listings"
PAGE_04011 = ZL / "zillow-search-04011-20250601.html"


def q(url, sql, args=None):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def crawl_cassette(name, db, **kw):
    path = ZL / name
    return run_crawl("zillow_listings", db=db, cassette=path, args=cassettes.metadata(path)["args"], **kw)


def page_rows():
    html = PAGE_04011.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script id="__NEXT_DATA__"[^>]*>(.*?)</script>', html, re.S).group(1))
    return data["props"]["pageProps"]["searchPageState"]["cat1"]["searchResults"]["listResults"]


def test_search_page_lands_every_listing(pg_url, pde_home):
    p = crawl_cassette("search_04011.json", pg_url)
    assert p.returncode == 0, p.stderr[-3000:]
    expected = {r["zpid"] for r in page_rows()}
    got = dict(q(pg_url, "SELECT zpid, price FROM housing.listings"))
    assert set(got) == expected and len(got) == 36
    unit = next(r for r in page_rows() if not r.get("isBuilding") and r.get("unformattedPrice"))
    assert got[unit["zpid"]] == unit["unformattedPrice"]
    assert q(pg_url, "SELECT count(*) FROM housing.listings WHERE is_building") == [(6,)]
    assert q(pg_url, "SELECT status, items_scraped, items_quarantined FROM platform.runs") == [("succeeded", 36, 0)]
    # every -a argument is recorded, including those the spider's __init__ consumes itself
    # (the run record also keeps the declared defaults it ran with: pages, details)
    [(recorded,)] = q(pg_url, "SELECT args FROM platform.runs")
    given = cassettes.metadata(ZL / "search_04011.json")["args"]
    assert given and given.items() <= recorded.items(), (given, recorded)


def test_price_cut_shows_in_price_changes(pg_url, pde_home, tmp_path):
    assert crawl_cassette("search_04011.json", pg_url).returncode == 0
    unit = next(r for r in page_rows() if not r.get("isBuilding") and r.get("unformattedPrice"))
    old = unit["unformattedPrice"]
    original = PAGE_04011.read_text(encoding="utf-8")
    m = re.search(r'(<script id="__NEXT_DATA__"[^>]*>)(.*?)(</script>)', original, re.S)
    data = json.loads(m.group(2))
    rows = data["props"]["pageProps"]["searchPageState"]["cat1"]["searchResults"]["listResults"]
    row = next(r for r in rows if r["zpid"] == unit["zpid"])
    row["unformattedPrice"] -= 100
    if row.get("hdpData"):
        row["hdpData"]["homeInfo"]["price"] = row["unformattedPrice"]
    html = original[:m.start(2)] + json.dumps(data).replace("</", "<\\/") + original[m.end(2):]
    meta = cassettes.metadata(ZL / "search_04011.json")
    doc = json.loads((ZL / "search_04011.json").read_text())
    url = doc["http_interactions"][0]["request"]["uri"]
    cut = cassettes.build_cassette(tmp_path / "cut.json",
                                   [cassettes.interaction(url, html.encode(), headers={"Content-Type": "text/html"})],
                                   spider="zillow_listings", args=meta["args"])
    p = run_crawl("zillow_listings", db=pg_url, cassette=cut, args=meta["args"])
    assert p.returncode == 0, p.stderr[-3000:]
    changed = q(pg_url, "SELECT zpid, old_price, new_price, change FROM housing.price_changes "
                        "WHERE change < 0 AND changed_at > now() - interval '7 days'")
    [(zpid, old_price, new_price, change)] = changed
    assert zpid == unit["zpid"]
    assert (old_price, new_price, change) == (old, old - 100, -100)
    assert q(pg_url, "SELECT updated, unchanged FROM platform.run_tables WHERE run_id = 2") == [(1, 35)]


def test_details_page_adds_price_and_tax_history(pg_url, pde_home):
    p = crawl_cassette("details_84890001.json", pg_url)
    assert p.returncode == 0, p.stderr[-3000:]
    [(listed,)] = q(pg_url, "SELECT listed_date FROM housing.listings WHERE zpid = '84890001'")
    assert listed is not None
    assert q(pg_url, "SELECT count(*) FROM housing.price_history WHERE zpid = '84890001'")[0][0] >= 2
    assert q(pg_url, "SELECT count(*) FROM housing.tax_history WHERE zpid = '84890001'")[0][0] >= 1


def test_block_page_is_detected(pg_url, pde_home):
    p = crawl_cassette("blocked.json", pg_url)
    assert p.returncode == 3
    assert "Blocked:" in p.stderr and "px-captcha" in p.stderr
    assert q(pg_url, "SELECT status, items_scraped FROM platform.runs") == [("blocked", 0)]
    assert q(pg_url, "SELECT count(*) FROM housing.listings") == [(0,)]


def test_saved_page_crawls_like_the_live_one(pg_url, pde_home, tmp_path):
    saved = tmp_path / "my search.html"
    shutil.copy(ZL / "zillow-search-boston-20260402-1.html", saved)
    p = run_crawl("zillow_listings", db=pg_url, args={"url": str(saved)})
    assert p.returncode == 0, p.stderr[-3000:]
    ids = {r[0] for r in q(pg_url, "SELECT zpid FROM housing.listings")}
    html = saved.read_text(encoding="utf-8")
    assert ids == set(re.findall(r'data-testid="property-card" id="zpid_([^"]+)"', html))
    assert len(ids) == 9


JS_PAGE = """<!doctype html><html><head><title>Boston MA Rentals</title></head><body>
<div id="grid"></div>
<script>
  // the cards exist only after this script runs, as on Zillow's client-rendered pages
  const cards = [["98765432", "$3,150/mo", "12 Example St, Boston, MA 02114", ["2 bds", "1 ba", "850 sqft"]],
                 ["98765433", "$2,400/mo", "14 Example St, Boston, MA 02114", ["1 bd", "1 ba", "600 sqft"]]];
  document.getElementById("grid").innerHTML = cards.map(([id, price, addr, facts]) => `
    <article data-testid="property-card" id="zpid_${id}">
      <span data-testid="property-card-price">${price}</span>
      <a data-testid="property-card-link" href="/homedetails/${id}_zpid/"><address>${addr}</address></a>
      <ul>${facts.map(f => `<li>${f}</li>`).join("")}</ul>
    </article>`).join("");
</script></body></html>"""


@pytest.fixture
def js_site(tmp_path):
    (tmp_path / "search.html").write_text(JS_PAGE)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/search.html"
    server.shutdown()


@pytest.mark.browser
def test_javascript_page_needs_and_gets_the_browser(pg_url, pde_home, js_site):
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: run scripts/system-deps.sh (.ci/run does)")
    plain = run_crawl("zillow_listings", db=pg_url, args={"url": js_site})
    assert plain.returncode == 1  # without JavaScript the page has no cards: a parse error, not silence
    rendered = run_crawl("zillow_listings", db=pg_url, args={"url": js_site}, settings={"PDE_BROWSER": "1"})
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    assert sorted(q(pg_url, "SELECT zpid, price FROM housing.listings")) == [("98765432", 3150), ("98765433", 2400)]


def test_browser_tls_fingerprint_handler_fetches_the_page(pg_url, pde_home, tmp_path):
    """-s PDE_IMPERSONATE=1 sends requests through curl_cffi (scrapy-impersonate), here to a local server."""
    shutil.copy(ZL / "zillow-search-boston-20260402-1.html", tmp_path / "boston.html")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/boston.html"
        p = run_crawl("zillow_listings", db=pg_url, args={"url": url, "pages": 1}, settings={"PDE_IMPERSONATE": "1"})
    finally:
        server.shutdown()
    assert p.returncode == 0, p.stderr[-3000:]
    assert "'impersonate/response_bytes'" in p.stderr  # the request really went through curl_cffi
    assert q(pg_url, "SELECT count(*) FROM housing.listings") == [(9,)]
