"""Scale: 10,000 open cases on one worker, and the read model at 100,000 rows.

    python -m bench.scale [--cases 10000] [--rows 100000] [--cache 1000]

On the `make run` stack (processes; one worker whose sticky cache holds `--cache` workflows,
`COMPLAINTS_MAX_CACHED_WORKFLOWS`), starts `--cases` complaint workflows in batches and prints
the worker's resident memory after each batch: it levels off once the cache is full, because
evicted workflows live in Temporal, not in the worker. Then it reads cases that were evicted
(`GET /v1/complaints/{n}`: the state query replays the history) and cached ones.

Then it fills the read model up to `--rows` rows (synthetic, realistic spread of statuses,
units, categories, overdue and supervised flags over a year) and times the list and filters of
`GET /v1/complaints` through the API.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.common import arguments, auth, header, run_numbered, summary_ms
from bench.stack import DevServer, Stack, rss_mib, stack
from domain.models import Actor, Category, Channel, ComplaintInput, Form, Grade, Role

INTAKE = Actor(id="bench-intake", role=Role.INTAKE)

#: Synthetic read-model rows: every column a list filter can use, spread like a busy center.
FILL = """
WITH s AS (
    SELECT g, 'SYN-' || lpad(g::text, 8, '0') AS number,
           now() - (random() * interval '365 days') AS t, random() AS r
    FROM generate_series($1::int, $2::int) g
), p AS (
    INSERT INTO complainants (ref, name, phone) SELECT 'syn-' || g, '某某', '13800000000' FROM s
)
INSERT INTO complaints (
    number, center, complainant_ref, access_code_hash, status, channel, form, category, grade,
    respondent_unit, respondent_unit_name, facts, summary, route, handling_unit, policy,
    policy_version, received_at, registered_at, next_due, overdue, ever_overdue, supervised,
    version, workflow_started)
SELECT number, 'default', 'syn-' || g, '', (ARRAY['registered', 'investigating', 'opinion_pending',
        'opinion_review', 'referred', 'decided', 'awaiting_callback', 'appealed', 'archived',
        'archived', 'archived', 'archived'])[1 + (g % 12)],
       (ARRAY['hotline', 'web', 'window', 'letter', 'email', 'inspection', 'other'])[1 + g % 7],
       'written', (ARRAY['attitude', 'no_answer', 'repeat_visits', 'refused_acceptance',
        'overdue_approval', 'arbitrary_return', 'buck_passing', 'absent', 'inefficiency',
        'illegal_fee', 'corruption', 'retaliation', 'abuse_of_power', 'other'])[1 + g % 14],
       'basic', 'unit-' || (g % 40), '某单位' || (g % 40), '事实', '服务态度差 · 某单位' || (g % 40)
        || ' · ' || md5(g::text),
       'referral', CASE WHEN g % 3 = 0 THEN 'unit-' || (g % 40) END, 'default', 1, t, t,
       t + interval '7 days', r < 0.05, r < 0.08, r < 0.08 OR g % 50 = 0, 1, true
FROM s
"""

LISTS: list[tuple[str, dict[str, str]]] = [
    ("first page, no filter", {}),
    ("status=referred", {"status": "referred"}),
    ("unit=unit-7 (handling unit)", {"unit": "unit-7"}),
    ("category=illegal_fee", {"category": "illegal_fee"}),
    ("overdue=true", {"overdue": "true"}),
    ("supervised=true&status=appealed", {"supervised": "true", "status": "appealed"}),
    ("q=number prefix", {"q": "SYN-000012"}),
    ("q=word of the summary", {"q": "某单位17"}),
    ("page 200 of no filter", {"page": "200"}),
]


async def start_batch(client: object, n: int) -> None:
    from temporalio.client import Client

    assert isinstance(client, Client)
    run = uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        number = f"TS-SCALE-{run}-{i:05d}"
        await client.start_workflow("ComplaintWorkflow", ComplaintInput(
            number=number, complainant_ref=f"cref-{uuid.uuid4().hex}",
            channel=Channel.HOTLINE, form=Form.WRITTEN, category=Category.ATTITUDE,
            grade=Grade.BASIC, respondent_unit="tax-bureau", respondent_unit_name="某区税务局",
            summary="服务态度差 · 某区税务局", received_at=datetime.now(UTC),
            registered_by=INTAKE), id=number, task_queue="complaints")

    await run_numbered(n, 32, one)


async def projected(pool: asyncpg.Pool, n: int, timeout: float = 600) -> None:
    t0 = time.perf_counter()
    while await pool.fetchval("SELECT count(*) FROM complaints WHERE version > 0") < n:
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"read model did not reach {n} rows")
        await asyncio.sleep(0.5)


async def timed_gets(http: httpx.AsyncClient, numbers: list[str]) -> list[float]:
    out = []
    for n in numbers:
        t = time.perf_counter()
        r = await http.get(f"/v1/complaints/{n}", headers=auth("handler"))
        out.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
    return out


async def measure(s: Stack, temporal: DevServer, cases: int, rows: int, batch: int) -> None:
    client = await temporal.client()
    pool = await asyncpg.create_pool(s.pg.url, min_size=1, max_size=2)
    assert pool is not None
    worker = s.children[0]
    print(f"   worker RSS at start: {rss_mib(worker.pid):.0f} MiB")
    t0 = time.perf_counter()
    done = 0
    while done < cases:
        n = min(batch, cases - done)
        await start_batch(client, n)
        done += n
        await projected(pool, done)
        print(f"   {done:6d} open cases ({time.perf_counter() - t0:5.0f} s): worker RSS "
              f"{rss_mib(worker.pid):.0f} MiB")
    numbers = [r["number"] for r in await pool.fetch(
        "SELECT number FROM complaints ORDER BY registered_at")]
    async with httpx.AsyncClient(base_url=s.api_url, timeout=60) as http:
        # The oldest cases were evicted from the sticky cache long ago: a read replays them.
        cold = await timed_gets(http, random.sample(numbers[: len(numbers) // 2], 100))
        warm = await timed_gets(http, numbers[-50:])
        print(f"   GET an evicted case (replay):  {summary_ms(cold)}")
        print(f"   GET a cached case:             {summary_ms(warm)}")
        print(f"   worker RSS after the reads: {rss_mib(worker.pid):.0f} MiB")

        have = await pool.fetchval("SELECT count(*) FROM complaints")
        if rows > have:
            t = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                # A bulk load: the figure rollups' triggers off, one rebuild before the commit
                # (migration 0017; README "Figures at province scale").
                await conn.execute("SELECT set_config('complaints.figure_rollups', 'off', true)")
                await conn.execute(FILL, 1, rows - have)
                await conn.execute("SELECT figure_rebuild('all')")
            await pool.execute("ANALYZE complaints")
            print(f"   read model filled to {rows} rows in {time.perf_counter() - t:.1f} s")
        for label, params in LISTS:
            lat = []
            count = 0
            for _ in range(30):
                t = time.perf_counter()
                r = await http.get("/v1/complaints", params=params, headers=auth("handler"))
                lat.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
                count = r.json()["count"]
            print(f"   list {label:34} ({count:6d} match): {summary_ms(lat)}")
    await pool.close()


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--cache", type=int, default=1000, help="worker sticky cache size")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--bytecode-cache", action="store_true",
                        help="children read and write bytecode (see bench.stack.stack)")
    args = parser.parse_args()
    header(f"bench.scale: {args.cases} open cases on one worker (cache {args.cache}), "
           f"read model at {args.rows} rows")
    with stack(extra_env={"COMPLAINTS_MAX_CACHED_WORKFLOWS": str(args.cache)},
               bytecode_cache=args.bytecode_cache) as s:
        s.worker()
        s.api()
        asyncio.run(measure(s, s.temporal, args.cases, args.rows, args.batch))
    header("bench.scale done")


if __name__ == "__main__":
    main()
