"""Baseline workflows: `BenchNoop` (no-op; its starts are the intake baseline), `BenchSteps`
(Update round trips and nothing else; the lifecycle baseline), `BenchUpdates` (takes any
Update and Signal with any payload and keeps nothing; the history baseline) and `BenchTimer`
(sleeps until an instant, then completes; the deadline-storm baseline).

`python -m bench.noop_worker` (TEMPORAL_ADDRESS, BENCH_NOOP_TASK_QUEUE); SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence

from datetime import datetime

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.worker import Worker

TASK_QUEUE = "bench-noop"


@workflow.defn(name="BenchNoop")
class BenchNoop:
    """Does nothing: one workflow task, then complete."""

    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn(name="BenchSteps")
class BenchSteps:
    """The lifecycle baseline: as many Update round trips as a whole case, and no work."""

    def __init__(self) -> None:
        self.steps = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.steps

    @workflow.update(name="step")
    async def step(self) -> int:
        self.steps += 1
        return self.steps

    @workflow.signal(name="finish")
    async def finish(self) -> None:
        self.done = True


@workflow.defn(name="BenchUpdates")
class BenchUpdates:
    """The history baseline: receives the same Updates (and payloads) as a case, does nothing
    with them but count, and answers with a small result."""

    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.run
    async def run(self, *args: RawValue) -> int:
        await workflow.wait_condition(lambda: self.done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.count

    @workflow.update(dynamic=True)
    async def any_update(self, name: str, args: Sequence[RawValue]) -> int:
        self.count += 1
        return self.count

    @workflow.signal(dynamic=True)
    async def any_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self.count += 1

    @workflow.signal(name="finish")
    async def finish(self) -> None:
        self.done = True


@workflow.defn(name="BenchTimer")
class BenchTimer:
    """The storm baseline: one timer until `at` (ISO 8601), then complete."""

    @workflow.run
    async def run(self, at: str) -> str:
        delay = (datetime.fromisoformat(at) - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(delay)
        return workflow.now().isoformat()


WORKFLOWS = [BenchNoop, BenchSteps, BenchUpdates, BenchTimer]


async def main() -> None:
    client = await Client.connect(os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    queue = os.environ.get("BENCH_NOOP_TASK_QUEUE", TASK_QUEUE)
    # More pollers than the SDK's default 5: the baseline must measure the server's starts,
    # not how fast one worker fetches no-op tasks.
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS,
                      max_concurrent_workflow_task_polls=16):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
