"""docker-compose.yml is consistent (there is no Docker engine here to run it).

It is parsed, for each profile, by the Compose Specification's parser (the `compose-spec` package:
the compose_spec Rust crate, strict about keys, durations, ports and restart policies) after
interpolating the variables the way `docker compose config` does, from .env.example.
Debian's docker-compose 1.29 is not used: it rejects the top-level `name:` and `configs.content`.

Checks the services and what they depend on, that images are pinned, volumes
and configs are declared and used, ports are published on 127.0.0.1 only,
every ${VARIABLE} is in .env.example (and nothing there is unused), the build
contexts hold what the Dockerfiles copy, and the Airflow settings match the
ones `make up` uses (pde/services/airflow.py).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from urllib.parse import urlsplit

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
    assert set(services) == {"postgres", "airflow-init", *AIRFLOW, "superset", "web", "redis", "airflow-worker"}
    assert services["airflow-api-server"]["command"] == ["airflow", "api-server"]
    assert services["airflow-dag-processor"]["command"] == ["airflow", "dag-processor"]
    assert services["airflow-triggerer"]["command"] == ["airflow", "triggerer"]
    assert services["airflow-scheduler"]["command"] == ["airflow", "scheduler"]
    assert services["airflow-worker"]["command"] == ["airflow", "celery", "worker"]


def test_home_page_serves_from_the_airflow_image_and_shares_the_inbox(compose):
    """The web service runs the command tests/test_inbox_web.py runs, with the pde state Airflow's inbox DAG reads."""
    services = compose["services"]
    web, scheduler = services["web"], services["airflow-scheduler"]
    assert web["command"][:3] == ["pde", "web", "serve"] and web["image"] == scheduler["image"]
    assert "--group web" in web["build"]["dockerfile_inline"]
    home = scheduler["environment"]["PDE_HOME"]
    assert f"pde-state:{home}" in web["volumes"] and f"pde-state:{home}" in scheduler["volumes"]
    assert web["environment"]["PDE_HOME"] == home and "PDE_INBOX" not in scheduler["environment"]
    assert web["environment"]["DATABASE_URL"] == scheduler["environment"]["DATABASE_URL"]
    assert web["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"  # pde migrate ran


def test_celery_profile_holds_redis_and_the_worker_only(compose):
    profiled = {name for name, s in compose["services"].items() if s.get("profiles")}
    assert profiled == {"redis", "airflow-worker"}
    assert all(compose["services"][n]["profiles"] == ["celery"] for n in profiled)
    env = compose["services"]["airflow-worker"]["environment"]
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    # the image installs from uv.lock only (the groups `make setup` syncs into .venv-airflow), Celery included
    build = compose["services"]["airflow-worker"]["build"]["dockerfile_inline"]
    assert "uv sync --frozen --no-dev --group airflow --group web" in build and "pip install" not in build
    lock = (ROOT / "uv.lock").read_text()
    assert 'name = "apache-airflow-providers-celery"' in lock and 'name = "redis"' in lock


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


# -- the Compose Specification's own parser, per profile (what `docker compose config` does first) ---------
TOKEN = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(node, env: dict[str, str]):
    """Compose's variable interpolation ($$, ${V}, ${V:-d}, ${V-d}, ${V:?e}, ${V?e}, ${V:+a}, ${V+a})."""
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if not isinstance(node, str):
        return node

    def one(m):
        if m.group(1):
            return "$"
        name, op, arg = m.group(2) or m.group(5), m.group(3), m.group(4)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise ValueError(f"{name}: {arg}")
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return "" if value is None else arg
        return value or ""

    return TOKEN.sub(one, node)


def filled_env(**overrides) -> dict[str, str]:
    """.env.example with the blanks a user must fill in filled (as they would be)."""
    env = {k: v or f"filled-{k.lower()}" for k, v in env_example().items()}
    env.update(overrides)
    return env


def project(compose, profiles: set[str], env: dict[str, str]) -> dict:
    """The project `docker compose --profile ... config` would run: interpolated, inactive services dropped."""
    doc = interpolate(compose, env)
    doc["services"] = {name: s for name, s in doc["services"].items()
                       if not s.get("profiles") or profiles & set(s["profiles"])}
    return doc


def parse_with_compose_spec(doc: dict):
    """Parse with the Compose Specification's parser; raises ValueError saying what and where."""
    from compose_spec import PyCompose

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):  # the spec parser gets the merged, alias-free file
            return True

    parsed = PyCompose.from_yaml(yaml.dump(doc, Dumper=Dumper, sort_keys=False))
    parsed.validate()
    return parsed


@pytest.mark.parametrize("profiles,executor", [(set(), "LocalExecutor"), ({"celery"}, "CeleryExecutor")],
                         ids=["default", "celery"])
def test_each_profile_parses_by_the_compose_specification(compose, profiles, executor):
    doc = project(compose, profiles, filled_env(AIRFLOW_EXECUTOR=executor))
    parsed = parse_with_compose_spec(doc)
    expected = {"postgres", "airflow-init", *AIRFLOW, "superset", "web"}
    expected |= {"redis", "airflow-worker"} if profiles else set()
    assert set(parsed.service_names()) == expected
    for name, service in doc["services"].items():  # Compose refuses a dependency on an inactive service
        assert set(service.get("depends_on") or {}) <= expected, name
    spec = parsed.to_spec()  # and the models generated from the specification's JSON schema accept it
    assert set(spec.services) == expected
    env = doc["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == executor
    if profiles:
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert broker.hostname == "redis" and broker.port == 6379
        assert doc["services"]["airflow-worker"]["environment"] == env
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")


def test_the_parser_catches_what_a_consistency_check_would_not(compose):
    """The spec parser is not a rubber stamp: a misspelt key or a bad value in the file fails."""
    good = project(compose, {"celery"}, filled_env())
    for path, key, value in [(("services", "redis"), "profile", ["celery"]),
                             (("services", "airflow-worker"), "restart", "sometimes"),
                             (("services", "redis", "healthcheck"), "interval", "5 fortnights"),
                             (("services", "postgres"), "ports", ["127.0.0.1:pg:5432"])]:
        bad = copy.deepcopy(good)
        node = bad
        for p in path:
            node = node[p]
        node[key] = value
        with pytest.raises(ValueError):
            parse_with_compose_spec(bad)


def test_a_missing_secret_stops_compose_like_docker_compose_would(compose):
    env = filled_env()
    env["POSTGRES_PASSWORD"] = ""
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        project(compose, set(), env)


def test_postgres_image_is_the_major_version_pde_is_tested_with(compose, pg_conn):
    image = compose["services"]["postgres"]["image"]
    tag = image.rsplit(":", 1)[1]
    with pg_conn.cursor() as cur:
        cur.execute("SHOW server_version_num")
        tested = int(cur.fetchone()[0]) // 10000
    assert int(re.match(r"\d+", tag).group()) == tested, f"{image}: pde's tests run PostgreSQL {tested}"


def test_redis_image_is_the_version_the_celery_test_runs(compose):
    redis = shutil.which("redis-server")
    if redis is None:
        pytest.skip("redis-server is not installed (scripts/system-deps.sh installs it)")
    out = subprocess.run([redis, "--version"], capture_output=True, text=True, check=True).stdout
    local = re.search(r"v=(\d+)\.(\d+)", out).groups()
    tag = compose["services"]["redis"]["image"].rsplit(":", 1)[1]
    assert tuple(re.match(r"(\d+)\.(\d+)", tag).groups()) == local
