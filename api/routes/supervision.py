"""`/v1/supervision`: the supervision board (督办台账, R-29, R-30).

Every open case that is supervised, overdue or due within one working day, with why it is
supervised, how long it has been overdue in working days and the supervision deadline. The
reminders and overdue warnings themselves are sent by each case's workflow through the outbox
(`notifications`), once per deadline, to the handling unit (or the complaint office) and the
supervisor; this board is the read side.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.auth import User
from api.deps import PoolDep, require
from api.routes.stats import FIGURE_ROLES, UnitQuery, scope_unit
from api.schemas import R401, R403, R422, R503
from api.stats import BEIJING, fetch, soon_instant, status_label
from domain import workdays
from domain.clocks import OVERDUE_MARKED
from domain.models import CATEGORY_LABELS, DEADLINE_LABELS, Category, DeadlineKind, EscalationSource

router = APIRouter(prefix="/v1/supervision", tags=["supervision"])

BoardUser = Annotated[User, Depends(require(*FIGURE_ROLES))]


#: The clocks whose passing makes a case overdue (`domain.clocks`).
MARKED_KINDS = frozenset(k.value for k in OVERDUE_MARKED)


class Level(StrEnum):
    """Warning level of a case on the board."""

    RED = "red"  # overdue
    YELLOW = "yellow"  # nearest due instant within one working day
    NONE = "none"  # supervised, nothing due soon


#: Why a case is supervised (R-29): the workflow's escalation sources (incl. the grade).
Reason = EscalationSource


REASON_LABELS: dict[Reason, str] = {
    Reason.OVERDUE: "超期 overdue",
    Reason.MAJOR: "重大投诉 major complaint",
    Reason.LEADER: "领导批示 marked by a leader",
    Reason.MEDIA: "媒体曝光 media exposure",
    Reason.HOT_ISSUE: "热点问题 hot issue",
    Reason.APPEAL: "申诉 appeal",
    Reason.MANUAL: "督办交办 escalated by a supervisor",
}


class BoardReason(BaseModel):
    code: Reason = Field(description="Why the case is supervised.", examples=["media"])
    label: str = Field(description="Chinese and English.", examples=["媒体曝光 media exposure"])
    since: datetime | None = Field(default=None, description="When (the first open "
                                   "escalation of this kind; for overdue, the earliest due "
                                   "instant missed).")
    note: str = Field(default="", description="The escalation's stated reason.",
                      examples=["某报道称窗口长期拖延"])


class OverdueClock(BaseModel):
    kind: DeadlineKind = Field(description="The clock that passed.", examples=["handling"])
    label: str = Field(description="Chinese and English.", examples=["办理 handling"])
    due_at: datetime = Field(description="Its due instant (Beijing).")
    working_days: int = Field(description="Working days since then (R-41: working days after "
                              "the due day up to and including today).", examples=[3])


class BoardItem(BaseModel):
    """One case on the board (non-personal: no complainant, no facts)."""

    number: str = Field(examples=["TS-20261127-00042"])
    status: str = Field(examples=["referred"])
    status_label: str = Field(examples=["已转办 referred"])
    category: str = Field(examples=["attitude"])
    category_label: str = Field(examples=["服务态度差"])
    grade: str = Field(examples=["basic"])
    handling_unit: str | None = Field(default=None, examples=["tax-bureau"])
    respondent_unit: str = Field(examples=["tax-bureau"])
    summary: str = Field(examples=["服务态度差 · 某区税务局"])
    level: Level = Field(description="red: overdue; yellow: due within one working day (the "
                         "nearest due instant is no later than the end of the next working "
                         "day); none: supervised, nothing due soon.")
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


class Board(BaseModel):
    """The supervision board, most urgent first."""

    data: list[BoardItem]
    count: int = Field(description="Cases matching the filters.", examples=[9])
    counts: BoardCounts = Field(description="By level, over the whole board (unit filter only).")
    page: int
    page_size: int
    as_of: datetime = Field(description="The instant levels and day counts refer to.")


# The board filters and sorts the open cases in the narrow `case_figures` projection and reads
# the wide read-model row (its escalations and clocks) only for the cases on the page.
# Parameters: $1 center, $2 "soon" (end of the next working day), $3 now, $4 unit or NULL;
# the filtered queries add $5 level, $6 reason; the page $7 limit, $8 offset.
_BOARD_FILTER = """
FROM case_figures f
WHERE f.center = $1 AND f.status <> 'archived'
  AND (f.supervised OR f.overdue OR f.next_due <= $2)
  AND ($4::text IS NULL OR coalesce(f.handling_unit, '') = $4)
"""

#: red: marked overdue, or past the end of its nearest due instant (the mark lags if a worker is
#: down); `deadline_end` (migration 0007) is `domain.workdays.deadline_end`: 24:00 Beijing.
_RED = "(f.overdue OR deadline_end(f.next_due) <= $3)"

_LEVEL_FILTER = f"""
  AND ($5::text IS NULL
       OR ($5 = 'red' AND {_RED})
       OR ($5 = 'yellow' AND NOT {_RED} AND f.next_due <= $2)
       OR ($5 = 'none' AND NOT {_RED} AND (f.next_due IS NULL OR f.next_due > $2)))
  AND ($6::text IS NULL OR ($6 = 'overdue' AND f.overdue) OR ($6 = 'major' AND f.grade = 'major')
       OR EXISTS (SELECT 1 FROM complaints c,
                         jsonb_array_elements(coalesce(c.state->'escalations', '[]')) e
                  WHERE c.number = f.number AND e->>'source' = $6
                    AND e->>'resolved_at' IS NULL))
"""

BOARD_COUNTS = f"""
SELECT count(*) AS total,
       count(*) FILTER (WHERE {_RED}) AS red,
       count(*) FILTER (WHERE NOT {_RED} AND f.next_due <= $2) AS yellow,
       count(*) FILTER (WHERE f.supervised) AS supervised
{_BOARD_FILTER}"""

BOARD_COUNT_FILTERED = f"SELECT count(*) {_BOARD_FILTER}{_LEVEL_FILTER}"

def _order(row: str) -> str:
    red = _RED.replace("f.", f"{row}.")
    return (f"{red} DESC, ({row}.next_due <= $2) DESC NULLS LAST, {row}.next_due ASC NULLS LAST,"
            f" {row}.number")


BOARD_PAGE = f"""
SELECT c.number, c.status, c.category, c.grade, c.handling_unit, c.respondent_unit, c.summary,
       c.next_due, c.supervision_due, c.overdue, c.supervised,
       c.state->'escalations' AS escalations, c.state->'deadlines' AS deadlines
FROM (SELECT f.number
      {_BOARD_FILTER}{_LEVEL_FILTER}
      ORDER BY {_order("f")}
      LIMIT $7 OFFSET $8) page
JOIN complaints c ON c.number = page.number
ORDER BY {_order("c")}
"""


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _json(value: Any) -> Any:
    if isinstance(value, str):  # a pool without the JSON codec hands jsonb over as text
        return json.loads(value)
    return value


def board_item(row: asyncpg.Record | dict[str, Any], now: datetime) -> BoardItem:
    """One board row: level, reasons and overdue clocks, as of `now`."""
    soon = soon_instant(now)
    escalations = _json(row["escalations"]) or []
    deadlines = _json(row["deadlines"]) or []
    overdue: list[OverdueClock] = []
    for d in deadlines:
        due = _instant(d.get("due_at"))
        if d.get("state") != "open" or due is None or d.get("kind") not in MARKED_KINDS:
            continue
        if d.get("overdue") or workdays.is_late(now, due):  # marked, or late and not yet marked
            overdue.append(OverdueClock(
                kind=d["kind"], label=DEADLINE_LABELS[DeadlineKind(d["kind"])],
                due_at=due.astimezone(BEIJING),
                working_days=max(workdays.working_days_between(due, now), 0),
            ))
    overdue.sort(key=lambda o: o.due_at)
    reasons: dict[Reason, BoardReason] = {}
    if overdue:
        reasons[Reason.OVERDUE] = BoardReason(code=Reason.OVERDUE,
                                              label=REASON_LABELS[Reason.OVERDUE],
                                              since=overdue[0].due_at)
    for e in escalations:
        if e.get("resolved_at") is not None:
            continue
        try:
            code = Reason(e.get("source"))
        except ValueError:
            continue
        if code not in reasons:  # the first open escalation of each kind
            at = _instant(e.get("at"))
            reasons[code] = BoardReason(code=code, label=REASON_LABELS[code],
                                        since=at.astimezone(BEIJING) if at else None,
                                        note=str(e.get("reason") or ""))
    if row["grade"] == "major" and Reason.MAJOR not in reasons:
        reasons[Reason.MAJOR] = BoardReason(code=Reason.MAJOR, label=REASON_LABELS[Reason.MAJOR])
    next_due = row["next_due"]
    if row["overdue"] or overdue or (next_due is not None and workdays.is_late(now, next_due)):
        level = Level.RED
    elif next_due is not None and next_due <= soon:
        level = Level.YELLOW
    else:
        level = Level.NONE
    try:
        category_label = CATEGORY_LABELS[Category(row["category"])]
    except ValueError:
        category_label = row["category"]
    return BoardItem(
        number=row["number"], status=row["status"], status_label=status_label(row["status"]),
        category=row["category"], category_label=category_label, grade=row["grade"],
        handling_unit=row["handling_unit"], respondent_unit=row["respondent_unit"],
        summary=row["summary"], level=level, supervised=row["supervised"],
        reasons=sorted(reasons.values(), key=lambda r: list(Reason).index(r.code)),
        overdue=overdue,
        overdue_working_days=overdue[0].working_days if overdue else 0,
        next_due=next_due.astimezone(BEIJING) if next_due else None,
        supervision_due=row["supervision_due"].astimezone(BEIJING)
        if row["supervision_due"] else None,
    )


async def load_board(
    pool: Any, *, center: str, unit: str | None, level: Level | None = None,
    reason: Reason | None = None, page: int = 1, page_size: int = 50,
    now: datetime | None = None,
) -> Board:
    """The board for `center` (optionally one unit) as of `now`, most urgent first."""
    now = now or datetime.now(UTC)
    soon = soon_instant(now)
    lv = level.value if level else None
    rs = reason.value if reason else None
    counts, count, rows = await asyncio.gather(
        fetch(pool, BOARD_COUNTS, center, soon, now, unit),
        fetch(pool, BOARD_COUNT_FILTERED, center, soon, now, unit, lv, rs),
        fetch(pool, BOARD_PAGE, center, soon, now, unit, lv, rs, page_size,
              (page - 1) * page_size),
    )
    return Board(
        data=[board_item(r, now) for r in rows], count=count[0][0],
        counts=BoardCounts(**dict(counts[0])), page=page, page_size=page_size,
        as_of=now.astimezone(BEIJING),
    )


@router.get(
    "",
    summary="Supervision board (督办台账)",
    responses={**R401, **R403, **R422, **R503},
)
async def get_board(
    user: BoardUser,
    pool: PoolDep,
    unit: UnitQuery = None,
    level: Annotated[Level | None, Query(description="Only this warning level.")] = None,
    reason: Annotated[Reason | None, Query(description="Only cases supervised for this "
                                           "reason.")] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="Rows per page.")] = 50,
) -> Board:
    """Open cases that are supervised, overdue or due within one working day, most urgent first.

    Red (overdue) first, longest overdue first; then yellow (due within one working day); then
    the other supervised cases by their next due instant. Each row says why the case is
    supervised (overdue, major, leader, media, hot issue, appeal, manual escalation), how many
    working days it is overdue and the supervisor's response deadline. Handler, leader,
    supervisor, auditor; a handling unit sees its own cases only.
    """
    return await load_board(
        pool, center=user.center, unit=scope_unit(user, unit), level=level, reason=reason,
        page=page, page_size=page_size,
    )
