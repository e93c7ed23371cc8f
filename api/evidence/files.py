"""Evidence bytes: what a file is, read from its content, and where it is kept.

- **Type from the content.** The first bytes (and, for office files, the zip or OLE directory)
  say what a file is: JPEG, PNG, GIF, WebP, PDF, MP3, WAV, M4A/MP4, docx, xlsx, doc, xls.
  Anything else is refused (415 `unsupported_file_type`), and so is a file whose name or
  declared content type claims another type than its content (415 `file_type_mismatch`).
- **Storage outside Temporal**: the bytes go to `settings.evidence_dir`, named by their SHA-256
  (`ab/abcdef…`, written to a temporary file and renamed, so a file is whole or absent).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from api.errors import ApiError

#: Multipart overhead allowed on top of the file itself (boundaries, headers, text fields).
MULTIPART_OVERHEAD_BYTES = 64 * 1024

CHUNK = 1024 * 1024


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
                            f"an evidence file may be at most {mib(max_bytes)} "
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


def mib(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB"


def body_limit(max_file_bytes: int) -> tuple[int, str]:
    """The request body limit of the upload route, and its message."""
    return (max_file_bytes + MULTIPART_OVERHEAD_BYTES,
            f"an evidence file may be at most {mib(max_file_bytes)} ({max_file_bytes} bytes); "
            "this upload is larger")
