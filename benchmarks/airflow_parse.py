"""How long Airflow takes to parse dags/ (target: under 1 s), written to benchmarks/results.json.

    python benchmarks/airflow_parse.py        (also run by `make bench`)

airflow.dag_parse_s is the median, over 3 fresh processes, of the time DagBag
takes to load every file in dags/ with the project's dags/crawls.yaml, after
Airflow itself is imported (the scheduler's dag-processor has Airflow loaded
and re-parses the folder in forked processes, again and again). Also recorded:
airflow.dag_count, airflow.import_s (importing Airflow, the fixed cost the
processor pays once), and airflow.spiders_imported (0: parsing must not
import Scrapy or a spider).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
RUNS = 3

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import airflow
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "parse_s": t2 - t1, "dags": len(bag.dags),
                  "errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
                  "spiders_imported": len([m for m in sys.modules if m == "scrapy" or m.startswith(("scrapers.housing.", "scrapers.finance.", "scrapers.fantasy."))])}))
"""  # noqa: E501 - the string's text is kept verbatim


def measure_once(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.pop("PDE_CRAWLS_FILE", None)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/unused.db",  # DagBag needs no database
        "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    })
    from pde.envs import airflow_python

    proc = subprocess.run([airflow_python(), "-c", CHILD, str(ROOT / "dags")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"parsing dags/ failed:\n{proc.stderr[-3000:]}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    if got["errors"]:
        raise SystemExit(f"dags/ has import errors: {got['errors']}")
    return got


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pde-airflow-bench-") as tmp:
        runs = [measure_once(Path(tmp)) for _ in range(RUNS)]
    figures = {
        "airflow.dag_parse_s": round(statistics.median(r["parse_s"] for r in runs), 4),
        "airflow.import_s": round(statistics.median(r["import_s"] for r in runs), 4),
        "airflow.dag_count": runs[0]["dags"],
        "airflow.spiders_imported": max(r["spiders_imported"] for r in runs),
    }
    print(f"airflow: parsing dags/ ({figures['airflow.dag_count']} DAGs), median of {RUNS} fresh processes")
    notes = {"airflow.dag_parse_s": "target < 1", "airflow.import_s": "importing Airflow itself (not counted)",
             "airflow.spiders_imported": "target 0"}
    for name, value in figures.items():
        print(f"  {name:<34} {value:>14,}  {notes.get(name, '')}", flush=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(figures)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0 if figures["airflow.dag_parse_s"] < 1 and figures["airflow.spiders_imported"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
