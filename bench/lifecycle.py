"""Whole cases per second in the time-skipping environment (a regression guard).

    python -m bench.lifecycle [--cases 200] [--concurrency 20]

Runs the referral route end to end on the time-skipping test server with a real worker and
in-memory stand-ins for the outbox and read model (tests/workflows/helpers.py): register →
accept (referral) → submit-opinion → approve-opinion → report-result (the unit) → give-feedback
→ record-satisfaction → archived, `--concurrency` cases at a time. No PostgreSQL, no HTTP: this
is the workflow's own cost, so a change that makes the workflow slower shows here first.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.worker import Worker

from bench.common import arguments, header, summary_ms
from domain.models import Action, Finding, Measure, Rating, Route

#: Update round trips in a whole case after its start (the baseline does as many).
STEPS = 6


async def one_case(client: Client, task_queue: str) -> float:
    from tests.workflows.helpers import HANDLER, LEADER, TAX, act, start_case

    t = time.perf_counter()
    h = await start_case(client, task_queue, received_at=datetime.now(UTC))
    await act(h, Action.ACCEPT, HANDLER, route=Route.REFERRAL)
    await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="转税务局办理")
    await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
    await act(h, Action.REPORT_RESULT, TAX, finding=Finding.SUBSTANTIATED,
              measures=[Measure.WRITTEN_WARNING], report="已责令改正")
    await act(h, Action.GIVE_FEEDBACK, HANDLER, message="经调查属实，已处理。", appeal_route="上级投诉中心")
    await act(h, Action.RECORD_SATISFACTION, HANDLER, rating=Rating.SATISFIED)
    final = await h.result()
    assert final.status.value == "archived" and final.outcome and final.outcome.value == "concluded"
    return time.perf_counter() - t


async def bare_case(client: Client, task_queue: str) -> float:
    """The baseline: a start and 7 Update round trips on a workflow that does nothing else."""
    t = time.perf_counter()
    h = await client.start_workflow("BenchSteps", id=f"steps-{uuid.uuid4()}",
                                    task_queue=task_queue)
    for _ in range(STEPS):
        await h.execute_update("step", result_type=int)
    await h.signal("finish")
    assert await h.result() == STEPS
    return time.perf_counter() - t


async def run_cases(one: Callable[[], Awaitable[float]], cases: int,
                    concurrency: int) -> tuple[float, list[float]]:
    await asyncio.gather(*(one() for _ in range(concurrency)))  # warm-up
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []

    async def limited() -> None:
        async with sem:
            lat.append(await one())

    t0 = time.perf_counter()
    await asyncio.gather(*(limited() for _ in range(cases)))
    return time.perf_counter() - t0, lat


async def measure(cases: int, concurrency: int) -> None:
    from bench.noop_worker import BenchSteps
    from tests.conftest import start_time_skipping
    from tests.workflows.helpers import running_worker

    env = await start_time_skipping()
    tq = f"bench-{uuid.uuid4()}"
    try:
        # Waiting on a result must not skip time: it would fire other open cases' deadlines.
        with env.auto_time_skipping_disabled():
            async with Worker(env.client, task_queue=tq + "-steps", workflows=[BenchSteps]):
                secs, lat = await run_cases(lambda: bare_case(env.client, tq + "-steps"),
                                            cases, concurrency)
            print(f"   baseline: {cases} bare workflows (start + {STEPS} Updates) in "
                  f"{secs:.1f} s: {cases / secs:.1f}/s; one: {summary_ms(lat)}")
            async with running_worker(env.client, tq):
                secs_case, lat = await run_cases(lambda: one_case(env.client, tq), cases,
                                                 concurrency)
        print(f"   {cases} whole cases (register + 6 actions) in {secs_case:.1f} s: "
              f"LIFECYCLE {cases / secs_case:.1f} cases/s at concurrency {concurrency} "
              f"({secs / secs_case:.2f} of the baseline's rate)")
        print(f"   one case, start to archive: {summary_ms(lat)}")
    finally:
        await env.shutdown()


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--bytecode-cache", action="store_true",
                        help="read and write bytecode in a cache folder of its own even where "
                        "PYTHONDONTWRITEBYTECODE is set (see bench.stack.stack)")
    args = parser.parse_args()
    if args.bytecode_cache:  # before the workflow module is first imported
        sys.dont_write_bytecode = False
        sys.pycache_prefix = tempfile.mkdtemp(prefix="complaints-pycache-")
    header("bench.lifecycle: whole cases per second, time-skipping server")
    asyncio.run(measure(args.cases, args.concurrency))
    header("bench.lifecycle done")


if __name__ == "__main__":
    main()
