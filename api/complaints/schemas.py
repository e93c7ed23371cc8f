"""The complaint's models: intake (`ComplaintCreate` -> `ComplaintCreated`), the list
(`ComplaintsPublic` of `ComplaintListItem`), one case (`CaseView`), signals and the outbox.

Field names are part of the contract (DESIGN.md "The REST contract (v1)"). Codes only: display
labels are rendered from `domain/labels.py` by whoever shows them. The action bodies are in
`api/complaints/bodies.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.models import CaseState, Grade, RectificationState, Status

NUMBER_EXAMPLE = "TS-20261127-00042"


class ComplaintCreated(BaseModel):
    """The registered case: give the number and access code to the complainant (R-06)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "number": NUMBER_EXAMPLE, "access_code": "K7PX3MWQ", "status": "registered",
        "grade": "basic",
        "deadlines": {"acceptance": "2026-12-04T23:59:59+08:00"}, "opening": False,
    }]})

    number: str = Field(description="The complaint number.", examples=[NUMBER_EXAMPLE])
    access_code: str = Field(
        description="Access code for the public progress page; shown once, stored only hashed. "
        "A retry with the same Idempotency-Key returns a fresh one.", examples=["K7PX3MWQ"],
    )
    status: Status = Field(description="Always `registered`.", examples=["registered"])
    grade: Grade = Field(description="The grade the case runs under (R-34).", examples=["basic"])
    deadlines: dict[str, datetime] = Field(
        description="Open deadlines: kind -> due instant (Beijing time). Empty if the workflow "
        "had not computed them yet when answering.",
        examples=[{"acceptance": "2026-12-04T23:59:59+08:00"}],
    )
    center: str = Field(
        default="default",
        description="The center with jurisdiction, which handles the case (R-46); a case routed "
        "to another center is not visible to the intake user's center.",
        examples=["default"],
    )
    opening: bool = Field(
        default=False,
        description="True when the case is registered (durable, with its number) but its workflow "
        "could not be started at once (Temporal down or slow): it is being opened, the "
        "reconciler starts it shortly; until then it is listed with `opening` and has no "
        "actions.", examples=[False],
    )
    message: str | None = Field(
        default=None, description="For the clerk, when `opening`: the case is being opened.",
        examples=[None],
    )


# --- list -----------------------------------------------------------------------------------


class ComplaintListItem(BaseModel):
    """One row of the read model; never the complainant's identity nor the facts."""

    number: str = Field(examples=[NUMBER_EXAMPLE], description="Complaint number.")
    status: str = Field(examples=["referred"], description="Status (read model, may lag a moment).")
    outcome: str | None = Field(default=None, examples=[None], description="Outcome once archived.")
    channel: str = Field(examples=["hotline"], description="R-01 channel.")
    form: str = Field(examples=["written"], description="R-02 form.")
    category: str = Field(examples=["attitude"], description="R-07 category.")
    grade: str = Field(examples=["basic"], description="R-08 grade.")
    respondent_unit: str = Field(examples=["tax-bureau"], description="Respondent unit code.")
    respondent_unit_name: str = Field(examples=["某区税务局"], description="Respondent unit name.")
    summary: str = Field(examples=["服务态度差 · 某区税务局"], description="Non-personal summary.")
    route: str | None = Field(default=None, examples=["referral"], description="Handling route.")
    handling_unit: str | None = Field(
        default=None, examples=["tax-bureau"], description="承办单位 handling unit."
    )
    received_at: datetime = Field(description="When received.")
    registered_at: datetime = Field(description="When registered.")
    next_due: datetime | None = Field(default=None, description="The nearest open deadline.")
    overdue: bool = Field(description="An open deadline has passed.")
    supervised: bool = Field(description="Under supervision (督办).")
    opening: bool = Field(
        default=False,
        description="Registered, its workflow not started yet (being opened): no actions yet.",
    )


class ComplaintsPublic(BaseModel):
    """A page of cases."""

    data: list[ComplaintListItem] = Field(description="This page.")
    count: int = Field(description="All matching cases.", examples=[42])
    page: int = Field(description="Page number, from 1.", examples=[1])
    page_size: int = Field(description="Rows per page.", examples=[20])


# --- one case -------------------------------------------------------------------------------


class ComplainantOut(BaseModel):
    """Personal data: only for handler, leader, supervisor and auditor; every read is logged."""

    name: str | None = Field(default=None, examples=["张三"], description="Name.")
    phone: str | None = Field(default=None, examples=["13800138000"], description="Phone.")
    address: str | None = Field(default=None, examples=["某区某街道1号"], description="Address.")
    email: str | None = Field(default=None, description="E-mail.")
    id_number: str | None = Field(default=None, description="Identity document number.")
    anonymous: bool = Field(default=False, description="Anonymous complaint.")
    agent: dict[str, Any] | None = Field(default=None, description="Entrusted agent.")


class LinkedCaseView(BaseModel):
    """A repeat complaint linked to this case (R-45)."""

    number: str = Field(description="The linked complaint.")
    complainant_ref: str | None = Field(default=None, description="Withheld from handling units.")


_CASE_DOCS: dict[str, str] = {
    "number": "Complaint number (= workflow id).",
    "center": "Center (jurisdiction, R-46).",
    "status": "Where the case stands (Temporal is the source of truth).",
    "outcome": "How an archived case ended.",
    "channel": "R-01 channel.",
    "form": "R-02 form.",
    "category": "R-07 category.",
    "grade": "R-08 grade.",
    "respondent_unit": "Respondent unit code.",
    "respondent_unit_name": "Respondent unit name.",
    "summary": "Non-personal summary (R-32).",
    "complainant_ref": "Opaque key of the complainant row; withheld from handling units.",
    "policy": "Deadline policy the case runs under.",
    "policy_version": "Version of that policy.",
    "received_at": "When the complaint was received.",
    "registered_at": "When the case was registered.",
    "accepted_at": "When it was accepted (R-10).",
    "archived_at": "When it was archived (R-35).",
    "route": "Handling route chosen at acceptance (R-13..R-16).",
    "handling_unit": "承办单位 the unit handling a referral (R-14).",
    "joint_units": "Participating units of joint handling (R-15).",
    "forwarded_to": "Body the case was forwarded to (R-12).",
    "opinion": "拟办意见 proposed-handling opinion (R-14).",
    "proposed_unit": "Unit proposed by the opinion.",
    "returns": "How often the referral was returned (退单, R-44).",
    "deadlines": "Every clock of the case, with exact due instants (R-41..R-43).",
    "overdue": "An open deadline has passed (R-30).",
    "supervised": "Under supervision (督办, R-29).",
    "escalations": "Supervision escalations and appeals.",
    "extensions": "Extension requests and decisions (R-18..R-20).",
    "extended_days": "Days granted by extensions so far (≤ 20, R-19).",
    "investigation": "Investigation steps: documents requested and replies, evidence, orders "
                     "(R-21, R-22).",
    "decision": "The finding and measures (R-23..R-25).",
    "rectification": "整改落实: the responsible unit's rectification of the decision's measures, "
                     "its reports and their review (R-37); only an accepted one counts the "
                     "measures as carried out, and the case is archived only after it.",
    "feedback": "What the complainant was told (R-26).",
    "satisfaction": "The callback answer (R-27).",
    "primary": "The open case this repeat complaint was linked to (R-45).",
    "linked": "Repeat complaints linked to this case (R-45).",
    "actions": "Every action so far: who, when, status before and after.",
    "ignored_signals": "Signals that did not apply, with the reason.",
    "allowed_actions": "The actions the caller may take now.",
    "version": "Increases with every change.",
}


class CaseView(CaseState):
    """The case as the caller may see it: the workflow's state, redacted by role (R-32, R-33)."""

    complainant_ref: str | None = None  # type: ignore[assignment]
    linked: list[LinkedCaseView] = Field(default_factory=list)  # type: ignore[assignment]
    allowed_actions: list[str] = Field(  # type: ignore[assignment]
        default_factory=list, examples=[["accept", "reject", "forward", "link-duplicate"]]
    )
    complainant: ComplainantOut | None = Field(
        default=None,
        description="Personal data; handler, leader, supervisor and auditor only (logged).",
    )
    facts: str | None = Field(
        default=None, description="The original facts; never for handling units (R-32)."
    )
    evidence: list[str] | None = Field(default=None, description="Evidence list; not for units.")
    respondent_staff: str | None = Field(
        default=None, description="Respondent staff name, if known; not for units."
    )
    opening: bool = Field(
        default=False,
        description="Registered, its workflow not started yet (being opened): read from "
        "PostgreSQL, no actions yet.",
    )
    complainant_texts: list[ComplainantText] | None = Field(
        default=None,
        description="The complainant's own words as given (appeal reasons, callback comments); "
        "handler, leader, supervisor and auditor only (logged). Elsewhere they are redacted.",
    )



# --- the handling unit's view: an allow-list (R-32, R-33) -----------------------------------
#
# The handling unit is the office complained about: it sees only the fields named below, each
# model closed (`extra="forbid"`), so a field added to the case later is withheld from it until
# someone adds it here. Never: the complainant (not even `complainant_ref`), the original facts
# and evidence list, the staff complained about, the feedback to the complainant, the
# complainant's callback comment, action details, ignored signals, linked cases' complainants.


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

    number: str = Field(description=_CASE_DOCS["number"])
    center: str = Field(default="default", description=_CASE_DOCS["center"])
    status: Status = Field(description=_CASE_DOCS["status"])
    outcome: str | None = Field(default=None, description=_CASE_DOCS["outcome"])
    channel: str = Field(description=_CASE_DOCS["channel"])
    form: str = Field(description=_CASE_DOCS["form"])
    category: str = Field(description=_CASE_DOCS["category"])
    grade: Grade = Field(description=_CASE_DOCS["grade"])
    respondent_unit: str = Field(description=_CASE_DOCS["respondent_unit"])
    respondent_unit_name: str = Field(default="", description=_CASE_DOCS["respondent_unit_name"])
    summary: str = Field(default="", description=_CASE_DOCS["summary"])
    received_at: datetime = Field(description=_CASE_DOCS["received_at"])
    registered_at: datetime = Field(description=_CASE_DOCS["registered_at"])
    accepted_at: datetime | None = Field(default=None, description=_CASE_DOCS["accepted_at"])
    archived_at: datetime | None = Field(default=None, description=_CASE_DOCS["archived_at"])
    route: str | None = Field(default=None, description=_CASE_DOCS["route"])
    handling_unit: str | None = Field(default=None, description=_CASE_DOCS["handling_unit"])
    joint_units: list[str] = Field(default_factory=list, description=_CASE_DOCS["joint_units"])
    opinion: str | None = Field(default=None, description=_CASE_DOCS["opinion"])
    returns: int = Field(default=0, description=_CASE_DOCS["returns"])
    deadlines: list[UnitDeadline] = Field(default_factory=list,
                                          description=_CASE_DOCS["deadlines"])
    overdue: bool = Field(default=False, description=_CASE_DOCS["overdue"])
    supervised: bool = Field(default=False, description=_CASE_DOCS["supervised"])
    escalations: list[UnitEscalation] = Field(default_factory=list,
                                              description=_CASE_DOCS["escalations"])
    extensions: list[UnitExtension] = Field(default_factory=list,
                                            description=_CASE_DOCS["extensions"])
    extended_days: int = Field(default=0, description=_CASE_DOCS["extended_days"])
    investigation: list[UnitInvestigationStep] = Field(default_factory=list,
                                                       description=_CASE_DOCS["investigation"])
    joint_reports: list[UnitJointReport] = Field(
        default_factory=list, description="Parts reported by the participating units (R-15).")
    decision: UnitDecision | None = Field(default=None, description=_CASE_DOCS["decision"])
    rectification: UnitRectification | None = Field(
        default=None, description=_CASE_DOCS["rectification"])
    satisfaction: UnitSatisfaction | None = Field(
        default=None, description="The callback's rating (R-27); the comment is not shown.")
    actions: list[UnitActionRecord] = Field(default_factory=list,
                                            description=_CASE_DOCS["actions"])
    allowed_actions: list[str] = Field(default_factory=list,
                                       description=_CASE_DOCS["allowed_actions"])
    version: int = Field(default=0, description=_CASE_DOCS["version"])
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


class ComplainantText(BaseModel):
    """The complainant's own words as given (an appeal reason, a callback comment): personal
    data, whole only here; the workflow and the handling unit have them redacted."""

    action: str = Field(description="appeal or record-satisfaction.", examples=["appeal"])
    field: str = Field(description="reason or comment.", examples=["reason"])
    text: str = Field(description="As given.")
    at: datetime = Field(description="When it was received.")


for _name, _field in CaseView.model_fields.items():
    _field.description = _field.description or _CASE_DOCS.get(_name)
CaseView.model_rebuild(force=True)

#: What a case route answers: the office's view, or the handling unit's allow-list.
AnyCaseView = CaseView | UnitCaseView


# --- signals and the outbox ---------------------------------------------------------------


class SignalAccepted(BaseModel):
    """The signal was delivered; the workflow applies it (or records why not) on its own."""

    accepted: bool = Field(default=True, description="Always true.", examples=[True])
    message: str = Field(
        default="delivered; a signal that does not apply is recorded in ignored_signals",
        description="What happens next.",
    )


class NotificationOut(BaseModel):
    """One outbox entry (no contact data)."""

    id: int = Field(description="Row id.", examples=[17])
    key: str = Field(description="Idempotency key.", examples=[f"{NUMBER_EXAMPLE}:3"])
    kind: str = Field(description="What it says.", examples=["referral"])
    recipient: str = Field(description="complainant, unit, handler, leader or supervisor.",
                           examples=["unit"])
    unit: str | None = Field(default=None, description="Unit code (unit recipients).")
    about_case: str | None = Field(default=None, description="Linked duplicate it is for.")
    data: dict[str, Any] = Field(default_factory=dict, description="Message data.")
    created_at: datetime = Field(description="When the workflow wrote it.")
    status: str = Field(description="pending, sent or failed.", examples=["sent"])
    attempts: int = Field(description="Delivery attempts.", examples=[1])
    sent_at: datetime | None = Field(default=None, description="When delivered.")
    channel: str | None = Field(default=None, description="log, smtp or webhook.")


class NotificationsPublic(BaseModel):
    """The case's outbox."""

    data: list[NotificationOut] = Field(description="Oldest first.")
    count: int = Field(description="How many.", examples=[5])
