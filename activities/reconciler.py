"""The intake reconciler: starts the workflows of registrations that the API could not start.

Intake makes a registration durable in PostgreSQL first, then tries the workflow start once
(api/cases.py). When Temporal is down or slow the clerk still gets the number, and the row stays
`workflow_started = false`. This module retries the start until it happens: same workflow id
(the number), same start input (activities/intake.py), so a start is idempotent; a start that
finds the id taken by the workflow of the same row counts as started.

- Runs inside the worker process (worker.py) as a background task, every
  `reconcile_interval_seconds`.
- Operators: `python -m activities.reconciler` (a loop) or `--once` (until nothing more can be
  started now; exit status 1 while some registration is still not started).
- Only rows at least `reconcile_min_age_seconds` old are taken (the API's own try comes first),
  `reconcile_batch_size` per round, each claimed with `FOR UPDATE SKIP LOCKED` and a lease
  (`next_start_at`), so two reconcilers never try the same row at once. A failed start backs off
  (`start_attempts`, `last_start_error`); a number held by another complainant's workflow is
  logged as an error for operators and retried rarely (the number has been given out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client

import activities.registration as registration
from activities.intake import START_COLUMNS, start_complaint
from config import Settings, get_settings

log = logging.getLogger("complaints.reconciler")

#: Longest pause between two tries of the same registration (seconds).
MAX_BACKOFF_SECONDS = 60.0

#: Pause before a number held by another complainant's workflow is tried again (seconds).
TAKEN_BACKOFF_SECONDS = 3600.0

#: Backlog older than this (seconds) is logged as a warning.
BACKLOG_WARN_SECONDS = 60.0

#: An unchanged backlog is logged again after this many seconds (not every round).
BACKLOG_REPEAT_SECONDS = 60.0

_last_logged: tuple[int, float] = (0, 0.0)  # (backlog, monotonic time) last logged

#: Take a batch of due registrations and lease them ($1 min age, $2 batch size, $3 lease).
CLAIM = f"""
UPDATE complaints
SET start_attempts = start_attempts + 1, next_start_at = now() + make_interval(secs => $3)
WHERE number IN (
    SELECT number FROM complaints
    WHERE NOT workflow_started
      AND registered_at <= now() - make_interval(secs => $1)
      AND (next_start_at IS NULL OR next_start_at <= now())
    ORDER BY registered_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
AND NOT workflow_started
RETURNING {START_COLUMNS}, start_attempts
"""


NOTE_FAILURE = """
UPDATE complaints
SET last_start_error = $2, next_start_at = now() + make_interval(secs => $3)
WHERE number = $1 AND NOT workflow_started
"""

BACKLOG = """
SELECT count(*) AS count, min(registered_at) AS oldest, max(start_attempts) AS attempts
FROM complaints WHERE NOT workflow_started
"""


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before the next try after `attempts` failed ones."""
    return float(min(settings.reconcile_interval_seconds * 2 ** max(attempts - 1, 0),
                     MAX_BACKOFF_SECONDS))


def lease(settings: Settings) -> float:
    """How long a claimed row is left to the reconciler that claimed it (seconds)."""
    return max(60.0, 3 * settings.temporal_rpc_timeout_seconds)


async def backlog(pool: asyncpg.Pool) -> tuple[int, datetime | None]:
    """Registrations whose workflow has not started, and the oldest one's registration; logged
    when it changes, and every `BACKLOG_REPEAT_SECONDS` while it stays."""
    global _last_logged
    row = await pool.fetchrow(BACKLOG)
    assert row is not None
    count, oldest = int(row["count"]), row["oldest"]
    now = time.monotonic()
    if count != _last_logged[0] or (count and now - _last_logged[1] >= BACKLOG_REPEAT_SECONDS):
        _last_logged = (count, now)
        if not count:
            log.info("intake backlog: empty")
            return count, oldest
        age = (datetime.now(UTC) - oldest).total_seconds()
        level = logging.WARNING if age > BACKLOG_WARN_SECONDS else logging.INFO
        log.log(level, "intake backlog: %d registration(s) without a workflow, oldest registered "
                "%s (%.0f s ago), up to %d start attempt(s)", count, oldest.isoformat(), age,
                row["attempts"])
    return count, oldest


async def reconcile_once(pool: asyncpg.Pool, client: Client, settings: Settings) -> int:
    """One round: claim up to a batch of due registrations and start their workflows.

    Returns how many of them now run (started here, or found started for the same row).
    """
    await backlog(pool)
    rows = await pool.fetch(CLAIM, settings.reconcile_min_age_seconds,
                            settings.reconcile_batch_size, lease(settings))
    if not rows:
        return 0
    results = await asyncio.gather(*(_start_one(pool, client, settings, r) for r in rows))
    started = sum(results)
    log.info("reconciler: %d of %d registration(s) started", started, len(rows))
    return started


async def _start_one(
    pool: asyncpg.Pool, client: Client, settings: Settings, row: asyncpg.Record
) -> int:
    number, attempts = row["number"], row["start_attempts"]
    timeout = settings.temporal_rpc_timeout_seconds
    try:
        started = await asyncio.wait_for(
            start_complaint(client, row, task_queue=settings.task_queue,
                            rpc_timeout=timedelta(seconds=timeout)),
            timeout,
        )
    except Exception as e:  # Temporal down, slow or refusing: try again later
        why = f"{type(e).__name__}: {e}"[:1000]
        log.warning("start of %s failed (attempt %d): %s", number, attempts, why)
        await pool.execute(NOTE_FAILURE, number, why, backoff(attempts, settings))
        return 0
    if not started:
        log.error("complaint number %s is held by the workflow of another complainant row (was "
                  "the number sequence set back?): operators must resolve it; the registration "
                  "stays in PostgreSQL", number)
        await pool.execute(NOTE_FAILURE, number, "number taken by another workflow",
                           TAKEN_BACKOFF_SECONDS)
        return 0
    await registration.mark_started(pool, number)
    log.info("started %s (registered %s, attempt %d)", number,
             row["registered_at"].isoformat(), attempts)
    return 1


async def run_reconciler(
    pool: asyncpg.Pool, client: Client, settings: Settings, stop: asyncio.Event
) -> None:
    """Reconcile every `reconcile_interval_seconds` until `stop` is set (a full batch: at once)."""
    log.info("intake reconciler running (every %g s, registrations older than %g s, %d a round)",
             settings.reconcile_interval_seconds, settings.reconcile_min_age_seconds,
             settings.reconcile_batch_size)
    while not stop.is_set():
        started = 0
        try:
            started = await reconcile_once(pool, client, settings)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as e:
            log.warning("reconciler round failed (PostgreSQL): %s", e)
        except Exception:
            log.exception("reconciler round failed")
        if started >= settings.reconcile_batch_size:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.reconcile_interval_seconds)


def start_reconciler(
    pool: Any | None, client: Client, settings: Settings, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """Run the reconciler in the background of the worker (none without a database)."""
    if pool is None:
        return None
    return asyncio.create_task(run_reconciler(pool, client, settings, stop), name="reconciler")



async def _main(once: bool) -> int:
    from db import create_pool
    from temporal_client import connect

    settings = get_settings()
    pool = await create_pool(settings)
    try:
        # Lazy: it may run while Temporal is still down (each start then fails and is noted).
        client = await connect(settings, lazy=True)
        if not once:
            stop = asyncio.Event()
            import signal

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await run_reconciler(pool, client, settings, stop)
            return 0
        total = 0
        while (started := await reconcile_once(pool, client, settings)) > 0:
            total += started
        count, oldest = await backlog(pool)
        print(f"started {total} case(s); {count} registration(s) still without a workflow"
              + (f", oldest registered {oldest.isoformat()}" if oldest else ""))
        return 1 if count else 0
    finally:
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m activities.reconciler",
        description="Start the workflows of registered complaints whose start failed "
        "(Temporal down at intake). Runs in the worker too; this is for operators.",
    )
    parser.add_argument("--once", action="store_true",
                        help="start what can be started now, print the backlog and exit "
                             "(status 1 while registrations remain without a workflow)")
    args = parser.parse_args()
    import logs  # JSON lines (logs.py), as the worker writes them

    logs.configure("INFO")
    raise SystemExit(asyncio.run(_main(args.once)))
