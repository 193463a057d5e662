"""pde benchmarks: each figure is measured against a baseline in the same process.

    make bench            # all of them; writes benchmarks/results.json
    python benchmarks/run.py load parse startup

Figures (targets from the issues):
  load.rows_per_s, load.copy_rows_per_s, load.ratio_vs_copy (>= 0.5)
      100,000 listing items through the real pipeline (validation + upsert with
      history) vs plain COPY of the same rows into an empty table.
  load.unchanged_rows_written (0), load.unchanged_rows_per_s
      re-loading the same 100,000 items.
  parse.pages_per_s, parse.ratio_vs_json
      the real 1.3 MB Zillow search page through the spider vs json.loads of its
      embedded JSON alone.
  startup.overhead_s (< 0.5)
      `scrapy list` wall time minus `python -c "import scrapy"`.
Other scripts in this folder (Airflow parse time, Superset render time, the
models' metrics on the fixtures: models.py, run in .venv-notebook) add their
figures to the same file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
RESULTS = ROOT / "benchmarks" / "results.json"
N_ROWS = int(os.environ.get("PDE_BENCH_ROWS", 100_000))


def record(results: dict, name: str, value: float, note: str = "") -> None:
    results[name] = round(value, 4) if isinstance(value, float) else value
    print(f"  {name:<34} {results[name]:>14,}  {note}", flush=True)


def make_listings(n: int, seed: int = 7):
    from scrapers.housing.records import Listing

    rnd = random.Random(seed)
    cities = [("Brunswick", "ME", "04011"), ("Boston", "MA", "02114"), ("Portland", "ME", "04101"), ("Bath", "ME", "04530")]
    items = []
    for i in range(n):
        city, state, zipc = cities[i % len(cities)]
        building = i % 20 == 0
        items.append(Listing(
            zpid=f"{43.9 + i / 1e6:.6f}--{-69.9 - i / 1e6:.6f}" if building else str(10_000_000 + i),
            url=f"https://www.zillow.com/homedetails/{10_000_000 + i}_zpid/",
            address=f"{i % 900 + 1} Main St, {city}, {state} {zipc}",
            street=f"{i % 900 + 1} Main St", city=city, state=state, zip=zipc,
            price=rnd.randrange(800, 900_000), price_text=None,
            beds=Decimal(rnd.randrange(0, 6)), baths=Decimal(rnd.randrange(2, 9)) / 2,
            sqft=rnd.randrange(300, 5000), latitude=43.9 + rnd.random() / 10, longitude=-69.9 - rnd.random() / 10,
            home_type=rnd.choice(["SINGLE_FAMILY", "CONDO", "APARTMENT", "TOWNHOUSE"]),
            status=rnd.choice(["FOR_SALE", "FOR_RENT"]), status_text="House for sale",
            days_on_market=rnd.randrange(0, 200), zestimate=rnd.randrange(100_000, 900_000),
            rent_zestimate=rnd.randrange(900, 4000), year_built=rnd.randrange(1850, 2025),
            is_building=building, units=[{"price": "$2,225+", "beds": "1"}] if building else None,
            search="bench",
        ))
    return items


def bench_load(results: dict, url: str) -> None:
    import psycopg2
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from pde.runs import run_of
    from pipelines.postgres import PostgresPipeline
    from pipelines.upsert import TableWriter
    from pipelines.validate import ValidatePipeline
    from scrapers.housing.records import Listing

    print(f"load: {N_ROWS:,} listing items", flush=True)
    items = make_listings(N_ROWS)
    writer = TableWriter(Listing)
    conn = psycopg2.connect(url)
    cur = conn.cursor()

    # baseline: plain COPY of the same rows (already tuples) into an empty table
    cols = ", ".join(f'"{n}"' for n in writer.names)
    tuples = [tuple(json.dumps(v) if isinstance(v, (list, dict)) else v for v in writer._get(i)) for i in items]

    def copy_once():
        cur.execute("DROP TABLE IF EXISTS public.bench_copy")
        cur.execute(f"CREATE TABLE public.bench_copy AS SELECT {cols} FROM housing.listings WITH NO DATA")
        conn.commit()
        t0 = time.perf_counter()
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(tuples)
        buf.seek(0)
        cur.copy_expert(f"COPY public.bench_copy ({cols}) FROM STDIN WITH (FORMAT csv)", buf)
        conn.commit()
        return time.perf_counter() - t0

    class BenchSpider(Spider):
        name = "bench"

    def run_pipeline(batch):
        crawler = get_crawler(BenchSpider, {"DATABASE_URL": url})  # default settings
        crawler.spider = BenchSpider()
        validate, store = ValidatePipeline.from_crawler(crawler), PostgresPipeline.from_crawler(crawler)
        t = time.perf_counter()
        for item in batch:
            store.process_item(validate.process_item(item))
        store.close_spider()
        return time.perf_counter() - t, run_of(crawler)

    def load_once():
        cur.execute("TRUNCATE housing.listings, housing.listings_history")
        conn.commit()
        took, run = run_pipeline(make_listings(N_ROWS))
        assert run.tables["housing.listings"].inserted == N_ROWS, run.tables
        return took

    # alternate the two, three times each, and compare medians: a checkpoint or a
    # busy neighbour then skews neither side alone
    copy_times, load_times = [], []
    for _ in range(3):
        copy_times.append(copy_once())
        load_times.append(load_once())
    cur.execute("DROP TABLE public.bench_copy")
    conn.commit()
    copy_s, load_s = statistics.median(copy_times), statistics.median(load_times)
    record(results, "load.copy_rows_per_s", N_ROWS / copy_s, "baseline: COPY into an empty table (median of 3)")
    record(results, "load.rows_per_s", N_ROWS / load_s, "validate + upsert with history (median of 3)")
    record(results, "load.ratio_vs_copy", copy_s / load_s, "target >= 0.5")

    cur.execute("SELECT txid_current()")
    before = cur.fetchone()[0]
    conn.commit()
    again = make_listings(N_ROWS)  # equal values, new objects: what a nightly re-crawl produces
    reload_s, _ = run_pipeline(again)
    cur.execute("SELECT count(*) FROM housing.listings WHERE xmin::text::bigint > %s", (before % 2**32,))
    written = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM housing.listings_history")
    history = cur.fetchone()[0]
    record(results, "load.unchanged_rows_written", written + history, "target 0")
    record(results, "load.unchanged_rows_per_s", N_ROWS / reload_s)
    conn.close()


def bench_parse(results: dict) -> None:
    import re

    from scrapy.http import HtmlResponse

    from scrapers.housing.zillow_listings import ZillowListingsSpider

    page = ROOT / "fixtures" / "zillow_listings" / "zillow-search-04011-20250601.html"
    body = page.read_bytes()
    embedded = re.search(rb'<script id="__NEXT_DATA__"[^>]*>(.*?)</script>', body, re.S).group(1).decode()
    spider = ZillowListingsSpider()
    url = "https://www.zillow.com/brunswick-me-04011/rentals/"

    def parse_once():
        response = HtmlResponse(url=url, body=body, encoding="utf-8")
        return sum(1 for _ in spider.parse(response))

    assert parse_once() > 0
    n = 30
    t = time.perf_counter()
    for _ in range(n):
        parse_once()
    parse_s = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        json.loads(embedded)
    json_s = (time.perf_counter() - t) / n
    print("parse: the real 1.3 MB Zillow search page", flush=True)
    record(results, "parse.pages_per_s", 1 / parse_s, f"({parse_s * 1000:.1f} ms per page)")
    record(results, "parse.json_loads_per_s", 1 / json_s, "baseline: json.loads of the embedded JSON")
    record(results, "parse.ratio_vs_json", json_s / parse_s, "spider throughput / json.loads throughput")


def bench_startup(results: dict) -> None:
    def wall(cmd):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    print("startup: `scrapy list` vs `python -c 'import scrapy'` (median of 5)", flush=True)
    base = wall([sys.executable, "-c", "import scrapy"])
    full = wall([sys.executable, "-m", "scrapy", "list"])
    record(results, "startup.import_scrapy_s", base)
    record(results, "startup.scrapy_list_s", full)
    record(results, "startup.overhead_s", full - base, "target < 0.5")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ["load", "parse", "startup", "airflow", "superset", "models"]
    parser.add_argument("only", nargs="*", metavar="NAME", help=f"run only these: {', '.join(names)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(names)}")
    chosen = set(args.only or names)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}

    if "load" in chosen:
        import psycopg2

        from pde.db import EmbeddedPostgres, free_port
        from pde.migrate import migrate

        home = Path(tempfile.mkdtemp(prefix="pde-bench-"))
        os.chmod(home, 0o755)
        pg = EmbeddedPostgres(home=home, port=free_port())
        try:
            pg.start()
            conn = psycopg2.connect(pg.url)
            migrate(conn, log=lambda m: None)
            conn.close()
            bench_load(results, pg.url)
        finally:
            pg.destroy()
    if "parse" in chosen:
        bench_parse(results)
    if "startup" in chosen:
        bench_startup(results)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    from pde.envs import notebook_python

    for extra, script, python in (("airflow", "airflow_parse.py", sys.executable),
                                  ("superset", "superset_render.py", sys.executable),
                                  ("models", "models.py", notebook_python())):
        path = ROOT / "benchmarks" / script
        if extra in chosen and path.exists():
            subprocess.run([python, str(path)], cwd=ROOT, check=False)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
