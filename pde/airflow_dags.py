"""Airflow DAGs for pde, generated: one per spider, and the ones that run when their tables change.

``dags/crawls.py`` and ``dags/downstream.py`` are two-line files calling
:func:`crawl_dags` and :func:`downstream_dags`; everything else is here, so it
is importable and testable. Adding a spider adds its DAG: the spider registry
is read from the spider modules' source (``name``, ``area``, ``schedule``
class attributes) without importing them, so the scheduler's frequent parses
stay fast.

A crawl DAG (``dag_id`` = spider name, tags = its area) runs::

    plan  ->  crawls.crawl  ->  crawls.quality      (once per configured crawl)

- ``plan`` reads the crawls for this spider from dags/crawls.yaml, overlaid by the
  Airflow Variable ``pde_crawls`` (JSON, same shape), at run time.
- ``crawl`` runs ``scrapy crawl <spider> -a ... -s ...`` in the project, with
  credentials from Airflow Connections/Variables/the environment put into the
  crawl's environment only (never its arguments), masked in the log. A blocked
  crawl fails here at once (retrying would only annoy the site); other failures
  are retried with backoff.
- ``quality`` checks the run record (pde.quality) and, when it passes, emits an
  Airflow Asset event for every table the run wrote (``table_asset``), through
  the alias ``pde.<spider>``. Downstream DAGs schedule on those assets.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "dags" / "crawls.yaml"
VARIABLE = "pde_crawls"
DEFAULT_SPIDER_MODULES = ("scrapers.spiders",)
DEFAULT_SCHEDULE = "0 3 * * *"
START_DATE = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

#: what every spider gets unless dags/crawls.yaml says otherwise
DEFAULTS: dict[str, Any] = {
    "retries": 2,
    "retry_delay_minutes": 10,
    "max_retry_delay_minutes": 240,
    "timeout_minutes": 120,
    "parallel_crawls": 1,
    "args": {},
    "settings": {},
    "env": {},
    "secrets": {},
    "quality": {},
}
SPIDER_KEYS = set(DEFAULTS) | {"schedule", "paused", "crawls"}
CRAWL_KEYS = {"label", "args", "settings", "env", "secrets", "quality"}
DOWNSTREAM_KEYS = {"when", "condition", "command", "tags", "env", "secrets", "timeout_minutes", "paused",
                   "environment", "notebook", "parameters"}
ENVIRONMENTS = ("crawl", "notebook")
#: keys only read when the DAG file is parsed (the Variable cannot change them)
PARSE_TIME_KEYS = {"schedule", "paused", "retries", "retry_delay_minutes", "max_retry_delay_minutes",
                   "timeout_minutes", "parallel_crawls"}

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """dags/crawls.yaml or the pde_crawls Variable says something we cannot do."""


# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------
def config_path() -> Path:
    return Path(os.environ.get("PDE_CRAWLS_FILE") or DEFAULT_CONFIG)


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The crawl configuration file, checked; an empty shape when it does not exist."""
    import yaml

    path = path or config_path()
    if not path.exists():
        return _check_config({}, str(path))
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    return _check_config(doc, str(path))


def _check_config(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping with spiders:, defaults:, downstream:")
    unknown = set(doc) - {"spider_modules", "defaults", "spiders", "downstream"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {sorted(unknown)}; "
                          "known: spider_modules, defaults, spiders, downstream")
    doc.setdefault("spider_modules", list(DEFAULT_SPIDER_MODULES))
    doc["defaults"] = doc.get("defaults") or {}
    doc["spiders"] = doc.get("spiders") or {}
    doc["downstream"] = doc.get("downstream") or {}
    _check_spider_block(doc["defaults"], f"{where} defaults")
    for name, block in doc["spiders"].items():
        if block is None:
            doc["spiders"][name] = block = {}
        _check_spider_block(block, f"{where} spiders.{name}")
    for name, block in doc["downstream"].items():
        if not isinstance(block, dict) or not block.get("when") or not (block.get("command") or block.get("notebook")):
            raise ConfigError(f"{where} downstream.{name}: needs when: [tables] and command: (or notebook:)")
        unknown = set(block) - DOWNSTREAM_KEYS
        if unknown:
            raise ConfigError(f"{where} downstream.{name}: unknown key(s) {sorted(unknown)}; "
                              f"known: {sorted(DOWNSTREAM_KEYS)}")
        if block.get("environment", "crawl") not in ENVIRONMENTS:
            raise ConfigError(f"{where} downstream.{name}.environment: one of {', '.join(ENVIRONMENTS)}, "
                              f"not {block['environment']!r}")
        if not isinstance(block.get("parameters") or {}, dict):
            raise ConfigError(f"{where} downstream.{name}.parameters: a mapping of notebook parameters")
    return doc


def _check_spider_block(block: Any, where: str) -> None:
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = set(block) - SPIDER_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(SPIDER_KEYS)}")
    for crawl in block.get("crawls") or []:
        if not isinstance(crawl, dict) or set(crawl) - CRAWL_KEYS:
            raise ConfigError(f"{where}.crawls: each crawl is a mapping of {sorted(CRAWL_KEYS)}, got {crawl!r}")


def merge(base: dict, over: dict) -> dict:
    """Deep merge of mappings (``over`` wins; lists are replaced, not appended)."""
    out = copy.deepcopy(base)
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def spider_config(name: str, config: dict[str, Any], overlay: dict[str, Any] | None = None) -> dict[str, Any]:
    """Built-in defaults < file defaults < file spider < Variable defaults < Variable spider."""
    cfg = merge(DEFAULTS, config.get("defaults") or {})
    cfg = merge(cfg, (config.get("spiders") or {}).get(name) or {})
    if overlay:
        cfg = merge(cfg, {k: v for k, v in (overlay.get("defaults") or {}).items() if k not in PARSE_TIME_KEYS})
        cfg = merge(cfg, {k: v for k, v in ((overlay.get("spiders") or {}).get(name) or {}).items()
                          if k not in PARSE_TIME_KEYS})
    return cfg


def crawl_specs(name: str, cfg: dict[str, Any], spider_modules: list[str] | tuple[str, ...]) -> list[dict]:
    """One spec per crawl: what to pass to ``scrapy crawl`` (secrets by name only)."""
    from pde.cassettes import SECRET_FIELDS
    from pde.quality import Thresholds

    specs, labels = [], set()
    for crawl in cfg.get("crawls") or [{}]:
        spec = {
            "spider": name,
            "args": {**cfg["args"], **(crawl.get("args") or {})},
            "settings": {**cfg["settings"], **(crawl.get("settings") or {})},
            "env": {**cfg["env"], **(crawl.get("env") or {})},
            "secrets": {**normalise_secrets(cfg["secrets"]), **normalise_secrets(crawl.get("secrets"))},
            "quality": merge(cfg["quality"], crawl.get("quality") or {}),
        }
        if tuple(spider_modules) != DEFAULT_SPIDER_MODULES:
            spec["settings"].setdefault("SPIDER_MODULES", ",".join(spider_modules))
        secret_args = [k for k in spec["args"] if SECRET_FIELDS.match(k)]
        if secret_args:
            raise ConfigError(
                f"{name}: {', '.join(secret_args)} look like credentials; arguments are shown in the task log "
                "and stored in platform.runs. Put them under secrets: (the crawl's environment) instead.")
        try:
            Thresholds.from_dict(spec["quality"])  # a misspelt threshold fails here, not after the crawl
        except ValueError as exc:
            raise ConfigError(f"{name}: quality: {exc}") from None
        label = str(crawl.get("label") or _label(spec["args"]))
        if label in labels:
            raise ConfigError(f"{name}: two crawls are labelled {label!r}; give each a distinct label:")
        labels.add(label)
        spec["label"] = label
        specs.append(spec)
    return specs


def _label(args: dict) -> str:
    text = "-".join(str(v) for _, v in sorted(args.items())) or "default"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60] or "default"


def normalise_secrets(secrets: Any) -> dict[str, str]:
    """``[NAME, ...]`` or ``{NAME: source}`` -> ``{NAME: source}``.

    Sources: ``variable`` (the Airflow Variable NAME, else the worker's
    environment), ``variable:KEY``, ``connection:CONN_ID.FIELD`` (login,
    password, host, schema, port, or a key of the connection's extra),
    ``env`` or ``env:OTHER_NAME`` (the Airflow worker's environment).
    """
    if not secrets:
        return {}
    if isinstance(secrets, (list, tuple)):
        secrets = {name: "variable" for name in secrets}
    if not isinstance(secrets, dict):
        raise ConfigError(f"secrets: expected a list of names or a mapping NAME: source, got {secrets!r}")
    out = {}
    for name, source in secrets.items():
        source = str(source or "variable")
        if not re.fullmatch(r"(variable(:.+)?|env(:.+)?|connection:[^.]+\..+)", source):
            raise ConfigError(f"secrets.{name}: {source!r} is not variable[:KEY], env[:NAME] or "
                              "connection:CONN_ID.FIELD")
        out[str(name)] = source
    return out


# ---------------------------------------------------------------------------
# the spider registry, read from source
# ---------------------------------------------------------------------------
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
    import importlib

    cls = getattr(importlib.import_module(c.module), c.name)
    if not getattr(cls, "name", None):
        return None
    return SpiderInfo(cls.name, getattr(cls, "area", "") or "", getattr(cls, "schedule", DEFAULT_SCHEDULE),
                      c.module, c.path, c.doc)


# ---------------------------------------------------------------------------
# assets
# ---------------------------------------------------------------------------
def table_asset(table: str):
    """The Airflow Asset for a PostgreSQL table, e.g. ``table_asset("housing.listings")``."""
    from airflow.sdk import Asset

    if table.count(".") != 1:
        raise ConfigError(f"{table!r}: name tables as schema.table")
    return Asset(name=table, uri=f"x-pde://postgres/{table}")


def spider_alias(spider: str):
    """Every table a spider's crawls write is emitted through this alias."""
    from airflow.sdk import AssetAlias

    return AssetAlias(name=f"pde.{spider}")


# ---------------------------------------------------------------------------
# DAGs
# ---------------------------------------------------------------------------
def _doc(info: SpiderInfo) -> str:
    return (f"**{info.name}** ({info.area or 'no area'}): `scrapy crawl {info.name}` on "
            f"`{info.schedule}`.\n\nSpider: `{info.module}`. Its crawls, arguments, credentials and quality "
            f"thresholds: `dags/crawls.yaml` (or the `{VARIABLE}` Variable).\n\n{info.doc}")


def crawl_dags(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """One DAG per spider, keyed by dag_id (= spider name)."""
    config = config if config is not None else load_config()
    registry = spider_registry(config["spider_modules"])
    unknown = sorted(set(config["spiders"]) - set(registry))
    if unknown:
        raise ConfigError(f"{config_path()}: spiders {unknown} do not exist; spiders: {sorted(registry)}")
    return {name: build_crawl_dag(info, config) for name, info in registry.items()}


def _default_args(cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "owner": "pde",
        "retries": int(cfg["retries"]),
        "retry_delay": dt.timedelta(minutes=float(cfg["retry_delay_minutes"])),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=float(cfg["max_retry_delay_minutes"])),
        "execution_timeout": dt.timedelta(minutes=15),
    }


def build_crawl_dag(info: SpiderInfo, config: dict[str, Any]):
    from airflow.sdk import DAG, get_current_context, task, task_group

    cfg = spider_config(info.name, config)
    spider, modules = info.name, tuple(config["spider_modules"])
    configured = bool(((config.get("spiders") or {}).get(spider) or {}).get("crawls"))
    with DAG(
        dag_id=spider,
        description=f"scrapy crawl {spider}, then check the run and publish its tables",
        schedule=cfg.get("schedule", info.schedule),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=[info.area or "other", "crawl"],
        default_args=_default_args(cfg),
        doc_md=_doc(info),
        is_paused_upon_creation=bool(cfg.get("paused", not configured)),
    ) as dag:

        @task(task_id="plan", retries=0)
        def plan() -> list[dict]:
            """The crawls to run now: dags/crawls.yaml overlaid by the pde_crawls Variable."""
            specs = crawl_specs(spider, spider_config(spider, load_config(), runtime_overlay()), modules)
            for s in specs:
                log.info("crawl %s: %s", s["label"], describe_command(s))
            return specs

        @task(task_id="crawl", map_index_template="{{ pde_label }}",
              execution_timeout=dt.timedelta(minutes=float(cfg["timeout_minutes"])),
              max_active_tis_per_dagrun=int(cfg["parallel_crawls"]))
        def crawl(spec: dict) -> dict:
            get_current_context()["pde_label"] = spec["label"]
            return crawl_task(spec)

        @task(task_id="quality", map_index_template="{{ pde_label }}", retries=0,
              outlets=[spider_alias(spider)])
        def quality(result: dict) -> dict:
            context = get_current_context()
            context["pde_label"] = result["label"]
            return quality_task(result, context["outlet_events"][spider_alias(spider)])

        @task_group(group_id="crawls")
        def one_crawl(spec):
            quality(crawl(spec))

        one_crawl.expand(spec=plan())
    return dag


def downstream_dags(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """DAGs from ``downstream:`` in dags/crawls.yaml, each scheduled on table assets."""
    config = config if config is not None else load_config()
    return {name: build_downstream_dag(name, block, config) for name, block in config["downstream"].items()}


def build_downstream_dag(name: str, block: dict[str, Any], config: dict[str, Any]):
    from airflow.sdk import DAG, AssetAll, AssetAny, task

    assets = [table_asset(t) for t in block["when"]]
    condition = block.get("condition", "any")
    if condition not in ("any", "all"):
        raise ConfigError(f"downstream.{name}.condition: any or all, not {condition!r}")
    schedule = AssetAny(*assets) if condition == "any" else AssetAll(*assets)
    cfg = merge(DEFAULTS, config.get("defaults") or {})
    what = " then ".join(x for x in (f"`{block['command']}`" if block.get("command") else "",
                                      f"notebook {block['notebook']}" if block.get("notebook") else "") if x)
    with DAG(
        dag_id=name,
        description=f"{what} when {(' or ' if condition == 'any' else ' and ').join(block['when'])} changes",
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=[*block.get("tags", []), "downstream"],
        default_args=_default_args(cfg),
        is_paused_upon_creation=bool(block.get("paused", False)),
        doc_md=f"Runs {what} in the project after a crawl wrote to {', '.join(block['when'])} ({condition}). "
               f"Defined in dags/crawls.yaml, downstream.{name}."
               + (f" The executed notebook is kept as HTML in $PDE_HOME/reports/{Path(block['notebook']).stem}.html "
                  "(path in the task log)." if block.get("notebook") else ""),
    ) as dag:
        timeout = dt.timedelta(minutes=float(block.get("timeout_minutes", 60)))
        tasks = []
        if block.get("command"):

            @task(task_id="run", execution_timeout=timeout)
            def run() -> None:
                import shlex

                command = block["command"]
                argv = shlex.split(command) if isinstance(command, str) else list(command)
                run_downstream(name, block, argv, f"`{command}`")

            tasks.append(run())
        if block.get("notebook"):

            @task(task_id="notebook", execution_timeout=timeout)
            def notebook() -> str:
                return run_downstream(name, block, notebook_command(block), f"notebook {block['notebook']}")

            tasks.append(notebook())
        if len(tasks) == 2:
            tasks[0] >> tasks[1]
    return dag


def notebook_command(block: dict[str, Any]) -> list[str]:
    """papermill through pde.reports, with the entry's parameters (as JSON values)."""
    argv = ["python", "-m", "pde.reports", str(block["notebook"])]
    for key, value in (block.get("parameters") or {}).items():
        argv += ["-p", f"{key}={json.dumps(value)}"]
    return argv


def run_downstream(name: str, block: dict[str, Any], argv: list[str], what: str) -> str:
    """Run one downstream step in the project with DATABASE_URL and the entry's env and secrets; its last line."""
    if argv[0] in ("python", "python3"):
        from pde.envs import crawl_python, notebook_python

        # the project's Python, whatever the worker's PATH says; notebooks always run where papermill is
        notebook = block.get("environment") == "notebook" or argv[1:3] == ["-m", "pde.reports"]
        argv = [notebook_python() if notebook else crawl_python(), *argv[1:]]
    spec = {"spider": name, "env": block.get("env") or {}, "secrets": normalise_secrets(block.get("secrets"))}
    spec_secrets = resolve_secrets(spec)
    env = crawl_environment(spec, spec_secrets)
    code, tail, _ = run_streaming(argv, env, redact=sensitive_values(env, spec_secrets))
    if code != 0:
        raise RuntimeError(f"{name}: {what} exited with {code}:\n" + "\n".join(tail))
    return tail[-1] if tail else ""


# ---------------------------------------------------------------------------
# what the tasks do (importable and testable without a scheduler)
# ---------------------------------------------------------------------------
class CrawlBlocked(RuntimeError):
    """The site refused us; retrying soon makes it worse."""


class CrawlFailed(RuntimeError):
    """The crawl failed in a way a retry may fix (network, database, crash)."""


def runtime_overlay() -> dict[str, Any]:
    """The pde_crawls Variable (JSON, same shape as dags/crawls.yaml), or nothing."""
    from airflow.sdk import Variable

    raw = Variable.get(VARIABLE, default=None)
    if not raw:
        return {}
    try:
        doc = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise ConfigError(f"The Airflow Variable {VARIABLE} is not valid JSON: {exc}") from exc
    return _check_config(doc, f"Variable {VARIABLE}")


def crawl_command(spec: dict) -> list[str]:
    from pde.envs import crawl_python

    cmd = [crawl_python(), "-m", "scrapy", "crawl", spec["spider"]]
    for k, v in spec["args"].items():
        cmd += ["-a", f"{k}={v}"]
    for k, v in spec["settings"].items():
        cmd += ["-s", f"{k}={json.dumps(v) if isinstance(v, (dict, list)) else v}"]
    return cmd


def describe_command(spec: dict) -> str:
    import shlex

    text = shlex.join(["scrapy", *crawl_command(spec)[3:]])
    if spec.get("secrets"):
        text += f"  (credentials in its environment: {', '.join(sorted(spec['secrets']))})"
    return text


def resolve_secrets(spec: dict) -> dict[str, str]:
    """Credential values for the crawl's environment; each is masked in Airflow's logs."""
    values = {}
    for name, source in spec.get("secrets", {}).items():
        kind, _, ref = source.partition(":")
        value = None
        if kind == "variable":
            from airflow.sdk import Variable

            value = Variable.get(ref or name, default=None)
            if value is None and not ref:
                value = os.environ.get(name)
            where = f"Airflow Variable {ref or name}" + ("" if ref else " or the environment")
        elif kind == "env":
            value = os.environ.get(ref or name)
            where = f"environment variable {ref or name}"
        else:
            conn_id, _, fieldname = ref.partition(".")
            value = _connection_field(conn_id, fieldname)
            where = f"field {fieldname} of Airflow Connection {conn_id}"
        if value in (None, ""):
            log.warning("%s: %s is not set (looked in the %s); the crawl runs without it", spec["spider"], name, where)
            continue
        values[name] = str(value)
    return values


def _connection_field(conn_id: str, fieldname: str) -> str | None:
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception as exc:  # not defined
        log.warning("Airflow Connection %s: %s", conn_id, exc)
        return None
    if fieldname in ("login", "password", "host", "schema", "port"):
        return getattr(conn, fieldname)
    if fieldname == "uri":
        return conn.get_uri()
    return (conn.extra_dejson or {}).get(fieldname)


SECRET_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|ESPN_S2|SWID|COOKIE|CREDENTIAL)", re.I)


def _mask(value: str) -> None:
    """Hide a value in Airflow's logs (only inside Airflow; pde's CLI and tests do not load it)."""
    if "airflow.sdk" not in sys.modules:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(value)


def data_database_url(spec: dict | None = None) -> str:
    """The PostgreSQL the crawls write to: the crawl's env, DATABASE_URL, or the embedded one."""
    url = ((spec or {}).get("env") or {}).get("DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    from pde.db import database_url

    return database_url()


def crawl_environment(spec: dict, secrets: dict[str, str]) -> dict[str, str]:
    """The worker's environment, plus DATABASE_URL, the crawl's env and its secrets.

    Airflow's own settings and credential-looking variables of the worker are left
    out: a crawl gets the credentials it lists under secrets:, no others. Every
    credential value is registered with Airflow's log masker.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "_AIRFLOW")) and not SECRET_ENV.search(k)}
    env.update({"TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in (spec.get("env") or {}).items()})
    env["DATABASE_URL"] = data_database_url(spec)
    env.update(secrets)
    for value in sensitive_values(env, secrets):
        _mask(value)
    return env


def sensitive_values(env: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """The credentials in a crawl's environment: its secrets, the database password, secret-looking variables."""
    from urllib.parse import urlsplit

    values = set(secrets.values())
    values.add(urlsplit(env.get("DATABASE_URL", "")).password or "")
    values.update(v for k, v in env.items() if SECRET_ENV.search(k))
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def _redact(line: str, values: list[str]) -> str:
    for v in values:
        if v in line:
            line = line.replace(v, "***")
    return line


RUN_STARTED = re.compile(r"Run (\d+) of (\S+) started")


def run_streaming(argv: list[str], env: dict[str, str], tail_lines: int = 30,
                  redact: list[str] = ()) -> tuple[int, list[str], list[str]]:
    """Run in the project, every output line into the task log; (exit code, last lines, all lines).

    Values in ``redact`` are replaced by *** before a line is logged (Airflow's masker
    does the same in real runs; this also covers ``dag.test()`` and the tail in errors).
    """
    logger = logging.getLogger("pde.crawl")
    proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    tail: deque[str] = deque(maxlen=tail_lines)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = _redact(line.rstrip("\n"), redact)
            logger.info("%s", line)
            tail.append(line)
            if len(lines) < 20_000:
                lines.append(line)
        return proc.wait(), list(tail), lines
    finally:
        if proc.poll() is None:  # the task was stopped or timed out: stop the crawl too
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen, grace: float = 20) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def run_crawl(spec: dict) -> dict:
    """Run one crawl; returns ``{"label", "spider", "run_id", "status"}`` or raises CrawlBlocked/CrawlFailed."""
    from pde import quality
    from pde.db import connect

    secrets = resolve_secrets(spec)
    env = crawl_environment(spec, secrets)
    log.info("running %s", describe_command(spec))
    started = time.monotonic()
    code, tail, lines = run_streaming(crawl_command(spec), env, redact=sensitive_values(env, secrets))
    run_id = next((int(m.group(1)) for line in lines if (m := RUN_STARTED.search(line))), None)
    result = {"label": spec["label"], "spider": spec["spider"], "run_id": run_id, "spec": spec}
    log.info("%s exited with %s after %.1fs (run %s)", spec["spider"], code, time.monotonic() - started, run_id)
    run = None
    if run_id is not None:
        conn = connect(env["DATABASE_URL"])
        try:
            run = quality.load_run(conn, run_id)
        finally:
            conn.close()
        result["status"] = run.status
    last = _last_words(lines)
    if code == 0:
        return result
    if code == 3:
        message = run.message if run and run.message else last
        raise CrawlBlocked(f"{spec['spider']} [{spec['label']}] was blocked by the site (run {run_id}). {message}")
    if run is not None and quality.is_data_failure(run):
        log.warning("%s: %s; the quality check decides", run.title, run.message)
        return result
    if run is not None:
        raise CrawlFailed(f"{run.title} {run.status}: {run.message}")
    raise CrawlFailed(f"{spec['spider']} [{spec['label']}] exited with {code} before recording a run. "
                      f"Last lines of its log:\n{last}")


def _last_words(lines: list[str]) -> str:
    """What the crawl said about how it ended (the crawl command's last line), else its errors."""
    for line in reversed(lines):
        if re.match(r"^\S+: (failed|blocked|refused)\. ", line):
            return line
    errors = [line for line in lines if " ERROR: " in line or line.startswith(("Traceback", "ValueError", "Error"))]
    return "\n".join(errors[-5:] or lines[-8:])


def crawl_task(spec: dict) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return run_crawl(spec)
    except CrawlBlocked as exc:
        log.error("%s", exc)
        raise AirflowFailException(str(exc)) from None
    except ConfigError as exc:
        raise AirflowFailException(str(exc)) from None


def quality_task(result: dict, alias_events=None) -> dict:
    """Check the run; on success emit an asset event per table it wrote."""
    from airflow.sdk.exceptions import AirflowFailException

    from pde import quality
    from pde.db import connect

    spec = result["spec"]
    if result.get("run_id") is None:
        raise AirflowFailException(f"{spec['spider']} [{spec['label']}]: no run was recorded; nothing to check.")
    conn = connect(data_database_url(spec))
    try:
        report = quality.check_run(conn, result["run_id"], spec.get("quality"))
    finally:
        conn.close()
    log.info("%s", report.summary())
    if not report.ok:
        raise AirflowFailException("Quality check failed:\n- " + "\n- ".join(report.problems))
    written = report.run.written_tables
    for table, counts in sorted(written.items()):
        if alias_events is not None:
            alias_events.add(table_asset(table), extra={
                "run_id": report.run.run_id, "spider": spec["spider"], "crawl": spec["label"],
                "inserted": counts["inserted"], "updated": counts["updated"]})
        log.info("asset event: %s (+%s ~%s)", table, counts["inserted"], counts["updated"])
    if not written:
        log.info("no table changed: no asset events, nothing downstream runs")
    return {"run_id": report.run.run_id, "tables": sorted(written)}
