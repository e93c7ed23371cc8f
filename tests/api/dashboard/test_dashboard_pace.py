"""Issue 15 (R-40): the dashboard's supervision section says how the center's inspection rounds
keep pace with 12 a year, and warns when it falls behind (the board's `inspections`)."""

from __future__ import annotations

from datetime import datetime

from api.dashboard.page import _inspection_pace
from api.supervision.schemas import Board, BoardCounts, InspectionPace
from domain.workdays import BEIJING


def board(pace: InspectionPace | None) -> Board:
    return Board(data=[], count=0, counts=BoardCounts(total=0, red=0, yellow=0, supervised=0),
                 page=1, page_size=10, as_of=datetime(2026, 12, 2, 9, tzinfo=BEIJING),
                 inspections=pace)


def test_behind_is_a_red_warning_on_time_a_note_a_unit_sees_nothing() -> None:
    behind = InspectionPace(year=2026, rounds=3, expected=11, behind=True, units=40,
                            units_not_inspected=25, warning="inspection rounds behind <R-40>")
    html = _inspection_pace(board(behind))
    assert 'class="red"' in html and "已抽查 3 轮" in html and "应 11 轮" in html
    assert "25/40" in html and "&lt;R-40&gt;" in html  # escaped
    fine = InspectionPace(year=2026, rounds=11, expected=11, behind=False, units=40,
                          units_not_inspected=0)
    assert 'class="note"' in _inspection_pace(board(fine)) and "⚠" not in _inspection_pace(
        board(fine))
    assert _inspection_pace(board(None)) == ""
