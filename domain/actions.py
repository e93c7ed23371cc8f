"""Every handler action and every signal, as one table each: the input, who may do it in which
status, where the case goes, and the rule it implements.

The workflow's Updates and their descriptions, the API's routes, 403/409 answers and body
models, and the `allowed_actions` of every view all come from these rows. A new action is: an
`Action` member and its input model (`domain/models.py`), a row here, and its effect in the
workflow (`workflows/complaint/effects.py`); a label in `domain/labels.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from domain.models import (
    AcceptInput,
    Action,
    ActionInput,
    AppealInput,
    ApproveOpinionInput,
    DecideExtensionInput,
    EscalateInput,
    ForwardInput,
    GiveFeedbackInput,
    LinkDuplicateInput,
    RecordInvestigationInput,
    RecordSatisfactionInput,
    RejectInput,
    ReportResultInput,
    RequestExtensionInput,
    ResolveSupervisionInput,
    ReturnReferralInput,
    Role,
    Status,
    SubmitOpinionInput,
)

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


def _only(status: Status, *roles: Role) -> dict[Status, frozenset[Role]]:
    return {status: frozenset(roles)}


ACTIONS: dict[Action, ActionSpec] = {
    Action.ACCEPT: ActionSpec(
        AcceptInput,
        _only(S.REGISTERED, H),
        frozenset({S.INVESTIGATING, S.OPINION_PENDING, S.ARCHIVED}),
        "R-10",
        "受理 Accept the complaint (R-10) and choose a route: self, referral, joint or discipline.",
    ),
    Action.REJECT: ActionSpec(
        RejectInput,
        _only(S.REGISTERED, H),
        frozenset({S.ARCHIVED}),
        "R-11",
        "不予受理 Do not accept (R-11): reason, basis and where to go instead.",
    ),
    Action.FORWARD: ActionSpec(
        ForwardInput,
        _only(S.REGISTERED, H),
        frozenset({S.ARCHIVED}),
        "R-12",
        "转送 Forward to the competent body (R-12).",
    ),
    Action.LINK_DUPLICATE: ActionSpec(
        LinkDuplicateInput,
        _only(S.REGISTERED, H),
        frozenset({S.ARCHIVED}),
        "R-45",
        "重复件合并 Link this repeat complaint to an open case (R-45).",
    ),
    Action.SUBMIT_OPINION: ActionSpec(
        SubmitOpinionInput,
        _only(S.OPINION_PENDING, H),
        frozenset({S.OPINION_REVIEW}),
        "R-14",
        "拟办意见 Propose the handling unit and opinion (R-14).",
    ),
    Action.APPROVE_OPINION: ActionSpec(
        ApproveOpinionInput,
        _only(S.OPINION_REVIEW, L),
        frozenset({S.REFERRED, S.OPINION_PENDING}),
        "R-14",
        "领导审批 Leader approves or sends back the opinion (R-14).",
    ),
    # In a joint case each participating unit reports its part while investigating.
    Action.REPORT_RESULT: ActionSpec(
        ReportResultInput,
        {S.INVESTIGATING: frozenset({H, U}), S.REFERRED: frozenset({U})},
        frozenset({S.DECIDED, S.INVESTIGATING}),
        "R-23",
        "处理决定 Report the finding and measures (R-23..R-25); a joint unit reports its part (R-15).",
    ),
    Action.REQUEST_EXTENSION: ActionSpec(
        RequestExtensionInput,
        {S.OPINION_PENDING: frozenset({H}), S.INVESTIGATING: frozenset({H}), S.REFERRED: frozenset({U})},
        frozenset(),
        "R-18",
        "申请延期 Ask the leader for more days (R-18, R-19).",
    ),
    Action.RETURN_REFERRAL: ActionSpec(
        ReturnReferralInput,
        _only(S.REFERRED, U),
        frozenset({S.OPINION_PENDING}),
        "R-44",
        "退单 The handling unit returns a misdirected referral (R-44).",
    ),
    Action.RESOLVE_SUPERVISION: ActionSpec(
        ResolveSupervisionInput,
        {s: frozenset({SUP}) for s in OPEN_STATUSES},
        frozenset({S.ARCHIVED, S.REFERRED, S.INVESTIGATING}),
        "R-28",
        "督办处理 Supervisor upholds, orders rehandling or takes over (R-28, R-31).",
    ),
    Action.GIVE_FEEDBACK: ActionSpec(
        GiveFeedbackInput,
        _only(S.DECIDED, H),
        frozenset({S.AWAITING_CALLBACK}),
        "R-26",
        "反馈 Tell the complainant the result, reasons and how to appeal (R-26).",
    ),
    Action.RECORD_SATISFACTION: ActionSpec(
        RecordSatisfactionInput,
        _only(S.AWAITING_CALLBACK, H, C),
        frozenset({S.ARCHIVED}),
        "R-27",
        "回访 Record the callback answer (R-27).",
    ),
    Action.APPEAL: ActionSpec(
        AppealInput,
        _only(S.AWAITING_CALLBACK, H, C),
        frozenset({S.APPEALED}),
        "R-28",
        "申诉 The complainant appeals the decision (R-28).",
    ),
    Action.RECORD_INVESTIGATION: ActionSpec(
        RecordInvestigationInput,
        {S.INVESTIGATING: frozenset({H, U}), S.REFERRED: frozenset({U})},
        frozenset(),
        "R-21",
        "调查核实 Record an investigation step or power used (R-21, R-22); a document request "
        "starts the respondent's reply clock.",
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
