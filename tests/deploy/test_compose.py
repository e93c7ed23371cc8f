"""docker-compose.yml, .env.example and the deploy/ scripts, checked without a Docker engine.

The file is read with PyYAML and its `${VAR:-default}` substitution is resolved here the way
Compose does, so every check sees what a container would get. `docker-compose config` (Debian's
package, installed by `make system-deps`) validates the file against Compose's own schema.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from pydantic import AliasChoices

from config import ROOT, Settings

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

LONG_RUNNING = {"postgresql", "temporal", "temporal-ui", "worker", "api", "proxy"}
ONE_SHOT = {"temporal-schema", "temporal-setup", "setup"}
#: Started only with `--profile monitoring`.
MONITORING = {"prometheus", "grafana"}
APP_SERVICES = {"setup", "worker", "api"}

#: Settings deliberately not passed to the containers, with the reason.
NOT_PASSED = {
    "data_dir": "only the embedded PostgreSQL uses it; the stack sets COMPLAINTS_DATABASE_URL",
}

#: Environment variables the code reads outside `config.Settings`.
EXTRA_APP_VARIABLES = {"COMPLAINTS_HOLIDAYS_DIR"}

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# ------------------------------------------------------------------ helpers


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's substitution: `${V}`, `${V:-d}`, `${V-d}`, `${V:?msg}`, `${V?msg}`, `$$`."""
    text = text.replace("$$", "\0")

    def one(m: re.Match[str]) -> str:
        name, op, arg = m["name"], m["op"], m["arg"]
        if op == ":-":
            return env.get(name) or arg
        if op == "-":
            return env.get(name, arg)
        if op in (":?", "?") and (not env.get(name) if op == ":?" else name not in env):
            raise MissingVariable(f"{name}: {arg}")
        return env.get(name, "")

    return _VAR.sub(one, text).replace("\0", "$")


def resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, env) for v in node]
    return node


def read_env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            assert key not in out, f"{path.name}: {key} twice"
            out[key] = value
    return out


def env_names(name: str) -> set[str]:
    """The environment variables that set Settings field `name`."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return {str(a) for a in alias.choices}
    if isinstance(alias, str):
        return {alias}
    return {f"COMPLAINTS_{name.upper()}"}


def settings_from(environment: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a container with this `environment` builds (no .env file, no host env)."""
    for key in list(os.environ):
        if key.startswith(("COMPLAINTS_", "TEMPORAL_")):
            monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, "" if value is None else str(value))
    return Settings(_env_file=None)  # type: ignore[call-arg]


def seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert m, duration
    return float(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def services(raw: dict[str, Any], example_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The services as a container sees them with `.env` = `.env.example`."""
    return resolve(raw, example_env)["services"]  # type: ignore[no-any-return]


def compose_variables() -> dict[str, list[tuple[str | None, str]]]:
    """Every `${VAR...}` in the compose file: name -> [(operator, argument)]."""
    text = COMPOSE_FILE.read_text(encoding="utf-8").replace("$$", "")
    found: dict[str, list[tuple[str | None, str]]] = {}
    for m in _VAR.finditer(text):
        found.setdefault(m["name"], []).append((m["op"], m["arg"] or ""))
    return found


# ------------------------------------------------------------------ the services


def test_stack_has_every_component(raw: dict[str, Any]) -> None:
    assert set(raw["services"]) == LONG_RUNNING | ONE_SHOT | MONITORING
    for name, svc in raw["services"].items():
        assert svc.get("profiles", []) == (["monitoring"] if name in MONITORING else []), name
    assert "postgres-data" in raw["volumes"]


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        image = svc["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: image {image!r} not pinned"
        assert re.match(r"v?\d+\.\d+", tag), f"{name}: tag {tag!r} is not a version"
    server = services["temporal"]["image"].rpartition(":")[2]
    for job in ("temporal-schema", "temporal-setup"):
        tools = services[job]["image"].rpartition(":")[2]
        assert tools.split("-")[0] == server, "admin-tools must match the server version"
    assert all(services[s]["image"] == services["api"]["image"] for s in APP_SERVICES)


#: The Temporal images of the official compose files, checked 2026-12-01 with the `fetch` tool:
#: temporalio/docker-compose (archived; its last `.env`: TEMPORAL_VERSION=1.29.1,
#: TEMPORAL_ADMINTOOLS_VERSION=1.29.1-tctl-1.18.4-cli-1.5.0) and its successor
#: temporalio/samples-server `compose/.env` (1.29.1 for both, then 1.30.1 for both). Temporal's
#: Helm chart pinned server 1.29.2 but still admin-tools 1.29.1-tctl-1.18.4-cli-1.5.0: no 1.29.x
#: after 1.29.1 has both images, so 1.29.1 is the newest 1.29 patch that does. The security
#: fixes of later patches come with 1.30 (docs/deployment.md, "Temporal server upgrades").
OFFICIAL_TEMPORAL_PINS = {
    "temporal": "temporalio/server:1.29.1",
    "temporal-schema": "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
    "temporal-setup": "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
}


def test_temporal_pins_are_the_newest_patch_both_images_have(
    services: dict[str, dict[str, Any]], example_env: dict[str, str]
) -> None:
    for name, image in OFFICIAL_TEMPORAL_PINS.items():
        assert services[name]["image"] == image, (
            f"{name}: {services[name]['image']} (see OFFICIAL_TEMPORAL_PINS)"
        )
    assert example_env["TEMPORAL_SERVER_IMAGE"] == OFFICIAL_TEMPORAL_PINS["temporal"]
    assert example_env["TEMPORAL_ADMIN_TOOLS_IMAGE"] == OFFICIAL_TEMPORAL_PINS["temporal-setup"]


def test_deployment_doc_names_the_pinned_versions(services: dict[str, dict[str, Any]]) -> None:
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    for name, svc in services.items():
        if name not in APP_SERVICES:
            assert f"`{svc['image']}`" in doc, f"docs/deployment.md: update {svc['image']}"


def test_long_running_services_have_health_checks(services: dict[str, dict[str, Any]]) -> None:
    for name in LONG_RUNNING | MONITORING:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert {"interval", "timeout", "retries"} <= set(check), name
        assert services[name]["restart"] == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no", f"{name} is a one-shot job"


def test_depends_on_waits_for_health_or_completion(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on without conditions"
        for dep, spec in deps.items():
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert spec == {"condition": expected}, f"{name} -> {dep}"
            if expected == "service_healthy":
                assert "healthcheck" in services[dep], dep


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    def deps(name: str) -> set[str]:
        return set(services[name].get("depends_on", {}))

    assert deps("temporal-schema") == {"postgresql"}
    assert deps("temporal") >= {"temporal-schema"}
    assert deps("temporal-setup") == {"temporal"}
    assert deps("temporal-ui") == {"temporal"}
    assert deps("setup") >= {"postgresql", "temporal-setup"}
    assert deps("worker") >= {"setup", "temporal"}
    assert deps("api") >= {"setup", "temporal"}


def test_data_lives_in_a_volume(services: dict[str, dict[str, Any]]) -> None:
    assert "postgres-data:/var/lib/postgresql/data" in services["postgresql"]["volumes"]


def test_files_the_app_reads_and_writes_are_mounted(
    raw: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    assert "evidence-data" in raw["volumes"]
    for name in APP_SERVICES:
        svc = services[name]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
        env = svc["environment"]
        # evidence: a named volume, so every api process and replica sees the same files
        assert mounts[env["COMPLAINTS_EVIDENCE_DIR"]] == "evidence-data"
        assert str(Path(env["COMPLAINTS_TOKENS_FILE"]).parent) in mounts
        assert f"{mounts['/etc/complaints']}:/etc/complaints:ro" in svc["volumes"]


def test_worker_scales_out(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert worker["command"] == ["python", "worker.py"]
    assert "container_name" not in worker and "ports" not in worker
    assert (ROOT / "worker.py").exists()


def test_api_runs_uvicorn_with_workers_from_settings(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    command = " ".join(api["command"])
    assert "uvicorn api.main:app" in command
    assert '--workers "$COMPLAINTS_API_WORKERS"' in command
    assert '--port "$COMPLAINTS_API_PORT"' in command
    assert (ROOT / "api" / "main.py").exists()
    assert "container_name" not in api
    # JSON log lines (logs.py), client addresses from the proxy
    assert "--log-config logging.json" in command and "--proxy-headers" in command
    assert (ROOT / "deploy" / "app" / "logging.json").exists()


def test_api_replicas_sit_behind_the_tls_proxy(services: dict[str, dict[str, Any]]) -> None:
    """`--scale api=N` collides on no host port: only the proxy publishes, and it spreads the
    requests over every replica (Docker's DNS), terminating TLS."""
    api, proxy = services["api"], services["proxy"]
    assert "ports" not in api and "container_name" not in proxy
    assert proxy["ports"] == ["443:443", "80:80"]
    assert proxy["depends_on"] == {"api": {"condition": "service_healthy"}}
    mounts = {v.split(":")[1]: v.split(":")[0] for v in proxy["volumes"]}
    caddyfile = (ROOT / mounts["/etc/caddy/Caddyfile"]).read_text(encoding="utf-8")
    assert re.search(r"dynamic a \{\s*name api\s*port (\d+)", caddyfile)[1] == (  # type: ignore[index]
        api["environment"]["COMPLAINTS_API_PORT"])
    assert "tls {$PROXY_TLS:internal}" in caddyfile and proxy["environment"]["PROXY_TLS"]
    assert "respond @internal 404" in caddyfile and "@internal path /metrics" in caddyfile
    # the api trusts X-Forwarded-For only because nothing but the proxy reaches it
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "*"


def test_every_service_has_log_rotation_and_limits(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        logging_ = svc["logging"]
        assert logging_["driver"] == "json-file", name
        assert re.fullmatch(r"\d+[kmg]", logging_["options"]["max-size"]), name
        assert int(logging_["options"]["max-file"]) >= 2, name
        assert re.fullmatch(r"\d+[kmg]", str(svc["mem_limit"])), f"{name}: no memory limit"
        assert 0 < float(svc["cpus"]) <= 8, f"{name}: no CPU limit"


def test_monitoring_scrapes_what_the_services_serve(services: dict[str, dict[str, Any]]) -> None:
    prom = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    api_port = int(services["api"]["environment"]["COMPLAINTS_API_PORT"])
    worker_port = int(services["worker"]["environment"]["COMPLAINTS_METRICS_ADDRESS"].rsplit(":")[1])
    temporal = services["temporal"]["environment"]["PROMETHEUS_ENDPOINT"]
    assert jobs["complaints-api"]["dns_sd_configs"] == [
        {"names": ["api"], "type": "A", "port": api_port, "refresh_interval": "15s"}]
    assert jobs["complaints-worker"]["dns_sd_configs"][0]["port"] == worker_port
    assert jobs["temporal"]["static_configs"] == [{"targets": [f"temporal:{temporal.split(':')[1]}"]}]
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    for service in ("prometheus", "grafana"):
        assert all(p.startswith("127.0.0.1:") for p in services[service]["ports"]), service


def test_setup_job_migrates_and_has_the_schedules_hook(raw: dict[str, Any]) -> None:
    script = raw["services"]["setup"]["command"][-1]
    assert "python -m db migrate" in script
    assert (ROOT / "db.py").exists()
    schedules = [line.strip() for line in script.splitlines() if "scripts.schedules" in line]
    assert len(schedules) == 1
    enabled = not schedules[0].startswith("#")
    assert enabled == (ROOT / "scripts" / "schedules.py").exists(), (
        "run `python -m scripts.schedules` in the setup job exactly when the script exists"
    )


def test_graceful_shutdown_fits_in_the_stop_grace_period(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]
    drain = float(worker["environment"]["COMPLAINTS_GRACEFUL_SHUTDOWN_SECONDS"])
    # worker.py drains the running activities, then the outbox sender, each for `drain`
    assert seconds(worker["stop_grace_period"]) > 2 * drain
    assert worker["init"] is True and services["api"]["init"] is True


def test_temporal_server_on_postgresql(services: dict[str, dict[str, Any]]) -> None:
    env = services["temporal"]["environment"]
    assert env["DB"] == "postgres12" and env["POSTGRES_SEEDS"] == "postgresql"
    assert "auto-setup" not in services["temporal"]["image"]
    dyn_dir = next(v.split(":")[0] for v in services["temporal"]["volumes"] if "dynamicconfig" in v)
    assert (ROOT / dyn_dir / Path(env["DYNAMIC_CONFIG_FILE_PATH"]).name).exists()
    assert yaml.safe_load((ROOT / dyn_dir / Path(env["DYNAMIC_CONFIG_FILE_PATH"]).name).read_text())
    assert services["temporal-ui"]["ports"] == ["127.0.0.1:8080:8080"]


def test_bind_mounts_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} missing"


def test_admin_jobs_run_the_setup_script(services: dict[str, dict[str, Any]]) -> None:
    for job, mode in (("temporal-schema", "schema"), ("temporal-setup", "namespace")):
        svc = services[job]
        assert svc["entrypoint"] == ["/bin/sh", "/deploy/setup.sh"]
        assert svc["command"] == [mode]
        assert "./deploy/admin:/deploy:ro" in svc["volumes"]


# ------------------------------------------------------------------ settings pass-through


def test_every_setting_reaches_the_app_containers(raw: dict[str, Any]) -> None:
    assert set(NOT_PASSED) <= set(Settings.model_fields), "stale entry in NOT_PASSED"
    for service in APP_SERVICES:
        env = raw["services"][service]["environment"]
        for field in Settings.model_fields:
            names = env_names(field) & set(env)
            if field in NOT_PASSED:
                assert not names, f"{service}: {field} is set but listed in NOT_PASSED"
            else:
                assert names, f"{service}: setting {field} ({env_names(field)}) not passed"
        assert EXTRA_APP_VARIABLES <= set(env), service


def test_every_variable_the_code_reads_is_known() -> None:
    known = set(EXTRA_APP_VARIABLES)
    for field in Settings.model_fields:
        known |= env_names(field)
    sources = [ROOT / "config.py", ROOT / "db.py", ROOT / "db_server.py", ROOT / "worker.py"]
    for folder in ("domain", "workflows", "activities", "api", "scripts"):
        sources += sorted((ROOT / folder).rglob("*.py"))
    for path in sources:
        for name in re.findall(r"\bCOMPLAINTS_[A-Z0-9_]+", path.read_text(encoding="utf-8")):
            assert name in known, f"{path.relative_to(ROOT)} reads {name}: pass it through"


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_app_environment_builds_valid_settings(
    services: dict[str, dict[str, Any]], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings_from(services[service]["environment"], monkeypatch)
    assert s.temporal_address == "temporal:7233"
    assert s.temporal_namespace == "complaints"
    assert s.database_url == "postgresql://complaints:change-me-app@postgresql:5432/complaints"
    assert s.tokens_file == Path("/etc/complaints/tokens.json")
    assert s.api_host == "0.0.0.0"
    assert s.db_pool_min <= s.db_pool_max


def test_compose_defaults_alone_build_valid_settings(
    raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only the required secrets in .env, every default in the file is well-typed."""
    secrets = {n for n, uses in compose_variables().items() if any(op == ":?" for op, _ in uses)}
    services = resolve(raw, {n: "secret" for n in secrets})["services"]
    for service in APP_SERVICES:
        s = settings_from(services[service]["environment"], monkeypatch)
        assert s.api_workers >= 1 and s.max_concurrent_activities >= 1


#: The Temporal server roles the `temporalio/server` image runs in one process (SERVICES unset);
#: each opens its own pools for the main and the visibility database.
TEMPORAL_ROLES = ("frontend", "history", "matching", "worker")


def connection_budget(services: dict[str, dict[str, Any]], workers: int) -> int:
    """PostgreSQL connections the stack may hold with one api replica and `workers` workers."""
    temporal = services["temporal"]["environment"]
    api = services["api"]["environment"]
    worker = services["worker"]["environment"]
    assert "SERVICES" not in temporal, "roles split: recount the pools per service"
    return (
        len(TEMPORAL_ROLES) * (int(temporal["SQL_MAX_CONNS"]) + int(temporal["SQL_VIS_MAX_CONNS"]))
        + int(api["COMPLAINTS_API_WORKERS"]) * int(api["COMPLAINTS_DB_POOL_MAX"])
        + workers * int(worker["COMPLAINTS_DB_POOL_MAX"])
        + int(services["setup"]["environment"]["COMPLAINTS_DB_POOL_MAX"])
    )


def test_database_connections_fit_postgresql(
    services: dict[str, dict[str, Any]], example_env: dict[str, str]
) -> None:
    """One replica of each at the example values, with room to scale the workers to 4; and the
    guide's formula and replica count are the ones computed here."""
    available = int(example_env["POSTGRES_MAX_CONNECTIONS"]) - 3  # superuser_reserved
    assert connection_budget(services, 4) <= available
    room = max(n for n in range(100) if connection_budget(services, n) <= available)
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "4 × (TEMPORAL_SQL_MAX_CONNS + TEMPORAL_SQL_VIS_MAX_CONNS)" in doc
    assert (
        f"leave room for {room} worker\nreplicas" in doc or f"leave room for {room} worker replicas" in doc
    ), f"docs/deployment.md: the defaults leave room for {room} worker replicas"


def test_connection_budget_counts_every_role_pool(services: dict[str, dict[str, Any]]) -> None:
    """The old formula counted the server's pools once: at 20 + 10 that is 30 where the server
    may open 120, which with max_connections=200 leaves room for 3 workers, not 7."""
    old = {
        **services,
        "temporal": {
            **services["temporal"],
            "environment": {
                **services["temporal"]["environment"],
                "SQL_MAX_CONNS": "20",
                "SQL_VIS_MAX_CONNS": "10",
            },
        },
    }
    assert connection_budget(old, 0) - connection_budget(services, 0) == 4 * 30 - 4 * 20
    assert max(n for n in range(100) if connection_budget(old, n) <= 197) == 3


# ------------------------------------------------------------------ .env.example


def test_env_example_documents_every_variable(example_env: dict[str, str]) -> None:
    used = compose_variables()
    assert set(used) == set(example_env), (
        f"only in compose: {sorted(set(used) - set(example_env))}; "
        f"only in .env.example: {sorted(set(example_env) - set(used))}"
    )
    for name, uses in used.items():
        for op, arg in uses:
            if op == ":-" and example_env[name]:
                assert example_env[name] == arg, f"{name}: .env.example and compose disagree"
            if op == ":?":
                assert example_env[name], f"{name} is required: give an example value"


def test_env_example_settings_are_settings(example_env: dict[str, str]) -> None:
    known = set(EXTRA_APP_VARIABLES)
    for field in Settings.model_fields:
        known |= env_names(field)
    for key in example_env:
        if key.startswith("COMPLAINTS_"):
            assert key in known, f"{key} in .env.example is not a setting of config.py"


def test_secrets_have_no_default() -> None:
    for name, uses in compose_variables().items():
        if "PASSWORD" in name:
            assert all(op == ":?" for op, _ in uses), f"{name} must be required, not defaulted"


def test_namespace_retention_outlives_the_archive_step(example_env: dict[str, str]) -> None:
    retention = example_env["TEMPORAL_NAMESPACE_RETENTION"]
    m = re.fullmatch(r"(\d+)d", retention)
    assert m and int(m[1]) >= 30, f"retention {retention!r}: keep closed cases 30 days or more"


# ------------------------------------------------------------------ deploy/ scripts


def test_setup_script_registers_the_design_search_attributes() -> None:
    from scripts.run_stack import SEARCH_ATTRIBUTES

    text = (ROOT / "deploy" / "admin" / "setup.sh").read_text(encoding="utf-8")
    block = text.split('SEARCH_ATTRIBUTES="', 1)[1].split('"', 1)[0]
    pairs = dict(line.split("=") for line in block.split())
    assert pairs == SEARCH_ATTRIBUTES
    assert "setup-schema -v 0.0" in text and "/temporal/versioned" in text
    assert "/visibility/versioned" in text
    assert "temporal operator namespace create" in text and "--retention" in text


@pytest.mark.parametrize(
    ("shell", "script"),
    [("sh", "deploy/admin/setup.sh"), ("bash", "deploy/postgres/initdb.d/10-databases.sh")],
)
def test_scripts_parse(shell: str, script: str) -> None:
    binary = shutil.which(shell)
    assert binary, f"{shell} missing"
    subprocess.run([binary, "-n", str(ROOT / script)], check=True)


def test_init_script_creates_the_databases_compose_names(
    services: dict[str, dict[str, Any]],
) -> None:
    text = (ROOT / "deploy/postgres/initdb.d/10-databases.sh").read_text(encoding="utf-8")
    env = services["postgresql"]["environment"]
    for var in (
        "TEMPORAL_DB_USER",
        "TEMPORAL_DB_PASSWORD",
        "TEMPORAL_DB",
        "TEMPORAL_VISIBILITY_DB",
        "APP_DB_USER",
        "APP_DB_PASSWORD",
        "APP_DB",
    ):
        assert f'"${var}"' in text and var in env, var
    assert "btree_gin" in text
    # executable, so the postgres entrypoint runs it instead of sourcing it into its own shell
    assert os.access(ROOT / "deploy/postgres/initdb.d/10-databases.sh", os.X_OK)


# ------------------------------------------------------------------ docker-compose config


def _docker_compose(*args: str, env_file: Path | str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: `make system-deps` installs it")
    clean_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [
            binary,
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            *args,
        ],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_config_accepts_the_file() -> None:
    result = _docker_compose("config", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == LONG_RUNNING | ONE_SHOT | MONITORING
    assert rendered["services"]["api"]["mem_limit"] and rendered["services"]["api"]["cpus"]
    assert rendered["services"]["api"]["logging"]["driver"] == "json-file"
    assert rendered["services"]["worker"]["depends_on"]["setup"] == {
        "condition": "service_completed_successfully"
    }


def test_docker_compose_config_requires_the_passwords(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _docker_compose("config", env_file=empty)
    assert result.returncode != 0
    assert "PASSWORD" in result.stderr
