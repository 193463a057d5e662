"""pde benchmarks: each figure is measured against a baseline in the same process.

    make bench            # all of them; writes benchmarks/results.json
    python benchmarks/run.py load crawl parse startup
    PDE_BENCH_ROWS=10000 PDE_BENCH_ROUNDS=2 python benchmarks/run.py load   # a quick look

Ratios come from paired rounds (PDE_BENCH_ROUNDS, default 5): baseline and pde run back
to back, alternating which goes first, one ratio per round; the median is reported
with its min and max (name_min, name_max).

Figures (targets from the issues):
  load.ratio_vs_copy (>= 0.8), load.reload_ratio_vs_copy (>= 0.8)
      100,000 listing items through the real pipeline (validation, write with
      history) vs plain COPY of the same rows into the same table shape with its
      primary key; first load into an empty table, and an unchanged reload.
  load.unchanged_rows_written (0)
      rows the reload wrote to listings and listings_history (pg_stat_user_tables).
  load.vs_dlt, load.vs_dlt_reload (>= 5), load.dlt_reload_rows_written
      the same rows through dlt's merge (write_disposition="merge", primary key),
      run from .venv-bench (uv group `bench`) by benchmarks/dlt_load.py.
  crawl.fixture_s_no_bytecode, crawl.fixture_s_bytecode
      a fixture crawl (`scrapy crawl zillow_listings` replaying its cassette),
      with no cached bytecode and with it.
  parse.pages_per_s, parse.ratio_vs_json
      the real 1.3 MB Zillow search page through the spider vs json.loads of its
      embedded JSON alone.
  startup.overhead_s (< 0.5)
      `scrapy list` wall time minus `python -c "import scrapy"`, per round; also in
      CPU seconds (startup.overhead_cpu_s), which a busy machine inflates less.
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
    cities = [("Brunswick", "ME", "04011"), ("Boston", "MA", "02114"), ("Portland", "ME", "04101"),
              ("Bath", "ME", "04530")]
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


def paired(results: dict, name: str, ratios: list[float], note: str) -> None:
    """A ratio measured in paired rounds: the median, with the spread beside it."""
    record(results, name, statistics.median(ratios), f"{note} (median of {len(ratios)} paired rounds)")
    record(results, name + "_min", min(ratios))
    record(results, name + "_max", max(ratios))


def rows_written(cur, tables: list[str]) -> int:
    """Rows inserted, updated and deleted in these tables, from pg_stat_user_tables (cumulative)."""
    cur.execute("SELECT pg_stat_clear_snapshot()")
    cur.execute(
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
        "WHERE schemaname || '.' || relname = ANY(%s)", (tables,))
    return int(cur.fetchone()[0])


def settled_rows_written(cur, tables: list[str], before: int) -> int:
    """Written rows since ``before``; backends report their counts to pg_stat within a second of going idle."""
    time.sleep(1.2)
    return rows_written(cur, tables) - before


def bench_load(results: dict, url: str) -> None:
    import psycopg2
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from pde.runs import run_of
    from pipelines.postgres import PostgresPipeline
    from pipelines.upsert import TableWriter
    from pipelines.validate import ValidatePipeline
    from scrapers.housing.records import Listing

    rounds = int(os.environ.get("PDE_BENCH_ROUNDS", 5))
    dlt_python = ROOT / ".venv-bench" / "bin" / "python"
    with_dlt = dlt_python.exists() and os.environ.get("PDE_BENCH_DLT", "1") != "0"
    print(f"load: {N_ROWS:,} listing items, {rounds} paired rounds"
          + ("" if with_dlt else " (dlt skipped: no .venv-bench; `make bench` builds it)"), flush=True)
    writer = TableWriter(Listing)
    conn = psycopg2.connect(url)
    cur = conn.cursor()
    pde_tables = ["housing.listings", "housing.listings_history"]

    # baseline: plain COPY of the same rows (already tuples) into the same table shape with its primary key
    cols = ", ".join(f'"{n}"' for n in writer.names)
    tuples = [tuple(json.dumps(v) if isinstance(v, (list, dict)) else v for v in writer._get(i))
              for i in make_listings(N_ROWS)]

    def copy_once():
        cur.execute("DROP TABLE IF EXISTS public.bench_copy")
        cur.execute("CREATE TABLE public.bench_copy (LIKE housing.listings INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.commit()
        t0 = time.perf_counter()
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(tuples)
        text = buf.getvalue()
        cur.copy_expert(f"COPY public.bench_copy ({cols}) FROM STDIN WITH (FORMAT csv)", io.StringIO(text),
                        size=len(text) + 1)
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

    def reload_once():
        again = make_listings(N_ROWS)  # equal values, new objects: what a nightly re-crawl produces
        before = rows_written(cur, pde_tables)
        took, run = run_pipeline(again)
        assert run.tables["housing.listings"].unchanged == N_ROWS, run.tables
        return took, settled_rows_written(cur, pde_tables, before)

    def dlt_once(fresh):
        out = Path(tempfile.mkstemp(suffix=".json")[1])
        before = rows_written(cur, ["bench_dlt.listings"])
        subprocess.run([str(dlt_python), str(ROOT / "benchmarks" / "dlt_load.py"), url, str(N_ROWS), str(out)]
                       + (["--fresh"] if fresh else []), cwd=ROOT, check=True)
        took = json.loads(out.read_text())["seconds"]
        out.unlink()
        return took, settled_rows_written(cur, ["bench_dlt.listings"], before)

    # each round measures baseline and pipeline back to back, alternating which goes first,
    # and yields one ratio per pair: a checkpoint or a busy neighbour then skews one round, not the figure
    first, reload, vs_dlt_first, vs_dlt_reload = [], [], [], []
    times: dict[str, list[float]] = {"copy": [], "load": [], "reload": [], "dlt": [], "dlt_reload": []}
    written, dlt_written = [], []
    for r in range(rounds):
        flip = r % 2 == 1
        steps = [("copy", copy_once), ("load", load_once)] + ([("dlt", lambda: dlt_once(True)[0])] if with_dlt else [])
        got = {name: fn() for name, fn in (reversed(steps) if flip else steps)}
        copy_b = None
        if flip:
            copy_b = copy_once()
        got["reload"], w = reload_once()
        if with_dlt:
            got["dlt_reload"], dw = dlt_once(False)
            dlt_written.append(dw)
        if not flip:
            copy_b = copy_once()
        written.append(w)
        first.append(got["copy"] / got["load"])
        reload.append(copy_b / got["reload"])
        if with_dlt:
            vs_dlt_first.append(got["dlt"] / got["load"])
            vs_dlt_reload.append(got["dlt_reload"] / got["reload"])
        for k, v in got.items():
            times[k].append(v)
        times["copy"].append(copy_b)
        print(f"  round {r + 1}: copy {got['copy']:.2f}/{copy_b:.2f}s, load {got['load']:.2f}s, "
              f"reload {got['reload']:.2f}s ({w} rows written)"
              + (f", dlt {got['dlt']:.2f}s / reload {got['dlt_reload']:.2f}s ({dw} rows written)" if with_dlt else ""),
              flush=True)
    cur.execute("DROP TABLE public.bench_copy")
    conn.commit()
    med = {k: statistics.median(v) for k, v in times.items() if v}
    record(results, "load.copy_rows_per_s", N_ROWS / med["copy"], "baseline: COPY into the table shape with its key")
    record(results, "load.rows_per_s", N_ROWS / med["load"], "first load: validate + write with history")
    record(results, "load.unchanged_rows_per_s", N_ROWS / med["reload"], "unchanged reload")
    paired(results, "load.ratio_vs_copy", first, "target >= 0.8")
    paired(results, "load.reload_ratio_vs_copy", reload, "target >= 0.8")
    record(results, "load.unchanged_rows_written", max(written), "target 0 (pg_stat, listings + history, every round)")
    record(results, "load.rounds", rounds)
    if with_dlt:
        record(results, "load.dlt_rows_per_s", N_ROWS / med["dlt"], "dlt merge (primary key), first load")
        record(results, "load.dlt_reload_rows_per_s", N_ROWS / med["dlt_reload"], "dlt merge, unchanged reload")
        paired(results, "load.vs_dlt", vs_dlt_first, "pde faster than dlt, first load; target >= 5")
        paired(results, "load.vs_dlt_reload", vs_dlt_reload, "pde faster than dlt, reload; target >= 5")
        record(results, "load.dlt_reload_rows_written", int(statistics.median(dlt_written)), "(pg_stat)")
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
    rounds = int(os.environ.get("PDE_BENCH_ROUNDS", 5))
    base_cmd, full_cmd = [sys.executable, "-c", "import scrapy"], [sys.executable, "-m", "scrapy", "list"]

    def wall(cmd):
        """Wall seconds, and CPU seconds (user + system) of the child: on a machine shared with other
        jobs the wall time swells with the load, the CPU time much less."""
        import resource

        r0, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
        took, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
        return took, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

    print(f"startup: `scrapy list` vs `python -c 'import scrapy'` ({rounds} paired rounds)", flush=True)
    base, full = [], []
    for r in range(rounds):  # alternate which runs first: both see the same machine
        if r % 2:
            full.append(wall(full_cmd))
            base.append(wall(base_cmd))
        else:
            base.append(wall(base_cmd))
            full.append(wall(full_cmd))
    record(results, "startup.import_scrapy_s", statistics.median(b[0] for b in base))
    record(results, "startup.scrapy_list_s", statistics.median(f[0] for f in full))
    paired(results, "startup.overhead_s", [f[0] - b[0] for f, b in zip(full, base, strict=True)], "target < 0.5")
    paired(results, "startup.overhead_cpu_s", [f[1] - b[1] for f, b in zip(full, base, strict=True)],
           "CPU seconds, less sensitive to a busy machine")


def bench_crawl(results: dict, url: str) -> None:
    """A fixture crawl's wall time, with and without cached bytecode (these machines set
    PYTHONDONTWRITEBYTECODE, so nothing is cached unless the install compiles it)."""
    from pde import cassettes
    from pde.runs import crawl_command

    rounds = int(os.environ.get("PDE_BENCH_ROUNDS", 5))
    cassette = ROOT / "fixtures" / "zillow_listings" / "search_04011.json"
    meta = cassettes.metadata(cassette)
    cmd = crawl_command(meta["spider"], meta.get("args"), {
        "PDE_CASSETTE": cassette, "LOG_LEVEL": "WARNING", "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
        **meta.get("settings", {})})
    warm_cache = tempfile.mkdtemp(prefix="pde-bench-pyc-")
    env = {**os.environ, "DATABASE_URL": url}

    def crawl(cached: bool) -> float:
        # a cache prefix of our own: "cold" reads no .pyc at all (the venv's compiled ones neither)
        prefix = warm_cache if cached else tempfile.mkdtemp(prefix="pde-bench-nopyc-")
        e = {**env, "PYTHONPYCACHEPREFIX": prefix, "PYTHONDONTWRITEBYTECODE": "1"}
        if cached:
            e.pop("PYTHONDONTWRITEBYTECODE")
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=e, capture_output=True, text=True)
        took = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"fixture crawl failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        if not cached:
            subprocess.run(["rm", "-rf", prefix], check=False)
        return took

    crawl(True)  # fills the cache
    cold, warm = [], []
    for r in range(rounds):
        if r % 2:
            warm.append(crawl(True))
            cold.append(crawl(False))
        else:
            cold.append(crawl(False))
            warm.append(crawl(True))
    subprocess.run(["rm", "-rf", warm_cache], check=False)
    print(f"crawl: {cassette.relative_to(ROOT)} through `scrapy crawl` ({rounds} paired rounds)", flush=True)
    record(results, "crawl.fixture_s_no_bytecode", statistics.median(cold), "no cached .pyc: every module compiled")
    record(results, "crawl.fixture_s_bytecode", statistics.median(warm), "cached .pyc (UV_COMPILE_BYTECODE=1)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ["load", "crawl", "parse", "startup", "airflow", "superset", "models"]
    parser.add_argument("only", nargs="*", metavar="NAME", help=f"run only these: {', '.join(names)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(names)}")
    chosen = set(args.only or names)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}

    if chosen & {"load", "crawl"}:
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
            if "load" in chosen:
                bench_load(results, pg.url)
            if "crawl" in chosen:
                bench_crawl(results, pg.url)
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
