"""Deadline storm: 1,000 cases whose acceptance deadline falls on the same instant.

    python -m bench.storm [--cases 1000] [--lead 150] [--no-baseline]

On the `make run` stack (processes; the `bench` policy: acceptance 2 minutes from registration,
no reminders), starts `--cases` complaint workflows received and registered at the due instant
minus 2 minutes, the due instant being `--lead` seconds after the start of the run. Then it watches the
read model: how long after the instant every case is marked overdue and escalated
(`overdue AND supervised`), how late each timer fired (the `overdue` action's time in
`case_events`) and how late its projection landed; and checks "exactly once": one `overdue`
action per case, one overdue warning to the handler and one to the supervisor, one escalation.
Goal: every case within 30 seconds.

Baseline, same run and server (issue 11): first, `--cases` bare workflows (`BenchTimer`, on the
no-op worker) whose one timer fires at a common instant and which then complete; the time until
all have completed, and how late each completed, is what the server and one worker can do at
best. Goal for the cases: within 1.5 × the bare timers' time. The cases are also watched
through Temporal itself (the `Overdue` and `Supervised` search attributes, which the workflow
sets at the instant), besides the read model.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.common import CpuMeter, header, pct, per_item_ms, postmaster_pid, run_numbered
from bench.stack import DevServer, stack, wait_until
from domain.models import Actor, Category, Channel, ComplaintInput, Form, Grade, Role

INTAKE = Actor(id="bench-intake", role=Role.INTAKE)


async def start_cases(client: object, n: int, due: datetime, concurrency: int = 32) -> float:
    """Start `n` workflows (the API's start input, no personal data) due at `due`; seconds."""
    from temporalio.client import Client

    assert isinstance(client, Client)
    received = due - timedelta(minutes=2)
    run = uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        number = f"TS-STORM-{run}-{i:05d}"
        inp = ComplaintInput(
            number=number, complainant_ref=f"cref-{uuid.uuid4().hex}",
            channel=Channel.HOTLINE, form=Form.WRITTEN, category=Category.ATTITUDE,
            grade=Grade.BASIC, respondent_unit="tax-bureau",
            respondent_unit_name="某区税务局", summary="服务态度差 · 某区税务局",
            received_at=received, registered_by=INTAKE, policy="bench",
        )
        if "registered_at" in ComplaintInput.model_fields:
            # R-10 (issue 11): the acceptance clock counts from registration; without it,
            # from the first workflow task, which would spread the instants over the starts.
            inp = inp.model_copy(update={"registered_at": received})
        await client.start_workflow("ComplaintWorkflow", inp, id=number, task_queue="complaints")

    t0 = time.perf_counter()
    await run_numbered(n, concurrency, one)
    return time.perf_counter() - t0


NOOP_QUEUE = "bench-noop"
#: The acceptance deadline's overdue records only: a storm longer than the `bench` policy's
#: 2-minute supervision clock also fires the supervision deadlines its escalations opened.
ACCEPTANCE = "detail->>'deadline' = 'acceptance'"


async def bare_timers(temporal: DevServer, n: int, lead: float, pids: dict[str, int],
                      concurrency: int = 32) -> float | None:
    """`n` BenchTimer workflows due at one instant `lead` s ahead; seconds until all completed."""
    client = await temporal.client()
    due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
    run = uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        await client.start_workflow("BenchTimer", due.isoformat(), id=f"timer-{run}-{i:05d}",
                                    task_queue=NOOP_QUEUE)

    t0 = time.perf_counter()
    await run_numbered(n, concurrency, one)
    print(f"   baseline: {n} bare timers started in {time.perf_counter() - t0:.1f} s, all due at "
          f"{due.isoformat()}")
    ready = (due - datetime.now(UTC)).total_seconds()
    if ready < 0:
        print("   WARNING: the bare timers' instant passed while starting them; raise --lead")
    await asyncio.sleep(max(ready, 0))
    meter = CpuMeter(pids).start()
    query = f'WorkflowType = "BenchTimer" AND WorkflowId STARTS_WITH "timer-{run}-"'
    marks: dict[int, float] = {}
    all_done = None
    while True:
        done = (await client.count_workflows(query + ' AND ExecutionStatus = "Completed"')).count
        since = (datetime.now(UTC) - due).total_seconds()
        for pctg in (50, 90, 99, 100):
            if pctg not in marks and done >= n * pctg / 100:
                marks[pctg] = since
        if done >= n:
            all_done = since
            break
        if since > 300:
            print(f"   baseline gave up after {since:.0f} s: {done}/{n} completed")
            break
        await asyncio.sleep(0.5)  # a visibility count costs the server: not too often
    used = meter.stop()
    late = [(w.close_time - due).total_seconds() async for w in client.list_workflows(query)
            if w.close_time is not None]
    print("   baseline: bare timers completed, seconds after the instant: "
          + ", ".join(f"{p}% {marks[p]:.1f}" for p in sorted(marks)))
    print(f"   baseline: completed late by p50 {pct(late, 50):.2f} s, p99 {pct(late, 99):.2f} s")
    print(f"   baseline: CPU ms per bare timer, from the instant until all completed: "
          f"{per_item_ms(used, n)}")
    return all_done


async def measure(temporal: DevServer, pg_url: str, n: int, lead: float, pids: dict[str, int],
                  baseline: float | None = None) -> None:
    client = await temporal.client()
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=2)
    assert pool is not None
    due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
    took = await start_cases(client, n, due)
    print(f"   {n} cases started in {took:.1f} s, all due at {due.isoformat()}")
    while await pool.fetchval("SELECT count(*) FROM complaints WHERE version > 0") < n:
        if datetime.now(UTC) > due - timedelta(seconds=5):
            print("   WARNING: registration not finished 5 s before the due instant")
            break
        await asyncio.sleep(0.5)
    ready = (due - datetime.now(UTC)).total_seconds()
    print(f"   registered and projected {ready:.1f} s before the due instant")
    if ready < 0:
        print("   WARNING: the storm overlaps registration; raise --lead")
    await asyncio.sleep(max(ready, 0))
    meter = CpuMeter(pids).start()

    marks: dict[int, float] = {}
    sa_marks: dict[int, float] = {}
    sa_query = ('WorkflowType = "ComplaintWorkflow" AND Overdue = true AND Supervised = true'
                ' AND WorkflowId STARTS_WITH "TS-STORM-"')
    all_done = None
    sa_done = None
    next_sa = 0.0
    while True:
        done = await pool.fetchval(
            "SELECT count(*) FROM complaints WHERE overdue AND supervised")
        since = (datetime.now(UTC) - due).total_seconds()
        if sa_done is None and since >= next_sa:
            next_sa = since + 0.5  # a visibility count costs the server: not too often
            marked = (await client.count_workflows(sa_query)).count
            for pctg in (50, 90, 99, 100):
                if pctg not in sa_marks and marked >= n * pctg / 100:
                    sa_marks[pctg] = since
            if marked >= n:
                sa_done = since
        for pctg in (50, 90, 99, 100):
            if pctg not in marks and done >= n * pctg / 100:
                marks[pctg] = since
        if done >= n and sa_done is not None:
            all_done = since
            break
        if since > 300:
            print(f"   gave up after {since:.0f} s: {done}/{n} overdue")
            break
        await asyncio.sleep(0.2)
    used = meter.stop()
    fired = [r["late"] for r in await pool.fetch(
        "SELECT extract(epoch FROM at - $1) AS late FROM case_events WHERE action = 'overdue'"
        f" AND {ACCEPTANCE}", due)]
    projected = [r["late"] for r in await pool.fetch(
        "SELECT extract(epoch FROM updated_at - $1) AS late FROM complaints WHERE overdue", due)]
    once = await pool.fetchrow(f"""
        SELECT
          (SELECT count(*) FROM (SELECT number FROM case_events WHERE action = 'overdue'
                                 AND {ACCEPTANCE} GROUP BY number HAVING count(*) <> 1) x)
            AS not_once,
          (SELECT count(*) FROM notifications WHERE kind = 'overdue'
            AND data->>'deadline' = 'acceptance') AS overdue_notes,
          (SELECT count(DISTINCT (number, recipient)) FROM notifications
            WHERE kind = 'overdue' AND data->>'deadline' = 'acceptance') AS overdue_distinct,
          (SELECT count(*) FROM notifications WHERE kind = 'escalated'
            AND data->>'source' = 'overdue') AS escalated_notes
    """)
    assert once is not None
    print("   marked overdue and escalated (read model), seconds after the due instant: "
          + ", ".join(f"{p}% {marks[p]:.1f}" for p in sorted(marks)))
    print("   marked overdue and supervised (Temporal search attributes), seconds after: "
          + ", ".join(f"{p}% {sa_marks[p]:.1f}" for p in sorted(sa_marks)))
    print(f"   timer fired late by: p50 {pct(fired, 50):.2f} s, p99 {pct(fired, 99):.2f} s, "
          f"max {max(fired, default=float('nan')):.2f} s ({len(fired)} overdue actions)")
    print(f"   CPU ms per case, from the instant until all marked: {per_item_ms(used, n)}")
    print(f"   projection landed late by: p50 {pct(projected, 50):.2f} s, "
          f"p99 {pct(projected, 99):.2f} s, max {max(projected, default=float('nan')):.2f} s")
    print(f"   exactly once: cases without exactly one overdue action {once['not_once']}; "
          f"overdue warnings {once['overdue_notes']} (expected {2 * n}, distinct "
          f"{once['overdue_distinct']}); escalations {once['escalated_notes']} (expected {n})")
    all_done = marks.get(100)  # the read model: the last of the two to be complete
    ok = (all_done is not None and all_done <= 30 and once["not_once"] == 0
          and len(fired) == n and once["overdue_notes"] == 2 * n
          and once["escalated_notes"] == n)
    print(f"   STORM: all {n} within {all_done if all_done is not None else float('nan'):.1f} s "
          f"(goal ≤ 30 s): {'met' if ok else 'NOT met'}")
    if baseline:
        ratio = (all_done or float("nan")) / baseline
        sa_ratio = (sa_done or float("nan")) / baseline
        print(f"   RATIO to the bare timers ({baseline:.1f} s): read model {ratio:.2f}, search "
              f"attributes {sa_ratio:.2f} (goal ≤ 1.5): "
              f"{'met' if ratio <= 1.5 else 'NOT met'}")
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--lead", type=float, default=150,
                        help="seconds from the start to the common due instant")
    parser.add_argument("--baseline-lead", type=float, default=150,
                        help="seconds from starting the bare timers to their instant")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the bare-timer baseline")
    parser.add_argument("--bytecode-cache", action="store_true",
                        help="children read and write bytecode (see bench.stack.stack)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes for the cases, and no-op workers for the baseline")
    args = parser.parse_args()
    header(f"bench.storm: {args.cases} cases due at the same instant, {args.workers} worker(s)")
    with stack(policy="bench", bytecode_cache=args.bytecode_cache) as s:
        workers = [s.worker("worker" if i == 0 else f"worker-{i + 1}") for i in range(args.workers)]
        common = {"temporal": s.temporal.child.pid,  # type: ignore[union-attr]
                  "postgres": postmaster_pid(s.pg.data)}
        case_pids = {**common, **{w.name: w.pid for w in workers}}
        baseline = None
        if not args.no_baseline:
            noops = [s.worker(f"noop-worker-{i + 1}", {"BENCH_NOOP_TASK_QUEUE": NOOP_QUEUE},
                              [sys.executable, "-m", "bench.noop_worker"])
                     for i in range(args.workers)]
            wait_until(lambda: all(n.running() for n in noops), timeout=5,
                       what="the no-op workers")
            baseline = asyncio.run(bare_timers(s.temporal, args.cases, args.baseline_lead,
                                               {**common, **{w.name: w.pid for w in noops}}))
        asyncio.run(measure(s.temporal, s.pg.url, args.cases, args.lead, case_pids, baseline))
    header("bench.storm done")


if __name__ == "__main__":
    main()
