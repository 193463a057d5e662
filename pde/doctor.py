"""``pde doctor``: is this installation healthy? Each line says what was checked and, when not, what to do.

Checks: the database (reachable, the right PostgreSQL major, migrations
current); the environments against ``uv.lock``; Airflow and Superset (running,
stopped, or crashed); free disk for the database, spool and backups; the last
backup; spiders scheduled in dags/crawls.yaml that have not succeeded for
their ``alert_after_days`` (default 3; ``--days`` sets one limit for all);
rows waiting in quarantine or the spool; secrets
that crawls name but nobody set; files holding personal data that others may
read; the HTTPS certificate's expiry when one is configured.

Exit code 0 when nothing needs the user, 1 when something does. The doctor
never starts, stops or changes anything.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from pde.backup import backup_dir
from pde.db import PROJECT_ROOT, DatabaseError, EmbeddedPostgres, connect, describe, pde_home
from pde.migrate import discover
from pde.schedule.config import DEFAULT_AFTER_DAYS, ConfigError, load_config, normalise_secrets, spider_config
from pde.services import airflow
from pde.services.airflow import metadata_url
from pde.services.proxy import Proxy
from pde.services.superset import DEFAULT_PORT, Superset
from pipelines.spool import fallback_dir, read, spool_dir, spool_files

OK, NOTE, FAIL = "ok", "note", "FAIL"


@dataclass
class Finding:
    status: str
    area: str
    text: str
    todo: str = ""


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{delta.total_seconds() / 60:.0f} minutes"
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


# -- database -------------------------------------------------------------------------------
def check_database() -> tuple[list[Finding], object | None]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pg = EmbeddedPostgres.default()
        try:
            pg.check_interrupted_upgrade()
            if not pg.initialised:
                return [Finding(FAIL, "database", f"no embedded database in {pg.datadir} yet",
                                "run `make demo` or `pde db start` (or set DATABASE_URL to your server)")], None
            pg.check_version()
        except DatabaseError as exc:
            return [Finding(FAIL, "database", str(exc).split(". ")[0], "see `pde db start` for the full message; "
                            "usually `pde db upgrade`")], None
        if not pg.is_running():
            return [Finding(FAIL, "database", f"the embedded PostgreSQL is stopped ({pg.datadir})",
                            "start it with `pde db start` (or `make up`)")], None
        url = pg.url
    try:
        conn = connect(url)
    except DatabaseError as exc:
        return [Finding(FAIL, "database", f"cannot connect to {describe(url)}: {str(exc).splitlines()[0]}",
                        "start the server, or fix DATABASE_URL")], None
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    conn.commit()
    return [Finding(OK, "database", f"reachable: {describe(url)} (PostgreSQL {version})")], conn


def check_migrations(conn) -> list[Finding]:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('platform.schema_migrations') IS NOT NULL")
        applied = {}
        if cur.fetchone()[0]:
            cur.execute("SELECT version, name, checksum FROM platform.schema_migrations")
            applied = {v: (n, c) for v, n, c in cur.fetchall()}
    conn.commit()
    files = discover()
    pending = [m.path.name for m in files if m.version not in applied]
    edited = [m.path.name for m in files if m.version in applied and applied[m.version][1] != m.checksum]
    out = []
    if pending:
        out.append(Finding(FAIL, "migrations", f"{len(pending)} not applied: {', '.join(pending)}",
                           "run `pde migrate`"))
    if edited:
        out.append(Finding(FAIL, "migrations", f"edited after they were applied: {', '.join(edited)}",
                           "restore those files (`git checkout sql/`) and put changes in a new migration"))
    if not out:
        out.append(Finding(OK, "migrations", f"current ({len(files)} applied)"))
    return out


# -- environments -----------------------------------------------------------------------------
ENVS = [(".venv", ["--group", "dev"], {}), (".venv-airflow", ["--group", "dev", "--group", "airflow", "--group", "web"],
                                           {"UV_PROJECT_ENVIRONMENT": ".venv-airflow"})]


def check_envs() -> list[Finding]:
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if not uv:
        return [Finding(FAIL, "environments", "uv is not installed, so they cannot be checked or rebuilt",
                        "run `make setup` (installs uv)")]
    out = []
    runs = [(name, [uv, "sync", "--frozen", *groups, "--check"], env, PROJECT_ROOT / name, "make setup")
            for name, groups, env in ENVS]
    runs.append(("superset/.venv", [uv, "sync", "--frozen", "--project", "superset", "--check"], {},
                 PROJECT_ROOT / "superset" / ".venv", "make superset-setup"))
    for name, argv, extra, folder, fix in runs:
        if not folder.exists():
            status = NOTE if name == "superset/.venv" else FAIL
            out.append(Finding(status, "environments", f"{name} is not there", f"run `{fix}`"))
            continue
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        proc = subprocess.run(argv, cwd=PROJECT_ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=120)
        if proc.returncode == 0:
            out.append(Finding(OK, "environments", f"{name} matches uv.lock"))
        else:
            detail = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines()
                      if ln.strip().startswith(("+", "-", "~"))]
            out.append(Finding(FAIL, "environments", f"{name} differs from uv.lock"
                               + (f" ({', '.join(detail[:4])}{', ...' if len(detail) > 4 else ''})" if detail else ""),
                               f"run `{fix}` (after a `git pull` it rebuilds what changed)"))
    return out


# -- services --------------------------------------------------------------------------------
def check_services() -> list[Finding]:
    out = []
    started = [c for c in airflow.COMPONENTS if airflow._pidfile(c).exists()]
    running = [c for c in airflow.COMPONENTS if airflow.pid(c)]
    if not started:
        out.append(Finding(NOTE, "services", "Airflow is stopped: nothing is crawled or backed up on schedule",
                           "`make up` starts it"))
    elif len(running) < len(airflow.COMPONENTS) or not airflow.healthy():
        dead = [c for c in airflow.COMPONENTS if c not in running]
        out.append(Finding(FAIL, "services", f"Airflow is partly down (not running: {', '.join(dead) or 'API'})",
                           f"see {airflow.home() / 'logs'}, then `pde down airflow && pde up airflow`"))
    else:
        out.append(Finding(OK, "services", f"Airflow is running: {airflow.base_url()}"))
    svc = Superset(home=pde_home() / "superset", data_url="",
                   port=int(os.environ.get("PDE_SUPERSET_PORT", DEFAULT_PORT)))
    if not svc.pidfile.exists():
        out.append(Finding(NOTE, "services", "Superset is stopped", "`make up` starts it"))
    elif svc.pid() is None or not svc.healthy():
        out.append(Finding(FAIL, "services", "Superset was started but does not answer",
                           f"see {svc.logfile}, then `pde down superset && pde up superset`"))
    else:
        out.append(Finding(OK, "services", f"Superset is running: {svc.base_url}"))
    return out + check_proxy()


def check_proxy() -> list[Finding]:
    """Only when PDE_LISTEN asks for the home network: is the HTTPS proxy serving it."""
    proxy = Proxy.default()
    if not proxy.address:
        return []
    if proxy.pid() is None or not proxy.listening():
        return [Finding(FAIL, "https", f"PDE_LISTEN={proxy.address} but the HTTPS proxy is not running: the partner's "
                                       f"browser cannot reach pde", f"`pde up proxy` (log {proxy.logfile})")]
    return [Finding(OK, "https", "HTTPS proxy: " + ", ".join(f"{t} {u}" for t, u in proxy.urls()))]


# -- disk ------------------------------------------------------------------------------------
def _existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def check_disk(conn) -> list[Finding]:
    min_free = float(os.environ.get("PDE_DOCTOR_MIN_FREE_GB", "1")) * 1e9
    places = {"spool": spool_dir(), "backups": backup_dir()}
    if not os.environ.get("DATABASE_URL"):
        places = {"database": EmbeddedPostgres.default().datadir, **places}
    need = {name: min_free for name in places}
    if conn is not None:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            db_size = cur.fetchone()[0]
        conn.commit()
        need["backups"] = max(min_free, 2 * db_size)  # room for the next dump, with slack
    out = []
    by_device: dict[int, list[str]] = {}
    for name, path in places.items():
        by_device.setdefault(os.stat(_existing(path)).st_dev, []).append(name)
    for names in by_device.values():
        path = _existing(places[names[0]])
        free = shutil.disk_usage(path).free
        wanted = max(need[n] for n in names)
        label = " + ".join(names)
        if free < wanted:
            out.append(Finding(FAIL, "disk", f"{label}: {free / 1e9:.1f} GB free on {path}, "
                                             f"below {wanted / 1e9:.1f} GB",
                               "free space there, or move PDE_BACKUP_DIR / PDE_HOME to a bigger disk"))
        else:
            out.append(Finding(OK, "disk", f"{label}: {free / 1e9:.1f} GB free"))
    return out


# -- backups ---------------------------------------------------------------------------------
def check_backup(conn) -> list[Finding]:
    max_age = dt.timedelta(hours=float(os.environ.get("PDE_BACKUP_MAX_AGE_HOURS", "36")))
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('platform.backups') IS NOT NULL")
        if not cur.fetchone()[0]:
            conn.commit()
            return [Finding(FAIL, "backup", "no backup table yet", "run `pde migrate`, then `pde backup`")]
        cur.execute("""SELECT label, taken_at, file, size_bytes, now() - taken_at FROM platform.backups
                       WHERE database = current_database() AND pruned_at IS NULL ORDER BY taken_at DESC LIMIT 1""")
        row = cur.fetchone()
    conn.commit()
    if row is None:
        return [Finding(FAIL, "backup", "no backup of this database yet",
                        "run `pde backup` now; the nightly `backup` DAG keeps them coming while Airflow runs")]
    label, taken, file, size, age = row
    if not Path(file).exists() or Path(file).stat().st_size != size:
        return [Finding(FAIL, "backup", f"the last backup ({label}) is gone or changed: {file}",
                        "run `pde backup`; check that the backup disk is mounted (PDE_BACKUP_DIR)")]
    if age > max_age:
        return [Finding(FAIL, "backup", f"the last backup is {_age(age)} old ({label}, {file})",
                        "run `pde backup`; is Airflow running the `backup` DAG? (`make up`)")]
    return [Finding(OK, "backup", f"last backup {_age(age)} ago ({size / 1e6:.1f} MB, {file})")]


# -- sources ---------------------------------------------------------------------------------
def scheduled_spiders(config: dict) -> list[str]:
    return sorted(name for name, block in (config.get("spiders") or {}).items() if (block or {}).get("crawls"))


def source_limits(config: dict, days: float | None) -> dict[str, float]:
    """Days without a success before a spider needs the user: ``days`` for all, else each spider's
    ``alert_after_days`` from dags/crawls.yaml (the limit the pde_health DAG alerts on; default 3)."""
    if days is not None:
        return {s: days for s in scheduled_spiders(config)}
    days_of = {s: spider_config(s, config).get("alert_after_days") for s in scheduled_spiders(config)}
    return {s: float(DEFAULT_AFTER_DAYS if d is None else d) for s, d in days_of.items()}


def check_sources(conn, config: dict, days: float | None) -> list[Finding]:
    spiders = scheduled_spiders(config)
    limits = source_limits(config, days)
    if not spiders:
        return [Finding(NOTE, "sources", "no crawls are scheduled in dags/crawls.yaml (`crawls:` under a spider)",
                        "add the crawls you want, see the comments at the top of dags/crawls.yaml")]
    rows = []
    with conn.cursor() as cur:
        for spider in spiders:
            cur.execute("SELECT max(started_at) FROM platform.runs WHERE spider = %s AND status = 'succeeded'",
                        (spider,))
            last_ok = cur.fetchone()[0]
            cur.execute("SELECT status || ' ' || to_char(started_at, 'YYYY-MM-DD HH24:MI') || "
                        "coalesce(': ' || message, '') FROM platform.runs WHERE spider = %s "
                        "ORDER BY run_id DESC LIMIT 1", (spider,))
            last = cur.fetchone()
            rows.append((spider, last_ok, last[0] if last else None, last is not None))
        cur.execute("SELECT now()")
        now = cur.fetchone()[0]
    conn.commit()
    out = []
    for spider, last_ok, last, has_runs in rows:
        limit = dt.timedelta(days=limits[spider])
        see = f"see `pde runs --spider {spider}` and the {spider} DAG's log in Airflow"
        if last_ok is None:
            if has_runs:
                out.append(Finding(FAIL, "sources", f"{spider} has never succeeded (last run: {last[:160]})", see))
            else:
                out.append(Finding(NOTE, "sources", f"{spider} is scheduled but has not run yet",
                                   "start Airflow (`make up`) or trigger the DAG"))
        elif limits[spider] > 0 and now - last_ok > limit:  # 0: never stale (as for the pde_health alerts)
            out.append(Finding(FAIL, "sources", f"{spider} has not succeeded for {_age(now - last_ok)} "
                                                f"(limit {limits[spider]:g} days; last run: {last[:160]})", see))
        else:
            out.append(Finding(OK, "sources", f"{spider} succeeded {_age(now - last_ok)} ago"))
    return out


# -- waiting rows ----------------------------------------------------------------------------
def check_waiting(conn, days: float) -> list[Finding]:
    out = []
    with conn.cursor() as cur:
        cur.execute("""SELECT count(*), count(*) FILTER (WHERE recent),
                              string_agg(DISTINCT spider, ', ') FILTER (WHERE recent)
                       FROM (SELECT spider, created_at > now() - %s * interval '1 day' AS recent
                             FROM platform.quarantine) q""", (days,))
        total, recent, spiders = cur.fetchone()
    conn.commit()
    look = "look: `pde db psql` then SELECT spider, reason, item FROM platform.quarantine ORDER BY created_at DESC"
    if recent:
        out.append(Finding(FAIL, "quarantine", f"{recent} row(s) rejected in the last {days:g} days ({spiders})",
                           f"{look}; fix the source or its parser, re-crawl, then delete the rows you dealt with"))
    elif total:
        out.append(Finding(NOTE, "quarantine", f"{total} older rejected row(s) kept", look))
    else:
        out.append(Finding(OK, "quarantine", "empty"))
    files = spool_files()
    if files:
        waiting = sum(len(c.entries) + len(c.unreadable) for c in map(read, files))
        where = ", ".join(sorted({str(f.parent) for f in files}))
        out.append(Finding(FAIL, "spool", f"{waiting} row(s) in {len(files)} file(s) waiting in {where}",
                           "run `pde spool load` (the database was away when they were crawled)"))
    unreadable = [f for d in {spool_dir(), fallback_dir()} if d.is_dir() for f in d.glob("*.unreadable")]
    if unreadable:
        out.append(Finding(FAIL, "spool", f"{len(unreadable)} file(s) of spool lines that could not be read: "
                           + ", ".join(map(str, unreadable)), "look at them, then delete them"))
    elif not files:
        out.append(Finding(OK, "spool", "empty"))
    return out


# -- secrets ---------------------------------------------------------------------------------
def _airflow_names(data_url: str | None) -> tuple[set[str], set[str]] | None:
    """(Variable keys, Connection ids) in Airflow's metadata database, or None when it cannot be read."""
    if not data_url:
        return None

    try:
        url = metadata_url(data_url).replace("postgresql+psycopg2://", "postgresql://", 1)
        with psycopg2.connect(url, connect_timeout=5) as c, c.cursor() as cur:
            cur.execute("SELECT key FROM variable WHERE val IS NOT NULL AND val <> ''")
            keys = {r[0] for r in cur.fetchall()}
            cur.execute("SELECT conn_id FROM connection")
            conns = {r[0] for r in cur.fetchall()}
        c.close()
        return keys, conns
    except Exception:  # no Airflow database yet, or not reachable: only the environment is checked
        return None


def check_secrets(config: dict, data_url: str | None) -> list[Finding]:
    needs: dict[str, tuple[str, set[str]]] = {}
    blocks = [(s, b or {}) for s, b in (config.get("spiders") or {}).items() if (b or {}).get("crawls")]
    blocks += list((config.get("downstream") or {}).items())
    for owner, block in blocks:
        entries = [normalise_secrets(block.get("secrets"))]
        entries += [normalise_secrets(c.get("secrets")) for c in block.get("crawls") or [] if isinstance(c, dict)]
        for secrets in entries:
            for name, source in secrets.items():
                needs.setdefault(name, (source, set()))[1].add(owner)
    if not needs:
        return [Finding(OK, "secrets", "no scheduled crawl names a secret")]
    airflow = _airflow_names(data_url)
    missing = []
    for name, (source, owners) in sorted(needs.items()):
        kind, _, ref = source.partition(":")
        if kind == "env":
            found = bool(os.environ.get(ref or name))
            where = f"environment variable {ref or name}"
        elif kind == "variable":
            key = ref or name
            found = bool(os.environ.get(f"AIRFLOW_VAR_{key.upper()}")) or (not ref and bool(os.environ.get(name))) \
                or (airflow is not None and key in airflow[0])
            where = f"Airflow Variable {key}" + ("" if ref else f" or environment variable {name}")
        else:
            conn_id = ref.partition(".")[0]
            found = bool(os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")) \
                or (airflow is not None and conn_id in airflow[1])
            where = f"Airflow Connection {conn_id}"
        if not found:
            missing.append(Finding(FAIL, "secrets", f"{name} (for {', '.join(sorted(owners))}) is not set",
                                   f"set the {where} (Airflow UI: Admin > Variables / Connections), "
                                   "in the environment Airflow runs in"))
    note = [] if airflow is not None else [Finding(NOTE, "secrets", "Airflow's database was not readable: only the "
                                                                    "environment was checked for Variables")]
    return missing + note if missing else [Finding(OK, "secrets", f"all {len(needs)} named secret(s) are set")] + note


# -- permissions -----------------------------------------------------------------------------
def check_permissions() -> list[Finding]:
    home = pde_home()
    loose = []
    places = [home, home / "postgresql.log", spool_dir(), backup_dir()]
    places += list(spool_dir().glob("*.jsonl")) if spool_dir().exists() else []
    for path in places:
        if not path.exists():
            continue
        m = stat.S_IMODE(path.stat().st_mode)
        allowed = 0o010 if path == home and os.geteuid() == 0 else 0  # the postgres user passes through, as root
        if m & 0o077 & ~allowed:
            loose.append(f"{path} ({oct(m)[2:]})")
    if loose:
        return [Finding(FAIL, "permissions", "others may read personal data: " + ", ".join(loose),
                        "chmod -R go-rwx those paths (pde creates them 0700/0600)")]
    return [Finding(OK, "permissions", "PDE_HOME, spool, backups and the server log are private")]


# -- certificates ----------------------------------------------------------------------------
def check_certificates() -> list[Finding]:
    paths = [Path(os.environ["PDE_TLS_CERT"])] if os.environ.get("PDE_TLS_CERT") else []
    paths += sorted((pde_home() / "tls").glob("*.crt")) + sorted((pde_home() / "tls").glob("*.pem"))
    if not paths:
        return []
    # lazy: cryptography loads only when there are certificates to check
    from cryptography import x509

    out = []
    for path in paths:
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue  # a key file or not a certificate
        left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
        if left.total_seconds() < 14 * 86400:
            out.append(Finding(FAIL, "https", f"certificate {path} " + ("expired" if left.total_seconds() < 0 else
                               f"expires in {_age(left)}"), "renew it and restart the HTTPS proxy"))
        else:
            out.append(Finding(OK, "https", f"certificate {path} valid for {left.days} more days"))
    return out


# -- the command -----------------------------------------------------------------------------
def run_checks(days: float | None) -> list[Finding]:
    """``days``: one limit for every source (--days, PDE_DOCTOR_DAYS); None: each spider's alert_after_days."""
    findings, conn = check_database()
    try:
        config = load_config()
    except ConfigError as exc:
        config = {}
        findings.append(Finding(FAIL, "config", str(exc), "fix dags/crawls.yaml"))
    if conn is not None:
        findings += check_migrations(conn)
    findings += check_envs()
    findings += check_services()
    findings += check_disk(conn)
    if conn is not None:
        findings += check_backup(conn)
        findings += check_sources(conn, config, days)
        findings += check_waiting(conn, days if days is not None else DEFAULT_AFTER_DAYS)
        data_url = os.environ.get("DATABASE_URL") or EmbeddedPostgres.default().url
        conn.close()
    else:
        data_url = None
        findings.append(Finding(NOTE, "database", "backup, sources, quarantine and spool were not checked "
                                                  "(no database)"))
    findings += check_secrets(config, data_url)
    findings += check_permissions()
    findings += check_certificates()
    return findings


def cmd_doctor(args) -> int:
    days = args.days if args.days is not None else (float(os.environ["PDE_DOCTOR_DAYS"])
                                                    if os.environ.get("PDE_DOCTOR_DAYS") else None)
    findings = run_checks(days)
    if args.json:
        print(json.dumps([f.__dict__ for f in findings], indent=1))
    else:
        for f in findings:
            print(f"{f.status:<4}  {f.area:<12} {f.text}")
            if f.todo and f.status != OK:
                print(f"{'':<18}-> {f.todo}")
    bad = [f for f in findings if f.status == FAIL]
    if not args.json:
        print(f"\n{len(bad)} thing(s) need you." if bad else "\nAll good: nothing needs you.")
    return 1 if bad else 0


def register(subparsers) -> None:
    """Adds `pde doctor` to pde's CLI."""
    d = subparsers.add_parser("doctor", help="check the installation; each problem says what to do (exit 1 if any)")
    d.add_argument("--days", type=float, help="a scheduled spider that has not succeeded for this many days "
                                              "needs you (default: its alert_after_days in dags/crawls.yaml, 3 "
                                              "if unset; $PDE_DOCTOR_DAYS); also the quarantine window")
    d.add_argument("--json", action="store_true", help="the findings as JSON")
    d.set_defaults(func=cmd_doctor)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pde.doctor")
    register(parser.add_subparsers(dest="command", required=True))
    a = parser.parse_args()
    sys.exit(a.func(a))
