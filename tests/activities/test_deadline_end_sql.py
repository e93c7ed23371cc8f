"""The 24:00 rule outside the workflow (issue 14): SQL `deadline_end` (migration 0007), the
read model's settled clocks, the figures (on time, open cases' level) and the supervision board.

A day deadline is stored as 23:59:59 Beijing; an action at 23:59:59.9 that day is on time, one
at 00:00:00 the next day is late — the same as `domain.workdays.is_late`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio

from activities.read_model import project
from api.stats.service import Period, compute_stats, open_cases
from api.supervision.schemas import Level
from api.supervision.service import board_item, load_board
from domain.models import Category, Channel, DeadlineKind, ProjectInput, Status
from domain.workdays import deadline_end, is_late
from tests.dataset import TAX, bj, dl, eod, state

K = DeadlineKind
DUE = eod(2026, 3, 13)  # Fri 13 March 2026, 23:59:59 Beijing
JUST_IN = bj(2026, 3, 13, 23, 59, 59) + timedelta(microseconds=900_000)
MIDNIGHT = bj(2026, 3, 14, 0, 0, 0)
OPEN_DUE = eod(2026, 3, 16)  # Mon 16 March
TAG = uuid.uuid4().hex[:6]
CENTER = f"edge-{TAG}"


@pytest.mark.parametrize(
    "due",
    [
        DUE,
        DUE + timedelta(microseconds=500_000),
        DUE.astimezone(UTC),
        bj(2026, 3, 13, 10, 30),
        bj(2026, 3, 13, 23, 59, 58),
        bj(2026, 3, 13, 23, 59),
        bj(2026, 3, 13, 0, 0),
        datetime(2026, 3, 13, 23, 59, 59, tzinfo=UTC),  # 07:59:59 Beijing
    ],
)
async def test_sql_deadline_end_is_the_python_one(pg_pool: asyncpg.Pool, due: datetime) -> None:
    got = await pg_pool.fetchval("SELECT deadline_end($1::timestamptz)", due)
    assert got == deadline_end(due)


def _case(name: str, deadlines: list, status: Status = Status.REFERRED) -> ProjectInput:
    s = state(f"DE-{TAG}-{name}", received=bj(2026, 3, 2, 9), category=Category.ATTITUDE,
              channel=Channel.HOTLINE, status=status, version=1, unit=TAX,
              accepted=bj(2026, 3, 3, 9), center=CENTER, deadlines=deadlines)
    return ProjectInput(state=s)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def edge_cases(pg_pool: asyncpg.Pool) -> None:
    start = bj(2026, 3, 6, 9)
    cases = [
        _case("IN", [dl(K.HANDLING, start, DUE, met=JUST_IN)]),  # met in the last 0.1 s
        _case("OUT", [dl(K.HANDLING, start, DUE, met=MIDNIGHT)]),  # met at 00:00 next day
        _case("OPEN", [dl(K.HANDLING, start, OPEN_DUE)]),  # still open, not marked overdue
    ]
    async with pg_pool.acquire() as conn:
        for c in cases:
            assert await project(conn, c)


async def test_read_model_settles_a_clock_met_in_the_last_second_as_on_time(
    pg_pool: asyncpg.Pool, edge_cases: None
) -> None:
    rows = {r["number"].rsplit("-", 1)[1]: r for r in await pg_pool.fetch(
        "SELECT number, settled_at, closed_at, due_at FROM case_deadlines WHERE center = $1",
        CENTER)}
    assert rows["IN"]["settled_at"] == JUST_IN  # on time: settles when met
    assert rows["OUT"]["settled_at"] == DUE  # late: settles when it fell due
    assert not is_late(JUST_IN, DUE) and is_late(MIDNIGHT, DUE)


async def test_figures_count_the_last_second_as_on_time(
    pg_pool: asyncpg.Pool, edge_cases: None
) -> None:
    period = Period(date(2026, 3, 1), date(2026, 3, 31))
    just_in = bj(2026, 3, 16, 23, 59, 59) + timedelta(microseconds=900_000)
    before = await compute_stats(pg_pool, center=CENTER, period=period, now=just_in)
    # IN on time, OUT late; OPEN due 16 March is not yet late at 23:59:59.9 that day.
    assert (before.total.on_time.stages["handling"].count,
            before.total.on_time.stages["handling"].total) == (1, 2)
    after = await compute_stats(pg_pool, center=CENTER, period=period, now=bj(2026, 3, 17))
    assert (after.total.on_time.stages["handling"].count,
            after.total.on_time.stages["handling"].total) == (1, 3)


async def test_open_cases_red_only_from_midnight(pg_pool: asyncpg.Pool, edge_cases: None) -> None:
    just_in = bj(2026, 3, 16, 23, 59, 59) + timedelta(microseconds=900_000)
    before = await open_cases(pg_pool, center=CENTER, unit=None, now=just_in)
    after = await open_cases(pg_pool, center=CENTER, unit=None, now=bj(2026, 3, 17))
    assert before.by_status["referred"]["red"] == 0
    assert after.by_status["referred"]["red"] == 1


async def test_board_red_only_from_midnight(pg_pool: asyncpg.Pool, edge_cases: None) -> None:
    just_in = bj(2026, 3, 16, 23, 59, 59) + timedelta(microseconds=900_000)
    before = await load_board(pg_pool, center=CENTER, unit=None, now=just_in)
    after = await load_board(pg_pool, center=CENTER, unit=None, now=bj(2026, 3, 17))
    item = {i.number.rsplit("-", 1)[1]: i for i in before.data}["OPEN"]
    assert item.level != Level.RED and before.counts.red == 0 and not item.overdue
    item = {i.number.rsplit("-", 1)[1]: i for i in after.data}["OPEN"]
    assert item.level == Level.RED and after.counts.red == 1
    assert [o.kind for o in item.overdue] == ["handling"]


def test_board_item_in_python_at_the_edge() -> None:
    row = {"number": "X", "status": "referred", "category": "attitude", "grade": "basic",
           "handling_unit": TAX, "respondent_unit": TAX, "summary": "", "next_due": OPEN_DUE,
           "supervision_due": None, "overdue": False, "supervised": False, "escalations": [],
           "deadlines": [{"kind": "handling", "state": "open", "due_at": OPEN_DUE.isoformat()}]}
    just_in = bj(2026, 3, 16, 23, 59, 59) + timedelta(microseconds=900_000)
    assert board_item(row, just_in).level != Level.RED
    assert board_item(row, bj(2026, 3, 17)).level == Level.RED
