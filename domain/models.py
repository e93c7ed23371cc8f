"""The complaint's vocabulary and messages, in one import: `from domain.models import X`.

Where each lives: `domain/codes.py` (the codes: statuses, categories, roles, …), `domain/base.py`
(the message base: control characters and unknown fields refused, the actor), `domain/case.py`
(the case record), `domain/messages.py` (the start input, action and signal inputs, activity
messages). Labels for the codes are in `domain/labels.py`. Everything here may travel through
Temporal, so nothing here may hold a complainant's identity (R-32, R-33): the complainant is only
a reference (`complainant_ref`) to a row in PostgreSQL.
"""

from __future__ import annotations

from domain.base import (
    Actor,
    Model,
    TextGuard,
)
from domain.case import (
    ActionRecord,
    ActionResult,
    CarriedCase,
    CaseState,
    Deadline,
    Decision,
    DuplicateLinkedInput,
    Escalation,
    Extension,
    Feedback,
    IgnoredSignal,
    InvestigationStep,
    JointReport,
    Satisfaction,
)
from domain.codes import (
    OUTSIDE_ESCALATION_SOURCES,
    Action,
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
    NotificationKind,
    Outcome,
    Rating,
    Recipient,
    Role,
    Route,
    Status,
    SupervisionChoice,
)
from domain.messages import (
    AcceptInput,
    ActionInput,
    AppealInput,
    ApproveOpinionInput,
    ArchiveInput,
    ArchiveResult,
    ComplaintInput,
    ComputedDeadline,
    ComputeDeadlinesInput,
    ComputeDeadlinesResult,
    DeadlineSpec,
    DecideExtensionInput,
    EscalateInput,
    ForwardInput,
    GiveFeedbackInput,
    LinkDuplicateInput,
    Notification,
    NotifyInput,
    ProjectInput,
    RecordInvestigationInput,
    RecordSatisfactionInput,
    RejectInput,
    ReportResultInput,
    RequestExtensionInput,
    ResolveSupervisionInput,
    ReturnReferralInput,
    SubmitOpinionInput,
)

__all__ = [
    "AcceptInput",
    "Action",
    "ActionInput",
    "ActionRecord",
    "ActionResult",
    "Actor",
    "AppealInput",
    "ApproveOpinionInput",
    "ArchiveInput",
    "ArchiveResult",
    "CarriedCase",
    "CaseState",
    "Category",
    "Channel",
    "ComplaintInput",
    "ComputeDeadlinesInput",
    "ComputeDeadlinesResult",
    "ComputedDeadline",
    "Deadline",
    "DeadlineKind",
    "DeadlineSpec",
    "DeadlineState",
    "DecideExtensionInput",
    "Decision",
    "DuplicateLinkedInput",
    "EscalateInput",
    "Escalation",
    "EscalationSource",
    "Extension",
    "Feedback",
    "Finding",
    "Form",
    "ForwardInput",
    "GiveFeedbackInput",
    "Grade",
    "IgnoredSignal",
    "InvestigationKind",
    "InvestigationStep",
    "JointReport",
    "LimitUnit",
    "LinkDuplicateInput",
    "Measure",
    "Model",
    "Notification",
    "NotificationKind",
    "NotifyInput",
    "OUTSIDE_ESCALATION_SOURCES",
    "Outcome",
    "ProjectInput",
    "Rating",
    "Recipient",
    "RecordInvestigationInput",
    "RecordSatisfactionInput",
    "RejectInput",
    "ReportResultInput",
    "RequestExtensionInput",
    "ResolveSupervisionInput",
    "ReturnReferralInput",
    "Role",
    "Route",
    "Satisfaction",
    "Status",
    "SubmitOpinionInput",
    "SupervisionChoice",
    "TextGuard",
]

# Display tables for the API modules still moving to `domain.labels` (issue 12); the labels
# themselves are written once, there.
from domain.labels import both as _both  # noqa: E402
from domain.labels import label as _label  # noqa: E402

CATEGORY_LABELS = {c: _label(c) for c in Category}
STATUS_LABELS = {s: _both(s) for s in Status}
INVESTIGATION_LABELS = {k: _both(k) for k in InvestigationKind}
DEADLINE_LABELS = {k: _both(k) for k in DeadlineKind}
