"""pde: the embedded database, migrations, spooled rows, run history, demo,
finance categories and the draft cheat sheet.

Crawling itself is plain Scrapy: `scrapy crawl <spider> -a name=value` (`scrapy list`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

from pde import backup, doctor, new_source, pgupgrade, services
from pde.db import (
    PROJECT_ROOT,
    DatabaseError,
    EmbeddedPostgres,
    connect,
    database_url,
    demo_url,
    describe,
    drop_database,
)
from pde.fantasy import cheatsheet
from pde.finance import categorize
from pde.envs import notebook_python
from pde.migrate import MigrationError, migrate
from pde.runs import EXIT_CODES, crawl_command, format_counts, load_run
from pipelines.spool import load_all, spool_dir

STATUS_OF_EXIT_CODE = {code: status for status, code in EXIT_CODES.items()}


def _embedded_or_none() -> EmbeddedPostgres | None:
    if os.environ.get("DATABASE_URL"):
        print(f"DATABASE_URL is set ({describe(os.environ['DATABASE_URL'])}): pde does not manage that server.")
        return None
    return EmbeddedPostgres.default()


def cmd_db(args) -> int:
    if args.action == "url":
        url = database_url(start=not args.no_start)
        print(demo_url(url, create=False) if args.demo else url)
        return 0
    if args.action == "info":
        url = demo_url(create=False) if args.demo else database_url()
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
        os.execvp("psql", ["psql", demo_url(create=False) if args.demo else database_url()])
    pg = _embedded_or_none()
    if pg is None:
        return 0
    if args.action == "upgrade":
        return pgupgrade.upgrade(pg)
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
    conn = connect()
    applied = migrate(conn)
    print(f"{len(applied)} migration(s) applied" if applied else "schema up to date")
    return 0


def cmd_spool(args) -> int:
    if args.action == "list":
        files = sorted(spool_dir().glob("*.jsonl")) if spool_dir().exists() else []
        for f in files:
            print(f"{f}  {sum(1 for _ in f.open())} lines")
        if not files:
            print("no spooled rows")
        return 0
    conn = connect()
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
        cur.execute("SELECT max(run_id) FROM platform.runs WHERE spider = %s", (spider,))
        run_id = cur.fetchone()[0]
    conn.commit()
    if run_id is None:
        return ["no run recorded"]
    run = load_run(conn, run_id)
    lines = [f"run {run.run_id}: {format_counts(run.tables)}"]
    if run.message:
        lines.append(run.message[:500])
    return lines


def cmd_demo(args) -> int:
    """Crawl every recorded fixture through the real pipeline and show what landed."""
    from pde import cassettes  # lazy: betamax and requests, for the demo only; keeps `pde` quick to start

    if args.reset:
        url = demo_url(create=False)
        dropped = drop_database(url)
        print(f"demo database {describe(url)} " + ("dropped" if dropped else "did not exist"))
        return 0
    url = demo_url()
    print(f"database: {describe(url)} (the demo's own; your data in {describe(database_url())} is untouched)")
    conn = connect(url)
    migrate(conn)
    env = {**os.environ, "DATABASE_URL": url}
    results = []
    for path in cassettes.all_cassettes(PROJECT_ROOT / "fixtures"):
        meta = cassettes.metadata(path)
        if not meta.get("spider") or (args.spider and meta["spider"] not in args.spider):
            continue
        cmd = crawl_command(meta["spider"], meta.get("args"), {
            "PDE_CASSETTE": path, "LOG_LEVEL": "WARNING", "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
            **meta.get("settings", {})})
        expect = meta.get("expect", "succeeded")
        rel = path.relative_to(PROJECT_ROOT)
        print(f"\n--- {meta['spider']} from {rel} (expect {expect})", flush=True)
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        status = STATUS_OF_EXIT_CODE.get(proc.returncode, "failed")
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
    print(f"\n{len(results)} fixture crawls ran as expected.\n"
          "Look at the demo: `pde db info --demo` (psql/DBeaver), or in the dashboards:\n"
          "  DATABASE_URL=$(.venv/bin/pde db url --demo) make up\n"
          "Remove it: `pde demo --reset`. Your own crawls write to the `pde` database, never the demo's.")
    return 0


def cmd_categorize(args) -> int:
    return categorize.main()


def cmd_csv_profile(args) -> int:
    from scrapers.finance.bank_csv import csv_profile_main  # lazy: loads Scrapy, which only this command needs

    return csv_profile_main(args.argv)
MODEL_AREAS = {"housing": "pde.housing.value", "fantasy": "pde.fantasy.projections", "finance": "pde.finance.spending"}


def cmd_model(args) -> int:
    """Train the models (pde/<area>/), write their tables and record each run in platform.model_runs."""
    unknown = [a for a in args.areas if a not in MODEL_AREAS]
    if unknown:
        print(f"pde model train: unknown area(s) {', '.join(unknown)}; areas: {', '.join(MODEL_AREAS)}",
              file=sys.stderr)
        return 2
    if importlib.util.find_spec("sqlalchemy") is None:  # the lean crawl environment: run in the notebook one
        python = notebook_python()
        if python == sys.executable:
            print("pde: the models need the notebook environment (.venv-notebook): run `make setup`", file=sys.stderr)
            return 2
        return subprocess.run([python, "-m", "pde.cli", "model", "train", *args.areas]).returncode
    conn = connect()
    migrate(conn, log=lambda m: None)
    conn.close()
    for area in args.areas or list(MODEL_AREAS):
        module = importlib.import_module(MODEL_AREAS[area])
        for run in module.train():
            print(run.summary(), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pde", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded PostgreSQL: start, stop, status, info, url, psql, upgrade")
    db.add_argument("action", choices=["start", "stop", "status", "info", "url", "psql", "upgrade"])
    db.add_argument("--no-start", action="store_true", help="with url: do not start the embedded server")
    db.add_argument("--demo", action="store_true", help="with url/info/psql: the demo's database (pde_demo)")
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

    c = sub.add_parser("categorize", help="finance: apply category rules, retrain the model, predict the rest")
    c.set_defaults(func=cmd_categorize)

    cp = sub.add_parser("csv-profile", add_help=False, help="finance: write a mapping for a bank CSV layout pde "
                        "does not know (pde csv-profile FILE --help)")
    cp.add_argument("argv", nargs=argparse.REMAINDER)
    cp.set_defaults(func=cmd_csv_profile)

    mo = sub.add_parser("model", help="train the models (house value, fantasy projections, spending) and write "
                                      "their tables")
    mo.add_argument("action", choices=["train"])
    mo.add_argument("areas", nargs="*", metavar="AREA",
                    help="any of: " + ", ".join(MODEL_AREAS) + " (default: all)")
    mo.set_defaults(func=cmd_model)

    cheatsheet.register(sub)

    d = sub.add_parser("demo", help="crawl every recorded fixture into the database and show what landed")
    d.add_argument("spider", nargs="*", help="only these spiders")
    d.add_argument("--reset", action="store_true", help="drop the demo database (the user's data is not touched)")
    d.set_defaults(func=cmd_demo)

    new_source.register(sub)  # pde new-source
    backup.register(sub)  # pde backup, pde restore
    doctor.register(sub)  # pde doctor
    services.register(sub)  # pde up/down/status [airflow|superset|jupyter], pde airflow ..., pde notebook
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["csv-profile"]:  # its own options (argparse.REMAINDER would not take a leading --help)
        return cmd_csv_profile(argparse.Namespace(argv=argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (DatabaseError, MigrationError) as exc:
        print(f"pde: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
