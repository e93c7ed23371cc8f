"""The outbox: one row per notification, keyed so a retried activity never adds a second one.

This activity only records what is to be said to whom; `activities.sender` delivers the rows
(and is the only place that looks up a complainant's contact, R-33).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC
from typing import TYPE_CHECKING

from temporalio import activity

from domain.models import Notification, NotifyInput

if TYPE_CHECKING:
    import asyncpg

    from db import Connection

log = logging.getLogger("complaints.notify")

INSERT_NOTIFICATION = """
INSERT INTO notifications (key, number, kind, recipient, unit, complainant_ref, about_case,
                           data, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (key) DO NOTHING
RETURNING id
"""


#: A whole batch in one statement (one round trip), in the batch's order; keys already present
#: are skipped. `$1` is a JSON array of `Notification.model_dump(mode="json")`.
INSERT_NOTIFICATIONS = """
INSERT INTO notifications (key, number, kind, recipient, unit, complainant_ref, about_case,
                           data, created_at)
SELECT n->>'key', n->>'number', n->>'kind', n->>'recipient', n->>'unit', n->>'complainant_ref',
       n->>'about_case', coalesce(n->'data', '{}'), (n->>'created_at')::timestamptz
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS batch(n, ord)
ORDER BY ord
ON CONFLICT (key) DO NOTHING
RETURNING id
"""


async def insert_notifications(conn: Connection, notifications: list[Notification]) -> int:
    """Insert the batch in the caller's transaction; how many rows are new."""
    if not notifications:
        return 0
    return len(await conn.fetch(INSERT_NOTIFICATIONS, [_row(n) for n in notifications]))


def _row(n: Notification) -> dict[str, object]:
    """The entry as JSON; a naive `created_at` read as UTC, as asyncpg reads a parameter."""
    row = n.model_dump(mode="json")
    if n.created_at.tzinfo is None:
        row["created_at"] = n.created_at.replace(tzinfo=UTC).isoformat()
    return row


async def enqueue(conn: Connection, notifications: list[Notification]) -> int:
    """Insert the notifications in one transaction, skipping keys already present.

    Args:
        conn: a connection with the JSON codec of `db.init_connection`.
        notifications: the batch from the workflow.

    Returns:
        How many rows are new.
    """
    async with conn.transaction():
        return await insert_notifications(conn, notifications)


class NotifyActivities:
    """Writes notifications to the outbox (PostgreSQL) or, without a pool, to the log."""

    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool

    @activity.defn(name="notify")
    async def notify(self, inp: NotifyInput) -> int:
        """Add the batch to the outbox; returns the number of new rows (0 on a retry)."""
        if self.pool is None:
            for n in inp.notifications:
                log.info("notification %s",
                         json.dumps(n.model_dump(mode="json"), ensure_ascii=False))
            return len(inp.notifications)
        async with self.pool.acquire() as conn:
            return await enqueue(conn, inp.notifications)
