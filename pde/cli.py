"""pde: the embedded database, migrations, spooled rows, run history, demo,
finance categories and the draft cheat sheet.

Crawling itself is plain Scrapy: `scrapy crawl <spider> -a name=value` (`scrapy list`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from importlib.metadata import PackageNotFoundError, version
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
from pde.envs import notebook_python
from pde.fantasy import cheatsheet
from pde.finance import categorize
from pde.migrate import MigrationError, migrate
from pde.runs import EXIT_CODES, crawl_command, format_counts, load_run
from pde.schedule import watches
from pde.schedule.config import ConfigError, load_config
from pde.schedule.registry import spider_registry
from pde.sources import describe_args, suggest
from pipelines import spool

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
        os.execvp("psql", ["psql", demo_url(create=False) if args.demo else database_url(), *args.psql_args])
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
        files = spool.spool_files()
        for f in files:
            content = spool.read(f)
            bad = f", {len(content.unreadable)} unreadable" if content.unreadable else ""
            meant = spool.describe_identity((content.header or {}).get("database"))
            print(f"{f}  {len(content.entries)} lines{bad}  for {meant}")
        if not files:
            print("no spooled rows")
        return 0
    conn = connect()
    migrate(conn, log=lambda m: None)
    problems = spool.load_all(conn, force=args.force)
    if problems:
        print(f"pde: {problems} spool file(s) were not loaded completely; see above.", file=sys.stderr)
        return 1
    return 0


def cmd_inbox(args) -> int:
    from pde.schedule import inbox  # lazy: only this command reads the inbox

    folder = inbox.inbox_dir()
    if args.now:
        try:
            outcomes = inbox.process_inbox(folder)
        except DatabaseError as exc:
            print(f"pde: {exc}", file=sys.stderr)
            return 2
        for o in outcomes:
            print(f"{o.name}: {o.state}. {o.note}")
        print(f"{len(outcomes)} file(s) in {folder}" if outcomes else f"nothing new in {folder}")
        return 1 if any(o.state == "failed" for o in outcomes) else 0
    seen = inbox.listing(folder)
    print(f"inbox: {folder} (drop statements and saved pages here; `pde inbox --now` crawls them)")
    for state in ("waiting", "done", "failed"):
        print(f"{state}: {len(seen[state])}" + (" (latest first)" if state != "waiting" and seen[state] else ""))
        for name, note in seen[state]:
            stamp, _, text = note.partition("\n")  # "YYYY-MM-DD HH:MM UTC  state", then what happened
            print(f"  {name}" + (f" ({stamp.split('  ')[0]}): {text.splitlines()[0]}" if text else ""))
    return 0


def cmd_runs(args) -> int:


    try:
        registry = spider_registry(load_config()["spider_modules"])
    except ConfigError as exc:  # runs are still worth seeing with a broken dags/crawls.yaml
        print(f"pde runs: {exc} (arguments are shown as recorded)", file=sys.stderr)
        registry = {}
    conn = connect()
    with conn.cursor() as cur:
        if args.spider and registry and args.spider not in registry:
            cur.execute("SELECT count(*) FROM platform.runs WHERE spider = %s", (args.spider,))
            if not cur.fetchone()[0]:  # a spider that was removed may still have runs: show those
                print(f"pde runs: there is no spider {args.spider!r}{suggest(args.spider, registry) or '.'} "
                      f"Spiders: {', '.join(registry)}", file=sys.stderr)
                return 2
        cur.execute(
            """SELECT run_id, spider, args, status, to_char(started_at, 'YYYY-MM-DD HH24:MI'),
                      round(duration_s::numeric, 1), items_scraped, items_quarantined, coalesce(message, '')
               FROM platform.runs WHERE %(spider)s::text IS NULL OR spider = %(spider)s
               ORDER BY run_id DESC LIMIT %(n)s""",
            {"spider": args.spider, "n": args.limit},
        )
        rows = cur.fetchall()
    if not rows:
        print("no runs recorded" + (f" for {args.spider}" if args.spider else ""))
        return 0
    width = max(shutil.get_terminal_size((120, 24)).columns, 80)
    print(f"{'run':>5}  {'spider':<20} {'status':<9} {'started':<16} {'secs':>6} {'items':>6} {'quar':>5}  arguments")
    for run_id, spider, run_args, status, started, secs, items, quar, message in rows:
        shown = _shown_args(registry.get(spider), run_args or {})
        print(f"{run_id:>5}  {spider:<20} {status:<9} {started:<16} {secs or 0:>6} {items:>6} {quar:>5}  {shown}")
        text = " ".join(message.split())  # a multi-line database error stays inside its row
        if text:
            for line in textwrap.wrap(text, width - 8, max_lines=3, placeholder=" [...]", break_on_hyphens=False):
                print(f"{'':7}{line}")
    return 0


def _shown_args(info, run_args: dict) -> str:
    """A run's arguments as typed after `scrapy crawl`, leaving out those at their default."""
    defaults = {a.name: a.default_text() for a in info.args if a.default is not None} if info is not None else {}
    given = {k: v for k, v in run_args.items() if defaults.get(k, None) != v}

    return " ".join(f"-a {k}={shlex.quote(str(v))}" for k, v in given.items()) or "(defaults)"


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


def cmd_sources(args) -> int:
    """The spiders and their -a arguments, from the declarations in their source (nothing is imported)."""

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
        shown = [a for a in info.args if a.required] or [
            a for a in info.args if a.example and a.name != "url"][:1] or [
            a for a in info.args if a.example][:1]
        print(" ".join([f"  e.g. scrapy crawl {info.name}", *(f"-a {a.name}={_example(a)}" for a in shown)]) + "\n")
    return 0


def _summary(doc: str) -> str:
    """A module docstring's first paragraph, on one line."""
    return " ".join(doc.split("\n\n")[0].split())


def _example(arg) -> str:

    return shlex.quote(arg.example or "...")


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


def _version() -> str:

    try:
        return version("pde")
    except PackageNotFoundError:
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pde", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"pde {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser(
        "db", help="the embedded PostgreSQL: start, stop, status, info, url, psql, upgrade",
        description="The PostgreSQL pde writes to. Without DATABASE_URL, pde runs its own (embedded) server "
                    "with its data in $PDE_HOME/pgdata.",
        epilog="actions: start, stop and status the embedded server (status exits 3 when stopped); info prints "
               "how to connect (psql, DBeaver); url prints the connection URL; psql opens psql on it, passing "
               'on the arguments pde does not know (pde db psql -c "select 1"); upgrade moves '
               "the embedded server's data to a newer PostgreSQL.")
    db.add_argument("action", choices=["start", "stop", "status", "info", "url", "psql", "upgrade"], help="what to do")
    db.add_argument("--no-start", action="store_true", help="with url: do not start the embedded server")
    db.add_argument("--demo", action="store_true", help="with url/info/psql: the demo's database (pde_demo)")
    db.set_defaults(func=cmd_db)

    m = sub.add_parser(
        "migrate", help="apply pending SQL migrations from sql/",
        description="Apply the versioned migrations in sql/ (tables; each once, checksummed) and re-apply the "
                    "repeatable SQL in sql/repeatable/ whose text changed (views, functions). Crawls do this "
                    "themselves on start; run it to update a database by hand.")
    m.set_defaults(func=cmd_migrate)

    sp = sub.add_parser(
        "spool", help="rows spooled while the database was unavailable: list, load",
        description="When the database goes away during a crawl, its rows are kept in files under "
                    "$PDE_HOME/spool. list shows them; load writes them to the database (safe to repeat).")
    sp.add_argument("action", choices=["list", "load"], help="list the spooled files, or load them")
    sp.add_argument("--force", action="store_true", help="load even into a database the rows were not crawled for")
    sp.set_defaults(func=cmd_spool)

    ib = sub.add_parser("inbox", help="what is in the inbox; --now crawls the new files without Airflow",
                        description="The inbox (PDE_INBOX, default $PDE_HOME/inbox): files waiting, and the latest "
                                    "done and failed ones with their notes. The inbox DAG crawls new files every few "
                                    "minutes; --now does the same here, at once (exit 1 when a file failed).")
    ib.add_argument("--now", action="store_true", help="recognise, crawl and file away every new file now")
    ib.set_defaults(func=cmd_inbox)

    r = sub.add_parser("runs", help="recent crawl runs and how they ended",
                       description="Recent crawl runs: spider, arguments (those not at their default), status, "
                                   "items, and the reason a run did not succeed.")
    r.add_argument("--spider", help="only this spider's runs")
    r.add_argument("-n", "--limit", type=int, default=20, help="how many runs (default 20)")
    r.set_defaults(func=cmd_runs)

    so = sub.add_parser("sources", help="the spiders and the -a arguments each takes (from their declarations)",
                        description="List every spider with its -a arguments: what each is, allowed values, "
                                    "default, whether a live crawl needs it.")
    so.add_argument("spider", nargs="*", help="only these spiders")
    so.add_argument("--markdown", action="store_true", help="a Markdown table per spider (the README's)")
    so.set_defaults(func=cmd_sources)

    c = sub.add_parser(
        "categorize", help="finance: apply category rules, retrain the model, predict the rest",
        description="Categorise finance.transactions: apply the rules in finance.category_rules, train on the "
                    "categories you set by hand and rules give, predict the rest, and print what it did.")
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
    watches.register(sub)  # pde watches

    d = sub.add_parser("demo", help="crawl every recorded fixture into the database and show what landed",
                       description="Crawl every recorded fixture (fixtures/*/) through the real pipeline "
                                   "and show what landed, table by table.")
    d.add_argument("spider", nargs="*", help="only these spiders")
    d.add_argument("--reset", action="store_true", help="drop the demo database (the user's data is not touched)")
    d.set_defaults(func=cmd_demo)

    new_source.register(sub)  # pde new-source
    backup.register(sub)  # pde backup, pde restore
    doctor.register(sub)  # pde doctor
    services.register(sub)  # pde up/down/status [airflow|superset|jupyter], pde airflow ..., pde notebook
    for name, sp in sub.choices.items():  # `pde <command> -h` says what the command does
        if not sp.description:
            sp.description = next((a.help for a in sub._choices_actions if a.dest == name), None)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["csv-profile"]:  # its own options (argparse.REMAINDER would not take a leading --help)
        return cmd_csv_profile(argparse.Namespace(argv=argv[1:]))
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not (args.command == "db" and args.action == "psql"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.psql_args = extra  # pde db psql -c "select 1": the rest is psql's
    try:
        return args.func(args) or 0
    except (DatabaseError, MigrationError) as exc:
        print(f"pde: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
