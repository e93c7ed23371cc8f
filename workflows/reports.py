"""`ReportsWorkflow`: every center's report to the level above (分析汇总，报上级).

Started on the 1st of every month by the Temporal Schedule `center-reports`
(scripts/schedules.py): it reports the month just ended, and the quarter and the year when that
month ends one (`domain.reports.periods_ended_before`), for every center of the register.

Each report is one activity, `build_center_report`, called by name: it lives in the API layer
(`api/reports/build.py`, registered by worker.py) because it computes the figures with
`/v1/stats`'s own function, and workflows never import the API. It is idempotent per (center,
period): a report that exists is returned as it is (`created: false`), so a second run, a
retried activity or a leader's earlier `POST /v1/reports` never makes a second one. The report
itself (figures, workbook, hash) stays in PostgreSQL; the history keeps ids and hashes only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.reports import (
        BuildReportInput,
        BuiltReport,
        ReportsInput,
        ReportsResult,
        parse_period,
        periods_ended_before,
    )
    from domain.workdays import BEIJING

#: Both activities retry while PostgreSQL is down; one report reads a period's figures
#: (seconds, with a few figure queries side by side).
RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))
BUILD: dict[str, Any] = {"start_to_close_timeout": timedelta(minutes=5), "retry_policy": RETRY}
LIST: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": RETRY}
#: Reports built at once (each runs a handful of figure queries side by side).
CONCURRENCY = 4
#: How many reports the result lists (the rest are counted).
LISTED = 200


@workflow.defn(name="ReportsWorkflow")
class ReportsWorkflow:
    """The scheduled reports of every center; no messages (its result lists what it built)."""

    @workflow.run
    async def run(self, inp: ReportsInput) -> ReportsResult:
        # One instant for the whole run: what has ended, and what every report is made as of.
        now = workflow.now()
        if inp.periods:
            try:
                periods = [parse_period(p).label for p in inp.periods]
            except ValueError as e:  # a bad input fails the run, never its workflow task
                raise ApplicationError(f"periods: {e}", type="invalid_period",
                                       non_retryable=True) from None
        else:
            today = now.astimezone(BEIJING).date()
            periods = [p.label for p in periods_ended_before(today)]
        centers = inp.centers or await workflow.execute_activity(
            "list_report_centers", result_type=list[str], **LIST)
        jobs = [BuildReportInput(center=c, period=p, as_of=now) for p in periods for c in centers]
        built: list[BuiltReport] = []
        for i in range(0, len(jobs), CONCURRENCY):
            built += await asyncio.gather(*(
                workflow.execute_activity("build_center_report", job, result_type=BuiltReport,
                                          **BUILD)
                for job in jobs[i:i + CONCURRENCY]))
        created = sum(1 for b in built if b.created)
        workflow.set_current_details(
            f"{', '.join(periods)}: {created} reports built, {len(built) - created} existed "
            f"({len(centers)} centers)")
        return ReportsResult(as_of=now, periods=periods, centers=len(centers), created=created,
                             existing=len(built) - created, reports=built[:LISTED])
