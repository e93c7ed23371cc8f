"""The transition table: which action, in which status, for which role."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain import lifecycle
from domain.actions import ACTION_INPUTS
from domain.lifecycle import TRANSITIONS, NotAllowed
from domain.models import (
    Action,
    Actor,
    CaseState,
    Category,
    Channel,
    Deadline,
    DeadlineKind,
    Escalation,
    EscalationSource,
    Form,
    Grade,
    LimitUnit,
    Measure,
    Rectification,
    RectificationState,
    Role,
    Route,
    Status,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=8)))

BODIES = {
    Action.ACCEPT: {"route": "self"},
    Action.REJECT: {"reason": "r", "basis": "b", "guidance": "g"},
    Action.FORWARD: {"to": "x", "reason": "r"},
    Action.SUBMIT_OPINION: {"handling_unit": "tax-bureau", "opinion": "o"},
    Action.APPROVE_OPINION: {"approved": True},
    Action.REPORT_RESULT: {"finding": "substantiated", "measures": ["none"], "report": "r"},
    Action.REQUEST_EXTENSION: {"days": 5, "reason": "r"},
    Action.RETURN_REFERRAL: {"reason": "r"},
    Action.LINK_DUPLICATE: {"primary": "TS-1"},
    Action.RESOLVE_SUPERVISION: {"action": "uphold"},
    Action.GIVE_FEEDBACK: {"message": "m", "appeal_route": "a"},
    Action.RECORD_SATISFACTION: {"rating": "satisfied"},
    Action.APPEAL: {"reason": "r"},
    Action.RECORD_INVESTIGATION: {"kind": "site_visit", "note": "n"},
    Action.REPORT_RECTIFICATION: {"measures": ["written_warning"], "report": "r"},
    Action.REVIEW_RECTIFICATION: {"accepted": True},
}


def case(status: Status, **kw: object) -> CaseState:
    s = CaseState(
        number="TS-1",
        status=status,
        channel=Channel.HOTLINE,
        form=Form.WRITTEN,
        category=Category.ATTITUDE,
        grade=Grade.BASIC,
        respondent_unit="tax-bureau",
        complainant_ref="c",
        policy="default",
        policy_version=1,
        received_at=NOW,
        registered_at=NOW,
        handling_unit="tax-bureau",
        **{"route": Route.JOINT, "joint_units": ["tax-bureau", "housing-bureau"], **kw},
    )
    # Give every guard what it needs, so only the table decides (a unit acting while the case
    # is investigating is a participating unit of a joint case, R-15).
    s.deadlines.append(
        Deadline(
            kind=DeadlineKind.RETURN_WINDOW,
            start=NOW,
            amount=1,
            unit=LimitUnit.WORKING_DAYS,
            due_at=NOW + timedelta(days=1),
        )
    )
    s.escalations.append(Escalation(source=EscalationSource.MANUAL, reason="x", at=NOW))
    s.rectification = Rectification(unit="tax-bureau", measures=[Measure.WRITTEN_WARNING], opened_at=NOW)
    return s


def actor(role: Role) -> Actor:
    return Actor(id="a", role=role, unit="tax-bureau" if role == Role.UNIT else None)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize(
    "role",
    [Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.UNIT, Role.COMPLAINANT, Role.INTAKE, Role.AUDITOR],
)
def test_table_decides(action: Action, status: Status, role: Role) -> None:
    state = case(status)
    if action == Action.REVIEW_RECTIFICATION:  # a report waits for review
        state.rectification.state = RectificationState.REPORTED
    inp = ACTION_INPUTS[action](actor=actor(role), **BODIES[action])
    allowed = role in TRANSITIONS[action].get(status, frozenset())
    if action == Action.RESOLVE_SUPERVISION and status == Status.ARCHIVED:
        allowed = False
    if allowed:
        lifecycle.check(action, state, inp, NOW)
    else:
        with pytest.raises(NotAllowed) as e:
            lifecycle.check(action, state, inp, NOW)
        never = not any(role in r for r in TRANSITIONS[action].values())
        assert e.value.code == ("forbidden" if never and status != Status.ARCHIVED else "invalid_status")


def test_refusal_names_status_and_allowed_actions() -> None:
    with pytest.raises(NotAllowed) as e:
        lifecycle.check(
            Action.GIVE_FEEDBACK,
            case(Status.REGISTERED),
            ACTION_INPUTS[Action.GIVE_FEEDBACK](actor=actor(Role.HANDLER), **BODIES[Action.GIVE_FEEDBACK]),
            NOW,
        )
    assert "'registered'" in e.value.message and "accept, reject, forward, link-duplicate" in e.value.message


def test_other_unit_may_not_report() -> None:
    inp = ACTION_INPUTS[Action.REPORT_RESULT](
        actor=Actor(id="h", role=Role.UNIT, unit="housing-bureau"), **BODIES[Action.REPORT_RESULT]
    )
    with pytest.raises(NotAllowed) as e:
        lifecycle.check(Action.REPORT_RESULT, case(Status.REFERRED), inp, NOW)
    assert e.value.code == "invalid_state" and "tax-bureau" in e.value.message


def test_extension_cap_is_twenty_days_in_total() -> None:
    s = case(Status.INVESTIGATING, extended_days=15)
    ok = ACTION_INPUTS[Action.REQUEST_EXTENSION](actor=actor(Role.HANDLER), days=5, reason="r")
    lifecycle.check(Action.REQUEST_EXTENSION, s, ok, NOW)
    too_many = ACTION_INPUTS[Action.REQUEST_EXTENSION](actor=actor(Role.HANDLER), days=6, reason="r")
    with pytest.raises(NotAllowed, match="R-19"):
        lifecycle.check(Action.REQUEST_EXTENSION, s, too_many, NOW)


def test_return_window_closes_after_one_working_day() -> None:
    inp = ACTION_INPUTS[Action.RETURN_REFERRAL](actor=actor(Role.UNIT), reason="r")
    with pytest.raises(NotAllowed, match="R-44"):
        lifecycle.check(Action.RETURN_REFERRAL, case(Status.REFERRED), inp, NOW + timedelta(days=2))


def test_allowed_actions_for_a_referred_case() -> None:
    assert lifecycle.allowed_by_role(case(Status.REFERRED), NOW) == {
        "handler": [],
        "leader": [],
        "supervisor": ["resolve-supervision"],
        "unit": ["report-result", "request-extension", "return-referral", "record-investigation"],
        "complainant": [],
    }
