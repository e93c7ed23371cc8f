"""Evidence files of a case (证据材料, R-03, R-21) and who may see them (R-32).

- **Type from the content.** The first bytes (and, for office files, the zip or OLE directory)
  say what a file is: JPEG, PNG, GIF, WebP, PDF, MP3, WAV, M4A/MP4, docx, xlsx, doc, xls.
  Anything else is refused (415 `unsupported_file_type`), and so is a file whose name or
  declared content type claims another type than its content (415 `file_type_mismatch`).
- **Limits**: `settings.evidence_max_file_bytes` per file, `evidence_max_case_bytes` per case
  (413 `file_too_large`, `case_evidence_full`).
- **Storage outside Temporal**: the bytes go to `settings.evidence_dir`, named by their SHA-256
  (`ab/abcdef…`, written to a temporary file and renamed, so a file is whole or absent); the
  `evidence` table holds the metadata, the hash and who may see it. Nothing of it enters the
  workflow.
- **Confidentiality (R-32)**: the complaint office (intake, handler, leader, supervisor,
  auditor) sees everything; a handling unit sees a non-personal summary of each file and
  downloads only files a leader approved for sharing, and its own uploads. Every download is
  written to `access_log`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from api import jurisdiction, repo
from api.auth import User
from api.errors import ApiError, not_found
from domain.models import CaseState, Role, Status

#: Roles of the complaint office: they see every file and its description.
OFFICE_ROLES = frozenset({Role.INTAKE, Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR})

#: Who may upload: intake and handlers for the complainant or the office, a handling unit for
#: the case referred to it.
UPLOAD_ROLES = frozenset({Role.INTAKE, Role.HANDLER, Role.UNIT})

PROVIDERS = ("complainant", "office", "unit")

#: Multipart overhead allowed on top of the file itself (boundaries, headers, text fields).
MULTIPART_OVERHEAD_BYTES = 64 * 1024

CHUNK = 1024 * 1024


# --- file types --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileType:
    """An accepted kind of evidence file."""

    kind: str
    content_type: str
    label: str
    extensions: frozenset[str]
    declared: frozenset[str]

    @property
    def extension(self) -> str:
        """The usual file extension, for names given to handling units."""
        return {"jpeg": "jpg", "m4a": "m4a", "mp4": "mp4"}.get(self.kind, self.kind)


def _t(kind: str, content_type: str, label: str, ext: set[str], declared: set[str]) -> FileType:
    return FileType(kind, content_type, label, frozenset(ext), frozenset({content_type, *declared}))


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ZIP = {"application/zip", "application/x-zip-compressed"}
_MP4_EXT = {"m4a", "mp4", "m4v", "mov", "3gp"}
_MP4_DECLARED = {"audio/mp4", "audio/x-m4a", "audio/m4a", "video/mp4", "video/quicktime",
                 "video/3gpp", "audio/3gpp", "video/x-m4v"}

TYPES: dict[str, FileType] = {t.kind: t for t in (
    _t("jpeg", "image/jpeg", "图片", {"jpg", "jpeg", "jpe", "jfif"}, {"image/jpg", "image/pjpeg"}),
    _t("png", "image/png", "图片", {"png"}, {"image/x-png"}),
    _t("gif", "image/gif", "图片", {"gif"}, set()),
    _t("webp", "image/webp", "图片", {"webp"}, set()),
    _t("pdf", "application/pdf", "PDF 文档", {"pdf"}, {"application/x-pdf"}),
    _t("mp3", "audio/mpeg", "录音", {"mp3"}, {"audio/mp3", "audio/mpeg3", "audio/x-mpeg-3"}),
    _t("wav", "audio/wav", "录音", {"wav"}, {"audio/x-wav", "audio/wave", "audio/vnd.wave"}),
    _t("m4a", "audio/mp4", "录音", _MP4_EXT, _MP4_DECLARED),
    _t("mp4", "video/mp4", "视频", _MP4_EXT, _MP4_DECLARED),
    _t("docx", _DOCX, "Word 文档", {"docx"}, _ZIP),
    _t("xlsx", _XLSX, "Excel 表格", {"xlsx"}, _ZIP),
    _t("doc", "application/msword", "Word 文档", {"doc"}, set()),
    _t("xls", "application/vnd.ms-excel", "Excel 表格", {"xls"},
       {"application/msexcel", "application/x-msexcel"}),
)}

#: Declared content types that claim nothing (what a client sends when it does not know).
GENERIC_DECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream",
                              "application/unknown"})

ACCEPTED = "JPEG, PNG, GIF, WebP, PDF, MP3, WAV, M4A/MP4, docx, xlsx, doc, xls"

#: ISO base media (MP4) brands taken as audio (M4A) or video; others (HEIC images, ...) are not
#: accepted.
_M4A_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                         b"M4V ", b"M4VH", b"M4VP", b"qt  ", b"3gp4", b"3gp5", b"3gp6", b"3g2a",
                         b"MSNV", b"dash", b"f4v "})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


class Refused(Exception):
    """An upload refused for what it is (type, size); rendered as an `ApiError`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.error = ApiError(status, code, message, **extra)


def _mp3_frame(b: bytes) -> bool:
    """An MPEG audio layer III frame header (a file without an ID3 tag starts with one)."""
    if len(b) < 4 or b[0] != 0xFF or (b[1] & 0xE0) != 0xE0:
        return False
    version, layer = (b[1] >> 3) & 3, (b[1] >> 1) & 3
    bitrate, rate = b[2] >> 4, (b[2] >> 2) & 3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3


def _office_zip(path: Path) -> str | None:
    """docx or xlsx: a zip with `[Content_Types].xml` and the main part of either."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())  # the central directory only: nothing is extracted
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def _ole_kind(path: Path) -> str | None:
    """doc or xls: an OLE compound file with a `WordDocument` or `Workbook`/`Book` stream."""
    word, book, book95 = _utf16("WordDocument"), _utf16("Workbook"), _utf16("Book\x00")
    tail = b""
    found: set[str] = set()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            window = tail + chunk
            if word in window:
                found.add("doc")
            if book in window or book95 in window:
                found.add("xls")
            tail = window[-64:]
    return found.pop() if len(found) == 1 else None


def sniff(head: bytes, path: Path) -> FileType | None:
    """The type of the file at `path` from its content (`head` = its first bytes), or None."""
    kind: str | None = None
    if head.startswith(b"\xff\xd8\xff"):
        kind = "jpeg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        kind = "gif"
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = "webp"
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        kind = "wav"
    elif head.startswith(b"%PDF-"):
        kind = "pdf"
    elif head.startswith(b"ID3") or _mp3_frame(head):
        kind = "mp3"
    elif head[4:8] == b"ftyp":
        brand = head[8:12]
        kind = "m4a" if brand in _M4A_BRANDS else "mp4" if brand in _MP4_BRANDS else None
    elif head.startswith(b"PK\x03\x04"):
        kind = _office_zip(path)
    elif head.startswith(_OLE_MAGIC):
        kind = _ole_kind(path)
    return TYPES[kind] if kind else None


def extension_of(filename: str) -> str:
    """The lower-case extension of a file name ('' when it has none)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip(". ")
    return base.rsplit(".", 1)[1].lower() if "." in base else ""


def clean_filename(filename: str | None, t: FileType) -> str:
    """The name to keep: no directories, no control characters, at most 200 characters."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:200]
    return base or f"evidence.{t.extension}"


def check_claims(t: FileType, filename: str, declared: str | None) -> None:
    """Refuse a file whose name or declared content type names another type (it lies)."""
    ext = extension_of(filename)
    if ext and ext not in t.extensions:
        raise Refused(
            415, "file_type_mismatch",
            f"the file is named '.{ext}' but its content is {t.kind.upper()} ({t.label}); "
            f"the type is taken from the content: rename it to .{t.extension} or send the "
            "right file", detected=t.kind,
        )
    claimed = (declared or "").split(";", 1)[0].strip().lower()
    if claimed not in GENERIC_DECLARED and claimed not in t.declared:
        raise Refused(
            415, "file_type_mismatch",
            f"the file was sent as {claimed!r} but its content is {t.kind.upper()} ({t.label})",
            detected=t.kind,
        )


# --- storage -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ingested:
    """An upload copied to a temporary file in the store, hashed and typed."""

    tmp: Path
    size: int
    sha256: str
    type: FileType


class EvidenceStore:
    """Evidence bytes in a directory, by SHA-256: `<root>/ab/abcdef…` (content-addressed)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def ingest(self, src: IO[bytes], *, max_bytes: int, filename: str,
               declared: str | None) -> Ingested:
        """Copy `src` to a temporary file here, hashing it; check size and type (blocking).

        Raises:
            Refused: empty, larger than `max_bytes`, of no accepted type, or lying about it.
        """
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                src.seek(0)
                while chunk := src.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise Refused(
                            413, "file_too_large",
                            f"an evidence file may be at most {_mib(max_bytes)} "
                            f"({max_bytes} bytes); this one is larger", limit_bytes=max_bytes,
                        )
                    if len(head) < 64:
                        head = (head + chunk)[:64]
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise Refused(422, "empty_file", "the file is empty")
            t = sniff(head, tmp)
            if t is None:
                raise Refused(
                    415, "unsupported_file_type",
                    f"the content of the file is not an accepted type ({ACCEPTED}); the type "
                    "is read from the content, not the name", accepted=sorted(TYPES),
                )
            check_claims(t, filename, declared)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Ingested(tmp=tmp, size=size, sha256=digest.hexdigest(), type=t)

    def put(self, item: Ingested) -> None:
        """Move an ingested file to its place (an identical file already there is kept)."""
        final = self.path(item.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            item.tmp.unlink(missing_ok=True)
            return
        os.replace(item.tmp, final)  # atomic within the store's file system

    def discard(self, item: Ingested) -> None:
        item.tmp.unlink(missing_ok=True)


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB"


def body_limit(max_file_bytes: int) -> tuple[int, str]:
    """The request body limit of the upload route, and its message."""
    return (max_file_bytes + MULTIPART_OVERHEAD_BYTES,
            f"an evidence file may be at most {_mib(max_file_bytes)} ({max_file_bytes} bytes); "
            "this upload is larger")


# --- SQL ---------------------------------------------------------------------------------------

_COLUMNS = """
    id, number, provided_by, filename, description, summary, kind, content_type, size, sha256,
    uploaded_by, uploaded_role, uploaded_unit, uploaded_at, shared, shared_by, shared_at,
    share_note
"""

SELECT_CASE = """
SELECT number, center, appeal_center, status, handling_unit, workflow_started
FROM complaints WHERE number = $1
"""
LOCK_CASE = "SELECT status FROM complaints WHERE number = $1 FOR UPDATE"
CASE_BYTES = "SELECT COALESCE(sum(size), 0)::bigint FROM evidence WHERE number = $1"
SELECT_SAME = f"SELECT {_COLUMNS} FROM evidence WHERE number = $1 AND sha256 = $2 ORDER BY id"
INSERT_EVIDENCE = f"""
INSERT INTO evidence (number, provided_by, filename, description, summary, kind, content_type,
                      size, sha256, uploaded_by, uploaded_role, uploaded_unit)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING {_COLUMNS}
"""
LIST_EVIDENCE = f"SELECT {_COLUMNS} FROM evidence WHERE number = $1 ORDER BY id"
SELECT_EVIDENCE = f"SELECT {_COLUMNS} FROM evidence WHERE number = $1 AND id = $2"
SHARE_EVIDENCE = f"""
UPDATE evidence SET shared = $3, shared_by = $4, shared_at = now(), share_note = $5
WHERE number = $1 AND id = $2
RETURNING {_COLUMNS}
"""
#: The complainant's identity, to keep it out of the summaries units see (R-32, R-33).
SELECT_IDENTITY = """
SELECT p.name, p.phone, p.id_number, p.address
FROM complaints c JOIN complainants p ON p.ref = c.complainant_ref WHERE c.number = $1
"""


# --- views -------------------------------------------------------------------------------------


class EvidenceItem(BaseModel):
    """One evidence file; for a handling unit only the summary, unless it may download it."""

    id: int = Field(description="Evidence id within the case.", examples=[7])
    number: str = Field(description="The complaint number.")
    provided_by: str = Field(description="complainant, office or unit.", examples=["complainant"])
    kind: str = Field(description="Type read from the content.", examples=["mp3"])
    kind_label: str = Field(description="The type in Chinese.", examples=["录音"])
    content_type: str = Field(description="Content type of the download.",
                              examples=["audio/mpeg"])
    size: int = Field(description="Bytes.", examples=[482113])
    summary: str = Field(description="Non-personal summary: all a handling unit learns of a file "
                         "it may not download (R-32).", examples=["现场录音一段"])
    uploaded_at: datetime = Field(description="When it was uploaded.")
    shared: bool = Field(description="A leader approved it for the handling unit.")
    downloadable: bool = Field(description="The caller may download it.")
    download_url: str | None = Field(default=None, description="Where, if downloadable.")
    sha256: str | None = Field(default=None, description="SHA-256 of the bytes (if downloadable).")
    filename: str | None = Field(default=None, description="Name as uploaded; office only.")
    description: str | None = Field(default=None, description="Description; office only.")
    uploaded_by: str | None = Field(default=None, description="Staff id; office only.")
    uploaded_role: str | None = Field(default=None, description="Uploader's role; office only.")
    uploaded_unit: str | None = Field(default=None, description="Uploading unit, if any.")
    shared_by: str | None = Field(default=None, description="Leader who shared it; office only.")
    shared_at: datetime | None = Field(default=None, description="When; office only.")
    share_note: str | None = Field(default=None, description="Leader's note; office only.")


class EvidenceList(BaseModel):
    """The evidence files of a case, oldest first."""

    data: list[EvidenceItem] = Field(description="The files.")
    count: int = Field(description="How many.", examples=[2])
    total_bytes: int | None = Field(default=None, description="All files together; office only.")
    limit_bytes: int | None = Field(default=None, description="The per-case limit; office only.")


class ShareBody(BaseModel):
    """A leader's decision to share a file with the handling unit (R-32), or to stop sharing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"shared": True, "note": "同意提供承办单位核查"}]},
    )

    shared: bool = Field(default=True, description="true: the handling unit may download it.")
    note: str = Field(default="", max_length=2000, description="Leader's note.")


@dataclass(frozen=True, slots=True)
class CaseRef:
    """What the evidence routes need to know of a case (from the read model)."""

    number: str
    status: str
    handling_unit: str | None


def may_download(user: User, row: asyncpg.Record) -> bool:
    """R-32: the office always; a unit a shared file or its own upload."""
    if user.role in OFFICE_ROLES:
        return True
    return user.role == Role.UNIT and (
        bool(row["shared"])
        or (row["provided_by"] == "unit" and row["uploaded_unit"] == user.unit)
    )


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
    office = user.role in OFFICE_ROLES
    data: dict[str, Any] = {
        "id": row["id"], "number": row["number"], "provided_by": row["provided_by"],
        "kind": row["kind"], "kind_label": t.label if t else row["kind"],
        "content_type": row["content_type"], "size": row["size"],
        "summary": row["summary"] or (default_summary(t, row["size"]) if t else ""),
        "uploaded_at": row["uploaded_at"], "shared": row["shared"],
        "downloadable": downloadable,
        "download_url": f"/v1/complaints/{row['number']}/evidence/{row['id']}"
        if downloadable else None,
        "sha256": row["sha256"] if downloadable else None,
        "uploaded_unit": row["uploaded_unit"],
    }
    if office:
        data.update(
            filename=row["filename"], description=row["description"],
            uploaded_by=row["uploaded_by"], uploaded_role=row["uploaded_role"],
            shared_by=row["shared_by"], shared_at=row["shared_at"], share_note=row["share_note"],
        )
    return EvidenceItem(**data)


def download_name(row: asyncpg.Record, user: User) -> str:
    """The office gets the name as uploaded; a unit a neutral one (names can be personal)."""
    if user.role in OFFICE_ROLES:
        return str(row["filename"])
    t = TYPES.get(row["kind"])
    return f"evidence-{row['number']}-{row['id']}.{t.extension if t else 'bin'}"


# --- service -----------------------------------------------------------------------------------


def _visible(user: User, center: str, appeal_center: str | None, unit: str | None) -> bool:
    if not jurisdiction.can_see(user, center, appeal_center):
        return False
    return user.role != Role.UNIT or unit == user.unit


async def case_for(
    conn: repo.Conn,
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
    row = await conn.fetchrow(SELECT_CASE, number)
    if row is None or not row["workflow_started"]:
        raise not_found()
    status, unit = str(row["status"]), row["handling_unit"]
    visible = _visible(user, row["center"], row["appeal_center"], unit)
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
        if not _visible(user, state.center, state.appeal_center, unit):
            raise not_found()
    return CaseRef(number=row["number"], status=status, handling_unit=unit)


async def check_summary(conn: repo.Conn, number: str, summary: str) -> None:
    """A summary goes to the handling unit: it must not name the complainant (R-32, R-33)."""
    if not summary:
        return
    row = await conn.fetchrow(SELECT_IDENTITY, number)
    for field in ("name", "phone", "id_number", "address"):
        value = row[field] if row is not None else None
        if value and value in summary:
            raise ApiError(422, "validation_error",
                           f"summary: must not contain the complainant's {field} (R-32, R-33)",
                           fields=[{"field": "summary", "location": "body", "type": "rule",
                                    "message": f"must not contain the complainant's {field}"}])


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
    status = await conn.fetchval(LOCK_CASE, case.number)
    if Status.ARCHIVED in (status, case.status):
        raise ApiError(409, "invalid_status",
                       f"case {case.number} is archived; its file is closed (R-35)",
                       status=Status.ARCHIVED.value, allowed_actions=[])
    for same in await conn.fetch(SELECT_SAME, case.number, item.sha256):
        if may_download(user, same) and same["provided_by"] == provided_by:
            store.discard(item)
            return same, False
    used = int(await conn.fetchval(CASE_BYTES, case.number))
    if used + item.size > max_case_bytes:
        raise ApiError(
            413, "case_evidence_full",
            f"the evidence of case {case.number} may total at most {_mib(max_case_bytes)}; "
            f"{_human(used)} are attached and this file has {_human(item.size)}",
            limit_bytes=max_case_bytes, used_bytes=used,
        )
    store.put(item)
    row = await conn.fetchrow(
        INSERT_EVIDENCE, case.number, provided_by, filename, description, summary,
        item.type.kind, item.type.content_type, item.size, item.sha256, user.id,
        user.role.value, user.unit,
    )
    assert row is not None
    return row, True
