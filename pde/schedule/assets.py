"""Airflow Assets: one per table a crawl writes, and one alias per spider that emits them."""

from __future__ import annotations

from pde.schedule.config import ConfigError


def table_asset(table: str):
    """The Airflow Asset for a PostgreSQL table, e.g. ``table_asset("housing.listings")``."""
    from airflow.sdk import Asset  # lazy: importing Airflow reads its configuration (see pde/schedule/tasks.py)

    if table.count(".") != 1:
        raise ConfigError(f"{table!r}: name tables as schema.table")
    return Asset(name=table, uri=f"x-pde://postgres/{table}")


def spider_alias(spider: str):
    """Every table a spider's crawls write is emitted through this alias."""
    from airflow.sdk import AssetAlias  # lazy: Airflow (see table_asset)

    return AssetAlias(name=f"pde.{spider}")
