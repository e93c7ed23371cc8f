"""The models of a case's timeline (read from its Temporal history): codes only; the printable
page (`api/timeline/page.py`) renders their labels from `domain/labels.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from activities.chain import MAX_RUNS
from api.complaints.schemas import NUMBER_EXAMPLE
from domain.models import Category, DeadlineKind, Grade, Outcome, Status


class TimelineEntry(BaseModel):
    """One step of the case file."""

    seq: int | None = Field(
        description="Action sequence (none for an ignored signal).", examples=[3]
    )
    at: datetime = Field(description="When (Beijing time).", examples=["2026-11-27T10:05:00+08:00"])
    at_beijing: str = Field(description="When, for reading.", examples=["2026-11-27 10:05"])
    who: str = Field(description="Actor id.", examples=["handler-01"])
    role: str = Field(description="Actor role.", examples=["handler"])
    unit: str | None = Field(default=None, description="Actor unit (handling units).")
    what: str = Field(description="Action, signal or system event.", examples=["accept"])
    status_before: str | None = Field(default=None, examples=["registered"], description="Before.")
    status_after: str | None = Field(
        default=None, examples=["opinion_pending"], description="After."
    )
    detail: dict[str, Any] = Field(default_factory=dict, description="What was decided or said.")
    ignored: bool = Field(default=False, description="A signal that did not apply.")


class Timeline(BaseModel):
    """A readable timeline of the case."""

    number: str = Field(examples=[NUMBER_EXAMPLE], description="Complaint number.")
    status: Status = Field(description="Current status.")
    entries: list[TimelineEntry] = Field(description="Oldest first.")


class DeadlineChange(BaseModel):
    """A clock set, moved or closed by one step of the case (R-41..R-43)."""

    kind: DeadlineKind = Field(description="Which clock.", examples=["handling"])
    change: str = Field(
        description="set (a clock started), moved (same clock, new due instant: extension or "
        "recomputation), met, cancelled or expired.",
        examples=["set"],
    )
    due_at: datetime = Field(description="The due instant (Beijing time).",
                             examples=["2026-12-04T23:59:59+08:00"])
    due_at_beijing: str = Field(description="The due instant, for reading.",
                                examples=["2026-12-04 23:59"])
    previous_due_at: datetime | None = Field(
        default=None, description="moved: the due instant before the change."
    )
    provisional: bool = Field(
        default=False, description="Computed without official holiday data (R-43)."
    )
    on_time: bool | None = Field(
        default=None, description="met: closed before its due instant (R-36)."
    )


class TimelineItem(TimelineEntry):
    """One step of the case, read from the Temporal history: when, who, what, with what effect."""

    kind: str = Field(
        description="action (a handler's Update), signal, timer (a durable timer fired), "
        "system (reminder, overdue escalation, callback window ended), clock (a deadline "
        "closed by the passing of time) or workflow (task failure, termination).",
        examples=["action"],
    )
    deadlines: list[DeadlineChange] = Field(
        default_factory=list, description="Clocks set, moved or closed by this step."
    )
    reason: str | None = Field(
        default=None, description="Why an ignored signal did not apply, or why the workflow "
        "refused an accepted Update.",
    )
    refused: bool = Field(default=False, description="An Update the workflow refused.")
    pending: bool = Field(
        default=False, description="Received, its effect not yet recorded in the history."
    )
    event_id: int | None = Field(
        default=None, description="The history event (`temporal workflow show`) it comes from."
    )
    sender: str | None = Field(
        default=None, description="The Temporal client identity that sent a signal or Update "
        "(the API, the CLI or the Web UI).",
    )


class ArchiveSeal(BaseModel):
    """Where the case file sits in the hash chain of the archive (R-35)."""

    sha256: str = Field(description="SHA-256 of the archived case file's canonical text.")
    prev_sha256: str | None = Field(default=None, description="The previous archive's hash.")
    archived_at: datetime | None = Field(default=None, description="When it was archived.")


class CaseTimeline(Timeline):
    """The case's timeline, built from its Temporal history (or the history in its archive)."""

    entries: list[TimelineItem] = Field(description="Oldest first.")  # type: ignore[assignment]
    center: str = Field(description="The case's center (R-46).", examples=["default"])
    appeal_center: str | None = Field(default=None,
                                      description="The center reviewing its appeal (R-46).")
    outcome: Outcome | None = Field(default=None, description="How an archived case ended.")
    category: Category = Field(description="R-07 category.")
    grade: Grade = Field(description="R-08 grade.")
    respondent_unit: str = Field(description="Respondent unit code.", examples=["tax-bureau"])
    handling_unit: str | None = Field(default=None, description="Handling unit, if referred.")
    source: str = Field(
        description="temporal (the live workflow history) or archive (the history stored in "
        "the archived case file).", examples=["temporal"],
    )
    workflow_id: str = Field(description="Workflow id (= the complaint number).")
    run_id: str | None = Field(default=None, description="Workflow run id.")
    history_events: int = Field(description="Events in the history read.", examples=[185])
    started_at: datetime | None = Field(default=None, description="Workflow start (Beijing).")
    closed_at: datetime | None = Field(default=None, description="Workflow close (Beijing).")
    archive: ArchiveSeal | None = Field(default=None, description="The archive's hash, once "
                                        "archived.")
    generated_at: datetime = Field(description="When this timeline was built (Beijing).")


class RunItem(TimelineItem):
    """A timeline entry with the workflow run it comes from (a case continued as new has many)."""

    run: int | None = Field(
        default=None, description="The run it comes from: 1 = the first run of the chain read."
    )
    run_id: str | None = Field(default=None, description="That run's id.")


class TimelineRun(BaseModel):
    """One run of the case's workflow (a run continues as new when its history is full)."""

    run: int = Field(description="1 = the first run of the chain read.")
    run_id: str | None = Field(default=None, description="The run id.")
    continued_from: str | None = Field(default=None, description="The run it continued.")
    history_events: int = Field(description="Events in this run's history.")
    started_at: datetime | None = Field(default=None, description="Run start (Beijing).")
    closed_at: datetime | None = Field(default=None, description="Run close (Beijing).")
    ended: str | None = Field(
        default=None,
        description="How it ended: completed, continued-as-new, terminated, ...; null while open.",
    )


class ChainTimeline(CaseTimeline):
    """The case's timeline over every run of its workflow (`history_events` counts them all)."""

    entries: list[RunItem] = Field(description="Oldest first.")  # type: ignore[assignment]
    runs: list[TimelineRun] = Field(default_factory=list, description="The runs read, oldest first.")
    runs_complete: bool = Field(
        default=True,
        description=f"False when earlier runs could not be read (retention, or the cap of {MAX_RUNS} runs).",
    )
