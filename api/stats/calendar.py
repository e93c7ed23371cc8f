"""The `workdays` table: the working-day calendar (R-41..R-43) as SQL counts with it.

`domain.workdays` is the calendar (official holidays and 调休 working weekends); the figures
count working days in SQL, so `workdays` holds a copy of it with running ordinals, one row per
day, and `workday_years` the digest of each year's days off.

Why `GET /v1/stats` may write here: the table is a cache of `domain.workdays`, not data of its
own. Which years a request needs (its period, the oldest case) is known only then, and an
operator may add a year's holiday file while the API runs (R-43); so `compute_stats` calls
`ensure_workdays` first. When nothing changed that is one small read and no write; when a year
is missing or its days off changed, the fill is idempotent and serialised by an advisory lock,
so concurrent readers see the same answer either way.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta
from typing import Any

import asyncpg

from api.stats import queries as q
from domain import workdays

log = logging.getLogger("complaints.stats")


def year_days(year: int) -> list[tuple[date, bool]]:
    """Every day of `year` and whether it is a working day (domain.workdays, R-41)."""
    d, out = date(year, 1, 1), []
    while d.year == year:
        out.append((d, workdays.is_working_day(d)))
        d += timedelta(days=1)
    return out


def year_digest(days: list[tuple[date, bool]]) -> str:
    off = ",".join(d.isoformat() for d, working in days if not working)
    return hashlib.sha256(off.encode()).hexdigest()


_digests: dict[int, tuple[list[tuple[date, bool]], str]] = {}
_digests_stamp: tuple[tuple[str, float], ...] | None = None


def _holiday_files_stamp() -> tuple[tuple[str, float], ...]:
    folder = workdays.holidays_dir()
    try:
        return tuple(sorted((p.name, p.stat().st_mtime) for p in folder.glob("*.toml")))
    except OSError:
        return ()


def _year(year: int) -> tuple[list[tuple[date, bool]], str]:
    """The days of `year` and their digest, cached until a holiday file changes."""
    global _digests_stamp
    stamp = _holiday_files_stamp()
    if stamp != _digests_stamp:
        if _digests_stamp is not None:
            workdays.reload_calendar()  # a running process picks up new holiday files
        _digests.clear()
        _digests_stamp = stamp
    if year not in _digests:
        days = year_days(year)
        _digests[year] = (days, year_digest(days))
    return _digests[year]


async def ensure_workdays(conn: Any, first_year: int, last_year: int) -> None:
    """Make `workdays` hold every day of `first_year`..`last_year` as domain.workdays sees them.

    Years are (re)filled when missing or when their days off changed (an operator added a
    year's holiday data, R-43), and the ordinals renumbered. When nothing changed this costs one
    small query (the stored digests) and no writes.

    Args:
        conn: a connection or pool.
        first_year: first year needed.
        last_year: last year needed (inclusive).
    """
    stored = {r["year"]: r["digest"] for r in await conn.fetch(q.SELECT_WORKDAY_YEARS)}
    # The table stays contiguous, so that the ordinals count across years.
    lo, hi = min([first_year, *stored]), max([last_year, *stored])
    stale = [y for y in range(lo, hi + 1) if stored.get(y) != _year(y)[1]]
    if stale:
        await _fill(conn, stale)


async def _fill(conn: Any, years: list[int]) -> None:
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as c:
            await _fill(c, years)
            return
    async with conn.transaction():
        # Concurrent fillers write the same rows: one at a time, and only what is still stale.
        await conn.execute(q.TAKE_WORKDAYS_LOCK, q.WORKDAYS_LOCK_KEY)
        stored = {r["year"]: r["digest"] for r in await conn.fetch(q.SELECT_WORKDAY_YEARS)}
        years = [y for y in years if stored.get(y) != _year(y)[1]]
        if not years:
            return
        for y in years:
            days, digest = _year(y)
            await conn.execute(q.UPSERT_WORKDAY, [d for d, _ in days], [w for _, w in days])
            await conn.execute(q.UPSERT_WORKDAY_YEAR, y, workdays.has_official_data(y), digest)
        await conn.execute(q.RENUMBER_WORKDAYS)
        # The handling-time rollup counts with the ordinals (migration 0017): recount it, in
        # this transaction; projections wait (they take the lock shared).
        await conn.execute(q.REBUILD_HANDLING_DAYS)
    log.info("working-day calendar filled for %s", ", ".join(map(str, years)))
