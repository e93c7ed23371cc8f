"""The supervision board (督办台账, R-29, R-30): every open case that is supervised, overdue or
yellow (its reminder has gone out, `domain.workdays.yellow_until`), with why it is supervised,
how long it has been overdue in working days and the supervision deadline.

The reminders and overdue warnings themselves are sent by each case's workflow through the
outbox (`notifications`), once per deadline, to the handling unit (or the complaint office) and
the supervisor; this board is the read side.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.stats.service import fetch, soon_instant
from api.supervision import queries as q
from api.supervision.schemas import (
    Board,
    BoardCounts,
    BoardItem,
    BoardReason,
    InspectionPace,
    Level,
    OverdueClock,
    Reason,
)
from domain import workdays
from domain.clocks import OVERDUE_MARKED
from domain.inspections import rounds_expected, year_start
from domain.workdays import BEIJING

#: The clocks whose passing makes a case overdue (`domain.clocks`).
MARKED_KINDS = frozenset(k.value for k in OVERDUE_MARKED)


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
                kind=d["kind"], due_at=due.astimezone(BEIJING),
                working_days=max(workdays.working_days_between(due, now), 0),
            ))
    overdue.sort(key=lambda o: o.due_at)
    reasons: dict[Reason, BoardReason] = {}
    if overdue:
        reasons[Reason.OVERDUE] = BoardReason(code=Reason.OVERDUE, since=overdue[0].due_at)
    for e in escalations:
        if e.get("resolved_at") is not None:
            continue
        try:
            code = Reason(e.get("source"))
        except ValueError:
            continue
        if code not in reasons:  # the first open escalation of each kind
            at = _instant(e.get("at"))
            reasons[code] = BoardReason(code=code,
                                        since=at.astimezone(BEIJING) if at else None,
                                        note=str(e.get("reason") or ""))
    if row["grade"] == "major" and Reason.MAJOR not in reasons:
        reasons[Reason.MAJOR] = BoardReason(code=Reason.MAJOR)
    next_due = row["next_due"]
    if row["overdue"] or overdue or (next_due is not None and workdays.is_late(now, next_due)):
        level = Level.RED
    elif next_due is not None and next_due <= soon:
        level = Level.YELLOW
    else:
        level = Level.NONE
    return BoardItem(
        number=row["number"], status=row["status"], category=row["category"], grade=row["grade"],
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
    counts, count, rows, pace = await asyncio.gather(
        fetch(pool, q.BOARD_COUNTS, center, soon, now, unit),
        fetch(pool, q.BOARD_COUNT_FILTERED, center, soon, now, unit, lv, rs),
        fetch(pool, q.BOARD_PAGE, center, soon, now, unit, lv, rs, page_size,
              (page - 1) * page_size),
        fetch(pool, q.INSPECTION_PACE, center, year_start(now), now),
    )
    return Board(
        data=[board_item(r, now) for r in rows], count=count[0][0],
        counts=BoardCounts(**dict(counts[0])), page=page, page_size=page_size,
        as_of=now.astimezone(BEIJING),
        inspections=None if unit else inspection_pace(dict(pace[0]), now),
    )


def inspection_pace(row: dict[str, Any], now: datetime) -> InspectionPace:
    """R-40 for the center: a round for every month ended this year, at least 12 a year."""
    expected = rounds_expected(now)
    behind = row["rounds"] < expected
    return InspectionPace(
        year=now.astimezone(BEIJING).year, rounds=row["rounds"], expected=expected, behind=behind,
        units=row["units"], units_not_inspected=row["units_not_inspected"],
        warning=(f"本年度明查暗访{row['rounds']}轮，截至上月应不少于{expected}轮，全年不少于12轮 "
                 f"inspection rounds behind: {row['rounds']} of {expected} due by now (R-40)")
        if behind else None,
    )
