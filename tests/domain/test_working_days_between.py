"""`domain.workdays.working_days_between` counts year by year (the supervision board calls it
for every overdue clock on a page); it must equal the day-by-day count of `is_working_day`."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from domain.workdays import BEIJING, is_working_day, working_days_between


def day_by_day(a: datetime, b: datetime) -> int:
    da, db = a.astimezone(BEIJING).date(), b.astimezone(BEIJING).date()
    sign = 1
    if db < da:
        da, db, sign = db, da, -1
    count, d = 0, da
    while d < db:
        d += timedelta(days=1)
        count += is_working_day(d)
    return sign * count


def at(d: date, hour: int = 12) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=BEIJING)


def test_equals_the_day_by_day_count_on_random_spans() -> None:
    rng = random.Random(15)
    for _ in range(2000):
        a = date(2024, 1, 1) + timedelta(days=rng.randrange(3 * 366))
        b = a + timedelta(days=rng.randrange(-400, 400))
        assert working_days_between(at(a), at(b, rng.randrange(24))) == day_by_day(at(a), at(b))


def test_known_spans_across_holidays_and_adjusted_weekends() -> None:
    # Spring Festival 2026: 15–23 Feb off, Sat 14 and Sat 28 Feb working days.
    assert working_days_between(at(date(2026, 2, 12)), at(date(2026, 3, 2))) == 8
    # New Year 2026: 1–3 Jan off, Sun 4 Jan a working day.
    assert working_days_between(at(date(2025, 12, 30)), at(date(2026, 1, 6))) == 4
    assert working_days_between(at(date(2026, 1, 6)), at(date(2025, 12, 30))) == -4
    assert working_days_between(at(date(2026, 3, 2)), at(date(2026, 3, 2), 23)) == 0
