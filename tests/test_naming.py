"""The naming rule, held by a test (as alltheplaces' CI does): one name per source everywhere.

A spider ``<name>`` of area ``<area>`` lives in ``scrapers/<area>/<name>.py`` as class
``<Name>Spider``, has ``fixtures/<name>/`` (with PROVENANCE.md) and ``tests/test_<name>.py``, its
Airflow DAG is ``<name>`` (generated from the same registry) and its records' tables are in
schema ``<area>``.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from pde.new_source import spider_class
from pde.records import Record
from pde.schedule.registry import spider_registry
from tests.helpers import FIXTURES, ROOT
from tests.helpers import spider_class as load_spider

REGISTRY = spider_registry()


def test_every_area_has_spiders():
    areas = {info.area for info in REGISTRY.values()}
    assert {"housing", "finance", "fantasy"} <= areas


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_spider_module_class_fixtures_and_test_share_its_name(name):
    info = REGISTRY[name]
    path = Path(info.path).resolve()
    assert path == ROOT / "scrapers" / info.area / f"{name}.py", f"{name} lives in {path}"
    cls = load_spider(name).__name__
    assert cls == spider_class(name), f"{name}: class {cls}, expected {spider_class(name)}"
    assert (FIXTURES / name).is_dir(), f"fixtures/{name}/ is missing"
    assert (FIXTURES / name / "PROVENANCE.md").is_file(), (f"fixtures/{name}/PROVENANCE.md says where the files came "
                                                           "from")
    assert (ROOT / "tests" / f"test_{name}.py").is_file(), f"tests/test_{name}.py is missing"


@pytest.mark.parametrize("area", sorted({i.area for i in REGISTRY.values()}))
def test_records_of_an_area_live_in_its_schema(area):
    package = ROOT / "scrapers" / area
    for path in sorted(package.glob("*.py")):
        module = importlib.import_module(f"scrapers.{area}.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Record) and cls is not Record and cls.__module__ == module.__name__:
                assert cls.table.split(".")[0] == area, f"{cls.__name__} ({path.name}) writes {cls.table}"
