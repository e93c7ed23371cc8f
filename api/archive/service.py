"""The archived case files (R-35): listing, reading (logged in the same transaction) and
verifying them.

The archive holds personal data (the complainant, the original facts), so every read of a case
file is written to `access_log` in the transaction that reads it.
"""

from __future__ import annotations

import json
from typing import Any

from activities.archive import load_anchors, verify_archive
from api.archive import queries as q
from api.archive.schemas import (
    ArchivedCaseFile,
    ArchiveListItem,
    ArchivesPublic,
    ArchiveVerification,
)
from api.auth import User
from api.centers.service import can_see
from api.complaints.queries import LOG_ACCESS
from api.errors import not_found

#: What the access log says when an archived case file is read.
ACCESS_WHAT = "archive: case file (complainant, facts)"


async def list_archives(pool: Any, user: User, *, prefix: str | None, page: int,
                        page_size: int) -> ArchivesPublic:
    """A page of the archives of the caller's center (and the appeals it reviews), newest first."""
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if prefix else None
    count = await pool.fetchval(q.COUNT_ARCHIVES, user.center, like)
    rows = await pool.fetch(q.LIST_ARCHIVES, user.center, like, page_size, (page - 1) * page_size)
    return ArchivesPublic(data=[ArchiveListItem(**dict(r)) for r in rows], count=int(count),
                          page=page, page_size=page_size)


async def case_file(pool: Any, number: str, user: User, *, history: bool) -> ArchivedCaseFile:
    """The case file as stored, the read logged (who, when, which case); 404 if not visible."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(q.SELECT_CASE_FILE, number)
        if row is None or not can_see(user, row["center"], row["appeal_center"]):
            raise not_found("archived case")
        await conn.execute(LOG_ACCESS, user.id, user.role.value, number, ACCESS_WHAT)
    document: dict[str, Any] = json.loads(row["document"])
    if not history:
        document.pop("history", None)
    return ArchivedCaseFile(number=row["number"], id=row["id"], archived_at=row["archived_at"],
                            sha256=row["sha256"], prev_sha256=row["prev_sha256"],
                            document=document)


async def verify(
    pool: Any, number: str, user: User, *, client: Any = None, settings: Any = None
) -> ArchiveVerification:
    """Hashes, chain link, history replay and anchors (Temporal's record of the archive step,
    the seals) of the case's archive; 404 if not visible."""
    row = await pool.fetchrow(q.SELECT_CENTERS, number)
    if row is None or not can_see(user, row["center"], row["appeal_center"]):
        raise not_found("archived case")
    anchors = None
    position = await pool.fetchval(q.SELECT_POSITION, number)
    if settings is not None and position is not None:
        anchors = await load_anchors(pool, settings, client, covering=position)
    return ArchiveVerification(**await verify_archive(pool, number, anchors=anchors))
