"""The load benchmark's dlt side: the same listing rows through dlt's merge (runs in .venv-bench).

    .venv-bench/bin/python benchmarks/dlt_load.py URL ROWS RESULT.json [--fresh]

Loads ROWS rows (benchmarks/run.py make_listings, the rows pde loads) into schema
``bench_dlt``, table ``listings``: write_disposition="merge", primary key zpid, the two
JSON fields as JSON columns (not child tables), like pde's table. ``--fresh`` drops
the schema and dlt's state first (a first load); without it the run is a reload.
Writes the seconds ``pipeline.run`` took to RESULT.json; rows written are read from
pg_stat_user_tables by the caller.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def main() -> int:
    url, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    fresh = "--fresh" in sys.argv
    os.environ["DESTINATION__POSTGRES__CREDENTIALS"] = url
    import dlt
    import psycopg2

    from benchmarks.run import make_listings

    pipelines_dir = Path(os.environ.get("PDE_BENCH_DLT_DIR") or Path(tempfile.gettempdir()) / "pde-bench-dlt")
    if fresh:
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("DROP SCHEMA IF EXISTS bench_dlt CASCADE; DROP SCHEMA IF EXISTS bench_dlt_staging CASCADE")
        conn.close()
    names = [f.name for f in dataclasses.fields(make_listings(1)[0])]
    rows = [{k: getattr(item, k) for k in names} for item in make_listings(n)]

    @dlt.resource(name="listings", primary_key="zpid", write_disposition="merge",
                  columns={"units": {"data_type": "json"}, "facts": {"data_type": "json"}})
    def listings():
        yield rows

    pipeline = dlt.pipeline(pipeline_name="pde_bench", destination="postgres", dataset_name="bench_dlt",
                            pipelines_dir=str(pipelines_dir))
    if fresh:
        pipeline.drop()
        pipeline = dlt.pipeline(pipeline_name="pde_bench", destination="postgres", dataset_name="bench_dlt",
                                pipelines_dir=str(pipelines_dir))
    t = time.perf_counter()
    pipeline.run(listings())
    took = time.perf_counter() - t
    out.write_text(json.dumps({"seconds": took, "dlt": dlt.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
