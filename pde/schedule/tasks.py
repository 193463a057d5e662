"""What the DAG tasks do (importable and testable without a scheduler): run a crawl, check its run."""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from pde import runs
from pde.db import connect, database_url
from pde.envs import crawl_python
from pde.runs import Run
from pde.schedule import quality
from pde.schedule.assets import table_asset
from pde.schedule.config import PROJECT_ROOT, VARIABLE, ConfigError, check_config
from pde.secrets import SECRET_ENV, dsn_password, mask_dsn, scrub_query_secrets
from pde.secrets import redact as redact_text

log = logging.getLogger(__name__)

# Airflow is imported inside the functions that need it (lazily): importing it reads its
# configuration, and this module must be importable before that is set (tests, tools).


class CrawlBlocked(RuntimeError):
    """The site refused us; retrying soon makes it worse."""


class CrawlFailed(RuntimeError):
    """The crawl failed in a way a retry may fix (network, database, crash)."""


class CrawlUsageError(RuntimeError):
    """Wrong arguments or settings (exit 2): the same command fails again, so no retry."""


def runtime_overlay() -> dict[str, Any]:
    """The pde_crawls Variable (JSON, same shape as dags/crawls.yaml), or nothing."""
    from airflow.sdk import Variable  # lazy: Airflow (see above)

    raw = Variable.get(VARIABLE, default=None)
    if not raw:
        return {}
    try:
        doc = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise ConfigError(f"The Airflow Variable {VARIABLE} is not valid JSON: {exc}") from exc
    return check_config(doc, f"Variable {VARIABLE}")


def crawl_command(spec: dict, result_file: str | Path | None = None) -> list[str]:
    """The crawl's command line; with ``result_file`` the crawl writes its run there (PDE_RESULT_FILE)."""
    settings = {**spec["settings"], **({"PDE_RESULT_FILE": str(result_file)} if result_file else {})}
    return runs.crawl_command(spec["spider"], spec["args"], settings, python=crawl_python())


def describe_command(spec: dict) -> str:
    text = shlex.join(["scrapy", *crawl_command(spec)[3:]])
    if spec.get("secrets"):
        text += f"  (credentials in its environment: {', '.join(sorted(spec['secrets']))})"
    return scrub_query_secrets(mask_dsn(text))


def resolve_secrets(spec: dict) -> dict[str, str]:
    """Credential values for the crawl's environment; each is masked in Airflow's logs."""
    values = {}
    for name, source in spec.get("secrets", {}).items():
        kind, _, ref = source.partition(":")
        value = None
        if kind == "variable":
            from airflow.sdk import Variable  # lazy: Airflow (see above)

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
    from airflow.sdk import Connection  # lazy: Airflow (see above)

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




def _mask(value: str) -> None:
    """Hide a value in Airflow's logs (only inside Airflow; pde's CLI and tests do not load it)."""
    if "airflow.sdk" not in sys.modules:
        return
    from airflow.sdk.log import mask_secret  # lazy: Airflow (see above)

    mask_secret(value)


def data_database_url(spec: dict | None = None) -> str:
    """The PostgreSQL the crawls write to: the crawl's env, DATABASE_URL, or the embedded one."""
    return ((spec or {}).get("env") or {}).get("DATABASE_URL") or database_url()


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
    values = set(secrets.values())
    values.add(dsn_password(env.get("DATABASE_URL", "")) or "")
    values.update(v for k, v in env.items() if SECRET_ENV.search(k))
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def _redact(line: str, values: list[str]) -> str:
    """Any DSN password, secret-looking query value and known credential value, masked (pde.secrets)."""
    return redact_text(line, values, accounts=[])


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
    """Run one crawl; returns ``{"label", "spider", "run_id", "status", "spec"}`` or raises CrawlBlocked/CrawlFailed.

    The crawl writes its run (pde.runs.Run) to a result file this passes as ``-s PDE_RESULT_FILE``:
    that is how the run id and the result come back, never from the log.
    """
    secrets = resolve_secrets(spec)
    env = crawl_environment(spec, secrets)
    log.info("running %s", describe_command(spec))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pde-crawl-") as tmp:
        result_file = Path(tmp) / "result.json"
        code, _, lines = run_streaming(crawl_command(spec, result_file), env, redact=sensitive_values(env, secrets))
        run = Run.read_result(result_file) if result_file.exists() else None
    run_id = run.run_id if run else None
    result = {"label": spec["label"], "spider": spec["spider"], "run_id": run_id, "spec": spec}
    log.info("%s exited with %s after %.1fs (run %s)", spec["spider"], code, time.monotonic() - started, run_id)
    if run is not None:
        result["status"] = run.status
        log.info("%s", run.summary())
    last = _last_words(lines)
    if code == 0:
        return result
    if code == runs.EXIT_CODES["blocked"]:
        message = run.message if run and run.message else last
        raise CrawlBlocked(f"{spec['spider']} [{spec['label']}] was blocked by the site (run {run_id}). {message}")
    if code == runs.EXIT_CODES["usage"]:
        problem = next((line.removeprefix("error: ") for line in reversed(lines) if line.startswith("error: ")), last)
        raise CrawlUsageError(f"{spec['spider']} [{spec['label']}]: {problem} Fix its crawl in dags/crawls.yaml "
                              f"(or the {VARIABLE} Variable); retrying would fail the same way.")
    if run is not None and run.run_id is not None and quality.is_data_failure(run):
        log.warning("%s: %s; the quality check decides", run.title, run.message)
        return result
    if run is not None and run.run_id is not None:
        raise CrawlFailed(f"{run.title} {run.status}: {run.message}")
    what = f"{run.status}: {run.message}" if run is not None else "exited before recording a run"
    raise CrawlFailed(f"{spec['spider']} [{spec['label']}] {what} (exit code {code}). Last lines of its log:\n{last}")


def _last_words(lines: list[str]) -> str:
    """The crawl's errors, else its last lines: for a person when no run result explains the end."""
    errors = [line for line in lines if " ERROR: " in line or line.startswith(("Traceback", "ValueError", "Error"))]
    return "\n".join(errors[-5:] or lines[-8:])


def crawl_task(spec: dict, alert=None) -> dict:
    from airflow.sdk.exceptions import AirflowFailException  # lazy: Airflow (see above)

    alert = alert or (lambda *a, **k: None)  # pde.schedule.alerts.alert_for(spec, kind, what)
    try:
        return run_crawl(spec)
    except (CrawlBlocked, CrawlUsageError) as exc:
        log.error("%s", exc)
        alert(spec, "blocked" if isinstance(exc, CrawlBlocked) else "config", str(exc))
        raise AirflowFailException(str(exc)) from None
    except ConfigError as exc:
        alert(spec, "config", str(exc))
        raise AirflowFailException(str(exc)) from None
    except Exception as exc:
        alert(spec, "failed", str(exc))  # sent only on the last try
        raise


def quality_task(result: dict, alias_events=None, alert=None) -> dict:
    """Check the run; on success emit an asset event per table it wrote."""
    from airflow.sdk.exceptions import AirflowFailException  # lazy: Airflow (see above)

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
        if alert is not None:
            alert(spec, "quality", "; ".join(report.problems), run_id=result["run_id"])
        raise AirflowFailException("Quality check failed:\n- " + "\n- ".join(report.problems))
    written = report.run.written_tables
    for table, counts in sorted(written.items()):
        if alias_events is not None:
            alias_events.add(table_asset(table), extra={
                "run_id": report.run.run_id, "spider": spec["spider"], "crawl": spec["label"],
                "inserted": counts.inserted, "updated": counts.updated})
        log.info("asset event: %s (+%s ~%s)", table, counts.inserted, counts.updated)
    if not written:
        log.info("no table changed: no asset events, nothing downstream runs")
    return {"run_id": report.run.run_id, "tables": sorted(written)}
