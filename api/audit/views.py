"""`/v1/audit`: what the auditor checks besides cases and archives — who read personal data.

Every read of a complainant's identity or the original facts (the case view with the file, an
archived case file) writes a row to `access_log` (who, role, when, which case, what). The
auditor lists them here, for the cases of their center.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.audit.queries import AccessLogFilter, fetch_access_log
from api.audit.schemas import AccessLogEntry, AccessLogPublic
from api.complaints.schemas import NUMBER_EXAMPLE
from api.deps import AuditorUser, IsoText, PoolDep
from api.errors import R401, R403, R422, R503
from domain.models import Role
from domain.workdays import BEIJING

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _beijing(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=BEIJING) if t and t.tzinfo is None else t


@router.get(
    "/access-log", summary="Who read personal data", responses={**R401, **R403, **R422, **R503}
)
async def list_access_log(
    user: AuditorUser,
    pool: PoolDep,
    number: Annotated[
        str | None,
        Query(max_length=64, description="Only this case.", examples=[NUMBER_EXAMPLE]),
    ] = None,
    actor_id: Annotated[
        str | None,
        Query(max_length=100, description="Only this staff id.", examples=["handler-01"]),
    ] = None,
    role: Annotated[Role | None, Query(description="Only this role.")] = None,
    since: Annotated[
        datetime | None,
        IsoText, Query(description="From this instant (naive = Beijing time).",
              examples=["2026-11-01T00:00:00+08:00"]),
    ] = None,
    until: Annotated[
        datetime | None, IsoText, Query(description="Before this instant (naive = Beijing time).")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, description="Rows per page (≤ 200).")] = 50,
) -> AccessLogPublic:
    """The access log of the auditor's center, newest first: every read of a complainant's
    identity or original facts, by any role (who, when, which case, what). Auditor only."""
    f = AccessLogFilter(center=user.center, number=number, actor_id=actor_id,
                        role=role.value if role else None, since=_beijing(since),
                        until=_beijing(until))
    rows, count = await fetch_access_log(pool, f, limit=page_size, offset=(page - 1) * page_size)
    data = [AccessLogEntry(**{**dict(r), "at": r["at"].astimezone(BEIJING)}) for r in rows]
    return AccessLogPublic(data=data, count=count, page=page, page_size=page_size)
