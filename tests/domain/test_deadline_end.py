"""The 24:00 rule (R-41, R-42): a day deadline ends at 24:00 Beijing; stored as 23:59:59."""

from datetime import datetime, timedelta, timezone

import pytest

from domain.workdays import BEIJING, compute_due, deadline_end, end_of_day, is_late

DUE = datetime(2025, 3, 14, 23, 59, 59, tzinfo=BEIJING)


def test_day_deadline_ends_at_next_midnight():
    assert deadline_end(DUE) == datetime(2025, 3, 15, 0, 0, tzinfo=BEIJING)
    assert deadline_end(DUE.replace(microsecond=500_000)) == datetime(2025, 3, 15, tzinfo=BEIJING)


def test_same_instant_in_utc():
    utc = DUE.astimezone(timezone.utc)  # 15:59:59Z
    assert deadline_end(utc) == datetime(2025, 3, 14, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "at, late",
    [
        (datetime(2025, 3, 14, 23, 59, 59, 900_000, tzinfo=BEIJING), False),
        (datetime(2025, 3, 14, 23, 59, 59, 999_999, tzinfo=BEIJING), False),
        (datetime(2025, 3, 14, 23, 59, 59, tzinfo=BEIJING), False),
        (datetime(2025, 3, 15, 0, 0, 0, tzinfo=BEIJING), True),
        (datetime(2025, 3, 15, 0, 0, 0, 1, tzinfo=BEIJING), True),
        (datetime(2025, 3, 14, 15, 59, 59, 900_000, tzinfo=timezone.utc), False),
        (datetime(2025, 3, 14, 16, 0, 0, tzinfo=timezone.utc), True),
    ],
)
def test_is_late_at_the_edge(at, late):
    assert is_late(at, DUE) is late


def test_hour_and_minute_deadlines_are_their_own_end():
    due = datetime(2025, 3, 14, 10, 30, 0, tzinfo=BEIJING)
    assert deadline_end(due) == due
    assert not is_late(due - timedelta(microseconds=1), due)
    assert is_late(due, due)
    # 23:59:58 or 23:59 (minute 59 but not second 59) is not a day deadline
    other = datetime(2025, 3, 14, 23, 59, 58, tzinfo=BEIJING)
    assert deadline_end(other) == other


def test_computed_values_unchanged():
    start = datetime(2025, 3, 7, 9, 0, tzinfo=BEIJING)
    due = compute_due(start, 5, "working_days").due_at
    assert due == end_of_day(due.date()) and (due.hour, due.minute, due.second) == (23, 59, 59)
    assert deadline_end(due) == due + timedelta(seconds=1)


def test_naive_rejected():
    with pytest.raises(ValueError):
        deadline_end(datetime(2025, 3, 14, 23, 59, 59))
