"""One flush of a case — its outbox batch and its projection — as one local activity.

Since the `local-delivery-2026-12` patch the workflow hands both to `deliver`, run as a local
activity inside the workflow task that made them: no activity task goes through the server, so
a deadline instant costs the server one workflow task per case, not three tasks and two
activities (the storm of `bench/storm.py`). When PostgreSQL is slow or down the local attempt
fails fast and the workflow falls back to the regular `notify` and `project_case` activities,
which retry until it is back; outbox keys and projection versions make a second write harmless.

The result is the projection written (not the notifications): a local activity's input is not
in the history, its result is (a marker), and the history is where the timeline and the archive
read the case's snapshots and action records from (`api/timeline/reader.py`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from temporalio import activity

from activities.notify import insert_notifications
from activities.read_model import write_projection
from domain.models import DeliverInput

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger("complaints.delivery")


class DeliveryActivities:
    """Writes a flush to PostgreSQL or, without a pool, logs it."""

    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool

    @activity.defn(name="deliver")
    async def deliver(self, inp: DeliverInput) -> DeliverInput:
        """Enqueue the notifications and project the case; answer with the projection."""
        if self.pool is None:
            n = len(inp.notify.notifications) if inp.notify else 0
            v = inp.project.state.version if inp.project else None
            log.info("deliver %d notifications, projection v%s", n, v)
        else:
            # One transaction: the batch and the projection land together or not at all (the
            # fallback activities then write both), in as few round trips as it takes.
            async with self.pool.acquire() as conn, conn.transaction():
                if inp.notify:
                    await insert_notifications(conn, inp.notify.notifications)
                if inp.project:
                    await write_projection(conn, inp.project)
        return DeliverInput(project=inp.project)
