"""The cost of issue 17's observability in the request path, against same-run baselines.

- `MetricsMiddleware` (api/metrics.py): a FastAPI app with an intake-shaped and an
  action-shaped route, called in-process (httpx.ASGITransport), with and without the
  middleware; rounds alternate so that drift hits both alike.
- `logs.JsonFormatter` (logs.py) against the standard library's one-line `logging.Formatter`,
  for an INFO line with a case context and for a WARNING line (the personal-data guard).

    .venv/bin/python -m bench.observability [--requests 2000] [--rounds 4]
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from fastapi import FastAPI

import logs
from api.metrics import MetricsMiddleware
from bench.common import arguments, header


def app(with_metrics: bool) -> FastAPI:
    a = FastAPI()

    @a.post("/v1/complaints", status_code=201)
    async def intake() -> dict[str, Any]:
        return {"number": "TS-20261201-000001", "access_code": "x"}

    @a.post("/v1/complaints/{number}/actions/accept")
    async def accept(number: str) -> dict[str, Any]:
        return {"number": number, "status": "investigating"}

    if with_metrics:
        a.add_middleware(MetricsMiddleware)
    return a


async def per_request_us(a: FastAPI, n: int) -> float:
    transport = httpx.ASGITransport(app=a)
    async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:
        start = time.perf_counter()
        for i in range(n):
            if i % 2:
                r = await http.post("/v1/complaints", json={})
            else:
                r = await http.post("/v1/complaints/TS-20261201-000001/actions/accept", json={})
            assert r.status_code in (200, 201)
        return (time.perf_counter() - start) / n * 1e6


def per_line_us(formatter: logging.Formatter, record: logging.LogRecord, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        formatter.format(record)
    return (time.perf_counter() - start) / n * 1e6


async def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    header("MetricsMiddleware: µs per request, in-process (baseline: the same app without it)")
    plain, metered = app(False), app(True)
    await per_request_us(plain, 200)  # warm both
    await per_request_us(metered, 200)
    base: list[float] = []
    with_m: list[float] = []
    for _ in range(args.rounds):
        base.append(await per_request_us(plain, args.requests))
        with_m.append(await per_request_us(metered, args.requests))
    b, m = min(base), min(with_m)
    print(f"  without {b:8.1f} µs   with {m:8.1f} µs   ratio {m / b:.3f}")

    header("log line: µs per line (baseline: logging.Formatter's one-line text)")
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    json_fmt = logs.JsonFormatter()
    for level, message in ((logging.INFO, "archived %s #1"), (logging.WARNING, "SMTP refused %s")):
        record = logging.LogRecord("complaints.archive", level, __file__, 1, message,
                                   ("TS-20261201-000001",), None)
        n = 20000 if level == logging.INFO else 500
        with logs.case_context("TS-20261201-000001"):
            t = min(per_line_us(text, record, n) for _ in range(3))
            j = min(per_line_us(json_fmt, record, n) for _ in range(3))
        print(f"  {logging.getLevelName(level):8} text {t:7.1f} µs   json {j:7.1f} µs   ratio {j / t:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
