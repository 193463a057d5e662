"""Which programs run what: crawls in the lean ``.venv``, Airflow in ``.venv-airflow``, notebooks and models
in ``.venv-notebook``, and which Chromium.

Airflow pulls in pydantic, and Scrapy's item adapter imports pydantic whenever
it is installed: ~0.2-0.3 s added to every ``scrapy`` start, which Airflow pays
on every task. So crawls run from ``.venv`` (no Airflow), and Airflow, which
also needs everything pde has, from ``.venv-airflow`` (``make setup`` builds
both from the same ``uv.lock``). JupyterLab, papermill, matplotlib and SQLAlchemy
(which the models read through) are in ``.venv-notebook`` (the ``notebook``
group), for the same reason. Each falls back to the running interpreter.
"""

from __future__ import annotations

import os
import sys

from pde.db import PROJECT_ROOT

#: Debian's Chromium (never a downloaded browser), for pages rendered in crawls (scrapers/addons.py),
#: the cheat-sheet PDF, the dashboard tests and benchmarks (pde/services/browser.py)
CHROMIUM = os.environ.get("PDE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _python(venv: str) -> str:
    candidate = PROJECT_ROOT / venv / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def crawl_python() -> str:
    """The interpreter for `scrapy crawl`: the project's lean .venv."""
    return _python(".venv")


def airflow_python() -> str:
    """The interpreter with Airflow installed: .venv-airflow."""
    return _python(".venv-airflow")


def notebook_python() -> str:
    """The interpreter with JupyterLab, papermill and SQLAlchemy: .venv-notebook (models run there too)."""
    return _python(".venv-notebook")
