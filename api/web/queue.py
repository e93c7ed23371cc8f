"""待办 The work queue of each role, from the read model (`complaints`), sorted by the next due
instant: red once overdue, yellow from the reminder instant (one working day before the due
instant, `domain.workdays.add_working_days(due, -1)`, as `activities/deadlines.py` computes it).

What each role has to do (the statuses come from `domain.actions.ACTIONS`):

- intake: registered cases not accepted yet;
- handler: to accept, opinions to write, own investigations, results to feed back, callbacks;
- leader: opinions to approve, extension requests waiting for a decision;
- supervisor: supervised cases and appeals;
- unit: cases referred to it, joint cases it takes part in;
- auditor: open overdue cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from api.auth import User
from domain.models import Role, Status
from domain.workdays import BEIJING, add_working_days, deadline_end, end_of_day

PAGE_SIZE = 50

#: A case with an extension request the leader has not decided yet.
_EXT_PENDING = "(state @? '$.extensions[*] ? (@.decided_at == null && @.lapsed == false)')"

#: role -> the SQL condition of its queue ($2 is the unit code for units, else unused).
_ROLE_WHERE: dict[Role, str] = {
    Role.INTAKE: "status = 'registered'",
    Role.HANDLER: "status IN ('registered', 'opinion_pending', 'investigating', 'decided', "
                  "'awaiting_callback')",
    Role.LEADER: f"(status = 'opinion_review' OR (status <> 'archived' AND {_EXT_PENDING}))",
    Role.SUPERVISOR: "status <> 'archived' AND (supervised OR status = 'appealed')",
    Role.UNIT: "((status = 'referred' AND handling_unit = $2) "
               "OR (status = 'investigating' AND state->'joint_units' ? $2))",
    Role.AUDITOR: "status <> 'archived' AND overdue",
}

#: (role, status) -> what is to be done, for the list.
TASKS: dict[tuple[Role, str], str] = {
    (Role.INTAKE, "registered"): "待受理（处理人员）",
    (Role.HANDLER, "registered"): "待受理",
    (Role.HANDLER, "opinion_pending"): "待拟办意见",
    (Role.HANDLER, "investigating"): "待调查办理",
    (Role.HANDLER, "decided"): "待反馈结果",
    (Role.HANDLER, "awaiting_callback"): "待回访",
    (Role.LEADER, "opinion_review"): "待审批拟办意见",
    (Role.SUPERVISOR, "appealed"): "待复查申诉",
    (Role.UNIT, "referred"): "待办理转办件",
    (Role.UNIT, "investigating"): "联合办理",
}

#: The statuses a role's filter offers.
ROLE_STATUSES: dict[Role, list[Status]] = {
    Role.INTAKE: [Status.REGISTERED],
    Role.HANDLER: [Status.REGISTERED, Status.OPINION_PENDING, Status.INVESTIGATING,
                   Status.DECIDED, Status.AWAITING_CALLBACK],
    Role.LEADER: [Status.OPINION_REVIEW, Status.OPINION_PENDING, Status.INVESTIGATING,
                  Status.REFERRED],
    Role.SUPERVISOR: [s for s in Status if s != Status.ARCHIVED],
    Role.UNIT: [Status.REFERRED, Status.INVESTIGATING],
    Role.AUDITOR: [s for s in Status if s != Status.ARCHIVED],
}

_FILTERS = """
  AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR number ILIKE $4 || '%' OR summary ILIKE '%' || $4 || '%'
       OR respondent_unit_name ILIKE '%' || $4 || '%')
  AND ($5::text IS NULL
       OR ($5 = 'red' AND (overdue OR deadline_end(next_due) <= $6))
       OR ($5 = 'yellow' AND NOT overdue AND deadline_end(next_due) > $6 AND next_due <= $7)
       OR ($5 = 'green' AND NOT overdue AND (next_due IS NULL OR next_due > $7)))
"""


def _where(role: Role) -> str:
    return ("WHERE (center = $1 OR appeal_center = $1) AND workflow_started AND $2::text IS NOT NULL AND "
            + _ROLE_WHERE[role] + _FILTERS)


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    q: str | None = None
    level: str | None = None


def yellow_until(now: datetime) -> datetime:
    """The latest due instant whose reminder instant has come: a day-based due instant is
    23:59:59 of its day, so this walks the days ahead until the reminder is still to come."""
    day = now.astimezone(BEIJING).date()
    last = end_of_day(day - timedelta(days=1))
    for i in range(0, 40):
        due = end_of_day(day + timedelta(days=i))
        if add_working_days(due, -1) > now:
            break
        last = due
    return last + timedelta(microseconds=999_999)


def level(next_due: datetime | None, overdue: bool, now: datetime, until: datetime) -> str:
    """red (overdue), yellow (its reminder instant has come) or green."""
    if overdue or (next_due is not None and deadline_end(next_due) <= now):
        return "red"
    if next_due is not None and next_due <= until:
        return "yellow"
    return "green"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _args(user: User, f: QueueFilter, now: datetime, until: datetime) -> list[Any]:
    q = _escape_like(f.q) if f.q else None
    return [user.center, user.unit or "", f.status, q, f.level, now, until]


async def load_queue(
    pool: asyncpg.Pool, user: User, f: QueueFilter, *, now: datetime, page: int = 1
) -> tuple[list[dict[str, Any]], int]:
    """A page of the user's queue and the number of all its rows."""
    until = yellow_until(now)
    where = _where(user.role)
    sql = f"""
SELECT number, status, category, grade, summary, respondent_unit_name, handling_unit, next_due,
       overdue, supervised, registered_at, {_EXT_PENDING} AS extension_pending
FROM complaints {where}
ORDER BY next_due ASC NULLS LAST, number
LIMIT {PAGE_SIZE} OFFSET $8
"""
    args = _args(user, f, now, until)
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, *args, (page - 1) * PAGE_SIZE)
        total = await conn.fetchval(f"SELECT count(*) FROM complaints {where}", *args)
    out = []
    for r in rows:
        d = dict(r)
        d["level"] = level(d["next_due"], d["overdue"], now, until)
        task = TASKS.get((user.role, d["status"]))
        if user.role == Role.LEADER and d["extension_pending"]:
            task = "待审批延期" if task is None else task + "、待审批延期"
        if user.role == Role.SUPERVISOR and d["supervised"] and task is None:
            task = "督办中"
        d["task"] = task or ""
        out.append(d)
    return out, int(total)


async def counts(pool: asyncpg.Pool, user: User, *, now: datetime) -> dict[str, int]:
    """For the navigation: all rows of the user's queue and its red and yellow ones."""
    until = yellow_until(now)
    where = _where(user.role)
    sql = f"""
SELECT count(*) AS total,
       count(*) FILTER (WHERE overdue OR deadline_end(next_due) <= $6) AS red,
       count(*) FILTER (WHERE NOT overdue AND deadline_end(next_due) > $6 AND next_due <= $7)
         AS yellow
FROM complaints {where}
"""
    row = await pool.fetchrow(sql, *_args(user, QueueFilter(), now, until))
    assert row is not None
    return {"total": int(row["total"]), "red": int(row["red"]), "yellow": int(row["yellow"])}
