"""Issue 15 (R-30): one rule for the reminders, the board's and the dashboard's yellow — a clock
is yellow from its reminder instant, the end of the working day before its due day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from activities.deadlines import compute
from domain.clocks import DeadlineKind
from domain.models import DeadlineSpec, LimitUnit
from domain.workdays import BEIJING, end_of_day, reminder_instant, yellow_until


def test_the_issue_case_turns_yellow_at_its_reminder_not_two_working_days_early() -> None:
    due = end_of_day(date(2026, 12, 3))
    assert reminder_instant(due) == end_of_day(date(2026, 12, 2))
    assert not due <= yellow_until(datetime(2026, 12, 2, 0, 57, tzinfo=BEIJING))
    assert not due <= yellow_until(datetime(2026, 12, 2, 23, 59, 58, tzinfo=BEIJING))
    assert due <= yellow_until(datetime(2026, 12, 2, 23, 59, 59, tzinfo=BEIJING))


def test_yellow_and_reminders_agree_on_every_due_day_and_instant_of_a_year() -> None:
    start = datetime(2025, 12, 20, 9, tzinfo=BEIJING)
    for offset in range(3, 400):  # over weekends, the Spring Festival, National Day, 调休 days
        due_day = date(2025, 12, 20) + timedelta(days=offset)
        c = compute(DeadlineSpec(kind=DeadlineKind.HANDLING, start=start, amount=offset,
                                 unit=LimitUnit.DAYS))
        due = end_of_day(due_day)
        if c.due_at != due:  # moved past a holiday: check the instant it moved to
            due = c.due_at
        assert c.remind_at == reminder_instant(due)
        r = reminder_instant(due)
        for now in (r - timedelta(seconds=1), r, r + timedelta(hours=5), r - timedelta(hours=30)):
            assert (due <= yellow_until(now)) == (r <= now), (due, now)


def test_the_workbench_queue_and_the_board_share_the_rule() -> None:
    from api.web import queue

    now = datetime(2026, 9, 25, 8, tzinfo=BEIJING)
    for hours in range(0, 24 * 30, 7):
        at = now + timedelta(hours=hours)
        assert queue.yellow_until(at) == yellow_until(at), at
