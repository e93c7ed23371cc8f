"""The supervision board (`GET /v1/supervision`, `api.supervision.service.load_board`): which
cases, why supervised, warning level, working days overdue, supervision deadline, order."""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx
import pytest_asyncio

from activities.read_model import project
from api.main import create_app
from api.supervision.schemas import Level, Reason
from api.supervision.service import load_board
from config import Settings
from domain.labels import both
from domain.models import (
    Category,
    Channel,
    DeadlineKind,
    DeadlineState,
    Escalation,
    EscalationSource,
    Grade,
    Outcome,
    ProjectInput,
    Status,
)
from tests.dataset import HANDLER, HOUSING, TAX, bj, dl, eod, state

K = DeadlineKind
#: Monday 16 March 2026, 10:00 Beijing: yellow from the reminder instant (R-30, issue 15): the
#: reminders sent by now are those of clocks due by the end of Mon 16 March (reminded at the end
#: of Fri 13 March).
NOW = bj(2026, 3, 16, 10)


def _case(tag: str, name: str, **kw: object) -> ProjectInput:
    s = state(f"SB-{tag}-{name}", received=bj(2026, 1, 5, 9), category=Category.ATTITUDE,
              channel=Channel.HOTLINE, version=1, accepted=bj(2026, 1, 6, 9), **kw)  # type: ignore[arg-type]
    return ProjectInput(state=s)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def board_cases(pg_pool: asyncpg.Pool) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    start = bj(2026, 1, 6, 9)
    leader = Escalation(source=EscalationSource.LEADER, reason="领导批示：限期办结",
                        at=bj(2026, 2, 20, 9), by=HANDLER)
    cases = {
        # Handling clock due Fri 13 Feb, just before the Spring Festival: red, overdue and
        # marked by a leader; the supervisor must answer by 20 March.
        "B1": _case(tag, "B1", status=Status.REFERRED, unit=TAX, overdue=True, supervised=True,
                    escalations=[Escalation(source=EscalationSource.OVERDUE,
                                            reason="办理 handling overdue", at=eod(2026, 2, 13)),
                                 leader],
                    deadlines=[dl(K.HANDLING, start, eod(2026, 2, 13), overdue=True),
                               dl(K.SUPERVISION, eod(2026, 2, 13), eod(2026, 3, 20))]),
        # Major, nothing due soon: on the board, no warning.
        "B2": _case(tag, "B2", status=Status.INVESTIGATING, supervised=True,
                    deadlines=[dl(K.HANDLING, start, eod(2026, 3, 25))]),
        # Not supervised, due today Mon 16 March, reminded at the end of Fri 13 March: yellow.
        "B3": _case(tag, "B3", status=Status.REFERRED, unit=HOUSING,
                    deadlines=[dl(K.HANDLING, start, eod(2026, 3, 16))]),
        # Not supervised, due Wed 18 March: not on the board.
        "B4": _case(tag, "B4", status=Status.REFERRED, unit=TAX,
                    deadlines=[dl(K.HANDLING, start, eod(2026, 3, 18))]),
        # Archived: never on the board.
        "B5": _case(tag, "B5", status=Status.ARCHIVED, outcome=Outcome.CONCLUDED, unit=TAX,
                    supervised=False, deadlines=[dl(K.HANDLING, start, eod(2026, 2, 2),
                                                    state=DeadlineState.CANCELLED)]),
        # An appeal under review, supervisor's answer due Thu 19 March.
        "B6": _case(tag, "B6", status=Status.APPEALED, unit=HOUSING, supervised=True,
                    escalations=[Escalation(source=EscalationSource.APPEAL, reason="申诉",
                                            at=bj(2026, 3, 12, 9), by=HANDLER)],
                    deadlines=[dl(K.SUPERVISION, bj(2026, 3, 12, 9), eod(2026, 3, 19))]),
        # A resolved hot-issue escalation and an open media one: only media is a reason.
        "B7": _case(tag, "B7", status=Status.INVESTIGATING, supervised=True,
                    escalations=[Escalation(source=EscalationSource.HOT_ISSUE, reason="热点",
                                            at=bj(2026, 2, 2, 9), resolved_at=bj(2026, 2, 5, 9)),
                                 Escalation(source=EscalationSource.MEDIA, reason="媒体曝光",
                                            at=bj(2026, 3, 2, 9))],
                    deadlines=[dl(K.HANDLING, start, eod(2026, 4, 1))]),
    }
    cases["B2"].state.grade = Grade.MAJOR
    async with pg_pool.acquire() as conn:
        for c in cases.values():
            await project(conn, c)
    return {name: c.state.number for name, c in cases.items()}


async def test_board_lists_supervised_overdue_and_due_soon_cases_most_urgent_first(
    pg_pool: asyncpg.Pool, board_cases: dict[str, str]
) -> None:
    board = await load_board(pg_pool, center="default", unit=None, now=NOW)
    names = {v: k for k, v in board_cases.items()}
    assert [names[i.number] for i in board.data] == ["B1", "B3", "B6", "B2", "B7"]
    assert (board.count, board.counts.model_dump()) == (
        5, {"total": 5, "red": 1, "yellow": 1, "supervised": 4})
    by = {names[i.number]: i for i in board.data}
    assert [by[n].level for n in ("B1", "B3", "B6", "B2", "B7")] == [
        Level.RED, Level.YELLOW, Level.NONE, Level.NONE, Level.NONE]

    b1 = by["B1"]
    assert [r.code for r in b1.reasons] == [Reason.OVERDUE, Reason.LEADER]
    assert [both(r.code) for r in b1.reasons] == ["超期 overdue", "领导批示 marked by a leader"]
    assert "label" not in b1.reasons[0].model_dump() and "status_label" not in b1.model_dump()
    assert b1.reasons[1].note == "领导批示：限期办结"
    assert b1.reasons[0].since == eod(2026, 2, 13)
    # Working days after Fri 13 Feb up to Mon 16 Mar: Sat 14 Feb (调休), 24–27 Feb, Sat 28 Feb
    # (调休), 2–6 Mar, 9–13 Mar, 16 Mar = 1 + 4 + 1 + 5 + 5 + 1 = 17 (Spring Festival 15–23 off).
    assert b1.overdue_working_days == 17
    assert [(o.kind.value, o.working_days) for o in b1.overdue] == [("handling", 17)]
    assert b1.supervision_due == eod(2026, 3, 20)
    assert b1.supervision_due.utcoffset().total_seconds() == 8 * 3600

    assert by["B3"].reasons == [] and not by["B3"].supervised
    assert by["B3"].overdue_working_days == 0 and by["B3"].supervision_due is None
    assert [r.code for r in by["B2"].reasons] == [Reason.MAJOR]
    assert [r.code for r in by["B6"].reasons] == [Reason.APPEAL]
    assert by["B6"].supervision_due == eod(2026, 3, 19)
    assert [r.code for r in by["B7"].reasons] == [Reason.MEDIA]


async def test_board_filters_by_unit_level_reason_and_page(
    pg_pool: asyncpg.Pool, board_cases: dict[str, str]
) -> None:
    names = {v: k for k, v in board_cases.items()}

    async def listed(**kw: object) -> list[str]:
        board = await load_board(pg_pool, center="default", now=NOW, **kw)  # type: ignore[arg-type]
        return [names[i.number] for i in board.data]

    assert await listed(unit=TAX) == ["B1"]
    assert await listed(unit=HOUSING) == ["B3", "B6"]
    assert await listed(unit="", level=None) == ["B2", "B7"]  # the office's own cases
    assert await listed(unit=None, level=Level.YELLOW) == ["B3"]
    assert await listed(unit=None, level=Level.NONE) == ["B6", "B2", "B7"]
    assert await listed(unit=None, reason=Reason.MEDIA) == ["B7"]
    assert await listed(unit=None, reason=Reason.MAJOR) == ["B2"]
    assert await listed(unit=None, reason=Reason.HOT_ISSUE) == []  # resolved
    assert await listed(unit=None, page=2, page_size=2) == ["B6", "B2"]
    # Yellow from the reminder instant (issue 15): B4, due Wed 18 March, is reminded at the end
    # of Tue 17 March — not on the board in the small hours of Tue 17 (before: yellow at once),
    # nor a second before its reminder; yellow at the reminder instant.
    for early in (bj(2026, 3, 17, 0, 57), bj(2026, 3, 17, 23, 59, 58)):
        board = await load_board(pg_pool, center="default", unit=None, now=early)
        assert "B4" not in [names[i.number] for i in board.data], early
    at_reminder = await load_board(pg_pool, center="default", unit=None,
                                   now=bj(2026, 3, 17, 23, 59, 59))
    assert [names[i.number] for i in at_reminder.data if i.level == Level.YELLOW] == ["B4"]
    # B3, due Mon 16 March and not marked overdue yet, is red once its day has ended.
    assert [names[i.number] for i in at_reminder.data if i.level == Level.RED] == ["B1", "B3"]
    assert (await load_board(pg_pool, center="elsewhere", unit=None, now=NOW)).count == 0


async def test_board_route_roles_and_unit_scope(
    pg_pool: asyncpg.Pool, board_cases: dict[str, str]
) -> None:
    app = create_app(Settings(), pool=pg_pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as http:
        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        r = await http.get("/v1/supervision", headers=auth("dev-supervisor"))
        assert r.status_code == 200, r.text
        body = r.json()
        numbers = {i["number"] for i in body["data"]}
        assert board_cases["B1"] in numbers and board_cases["B5"] not in numbers
        b1 = next(i for i in body["data"] if i["number"] == board_cases["B1"])
        assert b1["level"] == "red" and b1["overdue_working_days"] >= 17
        assert b1["supervision_due"] == "2026-03-20T23:59:59+08:00"
        assert [x["code"] for x in b1["reasons"]] == ["overdue", "leader"]
        assert "complainant_ref" not in b1 and "facts" not in b1

        # Today (long after March) B4's clock is past due: red even before the workflow's mark.
        b4 = next(i for i in body["data"] if i["number"] == board_cases["B4"])
        assert b4["level"] == "red" and [x["code"] for x in b4["reasons"]] == ["overdue"]
        r = await http.get("/v1/supervision", headers=auth("dev-unit-tax"))
        assert {i["number"] for i in r.json()["data"]} == {board_cases["B1"], board_cases["B4"]}
        r = await http.get("/v1/supervision", params={"unit": HOUSING},
                           headers=auth("dev-unit-tax"))
        assert r.status_code == 403
        assert (await http.get("/v1/supervision", headers=auth("dev-intake"))).status_code == 403
        assert (await http.get("/v1/supervision")).status_code == 401
        r = await http.get("/v1/supervision", params={"level": "purple"},
                           headers=auth("dev-leader"))
        assert r.status_code == 422


async def test_board_warns_when_a_center_falls_behind_twelve_rounds_a_year(
    pg_pool: asyncpg.Pool,
) -> None:
    """Issue 15 (R-40): the board says how many rounds the center drew this year against one for
    every month ended, and how many units no round drew yet (全覆盖)."""
    center = f"pace-{uuid.uuid4().hex[:6]}"
    await pg_pool.executemany(
        "INSERT INTO unit_register (center, code, name, inspect) VALUES ($1, $2, $3, $4)",
        [(center, f"pu-{i}", f"单位{i}", i != 3) for i in range(4)])

    async def round_in(month: int, drawn: list[str]) -> None:
        await pg_pool.execute(
            "INSERT INTO inspection_rounds (round_id, center, started_at, closes_at, seed, "
            "proportion_percent, min_units, register_units, mandatory, drawn) "
            "VALUES ($1, $2, $3::timestamptz, $3::timestamptz + interval '25 days', 1, 30, 1, '[]', "
            "'[]', $4::text::jsonb)",
            f"{center}-{month}", center, bj(2026, month, 10, 10), json.dumps(drawn))

    await round_in(2, ["pu-0", "pu-1"])
    pace = (await load_board(pg_pool, center=center, unit=None, now=NOW)).inspections
    assert pace is not None
    assert (pace.year, pace.rounds, pace.expected, pace.behind) == (2026, 1, 2, True)
    assert (pace.units, pace.units_not_inspected) == (4, 2)
    assert pace.warning and "R-40" in pace.warning
    await round_in(1, ["pu-2"])
    pace = (await load_board(pg_pool, center=center, unit=None, now=NOW)).inspections
    assert pace is not None and (pace.rounds, pace.behind, pace.warning) == (2, False, None)
    assert pace.units_not_inspected == 1  # pu-3, not subject to inspection, counts too
    # Rounds of another year do not count; a center with none at all in December is behind.
    late = await load_board(pg_pool, center=center, unit=None, now=bj(2027, 12, 2, 10))
    assert late.inspections is not None
    assert (late.inspections.rounds, late.inspections.expected, late.inspections.behind) == (
        0, 11, True)
