"""`pde backup` and `pde restore` for real: pg_dump/pg_restore against the test PostgreSQL, as subprocesses.

The round trip is checked without pde's own reader: an md5 over every row of
every table, computed by PostgreSQL in the live and in the restored database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import uuid
from pathlib import Path

import psycopg2
import pytest

from pde import backup, cassettes
from tests.conftest import FIXTURES, _admin, run_crawl, run_pde
from tests.helpers import rows

KEY = "x" * 43 + "="  # a syntactically valid Fernet key, made up for the tests


def table_md5s(url) -> dict[str, tuple[int, str]]:
    """(rows, md5 of all rows in a stable order) per user table, straight from PostgreSQL."""
    tables = [r[0] for r in rows(url, """SELECT format('%I.%I', table_schema, table_name)
                                        FROM information_schema.tables WHERE table_type = 'BASE TABLE'
                                        AND table_schema NOT IN ('pg_catalog', 'information_schema')""")]
    out = {}
    for t in tables:
        out[t] = rows(url, f"SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') "
                           f"FROM {t} x")[0]
    return out


def crawl_fixtures(url):
    for spider, cassette in (("zillow_listings", FIXTURES / "zillow_listings" / "search_04011.json"),
                             ("ofx_statements", FIXTURES / "ofx_statements" / "ofx_statements.json")):
        p = run_crawl(spider, db=url, cassette=cassette, args=cassettes.metadata(cassette)["args"])
        assert p.returncode == 0, p.stderr[-3000:]


@pytest.fixture
def env(tmp_path, pg_url):
    e = {"DATABASE_URL": pg_url, "PDE_HOME": str(tmp_path / "home"), "PDE_BACKUP_DIR": str(tmp_path / "backups"),
         "PDE_AIRFLOW_DB": "airflow_" + uuid.uuid4().hex[:10]}
    for k in ("PDE_BACKUP_KEY", "PDE_BACKUP_KEY_FILE"):
        os.environ.pop(k, None)
    return e


@pytest.fixture
def databases(pg_server):
    """Names of databases a test creates on the test server; dropped afterwards."""
    made: list[str] = []
    yield made
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        for name in made:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def server_url(pg_url, name):
    return pg_url.rsplit("/", 1)[0] + "/" + name


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_restores_every_row_of_every_table(env, pg_url, pg_server, databases):
    crawl_fixtures(pg_url)
    # Airflow's metadata database on the same server is covered too
    databases.append(env["PDE_AIRFLOW_DB"])
    admin = _admin(pg_server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{env["PDE_AIRFLOW_DB"]}"')
    admin.close()
    airflow_url = server_url(pg_url, env["PDE_AIRFLOW_DB"])
    with psycopg2.connect(airflow_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE variable (key text PRIMARY KEY, val text); "
                    "INSERT INTO variable VALUES ('pde_crawls', '{}'), ('other', 'x')")
    conn.close()
    before = table_md5s(pg_url)
    assert before["housing.listings"][0] > 0 and before["finance.transactions"][0] > 0

    out = run_pde("backup", env=env)
    assert out.returncode == 0, out.stderr
    sets = [p for p in Path(env["PDE_BACKUP_DIR"]).iterdir() if not p.name.startswith(".")]
    assert len(sets) == 1 and f"backup {sets[0].name}: 2 database(s)" in out.stdout
    folder = sets[0]
    dbname = pg_url.rsplit("/", 1)[1]
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{dbname}.dump", f"{env['PDE_AIRFLOW_DB']}.dump",
                                                              "manifest.json"])
    # private: folder 0700, files 0600; pg_dump's custom format starts with PGDMP
    assert mode(Path(env["PDE_BACKUP_DIR"])) == 0o700 and mode(folder) == 0o700
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    dump = folder / f"{dbname}.dump"
    assert dump.read_bytes()[:5] == b"PGDMP"
    # recorded in platform.backups with the file's real size and checksum
    recorded = dict((r[0], r[1:]) for r in rows(pg_url, "SELECT database, file, size_bytes, sha256, encrypted "
                                                        "FROM platform.backups"))
    assert set(recorded) == {dbname, env["PDE_AIRFLOW_DB"]}
    assert recorded[dbname] == (str(dump), dump.stat().st_size, hashlib.sha256(dump.read_bytes()).hexdigest(), False)
    assert rows(pg_url, "SELECT label FROM platform.last_backups WHERE database = %s", (dbname,)) == [(folder.name,)]

    restored = f"r_{uuid.uuid4().hex[:10]}"
    databases.append(restored)
    out = run_pde("restore", "latest", "--name", restored, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"The restored database {restored!r} matches the backup" in out.stdout
    assert "DATABASE_URL" in out.stdout and "--force-replace" in out.stdout  # how to switch
    after = table_md5s(server_url(pg_url, restored))
    assert after == before
    assert sum(n for n, _ in after.values()) > 0

    # the live database still there, untouched; a second restore under the same name is refused
    assert table_md5s(pg_url) == {**before, "platform.backups": table_md5s(pg_url)["platform.backups"]}
    again = run_pde("restore", "latest", "--name", restored, env=env)
    assert again.returncode == 2 and "already exists" in again.stderr

    # the Airflow metadata dump restores too
    meta = f"r_{uuid.uuid4().hex[:10]}"
    databases.append(meta)
    out = run_pde("restore", str(folder), "--database", env["PDE_AIRFLOW_DB"], "--name", meta, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert rows(server_url(pg_url, meta), "SELECT key FROM variable ORDER BY key") == [("other",), ("pde_crawls",)]


def test_restore_check_catches_a_mismatch_and_a_damaged_file(env, pg_url, databases):
    crawl_fixtures(pg_url)
    assert run_pde("backup", env=env).returncode == 0
    folder = next(p for p in Path(env["PDE_BACKUP_DIR"]).iterdir() if not p.name.startswith("."))
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(f for f in manifest["files"].values() if f["role"] == "data")
    entry["tables"]["housing.listings"] += 1  # claim one row more than was dumped
    (folder / "manifest.json").write_text(json.dumps(manifest))
    name = f"r_{uuid.uuid4().hex[:10]}"
    databases.append(name)
    out = run_pde("restore", str(folder), "--name", name, env=env)
    assert out.returncode == 1
    assert "BAD housing.listings" in out.stdout and "does NOT match" in out.stdout

    dump = next(folder.glob("*.dump"))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    out = run_pde("restore", str(folder), "--name", f"r_{uuid.uuid4().hex[:10]}", env=env)
    assert out.returncode == 2 and "is damaged" in out.stderr


def test_encrypted_backup_needs_the_right_key(env, pg_url, databases, tmp_path):
    crawl_fixtures(pg_url)
    fernet = f"airflow-fernet-{uuid.uuid4().hex}"  # Airflow's key for its Connections: saved, encrypted
    (Path(env["PDE_HOME"]) / "airflow").mkdir(parents=True)
    (Path(env["PDE_HOME"]) / "airflow" / "secrets.json").write_text(json.dumps({"fernet_key": fernet}))
    out = run_pde("backup", env={**env, "PDE_BACKUP_KEY": KEY})
    assert out.returncode == 0, out.stderr
    assert "encrypted" in out.stdout
    folder = next(p for p in Path(env["PDE_BACKUP_DIR"]).iterdir() if not p.name.startswith("."))
    enc = next(folder.glob("*.dump.enc"))
    assert b"PGDMP" not in enc.read_bytes()[:4096]
    assert rows(pg_url, "SELECT bool_and(encrypted) FROM platform.backups") == [(True,)]

    missing = run_pde("restore", "latest", env=env)
    assert missing.returncode == 2 and "set PDE_BACKUP_KEY" in missing.stderr
    other = run_pde("backup", "--new-key", env=env).stdout.split()[0]
    wrong = run_pde("restore", "latest", env={**env, "PDE_BACKUP_KEY": other})
    assert wrong.returncode == 2 and "not the key this backup was made with" in wrong.stderr
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    name = f"r_{uuid.uuid4().hex[:10]}"
    databases.append(name)
    ok = run_pde("restore", "latest", "--name", name, env={**env, "PDE_BACKUP_KEY_FILE": str(key_file)})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert table_md5s(server_url(pg_url, name))["housing.listings"] == table_md5s(pg_url)["housing.listings"]
    assert not list(folder.glob(".restore-*")), "the decrypted copy was left behind"
    assert not any(fernet.encode() in p.read_bytes() for p in folder.rglob("*") if p.is_file())
    state = run_pde("restore", "latest", "--state-to", str(tmp_path / "state"), env={**env, "PDE_BACKUP_KEY": KEY})
    assert state.returncode == 0, state.stderr
    assert json.loads((tmp_path / "state" / "airflow" / "secrets.json").read_text()) == {"fernet_key": fernet}
    assert mode(tmp_path / "state" / "airflow" / "secrets.json") == 0o600
    assert "$PDE_HOME/airflow/secrets.json" in state.stdout


def test_cut_or_reordered_encrypted_file_is_refused(tmp_path):
    import io

    plain = os.urandom(backup.FRAME * 2 + 100)
    enc = tmp_path / "x.enc"
    with open(enc, "wb") as out:
        backup.encrypt_stream(KEY.encode(), io.BytesIO(plain), out)
    backup.decrypt_file(KEY.encode(), enc, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == plain
    data = enc.read_bytes()
    frames, pos = [], len(backup.MAGIC)
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        frames.append(data[pos:pos + 4 + n])
        pos += 4 + n
    assert len(frames) == 3
    (tmp_path / "cut").write_bytes(backup.MAGIC + b"".join(frames[:2]))
    with pytest.raises(backup.BackupError, match="cut short"):
        backup.decrypt_file(KEY.encode(), tmp_path / "cut", tmp_path / "o1")
    (tmp_path / "swapped").write_bytes(backup.MAGIC + frames[1] + frames[0] + frames[2])
    with pytest.raises(backup.BackupError, match="out of order"):
        backup.decrypt_file(KEY.encode(), tmp_path / "swapped", tmp_path / "o2")


def test_retention_keeps_newest_per_day_week_and_month():
    # Sets twice a day over ~10 weeks ending Mon 2026-03-02 (the newest: 2026-03-02 18:00)
    end = dt.datetime(2026, 3, 2, 18, tzinfo=dt.UTC)
    labels = [(end - dt.timedelta(hours=12 * i)).strftime(backup.LABEL_FORMAT) for i in range(140)]
    kept = backup.sets_to_keep(labels, {"daily": 3, "weekly": 2, "monthly": 3})
    expected = {
        "20260302T180000Z", "20260301T180000Z", "20260228T180000Z",  # the 3 newest days' evening sets
        # weeks: this ISO week (Mon 2 March: the newest) and last (its newest: Sunday 1 March, already kept)
        # months: March (the newest), February (28 Feb, kept), January (its last: 31 Jan 18:00)
        "20260131T180000Z",
    }
    assert kept == expected
    assert backup.sets_to_keep(labels, {"daily": 0, "weekly": 0, "monthly": 0}) == {"20260302T180000Z"}


def test_backup_prunes_old_sets_by_its_settings(env, pg_url):
    dest = Path(env["PDE_BACKUP_DIR"])
    dest.mkdir()
    old = ["20250101T020000Z", "20250102T020000Z", "20250301T020000Z"]
    for label in old:
        (dest / label).mkdir()
        (dest / label / "manifest.json").write_text("{}")
    (dest / "not-a-backup").mkdir()
    out = run_pde("backup", "--keep-daily", "2", "--keep-weekly", "0", "--keep-monthly", "0", env=env)
    assert out.returncode == 0, out.stderr
    # newest set is today's; the 2 days kept are today and 1 March 2025; January's go
    left = sorted(p.name for p in dest.iterdir())
    assert "20250301T020000Z" in left and "not-a-backup" in left
    assert "20250101T020000Z" not in left and "20250102T020000Z" not in left
    assert "pruned 2 old set(s)" in out.stdout
    monthly = run_pde("backup", "--keep-daily", "1", "--keep-monthly", "3", env=env)
    assert monthly.returncode == 0 and "20250301T020000Z" in [p.name for p in dest.iterdir()]


def test_force_replace_swaps_in_the_restore_and_keeps_the_old(env, pg_url, databases):
    crawl_fixtures(pg_url)
    before = table_md5s(pg_url)
    assert run_pde("backup", env=env).returncode == 0
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM housing.listings")  # the accident the backup is for
    conn.close()
    live = pg_url.rsplit("/", 1)[1]
    holder = psycopg2.connect(pg_url)  # someone still connected: refused
    databases.append(f"r_{uuid.uuid4().hex[:10]}")
    try:
        busy = run_pde("restore", "latest", "--name", databases[-1], "--force-replace", env=env)
    finally:
        holder.close()
    assert busy.returncode == 2 and "still use" in busy.stderr
    out = run_pde("restore", "latest", "--force-replace", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    label = next(p.name for p in Path(env["PDE_BACKUP_DIR"]).iterdir() if not p.name.startswith("."))
    aside = f"{live}_before_restore_{label.lower()}"
    databases.append(aside)
    assert f"kept as {aside!r}" in out.stdout
    now = table_md5s(pg_url)
    assert now["housing.listings"] == before["housing.listings"] and now["housing.listings"][0] > 0
    assert rows(server_url(pg_url, aside), "SELECT count(*) FROM housing.listings") == [(0,)]
