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
        kind=spec.kind, due_at=due.due_at, remind_at=remind_at, provisional=due.provisional
    )


@activity.defn(name="compute_deadlines")
async def compute_deadlines(inp: ComputeDeadlinesInput) -> ComputeDeadlinesResult:
    return ComputeDeadlinesResult(deadlines=[compute(s) for s in inp.specs])
