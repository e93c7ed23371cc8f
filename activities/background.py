"""The worker's background loops (the outbox sender, the reconciler): how they are stopped."""

from __future__ import annotations

import asyncio
import logging

from config import Settings

log = logging.getLogger("complaints.worker")


async def stop_task(task: asyncio.Task[None] | None, settings: Settings) -> None:
    """Let a background loop finish its round (it has seen `stop`), cancelling it if it lingers."""
    if task is None:
        return
    try:
        await asyncio.wait_for(task, timeout=settings.graceful_shutdown_seconds)
    except TimeoutError:
        log.warning("%s did not stop in time; cancelled", task.get_name())
