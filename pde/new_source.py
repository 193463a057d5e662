"""`pde new-source <area> <name>`: a new source as four files, written from templates.

    scrapers/<area>/<name>.py      the spider, its records and its parser (scrapers/templates/source/spider.py.tmpl)
    sql/<NNNN>_<name>.sql          its table(s), with COMMENTs
    fixtures/<name>/               a sample answer, its cassette, build_cassettes.py, PROVENANCE.md
    tests/test_<name>.py           field-by-field parse test and a crawl into PostgreSQL

The generated test fails until the parser is written; then it passes with no
other edit: the spider is found by its area package (SPIDER_MODULES), its DAG
is generated from the spider registry, its table by the migration. A new area
also gets ``scrapers/<area>/__init__.py``. Like city-scrapers' genspider and
dlt's new_source.
"""

from __future__ import annotations

import argparse
import datetime as dt
import keyword
import re
import subprocess
import sys
from pathlib import Path
from string import Template

from pde.db import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "scrapers" / "templates" / "source"
NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
AREA = re.compile(r"^[a-z][a-z0-9]*$")
NOT_AREAS = {"commands", "templates"}


class NewSourceError(ValueError):
    """A name we cannot use; the message says why and what to do."""


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def record_class(name: str) -> str:
    """``redfin_listings`` -> ``RedfinListing``: one record is one row."""
    *head, last = name.split("_")
    return camel("_".join([*head, singular(last)]))


def spider_class(name: str) -> str:
    """``redfin_listings`` -> ``RedfinListingsSpider`` (the naming rule tests/test_naming.py holds)."""
    return camel(name) + "Spider"


def areas(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name for p in (root / "scrapers").iterdir()
                  if (p / "__init__.py").exists() and p.name not in NOT_AREAS)


def next_migration(root: Path = PROJECT_ROOT) -> str:
    numbers = [int(m.group(1)) for p in (root / "sql").glob("*.sql") if (m := re.match(r"(\d{4})_", p.name))]
    return f"{(max(numbers, default=0) // 10 + 1) * 10:04d}"


def plan(area: str, name: str, root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """The files to write (path -> template name), after checking the names."""
    if not AREA.match(area) or keyword.iskeyword(area) or area in NOT_AREAS:
        raise NewSourceError(f"area {area!r}: use one lowercase word, like housing, finance, fantasy, health")
    if not NAME.match(name) or keyword.iskeyword(name):
        raise NewSourceError(f"name {name!r}: use <site>_<what> in lowercase with underscores, like redfin_listings")
    taken = [p for p in (root / "scrapers").glob(f"*/{name}.py")] + [root / "fixtures" / name,
                                                                     root / "tests" / f"test_{name}.py"]
    if any(p.exists() for p in taken):
        raise NewSourceError(f"{name} exists already: "
                             f"{', '.join(str(p.relative_to(root)) for p in taken if p.exists())}")
    migration = f"{next_migration(root)}_{name}.sql"
    files = {
        root / "scrapers" / area / f"{name}.py": "spider.py.tmpl",
        root / "sql" / migration: "migration.sql.tmpl",
        root / "fixtures" / name / "sample.json": "sample.json.tmpl",
        root / "fixtures" / name / "build_cassettes.py": "build_cassettes.py.tmpl",
        root / "fixtures" / name / "PROVENANCE.md": "PROVENANCE.md.tmpl",
        root / "tests" / f"test_{name}.py": "test.py.tmpl",
    }
    if area not in areas(root):
        files[root / "scrapers" / area / "__init__.py"] = ""
    return files


def create(area: str, name: str, root: Path = PROJECT_ROOT, log=print) -> list[Path]:
    files = plan(area, name, root)
    migration = next(p.name for p in files if p.parent.name == "sql")
    title = camel(name.split("_")[0])
    values = {
        "area": area, "name": name, "table": f"{area}.{name}", "record": record_class(name),
        "spider_class": spider_class(name), "migration": migration, "title": title,
        "what": f"what {title} says", "env": name.split("_")[0].upper(), "today": dt.date.today().isoformat(),
        "area_comment": f"{area.capitalize()}: data of the {area} area, one table per kind of row.",
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if template:
            path.write_text(Template((TEMPLATES / template).read_text()).substitute(values))
        else:
            path.write_text(f'"""{area.capitalize()}: records, spiders and their parsers (schema ``{area}``)."""\n')
    built = subprocess.run([sys.executable, str(root / "fixtures" / name / "build_cassettes.py")], cwd=root,
                           capture_output=True, text=True)
    if built.returncode != 0:
        raise NewSourceError(f"the files are written, but building the cassette failed:\n{built.stderr.strip()}")
    written = [*files, root / "fixtures" / name / "cassette.json"]
    for path in written:
        log(f"  wrote {path.relative_to(root)}")
    log(f"""
Next:
  1. Save a real answer of the source over fixtures/{name}/sample.json (scrubbed) and say where
     it came from in fixtures/{name}/PROVENANCE.md; rebuild the cassette:
       .venv/bin/python fixtures/{name}/build_cassettes.py
  2. Write {values['record']} (fields), parse_{name}() and live_requests() in scrapers/{area}/{name}.py,
     and the table in sql/{migration}.
  3. .venv-airflow/bin/python -m pytest tests/test_{name}.py  (fails until the parser is written)
Its Airflow DAG `{name}` appears by itself; configure its crawls in dags/crawls.yaml.""")
    return written


def register(sub) -> None:
    p = sub.add_parser("new-source", help="write a new source (spider, SQL, fixtures, test) from templates",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("area", help="the PostgreSQL schema and scrapers/ package: housing, finance, fantasy, or a new one")
    p.add_argument("name", help="the spider's name, <site>_<what>, e.g. redfin_listings")
    p.set_defaults(func=_cmd)


def _cmd(args) -> int:
    try:
        create(args.area, args.name)
    except NewSourceError as exc:
        print(f"pde new-source: {exc}", file=sys.stderr)
        return 2
    return 0
