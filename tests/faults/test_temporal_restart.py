"""The Temporal dev server is stopped and started again on its SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from activities import build_activities
from bench.stack import DevServer
from domain.models import Action, CaseState, Route
from tests.faults.conftest import eventually
from tests.workflows.helpers import HANDLER, act, start_case
from workflows.complaint import ComplaintWorkflow

#: The `bench` policy's acceptance limit falls this long after the restart begins.
LEAD = timedelta(seconds=4)


async def query_state(client: Client, number: str) -> CaseState:
    state: CaseState = await client.get_workflow_handle(number).query(
        "state", result_type=CaseState)
    return state


def open_due(s: CaseState) -> dict[str, datetime]:
    return {d.kind.value: d.due_at for d in s.open_deadlines()}


@contextlib.asynccontextmanager
async def worker(client: Client, task_queue: str) -> AsyncIterator[None]:
    """The real workflow with log-only activities (no PostgreSQL: this test is about Temporal)."""
    async with Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow],
                      activities=build_activities(None, client)):
        yield


async def test_cases_and_deadlines_survive_a_server_restart(tmp_path: Path) -> None:
    server = DevServer(tmp_path / "t.db", tmp_path / "temporal.log")
    tq = f"faults-restart-{uuid.uuid4().hex[:8]}"
    try:
        server.start()
        client = await server.client()
        async with worker(client, tq):
            # Cases on the default policy (deadlines in working days), one of them accepted ...
            handles = [await start_case(client, tq, received_at=datetime.now(UTC))
                       for _ in range(3)]
            await act(handles[0], Action.ACCEPT, HANDLER, route=Route.REFERRAL)
            # ... and cases on the `bench` policy whose acceptance deadline falls while the
            # server is down.
            soon = datetime.now(UTC) - timedelta(minutes=2) + LEAD
            handles += await asyncio.gather(*(
                start_case(client, tq, received_at=soon, policy="bench") for _ in range(3)))
            states = await asyncio.gather(*(query_state(client, h.id) for h in handles))
            before = {s.number: s for s in states}

        server.stop()
        # `make run`'s SQLite settings (scripts/run_stack.SQLITE_PRAGMAS): the file keeps its
        # write-ahead log mode, and every commit of before the stop is in it.
        with contextlib.closing(sqlite3.connect(tmp_path / "t.db")) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert datetime.now(UTC) < soon + timedelta(minutes=2), "restart began too late"
        server.start()  # same SQLite file, same port
        client = await server.client()

        async with worker(client, tq):
            for h in handles:
                h = client.get_workflow_handle(h.id)
                desc = await h.describe()
                assert desc.status == WorkflowExecutionStatus.RUNNING
                s = await h.query("state", result_type=CaseState)
                old = before[h.id]
                # A deadline that fell while the server was down may have fired already (the
                # escalation opens a supervision clock): the clocks of before are all there.
                assert s.status == old.status
                assert open_due(old).items() <= open_due(s).items(), (open_due(old), open_due(s))
                was = [a.action for a in old.actions]
                assert [a.action for a in s.actions][:len(was)] == was
            # The timers armed before the stop fire after it, once each.
            for h in handles[3:]:
                s = await eventually(partial(query_state, client, h.id),
                                     lambda s: s.overdue, timeout=20,
                                     what=f"{h.id} marked overdue after the restart")
                assert [a.action for a in s.actions].count("overdue") == 1
                assert s.supervised
            # And the cases take actions again.
            s = await act(client.get_workflow_handle(handles[1].id), Action.ACCEPT, HANDLER,
                          route=Route.SELF)
            assert s.status.value == "investigating"
    finally:
        server.stop()
