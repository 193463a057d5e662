"""dags/crawls.yaml: which crawls run, with which arguments, secrets and checks (plus the Airflow Variable overlay)."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import re
from pathlib import Path
from typing import Any

import yaml

from pde.schedule.quality import Thresholds
from pde.secrets import SECRET_FIELDS
from scrapers.settings import SPIDER_MODULES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "dags" / "crawls.yaml"
VARIABLE = "pde_crawls"
DEFAULT_SPIDER_MODULES = tuple(SPIDER_MODULES)  # every area package under scrapers/
DEFAULT_SCHEDULE = "0 3 * * *"
START_DATE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

#: what every spider gets unless dags/crawls.yaml says otherwise
#: "has not succeeded for N days": the pde_health DAG alerts, `pde doctor` warns (per spider: alert_after_days)
DEFAULT_AFTER_DAYS = 3

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
    "alerts": {},  # names of secrets holding Apprise URLs (pde.schedule.alerts)
    "alert_after_days": DEFAULT_AFTER_DAYS,
    "alert_digest": False,  # under defaults: the pde_health DAG also sends a daily summary
}
SPIDER_KEYS = set(DEFAULTS) | {"schedule", "paused", "crawls"}
CRAWL_KEYS = {"label", "args", "settings", "env", "secrets", "quality"}
DOWNSTREAM_KEYS = {"when", "condition", "command", "tags", "env", "secrets", "timeout_minutes", "paused",
                   "environment", "notebook", "parameters", "writes"}
ENVIRONMENTS = ("crawl", "notebook")
#: keys only read when the DAG file is parsed (the Variable cannot change them)
PARSE_TIME_KEYS = {"schedule", "paused", "retries", "retry_delay_minutes", "max_retry_delay_minutes",
                   "timeout_minutes", "parallel_crawls"}

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """dags/crawls.yaml or the pde_crawls Variable says something we cannot do."""


def config_path() -> Path:
    return Path(os.environ.get("PDE_CRAWLS_FILE") or DEFAULT_CONFIG)


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The crawl configuration file, checked; an empty shape when it does not exist."""
    path = path or config_path()
    if not path.exists():
        return check_config({}, str(path))
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    return check_config(doc, str(path))


def check_config(doc: Any, where: str) -> dict[str, Any]:
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
        writes = block.get("writes") or []
        if not isinstance(writes, list) or not all(isinstance(t, str) and t.count(".") == 1 for t in writes):
            raise ConfigError(f"{where} downstream.{name}.writes: a list of the tables it rewrites, as schema.table")
    _check_no_cycle(doc["downstream"], where)
    return doc


def _check_no_cycle(downstream: dict[str, Any], where: str) -> None:
    """``writes:`` of one entry may start another (its ``when:``); a loop would run forever, so refuse it."""
    starts = {name: [other for other, b in downstream.items()
                     if set(b.get("when") or []) & set(block.get("writes") or [])]
              for name, block in downstream.items()}

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            loop = " -> ".join([*path[path.index(name):], name])
            raise ConfigError(f"{where} downstream: {loop} would start each other for ever (writes: of one is in "
                              f"when: of the next); drop a table from one writes: or when:")
        for nxt in starts[name]:
            visit(nxt, [*path, name])

    for name in downstream:
        visit(name, [])


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

    specs, labels = [], set()
    for crawl in cfg.get("crawls") or [{}]:
        spec = {
            "spider": name,
            "args": {**cfg["args"], **(crawl.get("args") or {})},
            "settings": {**cfg["settings"], **(crawl.get("settings") or {})},
            "env": {**cfg["env"], **(crawl.get("env") or {})},
            "secrets": {**normalise_secrets(cfg["secrets"]), **normalise_secrets(crawl.get("secrets"))},
            "quality": merge(cfg["quality"], crawl.get("quality") or {}),
            "alerts": normalise_secrets(cfg.get("alerts")),
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


