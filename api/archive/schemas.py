"""The model family of `/v1/archive`: the list, the case file as stored, its verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NUMBER_EXAMPLE = "TS-20261127-00042"


class ArchiveListItem(BaseModel):
    """One archived case file (no personal data)."""

    id: int = Field(description="Position in the hash chain.", examples=[17])
    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    archived_at: datetime = Field(description="When it was archived.")
    outcome: str | None = Field(default=None, description="How the case ended.",
                                examples=["concluded"])
    category: str | None = Field(default=None, description="R-07 category.")
    sha256: str = Field(description="SHA-256 of the canonical text.")
    prev_sha256: str | None = Field(default=None, description="The previous archive's hash.")


class ArchivesPublic(BaseModel):
    """A page of the archive, in chain order (newest first)."""

    data: list[ArchiveListItem] = Field(description="The archives.")
    count: int = Field(description="All archives of the caller's center.", examples=[1])
    page: int = Field(description="This page, from 1.", examples=[1])
    page_size: int = Field(description="Rows per page.", examples=[20])


class ArchivedCaseFile(BaseModel):
    """The archived case file as stored: personal data included (the read is logged)."""

    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    id: int = Field(description="Position in the hash chain.")
    archived_at: datetime = Field(description="When it was archived.")
    sha256: str = Field(description="SHA-256 of `canonical`, the exact text hashed.")
    prev_sha256: str | None = Field(default=None, description="The previous archive's hash.")
    document: dict[str, Any] = Field(
        description="The case file: format, case (the final CaseState), complaint and "
        "complainant (personal data), events, notifications, history (the exported Temporal "
        "history, unless left out with history=false), prev_sha256."
    )


class ArchiveVerification(BaseModel):
    """The result of checking one archive: hashes, chain link, history replay."""

    model_config = ConfigDict(extra="allow")

    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    ok: bool = Field(description="Every check that could be made passed.")
    id: int | None = Field(default=None, description="Position in the hash chain.")
    sha256: str | None = Field(default=None, description="The stored hash.")
    canonical_hash_ok: bool | None = Field(
        default=None, description="SHA-256 of the stored canonical text equals the stored hash.")
    document_hash_ok: bool | None = Field(
        default=None, description="SHA-256 of the stored JSON document, canonicalised, equals "
        "the stored hash (catches an edit of the jsonb).")
    prev_ok: bool | None = Field(
        default=None, description="The chain link: the previous archive's hash is the one "
        "recorded in this row and inside its document.")
    expected_prev: str | None = Field(default=None, description="The previous row's hash.")
    history_replay: bool | None = Field(
        default=None, description="The archived Temporal history replays against today's "
        "workflow code (Replayer); null = no history archived.")
    history_replay_error: str | None = Field(default=None,
                                             description="Why the replay failed.")
    history_case_ok: bool | None = Field(
        default=None, description="The archived case record equals the one the workflow handed "
        "to the archive activity, as recorded in the history.")
    history_anchor: bool | None = Field(
        default=None, description="The stored hash and chain position equal the ones the "
        "archive step returned to Temporal (kept in the case's history, outside PostgreSQL); "
        "null = Temporal no longer holds the run or cannot be reached (see "
        "`history_anchor_error`).")
    history_anchor_error: str | None = Field(
        default=None, description="Why the Temporal anchor could not be compared.")
    seal_ok: bool | None = Field(
        default=None, description="The stored hash equals the one an RFC 3161 seal of the chain "
        "recorded (activities/seal.py); null = not sealed yet.")
    problems: list[str] = Field(
        default_factory=list, description="Why the case fails, one line per failed check.")
    error: str | None = Field(default=None, description="e.g. not archived.")
