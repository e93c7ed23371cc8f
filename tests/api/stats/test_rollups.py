"""The rollups of migration 0017 give exactly the raw figures (issue 15), on random data.

Random cases of two centers — several units, categories, channels and months, written through
the real projection (`activities.read_model.project`) in two or three versions each (referred,
re-referred to another unit, decided, rectified), with clocks met, missed, open, cancelled and
due today, overdue events on several days and units, extensions approved and refused, replies
and callbacks — then every figure of `compute_stats` (the rollups) is compared with
`raw_stats` (tests/api/stats/raw_figures.py, the queries before the rollups) for many periods,
every grouping and unit filters; and the rollups kept incrementally equal a rebuild from scratch.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest_asyncio

from activities.read_model import project
from api.stats.schemas import GroupBy
from api.stats.service import Period, compute_stats, soon_instant, spans
from api.supervision.service import load_board
from domain.models import (
    ActionRecord,
    CaseState,
    Category,
    Channel,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Finding,
    Measure,
    Outcome,
    ProjectInput,
    Route,
    Status,
)
from tests.api.stats.raw_figures import BOARD, raw_open, raw_stats
from tests.dataset import bj, dl, ev, state

UNITS = [None, "tax-bureau", "housing-bureau", "edu-bureau"]
CATEGORIES = [Category.ATTITUDE, Category.INEFFICIENCY, Category.BUCK_PASSING]
CHANNELS = [Channel.HOTLINE, Channel.WEB, Channel.LETTER]
KINDS = [DeadlineKind.ACCEPTANCE, DeadlineKind.OPINION, DeadlineKind.HANDLING,
         DeadlineKind.SUPERVISION, DeadlineKind.OVERALL, DeadlineKind.DOCUMENT_REPLY,
         DeadlineKind.CALLBACK]
#: "Now" of the comparison: mid-afternoon of a day with clocks due earlier and later that day.
NOW = bj(2026, 6, 15, 15)
CASES = 400

ROLLUPS = ("figure_cases", "figure_clocks", "figure_days", "figure_repeats")


def instant(rng: random.Random, start: datetime, days: int) -> datetime:
    """A random instant within `days` days after `start`, to the minute."""
    return start + timedelta(minutes=rng.randrange(days * 24 * 60))


def due_instant(rng: random.Random, start: datetime, days: int) -> datetime:
    """Mostly the end of a Beijing day (23:59:59, as deadlines are), sometimes an hour."""
    d = (start + timedelta(days=rng.randint(0, days))).date()
    if rng.random() < 0.8:
        return bj(d.year, d.month, d.day, 23, 59, 59)
    return bj(d.year, d.month, d.day, rng.randrange(24))


def clock(rng: random.Random, kind: DeadlineKind, start: datetime, final: bool) -> Deadline:
    due = due_instant(rng, start, 12)
    if rng.random() < 0.1:  # due today: before or after now
        due = rng.choice([bj(2026, 6, 15, 10), bj(2026, 6, 15, 23, 59, 59), NOW])
        start = min(start, due - timedelta(days=3))
    roll = rng.random()
    if not final or roll < 0.3:
        return dl(kind, start, due, overdue=due < NOW and rng.random() < 0.5)
    if roll < 0.75:
        met = start + (due - start) * rng.uniform(0.2, 1.6)
        if rng.random() < 0.1:
            met = due + timedelta(milliseconds=500)  # met in the last second of the due day
        return dl(kind, start, due, met=met, overdue=met > due and rng.random() < 0.7)
    st = rng.choice([DeadlineState.CANCELLED, DeadlineState.EXPIRED])
    return dl(kind, start, due, state=st, overdue=rng.random() < 0.3)


def events(rng: random.Random, clocks: list[Deadline], first_seq: int) -> list[ActionRecord]:
    out: list[ActionRecord] = []
    for _ in range(rng.randrange(6)):
        c = rng.choice(clocks)
        roll = rng.random()
        if roll < 0.35:
            e = ev(0, "overdue", c.due_at, deadline=c.kind.value, escalated=True)
        elif roll < 0.55:
            e = ev(0, "decide-extension", instant(rng, c.start, 10),
                   approved=rng.random() < 0.7, days=rng.choice([3, 5, 10, "x"]))
        elif roll < 0.75:
            e = ev(0, "record-investigation", instant(rng, c.start, 10),
                   kind=rng.choice(["explanation_received", "documents_requested"]),
                   answered_late=rng.random() < 0.4)
        else:
            e = ev(0, "record-satisfaction", instant(rng, c.start, 10),
                   rating=rng.choice(["satisfied", "basically_satisfied", "dissatisfied",
                                      "no_response"]))
        out.append(e)
    out.sort(key=lambda e: e.at)
    return [e.model_copy(update={"seq": first_seq + i}) for i, e in enumerate(out)]


def versions(rng: random.Random, number: str) -> list[tuple[Any, list[ActionRecord]]]:
    """The snapshots of one random case, oldest first, each with its new events."""
    center = "default" if rng.random() < 0.8 else "north"
    received = instant(rng, bj(2026, 1, 1), 190)
    common: dict[str, Any] = dict(received=received, category=rng.choice(CATEGORIES),
                                  channel=rng.choice(CHANNELS), center=center)
    accepted = received + timedelta(hours=rng.randrange(1, 72)) if rng.random() < 0.85 else None
    start = accepted or received
    early_clocks = [clock(rng, rng.choice(KINDS), start, False) for _ in range(rng.randint(1, 3))]
    out: list[tuple[Any, list[ActionRecord]]] = []
    units = [rng.choice(UNITS) for _ in range(2)]
    out.append((state(number, status=Status.REGISTERED if accepted is None else Status.REFERRED,
                      version=1, deadlines=early_clocks, unit=units[0], accepted=accepted,
                      route=Route.REFERRAL if accepted else None, **common),
                events(rng, early_clocks, 1)))
    # The same clocks settled in place, and later clocks (the list only grows).
    final_clocks = [clock(rng, c.kind, c.start, True) if rng.random() < 0.7 else c
                    for c in early_clocks]
    final_clocks += [clock(rng, rng.choice(KINDS), start + timedelta(days=rng.randrange(20)), True)
                     for _ in range(rng.randrange(4))]
    decided = start + timedelta(hours=rng.randrange(24, 24 * 45)) if (
        accepted and rng.random() < 0.6) else None
    decision: dict[str, Any] = {}
    if decided is not None:
        finding = rng.choice(list(Finding))
        decision = dict(decided=decided, finding=finding,
                        measures=[Measure.NONE] if rng.random() < 0.3
                        else [Measure.WRITTEN_WARNING, Measure.ORDER_TO_CORRECT][:rng.randint(1, 2)],
                        status=Status.ARCHIVED, outcome=Outcome.CONCLUDED)
    out.append((state(number, version=2, deadlines=final_clocks, unit=units[1],
                      accepted=accepted, route=Route.REFERRAL if accepted else None,
                      **{"status": Status.REFERRED, **decision}, **common,
                      overdue=rng.random() < 0.3, supervised=rng.random() < 0.25),
                events(rng, final_clocks, 100)))
    return out


async def load_random(pool: asyncpg.Pool, seed: int) -> list[str]:
    rng = random.Random(seed)
    numbers = []
    async with pool.acquire() as conn:
        for i in range(CASES):
            number = f"RR-{seed}-{i:04d}"
            ref = f"cref-{uuid.uuid4().hex}"
            for s, evs in versions(rng, number):
                s.complainant_ref = ref
                await project(conn, ProjectInput(state=s, events=evs))
            numbers.append(number)
        # Later changes: a case re-referred to another unit (its events follow the unit), a
        # rectification accepted, a version that changes nothing.
        for number in rng.sample(numbers, 60):
            row = await conn.fetchrow("SELECT state FROM complaints WHERE number = $1", number)
            st = row["state"]
            st["version"] += 1
            st["handling_unit"] = rng.choice(UNITS)
            await project(conn, ProjectInput(state=CaseState.model_validate(st)))
        for number in rng.sample(numbers, 80):
            await conn.execute("UPDATE case_figures SET rectified = true WHERE number = $1",
                               number)
    return numbers


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def loaded(pg_pool: asyncpg.Pool) -> asyncpg.Pool:
    await pg_pool.execute("INSERT INTO unit_register (center, code, name) VALUES "
                          "('default', 'tax-bureau', '税务局'), ('default', 'idle-bureau', '某局')"
                          " ON CONFLICT DO NOTHING")
    await load_random(pg_pool, 15)
    return pg_pool


def periods() -> list[Period]:
    rng = random.Random(7)
    out = [Period(date(2026, 1, 1), date(2026, 12, 31)),   # the year, past today
           Period(date(2026, 1, 1), date(2026, 6, 15)),    # up to today
           Period(date(2026, 3, 1), date(2026, 3, 31)),    # one whole month
           Period(date(2026, 6, 15), date(2026, 6, 15)),   # today only
           Period(date(2026, 2, 10), date(2026, 5, 20)),   # edges of days around months
           Period(date(2025, 12, 1), date(2026, 1, 31))]   # across the year
    for _ in range(2):
        first = date(2026, 1, 1) + timedelta(days=rng.randrange(200))
        out.append(Period(first, first + timedelta(days=rng.randrange(90))))
    return out


async def test_every_figure_equals_the_raw_computation(loaded: asyncpg.Pool) -> None:
    compared = 0
    for period in periods():
        for group_by in GroupBy:
            for center, unit in (("default", None), ("default", ""), ("default", "tax-bureau"),
                                 ("north", None), ("north", "housing-bureau")):
                got = await compute_stats(loaded, center=center, period=period,
                                          group_by=group_by, unit=unit, now=NOW)
                want = await raw_stats(loaded, center=center, period=period,
                                       group_by=group_by, unit=unit, now=NOW)
                assert got == want, (period, group_by, center, unit)
                compared += 1
    assert compared == 8 * 5 * 5
    # The data is not degenerate: every kind of figure is there to compare.
    t = (await raw_stats(loaded, center="default", period=Period(date(2026, 1, 1),
                         date(2026, 12, 31)), group_by=GroupBy.NONE, unit=None, now=NOW)).total
    assert min(t.registered, t.accepted, t.concluded, t.resolution.resolved,
               t.satisfaction.answered, t.overdue_cases, t.extended_cases,
               t.respondent_replies.late, t.respondent_replies.overdue,
               t.on_time.stages["supervision"].total) > 0
    assert t.overdue_deadlines > t.overdue_cases  # cases overdue on several days


async def test_today_clocks_count_once_past_their_end(loaded: asyncpg.Pool) -> None:
    """The clocks due today that are past their end but not marked are counted live: the same
    figure an hour later includes those due at 15:00 (NOW) — the rollups alone cannot know."""
    today = Period(date(2026, 6, 15), date(2026, 6, 15))
    for now in (NOW - timedelta(hours=6), NOW, NOW + timedelta(hours=1)):
        got = await compute_stats(loaded, center="default", period=today, now=now)
        want = await raw_stats(loaded, center="default", period=today, group_by=GroupBy.NONE,
                               unit=None, now=now)
        assert got == want
    before = await compute_stats(loaded, center="default", period=today, now=NOW - timedelta(
        hours=6))
    after = await compute_stats(loaded, center="default", period=today,
                                now=NOW + timedelta(hours=1))
    assert after.total.on_time.all.total > before.total.on_time.all.total


async def test_incremental_rollups_equal_a_rebuild(loaded: asyncpg.Pool) -> None:
    before = {t: sorted(map(tuple, await loaded.fetch(f"SELECT * FROM {t}"))) for t in ROLLUPS}
    assert all(before.values())
    async with loaded.acquire() as conn, conn.transaction():
        await conn.execute("SELECT figure_rebuild('all')")
        after = {t: sorted(map(tuple, await conn.fetch(f"SELECT * FROM {t}"))) for t in ROLLUPS}
    assert after == before
    pending = await loaded.fetchval(
        "SELECT (SELECT count(*) FROM figure_dirty) + (SELECT count(*) FROM figure_cases_pending)"
        " + (SELECT count(*) FROM figure_clocks_pending)"
        " + (SELECT count(*) FROM figure_days_pending)")
    assert pending == 0


async def test_a_deleted_case_leaves_the_rollups(loaded: asyncpg.Pool) -> None:
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    number = await loaded.fetchval(
        "SELECT number FROM case_figures WHERE center = 'north' ORDER BY number LIMIT 1")
    async with loaded.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM case_events WHERE number = $1", number)
        await conn.execute("DELETE FROM complaints WHERE number = $1", number)
    got = await compute_stats(loaded, center="north", period=year, group_by=GroupBy.UNIT, now=NOW)
    want = await raw_stats(loaded, center="north", period=year, group_by=GroupBy.UNIT, unit=None,
                           now=NOW)
    assert got == want
    assert await loaded.fetchval("SELECT count(*) FROM figure_repeats WHERE number = $1",
                                 number) == 0


def test_a_period_is_read_as_whole_past_months_and_edge_days() -> None:
    today = date(2026, 6, 15)
    empty = (date(9999, 12, 1), date(1, 1, 1))
    assert spans(Period(date(2026, 1, 1), date(2026, 12, 31)), today) == (
        date(2026, 1, 1), date(2026, 5, 1), date(2026, 1, 1), date(2025, 12, 31),
        date(2026, 6, 1), date(2026, 12, 31))
    assert spans(Period(date(2026, 2, 10), date(2026, 5, 20)), today) == (
        date(2026, 3, 1), date(2026, 4, 1), date(2026, 2, 10), date(2026, 2, 28),
        date(2026, 5, 1), date(2026, 5, 20))
    assert spans(Period(date(2026, 3, 5), date(2026, 3, 31)), today) == (
        *empty, date(2026, 3, 5), date(2026, 3, 31), *empty)
    assert spans(Period(date(2026, 6, 1), date(2026, 6, 30)), today) == (
        *empty, date(2026, 6, 1), date(2026, 6, 30), *empty)


#: Instants for the open cases: the comparison's now, a Saturday evening, the last second of a
#: day, a Monday morning after a weekend.
NOWS = [NOW, bj(2026, 6, 13, 20), bj(2026, 6, 15, 23, 59, 59) + timedelta(milliseconds=500),
        bj(2026, 6, 22, 8)]


async def test_open_cases_and_the_board_equal_the_raw_counts(loaded: asyncpg.Pool) -> None:
    compared = 0
    for now in NOWS:
        for center, unit in (("default", None), ("default", ""), ("default", "tax-bureau"),
                             ("north", None)):
            stats = await compute_stats(loaded, center=center, period=Period(
                date(2026, 6, 1), date(2026, 6, 30)), unit=unit, now=now)
            assert stats.open == await raw_open(loaded, center=center, unit=unit, now=now)
            raw = await loaded.fetch(BOARD, center, soon_instant(now), now, unit)
            board = await load_board(loaded, center=center, unit=unit, now=now, page_size=7)
            assert (board.count, board.counts.total, board.counts.red, board.counts.yellow,
                    board.counts.supervised) == (
                len(raw), len(raw), sum(r["red"] for r in raw),
                sum(bool(r["yellow"]) for r in raw), sum(r["supervised"] for r in raw))
            assert [i.number for i in board.data] == [r["number"] for r in raw[:7]]
            page3 = await load_board(loaded, center=center, unit=unit, now=now, page=3,
                                     page_size=7)
            assert [i.number for i in page3.data] == [r["number"] for r in raw[14:21]]
            compared += 1
    assert compared == 16
    # Not degenerate: every level and supervision is on the board.
    board = await load_board(loaded, center="default", unit=None, now=NOW)
    assert min(board.counts.red, board.counts.yellow, board.counts.supervised) > 0
    assert board.counts.total > board.counts.red + board.counts.yellow
