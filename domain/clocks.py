"""Every clock a case can run, as one table: what the workflow, the deadline activity, the read
model, the board and the complainant's page do with it.

A new kind of deadline is: a `DeadlineKind` member and its row here (with its labels), its
limit in a new version of the policies that use it (`domain/policies.py`), a `<column>` in a
migration, and the workflow effect that opens it. Everything else (reminders, overdue marks,
escalation, the read-model upsert, the board, the complainant's page, labels) reads this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    RECTIFICATION = "rectification"


@dataclass(frozen=True)
class Clock:
    """What a clock does (RULES.md "Policies"; R-27, R-30, R-44)."""

    label: tuple[str, str]
    """Chinese and English, for pages, the case file and notifications."""

    reminded: bool
    """A reminder (催办) one working day before it falls due (R-30)."""
    marks_overdue: bool
    """Its passing marks the case overdue and sends the overdue warning (R-30)."""
    escalates: bool
    """Its passing also escalates the case to supervision (R-30)."""
    public: bool
    """Shown to the complainant."""
    column: str
    """The read-model column with its open due instant (`complaints.<column>`)."""
    expires: bool = False
    """Its passing just ends it (the return window, R-44; the callback window, R-27)."""


CLOCKS: dict[DeadlineKind, Clock] = {
    DeadlineKind.ACKNOWLEDGEMENT: Clock(
        label=("确认告知", "acknowledgement"),
        reminded=False,
        marks_overdue=False,
        escalates=False,
        public=False,
        column="acknowledgement_due",
    ),
    DeadlineKind.ACCEPTANCE: Clock(
        label=("受理决定", "acceptance decision"),
        reminded=True,
        marks_overdue=True,
        escalates=True,
        public=True,
        column="acceptance_due",
    ),
    DeadlineKind.OPINION: Clock(
        label=("拟办意见", "referral opinion"),
        reminded=True,
        marks_overdue=True,
        escalates=True,
        public=True,
        column="opinion_due",
    ),
    DeadlineKind.HANDLING: Clock(
        label=("办理", "handling"),
        reminded=True,
        marks_overdue=True,
        escalates=True,
        public=True,
        column="handling_due",
    ),
    DeadlineKind.OVERALL: Clock(
        label=("总办结期限", "overall limit"),
        reminded=True,
        marks_overdue=True,
        escalates=True,
        public=True,
        column="overall_due",
    ),
    DeadlineKind.RETURN_WINDOW: Clock(
        label=("退单期限", "return window"),
        reminded=False,
        marks_overdue=False,
        escalates=False,
        public=False,
        column="return_due",
        expires=True,
    ),
    DeadlineKind.CALLBACK: Clock(
        label=("回访期", "callback window"),
        reminded=False,
        marks_overdue=False,
        escalates=False,
        public=True,
        column="callback_due",
        expires=True,
    ),
    # Overdue supervision goes to the leader, not to supervision again.
    DeadlineKind.SUPERVISION: Clock(
        label=("督办答复", "supervision response"),
        reminded=True,
        marks_overdue=True,
        escalates=False,
        public=True,
        column="supervision_due",
    ),
    # The respondent is late, not the office: marked and warned, never escalated.
    DeadlineKind.DOCUMENT_REPLY: Clock(
        label=("材料/说明答复", "respondent's reply"),
        reminded=True,
        marks_overdue=True,
        escalates=False,
        public=False,
        column="document_reply_due",
    ),
    # 整改落实: the responsible unit carries out the decided measures; late is overdue
    # and escalated like every stage of the office's own procedure.
    DeadlineKind.RECTIFICATION: Clock(
        label=("整改落实", "rectification"),
        reminded=True,
        marks_overdue=True,
        escalates=True,
        public=False,
        column="rectification_due",
    ),
}

REMINDED = frozenset(k for k, c in CLOCKS.items() if c.reminded)
OVERDUE_MARKED = frozenset(k for k, c in CLOCKS.items() if c.marks_overdue)
PUBLIC = frozenset(k for k, c in CLOCKS.items() if c.public)
#: kind value -> read-model column, in `DeadlineKind` order.
DUE_COLUMNS: dict[str, str] = {k.value: CLOCKS[k].column for k in DeadlineKind}
