"""Baseline workflows: `BenchNoop` (no-op; its starts are the intake baseline) and `BenchSteps`
(Update round trips and nothing else; the lifecycle baseline).

`python -m bench.noop_worker` (TEMPORAL_ADDRESS, BENCH_NOOP_TASK_QUEUE); SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import os
import signal

from temporalio import workflow
from temporalio.client import Client
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


async def main() -> None:
    client = await Client.connect(os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    queue = os.environ.get("BENCH_NOOP_TASK_QUEUE", TASK_QUEUE)
    # More pollers than the SDK's default 5: the baseline must measure the server's starts,
    # not how fast one worker fetches no-op tasks.
    async with Worker(client, task_queue=queue, workflows=[BenchNoop, BenchSteps],
                      max_concurrent_workflow_task_polls=16):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
