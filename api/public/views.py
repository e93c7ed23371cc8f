"""`/v1/public/complaints`: the complainant follows the case with the access code (R-06), sent in
the `X-Access-Code` header, never in the URL (a `code` in the query string is refused with 422,
before anything is looked up); wrong codes are throttled per case and per client
(`api.ratelimit.CodeThrottle`, 429 with Retry-After). `POST /v1/complaints/{number}/access-code`:
the center reissues a lost code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from api.deps import Cases, ComplaintNumber, IntakeUser
from api.errors import R401, R403, R404, R409, R422, R503, ApiError
from api.public import service
from api.public.schemas import AccessCodeReissued, AppealBody, PublicProgress, SatisfactionBody
from api.ratelimit import R429, CodeThrottle, client_address
from domain.models import Action

#: Query parameters that would put an access code into a URL (and so into access logs).
CODE_IN_URL = ("code", "access_code", "access-code", "x-access-code")


def no_code_in_url(request: Request) -> None:
    """422 for an access code in the query string: it must travel in the `X-Access-Code`
    header (a URL is written to access logs, proxies and browser histories)."""
    for given in request.query_params:
        name = given.lower()
        if name in CODE_IN_URL:
            raise ApiError(
                422, "validation_error",
                f"{given}: the access code must not be sent in the URL; send it in the "
                "X-Access-Code header",
                fields=[{"field": given, "location": "query", "type": "code_in_url",
                         "message": "send the access code in the X-Access-Code header"}],
            )


router = APIRouter(prefix="/v1/public/complaints", tags=["public"],
                   dependencies=[Depends(no_code_in_url)])
#: The staff side: reissuing a lost code.
staff_router = APIRouter(prefix="/v1/complaints", tags=["complaints"])

AccessCode = Annotated[
    str | None,
    Header(
        alias="X-Access-Code",
        max_length=32,
        description="The access code given at registration (required; a wrong or missing code "
        "is answered like an unknown number). Never in the URL.",
        examples=["K7PX3MWQ"],
    ),
]


def code_throttle(request: Request, number: ComplaintNumber, cases: Cases) -> CodeThrottle:
    return CodeThrottle(cases.pool, cases.settings, number, client_address(request))


Throttle = Annotated[CodeThrottle, Depends(code_throttle)]


@router.get("/{number}", summary="Progress of my complaint",
            responses={**R404, **R422, **R429, **R503})
async def get_progress(
    number: ComplaintNumber, cases: Cases, throttle: Throttle, code: AccessCode = None
) -> PublicProgress:
    """Status, deadlines, feedback and finding; nothing about other people."""
    return await service.progress(cases, number, code, throttle)


@router.post(
    "/{number}/satisfaction",
    summary="Answer the callback",
    responses={**R404, **R409, **R422, **R429, **R503},
)
async def record_satisfaction(
    number: ComplaintNumber, body: SatisfactionBody, cases: Cases, throttle: Throttle,
    code: AccessCode = None,
) -> PublicProgress:
    """回访 Say how satisfied you are with the result (R-27)."""
    return await service.public_act(cases, Action.RECORD_SATISFACTION, number, code, body,
                                    throttle)


@router.post(
    "/{number}/appeal", summary="Appeal the decision",
    responses={**R404, **R409, **R422, **R429, **R503},
)
async def appeal(
    number: ComplaintNumber, body: AppealBody, cases: Cases, throttle: Throttle,
    code: AccessCode = None,
) -> PublicProgress:
    """申诉 Appeal the decision; the supervisor reviews it (R-28)."""
    return await service.public_act(cases, Action.APPEAL, number, code, body, throttle)


@staff_router.post(
    "/{number}/access-code", summary="Reissue a lost access code",
    responses={**R401, **R403, **R404, **R503},
)
async def reissue_access_code(
    number: ComplaintNumber, user: IntakeUser, cases: Cases
) -> AccessCodeReissued:
    """补发查询码 The complainant lost the access code: the center (intake or handler of the
    case's own center) issues a new one to give them; the old code stops working at once (also
    for the case's forwarded copies, R-12), the wrong codes counted for the case are forgotten,
    and the reissue is written to the access log."""
    return await service.reissue(cases.pool, number, user)
