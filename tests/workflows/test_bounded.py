"""Issue 11 on the time-skipping server: a case nobody can freeze, lose, bloat or blind, and the
rule defects found by driving scenarios by hand. Each test failed on the workflow before the
`bounded-case-2026-12` patch."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from domain import workdays
from domain.models import (
    Action,
    ActionResult,
    ArchiveInput,
    ArchiveResult,
    Category,
    ComplaintInput,
    Grade,
    InvestigationKind,
    Measure,
    NotifyInput,
    ProjectInput,
    RecordInvestigationInput,
)
from tests.workflows.helpers import (
    HANDLER,
    HOUSING,
    LEADER,
    SINK_ACTIVITIES,
    TAX,
    Sink,
    act,
    due,
    eventually,
    running_worker,
    start_case,
    state,
)
from workflows import complaint as wf
from workflows.complaint import ComplaintWorkflow

BJ = workdays.BEIJING


async def now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()


async def failed_tasks(h: WorkflowHandle[Any, Any]) -> int:
    events = (await h.fetch_history()).events
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in events)


def start_input(number: str, received: datetime, **kw: Any) -> ComplaintInput:
    return ComplaintInput(
        number=number,
        complainant_ref=f"cref-{uuid.uuid4().hex}",
        channel="hotline",
        form="written",
        category=kw.pop("category", Category.ATTITUDE),
        respondent_unit="tax-bureau",
        summary="窗口服务态度",
        received_at=received,
        registered_by=HANDLER,
        **kw,
    )


async def decide(h: WorkflowHandle[Any, Any], actor=TAX) -> None:
    await act(h, Action.REPORT_RESULT, actor, finding="substantiated",
              measures=[Measure.WRITTEN_WARNING], report="经查属实")


# --- freeze: signals of any shape, early signals ------------------------------------------


async def test_signal_with_two_inputs_is_ignored_not_a_frozen_case(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await h.signal("escalate", args=[{"reason": "a"}, {"reason": "b"}])
        await h.signal("decide-extension", args=[{"approved": True}, 1, "x"])
        await h.signal("recompute-deadlines", args=[{}, {}])
        await env.sleep(timedelta(seconds=1))
        s = await state(h)  # a frozen case would time out here
        assert [i.reason for i in s.ignored_signals] == ["malformed input: expected one input, got 2",
                                                         "malformed input: expected one input, got 3",
                                                         "malformed input: expected one input, got 2"]
        assert (await act(h, Action.ACCEPT, HANDLER, route="self")).status.value == "investigating"
        assert await failed_tasks(h) == 0


async def test_signals_sent_with_the_start_wait_for_registration(client, task_queue, env):
    async with running_worker(client, task_queue):
        t = await now(env)
        recompute = await client.start_workflow(
            ComplaintWorkflow.run, start_input(f"TS-E-{uuid.uuid4().hex[:8]}", t), id=f"TS-E-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue, start_signal="recompute-deadlines", start_signal_args=[{}],
        )
        escalated = await client.start_workflow(
            ComplaintWorkflow.run, start_input(f"TS-F-{uuid.uuid4().hex[:8]}", t), id=f"TS-F-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue, start_signal="escalate",
            start_signal_args=[{"reason": "媒体曝光", "source": "media"}],
        )
        await env.sleep(timedelta(seconds=1))
        s = await eventually_state(recompute, lambda s: "recompute-deadlines" in [a.action for a in s.actions])
        assert [a.action for a in s.actions] == ["register", "recompute-deadlines"]
        assert await failed_tasks(recompute) == 0
        s = await eventually_state(escalated, lambda s: s.escalations)
        assert [e.source.value for e in s.escalations] == ["media"]
        assert s.supervised and due(s, "supervision") is not None


async def eventually_state(h: WorkflowHandle[Any, Any], ok: Any, timeout: float = 5.0) -> Any:
    for _ in range(int(timeout / 0.05)):
        s = await state(h)
        if ok(s):
            return s
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_escalate_from_outside_names_only_outside_sources(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await h.signal("escalate", {"reason": "x", "source": "overdue"})
        await h.signal("escalate", {"reason": "x", "source": "appeal"})
        await h.signal("escalate", {"reason": "x", "sorce": "media"})  # misspelt: not `manual`
        await h.signal("escalate", {"reason": "领导批示", "source": "leader"})
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert [e.source.value for e in s.escalations] == ["leader"]
        reasons = [i.reason for i in s.ignored_signals]
        assert "'overdue' is set by the workflow itself" in reasons[0]
        assert "'appeal' is set by the workflow itself" in reasons[1]
        assert reasons[2] == "malformed input: unknown field(s) sorce"


# --- bloat: small Update results, capped lists, continue-as-new --------------------------


async def test_update_answers_small_and_lists_are_capped(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.ACCEPT, HANDLER, route="self")
        note = "调查记录" * 900  # 3,600 characters
        sizes = []
        for _ in range(wf.KEEP_INVESTIGATION + 10):
            inp = RecordInvestigationInput(actor=HANDLER, kind=InvestigationKind.SITE_VISIT, note=note)
            r = await h.execute_update("record-investigation", inp, result_type=ActionResult)
            sizes.append(len(r.model_dump_json()))
        for _ in range(wf.KEEP_IGNORED + 5):
            await h.signal("escalate", "not an object")
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert max(sizes) < 2_000 and max(sizes) - min(sizes) < 10
        assert len(s.investigation) == wf.KEEP_INVESTIGATION
        assert s.investigation_total == wf.KEEP_INVESTIGATION + 10
        assert all(len(step.note) <= wf.KEEP_TEXT for step in s.investigation)
        assert len(s.actions) == wf.KEEP_ACTIONS and s.actions_total == wf.KEEP_INVESTIGATION + 12
        assert len(s.ignored_signals) == wf.KEEP_IGNORED and s.ignored_total == wf.KEEP_IGNORED + 5
        # Every record reached the read model once and whole; projections carry no record list.
        await eventually(lambda: sum(len(p.events) for p in sink.projections) == s.actions_total)
        seqs = [e.seq for p in sink.projections for e in p.events]
        assert seqs == list(range(1, s.actions_total + 1))
        assert all(not p.state.actions for p in sink.projections)
        whole = [e for p in sink.projections for e in p.events if e.action == "record-investigation"]
        assert {e.detail["note"] for e in whole} == {note}


async def test_history_per_action_stays_flat(client, task_queue, env):
    """Bytes of history per action do not grow with the case (they grew with it before)."""
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.ACCEPT, HANDLER, route="self")

        async def size() -> int:
            await env.sleep(timedelta(seconds=1))
            return len((await h.fetch_history()).to_json())

        async def steps(n: int) -> None:
            for i in range(n):
                inp = RecordInvestigationInput(actor=HANDLER, kind=InvestigationKind.SITE_VISIT, note=f"第{i}次")
                await h.execute_update("record-investigation", inp, result_type=ActionResult)

        a = await size()
        await steps(10)
        b = await size()
        await steps(40)
        c = await size()
        await steps(10)
        d = await size()
        first, last = (b - a) / 10, (d - c) / 10
        assert last < first * 1.3, (first, last)


async def test_continue_as_new_carries_the_case(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h = await start_case(client, task_queue, received_at=await now(env), history_budget=150)
        run0 = (await h.describe()).run_id
        await act(h, Action.ACCEPT, HANDLER, route="referral")
        await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="请核查")
        await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
        for i in range(60):
            inp = RecordInvestigationInput(actor=TAX, kind=InvestigationKind.SITE_VISIT, note=f"第{i}次核查")
            await h.execute_update("record-investigation", inp, result_type=ActionResult)
            # The time-skipping test server loses an Update that races a continue-as-new (a
            # real server hands it to the new run; tests/faults cover that): a moment apart.
            await asyncio.sleep(0.3)
        s = await eventually_state(h, lambda s: s.runs > 1, timeout=10)
        assert (await h.describe()).run_id != run0
        assert s.status.value == "referred" and s.handling_unit == "tax-bureau"
        assert s.allowed_actions["unit"] == ["report-result", "request-extension", "return-referral",
                                             "record-investigation"]
        assert s.investigation_total == 60
        await decide(h)
        s = await state(h)
        assert s.status.value == "decided" and s.actions_total == 4 + 60 + 1
        keys = [n.key for n in sink.notifications]
        assert len(keys) == len(set(keys))  # outbox keys stay unique across runs


# --- blind: clocks do not wait for PostgreSQL ---------------------------------------------


class DownSink(Sink):
    """The outbox and the read model while PostgreSQL is down: every call fails until `up`."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False

    @activity.defn(name="notify")
    async def notify(self, inp: NotifyInput) -> int:
        if not self.up:
            raise RuntimeError("connection refused")
        return await super().notify(inp)

    @activity.defn(name="project_case")
    async def project_case(self, inp: ProjectInput) -> None:
        if not self.up:
            raise RuntimeError("connection refused")
        await super().project_case(inp)


async def test_clocks_fire_while_postgresql_is_down_and_notes_land_once_after(client, task_queue, env):
    sink = DownSink()
    async with running_worker(client, task_queue, sink):
        # The `bench` policy (limits in minutes): the activities retry a few times, not 7,000.
        h = await start_case(client, task_queue, received_at=await now(env), policy="bench")
        s = await state(h)
        acceptance = next(d for d in s.deadlines if d.kind.value == "acceptance")
        await env.sleep(acceptance.due_at - await now(env) + timedelta(seconds=5))
        s = await state(h)
        assert s.overdue and s.supervised
        assert [e.source.value for e in s.escalations] == ["overdue"]
        assert [a.action for a in s.actions] == ["register", "overdue"]
        assert sink.notifications == [] and sink.projections == []
        sink.up = True
        await env.sleep(timedelta(minutes=2))  # the activities' next retry
        await eventually(lambda: "overdue" in sink.kinds(h.id), timeout=10)
        late = [n.recipient.value for n in sink.notifications
                if n.kind.value == "overdue" and n.data.get("deadline") == "acceptance"]
        assert sorted(late) == ["handler", "supervisor"]
        assert sink.kinds(h.id).count("escalated") == 1
        await eventually(lambda: sink.projections and sink.projections[-1].state.overdue)
        keys = [n.key for n in sink.notifications]
        assert len(keys) == len(set(keys))


async def test_action_at_the_last_instant_of_the_due_day_is_on_time(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        acceptance = next(d for d in (await state(h)).deadlines if d.kind.value == "acceptance")
        await env.sleep(acceptance.due_at - await now(env) + timedelta(milliseconds=900))
        s = await act(h, Action.ACCEPT, HANDLER, route="self")
        closed = next(d for d in s.deadlines if d.kind.value == "acceptance")
        assert closed.closed_at > closed.due_at and closed.on_time and not closed.overdue
        assert not s.escalations


# --- rule defects ---------------------------------------------------------------------------


async def test_major_case_opens_a_supervision_clock_at_registration(client, task_queue, env):
    """R-09."""
    async with running_worker(client, task_queue):
        t = await now(env)
        h = await start_case(client, task_queue, received_at=t, grade=Grade.MAJOR)
        s = await state(h)
        assert [e.source.value for e in s.escalations] == ["major"]
        assert due(s, "supervision") == workdays.add_working_days(s.registered_at, 5)


async def test_acceptance_counts_from_registration_not_receipt(client, task_queue, env):
    """R-10."""
    async with running_worker(client, task_queue):
        t = await now(env)
        h = await start_case(client, task_queue, received_at=t - timedelta(days=20), registered_at=t)
        s = await state(h)
        assert due(s, "acceptance") == workdays.add_working_days(t, 5)
        assert not s.overdue


async def test_duplicate_linked_after_feedback_gets_it_at_once(client, task_queue, env):
    """R-45."""
    async with running_worker(client, task_queue) as sink:
        primary = await start_case(client, task_queue, received_at=await now(env))
        await act(primary, Action.ACCEPT, HANDLER, route="self")
        await decide(primary, actor=HANDLER)
        await act(primary, Action.GIVE_FEEDBACK, HANDLER, message="已处理，书面警告", appeal_route="可申诉")
        dup = await start_case(client, task_queue, received_at=await now(env))
        await act(dup, Action.LINK_DUPLICATE, HANDLER, primary=primary.id)
        told = await eventually(lambda: [n for n in sink.notifications if n.about_case == dup.id])
        assert [(n.kind.value, n.data["message"]) for n in told] == [("feedback", "已处理，书面警告")]


async def test_duplicate_of_a_case_not_accepted_learns_the_outcome(client, task_queue, env):
    """R-45."""
    async with running_worker(client, task_queue) as sink:
        primary = await start_case(client, task_queue, received_at=await now(env))
        dup = await start_case(client, task_queue, received_at=await now(env))
        await act(dup, Action.LINK_DUPLICATE, HANDLER, primary=primary.id)
        await act(primary, Action.REJECT, HANDLER, reason="不属于受理范围", basis="第三条", guidance="请向法院起诉")
        told = await eventually(lambda: [n for n in sink.notifications if n.about_case == dup.id])
        assert [(n.kind.value, n.data["outcome"]) for n in told] == [("archived", "not_accepted")]


async def test_pending_extension_lapses_with_its_stage(client, task_queue, env):
    """R-18/R-19: a request made for the opinion stage never moves the handling stage."""
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.ACCEPT, HANDLER, route="referral")
        await act(h, Action.REQUEST_EXTENSION, HANDLER, days=5, reason="需要协调")
        await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="请核查")
        s = await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
        handling = due(s, "handling")
        await h.signal("decide-extension", {"approved": True, "days": 5})
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert s.extensions[0].lapsed and s.extensions[0].approved is False
        assert "extension-lapsed" in [a.action for a in s.actions]
        assert s.ignored_signals[-1].reason == "no extension request is pending"
        assert due(s, "handling") == handling and s.extended_days == 0


async def test_extension_after_the_deadline_keeps_overdue_and_escalates_once(client, task_queue, env):
    """R-20/R-30."""
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        s = await act(h, Action.ACCEPT, HANDLER, route="self")
        handling = next(d for d in s.deadlines if d.kind.value == "handling")
        await env.sleep(workdays.deadline_end(handling.due_at) - await now(env) + timedelta(minutes=1))
        assert (await state(h)).overdue
        await act(h, Action.REQUEST_EXTENSION, HANDLER, days=5, reason="补充调查")
        await h.signal("decide-extension", {"approved": True, "days": 5})
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert s.overdue and due(s, "handling") > handling.due_at
        await env.sleep(workdays.deadline_end(due(s, "handling")) - await now(env) + timedelta(minutes=1))
        s = await state(h)
        assert [e.source.value for e in s.escalations] == ["overdue"]
        assert [a.action for a in s.actions].count("overdue") == 1


async def test_joint_units_report_their_parts(client, task_queue, env):
    """R-15."""
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.ACCEPT, HANDLER, route="joint", units=["tax-bureau", "housing-bureau"])
        await act(h, Action.RECORD_INVESTIGATION, HOUSING, kind="site_visit", note="现场核查")
        await decide(h, actor=TAX)
        s = await act(h, Action.REPORT_RESULT, HOUSING, finding="unsubstantiated",
                      measures=[Measure.NONE], report="未发现问题")
        assert s.status.value == "investigating" and s.decision is None
        assert [(r.unit, r.finding.value) for r in s.joint_reports] == [
            ("tax-bureau", "substantiated"), ("housing-bureau", "unsubstantiated")]
        other = TAX.model_copy(update={"unit": "police"})
        with pytest.raises(WorkflowUpdateFailedError):
            await act(h, Action.RECORD_INVESTIGATION, other, kind="site_visit", note="x")
        s = await act(h, Action.REPORT_RESULT, HANDLER, finding="partially_substantiated",
                      measures=[Measure.ORDER_TO_CORRECT], report="综合各单位意见")
        assert s.status.value == "decided"


# --- the archive is the last word -----------------------------------------------------------


async def test_signals_during_the_archive_step_do_not_change_the_result(client: Client, task_queue, env):
    sink, archived = Sink(), []

    @activity.defn(name="archive_case")
    async def slow_archive(inp: ArchiveInput) -> ArchiveResult:
        archived.append(inp.state)
        await asyncio.sleep(1.5)
        return ArchiveResult(number=inp.state.number, sha256="0" * 64)

    acts = [a for a in build_activities(None, client)
            if getattr(a, "__name__", "") not in (*SINK_ACTIVITIES, "archive_case")]
    async with Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow],
                      activities=[*acts, *sink.activities(), slow_archive]):
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.REJECT, HANDLER, reason="不属于受理范围", basis="第三条", guidance="请向法院起诉")
        await eventually(lambda: archived, timeout=10)
        for _ in range(3):
            await h.signal("escalate", {"reason": "迟到的督办", "source": "manual"})
        result = await h.result()
        assert json.loads(result.model_dump_json()) == json.loads(archived[0].model_dump_json())
        assert result.ignored_total == 0
