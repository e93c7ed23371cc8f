"""待办 and 整改落实 (R-37): the unit complained about finds the rectification it owes in its work
queue, the handler finds the report to review in theirs, and neither once it is accepted."""

from __future__ import annotations

from datetime import UTC, datetime

from api.auth import User
from api.web import queue
from domain.models import Role
from tests.stack import Stack, eventually

TAX = User(id="tax-01", role=Role.UNIT, unit="tax-bureau")
HOUSING = User(id="housing-01", role=Role.UNIT, unit="housing-bureau")
HANDLER = User(id="handler-01", role=Role.HANDLER)


async def tasks(stack: Stack, user: User, number: str) -> list[str]:
    rows, _ = await queue.load_queue(stack.pool, user, queue.QueueFilter(q=number),
                                     now=datetime.now(UTC))
    return [r["task"] for r in rows if r["number"] == number]


async def test_the_rectification_is_in_the_unit_s_queue_then_the_handler_s(stack: Stack) -> None:
    n = (await stack.register())["number"]  # against tax-bureau, handled by the office
    await stack.ok(n, "accept", "handler", route="self")
    assert await tasks(stack, TAX, n) == []
    await stack.ok(n, "report-result", "handler", finding="substantiated",
                   measures=["oral_warning"], report="经查属实")
    assert await eventually(lambda: tasks(stack, TAX, n), lambda t: t == ["待整改"]) == ["待整改"]
    assert await tasks(stack, HOUSING, n) == []  # another unit owes nothing
    assert await tasks(stack, HANDLER, n) == ["待反馈结果"]

    await stack.ok(n, "report-rectification", "tax", measures=["oral_warning"], report="已口头警告")
    assert await eventually(lambda: tasks(stack, HANDLER, n),
                            lambda t: t == ["待整改验收"]) == ["待整改验收"]
    assert await tasks(stack, TAX, n) == []  # reported: nothing left for the unit

    await stack.ok(n, "review-rectification", "handler", accepted=False, reason="未附书面材料")
    assert await eventually(lambda: tasks(stack, TAX, n), lambda t: t == ["待整改"]) == ["待整改"]

    await stack.ok(n, "report-rectification", "tax", measures=["oral_warning"], report="已补书面材料")
    await stack.ok(n, "review-rectification", "handler", accepted=True)
    assert await eventually(lambda: tasks(stack, HANDLER, n),
                            lambda t: t == ["待反馈结果"]) == ["待反馈结果"]
    assert await tasks(stack, TAX, n) == []
