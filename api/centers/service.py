"""Jurisdiction by level (R-46, 分级负责、归口办理): the centers register, where intake sends a
complaint, who sees which case, forwarding to another center (R-12) and appeals to the parent
center (R-28).

The register is two tables (migrations/0004_evidence_centers_disclosure.sql): `centers` (code,
name, level, parent, policy) and `center_units`, which says which center has jurisdiction over
complaints about a unit — about the unit itself (scope `unit`: the center of the level the
department belongs to, or the level above a government) or about its own staff (scope `staff`:
the department's own center). Operators change it with SQL; the API reads it on every use.

Visibility: a user sees a case of their own center, and a case whose appeal their center
reviews (`appeal_center`, from the workflow state) — the whole case, with its history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from activities.registration import NEXT_NUMBER
from api.auth import User
from api.centers import queries as q
from api.centers.schemas import CenterOut, CenterUnit, RoutingRule, Subject
from api.complaints.queries import Conn
from api.errors import ApiError, validation_error
from domain import policies
from domain.models import Action, CaseState, Status

log = logging.getLogger("complaints.api.jurisdiction")


@dataclass(frozen=True, slots=True)
class Center:
    """One complaint center of the register."""

    code: str
    name: str
    level: str
    parent: str | None
    policy: str | None


@dataclass(frozen=True, slots=True)
class Routing:
    """Where intake sends a complaint, and the deadline policy it runs under there."""

    center: str
    policy: str
    rule: RoutingRule


def can_see(user: User, center: str, appeal_center: str | None) -> bool:
    """R-46: a user sees their center's cases and the appeals their center reviews."""
    return user.center == center or (appeal_center is not None and user.center == appeal_center)


async def get_center(conn: Conn, code: str) -> Center | None:
    """The center `code` of the register, or None."""
    row = await conn.fetchrow(q.SELECT_CENTER, code)
    return None if row is None else Center(**dict(row))


async def list_centers(conn: Conn) -> list[Center]:
    """Every center, province first."""
    return [Center(**dict(r)) for r in await conn.fetch(q.SELECT_CENTERS)]


async def center_units(conn: Conn, code: str) -> list[dict[str, Any]]:
    """The units whose complaints center `code` handles (`scope` unit or staff)."""
    return [dict(r) for r in await conn.fetch(q.SELECT_CENTER_UNITS, code)]


async def children(conn: Conn, code: str) -> list[str]:
    """The centers whose parent is `code`."""
    return [r["code"] for r in await conn.fetch(q.SELECT_CHILDREN, code)]


def policy_of(center: Center | None, default: str) -> str:
    """The center's deadline policy for new cases; `default` (settings) when unset or unknown."""
    name = center.policy if center is not None and center.policy else default
    try:
        policies.latest(name)
    except KeyError:
        log.error("center %s names unknown policy %r; new cases use %r",
                  center.code if center else "?", name, default)
        return default
    return name


async def route(
    conn: Conn, unit_code: str, subject: Subject, user: User, *, default_policy: str
) -> Routing:
    """R-46: the center with jurisdiction over a complaint about `unit_code`.

    A complaint about a department's own staff goes to the department's own center where it has
    one; a complaint about a department, or about a government one level down, goes to the
    center of that level. A unit the register does not know stays with the intake user's center.

    Args:
        conn: a connection or the pool.
        unit_code: the respondent unit (被投诉单位).
        subject: `staff` for the unit's own staff, `unit` for the unit itself.
        user: the intake user (their center is the fallback).
        default_policy: `settings.policy`, for centers without a policy of their own.
    """
    scopes = ["staff", "unit"] if subject == "staff" else ["unit"]
    row = await conn.fetchrow(q.ROUTE_UNIT, unit_code, scopes)
    code: str = row["center"] if row is not None else user.center
    rule: RoutingRule = "intake" if row is None else "staff" if row["scope"] == "staff" else "unit"
    center = await get_center(conn, code)
    if center is None and rule != "intake":
        log.error("center_units names unknown center %r for unit %r", code, unit_code)
    return Routing(center=code, policy=policy_of(center, default_policy), rule=rule)


def _invalid(field: str, message: str) -> ApiError:
    return validation_error(
        [{"field": field, "location": "body", "message": message, "type": "jurisdiction"}]
    )


async def action_fields(
    conn: Conn, action: Action, state: CaseState, data: dict[str, Any], user: User | None
) -> dict[str, Any]:
    """Check and complete the jurisdiction fields of an action body (R-12, R-28, R-46).

    - `forward` with `to_center`: a known center other than the case's own.
    - `appeal`: `to_parent: true` becomes `to_center` = the parent center; an explicit
      `to_center` must be this center or its parent.
    - `resolve-supervision` of an appeal sent to another center: only that center's supervisors.

    Args:
        conn: a connection or the pool.
        action: the action.
        state: the case as it stands.
        data: the body (`model_dump()`), without `actor`.
        user: the staff user, or None for the complainant.

    Returns:
        The body as the workflow's input model expects it.
    """
    data = dict(data)
    if action == Action.FORWARD and data.get("to_center"):
        to = data["to_center"]
        if to == state.center:
            raise _invalid("to_center", f"the case is already at center {to!r}")
        if await get_center(conn, to) is None:
            raise _invalid("to_center", f"unknown center {to!r}; see GET /v1/centers")
    if action == Action.APPEAL:
        to_parent = bool(data.pop("to_parent", False))
        to = data.get("to_center")
        if to_parent or (to and to != state.center):
            here = await get_center(conn, state.center)
            parent = here.parent if here else None
            if parent is None:
                raise _invalid("to_parent" if to_parent else "to_center",
                               f"center {state.center!r} has no parent center to appeal to")
            if to and to != parent:
                raise _invalid("to_center", f"an appeal goes to this center ({state.center!r}) "
                               f"or its parent ({parent!r}), R-46")
            data["to_center"] = parent
    if (action == Action.RESOLVE_SUPERVISION and user is not None
            and state.status == Status.APPEALED and state.appeal_center
            and state.appeal_center != user.center):
        raise ApiError(403, "forbidden",
                       f"the appeal is reviewed by center {state.appeal_center!r} (R-28, R-46)")
    return data


async def forwarded_case(conn: Conn, number: str) -> str | None:
    """The number of the linked case opened at another center when `number` was forwarded."""
    row = await conn.fetchrow(q.SELECT_FORWARD_LINK, number)
    return None if row is None else str(row["to_number"])


async def open_forwarded(
    conn: asyncpg.Connection[Any] | Any,
    origin: CaseState,
    to_center: str,
    user: User,
    *,
    now: datetime,
    default_policy: str,
    new_number: Callable[[int], str],
) -> asyncpg.Record:
    """Open (once) the linked case at `to_center` for the forwarded case `origin` (R-12).

    Call inside a transaction. A retry finds the link made the first time and returns that
    case's row, so the caller only starts a workflow whose `workflow_started` is false.

    Args:
        conn: a connection inside a transaction.
        origin: the forwarded case.
        to_center: the other center (checked by `action_fields`).
        user: who forwarded it (recorded on the link).
        now: the new case's `received_at`: when the other center received it.
        default_policy: `settings.policy`.
        new_number: the complaint number for a value of `complaint_number_seq`.

    Returns:
        The start columns of the linked case (`activities.intake.START_COLUMNS`).
    """
    await conn.fetchrow(q.LOCK_COMPLAINT, origin.number)  # one linked case, even when racing
    link = await conn.fetchrow(q.SELECT_FORWARD_LINK, origin.number)
    if link is not None:
        row = await conn.fetchrow(q.SELECT_START_ROW, link["to_number"])
        assert row is not None
        return row
    target = await get_center(conn, to_center)
    policy = policies.latest(policy_of(target, default_policy))
    number = new_number(await conn.fetchval(NEXT_NUMBER))
    row = await conn.fetchrow(q.COPY_FORWARDED, origin.number, number, to_center, policy.name,
                              policy.version, now)
    if row is None:
        raise ApiError(409, "invalid_state",
                       f"case {origin.number} has no registration in PostgreSQL to forward")
    await conn.execute(q.COPY_EVIDENCE, origin.number, number)
    await conn.execute(q.INSERT_FORWARD_LINK, origin.number, number, origin.center, to_center,
                       user.id)
    log.info("case %s forwarded to center %s as %s", origin.number, to_center, number)
    return row


async def center_out(conn: Conn, c: Center, default_policy: str) -> CenterOut:
    """The register's entry of center `c`: its policy, the centers below it, its units."""
    units = [CenterUnit(**u) for u in await center_units(conn, c.code)]
    return CenterOut(
        code=c.code, name=c.name, level=c.level, parent=c.parent,
        policy=policy_of(c, default_policy), children=await children(conn, c.code), units=units,
    )
