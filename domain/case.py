"""The case record: what the workflow keeps, the `state` Query returns and the read model
stores. Non-personal by construction: the complainant is only `complainant_ref` (R-32, R-33)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from domain.base import Actor, Model, TextGuard
from domain.codes import (
    Category,
    Channel,
    DeadlineKind,
    DeadlineState,
    EscalationSource,
    Finding,
    Form,
    Grade,
    InvestigationKind,
    LimitUnit,
    Measure,
    Outcome,
    Rating,
    RectificationState,
    Route,
    Status,
    SupervisionChoice,
)


class DuplicateLinkedInput(TextGuard):
    """Internal signal from a duplicate case to its primary (R-45)."""

    number: str
    complainant_ref: str


class Deadline(Model):
    """One clock of the case, with its exact due instant (R-41..R-43)."""

    kind: DeadlineKind = Field(description="Which stage this clock limits.")
    start: datetime = Field(description="The event the clock counts from (not counted itself).")
    amount: int = Field(description="The limit from the case's policy.")
    unit: LimitUnit = Field(description="How the limit is counted.")
    due_at: datetime = Field(description="End of the last day (23:59:59 Beijing time).")
    remind_at: datetime | None = Field(default=None, description="When the reminder (催办) goes out.")
    provisional: bool = Field(default=False, description="Counted without official holiday data (R-43).")
    state: DeadlineState = Field(default=DeadlineState.OPEN, description="open, met, cancelled or expired.")
    reminded: bool = Field(default=False, description="The reminder was sent (or its time passed).")
    overdue: bool = Field(default=False, description="The due instant passed while the clock was open.")
    extended_days: int = Field(default=0, description="Days added by approved extensions (R-18).")
    closed_at: datetime | None = Field(
        default=None, description="When the stage was done or the clock stopped."
    )

    @property
    def on_time(self) -> bool | None:
        """Met before the end of its day (24:00 Beijing, `domain.workdays.is_late`)."""
        if self.state != DeadlineState.MET or self.closed_at is None:
            return None
        from domain.workdays import is_late  # imported late: workdays reads holiday files

        return not is_late(self.closed_at, self.due_at)


class ActionRecord(Model):
    """One entry of the case file: who did what, when, with what effect."""

    seq: int = Field(description="Position in the case file, from 1.")
    action: str = Field(description="An action, a signal, or a system event (reminder, overdue, …).")
    actor: Actor = Field(description="Who: staff id and role; `system` for clocks.")
    at: datetime = Field(description="When (workflow time).")
    status_before: Status
    status_after: Status
    detail: dict[str, Any] = Field(default_factory=dict, description="What was decided or changed.")


class IgnoredSignal(Model):
    """A signal that changed nothing, and why (signals never fail a case)."""

    signal: str
    at: datetime
    reason: str


class Escalation(Model):
    """One reason the case is under supervision (R-29)."""

    source: EscalationSource = Field(description="overdue, major, leader, media, hot_issue, appeal, manual.")
    reason: str
    at: datetime
    by: Actor | None = Field(default=None, description="Who escalated; empty for automatic ones.")
    resolved_at: datetime | None = None
    resolution: SupervisionChoice | None = Field(default=None, description="The supervisor's answer.")


class Extension(Model):
    """An extension request and the leader's decision (R-18..R-20)."""

    requested_at: datetime
    requested_by: Actor
    days: int
    reason: str
    decided_at: datetime | None = None
    approved: bool | None = None
    approved_days: int = 0
    comment: str = ""
    stage: DeadlineKind | None = Field(
        default=None, description="The stage clock the request was made for (R-18)."
    )
    lapsed: bool = Field(
        default=False, description="The stage closed before the leader decided: the request lapsed."
    )


class Decision(Model):
    """The handling decision (R-23..R-25)."""

    finding: Finding
    measures: list[Measure]
    remedy: str = ""
    responsible: str = ""
    report: str
    decided_at: datetime
    decided_by: Actor


class Feedback(Model):
    """What the complainant was told, with the appeal route (R-26)."""

    message: str
    appeal_route: str
    at: datetime


class JointReport(Model):
    """What one participating unit of a joint case reported (R-15)."""

    unit: str
    finding: Finding
    measures: list[Measure]
    report: str = Field(description="The unit's report (the first 500 characters; whole in PostgreSQL).")
    at: datetime
    by: Actor


class Satisfaction(Model):
    """The callback answer (R-27)."""

    rating: Rating
    comment: str = ""
    at: datetime


class InvestigationStep(Model):
    """One investigation step or power used (R-21, R-22)."""

    seq: int
    kind: InvestigationKind
    note: str
    party: str = ""
    at: datetime
    by: Actor
    reply_due: datetime | None = None
    answered_late: bool | None = None


class RectificationReport(Model):
    """One report of the responsible unit and the handler's review of it (R-37)."""

    seq: int = Field(description="1 for the first report of this rectification.")
    at: datetime
    by: Actor
    measures: list[Measure] = Field(description="The measures reported carried out.")
    evidence: list[int] = Field(default_factory=list, description="Evidence ids of the case (R-03).")
    report: str = Field(default="", description="What was done (the first 500 characters).")
    accepted: bool | None = Field(default=None, description="The review: accepted, returned, or not yet.")
    reviewed_at: datetime | None = None
    reviewed_by: Actor | None = None
    reason: str = Field(default="", description="Why it was returned.")


class Rectification(Model):
    """The follow-up of a decision with measures (整改落实, R-37): the responsible unit carries
    them out on its clock, reports with evidence, the handler accepts or returns the report.
    Only an accepted rectification counts the measures as carried out."""

    unit: str = Field(description="The responsible unit (the handling unit, else the respondent).")
    measures: list[Measure] = Field(description="The measures to carry out (the decision's, not `none`).")
    state: RectificationState = RectificationState.OPEN
    opened_at: datetime
    reports: list[RectificationReport] = Field(
        default_factory=list, description="The newest reports (`reports_total` made)."
    )
    reports_total: int = 0
    returns: int = Field(default=0, description="Reports sent back by the handler.")
    accepted_at: datetime | None = None
    accepted_by: Actor | None = None
    held_outcome: Outcome | None = Field(
        default=None,
        description="The case was ready to be archived with this outcome while the rectification "
        "was still open: it is archived when the handler accepts it.",
    )

    @property
    def is_open(self) -> bool:
        return self.state in (RectificationState.OPEN, RectificationState.REPORTED)


class CaseState(Model):
    """What the `state` Query returns and the workflow's result: the whole non-personal file."""

    number: str
    center: str = "default"
    status: Status
    outcome: Outcome | None = None
    channel: Channel
    form: Form
    category: Category
    grade: Grade
    respondent_unit: str
    respondent_unit_name: str = ""
    summary: str = ""
    complainant_ref: str
    policy: str
    policy_version: int
    received_at: datetime
    registered_at: datetime
    accepted_at: datetime | None = None
    archived_at: datetime | None = None
    route: Route | None = None
    handling_unit: str | None = None
    joint_units: list[str] = Field(default_factory=list)
    forwarded_to: str | None = None
    forwarded_case: str | None = Field(default=None, description="Linked case opened at another center.")
    origin_case: str | None = Field(default=None, description="Case forwarded here from another center.")
    opinion: str | None = None
    proposed_unit: str | None = None
    returns: int = 0
    deadlines: list[Deadline] = Field(default_factory=list)
    overdue: bool = False
    supervised: bool = False
    escalations: list[Escalation] = Field(default_factory=list)
    extensions: list[Extension] = Field(default_factory=list)
    extended_days: int = 0
    investigation: list[InvestigationStep] = Field(default_factory=list)
    joint_reports: list[JointReport] = Field(
        default_factory=list, description="Parts reported by the participating units (R-15)."
    )
    decision: Decision | None = None
    rectification: Rectification | None = Field(
        default=None, description="整改落实 of the decision's measures (R-37)."
    )
    feedback: Feedback | None = None
    satisfaction: Satisfaction | None = None
    primary: str | None = None
    linked: list[DuplicateLinkedInput] = Field(default_factory=list)
    actions: list[ActionRecord] = Field(default_factory=list)
    appeal_center: str | None = Field(default=None, description="Parent center handling the appeal.")
    ignored_signals: list[IgnoredSignal] = Field(default_factory=list)
    allowed_actions: dict[str, list[str]] = Field(default_factory=dict)
    version: int = 0
    # Bounded lists (the workflow keeps the newest ones; every record is in PostgreSQL):
    actions_total: int = Field(default=0, description="Action records made (`actions` keeps the newest).")
    ignored_total: int = Field(default=0, description="Signals ignored (`ignored_signals` keeps the newest).")
    investigation_total: int = Field(default=0, description="Investigation steps recorded.")
    escalations_total: int = Field(default=0, description="Escalations made.")
    linked_total: int = Field(default=0, description="Repeat complaints linked (R-45).")
    runs: int = Field(default=1, description="Workflow runs of the case (continue-as-new).")

    def open_deadline(self, kind: DeadlineKind) -> Deadline | None:
        for d in self.deadlines:
            if d.kind == kind and d.state == DeadlineState.OPEN:
                return d
        return None

    def open_deadlines(self) -> list[Deadline]:
        return [d for d in self.deadlines if d.state == DeadlineState.OPEN]

    def open_rectification(self) -> Rectification | None:
        r = self.rectification
        return r if r is not None and r.is_open else None

    def units_involved(self) -> tuple[str | None, ...]:
        """The units that may see the case: the handling unit, the joint units and the unit
        that must rectify (R-37)."""
        rect = self.rectification.unit if self.rectification is not None else None
        return (self.handling_unit, *self.joint_units, rect)

    def open_escalations(self) -> list[Escalation]:
        return [e for e in self.escalations if e.resolved_at is None]

    def next_due(self) -> datetime | None:
        dues = [d.due_at for d in self.open_deadlines() if d.kind != DeadlineKind.RETURN_WINDOW]
        return min(dues) if dues else None


class CarriedCase(Model):
    """What a run hands to the next when it continues as new (history budget reached)."""

    state: CaseState
    note_seq: int = Field(default=0, description="Outbox keys used so far (keys stay unique).")
    projected_seq: int = Field(default=0, description="Action records already projected.")
    run: int = Field(default=1, description="How many runs the case has had before this one.")


class ActionResult(Model):
    """What an Update answers: small and of constant size, whatever the case holds."""

    number: str
    status: Status
    version: int
    outcome: Outcome | None = None
    allowed_actions: dict[str, list[str]] = Field(
        default_factory=dict, description="Allowed actions per role after the action."
    )
    deadlines: list[Deadline] = Field(
        default_factory=list, description="The clocks this action opened, moved or closed."
    )
    records: list[ActionRecord] = Field(
        default_factory=list,
        description="The case-file records this action made (texts cut at 500 characters; whole "
        "in PostgreSQL), so the history shows them at once.",
    )
