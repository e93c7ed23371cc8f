"""R-40 draw (pure): size by proportion, last round's units always in, reproducible by seed."""

from __future__ import annotations

import pytest

from domain.inspections import draw_size, draw_units

UNITS = [f"unit-{i:02d}" for i in range(10)]


@pytest.mark.parametrize(
    ("register", "percent", "min_units", "size"),
    [(10, 30, 1, 3), (10, 25, 1, 3), (10, 100, 1, 10), (7, 10, 1, 1), (7, 10, 0, 1),
     (3, 10, 2, 2), (0, 30, 1, 0), (1, 30, 5, 1), (100, 33, 1, 33), (100, 1, 1, 1)],
)
def test_size_is_the_proportion_rounded_up_within_bounds(
    register: int, percent: int, min_units: int, size: int
) -> None:
    assert draw_size(register, percent, min_units) == size


def test_previous_units_with_findings_are_always_drawn_and_the_size_is_right() -> None:
    previous = ["unit-07", "unit-02"]
    for seed in range(200):
        d = draw_units(UNITS, previous, proportion_percent=30, min_units=1, seed=seed)
        assert d.size == 3 and len(d.drawn) == 3 and len(set(d.drawn)) == 3
        assert {"unit-02", "unit-07"} <= set(d.drawn) <= set(UNITS)
        assert d.mandatory == ["unit-02", "unit-07"] and d.drawn == sorted(d.drawn)


def test_more_previous_units_than_the_proportion_are_all_drawn() -> None:
    previous = ["unit-01", "unit-03", "unit-05", "unit-08"]
    d = draw_units(UNITS, previous, proportion_percent=20, min_units=1, seed=7)
    assert d.size == 4 and d.drawn == previous


def test_previous_units_gone_from_the_register_are_noted_not_drawn() -> None:
    d = draw_units(UNITS, ["unit-04", "closed-unit"], proportion_percent=20, min_units=1,
                   seed=1)
    assert d.mandatory == ["unit-04"] and d.not_in_register == ["closed-unit"]
    assert "closed-unit" not in d.drawn and len(d.drawn) == 2 and "unit-04" in d.drawn


def test_the_draw_is_reproducible_from_its_seed_and_random_across_seeds() -> None:
    a = draw_units(UNITS, [], proportion_percent=30, min_units=1, seed=123456789)
    b = draw_units(list(reversed(UNITS)), [], proportion_percent=30, min_units=1, seed=123456789)
    assert a == b  # register order does not matter: an auditor gets the same draw
    seen = {tuple(draw_units(UNITS, [], proportion_percent=30, min_units=1, seed=s).drawn)
            for s in range(300)}
    assert len(seen) > 50  # 120 possible draws of 3 out of 10
    counts = {u: 0 for u in UNITS}
    for s in range(3000):
        for u in draw_units(UNITS, [], proportion_percent=30, min_units=1, seed=s).drawn:
            counts[u] += 1
    assert all(700 < c < 1100 for c in counts.values()), counts  # about 900 each
