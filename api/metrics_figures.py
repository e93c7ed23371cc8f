"""The database's figures on `/metrics` (api/metrics.py): open cases by status, red and yellow
as the supervision board counts them, the outbox, the reconciler's backlog and the inspection
pace of every center (R-40). Read from PostgreSQL on scrape, at most every `CACHE_SECONDS`, and
yielded as gauges; a database that cannot be read is a figure (`..._database_up 0`), never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from api.stats.service import soon_instant
from domain.inspections import rounds_expected, year_start

log = logging.getLogger("complaints.metrics")

#: A scrape reuses figures younger than this (seconds).
CACHE_SECONDS = 5.0

#: The figures' queries must not hold a scrape (Prometheus' default timeout is 10 s).
QUERY_TIMEOUT_SECONDS = 3.0

#: Open cases by status; red/yellow as the supervision board counts them (api/supervision/
#: queries.py): $1 soon (end of the next working day), $2 now.
OPEN_CASES = """
SELECT f.status,
       count(*) AS n,
       count(*) FILTER (WHERE f.overdue OR deadline_end(f.next_due) <= $2) AS red,
       count(*) FILTER (WHERE NOT (f.overdue OR coalesce(deadline_end(f.next_due) <= $2, false))
                         AND f.next_due <= $1) AS yellow
FROM case_figures f
WHERE f.status <> 'archived'
GROUP BY f.status
"""

OUTBOX = """
SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
       extract(epoch FROM $1 - min(created_at) FILTER (WHERE status = 'pending')) AS pending_age,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM notifications
WHERE status IN ('pending', 'failed')
"""

#: R-40 pace of every center of the register: $1 start of the Beijing year, $2 now.
INSPECTION_ROUNDS = """
SELECT c.code AS center, count(r.round_id) AS rounds
FROM centers c
LEFT JOIN inspection_rounds r ON r.center = c.code AND r.started_at >= $1 AND r.started_at <= $2
GROUP BY c.code
"""

RECONCILER = """
SELECT count(*) AS backlog, extract(epoch FROM $1 - min(registered_at)) AS age
FROM complaints
WHERE NOT workflow_started
"""


@dataclass
class Figures:
    """One reading of the database's figures."""

    at: float = 0.0
    up: bool = False
    open_by_status: dict[str, int] = field(default_factory=dict)
    red: int = 0
    yellow: int = 0
    outbox_pending: int = 0
    outbox_age: float = 0.0
    outbox_failed: int = 0
    reconciler_backlog: int = 0
    reconciler_age: float = 0.0
    #: Inspection rounds drawn this year, per center of the register, and the rounds due by now.
    rounds: dict[str, int] = field(default_factory=dict)
    rounds_expected: int = 0


async def read_figures(pool: Any, now: datetime) -> Figures:
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        cases = await conn.fetch(OPEN_CASES, soon_instant(now), now)
        outbox = await conn.fetchrow(OUTBOX, now)
        recon = await conn.fetchrow(RECONCILER, now)
        rounds = await conn.fetch(INSPECTION_ROUNDS, year_start(now), now)
    return Figures(
        at=time.monotonic(),
        up=True,
        open_by_status={r["status"]: r["n"] for r in cases},
        red=sum(r["red"] for r in cases),
        yellow=sum(r["yellow"] for r in cases),
        outbox_pending=outbox["pending"],
        outbox_age=float(outbox["pending_age"] or 0),
        outbox_failed=outbox["failed"],
        reconciler_backlog=recon["backlog"],
        reconciler_age=float(recon["age"] or 0),
        rounds={r["center"]: r["rounds"] for r in rounds},
        rounds_expected=rounds_expected(now),
    )


class FiguresCollector:
    """Yields the last `Figures` as gauges (prometheus-client's custom-collector protocol)."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Sequence[GaugeMetricFamily]:
        f = self.figures
        up = GaugeMetricFamily(
            "complaints_metrics_database_up",
            "1 if the figures below could be read from PostgreSQL.",
            value=int(f.up),
        )
        if not f.up:
            return [up]
        by_status = GaugeMetricFamily(
            "complaints_open_cases", "Cases not archived, by status.", labels=["status"]
        )
        for status, n in sorted(f.open_by_status.items()):
            by_status.add_metric([status], n)
        rounds = GaugeMetricFamily(
            "complaints_inspection_rounds",
            "Inspection rounds drawn this Beijing year, per center (R-40: at least 12 a year).",
            labels=["center"],
        )
        behind = GaugeMetricFamily(
            "complaints_inspection_rounds_behind",
            "Rounds a center is short of one per month ended this year (0: on pace, R-40); "
            "alert on > 0.",
            labels=["center"],
        )
        for center, n in sorted(f.rounds.items()):
            rounds.add_metric([center], n)
            behind.add_metric([center], max(0, f.rounds_expected - n))

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, value=value)

        return [
            up,
            by_status,
            rounds,
            behind,
            gauge("complaints_overdue_cases", "Open cases overdue (red on the supervision board).", f.red),
            gauge("complaints_yellow_cases", "Open cases due within one working day, not overdue.", f.yellow),
            gauge("complaints_outbox_pending", "Notifications waiting to be sent.", f.outbox_pending),
            gauge(
                "complaints_outbox_oldest_pending_age_seconds",
                "Age of the oldest notification waiting to be sent (0: none).",
                f.outbox_age,
            ),
            gauge("complaints_outbox_failed", "Notifications given up on (status failed).", f.outbox_failed),
            gauge(
                "complaints_reconciler_backlog",
                "Registered cases whose workflow has not started yet.",
                f.reconciler_backlog,
            ),
            gauge(
                "complaints_reconciler_oldest_age_seconds",
                "Age of the oldest registered case whose workflow has not started (0: none).",
                f.reconciler_age,
            ),
        ]


class FiguresCache:
    """The figures of one app, read at most every `CACHE_SECONDS`, one reader at a time."""

    def __init__(self) -> None:
        self.figures = Figures()
        self._lock = asyncio.Lock()

    async def get(self, resources: Any) -> Figures:
        async with self._lock:
            if self.figures.up and time.monotonic() - self.figures.at < CACHE_SECONDS:
                return self.figures
            try:
                pool = await resources.get_pool()
                self.figures = await asyncio.wait_for(
                    read_figures(pool, datetime.now(UTC)), QUERY_TIMEOUT_SECONDS
                )
            except Exception as e:  # noqa: BLE001 - a scrape reports the database down, never a 500
                log.warning("metrics: figures not read from PostgreSQL (%s)", type(e).__name__)
                self.figures = Figures(at=time.monotonic(), up=False)
            return self.figures


