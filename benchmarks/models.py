"""Model metrics on the largest real data the fixtures provide (run by `make bench`, in .venv-notebook).

Replays every recorded fixture crawl into a throwaway PostgreSQL, trains the three areas' models as the
nightly tasks do, and adds their figures to benchmarks/results.json:

  models.<model>.status              trained or too_few_rows (fewer than 30 rows: no figure, and that is the figure)
  models.<model>.rows
  models.house_value.<kind>.mape / .baseline_mape       cross-validated, vs median $/sq ft of the ZIP x sqft
  models.fantasy.mae / .baseline_mae / .mae_vs_consensus  back-test, vs last season's points per game x games
  models.finance.forecast.mae / .baseline_mae            back-test, vs the trailing 3-month mean

and, labelled synthetic (they say the method works, not how it does on your data):
  models.synthetic.house_value.mape, models.synthetic.fantasy.mae, models.synthetic.forecast.mae
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results.json"
KEEP = ("mae", "mape", "baseline_mae", "baseline_mape", "mae_vs_consensus", "consensus_mae", "interval_80_coverage")


def main() -> int:
    import psycopg2

    from pde import cassettes
    from pde.db import EmbeddedPostgres, free_port
    from pde.envs import crawl_python
    from pde.fantasy import projections
    from pde.finance import spending
    from pde.housing import value
    from pde.migrate import migrate

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    home = Path(tempfile.mkdtemp(prefix="pde-bench-models-"))
    os.chmod(home, 0o755)
    pg = EmbeddedPostgres(home=home, port=free_port(), fast=True)
    os.environ["PDE_HOME"] = str(home / "pde-home")
    try:
        pg.start()
        conn = psycopg2.connect(pg.url)
        migrate(conn, log=lambda m: None)
        conn.close()
        env = {**os.environ, "DATABASE_URL": pg.url, "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
        for path in cassettes.all_cassettes(ROOT / "fixtures"):
            meta = cassettes.metadata(path)
            if not meta.get("spider") or meta.get("expect", "succeeded") != "succeeded":
                continue
            cmd = [crawl_python(), "-m", "scrapy", "crawl", meta["spider"], "-s", f"PDE_CASSETTE={path}",
                   "-s", "LOG_LEVEL=ERROR", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
            cmd += [x for k, v in meta.get("args", {}).items() for x in ("-a", f"{k}={v}")]
            subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=False)
        runs = value.train(pg.url) + projections.train(pg.url) + spending.train(pg.url)
    finally:
        pg.destroy()
    names = {"house_value.sale": "house_value.sale", "house_value.rent": "house_value.rent",
             "fantasy.projections": "fantasy", "finance.forecast": "finance.forecast"}
    for run in runs:
        if run.model not in names:
            continue
        prefix = f"models.{names[run.model]}"
        results[f"{prefix}.status"] = run.status
        results[f"{prefix}.rows"] = run.rows
        for key in KEEP:
            if isinstance(run.metrics.get(key), (int, float)):
                results[f"{prefix}.{key}"] = round(float(run.metrics[key]), 4)
        print(f"  {run.summary()}", flush=True)
    syn = {
        "house_value.mape": value.fit(value.training_frame(value.synthetic_listings(), None, "sale"), "sale",
                                      synthetic=True)[0].metrics["mape"],
        "fantasy.mae": projections.fit(projections.synthetic_stats(), synthetic=True)[0].metrics["mae"],
        "forecast.mae": spending.fit(spending.synthetic_transactions(), synthetic=True)["forecast"][0].metrics["mae"],
    }
    for key, v in syn.items():
        results[f"models.synthetic.{key}"] = round(float(v), 4)
        print(f"  models.synthetic.{key:<24} {v:.4f}  (synthetic data)")
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
