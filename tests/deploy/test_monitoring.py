"""The monitoring profile's files, checked without Docker: Prometheus' configuration and alert
rules with `promtool` (Debian's `prometheus` package, installed by `make system-deps`), the alert
rules' own unit tests (deploy/prometheus/alerts_test.yml), and the Grafana dashboard: valid
PromQL over metrics the system exports.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from api import metrics, metrics_figures
from config import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

#: Metrics of the Temporal SDK (worker endpoint; the API's client through api/metrics.py) that
#: the dashboards and alerts read.
SDK_METRICS = {
    "temporal_workflow_task_schedule_to_start_latency_bucket",
    "temporal_activity_schedule_to_start_latency_bucket",
    "temporal_request_failure",
    "temporal_request_failure_total",
}


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: `make system-deps` installs Debian's prometheus")
    done = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def exported() -> set[str]:
    """Every sample name /metrics can have: api/metrics.py's own and the SDK's."""
    names = set(SDK_METRICS)
    for metric in (
        metrics.HTTP_REQUESTS,
        metrics.HTTP_LATENCY,
        metrics.INTAKES,
        metrics.INTAKE_LATENCY,
        metrics.ACTIONS,
        metrics.ACTION_LATENCY,
        metrics.VERIFICATIONS,
    ):
        for family in metric.describe():
            base = family.name
            names |= {base, f"{base}_total", f"{base}_bucket", f"{base}_count", f"{base}_sum"}
    for family in metrics_figures.FiguresCollector(metrics_figures.Figures(up=True, open_by_status={"x": 1})).collect():
        names.add(family.name)
    return names


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard panel target and every alert rule."""
    found: list[tuple[str, str]] = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            found += [(f"{path.name}: {panel['title']}", t["expr"]) for t in panel["targets"]]
    for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]:
        found += [(f"alerts.yml: {r['alert']}", r["expr"]) for r in group["rules"]]
    return found


def test_prometheus_config_and_rules_are_valid() -> None:
    out = promtool("check", "config", "prometheus.yml")
    assert "SUCCESS" in out and "10 rules found" in out


def test_alert_rules_fire_when_they_should() -> None:
    """deploy/prometheus/alerts_test.yml: overdue growth, outbox age, intake backlog, task backlog
    and archive verification failures, each fires on its series and not before."""
    tested = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    alerts = {t["alertname"] for case in tested for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert {
        "ComplaintsOverdueGrowing",
        "ComplaintsOutboxStuck",
        "ComplaintsIntakeNotStarted",
        "ComplaintsWorkflowTaskBacklog",
        "ComplaintsArchiveVerificationFailed",
    } <= alerts
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


def test_dashboard_and_alerts_read_exported_metrics(tmp_path: Path) -> None:
    """Every expression is valid PromQL (promtool checks them as recording rules) and reads only
    metrics the system exports: a renamed metric fails here, not on an empty panel."""
    known = exported() | {"up"}
    rules = []
    for i, (where, expr) in enumerate(expressions()):
        for name in re.findall(r"\b((?:complaints|temporal)_[a-z_]+)\b", expr):
            assert name in known, f"{where}: {name} is not exported"
        rules.append({"record": f"check:expr_{i}", "expr": expr})
    (tmp_path / "exprs.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
    promtool("check", "rules", "exprs.yml", cwd=tmp_path)


def test_grafana_is_provisioned_with_the_dashboard() -> None:
    source = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    [ds] = source["datasources"]
    assert ds["url"] == "http://prometheus:9090" and ds["type"] == "prometheus"
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/complaints.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    assert DASHBOARDS
    for path in DASHBOARDS:
        dash: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        assert dash["uid"] and dash["panels"]
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in dash["panels"]:
            assert panel["datasource"]["uid"] == ds["uid"], panel["title"]
