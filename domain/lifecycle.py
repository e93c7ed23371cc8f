"""Which action is allowed in which status, for which role: the rules as one table.

Pure functions, no Temporal import: the workflow's Update validators, the API (to answer 403/409
before touching Temporal and to list `allowed_actions`) and plain unit tests all use them.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import ACTIONS
from domain.models import (
    AcceptInput,
    Action,
    ActionInput,
    Actor,
    CaseState,
    Category,
    DeadlineKind,
    InvestigationKind,
    Rating,
    RecordInvestigationInput,
    RecordSatisfactionInput,
    RectificationState,
    ReportRectificationInput,
    RequestExtensionInput,
    ResolveSupervisionInput,
    Role,
    Route,
    Status,
    SupervisionChoice,
)

S = Status

#: action -> status -> roles that may perform it there (`domain.actions.ACTIONS`).
TRANSITIONS: dict[Action, dict[Status, frozenset[Role]]] = {a: x.allowed for a, x in ACTIONS.items()}

#: Which supervision resolutions make sense in which status (R-28, R-31).
SUPERVISION_CHOICES: dict[Status, frozenset[SupervisionChoice]] = {
    S.REGISTERED: frozenset({SupervisionChoice.UPHOLD}),
    S.OPINION_PENDING: frozenset({SupervisionChoice.UPHOLD, SupervisionChoice.TAKE_OVER}),
    S.OPINION_REVIEW: frozenset({SupervisionChoice.UPHOLD, SupervisionChoice.TAKE_OVER}),
    **{
        s: frozenset(SupervisionChoice)
        for s in (S.INVESTIGATING, S.REFERRED, S.DECIDED, S.AWAITING_CALLBACK, S.APPEALED)
    },
}

#: R-16: the categories that may be transferred to discipline inspection.
DISCIPLINE_CATEGORIES = frozenset({Category.CORRUPTION, Category.ILLEGAL_FEE, Category.ABUSE_OF_POWER})


class NotAllowed(Exception):
    """An action refused by the rules. `code` maps to HTTP: 403 role, 409 status/state, 422 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def role_allowed(action: Action, status: Status, role: Role) -> bool:
    return role in TRANSITIONS[action].get(status, frozenset())


def _guard(action: Action, state: CaseState, actor: Actor, now: datetime) -> str | None:
    """State conditions beyond the table; returns why the action is not possible, or None."""
    if action in (
        Action.REPORT_RESULT,
        Action.REQUEST_EXTENSION,
        Action.RETURN_REFERRAL,
        Action.RECORD_INVESTIGATION,
    ) and actor.role == Role.UNIT:
        if state.status == Status.INVESTIGATING:  # only the units of a joint case
            if state.route != Route.JOINT or actor.unit not in state.joint_units:
                return f"unit {actor.unit!r} is not a participating unit of this case"
            if action not in (Action.REPORT_RESULT, Action.RECORD_INVESTIGATION):
                return "a participating unit reports its part; the center decides the rest"
        elif actor.unit != state.handling_unit:
            return f"the case is assigned to unit {state.handling_unit!r}, not {actor.unit!r}"
    if action == Action.RETURN_REFERRAL:
        window = state.open_deadline(DeadlineKind.RETURN_WINDOW)
        if window is None or now > window.due_at:
            return "a referral can only be returned within 1 working day of receipt (R-44)"
    if action == Action.REQUEST_EXTENSION:
        if any(e.decided_at is None for e in state.extensions):
            return "an extension request is already waiting for the leader's decision"
    rect = state.open_rectification()
    if action == Action.REPORT_RECTIFICATION:
        if rect is None or rect.state != RectificationState.OPEN:
            return "no rectification is waiting for the responsible unit's report (R-37)"
        if actor.role == Role.UNIT and actor.unit != rect.unit:
            return f"the rectification is for unit {rect.unit!r}, not {actor.unit!r}"
    if action == Action.REVIEW_RECTIFICATION and (
        rect is None or rect.state != RectificationState.REPORTED
    ):
        return "no rectification report is waiting for review (R-37)"
    if action == Action.APPEAL and rect is not None and rect.held_outcome is not None:
        return "the callback is over; the case waits only for the rectification's acceptance"
    if action == Action.RESOLVE_SUPERVISION and not state.open_escalations():
        return "there is no open supervision (escalation or appeal) to resolve"
    if action == Action.RECORD_SATISFACTION and state.satisfaction is not None:
        return "satisfaction was already recorded for this callback"
    return None


def allowed_actions(state: CaseState, actor: Actor, now: datetime) -> list[str]:
    """The actions this actor may take now (ignoring the body)."""
    return [
        a.value
        for a in Action
        if role_allowed(a, state.status, actor.role) and _guard(a, state, actor, now) is None
    ]


def allowed_by_role(state: CaseState, now: datetime) -> dict[str, list[str]]:
    """Allowed actions per role; the handling unit is taken to be the assigned one."""
    out: dict[str, list[str]] = {}
    rect = state.open_rectification()
    for role in (Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.UNIT, Role.COMPLAINANT):
        unit = state.handling_unit or (state.joint_units[0] if state.joint_units else None)
        if rect is not None:  # after the decision, the unit that must rectify acts
            unit = rect.unit
        actor = Actor(id="*", role=role, unit=unit if role == Role.UNIT else None)
        out[role.value] = allowed_actions(state, actor, now)
    return out


def check(
    action: Action, state: CaseState, inp: ActionInput, now: datetime, *, max_extension_days: int = 20
) -> None:
    """Raise `NotAllowed` unless `inp.actor` may perform `action` with this body now."""
    actor = inp.actor
    if state.status == Status.ARCHIVED:
        raise NotAllowed("invalid_status", f"case {state.number} is archived; no action is allowed")
    if not any(actor.role in roles for roles in TRANSITIONS[action].values()):
        raise NotAllowed("forbidden", f"role {actor.role.value!r} may not perform {action.value!r}")
    if not role_allowed(action, state.status, actor.role):
        allowed = allowed_actions(state, actor, now)
        raise NotAllowed(
            "invalid_status",
            f"{action.value!r} is not allowed in status {state.status.value!r} for role "
            f"{actor.role.value!r}; allowed now: {', '.join(allowed) or 'none'}",
        )
    why = _guard(action, state, actor, now)
    if why:
        raise NotAllowed("invalid_state", why)
    _check_body(action, state, inp, max_extension_days)


def _check_body(action: Action, state: CaseState, inp: ActionInput, max_ext: int) -> None:
    if isinstance(inp, AcceptInput):
        if inp.route == Route.DISCIPLINE and state.category not in DISCIPLINE_CATEGORIES:
            raise NotAllowed(
                "invalid_body",
                "route 'discipline' (R-16) is for categories "
                + ", ".join(sorted(c.value for c in DISCIPLINE_CATEGORIES)),
            )
        if inp.route == Route.JOINT and len(inp.units) < 2:
            raise NotAllowed("invalid_body", "units: joint handling (R-15) needs at least 2 units")
    if isinstance(inp, RequestExtensionInput) and state.extended_days + inp.days > max_ext:
        raise NotAllowed(
            "invalid_body",
            f"days: extensions are capped at {max_ext} days in total (R-19); "
            f"{state.extended_days} already granted, {max_ext - state.extended_days} left",
        )
    if isinstance(inp, RecordSatisfactionInput) and inp.rating == Rating.NO_RESPONSE:
        raise NotAllowed("invalid_body", "rating: 'no_response' is set only when the window ends")
    if (
        isinstance(inp, RecordInvestigationInput)
        and inp.kind == InvestigationKind.EXPLANATION_RECEIVED
        and state.open_deadline(DeadlineKind.DOCUMENT_REPLY) is None
    ):
        raise NotAllowed("invalid_body", "kind: no request for documents is waiting for a reply")
    if (
        isinstance(inp, RecordInvestigationInput)
        and inp.kind == InvestigationKind.REQUEST_DOCUMENTS
        and state.open_deadline(DeadlineKind.DOCUMENT_REPLY) is not None
    ):
        raise NotAllowed(
            "invalid_body", "kind: a request for documents is already waiting for its reply"
        )
    if isinstance(inp, ReportRectificationInput):
        rect = state.open_rectification()
        due = {m.value for m in rect.measures} if rect else set()
        given = {m.value for m in inp.measures}
        if given != due:
            raise NotAllowed(
                "invalid_body",
                "measures: report every measure decided: " + ", ".join(sorted(due))
                + (f" (not {', '.join(sorted(given - due))})" if given - due else ""),
            )
    if isinstance(inp, ResolveSupervisionInput):
        choices = SUPERVISION_CHOICES.get(state.status, frozenset())
        if inp.action not in choices:
            raise NotAllowed(
                "invalid_body",
                f"action: {inp.action.value!r} is not possible in status {state.status.value!r}; "
                f"possible: {', '.join(sorted(c.value for c in choices))}",
            )
