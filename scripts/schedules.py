"""Temporal Schedules of the system: `python -m scripts.schedules` (idempotent).

`inspection-rounds` starts an `InspectionMonthWorkflow` on the 1st of every month at 09:00
Beijing time: it starts one `InspectionRoundWorkflow` for every center of the register, each
drawing at an unannounced instant of the month (R-40: at least 12 inspection rounds a year).
`chain-seals` starts a `SealWorkflow` every `seal_interval_minutes` (issue 13: RFC 3161 seals
of the archive's chain head).
`center-reports` starts a `ReportsWorkflow` on the 1st of every month at 02:00 Beijing time:
every center's report of the month just ended (and of the quarter and the year when they end),
archived and delivered to its parent center (issue 15, 分析汇总报上级; workflows/reports.py).
`make run` runs this module after the Temporal dev server is up (scripts/run_stack.py); a
production set-up runs it once after the namespace exists, and again after every upgrade (it
updates the schedule in place and keeps an operator's pause).

Overlapping rounds are allowed (a round still open when the next month begins never makes the
schedule skip a month), and a round missed while Temporal was down is started when it comes
back, within a week.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

import logs
from domain.inspections import InspectionMonthInput
from domain.reports import ReportsInput

log = logging.getLogger("complaints.schedules")

INSPECTION_SCHEDULE_ID = "inspection-rounds"
#: Each run's workflow id is this plus the scheduled time (Temporal appends it); its rounds are
#: `inspection-round-<center>-<YYYYMM>`.
INSPECTION_WORKFLOW_ID = "inspection-month"
TIME_ZONE = "Asia/Shanghai"
SEAL_SCHEDULE_ID = "chain-seals"
SEAL_WORKFLOW_ID = "chain-seal"
DAY_OF_MONTH, HOUR = 1, 9
REPORTS_SCHEDULE_ID = "center-reports"
#: Each run's workflow id is this plus the scheduled time (Temporal appends it).
REPORTS_WORKFLOW_ID = "center-reports"
#: After midnight: the month's last projections are in; before the working day starts.
REPORTS_HOUR = 2


def inspection_schedule(
    task_queue: str, inp: InspectionMonthInput | None = None, *,
    day_of_month: int = DAY_OF_MONTH, hour: int = HOUR,
) -> Schedule:
    """The monthly inspection-round schedule (calendar spec in Asia/Shanghai)."""
    inp = inp or InspectionMonthInput()
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "InspectionMonthWorkflow", inp, id=INSPECTION_WORKFLOW_ID, task_queue=task_queue,
            static_summary="明查暗访 monthly inspection round (R-40)",
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(
                second=(ScheduleRange(0),), minute=(ScheduleRange(0),),
                hour=(ScheduleRange(hour),), day_of_month=(ScheduleRange(day_of_month),),
                comment=f"每月{day_of_month}日{hour}:00 (北京时间) monthly",
            )],
            time_zone_name=TIME_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                              catchup_window=timedelta(days=7)),
        state=ScheduleState(note="R-40: at least 12 inspection rounds a year"),
    )


def reports_schedule(task_queue: str, *, hour: int = REPORTS_HOUR) -> Schedule:
    """The monthly reports schedule (calendar spec in Asia/Shanghai). Reports are idempotent
    per (center, period), so overlapping or caught-up runs never make a second one."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "ReportsWorkflow", ReportsInput(), id=REPORTS_WORKFLOW_ID, task_queue=task_queue,
            static_summary="分析汇总报上级 every center's report of the month ended",
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(
                second=(ScheduleRange(0),), minute=(ScheduleRange(0),),
                hour=(ScheduleRange(hour),), day_of_month=(ScheduleRange(1),),
                comment=f"每月1日{hour}:00 (北京时间) monthly; quarters and years when they end",
            )],
            time_zone_name=TIME_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                              catchup_window=timedelta(days=7)),
        state=ScheduleState(note="issue 15: reports to the level above (分析汇总，报上级)"),
    )


def seal_schedule(task_queue: str, every: timedelta = timedelta(hours=1)) -> Schedule:
    """The seal schedule (issue 13): `SealWorkflow` timestamps the archive's and the access
    log's chain heads (workflows/seal.py); a round still running makes the next one skip."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "SealWorkflow", id=SEAL_WORKFLOW_ID, task_queue=task_queue,
            static_summary="可信时间戳 seal of the archive and access-log chain heads",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(note="issue 13: RFC 3161 seals of the chain heads"),
    )


async def ensure_schedules(
    client: Client, *, task_queue: str = "complaints",
    inspection: InspectionMonthInput | None = None,
    seal_every: timedelta = timedelta(hours=1),
) -> dict[str, str]:
    """Create or update every schedule; returns schedule id -> "created" | "updated".

    An existing schedule is updated in place; its state (an operator's pause and note) is kept.
    """
    done: dict[str, str] = {}
    for schedule_id, desired in ((INSPECTION_SCHEDULE_ID, inspection_schedule(task_queue, inspection)),
                                 (SEAL_SCHEDULE_ID, seal_schedule(task_queue, seal_every)),
                                 (REPORTS_SCHEDULE_ID, reports_schedule(task_queue))):
        done[schedule_id] = await _ensure(client, schedule_id, desired)
    return done


async def _ensure(client: Client, schedule_id: str, desired: Schedule) -> str:
    try:
        await client.create_schedule(schedule_id, desired)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
        state = current.description.schedule.state
        return ScheduleUpdate(schedule=dataclasses.replace(desired, state=state))

    await client.get_schedule_handle(schedule_id).update(keep_state)
    return "updated"


async def _main(args: argparse.Namespace) -> int:
    from config import get_settings
    from temporal_client import connect

    settings = get_settings()
    try:
        client = await asyncio.wait_for(connect(settings), timeout=args.timeout)
        done = await asyncio.wait_for(
            ensure_schedules(client, task_queue=settings.task_queue,
                             seal_every=timedelta(minutes=settings.seal_interval_minutes)),
            timeout=args.timeout,
        )
    except Exception as e:  # reported, not raised: `make run` goes on without the schedule
        print(f"schedules: could not create them on {settings.temporal_address}: "
              f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    for schedule_id, what in done.items():
        print(f"schedule {schedule_id} {what} (task queue {settings.task_queue}, "
              f"namespace {settings.temporal_namespace})")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m scripts.schedules", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for Temporal (default 30)")
    logs.configure("WARNING")  # JSON lines (logs.py)
    code = asyncio.run(_main(parser.parse_args()))
    sys.stdout.flush()
    sys.stderr.flush()
    # A short-lived client process can abort in interpreter teardown while the Temporal
    # client's Rust threads still run (temporalio/sdk-python#300); nothing is left to clean up.
    os._exit(code)
