"""The `center-reports` Temporal Schedule (issue 15, 分析汇总报上级), on the dev server (the
time-skipping server has no schedules): `scripts.schedules.ensure_schedules` — what `make run`
runs — creates it monthly in Asia/Shanghai; its action reports the month just ended for every
center of the register, and a second trigger in the same month makes no second report."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import asyncpg
from temporalio.client import Client, ScheduleOverlapPolicy, ScheduleRange
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.reports.build import ReportActivities
from domain.reports import ReportsResult, periods_ended_before
from domain.workdays import BEIJING
from scripts.schedules import (
    INSPECTION_SCHEDULE_ID,
    REPORTS_SCHEDULE_ID,
    SEAL_SCHEDULE_ID,
    ensure_schedules,
)
from workflows.reports import ReportsWorkflow


async def results(client: Client, task_queue: str, count: int) -> list[ReportsResult]:
    """The results of the first `count` ReportsWorkflow runs on `task_queue`, oldest first."""
    for _ in range(300):
        ids = [wf.id async for wf in client.list_workflows(
            f"WorkflowType = 'ReportsWorkflow' AND TaskQueue = '{task_queue}' "
            "AND ExecutionStatus = 'Completed'")]
        if len(ids) >= count:
            out = [await client.get_workflow_handle(i, result_type=ReportsResult).result()
                   for i in sorted(ids)]
            return out[:count]
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} ReportsWorkflow runs completed")


async def test_the_monthly_schedule_reports_the_month_ended_once(
    dev_env: WorkflowEnvironment, pg_pool: asyncpg.Pool,
) -> None:
    client = dev_env.client
    task_queue = f"reports-{uuid.uuid4()}"
    handle = client.get_schedule_handle(REPORTS_SCHEDULE_ID)
    try:
        done = await ensure_schedules(client, task_queue=task_queue)
        assert done[REPORTS_SCHEDULE_ID] in ("created", "updated")
        d = await handle.describe()
        [cal] = d.schedule.spec.calendars
        assert (list(cal.day_of_month), list(cal.hour), list(cal.minute)) == (
            [ScheduleRange(1)], [ScheduleRange(2)], [ScheduleRange(0)])
        assert d.schedule.spec.time_zone_name == "Asia/Shanghai"
        assert d.schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
        assert (d.schedule.action.workflow, d.schedule.action.task_queue) == (
            "ReportsWorkflow", task_queue)
        upcoming = [t.astimezone(BEIJING) for t in d.info.next_action_times]
        assert {(t.day, t.hour, t.minute) for t in upcoming} == {(1, 2, 0)}
        assert len({(t.year, t.month) for t in upcoming}) == len(upcoming)

        centers = sorted(r["code"] for r in await pg_pool.fetch("SELECT code FROM centers"))
        async with Worker(client, task_queue=task_queue, workflows=[ReportsWorkflow],
                          activities=ReportActivities(pg_pool).all()):
            expected = [p.label for p in periods_ended_before(datetime.now(BEIJING).date())]
            await handle.trigger()
            [first] = await results(client, task_queue, 1)
            await handle.trigger()
            _, second = await results(client, task_queue, 2)
        assert (first.periods, first.centers, first.created, first.existing) == (
            expected, len(centers), len(centers) * len(expected), 0)
        assert (second.created, second.existing) == (0, len(centers) * len(expected))
        rows = await pg_pool.fetch("SELECT center, period FROM center_reports "
                                   "WHERE generated_by = 'system' ORDER BY center, period")
        assert [(r["center"], r["period"]) for r in rows] == sorted(
            (c, p) for c in centers for p in expected)
    finally:
        for schedule_id in (REPORTS_SCHEDULE_ID, INSPECTION_SCHEDULE_ID, SEAL_SCHEDULE_ID):
            await client.get_schedule_handle(schedule_id).delete()
