"""Airflow: crawl what is dropped into the inbox (PDE_INBOX), every few minutes (pde/schedule/inbox.py)."""

from pde.schedule.inbox import inbox_dag

dag = inbox_dag()
