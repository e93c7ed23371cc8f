"""`/v1/inspections`: inspection rounds (明查暗访督查, R-40) and their findings.

Rounds are `InspectionRoundWorkflow`s (workflows/inspection.py), started monthly by the Temporal
Schedule `inspection-rounds` or here by hand. A finding's facts are stored in PostgreSQL first;
the Update `submit-finding` carries only its id and a non-personal summary, and the round turns
it into a complaint with channel `inspection`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from api.auth import User
from api.deps import PoolDep, SettingsDep, TemporalDep, require
from api.errors import R401, R403, R404, R409, R422, R503, err_doc
from api.inspections import service
from api.inspections.schemas import (
    ExemptionIn,
    ExemptionOut,
    ExemptionsPublic,
    FindingIn,
    FindingOut,
    RoundClose,
    RoundDrawing,
    RoundOut,
    RoundsPublic,
    RoundStart,
)
from domain.models import Role

router = APIRouter(prefix="/v1/inspections", tags=["inspections"])

ViewUser = Annotated[
    User, Depends(require(Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR))
]
StarterUser = Annotated[User, Depends(require(Role.SUPERVISOR, Role.LEADER))]
InspectorUser = Annotated[User, Depends(require(Role.SUPERVISOR))]
LeaderUser = Annotated[User, Depends(require(Role.LEADER))]

ROUND_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
RoundId = Annotated[str, Path(pattern=ROUND_ID_PATTERN, description="The round (its workflow "
                                                                     "id).",
                              examples=["inspection-round-2026-12-01T01:00:00Z"])]

R_TEMPORAL = {**R503, 409: err_doc("The round is closed, or the finding is already recorded.")}


@router.get("", summary="List inspection rounds", responses={**R401, **R403, **R422, **R503})
async def list_rounds(
    user: ViewUser,
    pool: PoolDep,
    status: Annotated[str | None, Query(pattern="^(open|closed)$",
                                        description="Only open or closed rounds.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many, newest "
                                "first.")] = 50,
) -> RoundsPublic:
    """The center's rounds, newest first, with their draws; handler, leader, supervisor,
    auditor."""
    rounds = await service.list_rounds(pool, user.center, status=status, limit=limit)
    return RoundsPublic(data=rounds, count=len(rounds))


@router.get("/exemptions", summary="Exemptions of units with unresolved findings",
            responses={**R401, **R403, **R422, **R503})
async def list_exemptions(
    user: ViewUser, pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Newest first.")] = 100,
) -> ExemptionsPublic:
    """The center's exemptions (in force, expired or revoked), newest first."""
    data = await service.list_exemptions(pool, user.center, limit)
    return ExemptionsPublic(data=data, count=len(data))


@router.post("/exemptions", status_code=201, summary="Exempt a unit with unresolved findings",
             responses={**R401, **R403, **R422, **R503})
async def grant_exemption(body: ExemptionIn, user: LeaderUser, pool: PoolDep) -> ExemptionOut:
    """A unit with unresolved findings is drawn in every round until they are resolved (R-40),
    also when the register says `inspect: false`. Only a leader exempts it, with a reason, for
    at most 92 days; every round drawn meanwhile lists it under `exempted`. Leader."""
    return await service.grant_exemption(pool, user, body)


@router.post("/exemptions/{exemption_id}/revoke", summary="Revoke an exemption",
             responses={**R401, **R403, **R404, **R503})
async def revoke_exemption(
    exemption_id: Annotated[int, Path(ge=1, le=2**62)], user: LeaderUser, pool: PoolDep,
) -> ExemptionOut:
    """End an exemption now: the unit is drawn again from the next round. Leader."""
    return await service.revoke_exemption(pool, user, exemption_id)


@router.get("/{round_id}", summary="One inspection round", responses={**R401, **R403, **R404,
                                                                      **R503})
async def get_round(round_id: RoundId, user: ViewUser, pool: PoolDep) -> RoundOut:
    """The round, its draw (seed, register, mandatory and drawn units) and its findings."""
    return await service.get_round(pool, round_id, user)


@router.post(
    "",
    status_code=201,
    response_model=RoundOut,
    summary="Start an inspection round now",
    responses={201: {"description": "Started and drawn."},
               202: {"model": RoundDrawing, "description": "Started; the draw is not recorded "
                     "yet (the worker is busy or down)."},
               **R401, **R403, **R422, **R503},
)
async def start_round(
    body: RoundStart, user: StarterUser, pool: PoolDep, client: TemporalDep,
    settings: SettingsDep,
) -> Any:
    """Start a round outside the monthly schedule; 201 with its draw, or 202 if the draw is not
    recorded within a couple of seconds. Supervisor or leader."""
    round_id, out = await service.start_round(pool, client, settings, user, body)
    if out is None:
        return JSONResponse(RoundDrawing(round_id=round_id).model_dump(), status_code=202)
    return out


@router.post(
    "/{round_id}/findings",
    status_code=201,
    summary="Submit a finding (it becomes a complaint)",
    responses={**R401, **R403, **R404, **R422, **R_TEMPORAL},
)
async def submit_finding(
    round_id: RoundId, body: FindingIn, user: InspectorUser, pool: PoolDep,
    client: TemporalDep, settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                                  max_length=200,
                                                  description="Makes retries safe: the same "
                                                  "key gives the same finding and case.")] = None,
) -> FindingOut:
    """督查发现: record a finding about a unit drawn for this round; it is registered as a
    complaint with channel `inspection` and its workflow started (201 with the number).
    Supervisor (the inspectors)."""
    return await service.submit_finding(pool, client, settings, user, round_id, body,
                                        idempotency_key)


@router.post(
    "/{round_id}/close",
    summary="Close the round",
    responses={**R401, **R403, **R404, **R409, **R503},
)
async def close_round(
    round_id: RoundId, body: RoundClose, user: InspectorUser, pool: PoolDep,
    client: TemporalDep, settings: SettingsDep,
) -> RoundOut:
    """结束本轮: close the round now; its units with findings are drawn in every round until
    their findings' cases are archived (R-40). Supervisor."""
    return await service.close_round(pool, client, settings, user, round_id, body.comment)
