"""Every notebook in notebooks/ executed headless (papermill, through ``python -m pde.reports``) against a
database filled by replaying every recorded fixture with real `scrapy crawl` runs.

Each must finish without an error, keep its injected parameters, draw its plots, write its HTML report,
and say what its model did with these rows: the row counts it reports are checked against counts made
here with SQL, independently of the model code.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest

from pde import cassettes
from tests.conftest import FIXTURES, ROOT, run_crawl, scratch_databases

NOTEBOOK_PYTHON = ROOT / ".venv-notebook" / "bin" / "python"
NOTEBOOKS = ("housing", "fantasy", "finance")
#: the sources the three notebooks read (league spiders add nothing the models use)
SPIDERS = {"zillow_listings", "pfr_stats", "fantasypros_rankings", "bank_csv", "ofx_statements", "plaid_transactions"}
pytestmark = pytest.mark.timeout(900)  # ten crawls and three kernels; ~2 minutes on an idle 2-core machine


def fill_with_fixtures(url: str) -> dict[str, str]:
    """Replay the successful recorded crawls of SPIDERS into url (three spiders at a time)."""
    groups: dict[str, list] = {}
    for path in cassettes.all_cassettes(FIXTURES):
        meta = cassettes.metadata(path)
        if meta.get("spider") in SPIDERS and meta.get("expect", "succeeded") == "succeeded":
            groups.setdefault(meta["spider"], []).append((path, meta))

    def replay(items):
        return {path.name: run_crawl(meta["spider"], db=url, cassette=path, args=meta.get("args"),
                                     settings=meta.get("settings")).returncode for path, meta in items}

    with ThreadPoolExecutor(max_workers=3) as pool:
        return {k: v for out in pool.map(replay, groups.values()) for k, v in out.items()}


@pytest.fixture(scope="module")
def executed(pg_server, tmp_path_factory):
    """{name: (CompletedProcess, executed notebook JSON, html text)} and the database URL."""
    if not NOTEBOOK_PYTHON.exists():
        pytest.fail(".venv-notebook is missing: run `make setup` (it syncs the notebook group)")
    with scratch_databases(pg_server, prefix="nb_") as url:
        yield _execute(url, tmp_path_factory), url


def _execute(url: str, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("notebooks")
    outcomes = fill_with_fixtures(url)
    assert len(outcomes) >= 9 and set(outcomes.values()) == {0}, outcomes
    out = work / "reports"
    env = {**os.environ, "DATABASE_URL": url, "PDE_HOME": str(work / "home")}

    def run(nb):
        proc = subprocess.run([str(NOTEBOOK_PYTHON), "-m", "pde.reports", f"notebooks/{nb}.ipynb", "-p", "seed=2",
                               "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        book = json.loads((out / f"{nb}.ipynb").read_text()) if (out / f"{nb}.ipynb").exists() else None
        html = (out / f"{nb}.html").read_text() if (out / f"{nb}.html").exists() else ""
        return nb, (proc, book, html)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(run, NOTEBOOKS))


def _outputs(book):
    for cell in book["cells"]:
        for output in cell.get("outputs", []):
            yield cell, output


def _text(book) -> str:
    return "".join("".join(o["text"]) for _, o in _outputs(book) if o["output_type"] == "stream")


def _count(url, sql) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook_runs_without_error_and_writes_its_report(executed, nb):
    results, _ = executed
    proc, book, html = results[nb]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "report:" in proc.stdout and book is not None
    errors = [o for _, o in _outputs(book) if o["output_type"] == "error"]
    assert errors == []
    warnings = ["".join(o["text"]) for _, o in _outputs(book) if o["output_type"] == "stream" and o["name"] == "stderr"]
    # no pandas or sklearn warnings in the analysis (matplotlib's one-off note on a fresh machine is not one)
    assert [w for w in warnings if not w.startswith("Matplotlib is building the font cache")] == []
    injected = [c for c in book["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "seed = 2" in "".join(injected[0]["source"])
    pictures = [o for _, o in _outputs(book) if "image/png" in o.get("data", {})]
    assert len(pictures) >= 2
    title = next(c for c in book["cells"] if c["cell_type"] == "markdown")["source"]
    title = "".join(title).splitlines()[0].lstrip("# ")
    assert title in html and "<img" in html


def test_housing_notebook_reports_what_the_rent_model_did_with_the_crawled_rows(executed):
    results, url = executed
    text = _text(results["housing"][1])
    n = _count(url, """SELECT count(*) FROM housing.listings
                        WHERE status = 'FOR_RENT' AND NOT coalesce(is_building, false) AND price > 0
                          AND (sqft IS NOT NULL OR beds IS NOT NULL)""")
    assert (f"house_value.rent: trained on {n} rows" if n >= 30 else f"house_value.rent: too_few_rows: {n} ") in text
    assert "house_value.sale [synthetic]: trained on 300 rows" in text
    assert "[synthetic] median distance to the noise-free price" in text


def test_fantasy_notebook_reports_what_the_projection_model_did(executed):
    results, url = executed
    text = _text(results["fantasy"][1])
    # consecutive seasons of one player: linked players (fantasy.player_ids) are one player across sources
    n = _count(url, """
        WITH s AS (SELECT DISTINCT coalesce(pi.player_id::text, ps.source || ':' || ps.source_player_id) AS k,
                                   ps.season
                     FROM fantasy.player_stats ps
                     LEFT JOIN fantasy.player_ids pi
                       ON (pi.source, pi.source_player_id) = (ps.source, ps.source_player_id)
                    WHERE ps.week = 0 AND ps.kind = 'actual'
                      AND coalesce(ps.points_ppr, ps.points_half, ps.points_std) IS NOT NULL)
        SELECT count(*) FROM s a JOIN s b ON b.k = a.k AND b.season = a.season - 1""")
    assert (f"fantasy.projections: trained on {n} rows" if n >= 30 else
            f"fantasy.projections: too_few_rows: {n} player-seasons") in text
    assert "fantasy.projections [synthetic]: trained on" in text and "FantasyPros consensus on 80" in text


def test_finance_notebook_reports_transfers_recurring_and_forecast(executed):
    results, url = executed
    text = _text(results["finance"][1])
    n = _count(url, "SELECT count(*) FROM finance.transactions_current WHERE NOT coalesce(pending, false)")
    assert f"finance.transfers: trained on {n} rows" in text
    assert "finance.forecast: " in text and "finance.recurring [synthetic]: trained on" in text
    assert "recurring 1, price_increases 1" in text  # the synthetic household's subscription and its increase


def test_notebooks_only_read(executed):
    _, url = executed
    # the notebooks connect as the read-only role and write nothing: no model run was recorded
    assert _count(url, "SELECT count(*) FROM platform.model_runs") == 0
