"""The access log in PostgreSQL (`access_log`, written with every read of personal data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

_FILTER = """
FROM access_log l JOIN complaints c ON c.number = l.number
WHERE (c.center = $1 OR c.state->>'appeal_center' = $1)
  AND ($2::text IS NULL OR l.number = $2)
  AND ($3::text IS NULL OR l.actor_id = $3)
  AND ($4::text IS NULL OR l.actor_role = $4)
  AND ($5::timestamptz IS NULL OR l.at >= $5)
  AND ($6::timestamptz IS NULL OR l.at < $6)
"""
COUNT_ACCESS_LOG = "SELECT count(*) " + _FILTER
LIST_ACCESS_LOG = (
    "SELECT l.id, l.at, l.actor_id, l.actor_role, l.number, l.what "
    + _FILTER
    + "ORDER BY l.id DESC LIMIT $7 OFFSET $8"
)


@dataclass(frozen=True, slots=True)
class AccessLogFilter:
    """`GET /v1/audit/access-log` filters; None means "any"."""

    center: str
    number: str | None = None
    actor_id: str | None = None
    role: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.center, self.number, self.actor_id, self.role, self.since, self.until)


async def fetch_access_log(
    pool: asyncpg.Pool, f: AccessLogFilter, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the center's access log, newest first, and the number of all matching rows."""
    count = await pool.fetchval(COUNT_ACCESS_LOG, *f.args())
    rows = await pool.fetch(LIST_ACCESS_LOG, *f.args(), limit, offset)
    return rows, int(count)
