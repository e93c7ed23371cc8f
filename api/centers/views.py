"""`/v1/centers`: the register of complaint centers and where a complaint goes (R-46)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.centers import service
from api.centers.schemas import CenterOut, CentersPublic, RoutingOut, Subject
from api.deps import PoolDep, SettingsDep, StaffUser
from api.errors import R401, R403, R404, R422, R503, not_found

router = APIRouter(prefix="/v1/centers", tags=["centers"])


@router.get("", summary="The centers register", responses={**R401, **R403, **R503})
async def list_centers(user: StaffUser, pool: PoolDep, settings: SettingsDep) -> CentersPublic:
    """Every complaint center with its level, parent, policy and the units it covers."""
    centers = await service.list_centers(pool)
    data = [await service.center_out(pool, c, settings.policy) for c in centers]
    return CentersPublic(data=data, count=len(data))


@router.get(
    "/routing", summary="Which center a complaint goes to", responses={**R401, **R403, **R422,
                                                                       **R503},
)
async def routing(
    user: StaffUser,
    pool: PoolDep,
    settings: SettingsDep,
    unit_code: Annotated[str, Query(min_length=1, max_length=64,
                                    description="The respondent unit.",
                                    examples=["tax-bureau"])],
    subject: Annotated[Subject, Query(description="unit or staff.")] = "unit",
) -> RoutingOut:
    """分级负责、归口办理 (R-46): the center intake would register the complaint at."""
    r = await service.route(pool, unit_code, subject, user, default_policy=settings.policy)
    center = await service.get_center(pool, r.center)
    return RoutingOut(unit_code=unit_code, subject=subject, center=r.center,
                      center_name=center.name if center else None, rule=r.rule, policy=r.policy)


@router.get("/{code}", summary="One center", responses={**R401, **R403, **R404, **R503})
async def get_center(
    code: Annotated[str, Path(max_length=64, description="Center code.", examples=["default"])],
    user: StaffUser,
    pool: PoolDep,
    settings: SettingsDep,
) -> CenterOut:
    """The center with its parent, the centers below it and the units it covers."""
    c = await service.get_center(pool, code)
    if c is None:
        raise not_found("center")
    return await service.center_out(pool, c, settings.policy)
