"""The archived case file's format: its SQL, its canonical text and hash, the layouts of its
history (one run or a chain of runs), and what a history check answers (R-35)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from domain.models import ArchiveResult

if TYPE_CHECKING:
    import asyncpg


log = logging.getLogger("complaints.archive")

#: Identifies the layout of the archived document; bump it when the layout changes.
#: /2: `previous_runs` (every run before the last of a case that continued as new) and
#: `record` (the case record's capped lists in full).
FORMAT = "complaints.case-file/2"

SELECT_ARCHIVE = """
SELECT id, number, archived_at, document, canonical, sha256, prev_sha256
FROM archives WHERE number = $1
"""
SELECT_ARCHIVE_RESULT = (
    "SELECT number, sha256, prev_sha256, id AS position FROM archives WHERE number = $1"
)
SELECT_PREVIOUS_HASH = "SELECT sha256 FROM archives WHERE id < $1 ORDER BY id DESC LIMIT 1"
SELECT_ALL_ARCHIVES = """
SELECT id, number, archived_at, document, canonical, sha256, prev_sha256
FROM archives ORDER BY id
"""
SELECT_COMPLAINT = """
SELECT number, center, complainant_ref, status, channel, form, category, grade,
       respondent_unit, respondent_unit_name, respondent_staff, facts, evidence, summary,
       received_at, registered_at
FROM complaints WHERE number = $1
"""
SELECT_COMPLAINANT = """
SELECT ref, name, phone, email, address, id_number, anonymous, agent, created_at
FROM complainants WHERE ref = $1
"""
SELECT_EVENTS = """
SELECT seq, action, actor_id, actor_role, actor_unit, at, status_before, status_after, detail
FROM case_events WHERE number = $1 ORDER BY seq
"""
SELECT_NOTIFICATIONS = """
SELECT key, kind, recipient, unit, complainant_ref, about_case, data, created_at,
       status, attempts, sent_at, channel
FROM notifications WHERE number = $1 ORDER BY id
"""
# The chain must be linear: one archiving transaction at a time reads the last hash and
# appends. An advisory lock ("archive" in ASCII), as the app role may not LOCK the table in a
# mode stronger than ROW EXCLUSIVE (it has no UPDATE or DELETE on it: db.grant_app).
LOCK_ARCHIVES = "SELECT pg_advisory_xact_lock(x'61726368697665'::bigint)"
SELECT_EVIDENCE = """
SELECT id, provided_by, filename, description, summary, kind, content_type, size, sha256,
       uploaded_by, uploaded_role, uploaded_unit, uploaded_at, shared, shared_by, shared_at
FROM evidence WHERE number = $1 ORDER BY id
"""
SELECT_LINKS = """
SELECT from_number, kind, to_number, from_center, to_center, created_by, created_at
FROM case_links WHERE from_number = $1 OR to_number = $1 ORDER BY created_at
"""
SELECT_LAST_HASH = "SELECT sha256 FROM archives ORDER BY id DESC LIMIT 1"
# A round trip through jsonb, so the hashed text is exactly what the stored document gives back.
NORMALIZE_JSONB = "SELECT $1::jsonb"
INSERT_ARCHIVE = """
INSERT INTO archives (number, document, canonical, sha256, prev_sha256)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""

class ArchiveReceipt(ArchiveResult):
    """What `archive_case` answers, and so what the case's Temporal history keeps outside
    PostgreSQL (issue 13): the archive's hash, its predecessor's and its position in the chain
    (`archives.id`). Verification compares the row with it (`activities/archive_anchor.py`).
    The workflow reads no field of it (it awaits the activity without a result type)."""

    position: int | None = None


#: Replays an archived Temporal history against the workflow code, given the case number and
#: the history as exported JSON: `ReplayVerdict(ok=None)` when there is no history to replay.
HistoryCheck = Callable[[str, dict[str, Any] | None], Awaitable["ReplayVerdict"]]


@dataclass(frozen=True)
class ReplayVerdict:
    """What replaying an archived history said."""

    ok: bool | None
    """True: replays; False: does not (see `error`); None: nothing to replay."""
    error: str | None = None


def canonical_json(doc: object) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 bytes of `text`, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def jsonable(value: Any) -> Any:
    """A database value as JSON: instants as ISO 8601, records as objects."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def record(row: asyncpg.Record | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An asyncpg record as a JSON object (None stays None)."""
    return None if row is None else {k: jsonable(v) for k, v in dict(row).items()}


@dataclass
class ArchivedRun:
    """One run's exported history (`temporal workflow show -o json`)."""

    run_id: str | None
    history: dict[str, Any]


def archived_runs(document: Mapping[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """The histories an archived document holds, oldest run first, as (run id, history).

    A case file of the first layout holds one run (`history`); from `complaints.case-file/2`
    the runs before the last are in `previous_runs` and the last run stays in `history`.
    """
    runs: list[tuple[str | None, dict[str, Any]]] = []
    previous = document.get("previous_runs")
    if isinstance(previous, list):
        for r in previous:
            if isinstance(r, dict) and isinstance(r.get("history"), dict):
                runs.append((r.get("run_id"), r["history"]))
    history = document.get("history")
    if isinstance(history, dict):
        runs.append((document.get("run_id") if isinstance(document.get("run_id"), str) else None, history))
    return [(run_id or _recorded_run_id(h), h) for run_id, h in runs]


def _recorded_run_id(history: Mapping[str, Any]) -> str | None:
    """The run id in an exported history's first event, if any."""
    events = history.get("events")
    first = events[0] if isinstance(events, list) and events and isinstance(events[0], dict) else {}
    started = first.get("workflowExecutionStartedEventAttributes")
    run_id = started.get("originalExecutionRunId") if isinstance(started, dict) else None
    return run_id if isinstance(run_id, str) and run_id else None
