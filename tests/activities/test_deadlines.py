"""The deadline activity's exact instants (R-41, R-42), reminders and extensions (R-18, R-19)."""

from __future__ import annotations

from datetime import datetime

from activities.deadlines import compute
from domain import workdays
from domain.models import DeadlineKind, DeadlineSpec, LimitUnit

BJ = workdays.BEIJING


def spec(kind: DeadlineKind, start: datetime, amount: int, unit: LimitUnit, extra: int = 0) -> DeadlineSpec:
    return DeadlineSpec(kind=kind, start=start, amount=amount, unit=unit, extra_days=extra)


def test_overall_30_days_landing_on_national_day_moves_to_next_working_day() -> None:
    # Accepted 2026-09-01: the 30th day is 10/01, a statutory holiday; 10/1–10/7 are off,
    # so the limit is the end of Thursday 10/08 (R-42, 民法典 第二百零三条).
    c = compute(spec(DeadlineKind.OVERALL, datetime(2026, 9, 1, 15, 0, tzinfo=BJ), 30, LimitUnit.DAYS))
    assert c.due_at == datetime(2026, 10, 8, 23, 59, 59, tzinfo=BJ)
    assert not c.provisional
    # Reminder: the end of the working day before, Friday 9/30... 9/30 is a Wednesday: end of 9/30.
    assert c.remind_at == datetime(2026, 9, 30, 23, 59, 59, tzinfo=BJ)


def test_overall_limit_extended_counts_30_plus_n_days_from_acceptance() -> None:
    # 2026-03-02 + 30 = 04/01 (Wed); + 20 more = 04/21 (Tue).
    start = datetime(2026, 3, 2, 9, 0, tzinfo=BJ)
    assert compute(spec(DeadlineKind.OVERALL, start, 30, LimitUnit.DAYS)).due_at == datetime(2026, 4, 1, 23, 59, 59, tzinfo=BJ)
    assert compute(spec(DeadlineKind.OVERALL, start, 30, LimitUnit.DAYS, extra=20)).due_at == datetime(2026, 4, 21, 23, 59, 59, tzinfo=BJ)


def test_handling_limit_extended_moves_by_calendar_days_then_to_a_working_day() -> None:
    # 5 working days from Mon 2026-06-15: 16,17,18 (19–21 Dragon Boat off), 22, 23 → end of 6/23.
    start = datetime(2026, 6, 15, 10, 0, tzinfo=BJ)
    base = compute(spec(DeadlineKind.HANDLING, start, 5, LimitUnit.WORKING_DAYS))
    assert base.due_at == datetime(2026, 6, 23, 23, 59, 59, tzinfo=BJ)
    # +4 days from 6/23 = 6/27, a Saturday → Monday 6/29.
    moved = compute(spec(DeadlineKind.HANDLING, start, 5, LimitUnit.WORKING_DAYS, extra=4))
    assert moved.due_at == datetime(2026, 6, 29, 23, 59, 59, tzinfo=BJ)


def test_referral_opinion_two_working_days_over_a_weekend() -> None:
    # Accepted Thu 2026-11-26: Fri 11/27 = 1, Mon 11/30 = 2; reminder at the end of Friday.
    c = compute(spec(DeadlineKind.OPINION, datetime(2026, 11, 26, 16, 0, tzinfo=BJ), 2, LimitUnit.WORKING_DAYS))
    assert c.due_at == datetime(2026, 11, 30, 23, 59, 59, tzinfo=BJ)
    assert c.remind_at == datetime(2026, 11, 27, 23, 59, 59, tzinfo=BJ)


def test_no_reminder_for_one_day_windows_and_callbacks() -> None:
    start = datetime(2026, 11, 26, 16, 0, tzinfo=BJ)
    assert compute(spec(DeadlineKind.RETURN_WINDOW, start, 1, LimitUnit.WORKING_DAYS)).remind_at is None
    assert compute(spec(DeadlineKind.CALLBACK, start, 5, LimitUnit.WORKING_DAYS)).remind_at is None
    # A 1-working-day stage is reminded as its last working day begins (end of the start day)...
    one = compute(spec(DeadlineKind.HANDLING, start, 1, LimitUnit.WORKING_DAYS))
    assert one.remind_at == datetime(2026, 11, 26, 23, 59, 59, tzinfo=BJ)
    # ...but never before its clock started.
    late = datetime(2026, 11, 27, 23, 59, 59, tzinfo=BJ)
    assert compute(spec(DeadlineKind.HANDLING, late, 1, LimitUnit.WORKING_DAYS)).remind_at is None


def test_acknowledgement_24_hours() -> None:
    c = compute(spec(DeadlineKind.ACKNOWLEDGEMENT, datetime(2026, 2, 16, 8, 0, tzinfo=BJ), 24, LimitUnit.HOURS))
    assert c.due_at == datetime(2026, 2, 17, 8, 0, tzinfo=BJ) and c.remind_at is None
