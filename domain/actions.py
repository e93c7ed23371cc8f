"""Every handler action and every signal, as one table each: the input, who may do it in which
status, where the case goes, and the rule it implements.

The workflow's Updates and their descriptions, the API's routes, 403/409 answers and body
models, and the `allowed_actions` of every view all come from these rows. A new action is: an
`Action` member and its input model (`domain/models.py`), a row here, and its effect in the
workflow (`workflows/complaint/effects.py`); a label in `domain/labels.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from domain.base import Actor, Model
from domain.codes import (
    Finding,
    InvestigationKind,
    Measure,
    Rating,
    Role,
    Route,
    Status,
    SupervisionChoice,
)
from domain.messages import DecideExtensionInput, EscalateInput


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
    REPORT_RECTIFICATION = "report-rectification"
    REVIEW_RECTIFICATION = "review-rectification"


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


class ReportRectificationInput(ActionInput):
    measures: list[Measure] = Field(
        min_length=1, max_length=8, description="The measures carried out: every one decided."
    )
    report: str = Field(
        min_length=1, max_length=8000, description="What was done about each measure (整改情况)."
    )
    evidence: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=20, description="Ids of evidence files of this case (R-03)."
    )

    @model_validator(mode="after")
    def _distinct(self) -> ReportRectificationInput:
        if len(set(self.measures)) != len(self.measures):
            raise ValueError("measures: a measure is named twice")
        if len(set(self.evidence)) != len(self.evidence):
            raise ValueError("evidence: each file is named once")
        return self


class ReviewRectificationInput(ActionInput):
    accepted: bool = Field(description="true: the measures are carried out; false: sent back.")
    reason: str = Field(default="", max_length=2000, description="Why it is sent back (required then).")

    @model_validator(mode="after")
    def _reason(self) -> ReviewRectificationInput:
        if not self.accepted and not self.reason.strip():
            raise ValueError("reason: say why the rectification is sent back")
        return self


S = Status
H, L, SUP, U, C = Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.UNIT, Role.COMPLAINANT
OPEN_STATUSES = frozenset(s for s in Status if s != Status.ARCHIVED)


@dataclass(frozen=True)
class ActionSpec:
    """One action: a Workflow Update of the same name (DESIGN.md REST contract)."""

    input: type[ActionInput]
    allowed: dict[Status, frozenset[Role]]
    """status -> the roles that may perform it there."""
    targets: frozenset[Status]
    """Where the case may go (the body decides which; the status it was in means 'stays')."""
    rule: str
    description: str
    label: tuple[str, str] = ("", "")
    """Chinese and English (`domain.labels`)."""


def _only(status: Status, *roles: Role) -> dict[Status, frozenset[Role]]:
    return {status: frozenset(roles)}


ACTIONS: dict[Action, ActionSpec] = {
    Action.ACCEPT: ActionSpec(
        AcceptInput,
        _only(S.REGISTERED, H),
        frozenset({S.INVESTIGATING, S.OPINION_PENDING, S.ARCHIVED}),
        "R-10",
        "受理 Accept the complaint (R-10) and choose a route: self, referral, joint or discipline.",
        label=("受理", "accept"),
    ),
    Action.REJECT: ActionSpec(
        RejectInput,
        _only(S.REGISTERED, H),
        frozenset({S.ARCHIVED}),
        "R-11",
        "不予受理 Do not accept (R-11): reason, basis and where to go instead.",
        label=("不予受理", "reject"),
    ),
    Action.FORWARD: ActionSpec(
        ForwardInput,
        _only(S.REGISTERED, H),
        frozenset({S.ARCHIVED}),
        "R-12",
        "转送 Forward to the competent body (R-12).",
        label=("转送", "forward"),
    ),
    Action.LINK_DUPLICATE: ActionSpec(
        LinkDuplicateInput,
        _only(S.REGISTERED, H),
        frozenset({S.ARCHIVED}),
        "R-45",
        "重复件合并 Link this repeat complaint to an open case (R-45).",
        label=("重复件合并", "link duplicate"),
    ),
    Action.SUBMIT_OPINION: ActionSpec(
        SubmitOpinionInput,
        _only(S.OPINION_PENDING, H),
        frozenset({S.OPINION_REVIEW}),
        "R-14",
        "拟办意见 Propose the handling unit and opinion (R-14).",
        label=("拟办意见", "submit opinion"),
    ),
    Action.APPROVE_OPINION: ActionSpec(
        ApproveOpinionInput,
        _only(S.OPINION_REVIEW, L),
        frozenset({S.REFERRED, S.OPINION_PENDING}),
        "R-14",
        "领导审批 Leader approves or sends back the opinion (R-14).",
        label=("领导审批", "approve opinion"),
    ),
    # In a joint case each participating unit reports its part while investigating.
    Action.REPORT_RESULT: ActionSpec(
        ReportResultInput,
        {S.INVESTIGATING: frozenset({H, U}), S.REFERRED: frozenset({U})},
        frozenset({S.DECIDED, S.INVESTIGATING}),
        "R-23",
        "处理决定 Report the finding and measures (R-23..R-25); a joint unit reports its part (R-15).",
        label=("处理决定", "report result"),
    ),
    Action.REQUEST_EXTENSION: ActionSpec(
        RequestExtensionInput,
        {S.OPINION_PENDING: frozenset({H}), S.INVESTIGATING: frozenset({H}), S.REFERRED: frozenset({U})},
        frozenset(),
        "R-18",
        "申请延期 Ask the leader for more days (R-18, R-19).",
        label=("申请延期", "request extension"),
    ),
    Action.RETURN_REFERRAL: ActionSpec(
        ReturnReferralInput,
        _only(S.REFERRED, U),
        frozenset({S.OPINION_PENDING}),
        "R-44",
        "退单 The handling unit returns a misdirected referral (R-44).",
        label=("退单", "return referral"),
    ),
    Action.RESOLVE_SUPERVISION: ActionSpec(
        ResolveSupervisionInput,
        {s: frozenset({SUP}) for s in OPEN_STATUSES},
        frozenset({S.ARCHIVED, S.REFERRED, S.INVESTIGATING}),
        "R-28",
        "督办处理 Supervisor upholds, orders rehandling or takes over (R-28, R-31).",
        label=("督办处理", "resolve supervision"),
    ),
    Action.GIVE_FEEDBACK: ActionSpec(
        GiveFeedbackInput,
        _only(S.DECIDED, H),
        frozenset({S.AWAITING_CALLBACK}),
        "R-26",
        "反馈 Tell the complainant the result, reasons and how to appeal (R-26).",
        label=("反馈", "give feedback"),
    ),
    Action.RECORD_SATISFACTION: ActionSpec(
        RecordSatisfactionInput,
        _only(S.AWAITING_CALLBACK, H, C),
        frozenset({S.ARCHIVED}),
        "R-27",
        "回访 Record the callback answer (R-27).",
        label=("回访", "record satisfaction"),
    ),
    Action.APPEAL: ActionSpec(
        AppealInput,
        _only(S.AWAITING_CALLBACK, H, C),
        frozenset({S.APPEALED}),
        "R-28",
        "申诉 The complainant appeals the decision (R-28).",
        label=("申诉", "appeal"),
    ),
    Action.RECORD_INVESTIGATION: ActionSpec(
        RecordInvestigationInput,
        {S.INVESTIGATING: frozenset({H, U}), S.REFERRED: frozenset({U})},
        frozenset(),
        "R-21",
        "调查核实 Record an investigation step or power used (R-21, R-22); a document request "
        "starts the respondent's reply clock.",
        label=("调查核实", "record investigation"),
    ),
    # 整改落实: after a decision with measures, whatever the complainant's side does.
    Action.REPORT_RECTIFICATION: ActionSpec(
        ReportRectificationInput,
        {s: frozenset({H, U}) for s in (S.DECIDED, S.AWAITING_CALLBACK, S.APPEALED)},
        frozenset(),
        "R-37",
        "整改报告 The responsible unit reports what was done about each measure, with evidence "
        "(R-37); the handler may enter a unit's written report.",
        label=("整改报告", "report rectification"),
    ),
    Action.REVIEW_RECTIFICATION: ActionSpec(
        ReviewRectificationInput,
        {s: frozenset({H}) for s in (S.DECIDED, S.AWAITING_CALLBACK, S.APPEALED)},
        frozenset({S.ARCHIVED}),
        "R-37",
        "整改验收 The handler accepts the rectification (the measures count as carried out; a "
        "case waiting only for it is archived) or sends it back with a reason (R-37).",
        label=("整改验收", "review rectification"),
    ),
}

#: action -> its input model.
ACTION_INPUTS: dict[Action, type[ActionInput]] = {a: spec.input for a, spec in ACTIONS.items()}


@dataclass(frozen=True)
class SignalSpec:
    """A Signal: a decision sent by a leader or supervisor (API, Web UI or CLI)."""

    input: type[BaseModel] | None
    roles: frozenset[Role]
    """Who may send it through the API (empty: operators only, from the CLI or Web UI)."""
    rule: str
    description: str


SIGNALS: dict[str, SignalSpec] = {
    "decide-extension": SignalSpec(
        DecideExtensionInput,
        frozenset({L}),
        "R-18",
        "延期审批 Leader decides the pending extension request (R-18..R-20). Input: "
        '{"approved": true, "days": 10, "comment": "..."}',
    ),
    "escalate": SignalSpec(
        EscalateInput,
        frozenset({SUP, L}),
        "R-29",
        '督办 Put the case under supervision (R-29). Input: {"reason": "...", '
        '"source": "leader|media|hot_issue|manual"}',
    ),
    "recompute-deadlines": SignalSpec(
        None,
        frozenset(),
        "R-43",
        "重算期限 Recompute provisional deadlines after operators added a year's holiday data "
        "(R-43). Input: {}",
    ),
}
