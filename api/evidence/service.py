"""Evidence files of a case (证据材料, R-03, R-21) and who may see them (R-32).

- **Type from the content** (`files.py`): anything but an accepted type is refused (415).
- **Limits**: `settings.evidence_max_file_bytes` per file, `evidence_max_case_bytes` per case
  (413 `file_too_large`, `case_evidence_full`).
- **Storage outside Temporal** (`files.py`): the bytes go to `settings.evidence_dir`, named by
  their SHA-256; the `evidence` table holds the metadata, the hash and who may see it.
  Nothing of it enters the workflow.
- **Confidentiality (R-32)**: the same rule as the case view (`FILE_ROLES`): handler, leader,
  supervisor and auditor, who see the complainant's file there, see every file and its
  description; everyone else sees the non-personal summary of each file and downloads only what
  they uploaded themselves (intake its own uploads; a handling unit its own and the files a
  leader approved for sharing). The summary, which a unit sees, is refused when it carries
  personal data (`domain.personal_data`). Every download is written to `access_log`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from api.auth import User
from api.centers.service import can_see
from api.complaints.queries import LOG_ACCESS, Conn, read_identity
from api.complaints.service import FILE_ROLES
from api.errors import ApiError, not_found, validation_error
from api.evidence import queries as q
from api.evidence.files import TYPES, EvidenceStore, FileType, Ingested, mib
from api.evidence.schemas import EvidenceItem, EvidenceList, ShareBody
from domain import personal_data as pd
from domain.models import CaseState, Role, Status

#: Roles of the complaint office: they see the sizes and the per-case limit. Who sees files and
#: descriptions is the case view's rule, `FILE_ROLES`.
OFFICE_ROLES = frozenset({Role.INTAKE, Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR})

PROVIDERS = ("complainant", "office", "unit")


@dataclass(frozen=True, slots=True)
class CaseRef:
    """What the evidence routes need to know of a case (from the read model)."""

    number: str
    status: str
    handling_unit: str | None


def sees_file(user: User, row: asyncpg.Record) -> bool:
    """R-32, as in the case view: FILE_ROLES see the file and its description; anyone else
    only what they uploaded themselves."""
    if user.role in FILE_ROLES:
        return True
    if user.role == Role.UNIT:
        return row["provided_by"] == "unit" and row["uploaded_unit"] == user.unit
    return bool(row["uploaded_by"] == user.id and row["uploaded_role"] == user.role.value)


def may_download(user: User, row: asyncpg.Record) -> bool:
    """R-32: FILE_ROLES always; anyone their own uploads; a unit also a file a leader shared."""
    return sees_file(user, row) or (user.role == Role.UNIT and bool(row["shared"]))


def default_summary(t: FileType, size: int) -> str:
    return f"{t.label}一份（{t.kind.upper()}，{_human(size)}）"


def _human(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{max(n // 1024, 1)} KB"


def item_view(row: asyncpg.Record, user: User) -> EvidenceItem:
    """The row as the caller may see it."""
    t = TYPES.get(row["kind"])
    downloadable = may_download(user, row)
    data: dict[str, Any] = {
        "id": row["id"], "number": row["number"], "provided_by": row["provided_by"],
        "kind": row["kind"],
        "content_type": row["content_type"], "size": row["size"],
        "summary": row["summary"] or (default_summary(t, row["size"]) if t else ""),
        "uploaded_at": row["uploaded_at"], "shared": row["shared"],
        "downloadable": downloadable,
        "download_url": f"/v1/complaints/{row['number']}/evidence/{row['id']}"
        if downloadable else None,
        "sha256": row["sha256"] if downloadable else None,
        "uploaded_unit": row["uploaded_unit"],
    }
    if user.role in FILE_ROLES:
        data.update(
            filename=row["filename"], description=row["description"],
            uploaded_by=row["uploaded_by"], uploaded_role=row["uploaded_role"],
            shared_by=row["shared_by"], shared_at=row["shared_at"], share_note=row["share_note"],
        )
    elif sees_file(user, row):  # their own upload: what they gave, nothing the office added
        data.update(filename=row["filename"], description=row["description"])
    return EvidenceItem(**data)


def download_name(row: asyncpg.Record, user: User) -> str:
    """FILE_ROLES (and the uploader) get the name as uploaded; others a neutral one (names can be
    personal)."""
    if sees_file(user, row):
        return str(row["filename"])
    t = TYPES.get(row["kind"])
    return f"evidence-{row['number']}-{row['id']}.{t.extension if t else 'bin'}"


def _visible(user: User, center: str, appeal_center: str | None,
             units: tuple[str | None, ...]) -> bool:
    """Same center (or the appeal's, R-46); a unit only the cases it is involved in (R-33): the
    handling unit, a joint unit (R-15) and the unit that must rectify (R-37), as the case view
    (`CaseState.units_involved`)."""
    if not can_see(user, center, appeal_center):
        return False
    return user.role != Role.UNIT or user.unit in units


async def case_for(
    conn: Conn,
    number: str,
    user: User,
    *,
    query: Callable[[str], Awaitable[CaseState]],
    fresh: bool = False,
) -> CaseRef:
    """The case if the caller may see it (R-46 centers, R-33 units), else 404.

    The read model answers reads; the workflow (`query`, the source of truth) is asked when the
    read model says no, since it may lag a moment behind (a referral just approved, an appeal
    just sent up), and always when `fresh` (before a change: is the case archived?).
    """
    row = await conn.fetchrow(q.SELECT_CASE, number)
    if row is None or not row["workflow_started"]:
        raise not_found()
    status, unit = str(row["status"]), row["handling_unit"]
    visible = _visible(user, row["center"], row["appeal_center"], (unit,))
    if fresh or not visible:
        try:
            state = await query(number)
        except ApiError as e:
            if e.http_status == 404 and visible and status == Status.ARCHIVED:
                return CaseRef(number=row["number"], status=status, handling_unit=unit)
            if e.http_status == 404:  # the workflow is gone (retention): the row decides
                raise not_found() from None
            raise
        status, unit = state.status.value, state.handling_unit
        if not _visible(user, state.center, state.appeal_center, state.units_involved()):
            raise not_found()
    return CaseRef(number=row["number"], status=status, handling_unit=unit)


async def check_summary(conn: Conn, number: str, summary: str) -> None:
    """A summary goes to the handling unit: it must carry no personal data, neither the
    complainant's or agent's own nor any phone, e-mail, ID or card number (R-32, R-33)."""
    if not summary:
        return
    problems = pd.problems({"summary": summary},
                           pd.Identity.of(await read_identity(conn, number)))
    if problems:
        raise validation_error(problems)


async def insert(
    conn: asyncpg.Connection[Any] | Any,
    store: EvidenceStore,
    item: Ingested,
    *,
    case: CaseRef,
    user: User,
    provided_by: str,
    filename: str,
    description: str,
    summary: str,
    max_case_bytes: int,
) -> tuple[asyncpg.Record, bool]:
    """Attach an ingested file to the case (call inside a transaction).

    Returns:
        The evidence row and whether it is new (False: the same bytes were already attached
        and the caller may see that file, so a retried upload changes nothing).
    """
    status = await conn.fetchval(q.LOCK_CASE, case.number)
    if Status.ARCHIVED in (status, case.status):
        raise ApiError(409, "invalid_status",
                       f"case {case.number} is archived; its file is closed (R-35)",
                       status=Status.ARCHIVED.value, allowed_actions=[])
    for same in await conn.fetch(q.SELECT_SAME, case.number, item.sha256):
        if may_download(user, same) and same["provided_by"] == provided_by:
            store.discard(item)
            return same, False
    used = int(await conn.fetchval(q.CASE_BYTES, case.number))
    if used + item.size > max_case_bytes:
        raise ApiError(
            413, "case_evidence_full",
            f"the evidence of case {case.number} may total at most {mib(max_case_bytes)}; "
            f"{_human(used)} are attached and this file has {_human(item.size)}",
            limit_bytes=max_case_bytes, used_bytes=used,
        )
    store.put(item)
    row = await conn.fetchrow(
        q.INSERT_EVIDENCE, case.number, provided_by, filename, description, summary,
        item.type.kind, item.type.content_type, item.size, item.sha256, user.id,
        user.role.value, user.unit,
    )
    assert row is not None
    return row, True


async def list_files(conn: Conn, case: CaseRef, user: User, *, limit_bytes: int) -> EvidenceList:
    """The files of the case as the caller may see them (R-32); sizes for the office only."""
    rows = await conn.fetch(q.LIST_EVIDENCE, case.number)
    office = user.role in OFFICE_ROLES
    return EvidenceList(
        data=[item_view(r, user) for r in rows], count=len(rows),
        total_bytes=sum(int(r["size"]) for r in rows) if office else None,
        limit_bytes=limit_bytes if office else None,
    )


async def downloadable(conn: Conn, case: CaseRef, evidence_id: int, user: User) -> asyncpg.Record:
    """The file's row if the caller may download it (else 404), the download logged."""
    row = await conn.fetchrow(q.SELECT_EVIDENCE, case.number, evidence_id)
    if row is None or not may_download(user, row):
        raise not_found("evidence file")
    return row


async def log_download(conn: Conn, case: CaseRef, row: asyncpg.Record, user: User) -> None:
    """Write the download to the access log (who, when, which file)."""
    await conn.execute(
        LOG_ACCESS, user.id, user.role.value, case.number,
        f"evidence {row['id']} ({row['provided_by']}, sha256 {row['sha256'][:16]}) downloaded",
    )


async def share(conn: Conn, case: CaseRef, evidence_id: int, body: ShareBody,
                user: User) -> EvidenceItem:
    """A leader shares the file with the handling unit, or stops sharing it (R-32)."""
    if case.status == Status.ARCHIVED:
        raise ApiError(409, "invalid_status", f"case {case.number} is archived; its file is "
                       "closed (R-35)", status="archived", allowed_actions=[])
    row = await conn.fetchrow(q.SHARE_EVIDENCE, case.number, evidence_id, body.shared, user.id,
                              body.note)
    if row is None:
        raise not_found("evidence file")
    return item_view(row, user)
