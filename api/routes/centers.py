"""`/v1/centers`: the register of complaint centers and where a complaint goes (R-46)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api import jurisdiction
from api.deps import PoolDep, SettingsDep, StaffUser
from api.errors import not_found
from api.schemas import R401, R403, R404, R422, R503

router = APIRouter(prefix="/v1/centers", tags=["centers"])


class CenterUnit(BaseModel):
    """A unit whose complaints the center handles."""

    unit_code: str = Field(description="Unit code.", examples=["tax-bureau"])
    unit_name: str = Field(description="Unit name.", examples=["市税务局"])
    scope: str = Field(description="`unit`: complaints about the unit itself; `staff`: about its "
                       "own staff (a department's own center).", examples=["unit"])


class CenterOut(BaseModel):
    """A complaint center (投诉中心) of the register."""

    code: str = Field(description="Center code (carried by staff tokens).", examples=["default"])
    name: str = Field(description="Name.", examples=["市效能投诉中心"])
    level: str = Field(description="province, city, district or department.", examples=["city"])
    parent: str | None = Field(description="Where appeals go (R-28, R-46).",
                               examples=["province"])
    policy: str = Field(description="Deadline policy of its new cases.", examples=["default"])
    children: list[str] = Field(default_factory=list, description="Centers below it.")
    units: list[CenterUnit] = Field(default_factory=list, description="Units it covers.")


class CentersPublic(BaseModel):
    """The register."""

    data: list[CenterOut] = Field(description="Province first.")
    count: int = Field(description="How many.", examples=[4])


class RoutingOut(BaseModel):
    """Where intake would send a complaint about a unit (R-46)."""

    unit_code: str = Field(description="The respondent unit.", examples=["tax-bureau"])
    subject: str = Field(description="unit or staff.", examples=["staff"])
    center: str = Field(description="The center with jurisdiction.",
                        examples=["tax-bureau-dept"])
    center_name: str | None = Field(description="Its name.", examples=["市税务局效能投诉中心"])
    rule: str = Field(description="staff (the department's own center), unit (the center of the "
                      "unit's level) or intake (unit not in the register: the caller's center).",
                      examples=["staff"])
    policy: str = Field(description="The deadline policy the case would run under.",
                        examples=["default"])


async def _center_out(pool: PoolDep, c: jurisdiction.Center, default_policy: str) -> CenterOut:
    units = [CenterUnit(**u) for u in await jurisdiction.center_units(pool, c.code)]
    return CenterOut(
        code=c.code, name=c.name, level=c.level, parent=c.parent,
        policy=jurisdiction.policy_of(c, default_policy),
        children=await jurisdiction.children(pool, c.code), units=units,
    )


@router.get("", summary="The centers register", responses={**R401, **R403, **R503})
async def list_centers(user: StaffUser, pool: PoolDep, settings: SettingsDep) -> CentersPublic:
    """Every complaint center with its level, parent, policy and the units it covers."""
    centers = await jurisdiction.list_centers(pool)
    data = [await _center_out(pool, c, settings.policy) for c in centers]
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
    subject: Annotated[jurisdiction.Subject, Query(description="unit or staff.")] = "unit",
) -> RoutingOut:
    """分级负责、归口办理 (R-46): the center intake would register the complaint at."""
    r = await jurisdiction.route(pool, unit_code, subject, user, default_policy=settings.policy)
    center = await jurisdiction.get_center(pool, r.center)
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
    c = await jurisdiction.get_center(pool, code)
    if c is None:
        raise not_found("center")
    return await _center_out(pool, c, settings.policy)
