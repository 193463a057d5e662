"""Airflow: the daily pde_health DAG, alerting for sources that have not succeeded for N days."""

from pde.schedule.alerts import health_dags

globals().update(health_dags())
