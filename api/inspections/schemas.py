"""The model family of `/v1/inspections`: rounds, their draws and findings (R-40)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.base import TextGuard
from domain.models import Category, Grade


class FindingIn(TextGuard):
    """An inspector's finding (督查发现). `facts` stays in PostgreSQL; `summary` is what the
    workflow and the handling unit see, so no names or phone numbers there (R-32, R-33)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "unit": "tax-bureau", "category": "absent", "grade": "basic",
        "summary": "窗口工作时间无人值守 · 市税务局",
        "facts": "12月3日10:15暗访，3号窗口无人值守约40分钟，群众排队等候。",
        "evidence": ["暗访视频一段"], "staff_name": None}]})

    unit: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="The unit at fault: one drawn for this round.",
                      examples=["tax-bureau"])
    category: Category = Field(description="R-07 category.", examples=["absent"])
    grade: Grade = Field(default=Grade.BASIC, description="R-08 grade.")
    summary: str = Field(min_length=1, max_length=500, description="Non-personal summary.",
                         examples=["窗口工作时间无人值守 · 市税务局"])
    facts: str = Field(min_length=1, max_length=20000, description="What was found; stays in "
                       "PostgreSQL.", examples=["3号窗口无人值守约40分钟。"])
    evidence: list[str] = Field(default_factory=list, max_length=100,
                                description="Evidence list.")
    staff_name: str | None = Field(default=None, max_length=100,
                                   description="Staff concerned, if known (PostgreSQL only).")


class FindingOut(BaseModel):
    finding_id: str
    round_id: str
    unit: str
    category: str
    grade: str
    summary: str
    submitted_by: str
    submitted_at: datetime
    number: str | None = Field(default=None, description="The complaint it became (channel "
                               "`inspection`).", examples=["TS-20261203-00042"])


class RoundStart(TextGuard):
    """Start a round now (the schedule starts one every month)."""

    model_config = ConfigDict(extra="forbid")

    proportion_percent: int = Field(default=30, ge=1, le=100,
                                    description="Share of the register drawn.")
    min_units: int = Field(default=1, ge=0, le=1000, description="Draw at least this many.")
    window_days: int = Field(default=25, ge=1, le=366,
                             description="Closes by itself after this many days.")


class RoundClose(TextGuard):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000, description="Closing remark.")


class RoundOut(BaseModel):
    """A round and its draw (R-40): re-run `workflows.inspection.draw_units(register,
    previous units with findings, proportion_percent, min_units, seed)` to check it."""

    round_id: str
    center: str
    status: str = Field(description="open | closed", examples=["open"])
    started_at: datetime
    closes_at: datetime
    seed: int = Field(description="The draw's random seed (from workflow.random()).")
    proportion_percent: int
    min_units: int
    register_units: list[str] = Field(description="Units drawn from (active, subject to inspection).")
    previous_round: str | None = None
    mandatory: list[str] = Field(description="Units with findings in the previous round: "
                                 "always included.")
    drawn: list[str] = Field(description="The units to inspect.")
    closed_at: datetime | None = None
    closed_by: str | None = None
    units_with_findings: list[str] | None = Field(default=None, description="Set when closed.")
    findings: list[FindingOut] = Field(default_factory=list)


class RoundsPublic(BaseModel):
    data: list[RoundOut]
    count: int


class RoundDrawing(BaseModel):
    """A round started whose draw is not recorded yet (no worker has run it so far)."""

    round_id: str
    status: str = Field(default="drawing", examples=["drawing"])
    message: str = Field(default="the round is started; its draw follows as soon as a worker "
                         "runs it: GET /v1/inspections/{round_id}")
