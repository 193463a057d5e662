"""Run a notebook headless with papermill and keep the executed copy as an HTML report.

    python -m pde.reports notebooks/housing.ipynb [-p name=value ...] [--out DIR]

The notebook's ``parameters`` cell gets the values (papermill injects a cell
after it); the executed notebook is written to ``$PDE_HOME/reports/<name>.ipynb``
and rendered to ``<name>.html`` (the latest) and ``<name>-<UTC time>.html`` (kept),
openable in a browser. A cell that raises fails the run (exit 1), and the HTML
is still written so the traceback can be read. Runs in the notebook environment
(``.venv-notebook``): Airflow's ``downstream:`` entries with ``notebook:`` call it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

from pde.db import PROJECT_ROOT, pde_home


def reports_dir() -> Path:
    return Path(os.environ.get("PDE_REPORTS_DIR") or pde_home() / "reports")


def _value(text: str):
    """A -p value: JSON when it parses (numbers, true, null, lists), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def run_notebook(notebook: Path, parameters: dict | None = None, out_dir: Path | None = None,
                 timeout: int = 1800) -> tuple[Path, Exception | None]:
    """(HTML report, the error that stopped the notebook or None)."""
    # lazy: papermill and nbconvert live in the notebook environment only
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    notebook = notebook if notebook.is_absolute() else PROJECT_ROOT / notebook
    if not notebook.exists():
        raise FileNotFoundError(f"notebook {notebook} does not exist (paths are relative to {PROJECT_ROOT})")
    out_dir = out_dir or reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / notebook.name
    error = None
    try:
        papermill.execute_notebook(str(notebook), str(executed), parameters=parameters or {}, cwd=str(notebook.parent),
                                   kernel_name="python3", progress_bar=False, execution_timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - papermill's PapermillExecutionError and kernel failures alike
        error = exc
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    html = out_dir / f"{notebook.stem}.html"
    html.write_text(body, encoding="utf-8")
    shutil.copyfile(html, out_dir / f"{notebook.stem}-{stamp}.html")
    return html, error


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pde.reports", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", type=Path)
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter for the notebook's parameters cell (value read as JSON when it parses)")
    p.add_argument("--out", type=Path, help="folder for the executed notebook and its HTML (default $PDE_HOME/reports)")
    args = p.parse_args(argv)
    params = {}
    for item in args.param:
        name, sep, val = item.partition("=")
        if not sep:
            p.error(f"-p {item!r}: expected NAME=VALUE")
        params[name] = _value(val)
    try:
        html, error = run_notebook(args.notebook, params, args.out)
    except FileNotFoundError as exc:
        print(f"pde reports: {exc}", file=sys.stderr)
        return 2
    if error is not None:
        print(f"{args.notebook} failed: {str(error).strip()[:2000]}\nreport with the traceback: {html}",
              file=sys.stderr)
        return 1
    print(f"report: {html}  (file://{html})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
