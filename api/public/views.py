"""`/v1/public/complaints`: the complainant follows the case with the access code (R-06)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Cases, ComplaintNumber
from api.errors import R404, R409, R422, R503
from api.public import service
from api.public.schemas import AppealBody, PublicProgress, SatisfactionBody
from domain.models import Action

router = APIRouter(prefix="/v1/public/complaints", tags=["public"])

AccessCode = Annotated[
    str | None,
    Query(
        max_length=32,
        description="The access code given at registration (required; a wrong or missing code "
        "is answered like an unknown number).",
        examples=["K7PX3MWQ"],
    ),
]


@router.get("/{number}", summary="Progress of my complaint", responses={**R404, **R503})
async def get_progress(
    number: ComplaintNumber, cases: Cases, code: AccessCode = None
) -> PublicProgress:
    """Status, deadlines, feedback and finding; nothing about other people."""
    return await service.progress(cases, number, code)


@router.post(
    "/{number}/satisfaction",
    summary="Answer the callback",
    responses={**R404, **R409, **R422, **R503},
)
async def record_satisfaction(
    number: ComplaintNumber, body: SatisfactionBody, cases: Cases, code: AccessCode = None
) -> PublicProgress:
    """回访 Say how satisfied you are with the result (R-27)."""
    return await service.public_act(cases, Action.RECORD_SATISFACTION, number, code, body)


@router.post(
    "/{number}/appeal", summary="Appeal the decision", responses={**R404, **R409, **R422, **R503}
)
async def appeal(
    number: ComplaintNumber, body: AppealBody, cases: Cases, code: AccessCode = None
) -> PublicProgress:
    """申诉 Appeal the decision; the supervisor reviews it (R-28)."""
    return await service.public_act(cases, Action.APPEAL, number, code, body)
