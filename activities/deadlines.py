"""Deadline computation as an activity, so each exact due instant is recorded in history and
replay never depends on calendar data that operators may later change (DESIGN.md, Deadlines)."""

from __future__ import annotations

from temporalio import activity

from domain import workdays
from domain.models import (
    ComputedDeadline,
    ComputeDeadlinesInput,
    ComputeDeadlinesResult,
    DeadlineKind,
    DeadlineSpec,
    LimitUnit,
)

#: Deadlines that get a reminder (催办) one working day before they fall due (R-30).
REMINDED = frozenset(
    {
        DeadlineKind.ACCEPTANCE,
        DeadlineKind.OPINION,
        DeadlineKind.HANDLING,
        DeadlineKind.OVERALL,
        DeadlineKind.SUPERVISION,
        DeadlineKind.DOCUMENT_REPLY,
    }
)


def compute(spec: DeadlineSpec) -> ComputedDeadline:
    """The due instant of one deadline and the instant of its reminder, if any."""
    if spec.unit == LimitUnit.DAYS:  # the 30 days become 30 + N days from the start
        due = workdays.compute_due(spec.start, spec.amount + spec.extra_days, spec.unit.value)
    else:
        due = workdays.compute_due(spec.start, spec.amount, spec.unit.value)
        if spec.extra_days:  # a stage deadline moves by the approved days
            moved = workdays.compute_due(due.due_at, spec.extra_days, LimitUnit.DAYS.value)
            due = workdays.Computed(moved.due_at, due.provisional or moved.provisional)
    remind_at = None
    if spec.kind in REMINDED and spec.unit in (LimitUnit.WORKING_DAYS, LimitUnit.DAYS):
        candidate = workdays.add_working_days(due.due_at, -1)
        if candidate > spec.start:  # no reminder that would be due before the clock started
            remind_at = candidate
    return ComputedDeadline(
        kind=spec.kind, start=spec.start, due_at=due.due_at, remind_at=remind_at,
        provisional=due.provisional,
    )


_stamp: tuple[tuple[str, float], ...] | None = None


def _reload_if_holiday_files_changed() -> None:
    """Operators add `<year>.toml` while workers run: pick it up without a restart (R-43)."""
    global _stamp
    folder = workdays.holidays_dir()
    stamp = tuple(sorted((p.name, p.stat().st_mtime) for p in folder.glob("*.toml")))
    if _stamp is not None and stamp != _stamp:
        workdays.reload_calendar()
    _stamp = stamp


@activity.defn(name="compute_deadlines")
async def compute_deadlines(inp: ComputeDeadlinesInput) -> ComputeDeadlinesResult:
    _reload_if_holiday_files_changed()
    return ComputeDeadlinesResult(deadlines=[compute(s) for s in inp.specs])


async def recompute_all(client: object) -> int:
    """Signal `recompute-deadlines` to every running case (R-43: one command for all)."""
    from temporalio.client import Client

    assert isinstance(client, Client)
    count = 0
    query = 'WorkflowType="ComplaintWorkflow" AND ExecutionStatus="Running"'
    async for wf in client.list_workflows(query):
        await client.get_workflow_handle(wf.id).signal("recompute-deadlines", {})
        count += 1
    return count


def _main() -> None:
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(
        prog="python -m activities.deadlines",
        description="Deadline maintenance. After adding domain/holidays/<year>.toml, run "
        "`recompute --all` so every open case recomputes its provisional deadlines (R-43).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("recompute", help="signal recompute-deadlines")
    rec.add_argument("--all", action="store_true", required=True, help="every running case")
    sub.add_parser("check", help="warn when this or next year's holiday data is missing")
    args = parser.parse_args()

    if args.command == "check":
        from datetime import datetime

        missing = workdays.missing_years(datetime.now(workdays.BEIJING).date())
        print("holiday data missing for: " + ", ".join(map(str, missing)) if missing else "ok")
        raise SystemExit(1 if missing else 0)

    async def run() -> int:
        from config import get_settings
        from worker import connect

        return await recompute_all(await connect(get_settings()))

    print(f"recompute-deadlines sent to {asyncio.run(run())} running case(s)")


if __name__ == "__main__":
    _main()
