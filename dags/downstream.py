"""Airflow: DAGs that run when a crawl changed their tables (``downstream:`` in dags/crawls.yaml)."""

from pde.schedule.dags import downstream_dags

globals().update(downstream_dags())
