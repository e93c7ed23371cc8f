"""Stopping the worker's background loops (activities/background.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from activities.background import stop_task
from config import Settings

SETTINGS = Settings(graceful_shutdown_seconds=0.05)


async def test_a_loop_that_finishes_its_round_is_awaited() -> None:
    done = asyncio.Event()

    async def last_round() -> None:
        await asyncio.sleep(0.01)
        done.set()

    task = asyncio.create_task(last_round(), name="reconciler")
    await stop_task(task, SETTINGS)
    assert done.is_set() and task.done() and not task.cancelled()


async def test_a_loop_that_lingers_is_cancelled_and_named_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = asyncio.create_task(asyncio.sleep(60), name="outbox-sender")
    with caplog.at_level(logging.WARNING, logger="complaints.worker"):
        await stop_task(task, SETTINGS)
    assert task.cancelled()
    assert "outbox-sender did not stop in time; cancelled" in caplog.text
