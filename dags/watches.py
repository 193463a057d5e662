"""Airflow: the pde_watches DAG, one alert per event for the watches in dags/crawls.yaml (pde/schedule/watches.py)."""

from pde.schedule.watches import watches_dags

globals().update(watches_dags())
