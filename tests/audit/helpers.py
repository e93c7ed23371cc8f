"""Cases driven through the API for the audit tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.api.conftest import Stack, auth, eventually

REPORT = {
    "finding": "substantiated",
    "measures": ["written_warning"],
    "report": "经查属实，已书面警告",
    "remedy": "当场补办",
}


async def ok(stack: Stack, number: str, action: str, who: str, /, **body: Any) -> dict[str, Any]:
    """Run an action through the API and expect 200; the new case view."""
    r = await stack.act(number, action, who, **body)
    assert r.status_code == 200, f"{action}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


async def signal(stack: Stack, number: str, name: str, who: str, **body: Any) -> None:
    r = await stack.http.post(f"/v1/complaints/{number}/signals/{name}", json=body, headers=auth(who))
    assert r.status_code == 202, r.text


async def case_view(stack: Stack, number: str) -> dict[str, Any]:
    r = await stack.http.get(f"/v1/complaints/{number}", headers=auth("handler"))
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    return view


def due(view: dict[str, Any], kind: str) -> datetime:
    """The open deadline `kind` of a case view."""
    [d] = [d for d in view["deadlines"] if d["kind"] == kind and d["state"] == "open"]
    return datetime.fromisoformat(d["due_at"])


async def archive_row(stack: Stack, number: str) -> Any:
    """The archive row of `number`, once the workflow has archived it (at most 15 s)."""

    async def probe() -> Any:
        return await stack.pool.fetchrow("SELECT * FROM archives WHERE number = $1", number)

    row = await eventually(probe, lambda r: r is not None, timeout=15)
    assert row is not None, f"{number} was not archived"
    return row


async def rejected_and_archived(stack: Stack) -> dict[str, Any]:
    """A registered case the handler does not accept: archived at once, with its history."""
    case = await stack.register()
    n = case["number"]
    await ok(
        stack,
        n,
        "reject",
        "handler",
        reason="不属于效能投诉范围",
        basis="投诉制度第二条",
        guidance="请向市场监管部门反映",
    )
    # Polling, not `handle.result()`: waiting on a result lets the time-skipping server jump
    # ahead, which would move the clock under every other case of the session.
    case["archive"] = await archive_row(stack, n)
    return case
