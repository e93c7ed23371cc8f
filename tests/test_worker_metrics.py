"""The worker's Temporal SDK metrics (worker.sdk_runtime): a Prometheus endpoint at
COMPLAINTS_METRICS_ADDRESS that Prometheus scrapes (deploy/prometheus/prometheus.yml)."""

from __future__ import annotations

import socket

import httpx
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config import Settings
from worker import sdk_runtime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sdk_metrics_are_served_where_the_setting_says(env: WorkflowEnvironment) -> None:
    address = f"127.0.0.1:{free_port()}"
    runtime = sdk_runtime(Settings(metrics_address=address))
    client = await Client.connect(
        env.client.service_client.config.target_host, namespace=env.client.namespace, runtime=runtime
    )
    await client.workflow_service.get_system_info(GetSystemInfoRequest())
    async with httpx.AsyncClient() as http:
        r = await http.get(f"http://{address}/metrics")
    assert r.status_code == 200
    assert "temporal_request{" in r.text and 'operation="GetSystemInfo"' in r.text
