"""PostgreSQL is down when a deadline falls due (issue 11, "Blind"; R-30).

The clocks must never wait for side effects: the workflow marks the case overdue and escalates
it at the instant, whatever the outbox and the read model are doing; their notifications and the
projection follow, exactly once, when PostgreSQL is back.

The case's outbox and read-model writes are already stuck when the deadline falls: a leader's
escalation arrives after PostgreSQL went away, so the case has something to deliver that cannot
be delivered (before issue 11 the clock loop then waited for those activities, and the deadline
never fired while PostgreSQL was down). The `bench` policy (limits in minutes) gives no
reminders (reminders exist for limits in days only), so this test checks the overdue mark, the
warnings and the escalation.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import db
from activities import build_activities
from bench.stack import Postgres
from domain.models import CaseState, DeadlineKind, EscalateInput, EscalationSource
from tests.actors import LEADER
from tests.faults.conftest import BriefState, complaint_input, eventually
from workflows.complaint import SA_OVERDUE, SA_SUPERVISED, ComplaintWorkflow

#: The acceptance deadline falls this long after the start.
DUE_IN = 8.0
#: How late after the due instant the workflow may mark the case (a workflow task's latency).
AT_THE_INSTANT = timedelta(seconds=3)


async def state(client: Client, number: str) -> CaseState:
    s: CaseState = await client.get_workflow_handle(number).query("state", result_type=BriefState)
    return s


async def search_attributes(client: Client, number: str) -> tuple[bool | None, bool | None]:
    desc = await client.get_workflow_handle(number).describe()
    sa = desc.typed_search_attributes
    return sa.get(SA_OVERDUE), sa.get(SA_SUPERVISED)


async def test_deadline_passes_while_postgres_is_down_case_marked_at_the_instant(
    dev_env: WorkflowEnvironment, own_pg: Postgres, task_queue: str
) -> None:
    client = dev_env.client
    pool = await db.open_pool(own_pg.url, max_size=4)
    worker_pool = await db.open_pool(own_pg.url, max_size=4)
    inp = complaint_input(due_in=DUE_IN)
    number = inp.number
    try:
        async with Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow],
                          activities=build_activities(worker_pool, client)):
            handle = await client.start_workflow("ComplaintWorkflow", inp, id=number,
                                                 task_queue=task_queue)
            await eventually(lambda: pool.fetchval(
                "SELECT version FROM complaints WHERE number = $1", number), bool,
                timeout=10, what="the first projection")
            s = await state(client, number)
            acceptance = s.open_deadline(DeadlineKind.ACCEPTANCE)
            assert acceptance is not None
            due = acceptance.due_at
            assert datetime.now(UTC) < due - timedelta(seconds=2), "registration took too long"

            own_pg.stop()
            # Something to deliver that cannot be delivered: the outbox and read-model
            # activities of this escalation retry while PostgreSQL is down.
            await handle.signal("escalate", EscalateInput(
                reason="媒体曝光", source=EscalationSource.MEDIA, actor=LEADER))
            await eventually(lambda: state(client, number),
                             lambda s: any(e.source == EscalationSource.MEDIA
                                           for e in s.escalations),
                             timeout=5, what="the leader's escalation applied")

            # The deadline passes with PostgreSQL still down: the workflow decides at the
            # instant, by itself.
            await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))
            marked = await eventually(
                lambda: state(client, number), lambda s: s.overdue,
                timeout=AT_THE_INSTANT.total_seconds() + 2,
                what="the case marked overdue while PostgreSQL is down",
            )
            assert marked.supervised
            overdue = [a for a in marked.actions if a.action == "overdue"]
            assert len(overdue) == 1, [a.action for a in marked.actions]
            assert due <= overdue[0].at <= due + AT_THE_INSTANT, (overdue[0].at, due)
            sources = Counter(e.source for e in marked.escalations)
            assert sources == {EscalationSource.MEDIA: 1, EscalationSource.OVERDUE: 1}, sources
            esc = next(e for e in marked.escalations if e.source == EscalationSource.OVERDUE)
            assert due <= esc.at <= due + AT_THE_INSTANT
            d = next(d for d in marked.deadlines if d.kind == acceptance.kind)
            assert d.overdue
            # The search attributes say so too (Web UI, `temporal workflow list --query`).
            sa = await eventually(lambda: search_attributes(client, number),
                                  lambda v: v == (True, True), timeout=5,
                                  what="Overdue and Supervised search attributes")
            assert sa == (True, True)
            assert not own_pg.running(), "PostgreSQL came back before the checks"

            own_pg.restart()

            # Delivered once PostgreSQL is back: the read model shows the case overdue and
            # supervised, the outbox has each notification exactly once.
            await eventually(
                lambda: pool.fetchrow(
                    "SELECT overdue, supervised FROM complaints WHERE number = $1", number),
                lambda r: r is not None and r["overdue"] and r["supervised"],
                timeout=90, what="the read model shows the case overdue",
            )

            async def outbox() -> Counter[tuple[str, str]]:
                rows = await pool.fetch(
                    "SELECT kind, recipient FROM notifications WHERE number = $1", number)
                return Counter((r["kind"], r["recipient"]) for r in rows)

            expected = {
                ("acknowledgement", "complainant"): 1,
                ("escalated", "supervisor"): 2,  # the leader's (media) and the overdue one
                ("overdue", "handler"): 1,
                ("overdue", "supervisor"): 1,
            }
            notes = await eventually(outbox, lambda c: c == expected, timeout=90,
                                     what="every notification in the outbox, once")
            assert notes == expected
            events = await eventually(
                lambda: pool.fetch("SELECT action FROM case_events WHERE number = $1 ORDER BY seq",
                                   number),
                lambda rows: "overdue" in [r["action"] for r in rows],
                timeout=30, what="the overdue action in case_events")
            actions = Counter(r["action"] for r in events)
            assert actions["overdue"] == 1 and actions["escalate"] == 1, actions
            assert actions["register"] == 1, actions
            history = await handle.fetch_history()
            assert not [e for e in history.events
                        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    finally:
        if not own_pg.running():
            own_pg.restart()
        await pool.close()
        await worker_pool.close()
