"""The spider registry, read from the spider modules' source (never imported), so DAG parsing stays fast."""

from __future__ import annotations

import ast
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pde.schedule.config import (
    DEFAULT_SCHEDULE,
    DEFAULT_SPIDER_MODULES,
    PROJECT_ROOT,
    ConfigError,
)


@dataclass(frozen=True)
class SpiderInfo:
    name: str
    area: str
    schedule: str | None
    module: str
    path: str
    doc: str


@dataclass
class _Class:
    name: str
    bases: list[str]
    attrs: dict[str, Any]
    dynamic: set[str]
    module: str
    path: str
    doc: str


def _module_files(module: str) -> list[tuple[str, Path]]:
    rel = Path(*module.split("."))
    for root in (PROJECT_ROOT, *map(Path, sys.path)):
        pkg, single = root / rel, (root / rel).with_suffix(".py")
        if pkg.is_dir() and (pkg / "__init__.py").exists():
            return [(".".join([*module.split("."), *p.relative_to(pkg).with_suffix("").parts]).removesuffix(".__init__"), p)
                    for p in sorted(pkg.rglob("*.py"))]
        if single.is_file():
            return [(module, single)]
    raise ConfigError(f"spider module {module!r} not found under {PROJECT_ROOT} or sys.path")


def _classes(module: str, path: Path) -> list[_Class]:
    source = path.read_text(encoding="utf-8")
    if "class " not in source:
        return []
    tree = ast.parse(source, str(path))
    mod_doc = (ast.get_docstring(tree) or "").strip()
    out = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "?"
                 for b in node.bases]
        attrs, dynamic = {}, set()
        for stmt in node.body:
            targets = []
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            for t in targets:
                if isinstance(t, ast.Name) and t.id in ("name", "area", "schedule"):
                    try:
                        attrs[t.id] = ast.literal_eval(value)
                    except ValueError:
                        dynamic.add(t.id)
        out.append(_Class(node.name, bases, attrs, dynamic, module, str(path), mod_doc))
    return out


def spider_registry(modules: list[str] | tuple[str, ...] = DEFAULT_SPIDER_MODULES) -> dict[str, SpiderInfo]:
    """Every spider in ``modules`` (like Scrapy's SPIDER_MODULES), read from source, not imported.

    A spider whose name, area or schedule is computed rather than written as a
    literal is imported to read them (slower, still correct).
    """
    classes: dict[str, list[_Class]] = {}
    for module in modules:
        for mod, path in _module_files(module):
            for c in _classes(mod, path):
                classes.setdefault(c.name, []).append(c)

    def lookup(c: _Class, attr: str, seen=()) -> tuple[bool, Any]:
        if attr in c.attrs:
            return True, c.attrs[attr]
        for base in c.bases:
            for parent in classes.get(base, []):
                if parent is not c and parent.name not in seen:
                    found, value = lookup(parent, attr, (*seen, c.name))
                    if found:
                        return found, value
        return False, None

    def is_spider(c: _Class, seen=()) -> bool:
        for base in c.bases:
            if base.endswith("Spider") and base not in classes:
                return True  # scrapy.Spider, CrawlSpider, ...
            if any(is_spider(p, (*seen, c.name)) for p in classes.get(base, []) if p.name not in seen):
                return True
        return False

    out: dict[str, SpiderInfo] = {}
    for group in classes.values():
        for c in group:
            if not is_spider(c):
                continue
            if c.dynamic:
                info = _imported_info(c)
            else:
                found, name = lookup(c, "name")
                if not found or not name or "name" not in c.attrs:
                    continue  # a base class, not a spider of its own
                _, area = lookup(c, "area")
                found, schedule = lookup(c, "schedule")
                info = SpiderInfo(name, area or "", schedule if found else DEFAULT_SCHEDULE,
                                  c.module, c.path, c.doc)
            if info is None:
                continue
            if info.name in out:
                raise ConfigError(f"two spiders are named {info.name!r}: {out[info.name].path} and {info.path}")
            out[info.name] = info
    return dict(sorted(out.items()))


def _imported_info(c: _Class) -> SpiderInfo | None:
    cls = getattr(importlib.import_module(c.module), c.name)
    if not getattr(cls, "name", None):
        return None
    return SpiderInfo(cls.name, getattr(cls, "area", "") or "", getattr(cls, "schedule", DEFAULT_SCHEDULE),
                      c.module, c.path, c.doc)


