"""The holiday data of each year for domain/workdays.py (R-43): a ``<year>.toml`` of the holidays
directory, else the ``chinese_calendar`` package, else the law's own holidays (provisional),
cached per year. Logs as ``domain.workdays`` (operators' alerts and docs name that logger).
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

_DEFAULT_DIR = Path(__file__).resolve().parent / "holidays"
_ENV_VAR = "COMPLAINTS_HOLIDAYS_DIR"
_TOML_KEYS = frozenset({"holidays", "workdays", "source"})

log = logging.getLogger("domain.workdays")


@dataclass(frozen=True)
class _Year:
    holidays: frozenset[date]
    workdays: frozenset[date]
    official: bool
    source: str


_lock = threading.Lock()
_dir_override: Path | None = None
_files: dict[int, dict[str, frozenset[date]] | None] = {}
_years: dict[int, _Year] = {}


# --- data sources -------------------------------------------------------------------------------


def set_holidays_dir(path: str | os.PathLike[str] | None) -> None:
    """Use another holidays directory (``None``: back to the env variable or default); reloads."""
    global _dir_override
    _dir_override = Path(path) if path is not None else None
    reload_calendar()


def reload_calendar() -> None:
    """Forget all cached year data, so newly added files are picked up (and warned about again)."""
    with _lock:
        _files.clear()
        _years.clear()


def holidays_dir() -> Path:
    if _dir_override is not None:
        return _dir_override
    env = os.environ.get(_ENV_VAR)
    return Path(env) if env else _DEFAULT_DIR


def parse(path: Path, year: int) -> dict[str, frozenset[date]]:
    """Read and validate one year file; raises ValueError on any problem."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    unknown = set(data) - _TOML_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    out: dict[str, frozenset[date]] = {}
    for key in ("holidays", "workdays"):
        values = data.get(key)
        if not isinstance(values, list):
            raise ValueError(f"'{key}' must be a list of dates")
        for v in values:
            # TOML local dates only (datetime is a subclass of date, so compare types exactly).
            if type(v) is not date:
                raise ValueError(f"'{key}' holds {v!r}, not a date like {year}-01-01")
            # A notice for `year` may reach back into December of the previous year (e.g. the
            # 2012 notice made 2011-12-31 a working day), never further.
            if not (v.year == year or (v.year == year - 1 and v.month == 12)):
                raise ValueError(f"'{key}' holds {v}, outside {year}")
        out[key] = frozenset(values)
    both = out["holidays"] & out["workdays"]
    if both:
        raise ValueError(f"dates both holiday and working day: {sorted(map(str, both))}")
    return out


def _file(year: int) -> dict[str, frozenset[date]] | None:
    """The validated ``<year>.toml`` of the holidays directory, or None (absent or invalid)."""
    if year not in _files:
        path = holidays_dir() / f"{year}.toml"
        parsed = None
        if path.is_file():
            try:
                parsed = parse(path, year)
            except (OSError, ValueError, tomllib.TOMLDecodeError) as e:
                log.error("ignoring invalid holiday file %s: %s", path, e)
        _files[year] = parsed
    return _files[year]


def statutory_holidays(year: int, make_up: bool = True) -> frozenset[date]:
    """The days off that the law itself fixes for ``year``, without the yearly notice (R-43).

    全国年节及纪念日放假办法 as revised in 2024 (in force from 2025; applied to every year here):
    元旦 1-1; 春节 除夕 and 正月初一–初三; 清明 (the solar-term day, Beijing time); 劳动节 5-1 and
    5-2; 端午 (五月初五); 中秋 (八月十五); 国庆 10-1..10-3. 除夕 is the day before 正月初一 (so
    the 29th or 30th of the 12th month). Lunar dates and solar terms come from ``lunar_python``.

    With ``make_up`` (the default, as the 办法 requires: 全体公民放假的假日，如果适逢星期六、星期日，
    应当在工作日补假), each such day on a Saturday or Sunday adds the next weekday after its
    holiday block that is not already off. The notice's bridging days and adjusted working
    weekends (调休) cannot be derived and are not included.
    """
    from lunar_python import Lunar, Solar  # only needed for years without official data

    def solar(lunar_month: int, lunar_day: int) -> date:
        s = Lunar.fromYmd(year, lunar_month, lunar_day).getSolar()
        return date(s.getYear(), s.getMonth(), s.getDay())

    new_year = solar(1, 1)  # 正月初一: between 21 January and 20 February
    qm = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    blocks = [
        [date(year, 1, 1)],
        [new_year + timedelta(days=i) for i in range(-1, 3)],
        [date(qm.getYear(), qm.getMonth(), qm.getDay())],
        [date(year, 5, 1), date(year, 5, 2)],
        [solar(5, 5)],
        [solar(8, 15)],
        [date(year, 10, i) for i in (1, 2, 3)],
    ]
    days = {d for block in blocks for d in block}
    if make_up:
        for block in sorted(blocks):
            owed = sum(d.weekday() >= 5 for d in block)
            d = max(block)
            while owed:
                d += timedelta(days=1)
                if d.weekday() < 5 and d not in days:
                    days.add(d)
                    owed -= 1
    return frozenset(d for d in days if d.year == year)


def _cc_covers(year: int) -> bool:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years) <= year <= max(years)


def _load(year: int) -> _Year:
    own = _file(year)
    if own is not None:
        hol, work = own["holidays"], own["workdays"]
        official, source = True, str(holidays_dir() / f"{year}.toml")
    elif _cc_covers(year):
        hol = frozenset(d for d in chinese_calendar.holidays if d.year == year)
        work = frozenset(d for d in chinese_calendar.workdays if d.year == year)
        official, source = True, "chinese_calendar"
    else:
        hol, work = statutory_holidays(year), frozenset()
        official, source = False, "statutory holidays fallback"
    nxt = _file(year + 1)  # next year's notice may adjust this December
    if nxt is not None:
        n_hol = frozenset(d for d in nxt["holidays"] if d.year == year)
        n_work = frozenset(d for d in nxt["workdays"] if d.year == year)
        hol, work = (hol - n_work) | n_hol, (work - n_hol) | n_work
    return _Year(frozenset(hol), frozenset(work), official, source)


def year_data(year: int) -> _Year:
    with _lock:
        if year not in _years:
            _years[year] = _load(year)
            if not _years[year].official:
                log.warning(
                    "no official holiday data for %d: counting Monday-Friday minus the statutory "
                    "holidays only, deadlines are provisional; add %d.toml to %s (see README.md "
                    "there)",
                    year,
                    year,
                    holidays_dir(),
                )
        return _years[year]


def has_official_data(year: int) -> bool:
    """Whether a holidays file or ``chinese_calendar`` covers ``year``."""
    return year_data(year).official


def missing_years(today: date) -> list[int]:
    """Years operators must add data for: this year, and from 1 November also next year.

    The State Council's notice usually comes out in November, and cases accepted in December
    already reach into the next year (R-43).
    """
    years = [today.year]
    if today.month >= 11:
        years.append(today.year + 1)
    return [y for y in years if not has_official_data(y)]


def first_date_without_data(today: date, horizon: int = 50) -> date | None:
    """The first day from ``today``'s year on whose year has no official holiday data.

    Deadlines reaching that day (or later) are provisional. None if every year up to
    ``horizon`` years ahead is covered.
    """
    for year in range(today.year, today.year + horizon + 1):
        if not has_official_data(year):
            return max(date(year, 1, 1), today)
    return None
