"""Migrations: applied once, in order, each file checksummed; edits to applied files refused."""

from __future__ import annotations

import hashlib
import re
import shutil

import pytest

from pde.migrate import SQL_DIR, MigrationError, discover, discover_repeatable, migrate


def test_applying_twice_is_a_noop(pg_conn):
    # pg_conn's database was cloned from a fully migrated template
    assert migrate(pg_conn, log=lambda m: None) == []
    with pg_conn.cursor() as cur:
        cur.execute("SELECT name FROM platform.schema_migrations ORDER BY version")
        assert [r[0] for r in cur.fetchall()] == [m.path.name for m in discover()]


def test_fresh_database_gets_every_file_in_order(empty_pg_conn, tmp_path):
    pg_conn = empty_pg_conn
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "0001_a.sql").write_text("CREATE SCHEMA mig_a; CREATE TABLE mig_a.t (x int);")
    (sql / "0002_b.sql").write_text("INSERT INTO mig_a.t VALUES (1);")
    assert migrate(pg_conn, sql, log=lambda m: None) == ["0001_a.sql", "0002_b.sql"]
    assert migrate(pg_conn, sql, log=lambda m: None) == []
    with pg_conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM mig_a.t")
        assert cur.fetchone() == (1,)


def test_real_migrations_apply_to_an_empty_database(empty_pg_conn):
    applied = migrate(empty_pg_conn, log=lambda m: None)
    # every file once; repeatable NNNN right after versioned NNNN (0002 uses 0001's platform.track())
    expected = sorted([m.path.name for m in discover()] + [f"repeatable/{r.path.name}" for r in discover_repeatable()],
                      key=lambda n: (n.split("/")[-1][:4], n.startswith("repeatable/")))
    assert applied == expected
    assert migrate(empty_pg_conn, log=lambda m: None) == []


def test_edited_applied_migration_is_refused_by_name(pg_conn, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    first = min(sql.glob("*.sql"))
    first.write_text(first.read_text() + "\n-- an innocent edit\n")
    with pytest.raises(MigrationError, match=f"sql/{first.name} was edited after it was applied"):
        migrate(pg_conn, sql, log=lambda m: None)


def test_failing_migration_rolls_back_whole_file(empty_pg_conn, tmp_path):
    pg_conn = empty_pg_conn
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "0001_bad.sql").write_text("CREATE SCHEMA mig_bad; SELECT 1/0;")
    with pytest.raises(MigrationError, match="0001_bad.sql failed"):
        migrate(pg_conn, sql, log=lambda m: None)
    with pg_conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'mig_bad'")
        assert cur.fetchone() == (0,)


def test_every_table_and_column_has_a_comment(pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("""
            SELECT c.table_schema || '.' || c.table_name || '.' || c.column_name
            FROM information_schema.columns c
            JOIN pg_class k ON k.relname = c.table_name
            JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = c.table_schema
            WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema', 'selftest')
              AND col_description(k.oid, c.ordinal_position) IS NULL
              AND k.relkind IN ('r', 'v')""")
        missing_cols = [r[0] for r in cur.fetchall()]
        cur.execute("""
            SELECT n.nspname || '.' || k.relname FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
            WHERE k.relkind IN ('r', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'selftest')
              AND n.nspname NOT LIKE 'pg_%' AND obj_description(k.oid) IS NULL""")
        missing_tables = [r[0] for r in cur.fetchall()]
    assert missing_tables == [] and missing_cols == []


# ---------------------------------------------------------------------------------------------
# repeatable SQL: views and functions are re-applied when their text changes
# ---------------------------------------------------------------------------------------------
def _pde_migrate(url, sql_dir=None):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "DATABASE_URL": url}
    env.pop("PDE_SQL_DIR", None)
    if sql_dir:
        env["PDE_SQL_DIR"] = str(sql_dir)
    return subprocess.run([sys.executable, "-m", "pde.cli", "migrate"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _comment(url, view):
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT obj_description(%s::regclass, 'pg_class')", (view,))
        return cur.fetchone()[0]


def test_editing_a_view_comment_is_applied_not_refused(pg_url, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    views = sql / "repeatable" / "0040_dashboard_views.sql"
    text = views.read_text()
    old = re.search(r"COMMENT ON VIEW finance\.cashflow IS '((?:[^']|'')*)';", text).group(1)
    views.write_text(text.replace(old, "Every transaction, as the dashboard counts it (edited)."))
    proc = _pde_migrate(pg_url, sql)
    assert proc.returncode == 0, proc.stderr
    assert "applied sql/repeatable/0040_dashboard_views.sql" in proc.stdout
    assert _comment(pg_url, "finance.cashflow") == "Every transaction, as the dashboard counts it (edited)."
    again = _pde_migrate(pg_url, sql)
    assert again.returncode == 0 and "applied" not in again.stdout


def test_changing_an_early_view_rebuilds_the_views_built_on_it(pg_url, tmp_path):
    """housing.price_changes (0002) feeds housing.price_cuts (0030): a new column there survives the rebuild."""
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    first = sql / "repeatable" / "0002_housing_views.sql"
    first.write_text(first.read_text().replace("CREATE VIEW housing.price_changes AS\nWITH versions AS (",
                                               "CREATE VIEW housing.price_changes AS\nWITH versions AS (", 1)
                     + "\nCOMMENT ON VIEW housing.price_changes IS 'changed';\n")
    proc = _pde_migrate(pg_url, sql)
    assert proc.returncode == 0, proc.stderr
    assert "0030_superset_views.sql" in proc.stdout  # rebuilt because it builds on price_changes
    assert _comment(pg_url, "housing.price_changes") == "changed"
    assert _comment(pg_url, "housing.price_cuts")  # dropped by CASCADE and created again


def test_a_users_own_view_dropped_by_a_rebuild_is_reported(pg_url, tmp_path):
    import psycopg2

    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE VIEW public.my_cuts AS SELECT * FROM housing.price_cuts")
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    f = sql / "repeatable" / "0030_superset_views.sql"
    f.write_text(f.read_text() + "\n-- edited\n")
    proc = _pde_migrate(pg_url, sql)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"WARNING: the view (public\.)?my_cuts was dropped .* create it again", proc.stdout), proc.stdout


def test_versioned_files_still_refuse_edits(pg_url, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    f = sql / "0040_fantasy_me.sql"
    f.write_text(f.read_text() + "\n-- an innocent edit\n")
    proc = _pde_migrate(pg_url, sql)
    assert proc.returncode == 2
    assert "sql/0040_fantasy_me.sql was edited after it was applied" in proc.stderr
    assert "sql/repeatable/" in proc.stderr  # and where views belong


def _schema(url):
    """Views, functions and comments of pde's schemas, as PostgreSQL describes them."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("""SELECT schemaname, viewname, definition FROM pg_views
                        WHERE schemaname IN ('platform', 'housing', 'finance', 'fantasy') ORDER BY 1, 2""")
        views = cur.fetchall()
        cur.execute("""SELECT n.nspname, p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
                         JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname IN ('platform', 'housing', 'finance', 'fantasy') ORDER BY 1, 2""")
        functions = cur.fetchall()
        cur.execute("""SELECT c.oid::regclass::text, d.objsubid, d.description FROM pg_description d
                         JOIN pg_class c ON c.oid = d.objoid JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname IN ('platform', 'housing', 'finance', 'fantasy') ORDER BY 1, 2""")
        comments = cur.fetchall()
        cur.execute("""SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
                        WHERE table_schema IN ('platform', 'housing', 'finance', 'fantasy') ORDER BY 1, 2, 3""")
        columns = cur.fetchall()
    return views, functions, comments, columns


def _former_file(name: str, checksum: str) -> bytes | None:
    """The file as it was before the split, from git history (None when the history is not there)."""
    import subprocess

    from tests.conftest import ROOT

    commits = subprocess.run(["git", "rev-list", "HEAD", "--", f"sql/{name}"], cwd=ROOT, capture_output=True,
                             text=True, check=False).stdout.split()
    for commit in commits:
        for ref in (commit, f"{commit}^"):  # the commit that deleted it holds it in its parent
            text = subprocess.run(["git", "show", f"{ref}:sql/{name}"], cwd=ROOT, capture_output=True,
                                  check=False).stdout
            if text and hashlib.sha256(text).hexdigest() == checksum:
                return text
    return None


def test_a_database_migrated_with_the_former_files_keeps_working(empty_pg_conn, pg_url, tmp_path):
    """A database migrated before views moved to sql/repeatable/ upgrades with `pde migrate` to the same schema."""
    from pde.migrate import FORMER

    former = tmp_path / "former"
    former.mkdir()
    for name, checksum in FORMER.values():
        text = _former_file(name, checksum)
        if text is None:
            pytest.skip("the former sql/ files are not in this checkout's git history")
        (former / name).write_bytes(text)
    migrate(empty_pg_conn, former, log=lambda m: None)
    with empty_pg_conn.cursor() as cur:
        cur.execute("INSERT INTO fantasy.me (source, member_id) VALUES ('sleeper', '42')")
    empty_pg_conn.commit()
    old_url = pg_url.rsplit("/", 1)[0] + "/" + empty_pg_conn.get_dsn_parameters()["dbname"]
    proc = _pde_migrate(old_url)
    assert proc.returncode == 0, proc.stderr
    assert "before its views moved to sql/repeatable/" in proc.stdout
    assert _schema(old_url) == _schema(pg_url)  # the same views, functions, comments and columns as a new database
    with empty_pg_conn.cursor() as cur:
        cur.execute("SELECT member_id FROM fantasy.me")
        assert cur.fetchall() == [("42",)]
    again = _pde_migrate(old_url)
    assert again.returncode == 0 and "applied" not in again.stdout
