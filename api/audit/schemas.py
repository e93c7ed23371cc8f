"""The access log's models: who read a complainant's identity or the original facts (R-33)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.complaints.schemas import NUMBER_EXAMPLE


class AccessLogEntry(BaseModel):
    """One read of personal data (R-33): who, when, which case, what."""

    id: int = Field(description="Row id.", examples=[42])
    at: datetime = Field(description="When (Beijing time).")
    actor_id: str = Field(description="Staff id.", examples=["handler-01"])
    actor_role: str = Field(description="Role.", examples=["handler"])
    number: str = Field(description="The case read.", examples=[NUMBER_EXAMPLE])
    what: str = Field(description="What was read.", examples=["complainant, facts"])


class AccessLogPublic(BaseModel):
    """A page of the access log, newest first."""

    data: list[AccessLogEntry] = Field(description="The entries.")
    count: int = Field(description="All matching entries.", examples=[1])
    page: int = Field(description="This page, from 1.", examples=[1])
    page_size: int = Field(description="Rows per page.", examples=[50])
