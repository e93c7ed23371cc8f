"""Working-day arithmetic against the State Council holiday schedules for 2025 and 2026."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from domain import workdays as wd
from domain.workdays import (
    BEIJING,
    add_days,
    add_hours,
    add_working_days,
    compute_due,
    end_of_day,
    has_official_data,
    is_working_day,
    missing_years,
    reload_calendar,
    set_holidays_dir,
    working_days_between,
)

SAMPLE = Path(wd.__file__).parent / "holidays" / "example.toml.sample"


def span(first: str, last: str) -> list[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def bj(s: str) -> datetime:
    """A Beijing wall-clock instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(s).replace(tzinfo=BEIJING)


# 国务院办公厅关于2025年/2026年部分节假日安排的通知
HOLIDAYS = [
    *span("2025-01-01", "2025-01-01"),
    *span("2025-01-28", "2025-02-04"),
    *span("2025-04-04", "2025-04-06"),
    *span("2025-05-01", "2025-05-05"),
    *span("2025-05-31", "2025-06-02"),
    *span("2025-10-01", "2025-10-08"),
    *span("2026-01-01", "2026-01-03"),
    *span("2026-02-15", "2026-02-23"),
    *span("2026-04-04", "2026-04-06"),
    *span("2026-05-01", "2026-05-05"),
    *span("2026-06-19", "2026-06-21"),
    *span("2026-09-25", "2026-09-27"),
    *span("2026-10-01", "2026-10-07"),
]
ADJUSTED_WORKDAYS = [
    date.fromisoformat(s)
    for s in (
        "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    )
]  # fmt: skip
ORDINARY = {
    date(2025, 7, 7): True,  # Monday
    date(2025, 7, 6): False,  # Sunday
    date(2026, 3, 10): True,  # Tuesday
    date(2026, 3, 14): False,  # Saturday
    date(2026, 10, 8): True,  # Thursday right after National Day
    date(2026, 10, 11): False,  # Sunday right after the adjusted Saturday
}
CASES = [
    *((d, False) for d in HOLIDAYS),
    *((d, True) for d in ADJUSTED_WORKDAYS),
    *ORDINARY.items(),
]


@pytest.fixture(autouse=True)
def isolated_holidays_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test starts with an empty holidays directory (so 2027 has no data) and no cache."""
    monkeypatch.delenv("COMPLAINTS_HOLIDAYS_DIR", raising=False)
    folder = tmp_path / "holidays"
    folder.mkdir()
    set_holidays_dir(folder)
    yield folder
    set_holidays_dir(None)


def write_2027(folder: Path) -> None:
    """A made-up 2027 file: Fri 2027-01-01 off (weekend 1/2-1/3 in the block), Sat 1/9 working."""
    (folder / "2027.toml").write_text(
        'source = "test"\nholidays = [2027-01-01, 2027-01-02, 2027-01-03]\nworkdays = [2027-01-09]\n',
        encoding="utf-8",
    )


# --- the calendar itself ------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "working"), CASES, ids=[str(d) for d, _ in CASES])
def test_official_schedule(day: date, working: bool) -> None:
    assert chinese_calendar.is_workday(day) is working  # the package agrees with the notices
    assert is_working_day(day) is working


def test_official_years() -> None:
    assert has_official_data(2025) is True
    assert has_official_data(2026) is True
    assert has_official_data(2027) is False


def test_end_of_day() -> None:
    assert end_of_day(date(2026, 2, 26)).isoformat() == "2026-02-26T23:59:59+08:00"


# --- R-41 working days --------------------------------------------------------------------------


def test_five_working_days_across_spring_festival_2026() -> None:
    # Registered Thu 2026-02-12; that day is not counted.
    # Fri 2/13 = 1, Sat 2/14 (调休上班) = 2, Sun 2/15 .. Mon 2/23 off (春节),
    # Tue 2/24 = 3, Wed 2/25 = 4, Thu 2/26 = 5.
    due = add_working_days(bj("2026-02-12 10:00"), 5)
    assert due.isoformat() == "2026-02-26T23:59:59+08:00"
    assert due.tzinfo is BEIJING


def test_five_working_days_across_national_day_2026() -> None:
    # Tue 9/29 start. Wed 9/30 = 1, 10/1-10/7 off, Thu 10/8 = 2, Fri 10/9 = 3,
    # Sat 10/10 (调休上班) = 4, Sun 10/11 rest, Mon 10/12 = 5.
    assert add_working_days(bj("2026-09-29 16:30"), 5) == end_of_day(date(2026, 10, 12))


def test_two_working_days_across_qingming_2026() -> None:
    # Thu 4/2 start. Fri 4/3 = 1, Sat 4/4 - Mon 4/6 off, Tue 4/7 = 2.
    assert add_working_days(bj("2026-04-02 09:00"), 2) == end_of_day(date(2026, 4, 7))


def test_two_working_days_over_a_plain_weekend() -> None:
    # Thu 3/5 start. Fri 3/6 = 1, Mon 3/9 = 2.
    assert add_working_days(bj("2026-03-05 09:00"), 2) == end_of_day(date(2026, 3, 9))


def test_working_days_across_new_year_2025_2026() -> None:
    # Tue 2025-12-30 start. Wed 12/31 = 1, 1/1-1/3 off, Sun 1/4 (调休上班) = 2, Mon 1/5 = 3.
    got = compute_due(bj("2025-12-30 11:00"), 3, "working_days")
    assert got == wd.Computed(end_of_day(date(2026, 1, 5)), provisional=False)


def test_working_days_across_new_year_2024_2025() -> None:
    # Tue 2024-12-31 start. Wed 2025-01-01 off, Thu 1/2 = 1, Fri 1/3 = 2.
    assert add_working_days(bj("2024-12-31 11:00"), 2) == end_of_day(date(2025, 1, 3))


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-03-05 09:00", date(2026, 3, 5)),  # ordinary Thursday: same day
        ("2026-10-03 09:00", date(2026, 10, 8)),  # inside National Day: next working day
        ("2026-02-14 09:00", date(2026, 2, 14)),  # adjusted working Saturday: same day
        ("2026-03-14 09:00", date(2026, 3, 16)),  # plain Saturday: Monday
    ],
)
def test_zero_working_days(start: str, expected: date) -> None:
    assert add_working_days(bj(start), 0) == end_of_day(expected)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (date(2026, 3, 10), date(2026, 3, 9)),  # Tue -> Mon
        (date(2026, 3, 9), date(2026, 3, 6)),  # Mon -> Fri
        (date(2026, 10, 8), date(2026, 9, 30)),  # after National Day -> Wed before it
        (date(2026, 2, 24), date(2026, 2, 14)),  # after Spring Festival -> adjusted Saturday
        (date(2026, 1, 5), date(2026, 1, 4)),  # Mon -> adjusted Sunday
    ],
)
def test_reminder_one_working_day_before(due: date, expected: date) -> None:
    assert add_working_days(end_of_day(due), -1) == end_of_day(expected)


# --- R-42 calendar days -------------------------------------------------------------------------


def test_thirty_days_landing_on_national_day_moves_to_next_working_day() -> None:
    # 9/1 + 30 = 10/1 (September has 30 days): 10/1-10/7 off, Thu 10/8 working.
    assert is_working_day(date(2026, 10, 8))
    assert add_days(bj("2026-09-01 10:00"), 30) == end_of_day(date(2026, 10, 8))


def test_thirty_days_landing_on_sunday_moves_to_monday() -> None:
    # Fri 2/13 + 15 = 2/28, + 30 = Sun 3/15 -> Mon 3/16.
    assert date(2026, 3, 15).weekday() == 6
    assert add_days(bj("2026-02-13 10:00"), 30) == end_of_day(date(2026, 3, 16))


def test_thirty_days_landing_on_working_day_unchanged() -> None:
    # Mon 3/2 + 29 = 3/31, + 30 = Wed 4/1.
    assert add_days(bj("2026-03-02 10:00"), 30) == end_of_day(date(2026, 4, 1))


def test_thirty_days_landing_on_adjusted_saturday_stays() -> None:
    # 9/10 + 20 = 9/30, + 30 = Sat 10/10 (调休上班).
    got = compute_due(bj("2026-09-10 10:00"), 30, "days")
    assert got == wd.Computed(end_of_day(date(2026, 10, 10)), provisional=False)


def test_negative_calendar_days_rejected() -> None:
    with pytest.raises(ValueError):
        add_days(bj("2026-03-02 10:00"), -1)


# --- hours, minutes, time zones -----------------------------------------------------------------


def test_hours_and_minutes() -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Beijing
    assert add_hours(start, 24) == bj("2026-03-03 10:00")
    assert add_hours(start, 24).utcoffset() == timedelta(hours=8)
    assert compute_due(start, 48, "hours") == wd.Computed(bj("2026-03-04 10:00"), False)
    assert compute_due(start, 90, "minutes") == wd.Computed(bj("2026-03-02 11:30"), False)


def test_start_date_is_the_beijing_date() -> None:
    start = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # Sat 11/28 04:00 in Beijing
    assert start.astimezone(BEIJING).date() == date(2026, 11, 28)
    # From Sat 11/28: +5 days = Thu 12/3 (from the UTC date Fri 11/27 it would be Wed 12/2).
    assert add_days(start, 5) == end_of_day(date(2026, 12, 3))
    # n = 0 from a Saturday: Monday (the UTC date, a Friday, would give Friday).
    assert add_working_days(start, 0) == end_of_day(date(2026, 11, 30))
    # Same instant given in another zone.
    ny = start.astimezone(ZoneInfo("America/New_York"))
    assert add_days(ny, 5) == end_of_day(date(2026, 12, 3))


def test_naive_datetime_rejected() -> None:
    naive = datetime(2026, 3, 2, 10, 0)
    for call in (
        lambda: add_working_days(naive, 1),
        lambda: add_days(naive, 1),
        lambda: add_hours(naive, 1),
        lambda: compute_due(naive, 1, "working_days"),
        lambda: working_days_between(naive, bj("2026-03-05 10:00")),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_bad_inputs_rejected() -> None:
    with pytest.raises(ValueError, match="unit"):
        compute_due(bj("2026-03-02 10:00"), 1, "weeks")
    with pytest.raises(ValueError, match="exceeds"):
        add_working_days(bj("2026-03-02 10:00"), 3661)


# --- working_days_between -----------------------------------------------------------------------


def test_working_days_between_across_national_day() -> None:
    a, b = bj("2026-09-29 10:00"), bj("2026-10-12 09:00")
    # 9/30 = 1, 10/1-10/7 off, 10/8, 10/9 = 3, Sat 10/10 adjusted = 4, Sun 10/11 rest, 10/12 = 5.
    assert working_days_between(a, b) == 5
    assert working_days_between(b, a) == -5
    assert working_days_between(a, bj("2026-09-29 23:00")) == 0


def test_working_days_overdue_across_spring_festival() -> None:
    # Due end of Fri 2/13; on Tue 2/24: Sat 2/14 (adjusted) + Tue 2/24 = 2 working days overdue.
    assert working_days_between(end_of_day(date(2026, 2, 13)), bj("2026-02-24 08:00")) == 2


# --- R-43 fallback and data files ---------------------------------------------------------------


def test_year_without_data_falls_back_and_is_provisional(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="domain.workdays")
    assert has_official_data(2027) is False
    # Wed 2026-12-30: Thu 12/31 = 1, Fri 2027-01-01 off (元旦, fixed by law), Mon 1/4 = 2, 1/5 = 3.
    got = compute_due(bj("2026-12-30 10:00"), 3, "working_days")
    assert got == wd.Computed(end_of_day(date(2027, 1, 5)), provisional=True)
    assert is_working_day(date(2027, 1, 1)) is False  # statutory holidays fallback
    assert is_working_day(date(2027, 1, 4)) is True
    assert is_working_day(date(2027, 1, 2)) is False  # Saturday
    warnings = [r for r in caplog.records if r.name == "domain.workdays" and "2027" in r.message]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    compute_due(bj("2027-03-01 10:00"), 10, "days")  # once per year per process
    assert len([r for r in caplog.records if "2027" in r.message]) == 1


def test_warning_when_calendar_days_jump_into_a_year_without_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="domain.workdays")
    # 2027-12-20 + 30 = Wed 2028-01-19 (fallback, no holiday): both years touched lack data.
    got = compute_due(bj("2027-12-20 10:00"), 30, "days")
    assert got == wd.Computed(end_of_day(date(2028, 1, 19)), provisional=True)
    warned = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert len(warned) == 2
    assert warned[0].startswith("no official holiday data for 2027:")
    assert warned[1].startswith("no official holiday data for 2028:")


def test_provisional_only_when_a_touched_year_lacks_data() -> None:
    assert compute_due(bj("2026-12-01 10:00"), 5, "working_days").provisional is False
    assert compute_due(bj("2026-12-20 10:00"), 30, "days").provisional is True
    assert compute_due(bj("2027-01-04 10:00"), 2, "hours").provisional is False


def test_toml_file_is_used(isolated_holidays_dir: Path) -> None:
    write_2027(isolated_holidays_dir)
    assert has_official_data(2027) is True
    # Wed 2026-12-30: Thu 12/31 = 1, Fri 1/1 - Sun 1/3 off, Mon 1/4 = 2, Tue 1/5 = 3.
    got = compute_due(bj("2026-12-30 10:00"), 3, "working_days")
    assert got == wd.Computed(end_of_day(date(2027, 1, 5)), provisional=False)
    # Thu 1/7: Fri 1/8 = 1, Sat 1/9 (adjusted) = 2.
    assert add_working_days(bj("2027-01-07 10:00"), 2) == end_of_day(date(2027, 1, 9))


def test_reload_picks_up_a_file_added_later(isolated_holidays_dir: Path) -> None:
    start = bj("2027-01-07 10:00")  # Thu: Fri 1/8 = 1, then Mon 1/11 (fallback) or Sat 1/9 (file)
    before = compute_due(start, 2, "working_days")
    assert before == wd.Computed(end_of_day(date(2027, 1, 11)), provisional=True)
    write_2027(isolated_holidays_dir)
    assert compute_due(start, 2, "working_days") == before  # cached until reloaded
    reload_calendar()
    after = compute_due(start, 2, "working_days")
    assert after == wd.Computed(end_of_day(date(2027, 1, 9)), provisional=False)


def test_directory_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "from-env"
    folder.mkdir()
    write_2027(folder)
    monkeypatch.setenv("COMPLAINTS_HOLIDAYS_DIR", str(folder))
    set_holidays_dir(None)
    assert has_official_data(2027) is True
    assert is_working_day(date(2027, 1, 1)) is False


def test_toml_overrides_chinese_calendar(isolated_holidays_dir: Path) -> None:
    (isolated_holidays_dir / "2026.toml").write_text(
        "holidays = [2026-03-02]\nworkdays = []\n", encoding="utf-8"
    )
    reload_calendar()
    assert is_working_day(date(2026, 3, 2)) is False  # Monday made a holiday
    assert is_working_day(date(2026, 10, 1)) is True  # the package's holiday no longer applies


def test_next_years_file_may_adjust_december(isolated_holidays_dir: Path) -> None:
    (isolated_holidays_dir / "2027.toml").write_text(
        "holidays = [2026-12-31, 2027-01-01]\nworkdays = [2026-12-26]\n", encoding="utf-8"
    )
    assert is_working_day(date(2026, 12, 26)) is True  # Saturday
    assert is_working_day(date(2026, 12, 31)) is False  # Thursday
    assert has_official_data(2026) is True


@pytest.mark.parametrize(
    "text",
    [
        "holiday = [2027-01-01]\nworkdays = []\n",  # typo in a key
        'holidays = ["2027-01-01"]\nworkdays = []\n',  # string, not a date
        "holidays = [2027-01-01]\n",  # workdays missing
        "holidays = [2027-01-01]\nworkdays = [2027-01-01]\n",  # both
        "holidays = [2026-10-01]\nworkdays = []\n",  # wrong year
        "holidays = [2027-01-01\n",  # not TOML
    ],
)
def test_invalid_file_is_ignored_and_logged(
    text: str, isolated_holidays_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (isolated_holidays_dir / "2027.toml").write_text(text, encoding="utf-8")
    assert has_official_data(2027) is False
    assert is_working_day(date(2027, 1, 9)) is False  # fallback: Saturday
    assert is_working_day(date(2027, 1, 1)) is False  # fallback: 元旦
    assert any(r.levelno == logging.ERROR and "2027.toml" in r.message for r in caplog.records)


def test_sample_copied_unchanged_is_rejected(isolated_holidays_dir: Path) -> None:
    shutil.copy(SAMPLE, isolated_holidays_dir / "2027.toml")
    assert has_official_data(2027) is False


def test_sample_matches_the_2026_schedule(isolated_holidays_dir: Path) -> None:
    shutil.copy(SAMPLE, isolated_holidays_dir / "2026.toml")
    for day in span("2026-01-01", "2026-12-31"):
        assert is_working_day(day) is chinese_calendar.is_workday(day), day


def test_shipped_files_are_valid() -> None:
    set_holidays_dir(SAMPLE.parent)
    for path in SAMPLE.parent.glob("*.toml"):
        assert has_official_data(int(path.stem)) is True, path


# --- operator warning ---------------------------------------------------------------------------


def test_missing_years() -> None:
    assert missing_years(date(2026, 10, 31)) == []  # 2027 missing, but not yet November
    assert missing_years(date(2026, 11, 1)) == [2027]
    assert missing_years(date(2026, 12, 1)) == [2027]
    assert missing_years(date(2027, 6, 1)) == [2027]
    assert missing_years(date(2027, 12, 31)) == [2027, 2028]
    assert missing_years(date(2025, 12, 1)) == []  # 2026 is covered


def test_missing_years_after_adding_the_file(isolated_holidays_dir: Path) -> None:
    write_2027(isolated_holidays_dir)
    assert missing_years(date(2026, 12, 1)) == []
