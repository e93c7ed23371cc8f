"""Every display label, Chinese and English apart, kept away from the codes.

The API sends codes (`"status": "registered"`); pages, the case file, notifications and the
Temporal Web UI render labels from here. One table per vocabulary, keyed by the enum (two
vocabularies may share a code: `appeal` is an action, an escalation source and a notification).

    label(Status.REGISTERED)           -> "已登记"
    label(Status.REGISTERED, "en")     -> "registered"
    both(Status.REGISTERED)            -> "已登记 registered"

Plain-string vocabularies of the case file (timeline events, clock changes, …) are tables of
their own below (`EVENTS`, `CHANGES`, `ENTRY_KINDS`, `STAGES`, `LEVELS`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from domain.actions import ACTIONS, Action
from domain.clocks import CLOCKS, DeadlineKind
from domain.codes import (
    Category,
    Channel,
    EscalationSource,
    Finding,
    Form,
    Grade,
    InvestigationKind,
    Measure,
    NotificationKind,
    Outcome,
    Rating,
    RectificationState,
    Role,
    Route,
    Status,
    SupervisionChoice,
)

Lang = Literal["zh", "en"]

#: enum -> code -> (Chinese, English).
TABLES: dict[type[StrEnum], dict[str, tuple[str, str]]] = {
    Channel: {
        Channel.HOTLINE: ("热线电话", "hotline"),
        Channel.WEB: ("网站平台", "web platform"),
        Channel.WINDOW: ("窗口现场", "on-site window"),
        Channel.LETTER: ("信函", "letter"),
        Channel.EMAIL: ("电子邮件", "e-mail"),
        Channel.INSPECTION: ("督查发现", "inspection finding"),
        Channel.OTHER: ("其他", "other"),
    },
    Form: {Form.ORAL: ("口头", "oral"), Form.WRITTEN: ("书面", "written")},
    Category: {
        Category.ATTITUDE: ("服务态度差", "poor attitude"),
        Category.NO_ANSWER: ("不能及时准确解答", "no timely answer"),
        Category.REPEAT_VISITS: ("未一次性告知造成多次往返", "repeat visits"),
        Category.REFUSED_ACCEPTANCE: ("材料齐全故意不受理", "refused acceptance"),
        Category.OVERDUE_APPROVAL: ("承诺时限内未办结", "overdue approval"),
        Category.ARBITRARY_RETURN: ("随意退件", "arbitrary return"),
        Category.BUCK_PASSING: ("推诿扯皮", "buck passing"),
        Category.ABSENT: ("擅离职守", "absent from post"),
        Category.INEFFICIENCY: ("效率低下", "inefficiency"),
        Category.ILLEGAL_FEE: ("违规收费", "illegal fee"),
        Category.CORRUPTION: ("吃拿卡要/以权谋私", "corruption"),
        Category.RETALIATION: ("刁难打击报复投诉人", "retaliation"),
        Category.ABUSE_OF_POWER: ("滥用职权/不作为乱作为", "abuse of power"),
        Category.OTHER: ("其他", "other"),
    },
    Grade: {
        Grade.BASIC: ("基层", "basic"),
        Grade.INTERMEDIATE: ("中级", "intermediate"),
        Grade.MAJOR: ("重大", "major"),
    },
    Status: {
        Status.REGISTERED: ("已登记", "registered"),
        Status.INVESTIGATING: ("调查处理中", "investigating"),
        Status.OPINION_PENDING: ("待拟办", "opinion pending"),
        Status.OPINION_REVIEW: ("待领导审批", "opinion review"),
        Status.REFERRED: ("已转办", "referred"),
        Status.DECIDED: ("已作出处理决定", "decided"),
        Status.AWAITING_CALLBACK: ("待回访", "awaiting callback"),
        Status.APPEALED: ("申诉中", "appealed"),
        Status.ARCHIVED: ("已归档", "archived"),
    },
    Outcome: {
        Outcome.CONCLUDED: ("办结", "concluded"),
        Outcome.NOT_ACCEPTED: ("不予受理", "not accepted"),
        Outcome.FORWARDED: ("转送", "forwarded"),
        Outcome.TRANSFERRED: ("移送纪检监察", "transferred"),
        Outcome.MERGED: ("重复件合并", "merged"),
    },
    Role: {
        Role.INTAKE: ("登记员", "intake clerk"),
        Role.HANDLER: ("投诉办", "complaint office"),
        Role.LEADER: ("领导", "leader"),
        Role.SUPERVISOR: ("督办", "supervisor"),
        Role.AUDITOR: ("审计", "auditor"),
        Role.UNIT: ("承办单位", "handling unit"),
        Role.COMPLAINANT: ("投诉人", "complainant"),
        Role.SYSTEM: ("系统", "system"),
    },
    InvestigationKind: {
        InvestigationKind.REQUEST_DOCUMENTS: ("要求提供材料或说明", "request documents"),
        InvestigationKind.EXPLANATION_RECEIVED: ("收到说明", "explanation received"),
        InvestigationKind.EVIDENCE_COLLECTED: ("收集证据", "evidence collected"),
        InvestigationKind.EXPERT_OPINION: ("专家/第三方意见", "expert opinion"),
        InvestigationKind.SITE_VISIT: ("现场核查", "site visit"),
        InvestigationKind.ORDER_TO_STOP: ("责令停止", "order to stop"),
        InvestigationKind.ORDER_TO_REMEDY: ("责令补救", "order to remedy"),
        InvestigationKind.RECOMMEND_DISCIPLINE: ("建议处分", "recommend discipline"),
    },
    Route: {
        Route.SELF: ("自办", "self-handled"),
        Route.REFERRAL: ("转办", "referral"),
        Route.JOINT: ("联合办理", "joint handling"),
        Route.DISCIPLINE: ("移送纪检监察", "discipline inspection"),
    },
    Finding: {
        Finding.SUBSTANTIATED: ("成立", "substantiated"),
        Finding.PARTIALLY_SUBSTANTIATED: ("部分成立", "partially substantiated"),
        Finding.UNSUBSTANTIATED: ("不成立", "unsubstantiated"),
    },
    Measure: {
        Measure.ORAL_WARNING: ("口头警告", "oral warning"),
        Measure.WRITTEN_WARNING: ("书面警告", "written warning"),
        Measure.ORDER_TO_CORRECT: ("责令改正", "order to correct"),
        Measure.CIRCULATE_CRITICISM: ("通报批评", "circulate criticism"),
        Measure.RECOMMEND_DISCIPLINE: ("建议纪律处分", "recommend discipline"),
        Measure.ADMINISTRATIVE_PENALTY: ("行政处罚", "administrative penalty"),
        Measure.REMEDY: ("补救/赔偿", "remedy"),
        Measure.NONE: ("无", "none"),
    },
    Rating: {
        Rating.SATISFIED: ("满意", "satisfied"),
        Rating.BASICALLY_SATISFIED: ("基本满意", "basically satisfied"),
        Rating.DISSATISFIED: ("不满意", "dissatisfied"),
        Rating.NO_RESPONSE: ("未答复", "no response"),
    },
    SupervisionChoice: {
        SupervisionChoice.UPHOLD: ("维持", "uphold"),
        SupervisionChoice.REHANDLE: ("责成重新处理", "rehandle"),
        SupervisionChoice.TAKE_OVER: ("直接受理", "take over"),
    },
    EscalationSource: {
        EscalationSource.OVERDUE: ("超期", "overdue"),
        EscalationSource.MAJOR: ("重大投诉", "major complaint"),
        EscalationSource.LEADER: ("领导批示", "marked by a leader"),
        EscalationSource.MEDIA: ("媒体曝光", "media exposure"),
        EscalationSource.HOT_ISSUE: ("热点问题", "hot issue"),
        EscalationSource.APPEAL: ("申诉", "appeal"),
        EscalationSource.MANUAL: ("督办交办", "escalated by a supervisor"),
    },
    NotificationKind: {
        NotificationKind.ACKNOWLEDGEMENT: ("投诉已登记", "complaint registered"),
        NotificationKind.ACCEPTED: ("投诉已受理", "complaint accepted"),
        NotificationKind.NOT_ACCEPTED: ("投诉不予受理", "complaint not accepted"),
        NotificationKind.FORWARDED: ("投诉已转送", "complaint forwarded"),
        NotificationKind.TRANSFERRED: ("已移送纪检监察", "transferred to discipline inspection"),
        NotificationKind.MERGED: ("已并入同一事项投诉", "merged with an open case"),
        NotificationKind.OPINION_FOR_APPROVAL: ("拟办意见待审批", "opinion for approval"),
        NotificationKind.REFERRAL: ("投诉件转办", "case referred to your unit"),
        NotificationKind.REFERRAL_RETURNED: ("转办件被退回", "referral returned"),
        NotificationKind.REMINDER: ("催办", "reminder"),
        NotificationKind.OVERDUE: ("超期预警", "overdue"),
        NotificationKind.ESCALATED: ("督办", "escalated to supervision"),
        NotificationKind.EXTENSION_REQUESTED: ("延期申请", "extension requested"),
        NotificationKind.EXTENSION_DECIDED: ("延期审批结果", "extension decided"),
        NotificationKind.DECIDED: ("处理决定", "decision made"),
        NotificationKind.FEEDBACK: ("处理结果反馈", "feedback on your complaint"),
        NotificationKind.APPEAL: ("申诉", "appeal"),
        NotificationKind.SUPERVISION_RESOLVED: ("督办处理结果", "supervision resolved"),
        NotificationKind.ARCHIVED: ("已归档", "archived"),
        NotificationKind.RECTIFICATION: ("整改通知", "measures to carry out"),
        NotificationKind.RECTIFICATION_REPORTED: ("整改报告待验收", "rectification reported"),
        NotificationKind.RECTIFICATION_RETURNED: ("整改报告被退回", "rectification sent back"),
        NotificationKind.RECTIFICATION_ACCEPTED: ("整改已验收", "rectification accepted"),
    },
}

TABLES[RectificationState] = {
    RectificationState.OPEN: ("整改中", "being carried out"),
    RectificationState.REPORTED: ("整改待验收", "reported, awaiting review"),
    RectificationState.ACCEPTED: ("整改已验收", "accepted"),
    RectificationState.CANCELLED: ("整改已撤销", "cancelled"),
}

# The actions' and the clocks' labels are written with their rows (domain/actions.py, clocks.py).
TABLES[Action] = {a.value: spec.label for a, spec in ACTIONS.items()}
TABLES[DeadlineKind] = {k.value: clock.label for k, clock in CLOCKS.items()}

#: What each step is called in the case file: actions, signals, system events, workflow events.
EVENTS: dict[str, tuple[str, str]] = {
    "register": ("登记", "registered"),
    "accept": ("受理", "accepted"),
    "reject": ("不予受理", "not accepted"),
    "forward": ("转送", "forwarded"),
    "link-duplicate": ("重复件合并", "linked to an open case"),
    "submit-opinion": ("拟办意见", "opinion submitted"),
    "approve-opinion": ("领导审批", "opinion reviewed"),
    "report-result": ("处理决定", "result reported"),
    "request-extension": ("申请延期", "extension requested"),
    "decide-extension": ("延期审批", "extension decided"),
    "extension-lapsed": ("延期申请失效", "extension request lapsed"),
    "return-referral": ("退单", "referral returned"),
    "resolve-supervision": ("督办处理", "supervision resolved"),
    "give-feedback": ("反馈", "feedback given"),
    "record-satisfaction": ("回访", "callback answer recorded"),
    "appeal": ("申诉", "appealed"),
    "record-investigation": ("调查核实", "investigation step"),
    "report-rectification": ("整改报告", "rectification reported"),
    "review-rectification": ("整改验收", "rectification reviewed"),
    "escalate": ("督办", "escalated to supervision"),
    "recompute-deadlines": ("重算期限", "deadlines recomputed"),
    "duplicate-linked": ("重复件关联", "repeat complaint linked"),
    "reminder": ("催办", "reminder"),
    "overdue": ("超期预警", "overdue warning"),
    "overdue-escalated": ("超期督办", "overdue, escalated to supervision"),
    "callback-expired": ("回访期满", "callback window ended"),
    "timer-fired": ("时钟到点", "timer fired"),
    "deadline-closed": ("期限届满", "deadline passed"),
    "workflow-task-failed": ("工作流任务失败", "workflow task failed"),
    "workflow-terminated": ("已终止", "workflow terminated"),
    "workflow-cancelled": ("已取消", "workflow cancelled"),
    "workflow-failed": ("工作流失败", "workflow failed"),
    "workflow-timed-out": ("工作流超时", "workflow timed out"),
    "workflow-continued-as-new": ("工作流续新", "continued as new"),
}

#: How a clock changed, on the case file.
CHANGES: dict[str, tuple[str, str]] = {
    "set": ("设定", "set"),
    "moved": ("变更", "moved"),
    "met": ("办结", "met"),
    "cancelled": ("取消", "cancelled"),
    "expired": ("届满", "expired"),
}

#: What kind of entry a case-file line is.
ENTRY_KINDS: dict[str, tuple[str, str]] = {
    "action": ("操作", "action"),
    "signal": ("信号", "signal"),
    "timer": ("时钟", "timer"),
    "system": ("系统", "system"),
    "clock": ("期限", "clock"),
    "workflow": ("工作流", "workflow"),
}

#: Warning levels of the board and the dashboard.
LEVELS: dict[str, tuple[str, str]] = {
    "red": ("红色预警 超期", "red: overdue"),
    "yellow": ("黄色预警 一个工作日内到期", "yellow: due within a working day"),
    "green": ("正常", "green"),
}


def label(value: StrEnum, lang: Lang = "zh") -> str:
    """The label of a code in one language; the code itself if it has none."""
    pair = TABLES.get(type(value), {}).get(value.value)
    if pair is None:
        return value.value
    return pair[0] if lang == "zh" else pair[1]


def both(value: StrEnum) -> str:
    """Chinese, then English: `已登记 registered`."""
    pair = TABLES.get(type(value), {}).get(value.value)
    return f"{pair[0]} {pair[1]}" if pair else value.value


def text(table: dict[str, tuple[str, str]], code: str, lang: Lang | None = None) -> str:
    """A plain-string vocabulary's label: one language, or both (`lang=None`)."""
    pair = table.get(code)
    if pair is None:
        return code
    return f"{pair[0]} {pair[1]}" if lang is None else pair[0 if lang == "zh" else 1]
