"""`/v1/units`: the unit register (被督查单位名录) of the caller's center.

Inspection rounds draw the units to inspect from the active units marked `inspect` (R-40); the
figures and the dashboard show the register's names. A unit is never deleted (rounds and cases
refer to it): set `active` to false instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth import User
from api.deps import PoolDep, StaffUser, require
from api.errors import R401, R403, R404, R422, R503, not_found
from api.units import service
from api.units.schemas import UNIT_CODE_PATTERN, UnitIn, UnitOut, UnitsPublic
from domain.models import Role

router = APIRouter(prefix="/v1/units", tags=["units"])

MaintainerUser = Annotated[User, Depends(require(Role.HANDLER, Role.LEADER))]

UnitCode = Annotated[
    str, Path(pattern=UNIT_CODE_PATTERN, description="Unit code.", examples=["tax-bureau"])
]


@router.get("", summary="List the unit register", responses={**R401, **R403, **R422, **R503})
async def list_units(
    user: StaffUser,
    pool: PoolDep,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive.")] = None,
    inspect: Annotated[bool | None, Query(description="Only units subject to inspection "
                                          "rounds (true) or not.")] = None,
) -> UnitsPublic:
    """The units of the caller's center, by code; every staff role."""
    units = await service.list_units(pool, user.center, active=active, inspect=inspect)
    return UnitsPublic(data=units, count=len(units))


@router.get("/{code}", summary="One unit", responses={**R401, **R403, **R404, **R503})
async def get_unit(code: UnitCode, user: StaffUser, pool: PoolDep) -> UnitOut:
    """One unit of the register; every staff role."""
    unit = await service.get_unit(pool, user.center, code)
    if unit is None:
        raise not_found("unit")
    return unit


@router.put(
    "/{code}",
    summary="Add or change a unit",
    responses={200: {"description": "Changed."}, 201: {"description": "Added."},
               **R401, **R403, **R422, **R503},
)
async def put_unit(
    code: UnitCode, body: UnitIn, user: MaintainerUser, pool: PoolDep, response: Response
) -> UnitOut:
    """Add a unit to the register (201) or change it (200); handler or leader."""
    unit, added = await service.put_unit(pool, user.center, code, body, user.id)
    response.status_code = 201 if added else 200
    return unit
