"""docker-compose.yml is consistent (there is no Docker engine here to run it).

Checks the services and what they depend on, that images are pinned, volumes
and configs are declared and used, ports are published on 127.0.0.1 only,
every ${VARIABLE} is in .env.example (and nothing there is unused), the build
contexts hold what the Dockerfiles copy, and the Airflow settings match the
ones `make up` uses (pde/services/airflow.py).
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
AIRFLOW = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])[^}]*)?\}")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


def test_services_are_all_there(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "airflow-init", *AIRFLOW, "superset", "redis", "airflow-worker"}
    assert services["airflow-api-server"]["command"] == ["airflow", "api-server"]
    assert services["airflow-dag-processor"]["command"] == ["airflow", "dag-processor"]
    assert services["airflow-triggerer"]["command"] == ["airflow", "triggerer"]
    assert services["airflow-scheduler"]["command"] == ["airflow", "scheduler"]
    assert services["airflow-worker"]["command"] == ["airflow", "celery", "worker"]


def test_celery_profile_holds_redis_and_the_worker_only(compose):
    profiled = {name for name, s in compose["services"].items() if s.get("profiles")}
    assert profiled == {"redis", "airflow-worker"}
    assert all(compose["services"][n]["profiles"] == ["celery"] for n in profiled)
    env = compose["services"]["airflow-worker"]["environment"]
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert "celery" in compose["services"]["airflow-worker"]["build"]["dockerfile_inline"]


def test_images_are_pinned_and_builds_have_what_they_copy(compose):
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image or service.get("build"), name
        if image:
            tag = image.rsplit(":", 1)[-1] if ":" in image else ""
            assert tag and tag != "latest", f"{name}: pin the image version ({image})"
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert context.is_dir(), name
            for line in build["dockerfile_inline"].splitlines():
                parts = line.split()
                if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
                    for src in parts[1:-1]:
                        assert (context / src).exists(), f"{name}: COPY {src}: not in {context}"
    assert "uv sync --frozen" in compose["services"]["superset"]["build"]["dockerfile_inline"]
    assert (ROOT / "superset" / "pyproject.toml").exists() and (ROOT / "superset" / "uv.lock").exists()


def test_dependencies_point_at_services_and_wait_for_health(compose):
    services = compose["services"]
    for name, service in services.items():
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health, which has no check"
    for name in (*AIRFLOW, "airflow-worker"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"
    assert "airflow db migrate" in "\n".join(services["airflow-init"]["command"])


def test_volumes_and_configs_are_declared_and_used(compose):
    declared = set(compose["volumes"])
    used = set()
    for service in compose["services"].values():
        for v in service.get("volumes", []):
            source = v.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"bind mount {source} does not exist"
            else:
                used.add(source)
    assert used == declared
    used_configs = {c["source"] for s in compose["services"].values() for c in s.get("configs", [])}
    assert used_configs == set(compose["configs"])
    sql = compose["configs"]["metadata-databases"]["content"]
    assert "CREATE DATABASE airflow;" in sql and "CREATE DATABASE superset;" in sql


def test_ports_are_published_on_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def strings(node):
    """Every string in the parsed file (what Compose interpolates; comments are not)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


def test_every_variable_is_in_env_example_and_every_example_is_used(compose):
    found = [m for text in strings(compose) for m in VARIABLE.finditer(text)]
    used = {m.group(1) for m in found}
    example = env_example()
    assert used - set(example) == set(), "add these to .env.example"
    assert set(example) - used == set(), "unused in docker-compose.yml"
    required = {m.group(1) for m in found if m.group(2) == ":?"}
    # the required ones are secrets: .env.example must leave them for the user to fill in
    assert required and all(example[name] == "" for name in required)


def test_airflow_settings_match_the_local_setup(compose, tmp_path, monkeypatch):
    """Every setting `make up` gives Airflow is also set for the containers."""
    from pde.services import airflow

    monkeypatch.setenv("PDE_HOME", str(tmp_path))
    local = {k for k in airflow.airflow_env("postgresql://u:p@127.0.0.1:5432/pde", base={}) if k.startswith("AIRFLOW")}
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert local - set(env) == set()
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/pde/dags"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert all(compose["services"][n]["environment"] == env for n in AIRFLOW)
