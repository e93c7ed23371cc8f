"""How often the fallback for a year without official holiday data gets a deadline right (R-43).

For every start day of the years with official data checked (2025 and 2026, from
``chinese_calendar``), compute the 5-working-day and 30-day deadlines with

* the official calendar (the reference),
* the statutory-holidays fallback (`domain.workdays.statutory_holidays`, with 补假),
* the same without 补假 (only the days the 办法 names),
* the old Monday–Friday fallback (the baseline),

and count the deadlines each gets exactly right (same due day), those it puts earlier or later
than the official one, and the days it is off in total. Start days whose official
deadline would need a year without official data (late December 2026) are left out.

    python -m bench.holiday_fallback
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import chinese_calendar

from domain.workdays import due_date, statutory_holidays

YEARS = (2025, 2026)
LIMITS = ((5, "working_days"), (30, "days"))


class _NoData(Exception):
    pass


def official(d: date) -> bool:
    if d.year not in YEARS:
        raise _NoData(d)
    return chinese_calendar.is_workday(d)


def monday_friday(d: date) -> bool:
    return d.weekday() < 5


@cache
def _statutory(year: int, make_up: bool) -> frozenset[date]:
    return statutory_holidays(year, make_up=make_up)


def statutory(d: date) -> bool:
    return d.weekday() < 5 and d not in _statutory(d.year, True)


def statutory_no_make_up(d: date) -> bool:
    return d.weekday() < 5 and d not in _statutory(d.year, False)


CALENDARS: dict[str, Callable[[date], bool]] = {
    "statutory": statutory,
    "statutory_no_make_up": statutory_no_make_up,
    "monday_friday": monday_friday,
}


@dataclass(frozen=True)
class Figure:
    limit: str
    starts: int  # start days compared
    right: dict[str, int]  # calendar name -> deadlines exactly right
    early: dict[str, int]  # ... due before the official day (escalates too soon)
    late: dict[str, int]  # ... due after it (misses lateness: 调休 Saturdays, mostly)
    days_off: dict[str, int]  # ... sum of |fallback - official| in days


def figures(years: tuple[int, ...] = YEARS) -> list[Figure]:
    out = []
    for amount, unit in LIMITS:
        starts = 0
        right, early, late, off = ({n: 0 for n in CALENDARS} for _ in range(4))
        d = date(min(years), 1, 1)
        while d.year <= max(years):
            try:
                want = due_date(d, amount, unit, official)
            except _NoData:
                want = None
            if want is not None:
                starts += 1
                for name, cal in CALENDARS.items():
                    got = due_date(d, amount, unit, cal)
                    right[name] += got == want
                    early[name] += got < want
                    late[name] += got > want
                    off[name] += abs((got - want).days)
            d += timedelta(days=1)
        out.append(Figure(f"{amount} {unit.replace('_', ' ')}", starts, right, early, late, off))
    return out


def main() -> None:
    print(f"start days {min(YEARS)}-01-01..{max(YEARS)}-12-31, official data: chinese_calendar")
    print("exactly right (share) / earlier / later / days off in total, per fallback")
    print(f"{'limit':<16}{'starts':>7}{'statutory':>30}{'statutory, no 补假':>30}{'Mon-Fri':>30}")
    for f in figures():
        cells = [
            f"{f.right[n]} ({100 * f.right[n] / f.starts:.1f}%) / {f.early[n]} / {f.late[n]} / "
            f"{f.days_off[n]}"
            for n in CALENDARS
        ]
        print(f"{f.limit:<16}{f.starts:>7}" + "".join(f"{c:>30}" for c in cells))


if __name__ == "__main__":
    main()
