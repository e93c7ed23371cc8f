"""The complaint's models: intake (`ComplaintCreate` -> `ComplaintCreated`), the list
(`ComplaintsPublic` of `ComplaintListItem`), one case (`CaseView`), signals and the outbox.

Field names are part of the contract (DESIGN.md "The REST contract (v1)"). Codes only: display
labels are rendered from `domain/labels.py` by whoever shows them. The action bodies are in
`api/complaints/bodies.py`; the handling unit's allow-list view in `api/complaints/unit_view.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.complaints.case_docs import CASE_DOCS
from api.complaints.unit_view import UnitCaseView
from domain.models import CaseState, Grade, Status

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



class ComplainantText(BaseModel):
    """The complainant's own words as given (an appeal reason, a callback comment): personal
    data, whole only here; the workflow and the handling unit have them redacted."""

    action: str = Field(description="appeal or record-satisfaction.", examples=["appeal"])
    field: str = Field(description="reason or comment.", examples=["reason"])
    text: str = Field(description="As given.")
    at: datetime = Field(description="When it was received.")


for _name, _field in CaseView.model_fields.items():
    _field.description = _field.description or CASE_DOCS.get(_name)
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
