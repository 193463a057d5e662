"""What every model shares: the 30-row floor, the code version, and the record of each run.

A run is one row in ``platform.model_runs`` (model, code version, trained at,
rows, features, metrics side by side with the baseline's). A model that has
fewer than :data:`MIN_ROWS` rows to learn from trains nothing and records
``too_few_rows`` with how many it had: a model fit on five rows would only
look like an answer.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any

from pde.db import PROJECT_ROOT

MIN_ROWS = 30


@dataclass
class ModelRun:
    """The outcome of one training run, before and after it is recorded."""

    model: str
    area: str
    status: str = "trained"  # trained | too_few_rows | failed
    rows: int = 0
    features: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    synthetic: bool = False
    predictions: int = 0
    model_run_id: int | None = None

    @property
    def trained(self) -> bool:
        return self.status == "trained"

    def summary(self) -> str:
        """One line for people: what was learnt, and how it compares with the baseline."""
        label = f"{self.model}" + (" [synthetic]" if self.synthetic else "")
        if not self.trained:
            return f"{label}: {self.status}: {self.message}"
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in self.metrics.items() if not isinstance(v, (dict, list)))
        text = f"{label}: trained on {self.rows} rows; {shown}"
        if self.predictions:
            text += f"; {self.predictions} predictions written"
        return text + (f". {self.message}" if self.message else "")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def too_few(model: str, area: str, rows: int, what: str) -> ModelRun:
    return ModelRun(model=model, area=area, status="too_few_rows", rows=rows,
                    message=f"{rows} {what}; no model is trained on fewer than {MIN_ROWS}. "
                            f"Crawl more and it trains on the next run.")


def code_version() -> str:
    """PDE_CODE_VERSION, else the git commit of the checkout (``-dirty`` with uncommitted changes)."""
    if os.environ.get("PDE_CODE_VERSION"):
        return os.environ["PDE_CODE_VERSION"]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=10)
        if sha.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _clean(value: Any) -> Any:
    """JSON-safe metrics: numpy numbers as Python ones, NaN as null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record(conn, run: ModelRun) -> int:
    """Insert the run into platform.model_runs (not committed); returns its id."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO platform.model_runs (model, area, status, code_version, rows, features, metrics,
                                                 predictions, synthetic, message)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING model_run_id""",
            (run.model, run.area, run.status, code_version(), run.rows, json.dumps(_clean(run.features)),
             json.dumps(_clean(run.metrics)), run.predictions, run.synthetic, run.message or None))
        run.model_run_id = cur.fetchone()[0]
    return run.model_run_id


def set_predictions(conn, run: ModelRun, n: int) -> None:
    run.predictions = n
    with conn.cursor() as cur:
        cur.execute("UPDATE platform.model_runs SET predictions = %s WHERE model_run_id = %s", (n, run.model_run_id))


def regression_pipeline(numeric: list[str], categorical: list[str], log_target: bool = False):
    """Median-imputed, scaled numbers and one-hot categories into a ridge regression (alpha by CV).

    Ridge because the tables are small (tens to thousands of rows): it cannot
    memorise them the way boosted trees can, and its coefficients can be read.
    """
    # lazy: numpy comes with the models' dependencies; only training needs it
    import numpy as np
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                      numeric))
    if categorical:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="unknown"),
                                           OneHotEncoder(handle_unknown="ignore")), categorical))
    model = Pipeline([("features", ColumnTransformer(parts)), ("ridge", RidgeCV(alphas=np.logspace(-3, 3, 13)))])
    if log_target:
        return TransformedTargetRegressor(regressor=model, func=np.log, inverse_func=np.exp)
    return model


def usable_columns(frame, columns: list[str]) -> list[str]:
    """The columns that have at least one value (an all-empty column cannot be learnt from)."""
    return [c for c in columns if c in frame and frame[c].notna().any()]
