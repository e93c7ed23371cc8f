"""The unit register of a center (被督查单位名录, R-40)."""

from __future__ import annotations

from typing import Any

from api.complaints.queries import Conn
from api.units import queries as q
from api.units.schemas import UnitIn, UnitOut


async def list_units(
    conn: Conn, center: str, *, active: bool | None, inspect: bool | None
) -> list[UnitOut]:
    """The units of `center`, by code, optionally only (in)active or (not) inspected ones."""
    return [UnitOut(**dict(r)) for r in await conn.fetch(q.SELECT_UNITS, center, active, inspect)]


async def get_unit(conn: Conn, center: str, code: str) -> UnitOut | None:
    """One unit of the register, or None."""
    row = await conn.fetchrow(q.SELECT_UNIT, center, code)
    return None if row is None else UnitOut(**dict(row))


async def put_unit(conn: Conn, center: str, code: str, body: UnitIn, by: str) -> tuple[UnitOut, bool]:
    """Add or change a unit; returns it and whether it was added."""
    row: Any = await conn.fetchrow(q.UPSERT_UNIT, center, code, body.name, body.active,
                                   body.inspect, body.note, by)
    assert row is not None
    return UnitOut(**{k: v for k, v in row.items() if k != "inserted"}), bool(row["inserted"])
