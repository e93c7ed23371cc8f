"""The complainant's side of a case: found by number and access code, read and answered as
role `complainant` (R-06, R-27, R-28)."""

from __future__ import annotations

import hashlib
import hmac

from api.centers import service as centers
from api.complaints import queries as q
from api.complaints.intake import hash_code
from api.complaints.service import NUMBER_RE, CaseService, utcnow
from api.errors import not_found
from api.public.schemas import (
    PublicDeadline,
    PublicDecision,
    PublicFeedback,
    PublicProgress,
    PublicSatisfaction,
)
from domain import lifecycle
from domain.actions import ACTION_INPUTS
from domain.clocks import PUBLIC
from domain.models import Action, Actor, CaseState, Model, Outcome, Role
from domain.workdays import BEIJING

COMPLAINANT = Actor(id="complainant", role=Role.COMPLAINANT)

_DUMMY_HASH = hashlib.sha256(b"no such complaint").hexdigest()


async def public_state(cases: CaseService, number: str, code: str | None) -> CaseState:
    """The case for its complainant; a wrong or missing code is the same 404 as no case."""
    row = await q.get_case(cases.pool, number) if NUMBER_RE.match(number) else None
    stored = row.access_code_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(stored, hash_code(code or ""))
    if row is None or not code or not matches or not row.workflow_started:
        raise not_found()
    return await cases.query(number)


async def progress(cases: CaseService, number: str, code: str | None) -> PublicProgress:
    """The progress page's data; a forwarded case says where it went on (R-12)."""
    state = await public_state(cases, number, code)
    forwarded = None
    if state.outcome == Outcome.FORWARDED:  # where the case went on (another center)
        forwarded = await centers.forwarded_case(cases.pool, number)
    return public_view(state, forwarded_case=forwarded)


async def public_act(
    cases: CaseService, action: Action, number: str, code: str | None, body: Model
) -> PublicProgress:
    """The complainant's callback answer or appeal, as an Update by role `complainant`."""
    state = await public_state(cases, number, code)
    data = await centers.action_fields(cases.pool, action, state, body.model_dump(), None)
    inp = ACTION_INPUTS[action].model_validate({**data, "actor": COMPLAINANT.model_dump()})
    cases.check(action, state, inp)
    return public_view(await cases.update(number, action, inp, None))


def public_view(state: CaseState, *, forwarded_case: str | None = None) -> PublicProgress:
    """What the complainant sees: no staff names, nothing about other people; the clocks
    the complainant is shown (`domain.clocks.PUBLIC`), not the internal ones."""
    d = state.decision
    return PublicProgress(
        number=state.number, status=state.status,
        outcome=state.outcome, received_at=state.received_at.astimezone(BEIJING),
        accepted_at=state.accepted_at.astimezone(BEIJING) if state.accepted_at else None,
        deadlines=[
            PublicDeadline(kind=x.kind, due_at=x.due_at.astimezone(BEIJING))
            for x in state.open_deadlines() if x.kind in PUBLIC
        ],
        decision=PublicDecision(finding=d.finding, decided_at=d.decided_at) if d else None,
        feedback=PublicFeedback(**state.feedback.model_dump()) if state.feedback else None,
        satisfaction=PublicSatisfaction(**state.satisfaction.model_dump())
        if state.satisfaction else None,
        allowed_actions=lifecycle.allowed_actions(state, COMPLAINANT, utcnow()),
        forwarded_case=forwarded_case or state.forwarded_case,
    )
