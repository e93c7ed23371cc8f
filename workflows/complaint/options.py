"""What the complaint workflow is configured with, declared once: task queue, patches, caps,
history budget, activity options, the system actors, and small text helpers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain import lifecycle
    from domain.models import Actor, Role
    from domain.workdays import BEIJING

TASK_QUEUE = "complaints"

# Activity options, declared once. Deadline computation is pure and quick; the outbox and the
# read model talk to PostgreSQL and retry with backoff for as long as it is down.
COMPUTE = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
SIDE_EFFECT = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
#: Patch (2026-11-27): deadlines computed by a local activity, and the outbox and the read
#: model written concurrently. Cases started before it replay the old way (tests/histories/H-*).
LOCAL_ACTIVITIES = "local-activities-2026-11"
#: Patch (2026-12-01, issue 11): the bounded case. Early messages wait for registration instead
#: of being dropped; clocks fire without waiting for the outbox and the read model (a flusher
#: delivers them); lists and texts are capped; Updates answer with a small `ActionResult`;
#: continue-as-new past a history budget; the archive is the last word; and the rule fixes of
#: issue 11 (R-09, R-10, R-15, R-18..R-20, R-30, R-45, escalate sources). Cases started before
#: it replay the old way (tests/histories/H-*, H2-*).
BOUNDED = "bounded-case-2026-12"
#: Patch (2026-12-01, issue 11): the outbox batch and the projection of a flush go to
#: PostgreSQL in one local activity (`deliver`) inside the workflow task that made them, and
#: only when that fails (PostgreSQL slow or down) to the regular activities, which retry until
#: it is back. A deadline instant then costs the server one workflow task per case instead of
#: three tasks and two activities. Cases started before it replay the old way (H3-*).
LOCAL_DELIVERY = "local-delivery-2026-12"
#: Patch (2026-12-02, issue 15, R-37): a decision with measures other than `none` opens the
#: rectification (整改落实) of the responsible unit, on its own clock; the unit reports, the
#: handler accepts or sends back; the case is archived only once it is accepted. Cases that
#: reached their decision before it replay the old way (H-* .. H4-*); H5-* have it.
RECTIFICATION = "rectification-2026-12"
#: One quick attempt in the worker; on failure the regular activities take over.
DELIVER = {
    "start_to_close_timeout": timedelta(seconds=8),
    "retry_policy": RetryPolicy(maximum_attempts=1),
}

# What the workflow keeps of each growing list (the rest is in PostgreSQL, with a count here).
KEEP_ACTIONS = 50
KEEP_IGNORED = 20
KEEP_INVESTIGATION = 50
KEEP_ESCALATIONS = 50  # open escalations are never dropped
KEEP_EXTENSIONS = 20  # a pending request is never dropped
KEEP_LINKED = 500
KEEP_RECTIFICATION_REPORTS = 10
#: Free text kept in the workflow's own lists (whole texts travel once, in the action record).
KEEP_TEXT = 500
#: History events (and bytes) after which a run continues as new, carrying the case.
HISTORY_BUDGET_EVENTS = 2_000
HISTORY_BUDGET_BYTES = 4 * 1024 * 1024
ARCHIVE = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)),
}

SYSTEM = Actor(id="system", role=Role.SYSTEM)
#: A signal sent without an actor (from the Web UI or the `temporal` CLI): we do not know which
#: person sent it, so we do not name one; the history records the sender's Temporal identity.
OPERATOR = Actor(id="operator (Web UI / CLI)", role=Role.SYSTEM)
_M = TypeVar("_M", bound=BaseModel)


def _bj(t: datetime | None) -> str:
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if t else "—"


def _cut(text: str, limit: int = KEEP_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_detail(value: Any) -> Any:
    """An action record's detail with every text cut to `KEEP_TEXT` (the kept copy)."""
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, dict):
        return {k: _cut_detail(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_detail(v) for v in value]
    return value


def _fail(e: lifecycle.NotAllowed) -> ApplicationError:
    # `type` carries the code the API maps to an HTTP status (403/409/422).
    return ApplicationError(e.message, type=e.code, non_retryable=True)
