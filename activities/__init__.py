"""Everything with side effects, as Temporal activities (idempotent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.archive import ArchiveActivities
from activities.deadlines import compute_deadlines
from activities.delivery import DeliveryActivities
from activities.inspection import InspectionActivities
from activities.notify import NotifyActivities
from activities.read_model import ReadModelActivities
from activities.seal import SealActivities


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
        DeliveryActivities(pool).deliver,
        ArchiveActivities(pool, client).archive_case,
        *_inspection(InspectionActivities(pool, client)),
        SealActivities(pool).seal_chain_heads,
    ]


def _inspection(acts: InspectionActivities) -> list[Callable[..., Any]]:
    """The inspection round's activities (workflows/inspection.py)."""
    return [acts.plan_inspection_month, acts.prepare_inspection_round, acts.record_inspection_draw,
            acts.file_inspection_finding, acts.close_inspection_round]
