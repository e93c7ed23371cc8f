"""What the complainant sees of the case (R-06): codes only, nothing about other people."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.complaints.bodies import AppealBody, SatisfactionBody
from api.complaints.schemas import NUMBER_EXAMPLE
from domain.models import DeadlineKind, Finding, Outcome, Rating, Status

__all__ = [
    "AccessCodeReissued", "AppealBody", "PublicDeadline", "PublicDecision", "PublicFeedback",
    "PublicProgress", "PublicSatisfaction", "SatisfactionBody",
]


class PublicDeadline(BaseModel):
    """An open deadline."""

    kind: DeadlineKind = Field(description="Which clock.")
    due_at: datetime = Field(description="Due instant (Beijing time).")


class PublicDecision(BaseModel):
    """The finding (R-23), without anything about the persons concerned."""

    finding: Finding = Field(description="The finding.")
    decided_at: datetime = Field(description="When.")


class PublicFeedback(BaseModel):
    """What the complainant was told (R-26)."""

    message: str = Field(description="Result and reasons.")
    appeal_route: str = Field(description="How to appeal.")
    at: datetime = Field(description="When.")


class PublicSatisfaction(BaseModel):
    """The callback answer (R-27)."""

    rating: Rating = Field(description="The rating.")
    comment: str = Field(default="", description="The comment.")
    at: datetime = Field(description="When.")


class PublicProgress(BaseModel):
    """Progress for the complainant (R-06): nothing about other people, no staff names."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "number": NUMBER_EXAMPLE, "status": "referred",
        "outcome": None, "received_at": "2026-11-27T09:30:00+08:00",
        "deadlines": [{"kind": "handling", "due_at": "2026-12-04T23:59:59+08:00"}],
        "decision": None, "feedback": None, "satisfaction": None, "allowed_actions": [],
    }]})

    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    status: Status = Field(description="Where the case stands.")
    outcome: Outcome | None = Field(default=None, description="How an archived case ended.")
    received_at: datetime = Field(description="When the complaint was received.")
    accepted_at: datetime | None = Field(default=None, description="When it was accepted.")
    deadlines: list[PublicDeadline] = Field(description="Open deadlines.")
    decision: PublicDecision | None = Field(default=None, description="The finding, once decided.")
    feedback: PublicFeedback | None = Field(default=None, description="The feedback, once given.")
    satisfaction: PublicSatisfaction | None = Field(
        default=None, description="The callback answer."
    )
    allowed_actions: list[str] = Field(
        description="What the complainant may do now: record-satisfaction, appeal.",
        examples=[["record-satisfaction", "appeal"]],
    )
    forwarded_case: str | None = Field(
        default=None,
        description="Forwarded to another complaint center (R-12): the number of the case "
        "there; the same access code opens it.",
    )


class AccessCodeReissued(BaseModel):
    """A new access code, to give to the complainant; the old one no longer works."""

    number: str = Field(description="Complaint number.", examples=[NUMBER_EXAMPLE])
    access_code: str = Field(description="The new access code (shown once, stored hashed).",
                             examples=["K7PX3MWQ"])
