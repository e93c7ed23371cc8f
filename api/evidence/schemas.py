"""The model family of `/v1/complaints/{number}/evidence`: a file as the caller may see it, the
list, and a leader's sharing decision."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from domain.base import TextGuard


class EvidenceItem(BaseModel):
    """One evidence file; for a handling unit only the summary, unless it may download it."""

    id: int = Field(description="Evidence id within the case.", examples=[7])
    number: str = Field(description="The complaint number.")
    provided_by: str = Field(description="complainant, office or unit.", examples=["complainant"])
    kind: str = Field(description="Type read from the content.", examples=["mp3"])
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


class ShareBody(TextGuard):
    """A leader's decision to share a file with the handling unit (R-32), or to stop sharing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"shared": True, "note": "同意提供承办单位核查"}]},
    )

    shared: StrictBool = Field(default=True, description="true: the handling unit may download it.")
    note: str = Field(default="", max_length=2000, description="Leader's note.")
