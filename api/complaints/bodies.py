"""The bodies of the action and signal routes, derived from `domain.actions.ACTION_INPUTS`
(minus `actor`, which the API takes from the token), so that the API and the workflow validate
with the same constraints; each with its field descriptions and an example.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from api.complaints.schemas import NUMBER_EXAMPLE
from domain.actions import ACTION_INPUTS, ACTIONS
from domain.models import Action, DecideExtensionInput, EscalateInput, Model

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
    Action.REPORT_RECTIFICATION: (
        "整改报告 The responsible unit (or the handler entering its written report) reports what "
        "was done about each measure of the decision, with evidence files of the case (R-37). "
        "Meets the rectification clock; the handler then reviews it.",
        {"measures": "The measures carried out: every measure of the decision (R-24).",
         "report": "What was done about each measure (整改情况).",
         "evidence": "Ids of evidence files of this case (POST .../evidence first); a unit may "
                     "cite its own uploads and files a leader shared (R-32)."},
        {"measures": ["written_warning", "order_to_correct"], "evidence": [12],
         "report": "已对窗口人员书面警告；已修订窗口受理流程，附整改后的流程文件"},
    ),
    Action.REVIEW_RECTIFICATION: (
        "整改验收 Accept the rectification: the measures count as carried out (R-37) and a case "
        "that waited only for it is archived; or send it back with a reason: the unit works on "
        "against the same due instant (only an approved extension moves a deadline, R-18, R-20).",
        {"accepted": "true: accept; false: send back.",
         "reason": "Why it is sent back (required then)."},
        {"accepted": False, "reason": "未附整改后的制度文件"},
    ),
}


#: Constraints the domain checks in a validator, stated in the OpenAPI document (a breach is
#: the domain's ValidationError, answered 422 by api/errors.py).
_STATED: dict[tuple[str, str], dict[str, Any]] = {
    ("AcceptInput", "units"): {"items": {"type": "string", "minLength": 1, "maxLength": 64}},
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
        if (source.__name__, fname) in _STATED:
            info.json_schema_extra = _STATED[(source.__name__, fname)]
        fields[fname] = (info.annotation, info)
    model: type[Model] = create_model(name, __base__=Model, __doc__=doc, **fields)
    if example:
        model.model_config["json_schema_extra"] = {"examples": [example]}
    model.model_rebuild(force=True)
    return model


def _camel(action: Action) -> str:
    return "".join(p.capitalize() for p in action.value.split("-"))


def _docs(action: Action) -> tuple[str, dict[str, str], dict[str, Any]]:
    # Optional: an action without richer docs here gets its route with the domain's description.
    return _ACTION_DOCS.get(action, (ACTIONS[action].description, {}, {}))


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
