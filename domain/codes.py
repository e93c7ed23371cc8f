"""The codes of the complaint's vocabulary (RULES.md ids in each docstring). Labels for them are
in `domain/labels.py`; the API sends these codes."""

from __future__ import annotations

from enum import StrEnum

from domain.clocks import DeadlineKind

__all__ = ["DeadlineKind"]  # defined with its table in domain/clocks.py


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


class RectificationState(StrEnum):
    """Where the rectification of a decision's measures stands (整改落实, R-37)."""

    OPEN = "open"  # the responsible unit is carrying out the measures (its clock runs)
    REPORTED = "reported"  # the unit reported what was done; the handler reviews it
    ACCEPTED = "accepted"  # the handler accepted it: the measures count as carried out
    CANCELLED = "cancelled"  # the decision was set aside (rehandling, R-31)


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
    RECTIFICATION = "rectification"
    RECTIFICATION_REPORTED = "rectification_reported"
    RECTIFICATION_RETURNED = "rectification_returned"
    RECTIFICATION_ACCEPTED = "rectification_accepted"
