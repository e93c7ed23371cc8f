"""`/v1/complaints`: intake, list, the case, its actions (Updates), signals, history, outbox.

HTTP only: what each route does is in `api/complaints/service.py` (and `intake.py`), the
timeline in `api/timeline/`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from api.auth import User
from api.complaints.bodies import ACTION_BODIES, ACTION_DOCS, DecideExtensionBody, EscalateBody
from api.complaints.queries import ListFilter
from api.complaints.schemas import (
    AnyCaseView,
    CaseView,
    ComplaintCreated,
    ComplaintsPublic,
    NotificationsPublic,
    SignalAccepted,
)
from api.deps import (
    Cases,
    ComplaintNumber,
    HistoryUser,
    IntakeUser,
    StaffUser,
    VisibleCase,
    signal_sender,
)
from api.errors import (
    R401,
    R403,
    R404,
    R409,
    R422,
    R503,
    STAFF_ERRORS,
    ApiError,
    Responses,
    err_doc,
)
from api.ratelimit import R429, action_rate_limit
from api.timeline.page import TIMELINE_RESPONSES, Download, TimelineFormat, timeline_response
from api.timeline.schemas import CaseTimeline
from api.timeline.service import case_timeline
from domain.intake import ComplaintCreate
from domain.models import (
    OUTSIDE_ESCALATION_SOURCES,
    Action,
    Category,
    Channel,
    DecideExtensionInput,
    EscalateInput,
    Status,
)

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])

#: Who may send each signal through the API (`domain.actions.SIGNALS`).
ExtensionDecider = Annotated[User, Depends(signal_sender("decide-extension"))]
Escalator = Annotated[User, Depends(signal_sender("escalate"))]
#: 429 past the limits per account and case (api/ratelimit.py), before the body is read.
RATE_LIMIT = Depends(action_rate_limit)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", min_length=1, max_length=200,
        description="Makes retries safe: the same key and body give the same case (and a fresh "
        "access code); the same key with another body is a 409. On an action, a retry with the "
        "same key is the same Workflow Update, applied once.",
        examples=["2f6c1d7e-intake-0001"],
    ),
]


@router.post(
    "",
    status_code=201,
    summary="Register a complaint",
    responses={**R401, **R403, 409: err_doc("Idempotency-Key reused with a different body."),
               **R422, **R503},
)
async def create_complaint(
    body: ComplaintCreate, user: IntakeUser, cases: Cases, idempotency_key: IdempotencyKey = None
) -> ComplaintCreated:
    """Register a complaint (R-03) and start its workflow; intake and handler roles."""
    return await cases.register(body, user, key=idempotency_key)


@router.get("", summary="List and filter cases", responses={**R401, **R403, **R422, **R503})
async def list_complaints(
    user: StaffUser,
    cases: Cases,
    status: Annotated[Status | None, Query(description="Only this status.")] = None,
    unit: Annotated[
        str | None, Query(max_length=64, description="Only this handling unit (承办单位).",
                          examples=["tax-bureau"])
    ] = None,
    category: Annotated[Category | None, Query(description="Only this category.")] = None,
    channel: Annotated[Channel | None, Query(description="Only this channel.")] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (true) or not.")] = None,
    supervised: Annotated[bool | None, Query(description="Only supervised (true) or not.")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Number prefix, or words of the summary.",
                          examples=["TS-20261127"])
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="Rows per page (≤ 100).")] = 20,
) -> ComplaintsPublic:
    """Search the read model; a handling unit sees only its own cases, nobody the complainant."""
    f = ListFilter(
        center=user.center, status=status, handling_unit=unit, category=category,
        channel=channel, overdue=overdue, supervised=supervised, q=q or None,
    )
    return await cases.search(user, f, page=page, page_size=page_size)


@router.get("/{number}", summary="One case", responses=STAFF_ERRORS)
async def get_complaint(case: VisibleCase, user: StaffUser, cases: Cases) -> AnyCaseView:
    """The case from its workflow, with the caller's allowed actions; personal data by role;
    a handling unit gets only the fields of its allow-list (`UnitCaseView`).
    A case whose workflow is still being opened: its registration, `opening` true, no actions."""
    if isinstance(case, CaseView):  # being opened: read from PostgreSQL
        return case
    return await cases.view(case, user, with_file=True)


def _action_route(action: Action) -> Any:
    async def run_action(
        number: ComplaintNumber,
        body: Any,
        user: StaffUser,
        cases: Cases,
        idempotency_key: IdempotencyKey = None,
    ) -> AnyCaseView:
        return await cases.act(action, number, body, user, key=idempotency_key)

    # FastAPI validates the body against this annotation: each action gets its own model.
    run_action.__annotations__["body"] = ACTION_BODIES[action]
    run_action.__name__ = "action_" + action.value.replace("-", "_")
    run_action.__doc__ = ACTION_DOCS[action]
    return run_action


_ACTION_ERRORS: Responses = {**STAFF_ERRORS, **R409, **R422, **R429}

for _action in Action:  # one route per Workflow Update, each with its own body schema
    router.add_api_route(
        f"/{{number}}/actions/{_action.value}",
        _action_route(_action),
        methods=["POST"],
        response_model=AnyCaseView,
        summary=f"Action: {_action.value}",
        description=ACTION_DOCS[_action]
        + "\n\nChecked against the rules (`domain.lifecycle`) before Temporal is asked; "
        "200 with the new state.",
        responses=_ACTION_ERRORS,
        tags=["actions"],
        dependencies=[RATE_LIMIT],
    )


@router.post("/{number}/actions/{action}", include_in_schema=False)
async def unknown_action(number: str, action: str) -> None:
    """Any other action name: 404 listing the valid ones."""
    raise ApiError(404, "unknown_action", f"unknown action {action!r}",
                   valid_actions=[a.value for a in Action])


def _signal_route(name: str) -> Any:
    """The route of a Signal: accepted (202) once sent; Temporal applies it later."""
    return router.post(f"/{{number}}/signals/{name}", status_code=202, summary=f"Signal: {name}",
                       responses={**STAFF_ERRORS, **R409, **R422, **R429}, tags=["signals"],
                       dependencies=[RATE_LIMIT])


@_signal_route("decide-extension")
async def decide_extension(
    number: ComplaintNumber, body: DecideExtensionBody, user: ExtensionDecider, cases: Cases
) -> SignalAccepted:
    """延期审批 The leader decides the pending extension request (R-18..R-20); 202."""
    inp = DecideExtensionInput(**body.model_dump(), actor=user.actor())
    await cases.signal("decide-extension", number, inp, user)
    return SignalAccepted()


@_signal_route("escalate")
async def escalate(
    number: ComplaintNumber, body: EscalateBody, user: Escalator, cases: Cases
) -> SignalAccepted:
    """督办 Put the case under supervision (R-29); supervisor or leader; 202. The sources
    `overdue`, `major` and `appeal` are the workflow's own (422)."""
    if body.source not in OUTSIDE_ESCALATION_SOURCES:
        raise ApiError(422, "invalid_body",
                       f"source: {body.source.value!r} is set by the workflow itself; use one of "
                       + ", ".join(sorted(s.value for s in OUTSIDE_ESCALATION_SOURCES)),
                       field="source")
    inp = EscalateInput(**body.model_dump(), actor=user.actor())
    await cases.signal("escalate", number, inp, user)
    return SignalAccepted()


@router.get(
    "/{number}/history", summary="Timeline of the case", response_model=CaseTimeline,
    responses={**STAFF_ERRORS, **TIMELINE_RESPONSES},
)
async def get_history(
    number: ComplaintNumber, user: HistoryUser, cases: Cases,
    format: TimelineFormat = "json", download: Download = False,
) -> Any:
    """Who did what, when (Beijing time), with what effect, read from the workflow history
    (an archived case's from the history in its archive); JSON or a printable page (卷宗).
    Auditor, handler, leader, supervisor."""
    return timeline_response(await case_timeline(cases, number, user), format, download)


@router.get(
    "/{number}/notifications", summary="Outbox of the case",
    responses={**R401, **R403, **R404, **R503},
)
async def get_notifications(
    number: ComplaintNumber, user: HistoryUser, cases: Cases
) -> NotificationsPublic:
    """The notifications written for the case, without contact data."""
    return await cases.notifications(number, user)
