"""Helpers for workflow tests: actors, a worker on a fresh task queue, a case starter."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities import build_activities
from domain.actions import ACTION_INPUTS
from domain.models import (
    Action,
    ActionResult,
    Actor,
    CaseState,
    Category,
    Channel,
    ComplaintInput,
    DeliverInput,
    Form,
    Grade,
    Notification,
    NotifyInput,
    ProjectInput,
)

# The actors, re-exported: the workflow tests import them from here.
from tests.actors import COMPLAINANT, HANDLER, HOUSING, INTAKE, LEADER, SUPERVISOR, TAX  # noqa: F401
from workflows.complaint import ComplaintWorkflow

#: The activities a `Sink` stands in for.
SINK_ACTIVITIES = ("notify", "project_case", "deliver")


class Sink:
    """Stand-ins for the outbox and read-model activities that keep what they receive."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self.projections: list[ProjectInput] = []

    @activity.defn(name="notify")
    async def notify(self, inp: NotifyInput) -> int:
        self.notifications.extend(inp.notifications)
        return len(inp.notifications)

    @activity.defn(name="project_case")
    async def project_case(self, inp: ProjectInput) -> None:
        self.projections.append(inp)

    @activity.defn(name="deliver")
    async def deliver(self, inp: DeliverInput) -> DeliverInput:
        """The local activity of `local-delivery-2026-12`: both of the above, in one call."""
        if inp.notify:
            await self.notify(inp.notify)
        if inp.project:
            await self.project_case(inp.project)
        return DeliverInput(project=inp.project)

    def activities(self) -> list[Any]:
        return [self.notify, self.project_case, self.deliver]

    def kinds(self, number: str, recipient: str | None = None) -> list[str]:
        return [
            n.kind.value
            for n in self.notifications
            if n.number == number and (recipient is None or n.recipient.value == recipient)
        ]


@contextlib.asynccontextmanager
async def running_worker(client: Client, task_queue: str, sink: Sink | None = None) -> AsyncIterator[Sink]:
    sink = sink or Sink()
    acts = [
        a
        for a in build_activities(None, client)
        if getattr(a, "__name__", "") not in SINK_ACTIVITIES
    ]
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ComplaintWorkflow],
        activities=[*acts, *sink.activities()],
    ):
        yield sink


async def start_case(
    client: Client,
    task_queue: str,
    *,
    received_at: datetime,
    category: Category = Category.ATTITUDE,
    grade: Grade = Grade.BASIC,
    number: str | None = None,
    policy: str = "default",
    registered_at: datetime | None = None,
    history_budget: int | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start a case; it is registered when received unless `registered_at` says otherwise."""
    number = number or f"TS-TEST-{uuid.uuid4().hex[:10]}"
    inp = ComplaintInput(
        number=number,
        complainant_ref=f"cref-{uuid.uuid4().hex}",
        channel=Channel.HOTLINE,
        form=Form.WRITTEN,
        category=category,
        grade=grade,
        respondent_unit="tax-bureau",
        respondent_unit_name="某区税务局",
        summary="窗口服务态度 · 某区税务局",
        received_at=received_at,
        registered_by=INTAKE,
        policy=policy,
        registered_at=registered_at or received_at,
        history_budget=history_budget,
    )
    handle = await client.start_workflow(ComplaintWorkflow.run, inp, id=number, task_queue=task_queue)
    for _ in range(200):  # until registration (deadline computation) is done
        s = await handle.query("state", result_type=CaseState)
        if s.actions:
            return handle
        await asyncio.sleep(0.02)
    raise AssertionError(f"{number} was not registered")


async def act(handle: WorkflowHandle[Any, Any], which: Action, actor: Actor, /, **body: Any) -> CaseState:
    """Run the action (an Update, answered with a small `ActionResult`); the case after it."""
    inp = ACTION_INPUTS[which](actor=actor, **body)
    result = await handle.execute_update(which.value, inp, result_type=ActionResult)
    assert result.number == handle.id
    return await handle.query("state", result_type=CaseState)


async def eventually(check: Any, timeout: float = 5.0) -> Any:
    """Poll `check()` until it returns something truthy (outbox and projection run after updates)."""
    for _ in range(int(timeout / 0.02)):
        result = check()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def state(handle: WorkflowHandle[Any, Any]) -> CaseState:
    return await handle.query("state", result_type=CaseState)


def due(s: CaseState, kind: str) -> datetime | None:
    d = next((d for d in s.deadlines if d.kind.value == kind and d.state.value == "open"), None)
    return d.due_at if d else None


def actions(s: CaseState) -> list[str]:
    return [a.action for a in s.actions]
