"""Issue 15 (R-40), the draw as made now (pure): the random quota comes in addition to the units
with unresolved findings, and the units not inspected yet this year are drawn first, so twelve
rounds at 10 % cover a register of any size in a year (全覆盖)."""

from __future__ import annotations

from domain.inspections import draw_round, draw_units

UNITS = [f"unit-{i:02d}" for i in range(10)]


def test_quota_in_addition_to_the_units_with_unresolved_findings() -> None:
    problems = ["unit-03", "unit-08"]
    for seed in range(100):
        d = draw_round(UNITS, problems, proportion_percent=10, min_units=1, seed=seed)
        assert d.mandatory == problems and d.random_quota == 1 and len(d.random) == 1
        assert d.drawn == sorted(problems + d.random) and d.size == 3
    # Before: the two problem units used up the quota, nothing was drawn at random.
    assert draw_units(UNITS, problems, proportion_percent=10, min_units=1, seed=1).drawn == problems


def test_mandatory_units_outside_the_register_are_drawn_and_the_quota_is_capped() -> None:
    d = draw_round(UNITS[:3], ["unit-00", "off-register"], proportion_percent=100, min_units=1,
                   seed=5)
    assert d.drawn == ["off-register", "unit-00", "unit-01", "unit-02"]
    assert d.random == ["unit-01", "unit-02"]


def test_twelve_monthly_rounds_cover_the_register() -> None:
    register = [f"u-{i:03d}" for i in range(57)]
    for seed0 in range(20):
        inspected: set[str] = set()
        for month in range(12):
            d = draw_round(register, [], proportion_percent=9, min_units=1, seed=seed0 * 100 + month,
                           uncovered=sorted(set(register) - inspected))
            assert set(d.random) <= set(register) and len(d.random) == 6
            inspected |= set(d.drawn)
        assert inspected == set(register)
    # Without the preference a year at the same quota leaves units out.
    inspected = set()
    for month in range(12):
        inspected |= set(draw_round(register, [], proportion_percent=9, min_units=1,
                                    seed=month).drawn)
    assert inspected != set(register)


def test_the_draw_re_runs_from_the_recorded_values() -> None:
    a = draw_round(UNITS, ["unit-01"], proportion_percent=30, min_units=1, seed=42,
                   uncovered=UNITS[4:])
    b = draw_round(list(reversed(UNITS)), ["unit-01"], proportion_percent=30, min_units=1, seed=42,
                   uncovered=list(reversed(UNITS[4:])))
    assert a == b and set(a.random) <= set(UNITS[4:])


def test_the_unannounced_instant_is_a_working_day_of_the_month_in_office_hours() -> None:
    from datetime import UTC, date, datetime

    from domain.inspections import unannounced_instant
    from domain.workdays import BEIJING, is_working_day

    month_of = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 1 Oct 09:00 Beijing: National Day
    days = set()
    for seed in range(300):
        at = unannounced_instant(month_of, seed, is_working_day).astimezone(BEIJING)
        assert (at.year, at.month) == (2026, 10) and is_working_day(at.date())
        assert 9 <= at.hour < 17 and at >= month_of
        assert at.date() >= date(2026, 10, 8)  # never in the National Day holiday
        days.add(at.date())
        assert unannounced_instant(month_of, seed, is_working_day) == at  # seeded
    assert len(days) >= 15  # not the 1st at 09:00 every month
    # Planned late on the month's last working day: at once.
    late = datetime(2026, 10, 30, 10, 0, tzinfo=UTC)  # Fri 30 Oct 18:00 Beijing
    assert unannounced_instant(late, 1, is_working_day) == late
