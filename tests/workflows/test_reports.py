"""`ReportsWorkflow` on the time-skipping server with real PostgreSQL and the real
report-building activities (api/reports/build.py): it reports every center of the register for
each period, and a second run for the same periods makes no second report and no second
delivery to the parent center."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.reports.build import ReportActivities
from domain.reports import ReportsInput, ReportsResult, periods_ended_before
from domain.workdays import BEIJING
from workflows.reports import ReportsWorkflow

CENTERS = ["default", "district", "province", "tax-bureau-dept"]  # the register (migration 0004)
PARENTS = {"default": "province", "district": "default", "tax-bureau-dept": "default"}


async def run(client: Client, task_queue: str, inp: ReportsInput) -> ReportsResult:
    result: ReportsResult = await client.execute_workflow(
        ReportsWorkflow.run, inp, id=f"reports-{uuid.uuid4()}", task_queue=task_queue)
    return result


async def test_every_center_is_reported_once_per_period(
    client: Client, task_queue: str, pg_pool: asyncpg.Pool,
) -> None:
    inp = ReportsInput(periods=["2025-01", "2025-Q1"])
    async with Worker(client, task_queue=task_queue, workflows=[ReportsWorkflow],
                      activities=ReportActivities(pg_pool).all()):
        first = await run(client, task_queue, inp)
        second = await run(client, task_queue, inp)
    assert (first.periods, first.centers, first.created, first.existing) == (
        ["2025-01", "2025-Q1"], 4, 8, 0)
    assert sorted((r.center, r.period) for r in first.reports) == sorted(
        (c, p) for c in CENTERS for p in ("2025-01", "2025-Q1"))
    assert {r.center: r.delivered_to for r in first.reports} == {**PARENTS, "province": None}
    # The second run finds every report: none made again, the same ids and hashes.
    assert (second.created, second.existing) == (0, 8)
    assert {(r.id, r.sha256) for r in second.reports} == {(r.id, r.sha256) for r in first.reports}
    rows = await pg_pool.fetch(
        "SELECT center, period, count(*) AS n FROM center_reports "
        "WHERE period IN ('2025-01', '2025-Q1') GROUP BY center, period")
    assert sorted((r["center"], r["period"], r["n"]) for r in rows) == sorted(
        (c, p, 1) for c in CENTERS for p in ("2025-01", "2025-Q1"))
    # Delivered once each to the parent center; the province has none to report to.
    sent = await pg_pool.fetch(
        "SELECT number, unit FROM notifications WHERE kind = 'center_report' "
        "AND data->>'period' IN ('2025-01', '2025-Q1') ORDER BY number")
    assert [(r["number"], r["unit"]) for r in sent] == sorted(
        (f"report-{c}-{p}", PARENTS[c]) for c in PARENTS for p in ("2025-01", "2025-Q1"))


async def test_a_run_for_some_centers_and_a_bad_period(
    client: Client, task_queue: str, pg_pool: asyncpg.Pool,
) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[ReportsWorkflow],
                      activities=ReportActivities(pg_pool).all()):
        only = await run(client, task_queue, ReportsInput(periods=["2025-02"],
                                                          centers=["district"]))
        with pytest.raises(WorkflowFailureError) as failed:
            await run(client, task_queue, ReportsInput(periods=["2025-13"]))
        with pytest.raises(WorkflowFailureError) as unknown:
            await run(client, task_queue, ReportsInput(periods=["2025-03"], centers=["nowhere"]))
    assert [(r.center, r.period, r.created) for r in only.reports] == [
        ("district", "2025-02", True)]
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "invalid_period"
    assert "the month must be 01..12" in cause.message
    # An unknown center fails its activity at once (not retried), and so the run.
    assert "unknown center 'nowhere'" in str(unknown.value.cause.cause)
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM center_reports WHERE period IN ('2025-13', '2025-03')") == 0


async def test_a_run_reports_as_of_its_own_instant(
    env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool,
) -> None:
    """The periods ended and every report's instant are the run's workflow time, not the
    worker's clock: 40 days on, the run reports periods that have not ended on the wall clock
    yet (the activity would refuse them as of now)."""
    await env.sleep(timedelta(days=40))
    async with Worker(env.client, task_queue=task_queue, workflows=[ReportsWorkflow],
                      activities=ReportActivities(pg_pool).all()):
        result = await run(env.client, task_queue, ReportsInput(centers=["district"]))
    assert result.as_of is not None
    expected = [p.label for p in periods_ended_before(result.as_of.astimezone(BEIJING).date())]
    assert result.periods == expected
    assert [(r.center, r.period, r.created) for r in result.reports] == [
        ("district", p, True) for p in expected]
    rows = await pg_pool.fetch(
        "SELECT period, generated_at, period_end FROM center_reports WHERE id = ANY($1::bigint[])",
        [r.id for r in result.reports])
    assert {r["generated_at"] for r in rows} == {result.as_of}
    # The month just ended on the run's clock is still running on the wall clock.
    [month] = [r for r in rows if r["period"] == expected[0]]
    assert month["period_end"] >= datetime.now(BEIJING).date()
