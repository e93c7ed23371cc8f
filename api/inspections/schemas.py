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


class ExemptionOnRound(BaseModel):
    """Shown on every round a leader's exemption applies to (mandatory, exempted, random)."""

    unit: str
    reason: str
    by: str
    at: datetime
    until: datetime


class ExemptionIn(TextGuard):
    """A leader exempts a unit with unresolved findings from the draws, with a reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "unit": "tax-bureau", "reason": "整改期间由市纪委专项督查，本月不重复检查", "days": 31}]})

    unit: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="A unit of the register with unresolved findings.")
    reason: str = Field(min_length=4, max_length=2000, description="Why it is not inspected; "
                        "shown on every round it applies to.")
    days: int = Field(default=31, ge=1, le=92, description="In force this many days.")


class ExemptionOut(BaseModel):
    id: int
    center: str
    unit: str
    reason: str
    granted_by: str
    granted_at: datetime
    valid_until: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class ExemptionsPublic(BaseModel):
    data: list[ExemptionOut]
    count: int


class RoundOut(BaseModel):
    """A round and its draw (R-40): re-run `domain.inspections.draw_round(register_units,
    mandatory, proportion_percent=, min_units=, seed=, uncovered=)` to check it (rounds drawn
    before issue 15: `draw_units(register_units, mandatory, ...)`)."""

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
    mandatory: list[str] = Field(description="Units with findings not yet resolved (their "
                                 "case not archived), found by any round: always included "
                                 "(before issue 15: the previous round's units with findings).")
    drawn: list[str] = Field(description="The units to inspect: mandatory plus random.")
    random_quota: int | None = Field(default=None, description="Units drawn at random in "
                                     "addition to the mandatory ones.")
    random_units: list[str] = Field(default_factory=list, description="The units drawn at "
                                    "random.")
    uncovered: list[str] = Field(default_factory=list, description="Register units not yet "
                                 "inspected this year before this draw (drawn first).")
    exempted: list[ExemptionOnRound] = Field(default_factory=list, description="Units with "
                                             "unresolved findings a leader exempted, with the "
                                             "reason.")
    not_in_register: list[str] = Field(default_factory=list, description="Units with "
                                       "unresolved findings no longer active in the register.")
    scheduled_at: datetime | None = Field(default=None, description="The unannounced instant "
                                          "the schedule drew for this round (None: by hand).")
    plan_seed: int | None = Field(default=None, description="The seed of that instant.")
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
