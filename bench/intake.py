"""Intake throughput: complaints registered per second through the REST API, against bare
Temporal workflow starts per second on the same server (a no-op workflow type).

    python -m bench.intake [--seconds 15] [--concurrency 16] [--rounds 2] [--no-worker-baseline]

The `make run` stack runs as processes (dev server on a SQLite file, embedded PostgreSQL,
`worker.py`, uvicorn); a no-op worker runs `BenchNoop`. Rounds alternate intake and bare
starts so that load from other users of the machine hits both alike. Each phase ends with a
drain: the time until the work a phase left behind (activities, read model, outbox; or the
no-op runs) is done, so "sustained" counts everything a registration costs.

A second baseline (issue 11), `nobody`: bare starts of `BenchNoop` on a task queue that no
worker polls — the server's own limit for accepting starts, with nothing run afterwards (no
drain). Each round then has three phases: intake, starts (no-op worker), starts (no worker).

Printed: per phase the answered rate, the sustained rate, latency percentiles, CPU ms per item
by process; then the ratio intake / bare starts (goal ≥ 0.7), against each baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import CpuMeter, auth, header, intake_body, per_item_ms, postmaster_pid, run_for, summary_ms
from bench.stack import Stack, stack, tool, wait_until

NOOP_QUEUE = "bench-noop"
#: A task queue no worker polls: starts there are accepted by the server and never run.
NOBODY_QUEUE = "bench-nobody"


async def drain_intake(pool: asyncpg.Pool, timeout: float = 120) -> float:
    """Seconds until every registered case is projected and the outbox has nothing pending."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        left = await pool.fetchval(
            "SELECT (SELECT count(*) FROM complaints WHERE version = 0)"
            " + (SELECT count(*) FROM notifications WHERE status = 'pending')")
        if left == 0:
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - t0


async def drain_starts(client: Any, timeout: float = 120) -> float:
    """Seconds until no `BenchNoop` run is open."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        n = await client.count_workflows(
            'WorkflowType = "BenchNoop" AND ExecutionStatus = "Running"')
        if n.count == 0:
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - t0


def profile(pids: dict[str, int], seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy (collapsed stacks, `--format raw`) on the API and the worker for `seconds`."""
    out.mkdir(parents=True, exist_ok=True)
    spies = []
    for name in ("api", "worker"):
        spies.append(subprocess.Popen(
            [tool("py-spy"), "record", "--pid", str(pids[name]), "--duration", str(int(seconds)),
             "--format", "raw", "--nonblocking", "--output", str(out / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return spies


async def measure(s: Stack, seconds: float, concurrency: int, rounds: int,
                  profile_dir: Path | None = None, nobody: bool = True) -> dict[str, Any]:
    client = await s.temporal.client()
    pool = await asyncpg.create_pool(s.pg.url, min_size=1, max_size=2)
    assert pool is not None
    pids = {"api": s.children[1].pid, "worker": s.children[0].pid,
            "noop-worker": s.children[2].pid, "temporal": s.temporal.child.pid,  # type: ignore[union-attr]
            "postgres": postmaster_pid(s.pg.data)}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=s.api_url, timeout=30, limits=limits) as http:

        async def register(_: int) -> bool:
            r = await http.post("/v1/complaints", json=intake_body(), headers=auth("intake"))
            if r.status_code != 201:
                print("   intake answered", r.status_code, r.text[:200], file=sys.stderr)
            return r.status_code == 201

        async def start(_: int) -> bool:
            await client.start_workflow("BenchNoop", id=f"noop-{uuid.uuid4()}",
                                        task_queue=NOOP_QUEUE)
            return True

        async def start_nobody(_: int) -> bool:
            await client.start_workflow("BenchNoop", id=f"nobody-{uuid.uuid4()}",
                                        task_queue=NOBODY_QUEUE)
            return True

        async def nothing() -> float:
            return 0.0

        # Warm-up: connections, caches, JIT-less first calls.
        await run_for(2, 4, register)
        await run_for(2, 4, start)
        await drain_intake(pool)
        await drain_starts(client)

        phases: list[tuple[str, Any, Any]] = [
            ("intake", register, lambda: drain_intake(pool)),
            ("starts", start, lambda: drain_starts(client))]
        if nobody:
            phases.append(("nobody", start_nobody, nothing))
        totals: dict[str, dict[str, Any]] = {
            k: {"ok": 0, "failed": 0, "secs": 0.0, "drain": 0.0, "lat": [], "cpu": {}}
            for k, _, _ in phases
        }
        for i in range(rounds):
            for name, one, drain in phases:
                spies = (profile(pids, seconds, profile_dir)
                         if profile_dir is not None and i == 0 and name == "intake" else [])
                meter = CpuMeter(pids).start()
                ok, failed, lat, secs = await run_for(seconds, concurrency, one)
                drained = await drain()
                used = meter.stop()
                for spy in spies:
                    spy.wait(30)
                t = totals[name]
                t["ok"] += ok
                t["failed"] += failed
                t["secs"] += secs
                t["drain"] += drained
                t["lat"] += lat
                for k, v in used.items():
                    t["cpu"][k] = t["cpu"].get(k, 0.0) + v
                print(f"   round {i + 1} {name:6}: {ok / secs:7.1f}/s answered, "
                      f"{ok / (secs + drained):7.1f}/s sustained (drain {drained:.1f} s), "
                      f"{failed} failed")
    await pool.close()
    return totals


def report(totals: dict[str, dict[str, Any]], concurrency: int) -> None:
    rates = {}
    print(f"   concurrency {concurrency}")
    for name, t in totals.items():
        answered = t["ok"] / t["secs"]
        sustained = t["ok"] / (t["secs"] + t["drain"])
        rates[name] = (answered, sustained)
        print(f"   {name:6}: {t['ok']} in {t['secs']:.1f} s = {answered:.1f}/s answered, "
              f"{sustained:.1f}/s sustained; latency {summary_ms(t['lat'])}")
        print(f"           CPU ms per item: {per_item_ms(t['cpu'], t['ok'])}")
    ratio_answered = rates["intake"][0] / rates["starts"][0]
    ratio_sustained = rates["intake"][1] / rates["starts"][1]
    print(f"   RATIO intake / bare starts: {ratio_answered:.2f} answered, "
          f"{ratio_sustained:.2f} sustained (goal ≥ 0.7)")
    if "nobody" in rates:
        print(f"   RATIO intake / bare starts with no worker (the server's own limit): "
              f"{rates['intake'][0] / rates['nobody'][0]:.2f} answered (goal ≥ 0.7)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=2, help="intake/starts pairs")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy the API and the worker in the first intake phase; "
                        "collapsed stacks go to PROFILE/api.txt and PROFILE/worker.txt")
    parser.add_argument("--bytecode-cache", action="store_true",
                        help="children read and write bytecode (see bench.stack.stack)")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--no-worker-baseline", dest="nobody", action="store_false",
                        help="skip the baseline of bare starts on a queue no worker polls")
    args = parser.parse_args()
    header("bench.intake: complaints registered/s via the API vs bare workflow starts/s")
    with stack(extra_env={"COMPLAINTS_API_WORKERS": str(args.api_workers)},
               bytecode_cache=args.bytecode_cache) as s:
        s.worker()
        s.api()
        noop = s.worker("noop-worker", {"BENCH_NOOP_TASK_QUEUE": NOOP_QUEUE},
                        [sys.executable, "-m", "bench.noop_worker"])
        wait_until(lambda: noop.running(), timeout=5, what="the no-op worker")
        totals = asyncio.run(measure(s, args.seconds, args.concurrency, args.rounds,
                                     args.profile, args.nobody))
    report(totals, args.concurrency)
    header("bench.intake done")


if __name__ == "__main__":
    main()
