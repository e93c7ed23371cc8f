"""The messages: the workflow's start input, one input per action (Update) and per signal, and
the activities' inputs and results. Nothing here may hold a complainant's identity (R-32, R-33)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from domain.base import Actor, Model, TextGuard
from domain.case import ActionRecord, CarriedCase, CaseState, DuplicateLinkedInput
from domain.codes import (
    Category,
    Channel,
    DeadlineKind,
    EscalationSource,
    Form,
    Grade,
    LimitUnit,
    NotificationKind,
    Recipient,
)

__all__ = ["DuplicateLinkedInput"]


# --- workflow input ---------------------------------------------------------------------


class ComplaintInput(Model):
    """Start input of `ComplaintWorkflow`. Non-personal by construction (R-33)."""

    number: str
    complainant_ref: str = Field(description="Opaque key of the complainant row in PostgreSQL.")
    channel: Channel
    form: Form
    category: Category
    grade: Grade = Grade.BASIC
    respondent_unit: str = Field(description="Unit code of the respondent (被投诉单位).")
    respondent_unit_name: str = ""
    summary: str = Field(default="", max_length=500, description="Non-personal summary.")
    received_at: datetime
    registered_by: Actor
    policy: str = "default"
    policy_version: int = 1
    center: str = "default"
    origin_case: str | None = None
    registered_at: datetime | None = Field(
        default=None,
        description="When the registration was made durable in PostgreSQL; the acceptance clock "
        "counts from it (R-10). None (starts made before it existed): the first workflow task.",
    )
    carried: CarriedCase | None = Field(
        default=None, description="The case carried over from the previous run (continue-as-new)."
    )
    history_budget: int | None = Field(
        default=None,
        ge=100,
        le=40_000,
        description="History events after which a run continues as new (default: the workflow's).",
    )


# --- signal inputs (validated inside the handler; a bad one is recorded as ignored) ------


class DecideExtensionInput(TextGuard):
    approved: bool
    days: int | None = Field(default=None, ge=1, le=20)
    comment: str = Field(default="", max_length=2000)
    actor: Actor | None = None


class EscalateInput(TextGuard):
    reason: str = Field(min_length=1, max_length=2000)
    source: EscalationSource = EscalationSource.MANUAL
    actor: Actor | None = None


# --- activity messages --------------------------------------------------------------------


class DeadlineSpec(Model):
    kind: DeadlineKind
    start: datetime
    amount: int
    unit: LimitUnit
    extra_days: int = Field(default=0, description="Approved extension, in days (R-18, R-19).")


class ComputedDeadline(Model):
    kind: DeadlineKind
    start: datetime | None = Field(default=None, description="The clock's start, echoed for the timeline.")
    due_at: datetime
    remind_at: datetime | None
    provisional: bool


class ComputeDeadlinesInput(Model):
    specs: list[DeadlineSpec]


class ComputeDeadlinesResult(Model):
    deadlines: list[ComputedDeadline]


class Notification(Model):
    """One outbox entry. `key` is unique: an activity retry never makes a second row."""

    key: str
    number: str
    kind: NotificationKind
    recipient: Recipient
    unit: str | None = None
    complainant_ref: str | None = None
    about_case: str | None = Field(default=None, description="Linked duplicate this note is for.")
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class NotifyInput(Model):
    notifications: list[Notification]


class ProjectInput(Model):
    state: CaseState
    events: list[ActionRecord] = Field(default_factory=list)


class DeliverInput(Model):
    """The outbox batch and the projection of one flush, for the `deliver` local activity.

    The activity answers with the projection it wrote (`project`, `notify` left out): a local
    activity's input is not in the history but its result is (a marker), and the timeline and
    the archive read the case's snapshots and records from there.
    """

    notify: NotifyInput | None = None
    project: ProjectInput | None = None


class ArchiveInput(Model):
    state: CaseState


class ArchiveResult(Model):
    number: str
    sha256: str
    prev_sha256: str | None = None
