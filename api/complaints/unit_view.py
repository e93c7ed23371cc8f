"""The handling unit's view of a case: an allow-list (R-32, R-33).

The handling unit is the office complained about: it sees only the fields named below, each
model closed (`extra="forbid"`), so a field added to the case later is withheld from it until
someone adds it here. Never: the complainant (not even `complainant_ref`), the original facts
and evidence list, the staff complained about, the feedback to the complainant, the
complainant's callback comment, action details, ignored signals, linked cases' complainants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.complaints.case_docs import CASE_DOCS
from domain.models import Grade, RectificationState, Status


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitActor(_Closed):
    """A staff member who acted (never the complainant)."""

    id: str
    role: str
    unit: str | None = None


class UnitEscalation(_Closed):
    """A supervision escalation (R-29): why, when, how resolved."""

    source: str = Field(description="overdue, major, leader, media, hot_issue, appeal, manual.")
    reason: str = Field(description="Why (an appeal's reason redacted of personal data).")
    at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None


class UnitExtension(_Closed):
    """An extension request and the leader's decision (R-18..R-20)."""

    requested_at: datetime
    requested_by: UnitActor
    days: int
    reason: str
    decided_at: datetime | None = None
    approved: bool | None = None
    approved_days: int = 0
    comment: str = ""
    stage: str | None = None
    lapsed: bool = False


class UnitInvestigationStep(_Closed):
    """An investigation step (R-21, R-22)."""

    seq: int
    kind: str
    note: str
    party: str = ""
    at: datetime
    by: UnitActor
    reply_due: datetime | None = None
    answered_late: bool | None = None


class UnitDecision(_Closed):
    """The finding and measures (R-23..R-25)."""

    finding: str
    measures: list[str]
    remedy: str = ""
    responsible: str = ""
    report: str
    decided_at: datetime
    decided_by: UnitActor


class UnitJointReport(_Closed):
    """A participating unit's part (R-15)."""

    unit: str
    finding: str
    measures: list[str]
    report: str
    at: datetime
    by: UnitActor


class UnitRectificationReport(_Closed):
    """A rectification report and its review (R-37)."""

    seq: int
    at: datetime
    by: UnitActor
    measures: list[str]
    evidence: list[int] = Field(default_factory=list)
    report: str = ""
    accepted: bool | None = None
    reviewed_at: datetime | None = None
    reason: str = ""


class UnitRectification(_Closed):
    """The unit's rectification of the decision's measures (整改落实, R-37)."""

    unit: str
    measures: list[str]
    state: RectificationState
    opened_at: datetime
    reports: list[UnitRectificationReport] = Field(default_factory=list)
    reports_total: int = 0
    returns: int = 0
    accepted_at: datetime | None = None


class UnitSatisfaction(_Closed):
    """The callback's rating (R-27), without the complainant's comment."""

    rating: str
    at: datetime


class UnitActionRecord(_Closed):
    """One entry of the case file: what, when, the status before and after; no details."""

    seq: int
    action: str
    actor: UnitActor
    at: datetime
    status_before: str
    status_after: str


class UnitDeadline(_Closed):
    """A clock of the case (R-41..R-43)."""

    kind: str
    start: datetime
    amount: int
    unit: str
    due_at: datetime
    provisional: bool = False
    state: str = "open"
    overdue: bool = False
    extended_days: int = 0
    closed_at: datetime | None = None


class UnitCaseView(_Closed):
    """The case as its handling unit sees it: an allow-list of fields (R-32, R-33)."""

    number: str = Field(description=CASE_DOCS["number"])
    center: str = Field(default="default", description=CASE_DOCS["center"])
    status: Status = Field(description=CASE_DOCS["status"])
    outcome: str | None = Field(default=None, description=CASE_DOCS["outcome"])
    channel: str = Field(description=CASE_DOCS["channel"])
    form: str = Field(description=CASE_DOCS["form"])
    category: str = Field(description=CASE_DOCS["category"])
    grade: Grade = Field(description=CASE_DOCS["grade"])
    respondent_unit: str = Field(description=CASE_DOCS["respondent_unit"])
    respondent_unit_name: str = Field(default="", description=CASE_DOCS["respondent_unit_name"])
    summary: str = Field(default="", description=CASE_DOCS["summary"])
    received_at: datetime = Field(description=CASE_DOCS["received_at"])
    registered_at: datetime = Field(description=CASE_DOCS["registered_at"])
    accepted_at: datetime | None = Field(default=None, description=CASE_DOCS["accepted_at"])
    archived_at: datetime | None = Field(default=None, description=CASE_DOCS["archived_at"])
    route: str | None = Field(default=None, description=CASE_DOCS["route"])
    handling_unit: str | None = Field(default=None, description=CASE_DOCS["handling_unit"])
    joint_units: list[str] = Field(default_factory=list, description=CASE_DOCS["joint_units"])
    opinion: str | None = Field(default=None, description=CASE_DOCS["opinion"])
    returns: int = Field(default=0, description=CASE_DOCS["returns"])
    deadlines: list[UnitDeadline] = Field(default_factory=list,
                                          description=CASE_DOCS["deadlines"])
    overdue: bool = Field(default=False, description=CASE_DOCS["overdue"])
    supervised: bool = Field(default=False, description=CASE_DOCS["supervised"])
    escalations: list[UnitEscalation] = Field(default_factory=list,
                                              description=CASE_DOCS["escalations"])
    extensions: list[UnitExtension] = Field(default_factory=list,
                                            description=CASE_DOCS["extensions"])
    extended_days: int = Field(default=0, description=CASE_DOCS["extended_days"])
    investigation: list[UnitInvestigationStep] = Field(default_factory=list,
                                                       description=CASE_DOCS["investigation"])
    joint_reports: list[UnitJointReport] = Field(
        default_factory=list, description="Parts reported by the participating units (R-15).")
    decision: UnitDecision | None = Field(default=None, description=CASE_DOCS["decision"])
    rectification: UnitRectification | None = Field(
        default=None, description=CASE_DOCS["rectification"])
    satisfaction: UnitSatisfaction | None = Field(
        default=None, description="The callback's rating (R-27); the comment is not shown.")
    actions: list[UnitActionRecord] = Field(default_factory=list,
                                            description=CASE_DOCS["actions"])
    allowed_actions: list[str] = Field(default_factory=list,
                                       description=CASE_DOCS["allowed_actions"])
    version: int = Field(default=0, description=CASE_DOCS["version"])
    opening: bool = Field(default=False, description="Always false: a unit sees a case only "
                          "once it is referred to it.")

    @classmethod
    def allowed(cls, data: dict[str, Any]) -> UnitCaseView:
        """Only the allowed fields of `data` (a dumped case), at every level."""
        return cls.model_validate(_pick(cls, data))


def _pick(model: type[BaseModel], data: Any) -> Any:
    """`data` reduced to the fields `model` names, following nested models and lists of them."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in data:
            continue
        value, inner = data[name], _model_of(field.annotation)
        if inner is not None and isinstance(value, list):
            out[name] = [_pick(inner, v) for v in value]
        elif inner is not None:
            out[name] = _pick(inner, value)
        else:
            out[name] = value
    return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model inside `X`, `list[X]` or `X | None`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
