"""`/v1/archive`: the archived case files (R-35), their verification and their timelines.

Handler, leader, supervisor and auditor may read the archive, never a handling unit or intake;
every read of a case file is logged (`service.py`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.archive import service
from api.archive.schemas import ArchivedCaseFile, ArchivesPublic, ArchiveVerification
from api.deps import ComplaintNumber, HistoryUser, PoolDep, SettingsDep, TemporalDep
from api.errors import R401, R403, R422, R503, STAFF_ERRORS
from api.timeline.page import TIMELINE_RESPONSES, Download, TimelineFormat, timeline_response
from api.timeline.schemas import CaseTimeline
from api.timeline.service import archived_timeline

router = APIRouter(prefix="/v1/archive", tags=["archive"])


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
    return await service.list_archives(pool, user, prefix=q, page=page, page_size=page_size)


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
    return await service.case_file(pool, number, user, history=history)


@router.get("/{number}/verify", summary="Verify an archived case file", responses=STAFF_ERRORS)
async def verify(
    number: ComplaintNumber, user: HistoryUser, pool: PoolDep, client: TemporalDep,
    settings: SettingsDep,
) -> ArchiveVerification:
    """Recompute the hash of the stored text and of the stored JSON, check the chain link to
    the previous archive, replay the archived Temporal history against the current workflow
    code and check that the archived case record is the one in that history; then compare the
    row with the anchors outside PostgreSQL: the hash and chain position the archive step
    returned to Temporal (while retention keeps the run) and the RFC 3161 seals of the chain.
    `ok` is false if any check fails; `problems` says why. Auditor, handler, leader,
    supervisor."""
    return await service.verify(pool, number, user, client=client, settings=settings)


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
