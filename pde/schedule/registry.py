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
from pde.sources import Arg, declared_args


@dataclass(frozen=True)
class SpiderInfo:
    name: str
    area: str
    schedule: str | None
    module: str
    path: str
    doc: str
    #: the spider's -a arguments (pde.sources.Arg), its bases' included
    args: tuple = ()

    def needs_args(self) -> list[str]:
        """Arguments a live crawl cannot do without (a crawl with none of them would fail)."""
        return [a.name for a in self.args if a.required]


@dataclass
class _Class:
    name: str
    bases: list[str]
    attrs: dict[str, Any]
    dynamic: set[str]
    module: str
    path: str
    doc: str
    imports: dict[str, str]


class _NotLiteral(ValueError):
    pass


def _arg_from_ast(node: ast.expr):
    """``Arg("name", "help", type=int, ...)`` written with literals -> pde.sources.Arg."""
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Arg"):
        raise _NotLiteral("not an Arg(...) call")

    def value(v: ast.expr, key: str | None = None):
        if key in ("type", "item") and isinstance(v, (ast.Name, ast.Attribute)):
            return v.id if isinstance(v, ast.Name) else v.attr
        try:
            return ast.literal_eval(v)
        except ValueError:
            raise _NotLiteral(f"{key or 'argument'} is not a literal") from None

    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise _NotLiteral("*args/**kwargs")
    return Arg(*[value(a) for a in node.args], **{k.arg: value(k.value, k.arg) for k in node.keywords})


def _module_files(module: str) -> list[tuple[str, Path]]:
    rel = Path(*module.split("."))
    for root in (PROJECT_ROOT, *map(Path, sys.path)):
        pkg, single = root / rel, (root / rel).with_suffix(".py")
        if pkg.is_dir() and (pkg / "__init__.py").exists():
            return [(".".join([*module.split("."),
                               *p.relative_to(pkg).with_suffix("").parts]).removesuffix(".__init__"), p)
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
    imports = {alias.asname or alias.name: node.module for node in tree.body
               if isinstance(node, ast.ImportFrom) and node.module and not node.level for alias in node.names}
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
                elif isinstance(t, ast.Name) and t.id == "args":
                    try:
                        if not isinstance(value, (ast.Tuple, ast.List)):
                            raise _NotLiteral("args is not a tuple")
                        attrs["args"] = tuple(_arg_from_ast(e) for e in value.elts)
                    except (_NotLiteral, TypeError):
                        dynamic.add("args")
        out.append(_Class(node.name, bases, attrs, dynamic, module, str(path), mod_doc, imports))
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
    _add_base_modules(classes)

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

    def collect_args(c: _Class, seen=()) -> dict[str, Any]:
        """Arguments of c's bases first, then c's own (a subclass's declaration wins)."""
        out: dict[str, Any] = {}
        for base in reversed(c.bases):
            for parent in classes.get(base, []):
                if parent is not c and parent.name not in seen:
                    out.update(collect_args(parent, (*seen, c.name)))
        out.update({a.name: a for a in c.attrs.get("args", ())})
        return out

    def dynamic_args(c: _Class, seen=()) -> bool:
        return "args" in c.dynamic or any(
            dynamic_args(p, (*seen, c.name)) for b in c.bases for p in classes.get(b, []) if p.name not in seen)

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
            if c.dynamic or dynamic_args(c):
                info = _imported_info(c)
            else:
                found, name = lookup(c, "name")
                if not found or not name or "name" not in c.attrs:
                    continue  # a base class, not a spider of its own
                _, area = lookup(c, "area")
                found, schedule = lookup(c, "schedule")
                info = SpiderInfo(name, area or "", schedule if found else DEFAULT_SCHEDULE,
                                  c.module, c.path, c.doc, tuple(collect_args(c).values()))
            if info is None:
                continue
            if info.name in out:
                raise ConfigError(f"two spiders are named {info.name!r}: {out[info.name].path} and {info.path}")
            out[info.name] = info
    return dict(sorted(out.items()))


def _add_base_modules(classes: dict[str, list[_Class]]) -> None:
    """Read the modules that spiders' base classes are imported from (scrapers.spider: PdeSpider and its url)."""
    done: set[str] = set()
    while True:
        wanted = {c.imports[b] for group in list(classes.values()) for c in group for b in c.bases
                  if b not in classes and b in c.imports and c.imports[b] not in done}
        wanted = {m for m in wanted if m.split(".")[0] not in ("scrapy", "twisted")}
        if not wanted:
            return
        for module in wanted:
            done.add(module)
            try:
                files = _module_files(module)
            except ConfigError:
                continue
            for mod, path in files:
                for c in _classes(mod, path):
                    classes.setdefault(c.name, []).append(c)


def _imported_info(c: _Class) -> SpiderInfo | None:
    cls = getattr(importlib.import_module(c.module), c.name)
    if not getattr(cls, "name", None):
        return None
    return SpiderInfo(cls.name, getattr(cls, "area", "") or "", getattr(cls, "schedule", DEFAULT_SCHEDULE),
                      c.module, c.path, c.doc, tuple(declared_args(cls).values()))


