"""`python -m activities.deadlines check` (R-43, issue 14): the first date without official
holiday data, open cases with provisional deadlines, the warning from 1 November."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from activities.deadlines import check, count_provisional
from activities.read_model import project
from config import ROOT
from domain import workdays
from domain.models import Category, Channel, DeadlineKind, DeadlineState, ProjectInput, Status
from tests.dataset import bj, dl, eod, state

K = DeadlineKind


@pytest.fixture
def no_holiday_files(tmp_path: Path):
    workdays.set_holidays_dir(tmp_path)
    yield tmp_path
    workdays.set_holidays_dir(None)


def test_first_date_and_november_warning(no_holiday_files: Path) -> None:
    lines, status = check(date(2026, 10, 31), (0, 0))
    assert lines[0].startswith("first date without official holiday data: 2027-01-01")
    assert not any("WARNING" in line for line in lines) and status == 0
    lines, status = check(date(2026, 11, 1), (3, 4))
    assert lines[0].startswith("first date without official holiday data: 2027-01-01")
    assert lines[1].startswith("WARNING: holiday data missing for 2027") and status == 1
    assert lines[2] == "open cases with provisional deadlines: 3 (4 deadlines)"
    lines, _ = check(date(2027, 3, 5), "refused")
    assert lines[0].startswith("first date without official holiday data: 2027-03-05")
    assert lines[-1] == "open cases with provisional deadlines: unknown, no database reachable (refused)"


def test_a_file_moves_the_first_date(no_holiday_files: Path) -> None:
    (no_holiday_files / "2027.toml").write_text(
        'source = "t"\nholidays = [2027-01-01]\nworkdays = []\n', encoding="utf-8")
    workdays.reload_calendar()
    lines, status = check(date(2026, 11, 20), (0, 0))
    assert lines[0].startswith("first date without official holiday data: 2028-01-01")
    assert status == 0


async def test_counts_open_provisional_deadlines(pg_pool: asyncpg.Pool) -> None:
    tag = uuid.uuid4().hex[:6]
    start = bj(2026, 12, 28, 9)
    prov = dl(K.HANDLING, start, eod(2027, 1, 5)).model_copy(update={"provisional": True})
    met = prov.model_copy(update={"state": DeadlineState.MET, "closed_at": bj(2026, 12, 30, 9)})
    over = dl(K.OVERALL, start, eod(2027, 1, 27)).model_copy(update={"provisional": True})
    plain = dl(K.ACCEPTANCE, start, eod(2026, 12, 31))

    def case(name: str, deadlines: list, status: Status = Status.REFERRED) -> ProjectInput:
        return ProjectInput(state=state(
            f"PC-{tag}-{name}", received=start, category=Category.ATTITUDE,
            channel=Channel.HOTLINE, status=status, version=1, deadlines=deadlines))

    async with pg_pool.acquire() as conn:
        before = await count_provisional(conn)
        for c in (case("A", [prov, over]), case("B", [met, plain]), case("C", [plain]),
                  case("D", [prov], Status.ARCHIVED)):
            assert await project(conn, c)
        after = await count_provisional(conn)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 2)  # case A, two deadlines


@pytest.mark.slow  # a subprocess or an embedded server
def test_cli_without_a_database(tmp_path: Path) -> None:
    env = {**os.environ, "COMPLAINTS_DATA_DIR": str(tmp_path), "COMPLAINTS_DATABASE_URL": ""}
    out = subprocess.run([sys.executable, "-m", "activities.deadlines", "check"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert "first date without official holiday data: " in out.stdout
    assert "no database reachable" in out.stdout
    assert out.returncode in (0, 1)
