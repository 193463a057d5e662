"""pde's tables as pandas DataFrames, for notebooks and models.

    from pde import data
    data.sql("select zip, count(*) from housing.listings group by zip")
    data.table("housing.listings", where="status = 'FOR_RENT'")

Reads go through SQLAlchemy (so pandas does not warn about raw DBAPI
connections) and, by default, as ``pde_reader``: the login role Superset uses,
which may SELECT from the data schemas and nothing else, so a notebook cannot
change the data by mistake. The role is created (or given the new schemas) on
first use when it cannot read yet; its password is kept in
``$PDE_HOME/superset/reader-password``. ``readonly=False`` connects as the owner
(models writing their results do). ``PDE_READER_URL`` overrides the read-only
connection entirely (a role you created yourself).

Needs SQLAlchemy 2 and pandas: the notebook environment (``.venv-notebook``)
and Airflow's have them; the crawl environment does not import this module.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from urllib.parse import urlsplit

import psycopg2

from pde.db import DatabaseError, database_url, describe, pde_home
from pde.services.superset import DATA_SCHEMAS, READER_ROLE, _secret, _with_credentials, ensure_reader_role

_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


def _sqlalchemy_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg2" + url[len(scheme):]
    return url


def reader_url(owner_url: str | None = None) -> str:
    """The read-only role's URL on the same server and database; the role is made ready when it is not."""
    if os.environ.get("PDE_READER_URL"):
        return os.environ["PDE_READER_URL"]
    owner_url = owner_url or database_url()
    return _ready_reader(owner_url)


@lru_cache(maxsize=8)
def _ready_reader(owner_url: str) -> str:
    password = _secret(pde_home() / "superset" / "reader-password")[0]
    url = _with_credentials(owner_url, READER_ROLE, password)
    if not _reader_can_read(url, DATA_SCHEMAS):
        try:
            conn = psycopg2.connect(owner_url, connect_timeout=10)
        except psycopg2.Error as exc:
            raise DatabaseError(f"Cannot connect to {describe(owner_url)}: {str(exc).strip()}") from exc
        try:
            ensure_reader_role(conn, password)
        except psycopg2.Error as exc:
            raise DatabaseError(
                f"The read-only role {READER_ROLE} cannot read {describe(owner_url)} and pde may not create it "
                f"({str(exc).strip()}). Create a role with SELECT on the data schemas and set PDE_READER_URL, "
                f"or pass readonly=False.") from exc
        finally:
            conn.close()
    return url


def _reader_can_read(url: str, schemas: tuple[str, ...]) -> bool:
    try:
        conn = psycopg2.connect(url, connect_timeout=10)
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT bool_and(has_schema_privilege(nspname, 'USAGE')) FROM pg_namespace "
                        "WHERE nspname = ANY(%s)", (list(schemas),))
            return bool(cur.fetchone()[0])
    finally:
        conn.close()


@lru_cache(maxsize=8)
def _engine(url: str, readonly: bool):
    # lazy: pandas and SQLAlchemy live in the notebook environment only
    from sqlalchemy import create_engine

    args = {"application_name": "pde-data", "connect_timeout": 10}
    if readonly:
        args["options"] = "-c default_transaction_read_only=on"
    return create_engine(_sqlalchemy_url(url), connect_args=args, pool_pre_ping=True)


def engine(url: str | None = None, readonly: bool = True):
    """A SQLAlchemy engine on pde's database: the read-only role by default (url: the owner's URL)."""
    owner = url or database_url()
    return _engine(reader_url(owner) if readonly else owner, readonly)


def sql(query: str, params: dict | None = None, *, url: str | None = None, readonly: bool = True, **read_sql):
    """The result of a SELECT as a DataFrame; ``:name`` placeholders take their values from params."""
    # lazy: pandas and SQLAlchemy live in the notebook environment only
    import pandas as pd
    from sqlalchemy import text

    with engine(url, readonly).connect() as conn:
        return pd.read_sql(text(query), conn, params=params or {}, **read_sql)


def table(name: str, *, columns: list[str] | None = None, where: str | None = None,
          params: dict | None = None, limit: int | None = None, url: str | None = None, readonly: bool = True):
    """A whole table or view (``schema.table``) as a DataFrame, optionally some columns or rows of it."""
    if not _NAME.match(name):
        raise ValueError(f"table name should be schema.table in lower case, e.g. housing.listings; got {name!r}")
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    schema, rel = name.split(".")
    query = f'SELECT {cols} FROM "{schema}"."{rel}"'
    if where:
        query += f" WHERE {where}"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return sql(query, params, url=url, readonly=readonly)
