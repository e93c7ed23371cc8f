"""R-43 fallback: the statutory holidays of 全国年节及纪念日放假办法 (2024), checked against the
official 2025 and 2026 schedules (chinese_calendar), and its figures against Monday–Friday."""

from datetime import date

import chinese_calendar
import pytest

from bench.holiday_fallback import figures
from domain import workdays as wd
from domain.workdays import has_official_data, is_working_day, statutory_holidays


@pytest.fixture(autouse=True)
def _empty_holidays_dir(tmp_path):
    wd.set_holidays_dir(tmp_path)  # no <year>.toml: 2027 on falls back
    yield
    wd.set_holidays_dir(None)


def test_2027_days_fixed_by_law() -> None:
    days = statutory_holidays(2027, make_up=False)
    assert sorted(days) == [
        date(2027, 1, 1),  # 元旦
        date(2027, 2, 5),  # 除夕 (腊月廿九: the 12th month of 丙午 has 29 days)
        date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8),  # 正月初一–初三
        date(2027, 4, 5),  # 清明
        date(2027, 5, 1), date(2027, 5, 2),  # 劳动节
        date(2027, 6, 9),  # 端午
        date(2027, 9, 15),  # 中秋
        date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3),  # 国庆
    ]  # fmt: skip


def test_2027_make_up_days() -> None:
    # 初一, 初二 on Sat/Sun -> Tue 2/9, Wed 2/10; 5-1/5-2 Sat/Sun -> 5/3, 5/4; 10-2/10-3 -> 10/4, 10/5
    extra = statutory_holidays(2027) - statutory_holidays(2027, make_up=False)
    assert sorted(extra) == [
        date(2027, 2, 9), date(2027, 2, 10), date(2027, 5, 3), date(2027, 5, 4),
        date(2027, 10, 4), date(2027, 10, 5),
    ]  # fmt: skip


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_statutory_day_is_an_official_holiday(year: int) -> None:
    official = {d for d in chinese_calendar.holidays if d.year == year}
    assert len(statutory_holidays(year, make_up=False)) == 13
    assert statutory_holidays(year) <= official


@pytest.mark.parametrize("year", [2030, 2057, 2099])
def test_later_years(year: int) -> None:
    days = statutory_holidays(year, make_up=False)
    assert len(days) == 13 and all(d.year == year for d in days)
    assert {date(year, 4, 4), date(year, 4, 5), date(year, 4, 6)} & days  # 清明


def test_fallback_year_uses_statutory_holidays_and_is_provisional() -> None:
    assert has_official_data(2027) is False
    assert is_working_day(date(2027, 2, 5)) is False  # 除夕, a Friday
    assert is_working_day(date(2027, 2, 11)) is True
    got = wd.compute_due(wd.end_of_day(date(2027, 2, 4)), 1, "working_days")  # Thu
    assert got == wd.Computed(wd.end_of_day(date(2027, 2, 11)), provisional=True)


def test_beats_monday_friday_on_the_official_2025_2026_schedules() -> None:
    """The figures quoted in domain/holidays/README.md (python -m bench.holiday_fallback)."""
    five, thirty = figures()
    assert (five.limit, five.starts, thirty.limit, thirty.starts) == (
        "5 working days", 723, "30 days", 700,
    )  # fmt: skip
    # exactly right: statutory fallback vs. Monday-Friday baseline
    assert (five.right["statutory"], five.right["monday_friday"]) == (621, 578)
    assert (thirty.right["statutory"], thirty.right["monday_friday"]) == (645, 636)
    # days off in total
    assert (five.days_off["statutory"], five.days_off["monday_friday"]) == (173, 452)
    assert (thirty.days_off["statutory"], thirty.days_off["monday_friday"]) == (102, 175)
    # a clear margin, and never later than the baseline (later = 调休 Saturdays, not derivable)
    assert five.right["statutory"] - five.right["monday_friday"] >= 0.05 * five.starts
    assert thirty.right["statutory"] > thirty.right["monday_friday"]
    for f in (five, thirty):
        assert f.days_off["statutory"] <= 0.6 * f.days_off["monday_friday"]
        assert f.late["statutory"] == f.late["monday_friday"]
        assert f.right["statutory"] >= f.right["statutory_no_make_up"]
