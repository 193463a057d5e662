"""Airflow: one crawl DAG per spider, generated (pde/schedule/; configure in dags/crawls.yaml)."""

from pde.schedule.dags import crawl_dags

globals().update(crawl_dags())
