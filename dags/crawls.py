"""Airflow: one crawl DAG per spider, generated (pde/airflow_dags.py; configure in dags/crawls.yaml)."""

from pde.airflow_dags import crawl_dags

globals().update(crawl_dags())
