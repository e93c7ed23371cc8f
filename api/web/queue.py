"""待办 The work queue of each role, from the read model (`complaints`), sorted by the next due
instant: red once overdue, yellow from the reminder instant (one working day before the due
instant, `domain.workdays.reminder_instant`: due no later than `domain.workdays.yellow_until`).

What each role has to do (the statuses come from `domain.actions.ACTIONS`):

- intake: registered cases not accepted yet;
- handler: to accept, opinions to write, own investigations, results to feed back, callbacks,
  rectification reports to review (R-37);
- leader: opinions to approve, extension requests waiting for a decision;
- supervisor: supervised cases and appeals;
- unit: cases referred to it, joint cases it takes part in, rectifications it owes (R-37);
- auditor: open overdue cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from api.auth import User
from domain.models import Role, Status
from domain.workdays import deadline_end, yellow_until

PAGE_SIZE = 50
#: Counts stop here ("999+"): the navigation's and the list's work stays bounded however long
#: a queue grows.
COUNT_CAP = 999
LIST_CAP = 1000

#: A case with an extension request the leader has not decided yet.
_EXT_PENDING = "(state @? '$.extensions[*] ? (@.decided_at == null && @.lapsed == false)')"

#: A rectification waiting for the unit's report (state.rectification, R-37): open, or sent back.
_RECT_OWED = ("(status <> 'archived' AND state->'rectification'->>'state' = 'open' "
              "AND state->'rectification'->>'unit' = $2)")

#: role -> the SQL condition of its queue ($2 is the unit code for units).
_ROLE_WHERE: dict[Role, str] = {
    Role.INTAKE: "status = 'registered'",
    Role.HANDLER: "status IN ('registered', 'opinion_pending', 'investigating', 'decided', "
                  "'awaiting_callback')",
    Role.LEADER: f"(status = 'opinion_review' OR (status <> 'archived' AND {_EXT_PENDING}))",
    Role.SUPERVISOR: "((supervised AND status <> 'archived') OR status = 'appealed')",
    Role.UNIT: "((status = 'referred' AND handling_unit = $2) "
               "OR (status = 'investigating' AND state->'joint_units' ? $2) "
               f"OR {_RECT_OWED})",
    Role.AUDITOR: "(overdue AND status <> 'archived')",
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
    Role.UNIT: [Status.REFERRED, Status.INVESTIGATING, Status.DECIDED, Status.AWAITING_CALLBACK],
    Role.AUDITOR: [s for s in Status if s != Status.ARCHIVED],
}

#: Red: overdue, or its due instant has passed (`deadline_end`, the 24:00 rule): a due instant
#: more than a second ago always has (deadline_end(d) <= d + 1 s), the function decides only
#: within that last second (the plain comparisons are what the index and the planner use).
_RED = ("(overdue OR next_due <= $3::timestamptz - interval '1 second' "
        "OR (next_due <= $3 AND deadline_end(next_due) <= $3))")
#: Yellow: not red, and its reminder instant has come (due at or before `yellow_until`, $4).
_YELLOW = f"(NOT {_RED} AND next_due <= $4)"
_LEVELS = {"red": _RED, "yellow": _YELLOW,
           "green": f"(NOT {_RED} AND (next_due IS NULL OR next_due > $4))"}


def _where(user: User, f: QueueFilter | None = None) -> tuple[str, list[Any]]:
    """The WHERE clause of the user's queue with only the filters in use (plain conditions, so
    the plan uses the indexes of migration 0013), and its arguments after $1..$4."""
    parts = ["(center = $1 OR appeal_center = $1)", "workflow_started", "$2::text IS NOT NULL",
             "$3::timestamptz IS NOT NULL", "$4::timestamptz IS NOT NULL", _ROLE_WHERE[user.role]]
    args: list[Any] = []
    if f is not None:
        if f.status:
            args.append(f.status)
            parts.append(f"status = ${4 + len(args)}")
        if f.q:
            args.append(_escape_like(f.q))
            n = 4 + len(args)
            parts.append(f"(number ILIKE ${n} || '%' OR summary ILIKE '%' || ${n} || '%' "
                         f"OR respondent_unit_name ILIKE '%' || ${n} || '%')")
        if f.level in _LEVELS:
            parts.append(_LEVELS[f.level])
    return "WHERE " + " AND ".join(parts), args


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    q: str | None = None
    level: str | None = None


def level(next_due: datetime | None, overdue: bool, now: datetime, until: datetime) -> str:
    """red (overdue), yellow (its reminder instant has come) or green."""
    if overdue or (next_due is not None and deadline_end(next_due) <= now):
        return "red"
    if next_due is not None and next_due <= until:
        return "yellow"
    return "green"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def load_queue(
    pool: asyncpg.Pool, user: User, f: QueueFilter, *, now: datetime, page: int = 1
) -> tuple[list[dict[str, Any]], int]:
    """A page of the user's queue and the number of all its rows."""
    until = yellow_until(now)
    where, extra = _where(user, f)
    args = [user.center, user.unit or "", now, until, *extra]
    # The page's numbers first (from the index where the filters allow), then their rows.
    sql = f"""
WITH page AS (
    SELECT number, next_due FROM complaints {where}
    ORDER BY next_due ASC NULLS LAST, number
    LIMIT {PAGE_SIZE} OFFSET ${len(args) + 1}
)
SELECT c.number, c.status, c.category, c.grade, c.summary, c.respondent_unit_name,
       c.handling_unit, c.next_due, c.overdue, c.supervised, c.registered_at,
       {_EXT_PENDING.replace("state", "c.state")} AS extension_pending,
       c.state->'rectification'->>'state' AS rectification
FROM page JOIN complaints c ON c.number = page.number
ORDER BY page.next_due ASC NULLS LAST, page.number
"""
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, *args, (page - 1) * PAGE_SIZE)
        if page == 1 and len(rows) < PAGE_SIZE:
            total = len(rows)
        else:
            total = await conn.fetchval(
                f"SELECT count(*) FROM (SELECT 1 FROM complaints {where} LIMIT {LIST_CAP + 1}) x",
                *args)
    out = []
    for r in rows:
        d = dict(r)
        d["level"] = level(d["next_due"], d["overdue"], now, until)
        task = TASKS.get((user.role, d["status"]))
        if user.role == Role.LEADER and d["extension_pending"]:
            task = "待审批延期" if task is None else task + "、待审批延期"
        if user.role == Role.SUPERVISOR and d["supervised"] and task is None:
            task = "督办中"
        task = _rectification_task(user, d, task)
        d["task"] = task or ""
        out.append(d)
    return out, int(total)


def _rectification_task(user: User, row: dict[str, Any], task: str | None) -> str | None:
    """R-37: the unit owes its rectification report (待整改), the handler reviews it (待整改验收)."""
    rect = row.pop("rectification", None)
    if user.role == Role.UNIT and rect == "open":  # the case is decided: nothing else to do
        return "待整改"
    if user.role == Role.HANDLER and rect == "reported":
        return "待整改验收"
    return task


async def counts(pool: asyncpg.Pool, user: User, *, now: datetime) -> dict[str, int]:
    """For the navigation: the rows of the user's queue and its red and yellow ones, each
    counted up to COUNT_CAP + 1 (shown as "999+")."""
    where, _ = _where(user)
    sql = f"""
SELECT (SELECT count(*) FROM (SELECT 1 FROM complaints {where} LIMIT {COUNT_CAP + 1}) a) AS total,
       (SELECT count(*) FROM (SELECT 1 FROM complaints {where} AND {_RED}
                              LIMIT {COUNT_CAP + 1}) r) AS red,
       (SELECT count(*) FROM (SELECT 1 FROM complaints {where} AND {_YELLOW}
                              LIMIT {COUNT_CAP + 1}) y) AS yellow
"""
    row = await pool.fetchrow(sql, user.center, user.unit or "", now, yellow_until(now))
    assert row is not None
    return {"total": int(row["total"]), "red": int(row["red"]), "yellow": int(row["yellow"])}
