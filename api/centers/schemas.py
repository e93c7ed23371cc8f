"""The model family of `/v1/centers`: the register and where a complaint goes (R-46)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

#: What a complaint is about: the unit itself, or the unit's own staff (incl. hired, seconded).
Subject = Literal["unit", "staff"]

#: How a center was found at intake.
RoutingRule = Literal["staff", "unit", "intake"]


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
