"""`/metrics` (api/metrics.py) after a scripted set of cases on the real stack: every figure an
operator's dashboard and alerts read, with the value the database and the requests say.

The module has a fresh database of its own (tests/fixtures_pg.py), so the gauges count exactly
the cases made here. The worker of tests/stack.py runs no outbox sender and no reconciler, so
notifications stay pending and an unstarted registration stays in the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api import metrics, metrics_figures
from domain import workdays
from tests.fixtures_pg import database_url_for
from tests.stack import Stack, auth, eventually, intake_body

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(stack: Stack, *, fresh: bool = True) -> Samples:
    if fresh:  # forget the cached figures (CACHE_SECONDS) unless the test is about the cache
        stack.app.state.metrics_cache.figures.at = 0.0
    r = await stack.http.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_figures_follow_the_cases(stack: Stack) -> None:
    before = await scrape(stack)
    assert value(before, "complaints_metrics_database_up") == 1
    assert value(before, "complaints_open_cases", status="registered") == 0

    # Intakes: two registered, one refused (no category).
    a = await stack.register()
    b = await stack.register()
    bad = intake_body()
    del bad["category"]
    r = await stack.http.post("/v1/complaints", json=bad, headers=auth("intake"))
    assert r.status_code == 422
    # Actions: b accepted; one refused (a handling unit may not accept).
    await stack.ok(b["number"], "accept", "handler", route="self")
    assert (await stack.act(a["number"], "accept", "tax", route="self")).status_code == 403

    # the read model is projected after the answer: wait for b's new status
    after = await eventually(
        lambda: scrape(stack), lambda s: value(s, "complaints_open_cases", status="investigating") == 1
    )

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("complaints_intakes_total", outcome="registered") == 2
    assert delta("complaints_intakes_total", outcome="refused") == 1
    assert delta("complaints_intake_duration_seconds_count") == 3
    assert delta("complaints_actions_total", action="accept", outcome="done") == 1
    assert delta("complaints_actions_total", action="accept", outcome="refused") == 1
    assert delta("complaints_action_duration_seconds_count", action="accept") == 2
    assert delta("complaints_http_requests_total", method="POST", route="/v1/complaints", status="201") == 2
    # Route templates, never raw paths: no case number in any label.
    assert not any(a["number"] in str(k) for k in after)

    # The gauges, from the read model: one registered, one investigating; nothing due soon or late.
    assert value(after, "complaints_open_cases", status="registered") == 1
    assert value(after, "complaints_open_cases", status="investigating") == 1
    assert value(after, "complaints_overdue_cases") == 0
    assert value(after, "complaints_yellow_cases") == 0
    pending = await stack.pool.fetchval("SELECT count(*) FROM notifications WHERE status = 'pending'")
    assert pending > 0 and value(after, "complaints_outbox_pending") == pending
    assert value(after, "complaints_outbox_oldest_pending_age_seconds") > 0
    assert value(after, "complaints_reconciler_backlog") == 0

    # a overdue, b due at the end of today (yellow: reminded at the end of the working day
    # before), a registration whose workflow never started.
    now = datetime.now(UTC)
    await stack.pool.execute("UPDATE complaints SET overdue = true WHERE number = $1", a["number"])
    await stack.pool.execute(
        "UPDATE complaints SET next_due = $2 WHERE number = $1", b["number"],
        workdays.end_of_day(now.astimezone(workdays.BEIJING).date()),
    )
    await stack.pool.execute(
        "UPDATE notifications SET status = 'failed' WHERE id = "
        "(SELECT min(id) FROM notifications WHERE status = 'pending')"
    )
    # a registration whose workflow never started (the API's start failed; the reconciler would
    # retry it): a copy of a's row, since a real case's projections mark it started
    columns = ", ".join(
        await stack.pool.fetchval(
            "SELECT array_agg(quote_ident(column_name)) FROM information_schema.columns "
            "WHERE table_name = 'complaints' AND is_generated = 'NEVER'"
        )
    )
    await stack.pool.execute(
        f"INSERT INTO complaints ({columns}) SELECT {columns} FROM jsonb_populate_record("
        "NULL::complaints, (SELECT to_jsonb(c) || jsonb_build_object('number', c.number || '-x',"
        " 'workflow_started', false, 'overdue', false, 'registered_at', $2::timestamptz)"
        " FROM complaints c WHERE number = $1))",
        a["number"],
        now - timedelta(minutes=5),
    )
    cached = await scrape(stack, fresh=False)  # within CACHE_SECONDS: the figures read before
    assert value(cached, "complaints_overdue_cases") == 0

    later = await scrape(stack)
    assert value(later, "complaints_overdue_cases") == 1
    assert value(later, "complaints_yellow_cases") == 1
    assert value(later, "complaints_outbox_failed") == 1
    # c's notifications are written by its workflow, maybe during a scrape: compare with a
    # count that did not move across the scrape
    pending_now = "SELECT count(*) FROM notifications WHERE status = 'pending'"
    for _ in range(50):
        first = await stack.pool.fetchval(pending_now)
        later = await scrape(stack)
        if await stack.pool.fetchval(pending_now) == first:
            break
        await asyncio.sleep(0.1)
    assert value(later, "complaints_outbox_pending") == first
    assert value(later, "complaints_reconciler_backlog") == 1
    assert 300 <= value(later, "complaints_reconciler_oldest_age_seconds") < 400
    # the unstarted registration is in the backlog, not yet among the open cases (case_figures
    # holds the cases whose workflow runs)
    assert value(later, "complaints_open_cases", status="registered") == 1


@contextlib.asynccontextmanager
async def as_a_dba(pg_admin_url: str, pool: asyncpg.Pool, number: str) -> AsyncIterator[asyncpg.Connection]:
    """The superuser on the module's database, the immutability trigger off; the row restored."""
    name = await pool.fetchval("SELECT current_database()")
    conn = await asyncpg.connect(database_url_for(pg_admin_url, name))
    saved = await conn.fetchval("SELECT sha256 FROM archives WHERE number = $1", number)
    await conn.execute("ALTER TABLE archives DISABLE TRIGGER archives_no_update")
    try:
        yield conn
    finally:
        await conn.execute("UPDATE archives SET sha256 = $2 WHERE number = $1", number, saved)
        await conn.execute("ALTER TABLE archives ENABLE TRIGGER archives_no_update")
        await conn.close()


async def test_archive_verification_failures_are_counted(stack: Stack, pg_admin_url: str) -> None:
    case = await stack.rejected_and_archived()
    n = case["number"]
    before = await scrape(stack)
    r = await stack.http.get(f"/v1/archive/{n}/verify", headers=auth("auditor"))
    assert r.status_code == 200 and r.json()["ok"] is True
    async with as_a_dba(pg_admin_url, stack.pool, n) as dba:
        await dba.execute("UPDATE archives SET sha256 = repeat('0', 64) WHERE number = $1", n)
        r = await stack.http.get(f"/v1/archive/{n}/verify", headers=auth("auditor"))
        assert r.status_code == 200 and r.json()["ok"] is False  # the body still reaches the user
    after = await scrape(stack)
    for result, expected in (("ok", 1), ("failed", 1)):
        assert (
            value(after, "complaints_archive_verifications_total", result=result)
            - value(before, "complaints_archive_verifications_total", result=result)
        ) == expected


async def test_database_down_is_a_figure_not_an_error() -> None:
    class Down:
        async def get_pool(self) -> None:
            raise OSError("connection refused")

    figures = await metrics_figures.FiguresCache().get(Down())
    text = generate_latest(_registry(figures)).decode()
    assert parse(text) == {("complaints_metrics_database_up", ()): 0.0}


def _registry(figures: metrics_figures.Figures):  # type: ignore[no-untyped-def]
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics_figures.FiguresCollector(figures))  # type: ignore[arg-type]
    return registry


async def test_sdk_client_metrics_are_exported(env: WorkflowEnvironment) -> None:
    """The API's Temporal client records into a buffer; a scrape turns it into Prometheus."""
    runtime = metrics.sdk_runtime()
    client = await Client.connect(
        env.client.service_client.config.target_host, namespace=env.client.namespace, runtime=runtime
    )
    await client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert metrics.drain_sdk() > 0
    samples = parse(generate_latest().decode())
    requests = [
        v
        for (name, labels), v in samples.items()
        if name == "temporal_request_total" and ("operation", "GetSystemInfo") in labels
    ]
    assert requests and sum(requests) >= 1


async def test_centers_behind_on_inspection_rounds(stack: Stack) -> None:
    """R-40 in metrics: per center of the register, the rounds drawn this Beijing year and how
    many it is short of one per month ended. On 2026-07-15 (Beijing) six months have ended."""
    now = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)

    def at(day: str) -> datetime:
        return datetime.fromisoformat(day + "T02:00:00+00:00")

    starts = {  # center → round starts; a round of last year and one after `now` do not count
        "default": ["2025-12-20", "2026-01-05", "2026-02-09", "2026-03-02", "2026-04-07",
                    "2026-05-06", "2026-06-03", "2026-08-04"],
        "district": ["2026-01-12", "2026-03-16"],
    }
    async with stack.pool.acquire() as conn:
        for center, days in starts.items():
            for i, day in enumerate(days):
                await conn.execute(
                    "INSERT INTO inspection_rounds (round_id, center, started_at, closes_at, seed,"
                    " proportion_percent, min_units, register_units, mandatory, drawn)"
                    " VALUES ($1, $2, $3, $3, 1, 30, 1, '[]', '[]', '[]')",
                    f"metrics-pace-{center}-{i}", center, at(day),
                )
    figures = await metrics_figures.read_figures(stack.pool, now)
    samples = parse(generate_latest(_registry(figures)).decode())
    rounds = {c: value(samples, "complaints_inspection_rounds", center=c)
              for c in ("province", "default", "district", "tax-bureau-dept")}
    behind = {c: value(samples, "complaints_inspection_rounds_behind", center=c)
              for c in ("province", "default", "district", "tax-bureau-dept")}
    assert rounds == {"province": 0, "default": 6, "district": 2, "tax-bureau-dept": 0}
    assert behind == {"province": 6, "default": 0, "district": 4, "tax-bureau-dept": 6}
    assert ("complaints_inspection_rounds", (("center", "province"),)) in samples
