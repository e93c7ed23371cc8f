"""The model family of `/v1/units`: a unit's entry in the register."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from domain.base import TextGuard

#: A unit code, as cases and tokens use it.
UNIT_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class UnitIn(TextGuard):
    """A unit's entry in the register."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "市税务局", "active": True, "inspect": True, "note": ""}]})

    name: str = Field(min_length=1, max_length=200, description="Name.", examples=["市税务局"])
    active: StrictBool = Field(default=True, description="false: kept for history, never drawn.")
    inspect: StrictBool = Field(default=True, description="Subject to inspection rounds (R-40).")
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
