"""Action latency: an Update round trip through the API with 1,000 open cases.

    python -m bench.actions [--cases 1000] [--samples 400]

Registers `--cases` complaints through the API (the `make run` stack as processes), waits until
the read model has them all, then times `accept` (route self) on distinct open cases, one at a
time: `POST /v1/complaints/{n}/actions/accept` (the API queries the case, checks the rules,
runs the Update and renders the new state). The baseline in the same run is the bare Temporal
Update (`execute_update` from a client, no API) on other open cases, and the API's read of a case
(`GET /v1/complaints/{n}`: the state query plus the personal file from PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import asyncpg
import httpx

from bench.common import auth, header, intake_body, run_for, summary_ms
from bench.stack import stack
from domain.models import AcceptInput, Actor, Role, Route


async def wait_projected(pool: asyncpg.Pool, n: int, timeout: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if await pool.fetchval("SELECT count(*) FROM complaints WHERE version > 0") >= n:
            break
        await asyncio.sleep(0.25)
    return time.perf_counter() - t0


async def measure(api_url: str, pg_url: str, temporal: object, cases: int, samples: int) -> None:
    from bench.stack import DevServer

    assert isinstance(temporal, DevServer)
    client = await temporal.client()
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=2)
    assert pool is not None
    async with httpx.AsyncClient(base_url=api_url, timeout=30,
                                 limits=httpx.Limits(max_connections=16)) as http:
        numbers: list[str] = []

        async def register(_: int) -> bool:
            if len(numbers) >= cases:
                return False
            r = await http.post("/v1/complaints", json=intake_body(), headers=auth("intake"))
            if r.status_code == 201:
                numbers.append(r.json()["number"])
            return r.status_code == 201

        t0 = time.perf_counter()
        while len(numbers) < cases:
            await run_for(5, 16, register)
        numbers = numbers[:cases]
        print(f"   {cases} cases registered in {time.perf_counter() - t0:.1f} s; read model "
              f"complete after {await wait_projected(pool, cases):.1f} s more")
        open_now = await pool.fetchval("SELECT count(*) FROM complaints WHERE status <> 'archived'")
        print(f"   open cases: {open_now}")

        random.shuffle(numbers)
        via_api, bare, reads = numbers[:samples], numbers[samples:2 * samples], numbers[-samples:]
        handler = Actor(id="bench-handler", role=Role.HANDLER)
        lat_api: list[float] = []
        lat_bare: list[float] = []
        lat_read: list[float] = []
        # Interleaved, one request at a time, so both see the same machine.
        for a, b, c in zip(via_api, bare, reads, strict=False):
            t = time.perf_counter()
            r = await http.post(f"/v1/complaints/{a}/actions/accept", json={"route": "self"},
                                headers=auth("handler"))
            lat_api.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
            t = time.perf_counter()
            # The answer: the whole state before issue 11, a small ActionResult after; both
            # have the status (read as plain JSON so the bench runs on either).
            s = await client.get_workflow_handle(b).execute_update(
                "accept", AcceptInput(route=Route.SELF, actor=handler))
            lat_bare.append(time.perf_counter() - t)
            assert s["status"] == "investigating"
            t = time.perf_counter()
            r = await http.get(f"/v1/complaints/{c}", headers=auth("handler"))
            lat_read.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        print(f"   Update via the API (accept):   {summary_ms(lat_api)}")
        print(f"   bare Temporal Update (client): {summary_ms(lat_bare)}")
        print(f"   GET a case via the API:        {summary_ms(lat_read)}")
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000, help="open cases")
    parser.add_argument("--samples", type=int, default=300, help="timed requests of each kind")
    parser.add_argument("--bytecode-cache", action="store_true",
                        help="children read and write bytecode (see bench.stack.stack)")
    args = parser.parse_args()
    assert args.cases >= 2 * args.samples, "need two distinct open cases per sample"
    header(f"bench.actions: Update round trip through the API with {args.cases} open cases")
    with stack(bytecode_cache=args.bytecode_cache) as s:
        s.worker()
        s.api()
        asyncio.run(measure(s.api_url, s.pg.url, s.temporal, args.cases, args.samples))
    header("bench.actions done")


if __name__ == "__main__":
    main()
