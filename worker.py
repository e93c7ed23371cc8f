"""Runs the Temporal worker for complaints: `python worker.py [--log-only]`.

Connects to `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE` (defaults `localhost:7233`, `default`),
registers `ComplaintWorkflow`, the inspection, seal and report workflows and the activities,
runs the outbox sender and the intake reconciler (activities/reconciler.py) beside them, and
drains gracefully on SIGTERM/SIGINT: no new tasks are taken and running activities get
`graceful_shutdown_seconds` to finish.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import datetime, timedelta

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

import logs
from activities import build_activities
from activities.background import stop_task
from activities.reconciler import start_reconciler
from api.reports.build import ReportActivities
from config import Settings, get_settings
from domain import workdays
from temporal_client import connect
from workflows.complaint import ComplaintWorkflow
from workflows.inspection import InspectionMonthWorkflow, InspectionRoundWorkflow
from workflows.reports import ReportsWorkflow
from workflows.seal import SealWorkflow

log = logging.getLogger("complaints.worker")


def build_worker(client: Client, settings: Settings, pool: object | None) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ComplaintWorkflow, InspectionRoundWorkflow, InspectionMonthWorkflow,
                   SealWorkflow, ReportsWorkflow],
        # The reports' activities compute `/v1/stats`'s figures, so they live in the API layer
        # (api/reports/build.py); ReportsWorkflow calls them by name.
        activities=[*build_activities(pool, client), *ReportActivities(pool).all()],
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_cached_workflows=settings.max_cached_workflows,
        # More pollers than the SDK's 5: when a thousand deadlines fall due at once, their
        # workflow tasks are fetched faster (docs/performance.md, change E).
        max_concurrent_workflow_task_polls=settings.workflow_task_pollers,
        max_concurrent_activity_task_polls=settings.activity_task_pollers,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
    )


def sdk_runtime(settings: Settings) -> Runtime:
    """The Temporal runtime of the worker process: the SDK core's log lines forwarded to Python
    logging (JSON, logs.py) and, when `settings.metrics_address` is set, its Prometheus endpoint
    there (`/metrics`: task slots, schedule-to-start latencies, poll and sticky-cache figures;
    docs/deployment.md)."""
    metrics = (PrometheusConfig(bind_address=settings.metrics_address, durations_as_seconds=True)
               if settings.metrics_address else None)
    return Runtime(telemetry=TelemetryConfig(logging=logs.temporal_logging(), metrics=metrics))


async def open_pool(settings: Settings) -> object | None:
    from db import create_pool  # imported late: --log-only needs no PostgreSQL driver set-up

    return await create_pool(settings)


def enable_bytecode_cache(settings: Settings) -> None:
    """The workflow sandbox re-imports the workflow module for every new case in the cache;
    without bytecode (PYTHONDONTWRITEBYTECODE set) each import compiles it again, about a third
    of the worker's CPU under load (docs/performance.md). Keep bytecode in a folder of our own."""
    if sys.dont_write_bytecode:
        sys.pycache_prefix = str(settings.data_dir / "pycache")
        sys.dont_write_bytecode = False


async def main(log_only: bool = False) -> None:
    settings = get_settings()
    enable_bytecode_cache(settings)
    # before the first client: every client of the process uses it
    Runtime.set_default(sdk_runtime(settings), error_if_already_set=False)
    client = await connect(settings)
    pool = None if log_only else await open_pool(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(client, settings, pool)
    log.info("worker on %s/%s task queue %s (%s)", settings.temporal_address,
             settings.temporal_namespace, settings.task_queue, "log only" if log_only else "PostgreSQL")
    missing = workdays.missing_years(datetime.now(workdays.BEIJING).date())
    if missing:  # operators are warned from 1 November
        log.warning("official holiday data missing for %s: add domain/holidays/<year>.toml "
                    "(see domain/holidays/README.md), then `python -m activities.deadlines "
                    "recompute --all`", ", ".join(map(str, missing)))
    sender = start_sender(pool, settings, stop)
    # Starts the workflows of registrations the API could not start (activities/reconciler.py).
    reconciler = start_reconciler(pool, client, settings, stop)
    async with worker:
        await stop.wait()
        log.info("stopping: draining running tasks")
    await stop_task(sender, settings)
    await stop_task(reconciler, settings)
    if pool is not None:
        await pool.close()  # type: ignore[attr-defined]


def start_sender(
    pool: object | None, settings: Settings, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """Deliver the outbox in the background (activities/sender.py) when there is a database."""
    if pool is None:
        return None
    from activities.sender import check_settings, run_sender

    check_settings(settings)  # a misconfigured channel stops the worker at start, not silently
    task = run_sender(pool, settings, stop)  # type: ignore[arg-type]
    return asyncio.create_task(task, name="outbox-sender")



if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log-only", action="store_true",
                        help="no PostgreSQL: notifications, projections and archives go to the log")
    args = parser.parse_args()
    logs.configure(get_settings().log_level, get_settings().log_format)  # JSON lines (logs.py)
    asyncio.run(main(log_only=args.log_only))
    # Drained and closed: exit now, before interpreter teardown meets the SDK's native runtime
    # (seen to abort with 134/139 after a clean shutdown, which would look like a crash).
    logging.shutdown()
    os._exit(0)
