"""Scheduling: Airflow DAGs generated from the spiders and dags/crawls.yaml.

- ``config``: dags/crawls.yaml (and the ``pde_crawls`` Variable overlay).
- ``registry``: the spiders, read from source without importing them.
- ``dags``: one crawl DAG per spider, and the downstream DAGs on their tables' assets.
- ``tasks``: what the tasks do (run a crawl, check its run), importable without a scheduler.
- ``quality``: the checks a run must pass before its tables' assets update.
"""
