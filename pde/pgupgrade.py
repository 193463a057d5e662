"""Upgrading the embedded PostgreSQL to the machine's newer major version: ``pde db upgrade``.

PostgreSQL's data directory is readable only by the major version that made it
(its ``PG_VERSION`` file). When the machine's server is newer (Debian 12 has 15,
13 has 17, the compose file 16), ``pde db start`` refuses and says to run this,
which:

1. stops the old cluster and counts the rows of every table in every database
   with the OLD server binaries (they are needed once: Debian keeps
   ``postgresql-<old>`` installed until you remove it; ``PDE_PG_OLD_BINDIR``
   points elsewhere);
2. initialises a new cluster next to it with the same user, password, locale,
   encoding and checksum setting, and runs ``pg_upgrade`` in copy mode (the old
   folder is only read);
3. starts the new cluster on a spare port, counts again, and refuses to go on
   when any count differs;
4. only then swaps folders: ``pgdata`` becomes ``pgdata-pg<old>-<time>`` (kept
   until you delete it) and the new cluster becomes ``pgdata``.

Going back a major version is not possible with PostgreSQL; pde refuses and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import time
from pathlib import Path

import psycopg2

from pde.backup import table_counts
from pde.db import DB_USER, DatabaseError, EmbeddedPostgres, binary_major, find_bindir, free_port, server_major


def old_bindir(major: int) -> Path:
    """Server binaries of an older major: $PDE_PG_OLD_BINDIR, else Debian's /usr/lib/postgresql/<major>/bin."""
    candidates = [Path(os.environ["PDE_PG_OLD_BINDIR"])] if os.environ.get("PDE_PG_OLD_BINDIR") else []
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    for c in candidates:
        if binary_major(c) == major:
            return c
    raise DatabaseError(
        f"To upgrade, pde needs PostgreSQL {major}'s server binaries once, to read the old data (found none in "
        f"{', '.join(map(str, candidates))}). Install them (Debian: `apt-get install postgresql-{major}`; you may "
        f"remove them afterwards) or set PDE_PG_OLD_BINDIR to their bin folder, then run `pde db upgrade` again. "
        f"Or start afresh from a backup: move the data folder aside, `pde db start`, "
        f"`pde restore <backup> --force-replace`. Nothing was changed.")


def _controldata(pg: EmbeddedPostgres, bindir: Path, datadir: Path) -> dict[str, str]:
    out = pg._pg("pg_controldata", str(datadir), bindir=bindir).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def _counts(pg: EmbeddedPostgres, bindir: Path, datadir: Path) -> dict[str, dict[str, int]]:
    """Start a cluster on a spare port with the given binaries, count rows per table in every database, stop it."""

    port = free_port()
    log = pg.home / f"pg_upgrade-check-{port}.log"
    log.touch(mode=0o600)
    pg._give_to_server_user(log)
    pg._pg("pg_ctl", "start", "-w", "-t", "60", "-D", str(datadir), "-l", str(log),
           "-o", f"-p {port} -c listen_addresses='' -c unix_socket_directories='{pg.rundir}'", bindir=bindir)
    try:
        def conn(db):
            return psycopg2.connect(host=str(pg.rundir), port=port, user=DB_USER, dbname=db, connect_timeout=10)

        with conn("postgres") as c, c.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1")
            names = [r[0] for r in cur.fetchall()]
        c.close()
        out = {}
        for name in names:
            c = conn(name)
            c.autocommit = True
            with c.cursor() as cur:
                out[name] = table_counts(cur)
                cur.execute("ANALYZE")  # pg_upgrade does not carry the planner's statistics over
            c.close()
        return out
    finally:
        pg._pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(datadir), bindir=bindir)
        log.unlink(missing_ok=True)


def upgrade(pg: EmbeddedPostgres | None = None, log=print) -> int:
    pg = pg or EmbeddedPostgres.default()
    pg.check_interrupted_upgrade()
    old, new = pg.data_major(), server_major()
    if old is None:
        log(f"No data in {pg.datadir} yet: nothing to upgrade.")
        return 0
    if old == new:
        log(f"The embedded PostgreSQL data is already PostgreSQL {new}: nothing to do.")
        return 0
    if old > new:
        pg.check_version()  # raises the "cannot go back" message
    new_bindir = find_bindir()
    from_bindir = old_bindir(old)
    pg.make_home()
    with open(pg.home / ".upgrade.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if pg._pg("pg_ctl", "status", "-D", str(pg.datadir), check=False, bindir=from_bindir).returncode == 0:
            log(f"stopping the running PostgreSQL {old}")
            pg._pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(pg.datadir), bindir=from_bindir)
        log(f"upgrading {pg.datadir} from PostgreSQL {old} ({from_bindir}) to {new} ({new_bindir})")
        before = _counts(pg, from_bindir, pg.datadir)
        log(f"  counted {sum(sum(t.values()) for t in before.values())} rows in {len(before)} database(s)")

        target = pg.home / f"pgdata-pg{new}.new"
        if target.exists():
            shutil.rmtree(target)  # an earlier attempt that did not finish; the live data is elsewhere
        target.mkdir(mode=0o700)
        pg._give_to_server_user(target)
        pwfile = pg.rundir / "upgrade-pw"
        pwfile.write_text(pg.password + "\n")
        os.chmod(pwfile, 0o600)
        pg._give_to_server_user(pwfile)
        checksums = _controldata(pg, from_bindir, pg.datadir).get("Data page checksum version", "0") != "0"
        args = ["initdb", "-D", str(target), "-U", DB_USER, "--pwfile", str(pwfile), "--auth-local=trust",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
        if checksums:
            args.append("--data-checksums")
        elif new >= 18:  # 18 turned checksums on by default; pg_upgrade needs the old cluster's setting
            args.append("--no-data-checksums")
        try:
            pg._pg(*args, bindir=new_bindir)
        finally:
            pwfile.unlink(missing_ok=True)
        for conf in ("pg_hba.conf", "postgresql.auto.conf"):  # access rules and pde's settings, as they were
            shutil.copy2(pg.datadir / conf, target / conf)
            pg._give_to_server_user(target / conf)
        t0 = time.monotonic()
        proc = pg._pg("pg_upgrade", "-b", str(from_bindir), "-B", str(new_bindir), "-d", str(pg.datadir),
                      "-D", str(target), "-U", DB_USER, "-p", str(free_port()), "-P", str(free_port()),
                      "--socketdir", str(pg.rundir), "--copy", check=False, bindir=new_bindir, cwd=str(pg.rundir))
        if proc.returncode != 0:
            raise DatabaseError(
                f"pg_upgrade failed; {pg.datadir} (PostgreSQL {old}) is untouched and still in use with "
                f"PG_BINDIR={from_bindir}. Its report (logs in {target}/pg_upgrade_output.d):\n"
                + "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:]))
        log(f"  pg_upgrade done in {time.monotonic() - t0:.1f} s; checking the new cluster")
        after = _counts(pg, new_bindir, target)
        if after != before:
            diffs = [f"{db}.{t}: {before.get(db, {}).get(t)} -> {after.get(db, {}).get(t)}"
                     for db in sorted(set(before) | set(after))
                     for t in sorted(set(before.get(db, {})) | set(after.get(db, {})))
                     if before.get(db, {}).get(t) != after.get(db, {}).get(t)]
            raise DatabaseError(f"The upgraded cluster in {target} does not hold the same rows "
                                f"({'; '.join(diffs[:10])}). {pg.datadir} is untouched and still the one pde uses.")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = pg.home / f"pgdata-pg{old}-{stamp}"
        pg.datadir.rename(kept)
        target.rename(pg.datadir)
        for leftover in ("delete_old_cluster.sh",):
            (pg.rundir / leftover).unlink(missing_ok=True)
    log(f"""Upgraded to PostgreSQL {new}: every table of every database has the same row count as before.
The PostgreSQL {old} data is kept in {kept}: delete it when you are satisfied (`rm -rf {kept}`).
Start as usual (`pde db start`, `make up`).""")
    return 0
