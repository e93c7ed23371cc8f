"""Working-day and calendar-day arithmetic for mainland China (R-41, R-42, R-43).

Holiday data per year comes from, in priority order:

1. ``<year>.toml`` in the holidays directory (``domain/holidays/`` by default, or
   ``$COMPLAINTS_HOLIDAYS_DIR``, or `set_holidays_dir`), see ``domain/holidays/README.md``;
2. the ``chinese_calendar`` package, for the years it covers;
3. otherwise the law's own holidays (`statutory_holidays`: Monday to Friday minus the days that
   全国年节及纪念日放假办法 fixes, lunar dates and 清明 from the ``lunar_python`` package):
   deadlines computed this way are *provisional* and a warning is logged once per year per
   process (logger ``domain.workdays``).

Data is cached per year; call `reload_calendar` after adding a file while the process runs.
Where the data comes from is domain/holiday_data.py; this module counts with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.holiday_data import (
    first_date_without_data,
    has_official_data,
    holidays_dir,
    missing_years,
    reload_calendar,
    set_holidays_dir,
    statutory_holidays,
    year_data,
)

__all__ = [
    "BEIJING",
    "Computed",
    "add_days",
    "add_hours",
    "add_working_days",
    "compute_due",
    "deadline_end",
    "due_date",
    "end_of_day",
    "first_date_without_data",
    "has_official_data",
    "is_late",
    "is_working_day",
    "missing_years",
    "reload_calendar",
    "set_holidays_dir",
    "holidays_dir",
    "statutory_holidays",
    "working_days_between",
]

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 3660
"""Largest day count accepted, so a bad input can never make the day-by-day loops run away."""



@dataclass(frozen=True)
class Computed:
    """A computed deadline: the due instant (Beijing time) and whether it is provisional."""

    due_at: datetime
    provisional: bool


# --- day arithmetic -----------------------------------------------------------------------------


def is_working_day(d: date) -> bool:
    """Whether ``d`` is a working day in mainland China (Mon-Fri, minus holidays, plus 调休)."""
    y = year_data(d.year)
    if d in y.workdays:
        return True
    if d in y.holidays:
        return False
    return d.weekday() < 5


def end_of_day(d: date) -> datetime:
    """The end of day ``d`` in Beijing: 23:59:59."""
    return datetime.combine(d, time(23, 59, 59), tzinfo=BEIJING)


def deadline_end(due_at: datetime) -> datetime:
    """The exclusive end of a deadline: the first instant that is late (R-41, R-42).

    A day-based deadline is the end of its day, 24:00 Beijing time, stored as 23:59:59 (see
    `end_of_day`). For such a ``due_at`` (23:59:59 Beijing, any microseconds) this returns the
    next day's 00:00 Beijing, so an action at 23:59:59.9 on the due day is on time. Any other
    ``due_at`` (hour- or minute-based limits) is its own exclusive end.
    """
    local = _beijing(due_at)
    if (local.hour, local.minute, local.second) == (23, 59, 59):
        nxt = local.date() + timedelta(days=1)
        return datetime.combine(nxt, time(0, 0), tzinfo=BEIJING)
    return due_at


def is_late(at: datetime, due_at: datetime) -> bool:
    """Whether an action (or the lack of one) at ``at`` misses the deadline ``due_at``.

    ``at >= deadline_end(due_at)``: the one on-time/late rule, mirrored in SQL by the
    ``deadline_end(timestamptz)`` function (migrations).
    """
    return _beijing(at) >= deadline_end(due_at)


def _beijing(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {dt!r}")
    return dt.astimezone(BEIJING)


def _check(n: int) -> None:
    if abs(n) > MAX_DAYS:
        raise ValueError(f"day count {n} exceeds {MAX_DAYS}")


def _next_working(d: date, step: int, working: Callable[[date], bool] | None = None) -> date:
    """The first working day from ``d`` (inclusive) in direction ``step`` (+1 or -1)."""
    working = working or is_working_day
    for _ in range(367):
        if working(d):
            return d
        d += timedelta(days=step)
    raise ValueError(f"no working day within a year of {d}: check the holiday data")


def _shift_working(d: date, n: int, working: Callable[[date], bool] | None = None) -> date:
    """The ``|n|``-th working day after (n > 0) or before (n < 0) ``d``; n == 0 as below."""
    _check(n)
    if n == 0:
        return _next_working(d, 1, working)
    step = 1 if n > 0 else -1
    for _ in range(abs(n)):
        d = _next_working(d + timedelta(days=step), step, working)
    return d


def _shift_days(d: date, n: int, working: Callable[[date], bool] | None = None) -> date:
    if n < 0:
        raise ValueError(f"calendar-day limits must be >= 0, got {n}")
    _check(n)
    return _next_working(d + timedelta(days=n), 1, working)


def due_date(
    start: date, amount: int, unit: str, working: Callable[[date], bool] | None = None
) -> date:
    """The due day of a ``"working_days"`` or ``"days"`` limit from day ``start``.

    ``working`` replaces `is_working_day` (e.g. to compare calendars, ``bench.holiday_fallback``).
    """
    if unit == "working_days":
        return _shift_working(start, amount, working)
    if unit == "days":
        return _shift_days(start, amount, working)
    raise ValueError(f"unknown unit {unit!r}")


def add_working_days(start: datetime, n: int) -> datetime:
    """End of the ``n``-th working day after ``start``'s Beijing date (R-41).

    Args:
        start: Timezone-aware instant; its day is never counted.
        n: ``n >= 1`` counts forward; ``0`` gives the end of the start day if it is a working day,
            else of the next working day; ``n < 0`` gives the end of the ``|n|``-th working day
            before the start day (reminders: ``add_working_days(due, -1)``).

    Returns:
        23:59:59 Beijing time of the resulting day.
    """
    return end_of_day(_shift_working(_beijing(start).date(), n))


def reminder_instant(due_at: datetime) -> datetime:
    """The reminder (催办, R-30) of a clock due at ``due_at``: the end of the working day before
    its due day. The one rule for the reminders (activities/deadlines.py), the board's and the
    dashboard's yellow (`yellow_until`) and the metrics."""
    return add_working_days(due_at, -1)


def yellow_until(now: datetime) -> datetime:
    """The latest due instant whose reminder has gone out by ``now``: an open case whose
    nearest due instant is no later than this (and not yet late) is yellow.

    ``reminder_instant(due) <= now`` exactly when ``due <= yellow_until(now)``: with ``y`` the
    last Beijing day that has ended by ``now`` (its 23:59:59 passed), the working days before a
    due day all lie on or before ``y`` exactly when the due day is no later than the first
    working day after ``y``.
    """
    local = _beijing(now)
    ended = local.date() if local >= end_of_day(local.date()) else local.date() - timedelta(days=1)
    # Up to the last microsecond of that day's 23:59:59 (a stored due instant may carry some).
    return add_working_days(end_of_day(ended), 1) + timedelta(microseconds=999_999)


def add_days(start: datetime, n: int) -> datetime:
    """End of the ``n``-th calendar day after ``start``'s Beijing date (R-42).

    If that day is a holiday or rest day, the deadline moves to the end of the next working day.
    """
    return end_of_day(_shift_days(_beijing(start).date(), n))


def add_hours(start: datetime, n: int) -> datetime:
    """``start`` plus ``n`` hours, in Beijing time."""
    return (_beijing(start) + timedelta(hours=n)).astimezone(BEIJING)


def working_days_between(a: datetime, b: datetime) -> int:
    """Working days ``d`` with ``a.date < d <= b.date`` (Beijing dates); negative if ``b < a``."""
    da, db = _beijing(a).date(), _beijing(b).date()
    sign = 1
    if db < da:
        da, db, sign = db, da, -1
    # Year by year: the weekdays, less the holidays on weekdays, plus the working weekend days
    # (as is_working_day decides each day; the supervision board counts months of them per row).
    count = 0
    for year in range(da.year, db.year + 1):
        lo, hi = max(da + timedelta(days=1), date(year, 1, 1)), min(db, date(year, 12, 31))
        if lo > hi:
            continue
        y = year_data(year)
        weeks, rest = divmod((hi - lo).days + 1, 7)
        count += 5 * weeks + sum((lo.weekday() + i) % 7 < 5 for i in range(rest))
        count -= sum(1 for h in y.holidays - y.workdays if lo <= h <= hi and h.weekday() < 5)
        count += sum(1 for w in y.workdays if lo <= w <= hi and w.weekday() >= 5)
    return sign * count


def compute_due(start: datetime, amount: int, unit: str) -> Computed:
    """The due instant of a time limit and whether it rests on fallback calendar data.

    Args:
        start: Timezone-aware instant the limit counts from.
        amount: Number of units.
        unit: ``"working_days"``, ``"days"``, ``"hours"`` or ``"minutes"``.

    Returns:
        `Computed`; ``provisional`` is True when any year from the start date to the due date
        (inclusive) lacks official holiday data (always False for hours and minutes).
    """
    local = _beijing(start)
    if unit == "hours":
        return Computed(add_hours(local, amount), False)
    if unit == "minutes":
        return Computed(local + timedelta(minutes=amount), False)
    if unit == "working_days":
        due = _shift_working(local.date(), amount)
    elif unit == "days":
        due = _shift_days(local.date(), amount)
    else:
        raise ValueError(f"unknown unit {unit!r}")
    lo, hi = sorted((local.date().year, due.year))
    provisional = not all(has_official_data(y) for y in range(lo, hi + 1))
    return Computed(end_of_day(due), provisional)
