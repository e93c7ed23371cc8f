"""PostgreSQL goes away for a while (its own server, stopped with `pg_ctl stop -m fast`)."""

from __future__ import annotations

import time
import uuid
from collections import Counter

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import db
from activities import build_activities
from bench.stack import Postgres
from tests.faults.conftest import (
    RPC_TIMEOUT,
    SLACK,
    api,
    auth,
    eventually,
    fault_settings,
    intake_body,
)
from workflows.complaint import ComplaintWorkflow

SELECT_VERSION = "SELECT version FROM complaints WHERE number = $1"
SELECT_STATUS = "SELECT status FROM complaints WHERE number = $1"
SELECT_KINDS = "SELECT array_agg(kind) FROM notifications WHERE number = $1"
SELECT_EVENTS = "SELECT action FROM case_events WHERE number = $1 ORDER BY seq"


async def retried_activity(handle: WorkflowHandle) -> str:  # type: ignore[type-arg]
    """'<activity> attempt <n>: <last failure>' of a pending activity retried at least once."""
    for a in (await handle.describe()).raw_description.pending_activities:
        if a.attempt >= 2:
            return f"{a.activity_type.name} attempt {a.attempt}: {a.last_failure.message}"
    return ""


async def test_postgres_down_intake_503_activities_retry_read_model_catches_up(
    dev_env: WorkflowEnvironment, own_pg: Postgres, task_queue: str
) -> None:
    settings = fault_settings(own_pg.url, task_queue)
    api_pool = await db.open_pool(own_pg.url, max_size=4)
    worker_pool = await db.open_pool(own_pg.url, max_size=4)
    client = dev_env.client
    try:
        async with (
            Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow],
                   activities=build_activities(worker_pool, client)),
            api(settings, api_pool, client) as http,
        ):
            r = await http.post("/v1/complaints", headers=auth("intake"), json=intake_body())
            assert r.status_code == 201, r.text
            number = r.json()["number"]
            await eventually(
                lambda: api_pool.fetchval(SELECT_VERSION, number),
                lambda v: bool(v), timeout=10, what="the first projection",
            )

            own_pg.stop()

            # Intake answers 503 with Retry-After, within its deadline.
            key = {"Idempotency-Key": f"down-{uuid.uuid4()}"}
            body = intake_body()
            t0 = time.monotonic()
            r = await http.post("/v1/complaints", headers={**auth("intake"), **key}, json=body)
            assert time.monotonic() - t0 < RPC_TIMEOUT + SLACK
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "database_unavailable"
            assert int(r.headers["Retry-After"]) > 0

            # An action needs only Temporal: it is applied; its outbox and read-model writes
            # wait, retried with backoff.
            r = await http.post(f"/v1/complaints/{number}/actions/accept",
                                headers=auth("handler"), json={"route": "self"})
            assert r.status_code == 200 and r.json()["status"] == "investigating", r.text
            handle = client.get_workflow_handle(number)
            retried = await eventually(lambda: retried_activity(handle), bool, timeout=15,
                                       what="an activity retried while PostgreSQL is down")
            # The outbox and the read model are written side by side: either may be first.
            assert retried.split()[0] in ("notify", "project_case"), retried

            own_pg.restart()

            # The read model catches up by itself.
            await eventually(
                lambda: api_pool.fetchval(SELECT_STATUS, number),
                lambda s: s == "investigating", timeout=30, what="the read model caught up",
            )
            # Intake works again at once (the pool drops the connections the stop cut); the
            # client's retry with the same key registers the complaint, once.
            r = await http.post("/v1/complaints", headers={**auth("intake"), **key}, json=body)
            assert r.status_code == 201, r.text
            again = await http.post("/v1/complaints", headers={**auth("intake"), **key},
                                    json=body)
            assert again.status_code == 201 and again.json()["number"] == r.json()["number"]

        # Nothing half-written: two complaints, two workflows, each notification once.
        assert await api_pool.fetchval("SELECT count(*) FROM complaints") == 2
        assert await api_pool.fetchval("SELECT count(*) FROM complainants") == 2
        assert await api_pool.fetchval("SELECT count(*) FROM intake_keys") == 1
        started = await client.count_workflows(f'TaskQueue = "{task_queue}"')
        assert started.count == 2
        kinds = Counter(await api_pool.fetchval(SELECT_KINDS, number))
        assert kinds == {"acknowledgement": 1, "accepted": 1}, kinds
        events = await api_pool.fetch(SELECT_EVENTS, number)
        assert [e["action"] for e in events] == ["register", "accept"]
    finally:
        await api_pool.close()
        await worker_pool.close()
