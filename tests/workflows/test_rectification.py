"""整改落实 (issue 15, R-37) on the time-skipping server: a decision with measures opens the
responsible unit's rectification clock; the unit reports, the handler accepts or sends back;
the case is archived only once the rectification is accepted."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain import workdays
from domain.models import Action, CaseState, Measure
from domain.workdays import BEIJING as BJ
from tests.workflows.helpers import (
    COMPLAINANT,
    HANDLER,
    HOUSING,
    LEADER,
    SUPERVISOR,
    TAX,
    act,
    actions,
    due,
    eventually,
    running_worker,
    start_case,
    state,
)

MEASURES = [Measure.WRITTEN_WARNING, Measure.ORDER_TO_CORRECT]
DONE = {"measures": ["written_warning", "order_to_correct"], "report": "已书面警告；已修订窗口受理流程"}


async def now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()


async def refusal(h, action: Action, actor, **body) -> tuple[str, str]:
    """The error type and message of an Update the validator refuses."""
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await act(h, action, actor, **body)
    cause = e.value.cause
    return getattr(cause, "type", ""), getattr(cause, "message", str(cause))


async def decided(client, tq, env, *, measures=MEASURES, route="referral"):
    """A case decided with `measures`: referred to the tax bureau (or self-handled)."""
    h = await start_case(client, tq, received_at=await now(env))
    await act(h, Action.ACCEPT, HANDLER, route=route)
    actor = HANDLER
    if route == "referral":
        await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="请税务局核查")
        await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
        actor = TAX
    s = await act(
        h, Action.REPORT_RESULT, actor, finding="substantiated", measures=measures, report="经查属实"
    )
    return h, s


def clock(s: CaseState):
    return [d for d in s.deadlines if d.kind.value == "rectification"]


async def test_decision_with_measures_opens_the_units_rectification_clock(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h, s = await decided(client, task_queue, env)
        decided_at = s.decision.decided_at
        [d] = clock(s)
        assert d.state.value == "open" and d.start == decided_at
        assert (d.amount, d.unit.value) == (15, "working_days")
        assert d.due_at == workdays.add_working_days(decided_at, 15)
        assert d.due_at.astimezone(BJ).time().isoformat() == "23:59:59"
        assert d.remind_at == workdays.add_working_days(d.due_at, -1)
        r = s.rectification
        assert (r.unit, r.measures, r.state.value, r.opened_at) == (
            "tax-bureau",
            MEASURES,
            "open",
            decided_at,
        )
        assert s.next_due() == min(x.due_at for x in s.open_deadlines())
        note = (await eventually(lambda: [n for n in sink.notifications if n.kind.value == "rectification"]))[
            0
        ]
        assert (note.recipient.value, note.unit) == ("unit", "tax-bureau")
        assert note.data == {
            "measures": ["written_warning", "order_to_correct"],
            "due_at": d.due_at.isoformat(),
        }
        assert s.allowed_actions["unit"] == ["report-rectification"]
        assert "review-rectification" not in s.allowed_actions["handler"]
        meta = await h.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "整改落实 rectification: tax-bureau · 整改中 being carried out" in meta.current_details
        assert "give-feedback" in s.allowed_actions["handler"]


async def test_decision_without_measures_opens_nothing(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, s = await decided(client, task_queue, env, measures=[Measure.NONE])
        assert s.rectification is None and clock(s) == []
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="已处理", appeal_route="可申诉")
        s = await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="satisfied")
        assert (s.status.value, s.outcome.value) == ("archived", "concluded")


async def test_self_handled_case_is_rectified_by_the_unit_complained_about(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, s = await decided(client, task_queue, env, measures=[Measure.ORAL_WARNING], route="self")
        assert s.handling_unit is None and s.rectification.unit == "tax-bureau"
        s = await act(h, Action.REPORT_RECTIFICATION, TAX, measures=["oral_warning"], report="已口头警告")
        assert s.rectification.state.value == "reported"


async def test_rectification_reminded_then_overdue_and_escalated_once(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h, s = await decided(client, task_queue, env)
        [d] = clock(s)
        await env.sleep(d.remind_at - await now(env) - timedelta(minutes=1))
        assert "reminder" not in actions(await state(h))
        await env.sleep(timedelta(minutes=2))
        s = await state(h)
        assert actions(s).count("reminder") == 1 and not s.overdue
        assert s.actions[-1].detail == {"deadline": "rectification", "due_at": d.due_at.isoformat()}

        await env.sleep(d.due_at - await now(env) - timedelta(seconds=30))  # 23:59:30 of the due day
        assert not (await state(h)).overdue
        await env.sleep(timedelta(minutes=1))  # past 24:00 Beijing
        s = await state(h)
        assert s.overdue and s.supervised
        assert [e.source.value for e in s.escalations] == ["overdue"]
        assert actions(s).count("overdue") == 1
        assert s.actions[-1].detail == {
            "deadline": "rectification",
            "due_at": d.due_at.isoformat(),
            "escalated": True,
        }
        await env.sleep(timedelta(days=2))
        s = await state(h)
        assert actions(s).count("overdue") == 1 and actions(s).count("reminder") == 1
        to_unit = [
            (n.kind.value, n.unit)
            for n in sink.notifications
            if n.recipient.value == "unit" and n.data.get("deadline") == "rectification"
        ]
        assert to_unit == [("reminder", "tax-bureau"), ("overdue", "tax-bureau")]
        assert sink.kinds(h.id, "supervisor").count("overdue") == 1
        # A late report meets the clock late; the case is no longer overdue.
        s = await act(h, Action.REPORT_RECTIFICATION, TAX, **DONE)
        [d] = clock(s)
        assert d.state.value == "met" and d.on_time is False and not s.overdue


async def test_report_return_report_accept_archives_the_waiting_case(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h, s = await decided(client, task_queue, env)
        [opened] = clock(s)
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="经查属实，已责令整改", appeal_route="可申诉")
        s = await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="satisfied")
        # The callback is done, the case waits for the rectification.
        assert (s.status.value, s.outcome, s.archived_at) == ("awaiting_callback", None, None)
        assert s.rectification.held_outcome.value == "concluded"
        assert s.actions[-1].detail == {"rating": "satisfied", "comment": "", "archive_held": True}
        assert due(s, "callback") is None
        assert await refusal(h, Action.APPEAL, COMPLAINANT, reason="不服") == (
            "invalid_state",
            "the callback is over; the case waits only for the rectification's acceptance",
        )

        await env.sleep(timedelta(days=3))
        s = await act(
            h, Action.REPORT_RECTIFICATION, TAX, measures=MEASURES, evidence=[7, 9], report="整改完毕"
        )
        r = s.rectification
        assert (r.state.value, r.reports_total, r.reports[0].evidence) == ("reported", 1, [7, 9])
        [met] = clock(s)
        assert met.state.value == "met" and met.on_time is True
        assert s.allowed_actions["handler"] == ["review-rectification"]
        assert await refusal(h, Action.REPORT_RECTIFICATION, TAX, **DONE) == (
            "invalid_state",
            "no rectification is waiting for the responsible unit's report (R-37)",
        )

        s = await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=False, reason="未附整改后的流程文件")
        r = s.rectification
        assert (r.state.value, r.returns, r.reports[0].accepted, r.reports[0].reason) == (
            "open",
            1,
            False,
            "未附整改后的流程文件",
        )
        [again] = clock(s)  # the same clock, open again, its due instant unchanged
        assert (again.state.value, again.due_at, again.closed_at, again.start) == (
            "open",
            opened.due_at,
            None,
            opened.start,
        )
        assert s.status.value == "awaiting_callback"

        s = await act(
            h, Action.REPORT_RECTIFICATION, TAX, measures=MEASURES, evidence=[11], report="补充流程文件"
        )
        assert [x.seq for x in s.rectification.reports] == [1, 2]
        s = await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True)
        assert (s.status.value, s.outcome.value) == ("archived", "concluded")
        r = s.rectification
        assert (r.state.value, r.accepted_at, r.accepted_by, r.held_outcome) == (
            "accepted",
            s.archived_at,
            HANDLER,
            None,
        )
        assert s.actions[-1].detail == {
            "accepted": True,
            "unit": "tax-bureau",
            "seq": 2,
            "archived": "concluded",
        }
        final = await h.result()
        assert final.rectification.state.value == "accepted" and final.outcome.value == "concluded"
        kinds = [n.kind.value for n in sink.notifications if n.kind.value.startswith("rectification")]
        assert kinds == [
            "rectification",
            "rectification_reported",
            "rectification_returned",
            "rectification_reported",
            "rectification_accepted",
        ]


async def test_accepted_before_the_callback_lets_the_callback_archive(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await decided(client, task_queue, env)
        await act(h, Action.REPORT_RECTIFICATION, TAX, **DONE)
        s = await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True)
        assert (s.status.value, s.rectification.state.value) == ("decided", "accepted")
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="已整改", appeal_route="可申诉")
        s = await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="basically_satisfied")
        assert (s.status.value, s.outcome.value) == ("archived", "concluded")


async def test_returned_after_the_due_instant_is_overdue_at_once(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, s = await decided(client, task_queue, env)
        [d] = clock(s)
        await act(h, Action.REPORT_RECTIFICATION, TAX, **DONE)  # on time, long before
        await env.sleep(d.due_at - await now(env) + timedelta(days=1))
        s = await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=False, reason="整改不到位")
        await env.sleep(timedelta(seconds=5))
        s = await state(h)
        [d] = clock(s)
        assert d.state.value == "open" and d.overdue and s.overdue and s.supervised
        assert actions(s).count("overdue") == 1


async def test_rehandling_cancels_the_open_rectification(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await decided(client, task_queue, env)
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="成立", appeal_route="可申诉")
        await act(h, Action.APPEAL, COMPLAINANT, reason="处理太轻")
        s = await act(h, Action.RESOLVE_SUPERVISION, SUPERVISOR, action="rehandle", comment="重新处理")
        assert s.status.value == "referred" and s.decision is None
        assert s.rectification.state.value == "cancelled"
        assert [d.state.value for d in clock(s)] == ["cancelled"]
        assert "report-rectification" not in s.allowed_actions["unit"]


async def test_appeal_upheld_waits_for_the_rectification(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await decided(client, task_queue, env)
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="成立", appeal_route="可申诉")
        await act(h, Action.APPEAL, COMPLAINANT, reason="处理太轻")
        s = await act(h, Action.RESOLVE_SUPERVISION, SUPERVISOR, action="uphold")
        assert (s.status.value, s.outcome, s.rectification.held_outcome.value) == (
            "appealed",
            None,
            "concluded",
        )
        await act(h, Action.REPORT_RECTIFICATION, TAX, **DONE)
        s = await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True)
        assert (s.status.value, s.outcome.value) == ("archived", "concluded")


async def test_bad_rectification_input_refused_by_the_validator(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        assert (await refusal(h, Action.REPORT_RECTIFICATION, TAX, **DONE))[0] == "invalid_status"
        h, _ = await decided(client, task_queue, env)
        assert await refusal(h, Action.REPORT_RECTIFICATION, LEADER, **DONE) == (
            "forbidden",
            "role 'leader' may not perform 'report-rectification'",
        )
        assert await refusal(h, Action.REVIEW_RECTIFICATION, TAX, accepted=True) == (
            "forbidden",
            "role 'unit' may not perform 'review-rectification'",
        )
        assert await refusal(h, Action.REPORT_RECTIFICATION, HOUSING, **DONE) == (
            "invalid_state",
            "the rectification is for unit 'tax-bureau', not 'housing-bureau'",
        )
        assert await refusal(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True) == (
            "invalid_state",
            "no rectification report is waiting for review (R-37)",
        )
        assert await refusal(
            h, Action.REPORT_RECTIFICATION, TAX, measures=MEASURES[:1], report="已书面警告"
        ) == (
            "invalid_body",
            "measures: report every measure decided: order_to_correct, written_warning",
        )
        wrong = [MEASURES[0], Measure.ADMINISTRATIVE_PENALTY]
        assert await refusal(h, Action.REPORT_RECTIFICATION, TAX, measures=wrong, report="罚款") == (
            "invalid_body",
            "measures: report every measure decided: order_to_correct, written_warning "
            "(not administrative_penalty)",
        )
        s = await state(h)
        assert s.rectification.reports_total == 0 and s.rectification.state.value == "open"
        assert "report-rectification" not in actions(s)


async def test_reports_are_capped_and_their_texts_cut(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await decided(client, task_queue, env)
        long = "整" * 3000
        for _ in range(12):
            await act(h, Action.REPORT_RECTIFICATION, TAX, measures=MEASURES, report=long)
            s = await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=False, reason="不到位" * 500)
        r = s.rectification
        assert (r.reports_total, r.returns, [x.seq for x in r.reports]) == (12, 12, list(range(3, 13)))
        assert {len(x.report) for x in r.reports} == {500} and {len(x.reason) for x in r.reports} == {500}
        assert s.actions[-2].action == "report-rectification"
        assert len(s.actions[-2].detail["report"]) == 500  # the kept copy; whole in PostgreSQL
