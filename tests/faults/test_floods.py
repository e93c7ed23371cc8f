"""Floods against one case (issue 11, "Freeze", "Lose" and "Bloat to death").

Any client may signal a case (the Web UI, `temporal workflow signal`, a script gone wrong), and
the handling unit — the office complained about — may call its Updates as often as it likes. No
such flood may fail a workflow task (which would freeze the case: every later Update and query
times out), lose an early message, or grow the history until Temporal terminates the case.

On the session's dev server with the real workflow and log-only activities (no PostgreSQL: this
is about the workflow and its history).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from domain.models import (
    AcceptInput,
    ApproveOpinionInput,
    CaseState,
    DecideExtensionInput,
    EscalateInput,
    EscalationSource,
    InvestigationKind,
    RecordInvestigationInput,
    ReportResultInput,
    Route,
    SubmitOpinionInput,
)
from tests.actors import HANDLER, LEADER, TAX
from tests.faults.conftest import (
    BriefState,
    complaint_input,
    eventually,
    history_figures,
    run_ids,
    update,
)
from workflows.complaint import ComplaintWorkflow

#: Escalate signals that must each be ignored (and recorded as such), whatever sends them.
BAD_ESCALATIONS: list[tuple[Any, ...]] = [
    (),  # no input at all (the CLI without --input)
    ({"reason": "a", "source": "media"}, {"reason": "b", "source": "media"}),  # two inputs
    ({"reason": "x", "source": "leader"}, "extra"),
    ("just a string",), (42,), (None,), ([1, 2, 3],), ({},), ({"source": "media"},),
    ({"reason": "", "source": "media"},), ({"reason": 7, "source": "media"},),
    ({"reason": "x", "source": "martians"},),  # unknown source
    ({"reason": "x", "source": 3},),
    # Internal sources may not come from outside: only leader, media, hot_issue and manual.
    ({"reason": "x", "source": "overdue"},), ({"reason": "x", "source": "appeal"},),
    ({"reason": "x", "source": "major"},),
    ({"reason": "x", "sourse": "media"},),  # a misspelt key is not `manual`
    ({"reason": "a\u0000b", "source": "media"},),
    (RawValue(Payload(metadata={"encoding": b"binary/plain"}, data=b"\xff\xfe\x00")),),
    (RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"{not json")),),
]
BAD_DECISIONS: list[tuple[Any, ...]] = [
    (), ({"approved": "maybe"},), (None,), ("yes",), ({"approved": True}, {"approved": False}),
    ({"approved": True, "days": 999},), ({"approved": True},),  # nothing is pending
]
BAD_LINKS: list[tuple[Any, ...]] = [
    (), ({"number": 5},), ("TS-1",), ({"number": "TS-1"}, {"number": "TS-2"}),
]


@contextlib.asynccontextmanager
async def worker(client: Client, task_queue: str) -> AsyncIterator[None]:
    async with Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow],
                      activities=build_activities(None, client)):
        yield


async def state(client: Client, number: str) -> CaseState:
    s: CaseState = await client.get_workflow_handle(number).query("state", result_type=BriefState)
    return s


def ignored_total(s: CaseState) -> int:
    """How many signals the case ignored, including those beyond the list's cap."""
    listed = len(s.ignored_signals)
    for name in ("ignored_total", "ignored_signals_total", "ignored_signals_count", "ignored_count",
                 "ignored_signals_dropped", "ignored_signals_more"):
        extra = getattr(s, name, None)
        if isinstance(extra, int):
            return extra if name.endswith(("total", "count")) else listed + extra
    counts = getattr(s, "counts", None)  # e.g. {"ignored_signals": n, ...}
    if isinstance(counts, dict) and isinstance(counts.get("ignored_signals"), int):
        return int(counts["ignored_signals"])
    return listed


def investigation_total(s: CaseState) -> int:
    """How many investigation steps the case has, including those beyond the list's cap."""
    for name in ("investigation_total", "investigation_count"):
        n = getattr(s, name, None)
        if isinstance(n, int):
            return n
    counts = getattr(s, "counts", None)
    if isinstance(counts, dict) and isinstance(counts.get("investigation"), int):
        return int(counts["investigation"])
    return len(s.investigation)


def open_clocks(s: CaseState) -> dict[str, Any]:
    return {d.kind.value: d.due_at for d in s.open_deadlines()}


async def test_signals_before_the_first_task_are_neither_lost_nor_fatal(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """`recompute-deadlines` and `escalate` sent with the start (signal-with-start), as
    `python -m activities.deadlines recompute --all` and a leader may do for a case that has
    just started: the first task must not fail, and the escalation must not be dropped."""
    client = dev_env.client
    async with worker(client, task_queue):
        inp = complaint_input(policy="default")
        h1 = await client.start_workflow("ComplaintWorkflow", inp, id=inp.number,
                                         task_queue=task_queue,
                                         start_signal="recompute-deadlines", start_signal_args=[{}])
        inp2 = complaint_input(policy="default")
        h2 = await client.start_workflow(
            "ComplaintWorkflow", inp2, id=inp2.number, task_queue=task_queue,
            start_signal="escalate",
            start_signal_args=[EscalateInput(reason="领导批示", source=EscalationSource.LEADER,
                                             actor=LEADER)])
        inp3 = complaint_input(policy="default")
        h3 = await client.start_workflow("ComplaintWorkflow", inp3, id=inp3.number,
                                         task_queue=task_queue, start_signal="escalate",
                                         start_signal_args=[{"reason": "a"}, {"reason": "b"}])
        for h in (h1, h2, h3):
            s = await eventually(lambda h=h: state(client, h.id), lambda s: bool(s.actions),
                                 timeout=15, what=f"{h.id} registered and answering queries")
            assert s.status.value == "registered"
        s2 = await state(client, h2.id)
        assert [e.source for e in s2.escalations] == [EscalationSource.LEADER], s2.escalations
        assert s2.supervised and "escalate" in [a.action for a in s2.actions]
        s3 = await state(client, h3.id)
        assert not s3.escalations and ignored_total(s3) == 1, s3.ignored_signals
        for h in (h1, h2, h3):
            r = await update(h, "accept", AcceptInput(route=Route.SELF, actor=HANDLER))
            assert r["status"] == "investigating"
            _, _, failures = await history_figures(h)
            assert not failures, (h.id, failures)


async def test_a_flood_of_malformed_signals_neither_freezes_nor_bloats_the_case(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    async with worker(client, task_queue):
        inp = complaint_input(policy="default")
        handle = await client.start_workflow("ComplaintWorkflow", inp, id=inp.number,
                                             task_queue=task_queue)
        await eventually(lambda: state(client, inp.number), lambda s: bool(s.actions),
                         timeout=15, what="registered")
        base_events, base_bytes, _ = await history_figures(handle)

        flood = ([("escalate", a) for a in BAD_ESCALATIONS]
                 + [("decide-extension", a) for a in BAD_DECISIONS]
                 + [("duplicate-linked", a) for a in BAD_LINKS])
        rounds = 4  # 4 × 31 = 124 malformed signals, in rounds to see whether growth is flat
        per_round: list[tuple[int, int]] = []
        last = (base_events, base_bytes)
        for _ in range(rounds):
            # Sent concurrently (as a script would), each with its own payloads.
            await asyncio.gather(*(handle.signal(name, args=list(args)) for name, args in flood))
            # Two inputs to `recompute-deadlines` too (the signal itself is harmless).
            await handle.signal("recompute-deadlines", args=[{}, {}])
            # Queries and Updates still answer in the middle of the flood.
            await state(client, inp.number)
            await eventually(lambda: state(client, inp.number),
                             lambda s, n=len(per_round) + 1: ignored_total(s) >= n * len(flood),
                             timeout=20, what="every malformed signal recorded as ignored")
            events, size, failures = await history_figures(handle)
            assert not failures, failures
            per_round.append((events - last[0], size - last[1]))
            last = (events, size)
        sent = rounds * len(flood)

        s = await state(client, inp.number)
        assert s.status.value == "registered" and not s.escalations, s.escalations
        assert [a.action for a in s.actions if a.action not in ("recompute-deadlines",)] \
            == ["register"], [a.action for a in s.actions]
        assert ignored_total(s) == sent, (ignored_total(s), sent)
        # Recorded with reasons, and capped: the list does not grow with the flood.
        assert len(s.ignored_signals) < sent, len(s.ignored_signals)
        assert all(i.reason and i.signal for i in s.ignored_signals)
        reasons = " | ".join(i.reason for i in s.ignored_signals)
        assert "malformed" in reasons or "input" in reasons, reasons[:500]

        # Flat: the last round costs the history no more events than the first (+ 25 %), and no
        # round costs more than 1.5 KB per signal (a flush projects the case, whose ignored list
        # is capped, once per batch: rounds differ only by a batch more or less; before the
        # bounded case a malformed signal cost ~67 KB and the cost grew with the flood).
        (ev1, _), (evn, _) = per_round[0], per_round[-1]
        assert evn <= ev1 * 1.25 + 10, per_round
        assert max(b for _, b in per_round) <= len(flood) * 1536, per_round
        events, size, _ = await history_figures(handle)
        assert size < 1_000_000, (events, size)  # a long way under Temporal's limits

        # The case still works: an Update, then a query.
        r = await update(handle, "accept", AcceptInput(route=Route.SELF, actor=HANDLER))
        assert r["status"] == "investigating"
        assert "record-investigation" in r["allowed_actions"].get("handler", [])
        s = await state(client, inp.number)
        assert s.status.value == "investigating"
        # And a well-formed escalation after the flood is applied.
        await handle.signal("escalate", EscalateInput(reason="媒体曝光",
                                                      source=EscalationSource.MEDIA))
        s = await eventually(lambda: state(client, inp.number), lambda s: bool(s.escalations),
                             timeout=10, what="the good escalation applied")
        assert [e.source for e in s.escalations] == [EscalationSource.MEDIA]
        _, _, failures = await history_figures(handle)
        assert not failures, failures


async def test_the_handling_unit_cannot_get_its_own_case_terminated(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """200 `record-investigation` Updates by the unit (45 used to terminate the case): the case
    continues as new past its history budget and keeps its status and allowed actions."""
    client = dev_env.client
    steps = 200
    async with worker(client, task_queue):
        inp = complaint_input(policy="default", history_budget=300)
        handle = await client.start_workflow("ComplaintWorkflow", inp, id=inp.number,
                                             task_queue=task_queue)
        await eventually(lambda: state(client, inp.number), lambda s: bool(s.actions),
                         timeout=15, what="registered")
        await update(handle, "accept", AcceptInput(route=Route.REFERRAL, actor=HANDLER))
        await update(handle, "submit-opinion", SubmitOpinionInput(
            handling_unit="tax-bureau", opinion="转税务局办理", actor=HANDLER))
        r = await update(handle, "approve-opinion", ApproveOpinionInput(approved=True,
                                                                         actor=LEADER))
        assert r["status"] == "referred"
        clocks = open_clocks(await state(client, inp.number))

        kinds = [k for k in InvestigationKind if k not in (
            InvestigationKind.REQUEST_DOCUMENTS, InvestigationKind.EXPLANATION_RECEIVED)]
        note = "调取了相关窗口的监控录像并询问了当班工作人员，" * 20  # ~500 characters
        for i in range(steps):
            # Always through the workflow id: after a continue-as-new the Update goes to the
            # newest run.
            h = client.get_workflow_handle(inp.number)
            r = await update(h, "record-investigation", RecordInvestigationInput(
                kind=kinds[i % len(kinds)], note=f"{i}: {note}", party="某区税务局",
                actor=TAX), id=f"inv-{inp.number}-{i}-{uuid.uuid4().hex[:6]}")
            assert r["status"] == "referred", (i, r)

        h = client.get_workflow_handle(inp.number)
        desc = await h.describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING, desc.status
        runs = await eventually(lambda: run_ids(client, inp.number), lambda r: len(r) > 1,
                                timeout=10, what="a continue-as-new past the history budget "
                                f"(current run: {await history_figures(h)})")
        assert getattr(await state(client, inp.number), "runs", len(runs)) == len(runs)
        for run in runs:
            _, _, failures = await history_figures(client.get_workflow_handle(inp.number,
                                                                              run_id=run))
            assert not failures, (run, failures)
        events, size, _ = await history_figures(h)
        assert events < 3 * 300, events  # the current run stays near its budget

        s = await state(client, inp.number)
        assert s.status.value == "referred" and s.handling_unit == "tax-bureau"
        assert "report-result" in s.allowed_actions.get("unit", []), s.allowed_actions
        assert "record-investigation" in s.allowed_actions.get("unit", [])
        assert investigation_total(s) == steps, (investigation_total(s), len(s.investigation))
        assert open_clocks(s) == clocks, "the clocks changed across the runs"

        # The case goes on: the unit reports its result.
        r = await update(h, "report-result", ReportResultInput(
            finding="substantiated", measures=["written_warning"], report="已责令改正",
            actor=TAX))
        assert r["status"] == "decided"
        await h.signal("decide-extension", DecideExtensionInput(approved=True))  # nothing pending
        s = await eventually(lambda: state(client, inp.number),
                             lambda s: ignored_total(s) >= 1, timeout=10,
                             what="the stray decision recorded as ignored")
        assert s.status.value == "decided"
