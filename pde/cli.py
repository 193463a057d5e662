"""pde: the embedded database, migrations, spooled rows, run history, demo,
finance categories and the draft cheat sheet.

Crawling itself is plain Scrapy: `scrapy crawl <spider> -a name=value` (`scrapy list`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from pde.db import (
    PROJECT_ROOT,
    DatabaseError,
    EmbeddedPostgres,
    connect,
    database_url,
    describe,
)


def _embedded_or_none() -> EmbeddedPostgres | None:
    if os.environ.get("DATABASE_URL"):
        print(f"DATABASE_URL is set ({describe(os.environ['DATABASE_URL'])}): pde does not manage that server.")
        return None
    return EmbeddedPostgres.default()


def cmd_db(args) -> int:
    if args.action == "url":
        print(database_url(start=not args.no_start))
        return 0
    if args.action == "info":
        url = database_url()
        from urllib.parse import urlsplit

        u = urlsplit(url)
        print(f"""PostgreSQL for pde
  URL       {url}
  host      {u.hostname}
  port      {u.port or 5432}
  database  {u.path.lstrip('/')}
  user      {u.username}
  password  {u.password or '(none)'}

psql:    psql "{url}"
DBeaver: New connection > PostgreSQL > Host {u.hostname}, Port {u.port or 5432}, Database {u.path.lstrip('/')},
         Username {u.username}, Password as above. Table and column comments show in the Properties tab.""")
        return 0
    if args.action == "psql":
        os.execvp("psql", ["psql", database_url()])
    pg = _embedded_or_none()
    if pg is None:
        return 0
    if args.action == "start":
        pg.start()
        print(f"embedded PostgreSQL running on 127.0.0.1:{pg.port} (data in {pg.datadir}); `pde db info` for details")
    elif args.action == "stop":
        print("stopped" if pg.stop() else "not running")
    elif args.action == "status":
        running = pg.is_running()
        print(f"embedded PostgreSQL: {'running' if running else 'stopped'} (port {pg.port}, data {pg.datadir})")
        return 0 if running else 3
    return 0


def cmd_migrate(args) -> int:
    from pde.migrate import migrate

    conn = connect()
    applied = migrate(conn)
    print(f"{len(applied)} migration(s) applied" if applied else "schema up to date")
    return 0


def cmd_spool(args) -> int:
    from pipelines.spool import load_all, spool_dir

    if args.action == "list":
        files = sorted(spool_dir().glob("*.jsonl")) if spool_dir().exists() else []
        for f in files:
            print(f"{f}  {sum(1 for _ in f.open())} lines")
        if not files:
            print("no spooled rows")
        return 0
    conn = connect()
    from pde.migrate import migrate

    migrate(conn, log=lambda m: None)
    load_all(conn)
    return 0


def cmd_runs(args) -> int:
    conn = connect()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT run_id, spider, status, to_char(started_at, 'YYYY-MM-DD HH24:MI'), round(duration_s::numeric, 1),
                      items_scraped, items_quarantined, coalesce(message, '')
               FROM platform.runs WHERE %(spider)s::text IS NULL OR spider = %(spider)s
               ORDER BY run_id DESC LIMIT %(n)s""",
            {"spider": args.spider, "n": args.limit},
        )
        rows = cur.fetchall()
    print(f"{'run':>5}  {'spider':<22} {'status':<10} {'started':<16} {'secs':>6} {'items':>6} {'quar':>5}  message")
    for r in rows:
        print(f"{r[0]:>5}  {r[1]:<22} {r[2]:<10} {r[3]:<16} {r[4] or 0:>6} {r[5]:>6} {r[6]:>5}  {r[7][:90]}")
    return 0


def table_counts(conn) -> list[tuple[str, int]]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg_%%' ORDER BY 1"""
        )
        tables = [r[0] for r in cur.fetchall()]
        out = []
        for t in tables:
            schema, name = t.split(".")
            cur.execute(f'SELECT count(*) FROM "{schema}"."{name}"')
            out.append((t, cur.fetchone()[0]))
    return out


def _last_run_summary(conn, spider: str) -> list[str]:
    """What the latest run of a spider wrote, and its message, as short lines."""
    with conn.cursor() as cur:
        cur.execute("SELECT run_id, message FROM platform.runs WHERE spider = %s ORDER BY run_id DESC LIMIT 1", (spider,))
        row = cur.fetchone()
        if row is None:
            return ["no run recorded"]
        cur.execute("SELECT table_name, inserted, updated, unchanged, quarantined FROM platform.run_tables "
                    "WHERE run_id = %s ORDER BY table_name", (row[0],))
        parts = [f"{t} +{i}" + (f" ~{u}" if u else "") + (f" ={n}" if n else "") + (f" quarantined {q}" if q else "")
                 for t, i, u, n, q in cur.fetchall()]
    conn.commit()
    lines = [f"run {row[0]}: " + (", ".join(parts) if parts else "nothing written")]
    if row[1]:
        lines.append(row[1][:500])
    return lines


def cmd_demo(args) -> int:
    """Crawl every recorded fixture through the real pipeline and show what landed."""
    from pde import cassettes
    from pde.migrate import migrate

    url = database_url()
    print(f"database: {describe(url)}")
    conn = connect(url)
    migrate(conn)
    env = {**os.environ, "DATABASE_URL": url}
    results = []
    for path in cassettes.all_cassettes(PROJECT_ROOT / "fixtures"):
        meta = cassettes.metadata(path)
        if not meta.get("spider") or (args.spider and meta["spider"] not in args.spider):
            continue
        cmd = [sys.executable, "-m", "scrapy", "crawl", meta["spider"], "-s", f"PDE_CASSETTE={path}",
               "-s", "LOG_LEVEL=WARNING", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
        for k, v in meta.get("args", {}).items():
            cmd += ["-a", f"{k}={v}"]
        for k, v in meta.get("settings", {}).items():
            cmd += ["-s", f"{k}={v}"]
        expect = meta.get("expect", "succeeded")
        rel = path.relative_to(PROJECT_ROOT)
        print(f"\n--- {meta['spider']} from {rel} (expect {expect})", flush=True)
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        status = {0: "succeeded", 3: "blocked"}.get(proc.returncode, "failed")
        ok = status == expect
        print(f"    {status} in {time.time() - t0:.1f}s {'(as expected)' if ok else '<-- UNEXPECTED'}")
        for line in _last_run_summary(conn, meta["spider"]):
            print("    " + line)
        if not ok:
            print("\n".join("    | " + line for line in proc.stderr.splitlines()[-15:]))
        results.append((rel, ok))
    print("\nWhat landed, table by table:")
    for table, n in table_counts(conn):
        print(f"  {table:<45} {n:>8}")
    bad = [str(r) for r, ok in results if not ok]
    if bad:
        print(f"\n{len(bad)} fixture(s) did not end as expected: {', '.join(bad)}")
        return 1
    print(f"\n{len(results)} fixture crawls ran as expected. Open the data: `pde db info` (psql/DBeaver).")
    return 0


def cmd_sources(args) -> int:
    """The spiders and their -a arguments, from the declarations in their source (nothing is imported)."""
    from pde.schedule.config import load_config
    from pde.schedule.registry import spider_registry
    from pde.sources import describe_args, suggest

    registry = spider_registry(load_config()["spider_modules"])
    unknown = [n for n in args.spider if n not in registry]
    if unknown:
        print(f"pde sources: there is no spider {unknown[0]!r}{suggest(unknown[0], registry) or '.'} "
              f"Spiders: {', '.join(registry)}", file=sys.stderr)
        return 2
    chosen = [registry[n] for n in args.spider] or list(registry.values())
    if args.markdown:
        for info in chosen:
            summary = _summary(info.doc)
            print(f"#### `{info.name}` ({info.area})\n\n{summary}\n\n"
                  "| argument | what | allowed | default | notes |\n|---|---|---|---|---|")
            print("\n".join(describe_args({a.name: a for a in info.args}, markdown=True)) + "\n")
        return 0
    for info in chosen:
        summary = _summary(info.doc)
        print(f"{info.name} ({info.area}; schedule {info.schedule}): {summary}")
        print("\n".join(describe_args({a.name: a for a in info.args})) if info.args else "  (no declared arguments)")
        print(f"  e.g. scrapy crawl {info.name} " + " ".join(
            f"-a {a.name}={_example(a)}" for a in info.args if a.required) + "\n")
    return 0


def _summary(doc: str) -> str:
    """A module docstring's first paragraph, on one line."""
    return " ".join(doc.split("\n\n")[0].split())


def _example(arg) -> str:
    import shlex

    return shlex.quote(arg.example or "...")


def cmd_categorize(args) -> int:
    from pde.finance.categorize import main

    return main()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pde", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded PostgreSQL: start, stop, status, info, url, psql")
    db.add_argument("action", choices=["start", "stop", "status", "info", "url", "psql"])
    db.add_argument("--no-start", action="store_true", help="with url: do not start the embedded server")
    db.set_defaults(func=cmd_db)

    m = sub.add_parser("migrate", help="apply pending SQL migrations from sql/")
    m.set_defaults(func=cmd_migrate)

    sp = sub.add_parser("spool", help="rows spooled while the database was unavailable: list, load")
    sp.add_argument("action", choices=["list", "load"])
    sp.set_defaults(func=cmd_spool)

    r = sub.add_parser("runs", help="recent crawl runs and how they ended")
    r.add_argument("--spider")
    r.add_argument("-n", "--limit", type=int, default=20)
    r.set_defaults(func=cmd_runs)

    so = sub.add_parser("sources", help="the spiders and the -a arguments each takes (from their declarations)",
                        description="List every spider with its -a arguments: what each is, allowed values, "
                                    "default, whether a live crawl needs it.")
    so.add_argument("spider", nargs="*", help="only these spiders")
    so.add_argument("--markdown", action="store_true", help="a Markdown table per spider (the README's)")
    so.set_defaults(func=cmd_sources)

    c = sub.add_parser("categorize", help="finance: apply category rules, retrain the model, predict the rest")
    c.set_defaults(func=cmd_categorize)

    from pde.fantasy import cheatsheet

    cheatsheet.register(sub)

    d = sub.add_parser("demo", help="crawl every recorded fixture into the database and show what landed")
    d.add_argument("spider", nargs="*", help="only these spiders")
    d.set_defaults(func=cmd_demo)

    from pde import services

    services.register(sub)  # pde up/down/status [airflow|superset], pde airflow ..., pde superset ...
    return p


def main(argv: list[str] | None = None) -> int:
    from pde.migrate import MigrationError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (DatabaseError, MigrationError) as exc:
        print(f"pde: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
