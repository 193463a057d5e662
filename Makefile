# pde: the two commands are `make demo` (set up, crawl every recorded fixture into
# the embedded PostgreSQL, show what landed) and `make test`.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=
# compile bytecode at install: a fixture crawl takes ~0.9 s instead of ~1.5 s without cached .pyc
export UV_COMPILE_BYTECODE := 1
VENV := .venv
PY := $(VENV)/bin/python
# Airflow (and the test run, which drives Airflow in-process) use a second
# environment from the same uv.lock; crawls use the lean .venv (pde/envs.py).
AIRFLOW_VENV := .venv-airflow
# JupyterLab, papermill and the models' SQLAlchemy: a third environment from the same uv.lock.
NOTEBOOK_VENV := .venv-notebook

.PHONY: lint setup demo test test-celery bench db-info up down superset-setup notebook models help

help:
	@echo "make demo     set up and crawl every recorded fixture into the embedded PostgreSQL"
	@echo "make test     set up and run all tests (offline)"
	@echo "make bench    run the benchmarks, write benchmarks/results.json"
	@echo "make db-info  connection details for psql/DBeaver"
	@echo "make up       start Airflow (127.0.0.1:8080), Superset (:8088) and the home page (:8000); prints URLs and logins"
	@echo "              with PDE_LISTEN=<address>: also the HTTPS proxy for the home network (Caddy; docs/proxy.md)"
	@echo "make notebook start JupyterLab (127.0.0.1:8888, PDE_JUPYTER_PORT) with notebooks/; prints the URL"
	@echo "make models   train the models (house value, fantasy projections, spending) on your data"
	@echo "make down     stop everything make up and make notebook started"

setup: $(VENV)/.synced $(AIRFLOW_VENV)/.synced

# the crawl environment: all `make demo` needs
$(VENV)/.synced: pyproject.toml uv.lock scripts/system-deps.sh
	@scripts/system-deps.sh
	uv sync --frozen --group dev
	@touch $@

# Airflow's environment (make up, make test)
$(AIRFLOW_VENV)/.synced: pyproject.toml uv.lock $(VENV)/.synced
	UV_PROJECT_ENVIRONMENT=$(AIRFLOW_VENV) uv sync --frozen --group dev --group airflow --group web
	UV_PROJECT_ENVIRONMENT=$(NOTEBOOK_VENV) uv sync --frozen --group notebook
	@touch $(NOTEBOOK_VENV)/.pde-synced
	@touch $@

demo: $(VENV)/.synced
	$(VENV)/bin/pde demo

# ruff, pinned; the settings are in pyproject.toml ([tool.ruff])
lint:
	uv tool run --from 'ruff==0.17.6' ruff check .

test: setup
	$(AIRFLOW_VENV)/bin/python -m pytest

# Airflow's CeleryExecutor with Redis and two workers (issue 17); part of `make test` too
test-celery: setup
	$(AIRFLOW_VENV)/bin/python -m pytest -m celery

# dlt, for the side-by-side load benchmark only: its own environment, never the crawl's
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.synced: pyproject.toml uv.lock $(VENV)/.synced
	UV_PROJECT_ENVIRONMENT=$(BENCH_VENV) uv sync --frozen --group bench
	@touch $@

bench: setup $(BENCH_VENV)/.synced
	$(PY) benchmarks/run.py

db-info: $(VENV)/.synced
	$(VENV)/bin/pde db info

superset-setup: setup
	uv sync --frozen --project superset

up: setup superset-setup
	$(VENV)/bin/pde up

notebook: setup
	$(VENV)/bin/pde notebook

models: setup
	$(VENV)/bin/pde model train

down:
	$(VENV)/bin/pde down
