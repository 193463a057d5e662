"""`pde new-source`: a new source is four files, its test fails until the parser is written, then passes.

Runs the real command in a copy of the project (never in this tree), then the generated test with
pytest, as a person adding a source would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pde.new_source import next_migration
from tests.helpers import ROOT

COPY = ["pde", "pipelines", "scrapers", "sql", "dags", "scrapy.cfg", "pyproject.toml",
        "tests/__init__.py", "tests/conftest.py", "tests/helpers.py", "tests/selftest"]


@pytest.fixture
def project(tmp_path):
    dest = tmp_path / "project"
    for rel in COPY:
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / "fixtures").mkdir()
    return dest


def run(project: Path, *cmd: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project), "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    return subprocess.run([sys.executable, *cmd], cwd=project, env=env, capture_output=True, text=True,
                          timeout=timeout)


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_new_source_is_four_files_and_its_test_passes_once_the_parser_is_written(project):
    before = files(project)
    number = next_migration(project)
    made = run(project, "-m", "pde.cli", "new-source", "housing", "example_homes")
    assert made.returncode == 0, made.stderr
    new = files(project) - before
    places = {p if p.startswith(("scrapers/", "sql/", "tests/")) else "/".join(p.split("/")[:2]) for p in new}
    assert places == {"scrapers/housing/example_homes.py", f"sql/{number}_example_homes.sql", "fixtures/example_homes",
                      "tests/test_example_homes.py"}, sorted(new)
    assert {"fixtures/example_homes/cassette.json", "fixtures/example_homes/PROVENANCE.md"} <= new
    assert "pytest tests/test_example_homes.py" in made.stdout

    # found by Scrapy and by the DAG registry with no other edit
    listed = run(project, "-m", "scrapy", "list")
    assert "example_homes" in listed.stdout.split(), listed.stderr[-2000:]
    registry = run(project, "-c", "from pde.schedule.registry import spider_registry; print(sorted(spider_registry()))")
    assert "'example_homes'" in registry.stdout, registry.stderr[-2000:]

    failing = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_example_homes.py")
    assert failing.returncode == 1, failing.stdout[-3000:]
    assert "the parser is not written yet" in failing.stdout

    module = project / "scrapers" / "housing" / "example_homes.py"
    text = module.read_text()
    stub = next(line for line in text.splitlines() if "the parser is not written yet" in line)
    module.write_text(text.replace(stub, '    for item in data["items"]:\n'
                                         '        yield ExampleHome(id=str(item["id"]), name=item["name"])'))
    passing = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_example_homes.py")
    assert passing.returncode == 0, passing.stdout[-3000:]
    assert "2 passed" in passing.stdout


def test_new_area_is_found_without_editing_settings(project):
    made = run(project, "-m", "pde.cli", "new-source", "health", "garmin_sleep")
    assert made.returncode == 0, made.stderr
    assert (project / "scrapers" / "health" / "__init__.py").exists()
    assert "garmin_sleep" in run(project, "-m", "scrapy", "list").stdout.split()


@pytest.mark.parametrize("area, name, words", [
    ("housing", "Zillow", "use <site>_<what>"),
    ("housing", "zillow_listings", "exists already"),
    ("Housing", "x_y", "one lowercase word"),
])
def test_bad_names_are_refused_with_what_to_do(project, area, name, words):
    (project / "scrapers" / "housing" / "zillow_listings.py").touch()
    made = run(project, "-m", "pde.cli", "new-source", area, name)
    assert made.returncode == 2 and words in made.stderr and "Traceback" not in made.stderr
