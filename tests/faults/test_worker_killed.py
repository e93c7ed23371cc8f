"""The worker dies (SIGKILL) in the middle of a case, or is not running at all."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from bench.stack import Child
from domain.models import DeadlineKind
from tests.faults.conftest import (
    RPC_TIMEOUT,
    SLACK,
    BriefState,
    api,
    auth,
    complaint_input,
    ended,
    eventually,
    fault_settings,
    temporal_address,
    worker_child,
)
from tests.stack import register

#: How far ahead of registration the acceptance deadline falls (the `bench` policy gives 2
#: minutes from registration, so the case is started dated back by 2 minutes minus this).
LEAD = timedelta(seconds=8)


SELECT_ROW = "SELECT status, overdue, supervised, version FROM complaints WHERE number = $1"
SELECT_NOTIFICATIONS = """
SELECT key, kind, recipient, data, status, attempts FROM notifications
WHERE number = $1 ORDER BY id
"""


async def row(pool: asyncpg.Pool, number: str) -> asyncpg.Record | None:
    """The case's read-model row."""
    return await pool.fetchrow(SELECT_ROW, number)


async def notifications(pool: asyncpg.Pool, number: str) -> list[asyncpg.Record]:
    """The case's outbox."""
    return await pool.fetch(SELECT_NOTIFICATIONS, number)


def delivered_keys(*logs: Path) -> Counter[str]:
    """How often the outbox sender delivered each notification key (log channel lines)."""
    seen: Counter[str] = Counter()
    for log in logs:
        if log.exists():
            seen.update(re.findall(r"deliver (\S+) to ", log.read_text(errors="replace")))
    return seen


#: `async with worker_and_api() as (worker, http, pool)`.
Start = Callable[[], AbstractAsyncContextManager[tuple[Child, httpx.AsyncClient, asyncpg.Pool]]]


@pytest.fixture
def worker_and_api(
    dev_env: WorkflowEnvironment, faults_db: tuple[str, asyncpg.Pool], task_queue: str,
    tmp_path: Path,
) -> Start:
    """Starts a worker process (ended by its pid when the block exits) and the API in this
    process, on this module's database."""

    @contextlib.asynccontextmanager
    async def start() -> AsyncIterator[tuple[Child, httpx.AsyncClient, asyncpg.Pool]]:
        url, pool = faults_db
        worker = worker_child(tmp_path, address=temporal_address(dev_env), url=url,
                              task_queue=task_queue)
        with ended(worker):
            worker.start()
            async with api(fault_settings(url, task_queue), pool, dev_env.client) as http:
                yield worker, http, pool

    return start


async def test_worker_killed_mid_case_resumes_and_fires_each_deadline_once(
    dev_env: WorkflowEnvironment, worker_and_api: Start, task_queue: str
) -> None:
    async with worker_and_api() as (worker, http, pool):
        # The acceptance clock counts from registration: a case due within seconds
        # is started directly, registered 2 minutes minus LEAD ago (as the reconciler
        # starts a row registered earlier), for a complainant registered through the API.
        case = await register(http)
        ref = await pool.fetchval("SELECT complainant_ref FROM complaints WHERE number = $1",
                                  case["number"])
        inp = complaint_input(f"TS-KILL-{uuid.uuid4().hex[:10]}",
                              due_in=LEAD.total_seconds(), complainant_ref=ref)
        await dev_env.client.start_workflow("ComplaintWorkflow", inp, id=inp.number,
                                            task_queue=task_queue)
        number = inp.number
        s = await eventually(
            lambda: dev_env.client.get_workflow_handle(number).query(
                "state", result_type=BriefState),
            lambda s: s.open_deadline(DeadlineKind.ACCEPTANCE) is not None, timeout=10,
            what="registered")
        acceptance = s.open_deadline(DeadlineKind.ACCEPTANCE)
        assert acceptance is not None
        due = acceptance.due_at
        assert abs((due - (inp.received_at + timedelta(minutes=2))).total_seconds()) < 1
        # The case is under way: acknowledged (outbox) and projected (read model).
        await eventually(lambda: notifications(pool, number), lambda ns: len(ns) >= 1,
                         timeout=10, what="the acknowledgement in the outbox")
        await eventually(lambda: row(pool, number), lambda x: x is not None and x["version"] > 0,
                         timeout=10, what="the projection")
        assert datetime.now(UTC) < due, "registration took longer than LEAD"

        worker.kill()  # SIGKILL: no drain, no clean-up, whatever was in flight is cut

        # While no worker runs, a leader escalates: Temporal keeps the signal.
        r = await http.post(f"/v1/complaints/{number}/signals/escalate",
                            headers=auth("leader"), json={"reason": "媒体曝光", "source": "media"})
        assert r.status_code == 202, r.text
        # ... and the acceptance deadline passes with nobody to fire it.
        await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0) + 0.3)
        before = await row(pool, number)
        assert before is not None and not before["overdue"]

        worker.start()
        after = await eventually(
            lambda: row(pool, number), lambda x: x is not None and x["overdue"],
            timeout=30, what="the missed deadline fired after the restart",
        )
        assert after is not None and after["supervised"]
        assert after["status"] == "registered"

        # The case goes on where it was.
        r = await http.post(f"/v1/complaints/{number}/actions/accept",
                            headers=auth("handler"), json={"route": "self"})
        assert r.status_code == 200, r.text
        state = r.json()
        assert state["status"] == "investigating"
        counted = Counter(a["action"] for a in state["actions"])
        assert counted == {"register": 1, "escalate": 1, "overdue": 1, "accept": 1}, counted
        overdue = [d for d in state["deadlines"] if d["overdue"]]
        assert [d["kind"] for d in overdue] == ["acceptance"]

        await eventually(lambda: notifications(pool, number),
                         lambda ns: any(n["kind"] == "accepted" for n in ns),
                         timeout=15, what="the outbox after the accept")
        worker.stop()
    notes = await notifications(pool, number)
    kinds = Counter((n["kind"], n["recipient"]) for n in notes)
    assert kinds == {
        ("acknowledgement", "complainant"): 1,
        ("escalated", "supervisor"): 2,  # the leader's escalation and the overdue one
        ("overdue", "handler"): 1,
        ("overdue", "supervisor"): 1,
        ("accepted", "complainant"): 1,
    }, kinds
    assert all(n["attempts"] <= 1 for n in notes)
    sent = delivered_keys(worker.log)
    assert sent, "no 'deliver <key> to' line in the worker's log: did the sender's log change?"
    assert max(sent.values()) == 1, sent  # no notification went out twice


async def test_action_without_worker_answers_in_time_and_changes_nothing(
    dev_env: WorkflowEnvironment, worker_and_api: Start
) -> None:
    async with worker_and_api() as (worker, http, pool):
        case = await register(http)
        assert case["deadlines"], case
        number = case["number"]
        await eventually(lambda: row(pool, number), lambda x: x is not None and x["version"] > 0,
                         timeout=10, what="the projection")
        worker.stop()  # no worker from here on
        was = await row(pool, number)
        assert was is not None
        version = was["version"]

        key = {"Idempotency-Key": f"accept-{number}"}
        t0 = time.monotonic()
        r = await http.post(f"/v1/complaints/{number}/actions/accept",
                            headers={**auth("handler"), **key}, json={"route": "self"})
        took = time.monotonic() - t0
        assert took < RPC_TIMEOUT + SLACK, took
        assert r.status_code in (503, 504), r.text
        err = r.json()["error"]
        assert err["code"] in ("temporal_timeout", "temporal_unavailable")
        assert "worker" in err["message"] and int(r.headers["Retry-After"]) > 0

        # Nothing changed: no Update accepted in the history, the read model as it was.
        history = await dev_env.client.get_workflow_handle(number).fetch_history()
        assert not [e for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
        now = await row(pool, number)
        assert now is not None and now["status"] == "registered" and now["version"] == version

        # With a worker back, the retry with the same key is the same Update: applied once.
        worker.start()

        async def accept() -> httpx.Response:
            return await http.post(f"/v1/complaints/{number}/actions/accept",
                                   headers={**auth("handler"), **key},
                                   json={"route": "self"})

        # While the new worker starts, the API keeps asking to retry (503).
        r = await eventually(accept, lambda r: r.status_code != 503, timeout=30,
                             what="the action once a worker is back")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "investigating"
        history = await dev_env.client.get_workflow_handle(number).fetch_history()
        accepted = [e for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
        assert len(accepted) == 1
