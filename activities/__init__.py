"""Everything with side effects, as Temporal activities (idempotent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.archive import ArchiveActivities
from activities.deadlines import compute_deadlines
from activities.notify import NotifyActivities
from activities.read_model import ReadModelActivities


def build_activities(
    pool: Any | None = None, client: Any | None = None
) -> list[Callable[..., Any]]:
    """The activities the worker registers; without a pool they log instead of writing.

    Args:
        pool: an asyncpg pool from `db.create_pool`; None = log only (workflow tests).
        client: the worker's Temporal client, used to export a case's history into its archive.
    """
    return [
        compute_deadlines,
        NotifyActivities(pool).notify,
        ReadModelActivities(pool).project_case,
        ArchiveActivities(pool, client).archive_case,
    ]
