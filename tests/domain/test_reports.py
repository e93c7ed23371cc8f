"""The periods a center reports on (domain/reports.py): parsing, the previous period, and what
the monthly run on a given day reports."""

from __future__ import annotations

from datetime import date

import pytest

from domain.reports import PeriodKind, parse_period, periods_ended_before


@pytest.mark.parametrize(("text", "kind", "first", "last", "label"), [
    ("2026-02", PeriodKind.MONTH, date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
    ("2024-02", PeriodKind.MONTH, date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
    ("2026-12", PeriodKind.MONTH, date(2026, 12, 1), date(2026, 12, 31), "2026-12"),
    ("2026-Q1", PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31), "2026-Q1"),
    ("2026-q4", PeriodKind.QUARTER, date(2026, 10, 1), date(2026, 12, 31), "2026-Q4"),
    ("2026", PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31), "2026"),
])
def test_parse_period(text: str, kind: PeriodKind, first: date, last: date, label: str) -> None:
    p = parse_period(text)
    assert (p.kind, p.first, p.last, p.label) == (kind, first, last, label)


@pytest.mark.parametrize(("text", "message"), [
    ("2026-13", "the month must be 01..12"), ("2026-00", "the month must be 01..12"),
    ("2026-Q0", "a period is a month"), ("2026-W01", "a period is a month"),
    ("1999-12", "the year must lie between 2000 and 2099"), ("", "a period is a month"),
    ("2026-1", "a period is a month"), ("２０２６", "a period is a month"),
])
def test_bad_periods_say_what_a_period_is(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(text)


@pytest.mark.parametrize(("text", "previous"), [
    ("2026-01", "2025-12"), ("2026-03", "2026-02"), ("2026-Q1", "2025-Q4"),
    ("2026-Q3", "2026-Q2"), ("2026", "2025"),
])
def test_previous_period(text: str, previous: str) -> None:
    assert parse_period(text).previous().label == previous


@pytest.mark.parametrize(("day", "labels"), [
    (date(2026, 12, 1), ["2026-11"]),
    (date(2026, 4, 1), ["2026-03", "2026-Q1"]),
    (date(2026, 4, 7), ["2026-03", "2026-Q1"]),  # a run caught up within the month
    (date(2027, 1, 1), ["2026-12", "2026-Q4", "2026"]),
    (date(2026, 2, 1), ["2026-01"]),
])
def test_the_monthly_run_reports_the_month_and_the_quarter_and_year_it_ends(
    day: date, labels: list[str],
) -> None:
    assert [p.label for p in periods_ended_before(day)] == labels
