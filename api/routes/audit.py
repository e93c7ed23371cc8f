"""`/v1/audit`: what the auditor checks besides cases and archives — who read personal data.

Every read of a complainant's identity or the original facts (the case view with the file, an
archived case file) writes a row to `access_log` (who, role, when, which case, what). The
auditor lists them here, for the cases of their center.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import User
from api.deps import PoolDep, require
from api.schemas import (
    BEIJING,
    R401,
    R403,
    R422,
    R503,
    AccessLogEntry,
    AccessLogPublic,
)
from domain.models import Role

router = APIRouter(prefix="/v1/audit", tags=["audit"])

AuditorUser = Annotated[User, Depends(require(Role.AUDITOR))]

_FILTER = """
FROM access_log l JOIN complaints c ON c.number = l.number
WHERE (c.center = $1 OR c.state->>'appeal_center' = $1)
  AND ($2::text IS NULL OR l.number = $2)
  AND ($3::text IS NULL OR l.actor_id = $3)
  AND ($4::text IS NULL OR l.actor_role = $4)
  AND ($5::timestamptz IS NULL OR l.at >= $5)
  AND ($6::timestamptz IS NULL OR l.at < $6)
"""
COUNT_ACCESS_LOG = "SELECT count(*) " + _FILTER
LIST_ACCESS_LOG = (
    "SELECT l.id, l.at, l.actor_id, l.actor_role, l.number, l.what "
    + _FILTER
    + "ORDER BY l.id DESC LIMIT $7 OFFSET $8"
)


@router.get("/access-log", summary="Who read personal data", responses={**R401, **R403, **R422, **R503})
async def list_access_log(
    user: AuditorUser,
    pool: PoolDep,
    number: Annotated[
        str | None, Query(max_length=64, description="Only this case.", examples=["TS-20261127-00042"])
    ] = None,
    actor_id: Annotated[
        str | None, Query(max_length=100, description="Only this staff id.", examples=["handler-01"])
    ] = None,
    role: Annotated[Role | None, Query(description="Only this role.")] = None,
    since: Annotated[
        datetime | None,
        Query(
            description="From this instant (naive = Beijing time).", examples=["2026-11-01T00:00:00+08:00"]
        ),
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Before this instant (naive = Beijing time).")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, description="Rows per page (≤ 200).")] = 50,
) -> AccessLogPublic:
    """The access log of the auditor's center, newest first: every read of a complainant's
    identity or original facts, by any role (who, when, which case, what). Auditor only."""
    since, until = (t.replace(tzinfo=BEIJING) if t and t.tzinfo is None else t for t in (since, until))
    args = (user.center, number, actor_id, role.value if role else None, since, until)
    count = await pool.fetchval(COUNT_ACCESS_LOG, *args)
    rows = await pool.fetch(LIST_ACCESS_LOG, *args, page_size, (page - 1) * page_size)
    data = [AccessLogEntry(**{**dict(r), "at": r["at"].astimezone(BEIJING)}) for r in rows]
    return AccessLogPublic(data=data, count=int(count), page=page, page_size=page_size)
