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
- ``quality`` checks the run record (pde.schedule.quality) and, when it passes, emits an
  Airflow Asset event for every table the run wrote (``table_asset``), through
  the alias ``pde.<spider>``. Downstream DAGs schedule on those assets.
"""


from __future__ import annotations

import datetime as dt
import json
import logging
import shlex
from pathlib import Path
from typing import Any

from pde.envs import crawl_python, notebook_python
from pde.schedule.alerts import alert_for
from pde.schedule.assets import spider_alias, table_asset
from pde.schedule.config import (
    DEFAULTS,
    START_DATE,
    VARIABLE,
    ConfigError,
    config_path,
    crawl_specs,
    load_config,
    merge,
    normalise_secrets,
    spider_config,
)
from pde.schedule.registry import SpiderInfo, spider_registry
from pde.schedule.tasks import (
    crawl_environment,
    crawl_task,
    describe_command,
    quality_task,
    resolve_secrets,
    run_streaming,
    runtime_overlay,
    sensitive_values,
)
from pde.sources import ArgError, check_required, describe_args, parse_args

log = logging.getLogger(__name__)



def _doc(info: SpiderInfo, runnable: bool = True) -> str:

    parts = [f"**{info.name}** ({info.area or 'no area'}): `scrapy crawl {info.name}` on `{info.schedule}`.",
             f"Spider: `{info.module}`. Its crawls, arguments, credentials and quality thresholds: "
             f"`dags/crawls.yaml` (or the `{VARIABLE}` Variable)."]
    needs = info.needs_args()
    if needs and not runnable:
        parts.append(f"**Not configured yet: every run is skipped.** A crawl of {info.name} needs "
                     f"{' and '.join(f'`{n}`' for n in needs)}. Add it to `dags/crawls.yaml`:\n\n"
                     f"```yaml\nspiders:\n  {info.name}:\n    crawls:\n      - label: mine\n        args: {{"
                     + ", ".join(f"{n}: ..." for n in needs) + "}\n```")
    if info.args:
        parts.append("Arguments (`args:` of a crawl, `-a name=value` of `scrapy crawl`):\n\n"
                     "| argument | what | allowed | default | notes |\n|---|---|---|---|---|\n"
                     + "\n".join(describe_args({a.name: a for a in info.args}, markdown=True)))
    return "\n\n".join([*parts, info.doc])


def check_spec(info: SpiderInfo, spec: dict) -> str | None:
    """Why a configured crawl cannot run (bad or unknown argument: ConfigError), or the missing argument
    that makes it skip (a str), or None. Uses the declaration read from source, not the spider."""

    if not info.args:
        return None
    shim = type(info.name, (), {"name": info.name, "args": info.args})
    try:
        values = parse_args(shim, {k: str(v) for k, v in spec["args"].items()})
    except ArgError as exc:
        raise ConfigError(f"{exc} Fix the crawl {spec['label']!r} in {config_path()} (or the {VARIABLE} Variable).") \
            from None
    try:
        check_required(shim, values)
    except ArgError as exc:
        return str(exc)
    return None


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
    # lazy: importing Airflow reads its configuration (see pde/schedule/tasks.py)
    from airflow.sdk import DAG, get_current_context, task, task_group

    cfg = spider_config(info.name, config)
    spider, modules = info.name, tuple(config["spider_modules"])
    configured = bool(((config.get("spiders") or {}).get(spider) or {}).get("crawls"))
    runnable = True
    if info.needs_args():  # only then can a crawl lack what it needs; the others skip this at parse time
        try:
            runnable = any(check_spec(info, s) is None for s in crawl_specs(spider, cfg, modules))
        except ConfigError:
            pass  # the plan task says what is wrong, at run time
    with DAG(
        dag_id=spider,
        description=f"scrapy crawl {spider}, then check the run and publish its tables",
        schedule=cfg.get("schedule", info.schedule),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=[info.area or "other", "crawl"],
        default_args=_default_args(cfg),
        doc_md=_doc(info, runnable),
        is_paused_upon_creation=bool(cfg.get("paused", not configured)),
    ) as dag:

        @task(task_id="plan", retries=0)
        def plan() -> list[dict]:
            """The crawls to run now: dags/crawls.yaml overlaid by the pde_crawls Variable."""
            from airflow.sdk.exceptions import AirflowSkipException  # lazy: runs in the task, not at DAG parse

            specs = crawl_specs(spider, spider_config(spider, load_config(), runtime_overlay()), modules)
            runnable = []
            for s in specs:
                missing = check_spec(info, s)
                if missing:
                    log.warning("crawl %s skipped: %s Configure it in %s (or the %s Variable).",
                                s["label"], missing, config_path(), VARIABLE)
                    continue
                log.info("crawl %s: %s", s["label"], describe_command(s))
                runnable.append(s)
            if not runnable:
                missing = "; ".join(filter(None, (check_spec(info, s) for s in specs)))
                raise AirflowSkipException(
                    f"{spider} has no crawl it can run: {missing} Add a crawl with its arguments under "
                    f"spiders.{spider}.crawls in {config_path()}.")
            return runnable

        @task(task_id="crawl", map_index_template="{{ pde_label }}",
              execution_timeout=dt.timedelta(minutes=float(cfg["timeout_minutes"])),
              max_active_tis_per_dagrun=int(cfg["parallel_crawls"]))
        def crawl(spec: dict) -> dict:
            get_current_context()["pde_label"] = spec["label"]
            return crawl_task(spec, alert=alert_for)

        @task(task_id="quality", map_index_template="{{ pde_label }}", retries=0,
              outlets=[spider_alias(spider)])
        def quality(result: dict) -> dict:
            context = get_current_context()
            context["pde_label"] = result["label"]
            return quality_task(result, context["outlet_events"][spider_alias(spider)], alert=alert_for)

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
    # lazy: importing Airflow reads its configuration (see pde/schedule/tasks.py)
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
               + (f" On success it emits {', '.join(block['writes'])}." if block.get("writes") else "")
               + (f" The executed notebook is kept as HTML in $PDE_HOME/reports/{Path(block['notebook']).stem}.html "
                  "(path in the task log)." if block.get("notebook") else ""),
    ) as dag:
        timeout = dt.timedelta(minutes=float(block.get("timeout_minutes", 60)))
        # the tables it rewrites (writes:) are assets too: DAGs whose when: names them run after it
        writes = [table_asset(t) for t in block.get("writes") or []]
        tasks = []
        if block.get("command"):

            @task(task_id="run", execution_timeout=timeout, outlets=writes)
            def run() -> None:
                command = block["command"]
                argv = shlex.split(command) if isinstance(command, str) else list(command)
                run_downstream(name, block, argv, f"`{command}`")

            tasks.append(run())
        if block.get("notebook"):

            @task(task_id="notebook", execution_timeout=timeout, outlets=[] if block.get("command") else writes)
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


