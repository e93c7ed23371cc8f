"""The `inspection-rounds` Temporal Schedule (R-40), on the dev server (the time-skipping
server has no schedules): `python -m scripts.schedules` — what `make run` runs — creates it;
it is monthly in Asia/Shanghai, idempotent, keeps an operator's pause, and its action starts a
real round."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
from temporalio.client import ScheduleOverlapPolicy, ScheduleRange
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from activities.seal import SealActivities
from config import ROOT, Settings
from domain.inspections import MonthPlan, unannounced_instant
from domain.workdays import BEIJING, is_working_day
from scripts.schedules import INSPECTION_SCHEDULE_ID, SEAL_SCHEDULE_ID, ensure_schedules
from tests.tsa import local_tsa
from workflows.complaint import ComplaintWorkflow
from workflows.inspection import InspectionMonthWorkflow, InspectionRoundWorkflow
from workflows.seal import SealWorkflow


def run_module(env: WorkflowEnvironment, task_queue: str) -> subprocess.CompletedProcess[str]:
    """`python -m scripts.schedules` as scripts/run_stack.py runs it, against the dev server."""
    environ = {**os.environ,
               "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
               "TEMPORAL_NAMESPACE": env.client.namespace,
               "COMPLAINTS_TASK_QUEUE": task_queue}
    return subprocess.run([sys.executable, "-m", "scripts.schedules", "--timeout", "20"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60,
                          check=False)


async def test_schedule_created_by_the_make_run_step_is_monthly_and_starts_rounds(
    dev_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    client = dev_env.client
    task_queue = f"sched-{uuid.uuid4()}"
    handle = client.get_schedule_handle(INSPECTION_SCHEDULE_ID)
    try:
        done = await asyncio.to_thread(run_module, dev_env, task_queue)
        assert done.returncode == 0, done.stderr
        assert f"schedule {INSPECTION_SCHEDULE_ID}" in done.stdout

        d = await handle.describe()
        [cal] = d.schedule.spec.calendars
        assert (list(cal.day_of_month), list(cal.hour), list(cal.minute)) == (
            [ScheduleRange(1)], [ScheduleRange(9)], [ScheduleRange(0)])
        assert d.schedule.spec.time_zone_name == "Asia/Shanghai"
        assert d.schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
        action = d.schedule.action
        assert (action.workflow, action.task_queue) == ("InspectionMonthWorkflow", task_queue)
        # Every coming action is on the 1st at 09:00 Beijing time, one a month: 12 a year.
        upcoming = [t.astimezone(BEIJING) for t in d.info.next_action_times]
        assert len(upcoming) >= 5
        assert {(t.day, t.hour, t.minute) for t in upcoming} == {(1, 9, 0)}
        months = [(t.year, t.month) for t in upcoming]
        assert len(set(months)) == len(months)

        # Idempotent, and an operator's pause survives a redeploy.
        await handle.pause(note="审计期间暂停")
        assert (await ensure_schedules(client, task_queue=task_queue))[
            INSPECTION_SCHEDULE_ID] == "updated"
        d = await handle.describe()
        assert d.schedule.state.paused and d.schedule.state.note == "审计期间暂停"
        assert len([s async for s in await client.list_schedules()
                    if s.id == INSPECTION_SCHEDULE_ID]) <= 1
        await handle.unpause()

        # The schedule's action plans a round for every center of the register (issue 15: not
        # only `default`), each at an unannounced instant of the month, seeded and recorded.
        centers = [r["center"] for r in await pg_pool.fetch(
            "SELECT DISTINCT center FROM unit_register WHERE active ORDER BY center")]
        assert len(centers) >= 2
        async with Worker(client, task_queue=task_queue,
                          workflows=[ComplaintWorkflow, InspectionRoundWorkflow,
                                     InspectionMonthWorkflow],
                          activities=build_activities(pg_pool, client)):
            before = datetime.now(BEIJING)
            await handle.trigger()
            plan = None
            for _ in range(200):
                async for wf in client.list_workflows(
                        f"WorkflowType = 'InspectionMonthWorkflow' AND TaskQueue = '{task_queue}'"):
                    plan = await client.get_workflow_handle(wf.id, result_type=MonthPlan).result()
                if plan is not None:
                    break
                await asyncio.sleep(0.1)
            assert plan is not None, "the triggered month started no rounds"
            assert [p.center for p in plan.rounds] == centers
            for p in plan.rounds:
                at = p.at.astimezone(BEIJING)
                assert (at.year, at.month) == (before.year, before.month) and at >= before - \
                    timedelta(seconds=5)
                assert plan.month_of is not None
                assert p.at == unannounced_instant(plan.month_of, p.seed, is_working_day)
                assert is_working_day(at.date()) and (9 <= at.hour < 17 or at.date() == before.date())
                rid = f"inspection-round-{p.center}-{before:%Y%m}"
                state = await client.get_workflow_handle(rid).query("state")
                assert state["center"] == p.center
                if at > datetime.now(BEIJING) + timedelta(minutes=1):
                    assert state["status"] == "planned"  # nothing drawn before the instant
                    assert await pg_pool.fetchval(
                        "SELECT count(*) FROM inspection_rounds WHERE round_id = $1", rid) == 0
                await client.get_workflow_handle(rid).terminate("test over")
    finally:
        await handle.delete()


async def test_seal_schedule_starts_seal_rounds(
    dev_env: WorkflowEnvironment, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Issue 13: `chain-seals` starts a `SealWorkflow` every `seal_interval_minutes`; a round
    timestamps the chain heads (here with a local `openssl ts` authority)."""
    client = dev_env.client
    task_queue = f"seal-{uuid.uuid4()}"
    handle = client.get_schedule_handle(SEAL_SCHEDULE_ID)
    try:
        done = await ensure_schedules(client, task_queue=task_queue, seal_every=timedelta(minutes=15))
        assert done[SEAL_SCHEDULE_ID] in ("created", "updated")
        d = await handle.describe()
        [interval] = d.schedule.spec.intervals
        assert interval.every == timedelta(minutes=15)
        assert d.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        assert (d.schedule.action.workflow, d.schedule.action.task_queue) == ("SealWorkflow", task_queue)
        await pg_pool.execute("INSERT INTO access_log (actor_id, actor_role, number, what) "
                              "VALUES ('auditor-01', 'auditor', 'TS-1', 'archive')")
        with local_tsa(tmp_path / "tsa") as tsa:
            settings = Settings(tsa_url=tsa.url, seal_dir=tmp_path / "seals")
            async with Worker(client, task_queue=task_queue, workflows=[SealWorkflow],
                              activities=[SealActivities(pg_pool, settings).seal_chain_heads]):
                await handle.trigger()
                row = None
                for _ in range(200):  # the seal's row, then its copy out of PostgreSQL
                    row = await pg_pool.fetchrow("SELECT id, access_log_sha256 FROM archive_seals")
                    if row is not None and (tmp_path / "seals" / f"seal-{row['id']:08d}.tsr").exists():
                        break
                    await asyncio.sleep(0.05)
        assert row is not None, "the triggered round sealed nothing"
        assert row["access_log_sha256"] == await pg_pool.fetchval(
            "SELECT sha256 FROM access_log ORDER BY id DESC LIMIT 1")
        assert (tmp_path / "seals" / f"seal-{row['id']:08d}.tsr").exists()
    finally:
        await handle.delete()
        await client.get_schedule_handle(INSPECTION_SCHEDULE_ID).delete()
