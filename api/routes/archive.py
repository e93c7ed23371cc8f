"""`/v1/archive`: the archived case files (R-35), their verification and their timelines.

The archive holds personal data (the complainant, the original facts): handler, leader,
supervisor and auditor may read it, never a handling unit or intake, and every read of a case
file is written to `access_log` in the same transaction.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query

from activities.archive import verify_archive
from api import repo
from api.deps import ComplaintNumber, HistoryUser, PoolDep
from api.errors import not_found
from api.schemas import (
    R401,
    R403,
    R422,
    R503,
    STAFF_ERRORS,
    ArchivedCaseFile,
    ArchiveListItem,
    ArchivesPublic,
    ArchiveVerification,
    CaseTimeline,
)
from api.timeline import (
    TIMELINE_RESPONSES,
    Download,
    TimelineFormat,
    archived_timeline,
    may_see,
    timeline_response,
)

router = APIRouter(prefix="/v1/archive", tags=["archive"])

_FILTER = """
FROM archives
WHERE (document->'case'->>'center' = $1 OR document->'case'->>'appeal_center' = $1)
  AND ($2::text IS NULL OR number LIKE $2 || '%')
"""
COUNT_ARCHIVES = "SELECT count(*) " + _FILTER
LIST_ARCHIVES = (
    """
SELECT id, number, archived_at, document->'case'->>'outcome' AS outcome,
       document->'case'->>'category' AS category, sha256, prev_sha256
"""
    + _FILTER
    + "ORDER BY id DESC LIMIT $3 OFFSET $4"
)
#: The case file as stored (text, so any JSON codec of the pool gives the same document).
SELECT_CASE_FILE = """
SELECT id, number, archived_at, sha256, prev_sha256, document::text AS document,
       document->'case'->>'center' AS center, document->'case'->>'appeal_center' AS appeal_center
FROM archives WHERE number = $1
"""
SELECT_CENTERS = """
SELECT document->'case'->>'center' AS center, document->'case'->>'appeal_center' AS appeal_center
FROM archives WHERE number = $1
"""

#: What the access log says when an archived case file is read.
ACCESS_WHAT = "archive: case file (complainant, facts)"


@router.get("", summary="List the archive", responses={**R401, **R403, **R422, **R503})
async def list_archives(
    user: HistoryUser,
    pool: PoolDep,
    q: Annotated[
        str | None, Query(max_length=64, description="Number prefix.", examples=["TS-20261127"])
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="Rows per page (≤ 100).")] = 20,
) -> ArchivesPublic:
    """The archived cases of the caller's center in chain order, newest first, with their
    hashes; no personal data. Auditor, handler, leader, supervisor."""
    prefix = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if q else None
    count = await pool.fetchval(COUNT_ARCHIVES, user.center, prefix)
    rows = await pool.fetch(LIST_ARCHIVES, user.center, prefix, page_size, (page - 1) * page_size)
    return ArchivesPublic(
        data=[ArchiveListItem(**dict(r)) for r in rows], count=int(count), page=page, page_size=page_size
    )


@router.get("/{number}", summary="The archived case file", responses=STAFF_ERRORS)
async def get_archive(
    number: ComplaintNumber,
    user: HistoryUser,
    pool: PoolDep,
    history: Annotated[
        bool, Query(description="false: leave the exported Temporal history out of the answer.")
    ] = True,
) -> ArchivedCaseFile:
    """The whole archived case file as stored, personal data included; the read is logged
    (who, when, which case) in the access log. Auditor, handler, leader, supervisor."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(SELECT_CASE_FILE, number)
        if row is None or not may_see(user, row["center"], row["appeal_center"]):
            raise not_found("archived case")
        await conn.execute(repo.LOG_ACCESS, user.id, user.role.value, number, ACCESS_WHAT)
    document: dict[str, Any] = json.loads(row["document"])
    if not history:
        document.pop("history", None)
    return ArchivedCaseFile(
        number=row["number"],
        id=row["id"],
        archived_at=row["archived_at"],
        sha256=row["sha256"],
        prev_sha256=row["prev_sha256"],
        document=document,
    )


@router.get("/{number}/verify", summary="Verify an archived case file", responses=STAFF_ERRORS)
async def verify(number: ComplaintNumber, user: HistoryUser, pool: PoolDep) -> ArchiveVerification:
    """Recompute the hash of the stored text and of the stored JSON, check the chain link to
    the previous archive, replay the archived Temporal history against the current workflow
    code and check that the archived case record is the one in that history. `ok` is false if
    any check fails. Auditor, handler, leader, supervisor."""
    row = await pool.fetchrow(SELECT_CENTERS, number)
    if row is None or not may_see(user, row["center"], row["appeal_center"]):
        raise not_found("archived case")
    return ArchiveVerification(**await verify_archive(pool, number))


@router.get(
    "/{number}/timeline",
    summary="Timeline from the archived history",
    response_model=CaseTimeline,
    responses={**STAFF_ERRORS, **TIMELINE_RESPONSES},
)
async def get_archived_timeline(
    number: ComplaintNumber,
    user: HistoryUser,
    pool: PoolDep,
    format: TimelineFormat = "json",
    download: Download = False,
) -> Any:
    """The case's timeline built from the Temporal history stored in its archive (so it reads
    even after Temporal has dropped the workflow); JSON or a printable page (卷宗)."""
    return timeline_response(await archived_timeline(pool, number, user), format, download)
