"""`/v1/units`: the unit register (被督查单位名录) of the caller's center.

Inspection rounds draw the units to inspect from the active units marked `inspect` (R-40); the
figures and the dashboard show the register's names. A unit is never deleted (rounds and cases
refer to it): set `active` to false instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import User
from api.deps import PoolDep, StaffUser, require
from api.errors import not_found
from api.schemas import R401, R403, R404, R422, R503
from domain.models import Role

router = APIRouter(prefix="/v1/units", tags=["units"])

MaintainerUser = Annotated[User, Depends(require(Role.HANDLER, Role.LEADER))]

UNIT_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class UnitIn(BaseModel):
    """A unit's entry in the register."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "市税务局", "active": True, "inspect": True, "note": ""}]})

    name: str = Field(min_length=1, max_length=200, description="Name.", examples=["市税务局"])
    active: bool = Field(default=True, description="false: kept for history, never drawn.")
    inspect: bool = Field(default=True, description="Subject to inspection rounds (R-40).")
    note: str = Field(default="", max_length=2000, description="Remarks.")


class UnitOut(UnitIn):
    code: str = Field(description="Unit code, as cases and tokens use it.",
                      examples=["tax-bureau"])
    center: str = Field(description="The center whose register this is.", examples=["default"])
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = Field(default=None, description="Staff id of the last change.")


class UnitsPublic(BaseModel):
    data: list[UnitOut]
    count: int


SELECT_UNITS = """
SELECT center, code, name, active, inspect, note, created_at, updated_at, updated_by
FROM unit_register
WHERE center = $1 AND ($2::boolean IS NULL OR active = $2)
  AND ($3::boolean IS NULL OR inspect = $3)
ORDER BY code
"""

SELECT_UNIT = """
SELECT center, code, name, active, inspect, note, created_at, updated_at, updated_by
FROM unit_register WHERE center = $1 AND code = $2
"""

#: Insert or update; `inserted` tells which (xmax = 0 only for a freshly inserted row).
UPSERT_UNIT = """
INSERT INTO unit_register AS u (center, code, name, active, inspect, note, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (center, code) DO UPDATE SET
    name = EXCLUDED.name, active = EXCLUDED.active, inspect = EXCLUDED.inspect,
    note = EXCLUDED.note, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING center, code, name, active, inspect, note, created_at, updated_at, updated_by,
          (xmax = 0) AS inserted
"""

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
    rows = await pool.fetch(SELECT_UNITS, user.center, active, inspect)
    return UnitsPublic(data=[UnitOut(**dict(r)) for r in rows], count=len(rows))


@router.get("/{code}", summary="One unit", responses={**R401, **R403, **R404, **R503})
async def get_unit(code: UnitCode, user: StaffUser, pool: PoolDep) -> UnitOut:
    """One unit of the register; every staff role."""
    row = await pool.fetchrow(SELECT_UNIT, user.center, code)
    if row is None:
        raise not_found("unit")
    return UnitOut(**dict(row))


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
    row = await pool.fetchrow(UPSERT_UNIT, user.center, code, body.name, body.active,
                              body.inspect, body.note, user.id)
    assert row is not None
    response.status_code = 201 if row["inserted"] else 200
    return UnitOut(**{k: v for k, v in row.items() if k != "inserted"})
