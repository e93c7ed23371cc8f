"""The model family of `GET /v1/supervision`: the board, its rows and counts. Codes only: the
dashboard (`api/dashboard/page.py`) renders the labels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.models import DeadlineKind, EscalationSource


class Level(StrEnum):
    """Warning level of a case on the board."""

    RED = "red"  # overdue
    YELLOW = "yellow"  # the reminder of the nearest due instant has gone out
    NONE = "none"  # supervised, nothing due soon


#: Why a case is supervised (R-29): the workflow's escalation sources (incl. the grade).
Reason = EscalationSource


class BoardReason(BaseModel):
    code: Reason = Field(description="Why the case is supervised.", examples=["media"])
    since: datetime | None = Field(default=None, description="When (the first open "
                                   "escalation of this kind; for overdue, the earliest due "
                                   "instant missed).")
    note: str = Field(default="", description="The escalation's stated reason.",
                      examples=["某报道称窗口长期拖延"])


class OverdueClock(BaseModel):
    kind: DeadlineKind = Field(description="The clock that passed.", examples=["handling"])
    due_at: datetime = Field(description="Its due instant (Beijing).")
    working_days: int = Field(description="Working days since then (R-41: working days after "
                              "the due day up to and including today).", examples=[3])


class BoardItem(BaseModel):
    """One case on the board (non-personal: no complainant, no facts)."""

    number: str = Field(examples=["TS-20261127-00042"])
    status: str = Field(examples=["referred"])
    category: str = Field(examples=["attitude"])
    grade: str = Field(examples=["basic"])
    handling_unit: str | None = Field(default=None, examples=["tax-bureau"])
    respondent_unit: str = Field(examples=["tax-bureau"])
    summary: str = Field(examples=["服务态度差 · 某区税务局"])
    level: Level = Field(description="red: overdue; yellow: from the reminder instant (R-30: "
                         "the end of the working day before the nearest due day), as the reminders "
                         "go out; none: supervised, nothing due soon.")
    supervised: bool = Field(description="Under supervision (督办).")
    reasons: list[BoardReason] = Field(description="Why supervised (R-29); empty for a case "
                                       "that is only due soon.")
    overdue: list[OverdueClock] = Field(description="The open clocks that have passed.")
    overdue_working_days: int = Field(description="Working days since the earliest missed due "
                                      "instant; 0 when not overdue.", examples=[3])
    next_due: datetime | None = Field(default=None, description="The nearest open due instant.")
    supervision_due: datetime | None = Field(
        default=None, description="督办答复期限: the supervisor's response deadline (R-29).")


class BoardCounts(BaseModel):
    total: int = Field(description="Cases on the board (after the unit filter).", examples=[9])
    red: int = Field(examples=[3])
    yellow: int = Field(examples=[4])
    supervised: int = Field(examples=[6])


class InspectionPace(BaseModel):
    """R-40: at least 12 inspection rounds a year for each center, every unit covered."""

    year: int = Field(examples=[2026])
    rounds: int = Field(description="Rounds of this center drawn so far this (Beijing) year.",
                        examples=[10])
    expected: int = Field(description="Rounds due by now: one for each month of the year "
                          "already ended.", examples=[11])
    behind: bool = Field(description="Fewer rounds than months ended: the center falls behind "
                         "12 rounds a year.")
    units: int = Field(description="Active units of the center's register.", examples=[40])
    units_not_inspected: int = Field(description="Of them, not drawn by any round this year "
                                     "(全覆盖).", examples=[3])
    warning: str | None = Field(default=None, description="Set when behind.",
                                examples=["本年度明查暗访10轮，应不少于11轮 (R-40)"])


class Board(BaseModel):
    """The supervision board, most urgent first."""

    data: list[BoardItem]
    count: int = Field(description="Cases matching the filters.", examples=[9])
    counts: BoardCounts = Field(description="By level, over the whole board (unit filter only).")
    page: int
    page_size: int
    as_of: datetime = Field(description="The instant levels and day counts refer to.")
    inspections: InspectionPace | None = Field(default=None, description="The center's "
                                               "inspection rounds this year (R-40).")
