"""deploy/kubernetes, checked offline: every manifest against the Kubernetes API schemas
(kubernetes-validate, which bundles them; strict: an unknown field is an error), the settings,
probes, autoscaling and disruption budget against the application, and temporal-values.yaml
against the Helm chart's own values (tests/data/helm-temporal-values.yaml) and the versions
docker-compose.yml pins.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml  # type: ignore[import-untyped]

from config import ROOT, Settings
from tests.deploy.test_compose import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    EXTRA_APP_VARIABLES,
    NOT_PASSED,
    env_names,
    read_env_file,
    resolve,
    settings_from,
)

K8S = ROOT / "deploy" / "kubernetes"
CHART_VALUES = ROOT / "tests" / "data" / "helm-temporal-values.yaml"
#: The oldest Kubernetes minor the manifests are written for, and the newest schemas bundled.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


@functools.cache
def manifests() -> list[tuple[str, dict[str, Any]]]:
    """(file, document) of every resource `kubectl apply -k deploy/kubernetes` creates (read
    once: the tests only read them)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")):
            if doc:
                docs.append((name, doc))
    return docs


def one(kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for _, d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def container(kind: str, name: str) -> dict[str, Any]:
    [c] = one(kind, name)["spec"]["template"]["spec"]["containers"]
    return c


@functools.cache
def compose_services() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return resolve(raw, read_env_file(ENV_EXAMPLE))["services"]  # type: ignore[no-any-return]


def pod_environment(c: dict[str, Any]) -> dict[str, str]:
    """The environment a container gets: its ConfigMaps and Secrets (envFrom), then `env`."""
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            env.update(one("ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(one("Secret", source["secretRef"]["name"])["stringData"])
    for var in c.get("env", []):
        env[var["name"]] = var.get("value", "")
    return env


# ------------------------------------------------------------------ schemas


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "temporal-values.yaml"}
    assert listed == present


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    docs = manifests()
    kinds = {d["kind"] for _, d in docs}
    assert {
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "Secret",
        "Service",
        "Job",
        "PersistentVolumeClaim",
    } <= kinds
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:  # pragma: no cover - the failure path
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {e.message}")


def test_the_validator_refuses_what_kubernetes_would() -> None:
    """The check above can fail: a misspelt field and a wrong type are errors (offline)."""
    worker = one("Deployment", "complaints-worker")
    bad = yaml.safe_load(yaml.safe_dump(worker))
    bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSIONS[0], strict=True)
    bad = yaml.safe_load(yaml.safe_dump(worker))
    bad["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSIONS[0], strict=True)


# ------------------------------------------------------------------ the application


@pytest.mark.parametrize(
    ("kind", "name"),
    [("Deployment", "complaints-worker"), ("Deployment", "complaints-api"), ("Job", "complaints-migrate")],
)
def test_every_setting_reaches_the_pods(kind: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = pod_environment(container(kind, name))
    for field in Settings.model_fields:
        names = env_names(field) & set(env)
        if field in NOT_PASSED:
            assert not names, f"{name}: {field} is set but listed in NOT_PASSED"
        elif field == "migrate_database_url":
            assert bool(names) == (name == "complaints-migrate"), "only the job has the owner URL"
        else:
            assert names, f"deploy/kubernetes: setting {field} ({env_names(field)}) not passed"
    assert EXTRA_APP_VARIABLES <= set(env)
    settings = settings_from(env, monkeypatch)  # well-typed
    assert settings.temporal_address.startswith("temporal-frontend.")
    assert settings.evidence_dir == Path("/var/lib/complaints/evidence")


def test_nothing_in_the_config_maps_is_not_a_setting() -> None:
    known = set(EXTRA_APP_VARIABLES)
    for field in Settings.model_fields:
        known |= env_names(field)
    for doc in (
        one("ConfigMap", "complaints-settings")["data"],
        one("Secret", "complaints-secrets")["stringData"],
        one("Secret", "complaints-migrate-secrets")["stringData"],
    ):
        assert set(doc) <= known, set(doc) - known


def test_probes_ask_the_application() -> None:
    api = container("Deployment", "complaints-api")
    port = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert port["http"] == int(pod_environment(api)["COMPLAINTS_API_PORT"])
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    worker = container("Deployment", "complaints-worker")
    metrics_port = int(pod_environment(worker)["COMPLAINTS_METRICS_ADDRESS"].rsplit(":", 1)[1])
    assert {p["name"]: p["containerPort"] for p in worker["ports"]} == {"metrics": metrics_port}
    assert worker["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert worker["livenessProbe"]["exec"]["command"] == ["python", "healthcheck.py", "worker"]
    assert (ROOT / "deploy" / "app" / "healthcheck.py").exists()


def test_the_api_runs_as_in_compose() -> None:
    api = container("Deployment", "complaints-api")
    compose = compose_services()["api"]
    assert api["command"] == compose["command"]  # `$$` in compose is `$` here
    env = pod_environment(api)
    for key in ("PROMETHEUS_MULTIPROC_DIR", "FORWARDED_ALLOW_IPS"):
        assert env[key] == compose["environment"][key]
    mounts = {m["mountPath"] for m in api["volumeMounts"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"] in mounts  # an emptyDir, writable
    migrate = container("Job", "complaints-migrate")
    assert "python -m db migrate" in migrate["command"][-1]
    assert "python -m scripts.schedules" in migrate["command"][-1]


def test_worker_scales_and_survives_drains() -> None:
    worker = one("Deployment", "complaints-worker")
    hpa = one("HorizontalPodAutoscaler", "complaints-worker")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "complaints-worker",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    for name in ("complaints-worker", "complaints-api"):
        pdb = one("PodDisruptionBudget", name)
        deployment = one("Deployment", name)
        assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    assert (
        one("PodDisruptionBudget", "complaints-worker")["spec"]["minAvailable"] < (hpa["spec"]["minReplicas"])
    )
    drain = float(
        pod_environment(container("Deployment", "complaints-worker"))["COMPLAINTS_GRACEFUL_SHUTDOWN_SECONDS"]
    )
    # worker.py drains the running activities, then the outbox sender, each for `drain`
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 2 * drain


def test_pods_run_as_the_image_user_with_limits() -> None:
    for kind, name in (
        ("Deployment", "complaints-worker"),
        ("Deployment", "complaints-api"),
        ("Job", "complaints-migrate"),
    ):
        pod = one(kind, name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's user
        [c] = pod["containers"]
        assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["cpu"]
        assert c["securityContext"]["allowPrivilegeEscalation"] is False


# ------------------------------------------------------------------ beside Temporal's chart


def test_images_are_the_ones_compose_pins() -> None:
    services = compose_services()
    app_image = services["api"]["image"]
    for kind, name in (
        ("Deployment", "complaints-worker"),
        ("Deployment", "complaints-api"),
        ("Job", "complaints-migrate"),
    ):
        assert container(kind, name)["image"] == app_image, name
    admin_tools = services["temporal-setup"]["image"]
    assert container("Job", "temporal-namespace")["image"] == admin_tools
    values = yaml.safe_load((K8S / "temporal-values.yaml").read_text())
    server_tag = services["temporal"]["image"].rpartition(":")[2]
    assert values["server"]["image"]["tag"] == server_tag
    assert f"{values['admintools']['image']['repository']}:{values['admintools']['image']['tag']}" == (
        admin_tools
    )
    assert values["web"]["image"]["tag"] == services["temporal-ui"]["image"].rpartition(":")[2]
    # the chart's shims for 1.29 server images
    assert values["shims"]["dockerize"] is server_tag.startswith("1.29.")


def _unknown_keys(ours: Any, chart: Any, path: str = "") -> list[str]:
    """Keys of `ours` the chart does not know. Where the chart's default is empty or absent
    (free-form: datastores, resources, budgets, dynamic config), anything goes."""
    if not isinstance(ours, dict) or not isinstance(chart, dict) or not chart:
        return []
    unknown = []
    for key, value in ours.items():
        if key not in chart:
            unknown.append(f"{path}.{key}")
        else:
            unknown += _unknown_keys(value, chart[key], f"{path}.{key}")
    return unknown


def test_temporal_values_fit_the_chart() -> None:
    values = yaml.safe_load((K8S / "temporal-values.yaml").read_text())
    chart = yaml.safe_load(CHART_VALUES.read_text())
    # the templates read server.dynamicConfig although values.yaml has no default for it
    chart["server"]["dynamicConfig"] = {}
    # and a per-service replicaCount over server.replicaCount (templates/server-pdb.yaml)
    for service in ("frontend", "history", "matching", "worker"):
        chart["server"][service].setdefault("replicaCount", chart["server"]["replicaCount"])
    assert _unknown_keys(values, chart) == []
    persistence = values["server"]["config"]["persistence"]
    assert set(persistence["datastores"]) == {persistence["defaultStore"], persistence["visibilityStore"]}
    for store in persistence["datastores"].values():
        sql = store["sql"]
        assert sql["pluginName"] == "postgres12" and sql["existingSecret"] and "password" not in sql
    dynamic = yaml.safe_load((ROOT / "deploy/temporal/dynamicconfig/production.yaml").read_text())
    assert values["server"]["dynamicConfig"] == dynamic
    # the namespace and the search attributes are the job's (the chart registers none)
    assert values["server"]["config"]["namespaces"]["create"] is False


def test_namespace_job_runs_the_compose_setup_script() -> None:
    script = one("ConfigMap", "temporal-admin-script")["data"]["setup.sh"]
    assert script == (ROOT / "deploy/admin/setup.sh").read_text(encoding="utf-8"), (
        "copy deploy/admin/setup.sh into deploy/kubernetes/jobs.yaml (temporal-admin-script)"
    )
    job = container("Job", "temporal-namespace")
    assert job["command"] == ["/bin/sh", "/deploy/setup.sh", "namespace"]
    env = {e["name"]: e for e in job["env"]}
    assert re.fullmatch(r"\d+d", env["TEMPORAL_NAMESPACE_RETENTION"]["value"])
    assert int(env["TEMPORAL_NAMESPACE_RETENTION"]["value"][:-1]) >= 30


def test_sizing_section_names_the_shards_and_visibility_limits() -> None:
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    values = yaml.safe_load((K8S / "temporal-values.yaml").read_text())
    shards = values["server"]["config"]["persistence"]["numHistoryShards"]
    assert "## Sizing a province-wide installation" in doc
    assert f"numHistoryShards: {shards}" in doc
    assert "10 Keyword" in doc and "3 Datetime" in doc and "3 Bool" in doc
