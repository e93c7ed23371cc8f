"""ComplaintWorkflow end to end on the time-skipping server: every route, every clock."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain import workdays
from domain.models import Action, CaseState, Category, Grade, Measure
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


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


async def now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()


async def refusal(h, action: Action, actor, **body) -> str:
    """Why the workflow refused an action that must be refused (the Update failure's cause)."""
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await act(h, action, actor, **body)
    return str(e.value.cause)


async def referred_case(client: Client, tq: str, env: WorkflowEnvironment):
    """A case accepted for referral, opinion approved, now with the tax bureau."""
    h = await start_case(client, tq, received_at=await now(env))
    await act(h, Action.ACCEPT, HANDLER, route="referral")
    await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="请税务局核查")
    s = await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
    return h, s


async def decide(h, actor=TAX, finding="substantiated") -> CaseState:
    return await act(
        h,
        Action.REPORT_RESULT,
        actor,
        finding=finding,
        measures=[Measure.WRITTEN_WARNING],
        report="经查属实，已书面警告",
    )


WARNED = {"measures": ["written_warning"], "report": "已书面警告"}


async def rectified(h, actor=TAX) -> CaseState:
    """The unit reports the decided measure carried out and the handler accepts (R-37)."""
    await act(h, Action.REPORT_RECTIFICATION, actor, **WARNED)
    return await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True)


async def quiet_history_length(h) -> int:
    """The number of history events, other than bare workflow-task bookkeeping, once the case
    has finished its outbox and projection. (The time-skipping server records the workflow task
    that ran a rejecting validator; a real server drops it. Neither records the update.)"""
    bookkeeping = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
    last = -1
    while True:
        n = len([e for e in (await h.fetch_history()).events if e.event_type not in bookkeeping])
        if n == last:
            return n
        last = n
        await asyncio.sleep(0.3)


# --- registration and acceptance (R-05, R-10) -------------------------------------------


async def test_acceptance_limit_across_2026_spring_festival(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        # Thu 2026-02-12: 2/13 Fri=1, 2/14 adjusted working Sat=2, 2/15–2/23 holiday,
        # 2/24=3, 2/25=4, 2/26=5.
        h = await start_case(client, task_queue, received_at=bj(2026, 2, 12, 10, 0))
        s = await state(h)
        assert due(s, "acceptance") == bj(2026, 2, 26, 23, 59, 59)
        assert s.status.value == "registered"
        assert "acknowledgement" in sink.kinds(h.id, "complainant")
        ack = next(d for d in s.deadlines if d.kind.value == "acknowledgement")
        assert ack.state.value == "met" and ack.due_at == bj(2026, 2, 13, 10, 0)


async def test_acceptance_limit_across_2026_national_day_is_overdue_at_once(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        # Tue 2026-09-29: 9/30=1, 10/1–10/7 holiday, 10/8=2, 10/9=3, 10/10 adjusted Sat=4, 10/12=5.
        h = await start_case(client, task_queue, received_at=bj(2026, 9, 29, 9, 0))
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert due(s, "acceptance") == bj(2026, 10, 12, 23, 59, 59)
        # That instant is long past: the case is overdue and escalated, once.
        assert s.overdue and s.supervised
        assert actions(s).count("overdue") == 1
        assert [e.source.value for e in s.escalations] == ["overdue"]
        assert sink.kinds(h.id).count("overdue") == 2  # handler and supervisor
        assert due(s, "supervision") is not None


async def test_reject_archives_not_accepted_with_reason(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h = await start_case(client, task_queue, received_at=await now(env))
        s = await act(
            h,
            Action.REJECT,
            HANDLER,
            reason="不属于效能投诉",
            basis="工作办法第三条",
            guidance="请向法院起诉",
        )
        assert (s.status.value, s.outcome.value) == ("archived", "not_accepted")
        final = await h.result()
        assert final.outcome.value == "not_accepted"
        note = next(n for n in sink.notifications if n.kind.value == "not_accepted")
        assert note.data["guidance"] == "请向法院起诉" and note.recipient.value == "complainant"


async def test_forward_archives_with_the_body_named(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        s = await act(h, Action.FORWARD, HANDLER, to="市市场监管局", reason="属市场监管范围")
        assert (s.outcome.value, s.forwarded_to) == ("forwarded", "市市场监管局")


async def test_corruption_transferred_to_discipline_inspection(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env), category=Category.CORRUPTION)
        s = await act(h, Action.ACCEPT, HANDLER, route="discipline")
        assert (s.status.value, s.outcome.value) == ("archived", "transferred")
        assert (await h.result()).route.value == "discipline"


async def test_discipline_route_refused_for_attitude_complaint(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        assert "R-16" in await refusal(h, Action.ACCEPT, HANDLER, route="discipline")


async def test_retaliation_is_major_and_supervised_from_start(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env), category=Category.RETALIATION)
        s = await state(h)
        assert s.grade == Grade.MAJOR and s.supervised
        assert [e.source.value for e in s.escalations] == ["major"]


# --- referral, its clocks and return (R-44) ---------------------------------


async def test_referral_opinion_deadline_reminder_and_overdue_exactly_once(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h = await start_case(client, task_queue, received_at=await now(env))
        s = await act(h, Action.ACCEPT, HANDLER, route="referral")
        opinion = next(d for d in s.deadlines if d.kind.value == "opinion")
        assert opinion.due_at == workdays.add_working_days(s.accepted_at, 2)
        assert workdays.working_days_between(s.accepted_at, opinion.due_at) == 2
        assert opinion.due_at.astimezone(BJ).time().isoformat() == "23:59:59"
        assert opinion.remind_at == workdays.add_working_days(opinion.due_at, -1)

        await env.sleep(opinion.remind_at - await now(env) - timedelta(minutes=1))
        assert "reminder" not in actions(await state(h))
        await env.sleep(timedelta(minutes=2))
        s = await state(h)
        assert actions(s).count("reminder") == 1 and not s.overdue

        await env.sleep(opinion.due_at - await now(env) - timedelta(seconds=30))
        assert not (await state(h)).overdue
        await env.sleep(timedelta(minutes=1))
        s = await state(h)
        assert s.overdue and s.supervised
        assert actions(s).count("overdue") == 1
        await env.sleep(timedelta(days=1))
        s = await state(h)
        assert actions(s).count("overdue") == 1 and actions(s).count("reminder") == 1
        assert sink.kinds(h.id, "supervisor").count("overdue") == 1
        # Submitting the late opinion closes the clock as late, and the case is no longer overdue.
        s = await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="转税务局")
        late = next(d for d in s.deadlines if d.kind.value == "opinion")
        assert late.state.value == "met" and late.on_time is False and not s.overdue


async def test_whole_referral_case_handling_limit_and_callback(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h, s = await referred_case(client, task_queue, env)
        approved = next(a for a in s.actions if a.action == "approve-opinion").at
        assert s.status.value == "referred" and s.handling_unit == "tax-bureau"
        assert due(s, "handling") == workdays.add_working_days(approved, 5)
        referral = (await eventually(lambda: [n for n in sink.notifications if n.kind.value == "referral"]))[
            0
        ]
        assert referral.unit == "tax-bureau" and referral.complainant_ref is None
        with pytest.raises(WorkflowUpdateFailedError):  # another unit may not report
            await decide(h, actor=HOUSING)
        s = await decide(h)
        assert s.status.value == "decided" and due(s, "overall") is None
        s = await act(
            h,
            Action.GIVE_FEEDBACK,
            HANDLER,
            message="经查属实，已责令整改",
            appeal_route="向市效能投诉中心申诉",
        )
        cb = due(s, "callback")
        assert cb == workdays.add_working_days(s.feedback.at, 5)
        # No answer within the callback window: "no response"; the case waits for the
        # rectification of its measure, then is archived.
        await env.sleep(cb - await now(env) + timedelta(seconds=1))
        for _ in range(100):
            s = await state(h)
            if s.satisfaction is not None:
                break
            await asyncio.sleep(0.05)
        assert (s.status.value, s.outcome) == ("awaiting_callback", None)
        assert s.satisfaction.rating.value == "no_response"
        assert s.actions[-1].detail == {"rating": "no_response", "archive_held": True}
        await act(h, Action.REPORT_RECTIFICATION, TAX, **WARNED)
        await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True)
        final = await h.result()
        assert (final.status.value, final.outcome.value) == ("archived", "concluded")
        assert final.satisfaction.rating.value == "no_response"
        assert actions(final)[-3:] == ["callback-expired", "report-rectification", "review-rectification"]


async def test_satisfied_callback_archives_concluded(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await referred_case(client, task_queue, env)
        await decide(h)
        await rectified(h)
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="已处理", appeal_route="可申诉")
        s = await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="basically_satisfied")
        assert (s.status.value, s.outcome.value) == ("archived", "concluded")


async def test_return_of_misdirected_referral_within_one_working_day(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, s = await referred_case(client, task_queue, env)
        s = await act(h, Action.RETURN_REFERRAL, TAX, reason="不属于我局职责")
        assert s.status.value == "opinion_pending" and s.returns == 1 and s.handling_unit is None
        assert due(s, "opinion") is not None and due(s, "handling") is None
        await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="housing-bureau", opinion="转住建局")
        s = await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
        window = due(s, "return_window")
        await env.sleep(window - await now(env) + timedelta(minutes=1))
        assert "R-44" in await refusal(h, Action.RETURN_REFERRAL, HOUSING, reason="也不是我们")
        assert (await state(h)).returns == 1


async def test_leader_sends_opinion_back(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.ACCEPT, HANDLER, route="referral")
        await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="转税务局")
        s = await act(h, Action.APPROVE_OPINION, LEADER, approved=False, comment="应转住建局")
        assert s.status.value == "opinion_pending" and s.handling_unit is None


# --- self-handling, joint handling, the 30-day limit and extensions (R-13..R-20) ---------


async def test_self_handling_and_30_day_limit(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        s = await act(h, Action.ACCEPT, HANDLER, route="self")
        assert s.status.value == "investigating"
        assert due(s, "handling") == workdays.add_working_days(s.accepted_at, 5)
        overall = due(s, "overall")
        assert overall == workdays.add_days(s.accepted_at, 30)
        # the 30th day, moved to the next working day when it is a rest day or holiday.
        day30 = s.accepted_at.astimezone(BJ).date() + timedelta(days=30)
        assert overall.date() >= day30 and workdays.is_working_day(overall.date())
        assert all(
            not workdays.is_working_day(day30 + timedelta(days=i))
            for i in range((overall.date() - day30).days)
        )
        s = await decide(h, actor=HANDLER, finding="unsubstantiated")
        assert s.decision.finding.value == "unsubstantiated"


async def test_joint_handling_records_all_units(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        s = await act(h, Action.ACCEPT, HANDLER, route="joint", units=["tax-bureau", "housing-bureau"])
        assert s.status.value == "investigating" and s.joint_units == ["tax-bureau", "housing-bureau"]


async def test_approved_extension_moves_the_timers_and_refused_does_not(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h = await start_case(client, task_queue, received_at=await now(env))
        s = await act(h, Action.ACCEPT, HANDLER, route="self")
        handling0, overall0 = due(s, "handling"), due(s, "overall")
        await act(h, Action.REQUEST_EXTENSION, HANDLER, days=10, reason="需现场核查")
        await h.signal("decide-extension", {"approved": True, "days": 10, "comment": "同意"})
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert due(s, "overall") == workdays.add_days(s.accepted_at, 40)
        assert due(s, "handling") == workdays.add_days(handling0, 10)
        assert s.extended_days == 10 and due(s, "overall") > overall0
        # A refused request leaves every deadline where it was.
        await act(h, Action.REQUEST_EXTENSION, HANDLER, days=5, reason="再延")
        await h.signal("decide-extension", {"approved": False, "comment": "不同意"})
        await env.sleep(timedelta(seconds=1))
        s2 = await state(h)
        assert due(s2, "overall") == due(s, "overall") and due(s2, "handling") == due(s, "handling")
        assert s2.extensions[-1].approved is False and s2.extended_days == 10
        # The old handling instant passes without an overdue mark: the timer moved.
        await env.sleep(handling0 - await now(env) + timedelta(minutes=5))
        s3 = await state(h)
        assert not s3.overdue and "overdue" not in actions(s3)
        await env.sleep(due(s3, "handling") - await now(env) + timedelta(minutes=1))
        s4 = await state(h)
        assert s4.overdue and actions(s4).count("overdue") == 1
        assert sink.kinds(h.id).count("extension_decided") == 2


async def test_extensions_past_20_days_in_total_refused(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.ACCEPT, HANDLER, route="self")
        await act(h, Action.REQUEST_EXTENSION, HANDLER, days=15, reason="复杂")
        await h.signal("decide-extension", {"approved": True})
        await env.sleep(timedelta(seconds=1))
        assert (await state(h)).extended_days == 15
        assert "R-19" in await refusal(h, Action.REQUEST_EXTENSION, HANDLER, days=6, reason="还要")
        await act(h, Action.REQUEST_EXTENSION, HANDLER, days=5, reason="最后一次")
        # The leader may not approve more than requested.
        await h.signal("decide-extension", {"approved": True, "days": 6})
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert s.extended_days == 15 and "5 were requested" in s.ignored_signals[-1].reason


# --- supervision, appeal, rehandling (R-28..R-31) -----------------------------------------


async def test_appeal_then_rehandle_then_new_decision(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await referred_case(client, task_queue, env)
        await decide(h, finding="unsubstantiated")
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="经查不成立", appeal_route="可申诉")
        await act(h, Action.RECORD_SATISFACTION, HANDLER, rating="dissatisfied", comment="不认可")
        s = await act(h, Action.APPEAL, COMPLAINANT, reason="调查不充分")
        assert s.status.value == "appealed" and s.supervised and due(s, "supervision")
        s = await act(h, Action.RESOLVE_SUPERVISION, SUPERVISOR, action="rehandle", comment="责成重新处理")
        assert s.status.value == "referred" and s.decision is None and not s.supervised
        assert due(s, "handling") == workdays.add_working_days(s.actions[-1].at, 5)
        s = await decide(h, finding="partially_substantiated")
        assert s.decision.finding.value == "partially_substantiated"
        await rectified(h)
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="重新处理：部分成立", appeal_route="可申诉")
        s = await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="satisfied")
        assert s.outcome.value == "concluded"
        assert actions(s).count("report-result") == 2


async def test_appeal_upheld_archives(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await referred_case(client, task_queue, env)
        await decide(h)
        await act(h, Action.GIVE_FEEDBACK, HANDLER, message="成立", appeal_route="可申诉")
        await rectified(h)
        await act(h, Action.APPEAL, COMPLAINANT, reason="处理太轻")
        s = await act(h, Action.RESOLVE_SUPERVISION, SUPERVISOR, action="uphold")
        assert (s.status.value, s.outcome.value) == ("archived", "concluded")


async def test_supervisor_takes_over_a_referred_case(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, _ = await referred_case(client, task_queue, env)
        await h.signal("escalate", {"reason": "媒体曝光", "source": "media"})
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert s.supervised and s.escalations[-1].source.value == "media"
        s = await act(h, Action.RESOLVE_SUPERVISION, SUPERVISOR, action="take_over")
        assert s.status.value == "investigating" and s.handling_unit is None
        s = await decide(h, actor=HANDLER)
        assert s.status.value == "decided"


# --- repeat complaints (R-45) -------------------------------------------------------------


async def test_linked_duplicate_gets_the_same_feedback(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        primary = await start_case(client, task_queue, received_at=await now(env))
        dup = await start_case(client, task_queue, received_at=await now(env))
        s = await act(dup, Action.LINK_DUPLICATE, HANDLER, primary=primary.id)
        assert (s.outcome.value, s.primary) == ("merged", primary.id)
        p = await state(primary)
        assert [link.number for link in p.linked] == [dup.id]
        await act(primary, Action.ACCEPT, HANDLER, route="self")
        await decide(primary, actor=HANDLER)
        await act(primary, Action.GIVE_FEEDBACK, HANDLER, message="已处理", appeal_route="可申诉")
        feedback = await eventually(lambda: [n for n in sink.notifications if n.kind.value == "feedback"])
        assert {n.about_case for n in feedback} == {None, dup.id}
        assert p.linked[0].complainant_ref in {n.complainant_ref for n in feedback}


async def test_link_to_unknown_case_refused(client, task_queue, env):
    async with running_worker(client, task_queue):
        dup = await start_case(client, task_queue, received_at=await now(env))
        assert "primary" in await refusal(dup, Action.LINK_DUPLICATE, HANDLER, primary="TS-NO-SUCH-CASE")
        assert (await state(dup)).status.value == "registered"


# --- signals never raise; invalid updates leave no trace ----------------------------------


async def test_malformed_signals_are_ignored_and_the_case_goes_on(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        # The shapes the `temporal workflow signal --input ...` CLI would send by mistake.
        await h.signal("decide-extension", {"approved": "maybe", "days": "ten"})
        await h.signal("escalate", "just a string")
        await h.signal("escalate", {"source": "aliens"})
        await h.signal("decide-extension", {"approved": True})  # nothing pending
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        reasons = [(i.signal, i.reason) for i in s.ignored_signals]
        assert len(reasons) == 4
        assert "approved" in reasons[0][1] and "malformed" in reasons[0][1]
        assert reasons[3] == ("decide-extension", "no extension request is pending")
        s = await act(h, Action.ACCEPT, HANDLER, route="self")
        assert s.status.value == "investigating"


async def test_invalid_update_rejected_with_nothing_in_history(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        before = await quiet_history_length(h)
        cause = await refusal(h, Action.GIVE_FEEDBACK, HANDLER, message="x", appeal_route="y")
        assert "not allowed in status 'registered'" in cause
        assert "accept" in cause
        assert "may not perform" in await refusal(h, Action.ACCEPT, TAX, route="self")
        assert await quiet_history_length(h) == before
        assert (await state(h)).actions[-1].action == "register"


async def test_state_lists_allowed_actions_per_role(client, task_queue, env):
    async with running_worker(client, task_queue):
        h, s = await referred_case(client, task_queue, env)
        assert set(s.allowed_actions["unit"]) == {
            "report-result",
            "request-extension",
            "return-referral",
            "record-investigation",
        }
        assert s.allowed_actions["handler"] == []
        assert s.allowed_actions["leader"] == []


# --- provisional deadlines (R-43) ---------------------------------------------------------


async def test_provisional_deadlines_recomputed_after_holiday_data_added(client, task_queue, env, tmp_path):
    async with running_worker(client, task_queue):
        # Registered on the last working day of 2026: the acceptance limit runs into 2027,
        # for which no official data exists yet, so it is provisional.
        h = await start_case(client, task_queue, received_at=bj(2026, 12, 31, 10, 0))
        s = await state(h)
        acc = next(d for d in s.deadlines if d.kind.value == "acceptance")
        assert acc.provisional
        # Statutory-holidays fallback: 1/1 (元旦) off, 1/4=1, 1/5=2, 1/6=3, 1/7=4, 1/8=5.
        assert acc.due_at == bj(2027, 1, 8, 23, 59, 59)
        (tmp_path / "2027.toml").write_text(
            "holidays = [2027-01-01, 2027-01-04]\nworkdays = [2027-01-09]\n", encoding="utf-8"
        )
        workdays.set_holidays_dir(tmp_path)
        try:
            await h.signal("recompute-deadlines", {})
            await env.sleep(timedelta(seconds=1))
            s = await state(h)
        finally:
            workdays.set_holidays_dir(None)
        acc = next(d for d in s.deadlines if d.kind.value == "acceptance")
        # With 1/1 and 1/4 off and Sat 1/9 working: 1/5=1, 1/6=2, 1/7=3, 1/8=4, 1/9=5.
        assert (acc.due_at, acc.provisional) == (bj(2027, 1, 9, 23, 59, 59), False)
        assert actions(s)[-1] == "recompute-deadlines"


def test_official_data_covers_today() -> None:
    assert workdays.has_official_data(date(2026, 11, 27).year)


# --- investigation (R-21, R-22) -----------------------------------------------------------


async def test_document_request_answered_late_marked_overdue_and_reminded_once(client, task_queue, env):
    async with running_worker(client, task_queue) as sink:
        h, _ = await referred_case(client, task_queue, env)
        s = await act(
            h,
            Action.RECORD_INVESTIGATION,
            TAX,
            kind="request_documents",
            note="请被投诉窗口提交书面说明",
            party="办税服务厅",
        )
        step = s.investigation[-1]
        reply = next(d for d in s.deadlines if d.kind.value == "document_reply")
        assert step.reply_due == reply.due_at == workdays.add_working_days(step.at, 5)
        await env.sleep(reply.due_at - await now(env) + timedelta(hours=2))
        s = await state(h)
        reply = next(d for d in s.deadlines if d.kind.value == "document_reply")
        assert reply.overdue and reply.reminded and s.overdue
        # The late reply is the respondent's fault: marked and warned, not escalated for it.
        assert "overdue" not in [e.source.value for e in s.escalations if "材料" in e.reason]
        await env.sleep(timedelta(days=1))
        s = await act(h, Action.RECORD_INVESTIGATION, TAX, kind="explanation_received", note="已收到说明")
        assert s.investigation[-1].answered_late is True
        assert [a.detail.get("deadline") for a in s.actions if a.action == "reminder"].count(
            "document_reply"
        ) == 1
        assert [a.detail.get("deadline") for a in s.actions if a.action == "overdue"].count(
            "document_reply"
        ) == 1
        warned = [
            n
            for n in sink.notifications
            if n.kind.value == "overdue" and n.data.get("deadline") == "document_reply"
        ]
        assert {n.recipient.value for n in warned} == {"unit", "supervisor"} and len(warned) == 2
        s = await act(h, Action.RECORD_INVESTIGATION, TAX, kind="order_to_remedy", note="责令补办")
        assert [i.kind.value for i in s.investigation] == [
            "request_documents",
            "explanation_received",
            "order_to_remedy",
        ]


async def test_explanation_without_request_refused(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        await act(h, Action.ACCEPT, HANDLER, route="self")
        cause = await refusal(h, Action.RECORD_INVESTIGATION, HANDLER, kind="explanation_received", note="x")
        assert "no request for documents" in cause


async def test_control_characters_refused_by_updates_and_ignored_in_signals(client, task_queue, env):
    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await now(env))
        with pytest.raises(Exception) as e:  # refused before it reaches the case
            await act(h, Action.REJECT, HANDLER, reason="x\u0000", basis="b", guidance="g")
        assert "U+0000" in str(e.value) or "U+0000" in str(getattr(e.value, "cause", ""))
        await h.signal("escalate", {"reason": "媒体\u0000曝光", "source": "media"})
        await env.sleep(timedelta(seconds=1))
        s = await state(h)
        assert s.status.value == "registered" and not s.escalations
        assert "U+0000" in s.ignored_signals[-1].reason
