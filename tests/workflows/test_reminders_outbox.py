"""R-30 at the outbox: for the handling deadline of a referred case, exactly one reminder and
one overdue warning row each, to the handling unit and to the supervisor, in PostgreSQL's
`notifications`, written by the real activities (time-skipping server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from domain.models import Action, DeadlineKind
from tests.conftest import start_time_skipping
from tests.workflows.helpers import HANDLER, LEADER, act, start_case, state
from workflows.complaint import ComplaintWorkflow

HANDLING_ROWS = """
SELECT kind, recipient, unit, data->>'due_at' AS due_at FROM notifications
WHERE number = $1 AND data->>'deadline' = 'handling' ORDER BY id
"""


@pytest_asyncio.fixture(loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this test's own: nobody else's timers move with its clock."""
    e = await start_time_skipping()
    yield e
    await e.shutdown()


async def rows_when(pool: asyncpg.Pool, number: str, count: int) -> list[tuple[str, ...]]:
    """The handling-deadline rows, once there are `count` of them (the outbox runs after the
    timer fired), and after a little longer, so that any extra row would be seen too."""
    for _ in range(250):
        rows = await pool.fetch(HANDLING_ROWS, number)
        if len(rows) >= count:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    return [(r["kind"], r["recipient"], r["unit"], r["due_at"])
            for r in await pool.fetch(HANDLING_ROWS, number)]


async def test_referred_handling_deadline_reminder_and_overdue_rows_exactly_once(
    env: WorkflowEnvironment, pg_pool: asyncpg.Pool, task_queue: str
) -> None:
    client = env.client
    async with Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow],
                      activities=build_activities(pg_pool, client)):
        h = await start_case(client, task_queue, received_at=await env.get_current_time())
        await act(h, Action.ACCEPT, HANDLER, route="referral")
        await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="转办")
        s = await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
        handling = s.open_deadline(DeadlineKind.HANDLING)
        assert handling is not None and handling.remind_at is not None
        due = handling.due_at.isoformat()
        assert await rows_when(pg_pool, h.id, 0) == []

        # The end of the working day before the due day: the reminder (催办), once.
        await env.sleep(handling.remind_at - await env.get_current_time() + timedelta(minutes=1))
        reminders = [("reminder", "unit", "tax-bureau", due), ("reminder", "supervisor", None, due)]
        assert await rows_when(pg_pool, h.id, 2) == reminders

        # The due instant passes: the overdue warning, once, to the same two.
        await env.sleep(handling.due_at - await env.get_current_time() + timedelta(minutes=1))
        warned = reminders + [("overdue", "unit", "tax-bureau", due),
                              ("overdue", "supervisor", None, due)]
        assert await rows_when(pg_pool, h.id, 4) == warned
        assert (await state(h)).overdue

        # Days later (the workflow wakes for other clocks meanwhile): still once each.
        await env.sleep(timedelta(days=3))
        assert await rows_when(pg_pool, h.id, 0) == warned
        keys = await pg_pool.fetch("SELECT key FROM notifications WHERE number = $1", h.id)
        assert len({k["key"] for k in keys}) == len(keys)
