"""Migrations: applied once, in order, each file checksummed; edits to applied files refused."""

from __future__ import annotations

import shutil

import pytest

from pde.migrate import SQL_DIR, MigrationError, discover, migrate


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
    assert applied == [m.path.name for m in discover()]
    assert migrate(empty_pg_conn, log=lambda m: None) == []


def test_edited_applied_migration_is_refused_by_name(pg_conn, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    first = sorted(sql.glob("*.sql"))[0]
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
