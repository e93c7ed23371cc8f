"""The complaint's vocabulary: enums, messages and the non-personal case record.

Everything here may travel through Temporal, so nothing here may hold a complainant's
identity (R-32, R-33): the complainant is only a reference (`complainant_ref`) to a row in
PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Channel(StrEnum):
    """R-01 intake channels."""

    HOTLINE = "hotline"
    WEB = "web"
    WINDOW = "window"
    LETTER = "letter"
    EMAIL = "email"
    INSPECTION = "inspection"
    OTHER = "other"


class Form(StrEnum):
    """R-02 oral or written."""

    ORAL = "oral"
    WRITTEN = "written"


class Category(StrEnum):
    """R-07 complaint categories."""

    ATTITUDE = "attitude"
    NO_ANSWER = "no_answer"
    REPEAT_VISITS = "repeat_visits"
    REFUSED_ACCEPTANCE = "refused_acceptance"
    OVERDUE_APPROVAL = "overdue_approval"
    ARBITRARY_RETURN = "arbitrary_return"
    BUCK_PASSING = "buck_passing"
    ABSENT = "absent"
    INEFFICIENCY = "inefficiency"
    ILLEGAL_FEE = "illegal_fee"
    CORRUPTION = "corruption"
    RETALIATION = "retaliation"
    ABUSE_OF_POWER = "abuse_of_power"
    OTHER = "other"


CATEGORY_LABELS: dict[Category, str] = {
    Category.ATTITUDE: "服务态度差",
    Category.NO_ANSWER: "不能及时准确解答",
    Category.REPEAT_VISITS: "未一次性告知造成多次往返",
    Category.REFUSED_ACCEPTANCE: "材料齐全故意不受理",
    Category.OVERDUE_APPROVAL: "承诺时限内未办结",
    Category.ARBITRARY_RETURN: "随意退件",
    Category.BUCK_PASSING: "推诿扯皮",
    Category.ABSENT: "擅离职守",
    Category.INEFFICIENCY: "效率低下",
    Category.ILLEGAL_FEE: "违规收费",
    Category.CORRUPTION: "吃拿卡要/以权谋私",
    Category.RETALIATION: "刁难打击报复投诉人",
    Category.ABUSE_OF_POWER: "滥用职权/不作为乱作为",
    Category.OTHER: "其他",
}


class Grade(StrEnum):
    """R-08 grades."""

    BASIC = "basic"
    INTERMEDIATE = "intermediate"
    MAJOR = "major"


class Status(StrEnum):
    """Where a case stands (DESIGN.md, stable)."""

    REGISTERED = "registered"
    INVESTIGATING = "investigating"
    OPINION_PENDING = "opinion_pending"
    OPINION_REVIEW = "opinion_review"
    REFERRED = "referred"
    DECIDED = "decided"
    AWAITING_CALLBACK = "awaiting_callback"
    APPEALED = "appealed"
    ARCHIVED = "archived"


STATUS_LABELS: dict[Status, str] = {
    Status.REGISTERED: "已登记 registered",
    Status.INVESTIGATING: "调查处理中 investigating",
    Status.OPINION_PENDING: "待拟办 opinion pending",
    Status.OPINION_REVIEW: "待领导审批 opinion review",
    Status.REFERRED: "已转办 referred",
    Status.DECIDED: "已作出处理决定 decided",
    Status.AWAITING_CALLBACK: "待回访 awaiting callback",
    Status.APPEALED: "申诉中 appealed",
    Status.ARCHIVED: "已归档 archived",
}


class Outcome(StrEnum):
    """How an archived case ended."""

    CONCLUDED = "concluded"
    NOT_ACCEPTED = "not_accepted"
    FORWARDED = "forwarded"
    TRANSFERRED = "transferred"
    MERGED = "merged"


class Role(StrEnum):
    """Who acts on a case."""

    INTAKE = "intake"
    HANDLER = "handler"
    LEADER = "leader"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    UNIT = "unit"
    COMPLAINANT = "complainant"
    SYSTEM = "system"


class Action(StrEnum):
    """Handler actions, each a Workflow Update of the same name (DESIGN.md REST contract)."""

    ACCEPT = "accept"
    REJECT = "reject"
    FORWARD = "forward"
    SUBMIT_OPINION = "submit-opinion"
    APPROVE_OPINION = "approve-opinion"
    REPORT_RESULT = "report-result"
    REQUEST_EXTENSION = "request-extension"
    RETURN_REFERRAL = "return-referral"
    LINK_DUPLICATE = "link-duplicate"
    RESOLVE_SUPERVISION = "resolve-supervision"
    GIVE_FEEDBACK = "give-feedback"
    RECORD_SATISFACTION = "record-satisfaction"
    APPEAL = "appeal"
    RECORD_INVESTIGATION = "record-investigation"


class InvestigationKind(StrEnum):
    """R-21, R-22 investigation steps and powers."""

    REQUEST_DOCUMENTS = "request_documents"  # 调取材料/要求书面说明, with a reply deadline
    EXPLANATION_RECEIVED = "explanation_received"
    EVIDENCE_COLLECTED = "evidence_collected"
    EXPERT_OPINION = "expert_opinion"  # 专家或第三方意见
    SITE_VISIT = "site_visit"
    ORDER_TO_STOP = "order_to_stop"  # 责令停止违法行为
    ORDER_TO_REMEDY = "order_to_remedy"  # 责令补救
    RECOMMEND_DISCIPLINE = "recommend_discipline"  # 建议任免机关给予处分


INVESTIGATION_LABELS: dict[InvestigationKind, str] = {
    InvestigationKind.REQUEST_DOCUMENTS: "要求提供材料或说明 request documents",
    InvestigationKind.EXPLANATION_RECEIVED: "收到说明 explanation received",
    InvestigationKind.EVIDENCE_COLLECTED: "收集证据 evidence collected",
    InvestigationKind.EXPERT_OPINION: "专家/第三方意见 expert opinion",
    InvestigationKind.SITE_VISIT: "现场核查 site visit",
    InvestigationKind.ORDER_TO_STOP: "责令停止 order to stop",
    InvestigationKind.ORDER_TO_REMEDY: "责令补救 order to remedy",
    InvestigationKind.RECOMMEND_DISCIPLINE: "建议处分 recommend discipline",
}


class Route(StrEnum):
    """R-13..R-16 handling routes chosen at acceptance."""

    SELF = "self"
    REFERRAL = "referral"
    JOINT = "joint"
    DISCIPLINE = "discipline"


class Finding(StrEnum):
    """R-23."""

    SUBSTANTIATED = "substantiated"
    PARTIALLY_SUBSTANTIATED = "partially_substantiated"
    UNSUBSTANTIATED = "unsubstantiated"


class Measure(StrEnum):
    """R-24."""

    ORAL_WARNING = "oral_warning"
    WRITTEN_WARNING = "written_warning"
    ORDER_TO_CORRECT = "order_to_correct"
    CIRCULATE_CRITICISM = "circulate_criticism"
    RECOMMEND_DISCIPLINE = "recommend_discipline"
    ADMINISTRATIVE_PENALTY = "administrative_penalty"
    REMEDY = "remedy"
    NONE = "none"


class Rating(StrEnum):
    """R-27 callback answers; `no_response` is set by the workflow when the window ends."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    NO_RESPONSE = "no_response"


class SupervisionChoice(StrEnum):
    """R-28, R-31."""

    UPHOLD = "uphold"
    REHANDLE = "rehandle"
    TAKE_OVER = "take_over"


class EscalationSource(StrEnum):
    """R-29 why a case is supervised."""

    OVERDUE = "overdue"
    MAJOR = "major"
    LEADER = "leader"
    MEDIA = "media"
    HOT_ISSUE = "hot_issue"
    APPEAL = "appeal"
    MANUAL = "manual"


#: The escalation sources a sender may name (R-29); `overdue`, `major` and `appeal` are set by
#: the workflow itself.
OUTSIDE_ESCALATION_SOURCES = frozenset(
    {EscalationSource.LEADER, EscalationSource.MEDIA, EscalationSource.HOT_ISSUE, EscalationSource.MANUAL}
)


class DeadlineKind(StrEnum):
    """Every clock a case can run (RULES.md, Policies)."""

    ACKNOWLEDGEMENT = "acknowledgement"
    ACCEPTANCE = "acceptance"
    OPINION = "opinion"
    HANDLING = "handling"
    OVERALL = "overall"
    RETURN_WINDOW = "return_window"
    CALLBACK = "callback"
    SUPERVISION = "supervision"
    DOCUMENT_REPLY = "document_reply"


DEADLINE_LABELS: dict[DeadlineKind, str] = {
    DeadlineKind.ACKNOWLEDGEMENT: "确认告知 acknowledgement",
    DeadlineKind.ACCEPTANCE: "受理决定 acceptance decision",
    DeadlineKind.OPINION: "拟办意见 referral opinion",
    DeadlineKind.HANDLING: "办理 handling",
    DeadlineKind.OVERALL: "总办结期限 overall limit",
    DeadlineKind.RETURN_WINDOW: "退单期限 return window",
    DeadlineKind.CALLBACK: "回访期 callback window",
    DeadlineKind.SUPERVISION: "督办答复 supervision response",
    DeadlineKind.DOCUMENT_REPLY: "材料/说明答复 respondent's reply",
}


class LimitUnit(StrEnum):
    """How a policy limit is counted (R-41, R-42)."""

    WORKING_DAYS = "working_days"
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"


class DeadlineState(StrEnum):
    OPEN = "open"
    MET = "met"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


#: C0 control characters other than tab, newline and carriage return, and DEL. PostgreSQL text
#: and jsonb refuse U+0000, so one of these in a note would stop a case's projection for good.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _find_control_character(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        m = _CONTROL.search(value)
        return f"{path or 'input'}: control character U+{ord(m.group()):04X} is not allowed" if m else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _find_control_character(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


class TextGuard(BaseModel):
    """Refuses control characters anywhere in the input, naming the field."""

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        problem = _find_control_character(data, "") if isinstance(data, dict) else None
        if problem:
            raise ValueError(problem)
        return data


class Model(TextGuard):
    """Base for every message: unknown fields are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class Actor(Model):
    """Who performs an action: a staff id (never a complainant's identity) and a role."""

    id: str = Field(min_length=1, max_length=100, examples=["handler-01"])
    role: Role
    unit: str | None = Field(default=None, description="Unit code, for handling-unit users.")


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


# --- action inputs (one per Workflow Update) ---------------------------------------------


class ActionInput(Model):
    actor: Actor


class AcceptInput(ActionInput):
    route: Route
    note: str = Field(default="", max_length=2000)
    units: list[str] = Field(
        default_factory=list, max_length=20, description="Participating units (joint, R-15)."
    )

    @model_validator(mode="after")
    def _unit_codes(self) -> AcceptInput:
        for u in self.units:
            if not 1 <= len(u) <= 64:
                raise ValueError("units: each unit code has 1 to 64 characters")
        if len(set(self.units)) != len(self.units):
            raise ValueError("units: a unit is named twice")
        return self


class RejectInput(ActionInput):
    reason: str = Field(min_length=1, max_length=2000)
    basis: str = Field(min_length=1, max_length=2000)
    guidance: str = Field(min_length=1, max_length=2000)


class ForwardInput(ActionInput):
    to: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)
    to_center: str | None = Field(
        default=None,
        max_length=64,
        description="Code of another complaint center that opens a linked case (R-12, R-46).",
    )


class SubmitOpinionInput(ActionInput):
    handling_unit: str = Field(min_length=1, max_length=100)
    opinion: str = Field(min_length=1, max_length=4000)


class ApproveOpinionInput(ActionInput):
    approved: bool
    comment: str = Field(default="", max_length=2000)


class ReportResultInput(ActionInput):
    finding: Finding
    measures: list[Measure] = Field(min_length=1)
    remedy: str = Field(default="", max_length=2000)
    responsible: str = Field(
        default="", max_length=2000, description="R-25 handling of the responsible persons."
    )
    report: str = Field(min_length=1, max_length=8000)


class RequestExtensionInput(ActionInput):
    days: int = Field(ge=1, le=20)
    reason: str = Field(min_length=1, max_length=2000)


class ReturnReferralInput(ActionInput):
    reason: str = Field(min_length=1, max_length=2000)


class LinkDuplicateInput(ActionInput):
    primary: str = Field(min_length=1, max_length=64)


class ResolveSupervisionInput(ActionInput):
    action: SupervisionChoice
    comment: str = Field(default="", max_length=2000)


class GiveFeedbackInput(ActionInput):
    message: str = Field(min_length=1, max_length=8000)
    appeal_route: str = Field(min_length=1, max_length=2000)


class RecordSatisfactionInput(ActionInput):
    rating: Rating
    comment: str = Field(default="", max_length=2000)


class AppealInput(ActionInput):
    reason: str = Field(min_length=1, max_length=4000)
    to_center: str | None = Field(
        default=None,
        max_length=64,
        description="Center that reviews the appeal: the parent center (R-46); default this one.",
    )


class RecordInvestigationInput(ActionInput):
    kind: InvestigationKind
    note: str = Field(min_length=1, max_length=4000, description="What was asked, found or ordered.")
    party: str = Field(default="", max_length=200, description="Unit or expert concerned.")




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


class DuplicateLinkedInput(TextGuard):
    """Internal signal from a duplicate case to its primary (R-45)."""

    number: str
    complainant_ref: str


# --- the case record ----------------------------------------------------------------------


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


ComplaintInput.model_rebuild()


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


class Recipient(StrEnum):
    COMPLAINANT = "complainant"
    UNIT = "unit"
    HANDLER = "handler"
    LEADER = "leader"
    SUPERVISOR = "supervisor"


class NotificationKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    FORWARDED = "forwarded"
    TRANSFERRED = "transferred"
    MERGED = "merged"
    OPINION_FOR_APPROVAL = "opinion_for_approval"
    REFERRAL = "referral"
    REFERRAL_RETURNED = "referral_returned"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_DECIDED = "extension_decided"
    DECIDED = "decided"
    FEEDBACK = "feedback"
    APPEAL = "appeal"
    SUPERVISION_RESOLVED = "supervision_resolved"
    ARCHIVED = "archived"


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


class ArchiveInput(Model):
    state: CaseState


class ArchiveResult(Model):
    number: str
    sha256: str
    prev_sha256: str | None = None
