"""``from pde import data``: DataFrames through SQLAlchemy, as the read-only role, without pandas warnings."""

from __future__ import annotations

import warnings

import pytest
import sqlalchemy.exc

from pde import data


@pytest.fixture
def listings(pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("INSERT INTO housing.listings (zpid, zip, price, beds, status) VALUES "
                    "('1', '04011', 1500, 2, 'FOR_RENT'), ('2', '04011', 2100, 3, 'FOR_RENT'), "
                    "('3', '04101', 450000, 3, 'FOR_SALE')")
    pg_conn.commit()


def test_sql_and_table_give_dataframes_as_the_read_only_role_without_warnings(pg_url, pde_home, listings):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' "only supports SQLAlchemy connectable" would fail here
        df = data.sql("SELECT zip, count(*) AS n, sum(price) AS total FROM housing.listings GROUP BY zip ORDER BY zip",
                      url=pg_url)
        who = data.sql("SELECT current_user AS u", url=pg_url)
        rentals = data.table("housing.listings", columns=["zpid", "price"], where="status = :s",
                             params={"s": "FOR_RENT"}, url=pg_url)
    assert df.to_dict("records") == [{"zip": "04011", "n": 2, "total": 3600}, {"zip": "04101", "n": 1, "total": 450000}]
    assert who["u"].iloc[0] == "pde_reader"
    assert sorted(rentals["zpid"]) == ["1", "2"] and rentals["price"].dtype.kind in "if"


def test_the_default_connection_cannot_change_data(pg_url, pde_home, listings):
    import pandas as pd

    with pytest.raises(pd.errors.DatabaseError, match="read-only transaction"):
        data.sql("DELETE FROM housing.listings RETURNING zpid", url=pg_url)
    # and the role itself may not, even when the session is switched to read-write
    with data.engine(pg_url).connect() as conn:
        conn.exec_driver_sql("SET default_transaction_read_only = off")
        conn.commit()
        with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql("DELETE FROM housing.listings")
    assert len(data.table("housing.listings", url=pg_url)) == 3
    # the owner can, when asked for explicitly (models writing their tables)
    assert data.sql("SELECT current_user AS u", url=pg_url, readonly=False)["u"].iloc[0] != "pde_reader"


def test_numeric_columns_arrive_as_floats_not_decimals(pg_url, pde_home, pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("INSERT INTO finance.transactions (account_id, transaction_id, source, posted_date, amount, "
                    "currency) VALUES ('a', 't1', 'csv', '2024-01-02', -12.34, 'USD')")
    pg_conn.commit()
    df = data.table("finance.transactions", columns=["amount"], url=pg_url)
    assert df["amount"].dtype == "float64" and df["amount"].iloc[0] == -12.34


def test_table_names_are_checked():
    with pytest.raises(ValueError, match="schema.table"):
        data.table("housing.listings; DROP TABLE x")
