"""Request and response models of the REST API (DESIGN.md "The REST contract (v1)", "Bodies").

Field names are part of the contract. Action and signal bodies are derived from
`domain.actions.ACTION_INPUTS` (minus `actor`, which the API takes from the token), so the API
and the workflow validate with the same constraints.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from domain.actions import ACTION_INPUTS
from domain.models import (
    Action,
    CaseState,
    Category,
    Channel,
    DeadlineKind,
    DecideExtensionInput,
    EscalateInput,
    Finding,
    Form,
    Grade,
    Model,
    Outcome,
    Rating,
    Status,
)

BEIJING = timezone(timedelta(hours=8), "CST")

NUMBER_EXAMPLE = "TS-20261127-00042"


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


# --- errors (moved to api/errors.py; re-exported until every feature imports them there) ---

from api.errors import (  # noqa: E402,F401
    R401,
    R403,
    R404,
    R409,
    R422,
    R503,
    STAFF_ERRORS,
    ErrorDetail,
    ErrorResponse,
    FieldProblem,
    Responses,
    err_doc,
)


# --- intake ---------------------------------------------------------------------------------


class AgentIn(Model):
    """The person lodging the complaint on the complainant's behalf (委托代理人, R-04)."""

    name: str = Field(min_length=1, max_length=100, description="Agent's name.", examples=["王五"])
    phone: str | None = Field(
        default=None, pattern=r"^[0-9+()\- ]{5,30}$", description="Agent's phone.",
        examples=["13900139000"],
    )
    relation: str | None = Field(
        default=None, max_length=100, description="Relation to the complainant.", examples=["亲属"]
    )


class ComplainantIn(Model):
    """Who complains (R-03, R-04). Stored only in PostgreSQL; never sent to Temporal (R-33)."""

    model_config = _examples(
        {"name": "张三", "phone": "13800138000", "address": "某区某街道1号", "anonymous": False,
         "agent": None},
        {"anonymous": True},
    )

    name: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="Name; required unless anonymous, absent when anonymous.", examples=["张三"],
    )
    phone: str | None = Field(
        default=None, pattern=r"^[0-9+()\- ]{5,30}$",
        description="Contact phone; required unless anonymous, absent when anonymous.",
        examples=["13800138000"],
    )
    address: str | None = Field(
        default=None, max_length=500, description="Address or work unit; absent when anonymous.",
        examples=["某区某街道1号"],
    )
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$",
        description="Optional e-mail for progress notices.", examples=["zhangsan@example.com"],
    )
    id_number: str | None = Field(
        default=None, pattern=r"^[0-9A-Za-z]{6,30}$",
        description="Optional identity document number; absent when anonymous.",
        examples=["110101199003074512"],
    )
    anonymous: bool = Field(default=False, description="匿名 Anonymous complaint (R-04).")
    agent: AgentIn | None = Field(default=None, description="Entrusted agent, if any (R-04).")


class RespondentIn(Model):
    """The unit (and staff, if known) complained about (被投诉单位, R-03)."""

    unit_code: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Unit code.", examples=["tax-bureau"],
    )
    unit_name: str = Field(
        min_length=1, max_length=200, description="Unit name.", examples=["某区税务局"]
    )
    staff_name: str | None = Field(
        default=None, max_length=100,
        description="Staff complained about, if known; kept in PostgreSQL only.", examples=["李四"],
    )
    subject: Literal["unit", "staff"] = Field(
        default="unit",
        description="What the complaint is about (R-46): `unit` the unit itself (its service, "
        "decisions), or `staff` its own staff incl. hired and seconded staff. Intake sends it to "
        "the center with jurisdiction: a department's own center for its staff, else the center "
        "of the unit's level (GET /v1/centers/routing shows where).",
        examples=["unit"],
    )


INTAKE_EXAMPLE: dict[str, Any] = {
    "channel": "hotline",
    "form": "oral",
    "category": "attitude",
    "grade": "basic",
    "complainant": {"name": "张三", "phone": "13800138000", "address": "某区某街道1号",
                    "anonymous": False, "agent": None},
    "respondent": {"unit_code": "tax-bureau", "unit_name": "某区税务局", "staff_name": "李四"},
    "facts": "窗口工作人员态度粗暴，材料齐全却拒绝受理。",
    "evidence": ["现场录音一段"],
    "received_at": "2026-11-27T09:30:00+08:00",
}


class ComplaintCreate(Model):
    """Registration of a complaint (登记, R-03)."""

    model_config = _examples(INTAKE_EXAMPLE)

    channel: Channel = Field(description="R-01 intake channel.", examples=["hotline"])
    form: Form = Field(
        description="R-02 oral or written; a major complaint must be written.", examples=["oral"]
    )
    category: Category = Field(description="R-07 category.", examples=["attitude"])
    grade: Grade = Field(
        default=Grade.BASIC, description="R-08 grade; `retaliation` is always major (R-34).",
        examples=["basic"],
    )
    complainant: ComplainantIn = Field(description="Who complains (personal data).")
    respondent: RespondentIn = Field(description="Who is complained about.")
    facts: str = Field(
        min_length=1, max_length=20000, description="事实和理由 Facts and reasons, as told.",
        examples=["窗口工作人员态度粗暴，材料齐全却拒绝受理。"],
    )
    evidence: list[str] = Field(
        default_factory=list, max_length=100, description="证据材料 Evidence list (R-03).",
        examples=[["现场录音一段"]],
    )
    received_at: datetime | None = Field(
        default=None,
        description="When the complaint was received; default now. Naive times are Beijing time.",
        examples=["2026-11-27T09:30:00+08:00"],
    )
    summary: str | None = Field(
        default=None, max_length=500,
        description="Non-personal short summary, the only text a handling unit sees (R-32); "
        "default '<category label> · <unit name>'. Never put names or phone numbers here.",
        examples=["窗口服务态度粗暴 · 某区税务局"],
    )
    publish_consent: bool = Field(
        default=False,
        description="The complainant agrees that the concluded case is published, anonymised "
        "(summary, finding, measures; never who complained), on the public disclosure page "
        "(R-47, R-33).",
        examples=[False],
    )


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
    status_label: str = Field(
        examples=["已转办 referred"], description="Status in Chinese and English."
    )
    outcome: str | None = Field(default=None, examples=[None], description="Outcome once archived.")
    channel: str = Field(examples=["hotline"], description="R-01 channel.")
    form: str = Field(examples=["written"], description="R-02 form.")
    category: str = Field(examples=["attitude"], description="R-07 category.")
    category_label: str = Field(examples=["服务态度差"], description="Category in Chinese.")
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
    status_label: str = Field(
        description="Status in Chinese and English.", examples=["已登记 registered"]
    )
    category_label: str = Field(description="Category in Chinese.", examples=["服务态度差"])
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


for _name, _field in CaseView.model_fields.items():
    _field.description = _field.description or _CASE_DOCS.get(_name)
CaseView.model_rebuild(force=True)


# --- actions and signals --------------------------------------------------------------------

_ACTION_DOCS: dict[Action, tuple[str, dict[str, str], dict[str, Any]]] = {
    Action.ACCEPT: (
        "受理 Accept the complaint and choose the handling route (R-10, R-13..R-16).",
        {"route": "self 自办 (R-13), referral 转办 (R-14), joint 联合办理 (R-15), discipline "
                  "移送纪检监察 (R-16; corruption, illegal_fee, abuse_of_power only).",
         "note": "Acceptance note.",
         "units": "Participating unit codes (joint handling: at least 2)."},
        {"route": "referral", "note": "属于效能投诉受理范围"},
    ),
    Action.REJECT: (
        "不予受理 Do not accept; the case is archived (R-11).",
        {"reason": "Why it is not accepted.", "basis": "The rule the decision rests on.",
         "guidance": "Where the complainant can go instead."},
        {"reason": "不属于效能投诉范围", "basis": "投诉处理制度第二条",
         "guidance": "请向区人民法院提起诉讼"},
    ),
    Action.FORWARD: (
        "转送 Forward to the competent body; the case is archived (R-12).",
        {"to": "The competent body.", "reason": "Why it is forwarded.",
         "to_center": "Another complaint center (GET /v1/centers): a linked case is opened "
                      "there with the file and evidence (R-12, R-46); its number is the "
                      "answer's `forwarded_case`."},
        {"to": "市市场监督管理局", "reason": "属于市场监管事项"},
    ),
    Action.SUBMIT_OPINION: (
        "拟办意见 Propose the handling unit and the opinion (R-14).",
        {"handling_unit": "Unit code proposed to handle the case.",
         "opinion": "The proposed handling (拟办意见)."},
        {"handling_unit": "tax-bureau", "opinion": "请区税务局核查处理并书面报告结果"},
    ),
    Action.APPROVE_OPINION: (
        "领导审批 Approve the opinion (the case goes to the unit) or send it back (R-14).",
        {"approved": "true: refer to the unit; false: back for a new opinion.",
         "comment": "Leader's comment."},
        {"approved": True, "comment": "同意"},
    ),
    Action.REPORT_RESULT: (
        "处理决定 Report the finding and measures (R-23..R-25).",
        {"finding": "substantiated 成立, partially_substantiated 部分成立, unsubstantiated 不成立.",
         "measures": "One or more measures (R-24).",
         "remedy": "Remedy for the complainant (R-25).",
         "report": "The written result report."},
        {"finding": "substantiated", "measures": ["written_warning"],
         "remedy": "当场补办", "responsible": "对窗口人员书面警告",
         "report": "经查属实，已书面警告"},
    ),
    Action.REQUEST_EXTENSION: (
        "申请延期 Ask the leader for more days; decided by the decide-extension signal "
        "(R-18, R-19).",
        {"days": "Days asked for; all extensions together at most 20 (R-19).",
         "reason": "Why more time is needed."},
        {"days": 10, "reason": "需调取外单位材料"},
    ),
    Action.RETURN_REFERRAL: (
        "退单 Return a misdirected referral within 1 working day of receipt (R-44).",
        {"reason": "Why the case is not within the unit's remit."},
        {"reason": "该事项不属于本单位职责"},
    ),
    Action.LINK_DUPLICATE: (
        "重复件合并 Link this repeat complaint to an open case; it is archived as merged (R-45).",
        {"primary": "Number of the open case this one repeats."},
        {"primary": NUMBER_EXAMPLE},
    ),
    Action.RESOLVE_SUPERVISION: (
        "督办处理 Uphold, order rehandling or take the case over (R-28, R-31).",
        {"action": "uphold, rehandle or take_over.", "comment": "Supervisor's comment."},
        {"action": "rehandle", "comment": "责成重新办理"},
    ),
    Action.GIVE_FEEDBACK: (
        "反馈 Tell the complainant the result, the reasons and how to appeal (R-26).",
        {"message": "Result and reasons.", "appeal_route": "How to appeal."},
        {"message": "经查投诉属实，已对相关人员书面警告。",
         "appeal_route": "如不服可向市效能投诉中心申诉"},
    ),
    Action.RECORD_SATISFACTION: (
        "回访 Record the callback answer (R-27).",
        {"rating": "satisfied 满意, basically_satisfied 基本满意, dissatisfied 不满意.",
         "comment": "The complainant's comment."},
        {"rating": "satisfied", "comment": "处理及时"},
    ),
    Action.APPEAL: (
        "申诉 Appeal the decision; the supervisor reviews it (R-28).",
        {"reason": "Why the decision is contested.",
         "to_center": "Center that reviews the appeal (the parent center, R-46); "
                      "default this one."},
        {"reason": "处理结果与事实不符"},
    ),
    Action.RECORD_INVESTIGATION: (
        "调查核实 Record an investigation step: documents requested (with a reply deadline), "
        "explanation received, evidence, expert opinion, site visit, orders (R-21, R-22).",
        {"kind": "The step or power used.", "note": "What was asked, found or ordered.",
         "party": "Unit or expert concerned."},
        {"kind": "request_documents", "note": "请被投诉单位3日内提供书面说明",
         "party": "tax-bureau"},
    ),
}


def _body_model(
    name: str, source: type[BaseModel], doc: str, docs: dict[str, str], example: dict[str, Any]
) -> type[Model]:
    """`source` without `actor`, with field descriptions and an example."""
    fields: dict[str, Any] = {}
    for fname, info in source.model_fields.items():
        if fname == "actor":
            continue
        info = copy.copy(info)
        info.description = info.description or docs.get(fname)
        fields[fname] = (info.annotation, info)
    model: type[Model] = create_model(name, __base__=Model, __doc__=doc, **fields)
    if example:
        model.model_config["json_schema_extra"] = {"examples": [example]}
    model.model_rebuild(force=True)
    return model


def _camel(action: Action) -> str:
    return "".join(p.capitalize() for p in action.value.split("-"))


def _docs(action: Action) -> tuple[str, dict[str, str], dict[str, Any]]:
    # An action added to the domain before it is documented here still gets its route.
    return _ACTION_DOCS.get(action, (f"The {action.value!r} action.", {}, {}))


#: The body of `POST /v1/complaints/{number}/actions/{action}`, one model per action.
ACTION_BODIES: dict[Action, type[Model]] = {
    a: _body_model(f"{_camel(a)}Body", ACTION_INPUTS[a], *_docs(a)) for a in Action
}
ACTION_DOCS: dict[Action, str] = {a: _docs(a)[0] for a in Action}
# an appeal may go up to the parent center; the API turns `to_parent` into `to_center`.
ACTION_BODIES[Action.APPEAL] = create_model(
    "AppealBody", __base__=ACTION_BODIES[Action.APPEAL], __doc__=ACTION_DOCS[Action.APPEAL],
    to_parent=(bool, Field(default=False, description="Appeal to the parent center (上级投诉"
                           "处理机构, R-28, R-46), whose supervisor reviews the whole case.")),
)

if TYPE_CHECKING:  # derived at run time; to a type checker they are plain models
    DecideExtensionBody = Model
    EscalateBody = Model
    SatisfactionBody = Model
    AppealBody = Model
else:
    DecideExtensionBody = _body_model(
        "DecideExtensionBody", DecideExtensionInput,
        "延期审批 The leader's decision on the pending extension request (R-18..R-20).",
        {"approved": "Approve or refuse.", "days": "Days approved (default: as requested).",
         "comment": "Leader's comment."},
        {"approved": True, "days": 10, "comment": "同意延期"},
    )
    EscalateBody = _body_model(
        "EscalateBody", EscalateInput,
        "督办 Put the case under supervision (R-29).",
        {"reason": "Why.", "source": "leader 领导批示, media 媒体曝光, hot_issue 热点, manual."},
        {"reason": "媒体报道", "source": "media"},
    )
    SatisfactionBody = ACTION_BODIES[Action.RECORD_SATISFACTION]
    AppealBody = ACTION_BODIES[Action.APPEAL]


class SignalAccepted(BaseModel):
    """The signal was delivered; the workflow applies it (or records why not) on its own."""

    accepted: bool = Field(default=True, description="Always true.", examples=[True])
    message: str = Field(
        default="delivered; a signal that does not apply is recorded in ignored_signals",
        description="What happens next.",
    )


# --- history and notifications --------------------------------------------------------------


class TimelineEntry(BaseModel):
    """One step of the case file."""

    seq: int | None = Field(
        description="Action sequence (none for an ignored signal).", examples=[3]
    )
    at: datetime = Field(description="When (Beijing time).", examples=["2026-11-27T10:05:00+08:00"])
    at_beijing: str = Field(description="When, for reading.", examples=["2026-11-27 10:05"])
    who: str = Field(description="Actor id.", examples=["handler-01"])
    role: str = Field(description="Actor role.", examples=["handler"])
    unit: str | None = Field(default=None, description="Actor unit (handling units).")
    what: str = Field(description="Action, signal or system event.", examples=["accept"])
    status_before: str | None = Field(default=None, examples=["registered"], description="Before.")
    status_after: str | None = Field(
        default=None, examples=["opinion_pending"], description="After."
    )
    detail: dict[str, Any] = Field(default_factory=dict, description="What was decided or said.")
    ignored: bool = Field(default=False, description="A signal that did not apply.")


class Timeline(BaseModel):
    """A readable timeline of the case."""

    number: str = Field(examples=[NUMBER_EXAMPLE], description="Complaint number.")
    status: Status = Field(description="Current status.")
    entries: list[TimelineEntry] = Field(description="Oldest first.")


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


# --- public (complainant) -------------------------------------------------------------------


class PublicDeadline(BaseModel):
    """An open deadline."""

    kind: DeadlineKind = Field(description="Which clock.")
    label: str = Field(description="Its name.", examples=["受理决定 acceptance decision"])
    due_at: datetime = Field(description="Due instant (Beijing time).")


class PublicDecision(BaseModel):
    """The finding (R-23), without anything about the persons concerned."""

    finding: Finding = Field(description="The finding.")
    finding_label: str = Field(description="In Chinese.", examples=["成立"])
    decided_at: datetime = Field(description="When.")


class PublicFeedback(BaseModel):
    """What the complainant was told (R-26)."""

    message: str = Field(description="Result and reasons.")
    appeal_route: str = Field(description="How to appeal.")
    at: datetime = Field(description="When.")


class PublicSatisfaction(BaseModel):
    """The callback answer (R-27)."""

    rating: Rating = Field(description="The rating.")
    comment: str = Field(default="", description="The comment.")
    at: datetime = Field(description="When.")


class PublicProgress(BaseModel):
    """Progress for the complainant (R-06): nothing about other people, no staff names."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "number": NUMBER_EXAMPLE, "status": "referred", "status_label": "已转办 referred",
        "outcome": None, "received_at": "2026-11-27T09:30:00+08:00",
        "deadlines": [{"kind": "handling", "label": "办理 handling",
                       "due_at": "2026-12-04T23:59:59+08:00"}],
        "decision": None, "feedback": None, "satisfaction": None, "allowed_actions": [],
    }]})

    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    status: Status = Field(description="Where the case stands.")
    status_label: str = Field(description="In Chinese and English.", examples=["已转办 referred"])
    outcome: Outcome | None = Field(default=None, description="How an archived case ended.")
    received_at: datetime = Field(description="When the complaint was received.")
    accepted_at: datetime | None = Field(default=None, description="When it was accepted.")
    deadlines: list[PublicDeadline] = Field(description="Open deadlines.")
    decision: PublicDecision | None = Field(default=None, description="The finding, once decided.")
    feedback: PublicFeedback | None = Field(default=None, description="The feedback, once given.")
    satisfaction: PublicSatisfaction | None = Field(
        default=None, description="The callback answer."
    )
    allowed_actions: list[str] = Field(
        description="What the complainant may do now: record-satisfaction, appeal.",
        examples=[["record-satisfaction", "appeal"]],
    )
    forwarded_case: str | None = Field(
        default=None,
        description="Forwarded to another complaint center (R-12): the number of the case "
        "there; the same access code opens it.",
    )


FINDING_LABELS: dict[Finding, str] = {
    Finding.SUBSTANTIATED: "成立",
    Finding.PARTIALLY_SUBSTANTIATED: "部分成立",
    Finding.UNSUBSTANTIATED: "不成立",
}


# --- health ---------------------------------------------------------------------------------


class Liveness(BaseModel):
    """The process answers."""

    status: str = Field(default="ok", examples=["ok"], description="Always ok.")


class Readiness(BaseModel):
    """Whether the dependencies answer."""

    status: str = Field(description="ready or unavailable.", examples=["ready"])
    checks: dict[str, str] = Field(
        description="Per dependency: ok, or what is wrong.",
        examples=[{"temporal": "ok", "postgres": "ok"}],
    )



# --- timeline from the workflow history, archive, audit (api/timeline.py, routes/archive.py,
# routes/audit.py) ----------------------------------------------------------------------------


class DeadlineChange(BaseModel):
    """A clock set, moved or closed by one step of the case (R-41..R-43)."""

    kind: DeadlineKind = Field(description="Which clock.", examples=["handling"])
    label: str = Field(description="The clock, Chinese then English.", examples=["办理 handling"])
    change: str = Field(
        description="set (a clock started), moved (same clock, new due instant: extension or "
        "recomputation), met, cancelled or expired.",
        examples=["set"],
    )
    change_label: str = Field(description="The change, Chinese then English.",
                              examples=["设定 set"])
    due_at: datetime = Field(description="The due instant (Beijing time).",
                             examples=["2026-12-04T23:59:59+08:00"])
    due_at_beijing: str = Field(description="The due instant, for reading.",
                                examples=["2026-12-04 23:59"])
    previous_due_at: datetime | None = Field(
        default=None, description="moved: the due instant before the change."
    )
    provisional: bool = Field(
        default=False, description="Computed without official holiday data (R-43)."
    )
    on_time: bool | None = Field(
        default=None, description="met: closed before its due instant (R-36)."
    )


class TimelineItem(TimelineEntry):
    """One step of the case, read from the Temporal history: when, who, what, with what effect."""

    kind: str = Field(
        description="action (a handler's Update), signal, timer (a durable timer fired), "
        "system (reminder, overdue escalation, callback window ended), clock (a deadline "
        "closed by the passing of time) or workflow (task failure, termination).",
        examples=["action"],
    )
    label: str = Field(description="What happened, Chinese then English.",
                       examples=["受理 accepted"])
    role_label: str = Field(description="The role, Chinese then English.",
                            examples=["投诉办 complaint office"])
    status_before_label: str | None = Field(default=None, examples=["已登记 registered"],
                                            description="Status before, bilingual.")
    status_after_label: str | None = Field(default=None, examples=["待拟办 opinion pending"],
                                           description="Status after, bilingual.")
    deadlines: list[DeadlineChange] = Field(
        default_factory=list, description="Clocks set, moved or closed by this step."
    )
    reason: str | None = Field(
        default=None, description="Why an ignored signal did not apply, or why the workflow "
        "refused an accepted Update.",
    )
    refused: bool = Field(default=False, description="An Update the workflow refused.")
    pending: bool = Field(
        default=False, description="Received, its effect not yet recorded in the history."
    )
    event_id: int | None = Field(
        default=None, description="The history event (`temporal workflow show`) it comes from."
    )
    sender: str | None = Field(
        default=None, description="The Temporal client identity that sent a signal or Update "
        "(the API, the CLI or the Web UI).",
    )


class ArchiveSeal(BaseModel):
    """Where the case file sits in the hash chain of the archive (R-35)."""

    sha256: str = Field(description="SHA-256 of the archived case file's canonical text.")
    prev_sha256: str | None = Field(default=None, description="The previous archive's hash.")
    archived_at: datetime | None = Field(default=None, description="When it was archived.")


class CaseTimeline(Timeline):
    """The case's timeline, built from its Temporal history (or the history in its archive)."""

    entries: list[TimelineItem] = Field(description="Oldest first.")  # type: ignore[assignment]
    center: str = Field(description="The case's center (R-46).", examples=["default"])
    appeal_center: str | None = Field(default=None,
                                      description="The center reviewing its appeal (R-46).")
    status_label: str = Field(description="Status, bilingual.", examples=["已转办 referred"])
    outcome: Outcome | None = Field(default=None, description="How an archived case ended.")
    category: Category = Field(description="R-07 category.")
    category_label: str = Field(description="Category in Chinese.", examples=["服务态度差"])
    grade: Grade = Field(description="R-08 grade.")
    respondent_unit: str = Field(description="Respondent unit code.", examples=["tax-bureau"])
    handling_unit: str | None = Field(default=None, description="Handling unit, if referred.")
    source: str = Field(
        description="temporal (the live workflow history) or archive (the history stored in "
        "the archived case file).", examples=["temporal"],
    )
    workflow_id: str = Field(description="Workflow id (= the complaint number).")
    run_id: str | None = Field(default=None, description="Workflow run id.")
    history_events: int = Field(description="Events in the history read.", examples=[185])
    started_at: datetime | None = Field(default=None, description="Workflow start (Beijing).")
    closed_at: datetime | None = Field(default=None, description="Workflow close (Beijing).")
    archive: ArchiveSeal | None = Field(default=None, description="The archive's hash, once "
                                        "archived.")
    generated_at: datetime = Field(description="When this timeline was built (Beijing).")


class ArchiveListItem(BaseModel):
    """One archived case file (no personal data)."""

    id: int = Field(description="Position in the hash chain.", examples=[17])
    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    archived_at: datetime = Field(description="When it was archived.")
    outcome: str | None = Field(default=None, description="How the case ended.",
                                examples=["concluded"])
    category: str | None = Field(default=None, description="R-07 category.")
    sha256: str = Field(description="SHA-256 of the canonical text.")
    prev_sha256: str | None = Field(default=None, description="The previous archive's hash.")


class ArchivesPublic(BaseModel):
    """A page of the archive, in chain order (newest first)."""

    data: list[ArchiveListItem] = Field(description="The archives.")
    count: int = Field(description="All archives of the caller's center.", examples=[1])
    page: int = Field(description="This page, from 1.", examples=[1])
    page_size: int = Field(description="Rows per page.", examples=[20])


class ArchivedCaseFile(BaseModel):
    """The archived case file as stored: personal data included (the read is logged)."""

    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    id: int = Field(description="Position in the hash chain.")
    archived_at: datetime = Field(description="When it was archived.")
    sha256: str = Field(description="SHA-256 of `canonical`, the exact text hashed.")
    prev_sha256: str | None = Field(default=None, description="The previous archive's hash.")
    document: dict[str, Any] = Field(
        description="The case file: format, case (the final CaseState), complaint and "
        "complainant (personal data), events, notifications, history (the exported Temporal "
        "history, unless left out with history=false), prev_sha256."
    )


class ArchiveVerification(BaseModel):
    """The result of checking one archive: hashes, chain link, history replay."""

    model_config = ConfigDict(extra="allow")

    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    ok: bool = Field(description="Every check that could be made passed.")
    id: int | None = Field(default=None, description="Position in the hash chain.")
    sha256: str | None = Field(default=None, description="The stored hash.")
    canonical_hash_ok: bool | None = Field(
        default=None, description="SHA-256 of the stored canonical text equals the stored hash.")
    document_hash_ok: bool | None = Field(
        default=None, description="SHA-256 of the stored JSON document, canonicalised, equals "
        "the stored hash (catches an edit of the jsonb).")
    prev_ok: bool | None = Field(
        default=None, description="The chain link: the previous archive's hash is the one "
        "recorded in this row and inside its document.")
    expected_prev: str | None = Field(default=None, description="The previous row's hash.")
    history_replay: bool | None = Field(
        default=None, description="The archived Temporal history replays against today's "
        "workflow code (Replayer); null = no history archived.")
    history_replay_error: str | None = Field(default=None,
                                             description="Why the replay failed.")
    history_case_ok: bool | None = Field(
        default=None, description="The archived case record equals the one the workflow handed "
        "to the archive activity, as recorded in the history.")
    error: str | None = Field(default=None, description="e.g. not archived.")


class AccessLogEntry(BaseModel):
    """One read of personal data (R-33): who, when, which case, what."""

    id: int = Field(description="Row id.", examples=[42])
    at: datetime = Field(description="When (Beijing time).")
    actor_id: str = Field(description="Staff id.", examples=["handler-01"])
    actor_role: str = Field(description="Role.", examples=["handler"])
    number: str = Field(description="The case read.", examples=[NUMBER_EXAMPLE])
    what: str = Field(description="What was read.", examples=["complainant, facts"])


class AccessLogPublic(BaseModel):
    """A page of the access log, newest first."""

    data: list[AccessLogEntry] = Field(description="The entries.")
    count: int = Field(description="All matching entries.", examples=[1])
    page: int = Field(description="This page, from 1.", examples=[1])
    page_size: int = Field(description="Rows per page.", examples=[50])
