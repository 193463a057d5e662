"""Layers go one way: core <- pipelines <- scrapers <- scheduling, services, areas, the ``pde`` command.

Read from the source (AST), so it also sees imports inside functions. Fails on
an import that goes upward, on an import cycle between pde's modules, on core
code that imports Scrapy or Airflow, and on an import hidden in a function
without a ``# lazy: why`` comment (a lazy import must keep a start-up lean or an
optional heavy dependency out, and say so).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

CORE = {"pde", "pde.records", "pde.db", "pde.migrate", "pde.runs", "pde.cassettes", "pde.sources", "pde.envs",
        "pde.secrets", "pde.liveness"}
LAYERS = {0: "core (pde: records, db, migrate, runs, cassettes, sources, envs)", 1: "pipelines", 2: "scrapers",
          3: "scheduling, services, areas and the pde command"}
#: commands, scheduling, services and the areas' models: they may import anything below them
TOP = ("pde.schedule", "pde.services", "pde.cli", "pde.new_source", "pde.doctor", "pde.backup", "pde.pgupgrade",
       "pde.housing", "pde.finance", "pde.fantasy", "pde.data", "pde.model_runs", "pde.reports", "pde.web", "dags")
PROJECT = ("pde", "pipelines", "scrapers", "dags")


def layer(module: str) -> int:
    if module in CORE:
        return 0
    if module == "pipelines" or module.startswith("pipelines."):
        return 1
    if module == "scrapers" or module.startswith("scrapers."):
        return 2
    if module.startswith(TOP):
        return 3
    raise AssertionError(f"{module} is in no layer: add it to CORE or TOP in tests/test_layers.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    paths = [p for d in PROJECT for p in (ROOT / d).rglob("*.py")]
    return {module_name(p): p for p in paths}


MODULES = project_modules()


def where(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def imports(path: Path):
    """(line, imported module, inside a function, source lines of the statement and the lines just above)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    in_function: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from pde import runs` imports the module pde.runs when there is one
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                       for a in node.names]
        else:
            continue
        above = node.lineno - 2
        while above >= 0 and lines[above].strip().startswith(("#", "from ", "import ")):
            above -= 1
        context = "\n".join(lines[above + 1:node.end_lineno])
        for target in targets:
            yield node.lineno, target, id(node) in in_function, context


def project_target(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def test_every_module_is_in_a_layer():
    for name in MODULES:
        layer(name)


def test_no_import_goes_upward():
    upward = []
    for name, path in MODULES.items():
        for line, target, _, _ in imports(path):
            mod = project_target(target)
            if mod is not None and layer(mod) > layer(name):
                upward.append(f"{where(path)}:{line}: {name} ({LAYERS[layer(name)]}) imports {mod} "
                              f"({LAYERS[layer(mod)]})")
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


def test_core_imports_neither_scrapy_nor_airflow():
    found = [f"{where(MODULES[name])}:{line}: {target}" for name in MODULES if layer(name) == 0
             for line, target, _, _ in imports(MODULES[name]) if target.split(".")[0] in ("scrapy", "airflow")]
    assert not found, "the core must load without Scrapy and Airflow:\n" + "\n".join(found)


def test_no_import_cycle():
    graph = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for _, target, _, _ in imports(path):
            mod = project_target(target)
            if mod is not None and mod != name and not name.startswith(mod + "."):  # a package's own __init__
                graph[name].add(mod)
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def test_imports_inside_functions_say_why_they_are_lazy():
    hidden = [f"{where(path)}:{line}: import {target}"
              for name, path in MODULES.items() for line, target, inside, context in imports(path)
              if inside and "lazy" not in context]
    assert not hidden, ("imports inside functions without a `# lazy: why` comment (move them to the top, or say "
                        "what start-up or optional dependency they keep out):\n" + "\n".join(hidden))


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            out.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return out


@pytest.mark.parametrize("source, bad", [
    ("import scrapers.spider\n", "imports scrapers.spider"),
    ("def f():\n    from pipelines import spool\n", "imports pipelines.spool"),
])
def test_the_check_catches_an_upward_import(tmp_path, monkeypatch, source, bad):
    """The checks above would pass vacuously if imports() saw nothing: plant an upward import in the core."""
    planted = ROOT / "pde" / "records.py"
    fake = tmp_path / "records.py"
    fake.write_text(planted.read_text(encoding="utf-8") + "\n" + source, encoding="utf-8")
    monkeypatch.setitem(MODULES, "pde.records", fake)
    with pytest.raises(AssertionError, match=bad.replace(".", r"\.")):
        test_no_import_goes_upward()
