"""The readable timeline, built from the workflow history, for a whole referral case: an ignored
signal, an extension, a reminder and an overdue escalation (time-skipping), the archive; as JSON,
as a printable page and from the archived history."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from api.timeline.page import change_label, entry_label, role_label, status_label
from api.timeline.schemas import TimelineItem
from domain.labels import both
from domain.models import DeadlineKind
from tests.conftest import start_time_skipping
from tests.fixtures_browser import ARTIFACTS
from tests.stack import REPORT, Stack, auth, due, eventually

CJK = re.compile(r"^[\u3400-\u9fff]")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own: skipping days here moves no other case."""
    e = await start_time_skipping()
    yield e
    await e.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def full_case(stack: Stack) -> dict[str, Any]:
    """A referral case from intake to archive through the API, with the clock run past the
    handling deadline; its number, deadlines and the archive row."""
    case = await stack.register()
    n = case["number"]
    # Nothing is pending yet: the workflow records this signal as ignored, with the reason.
    await stack.signal(n, "decide-extension", "leader", approved=True)
    await stack.ok(n, "accept", "handler", route="referral", note="属于受理范围")
    await stack.ok(
        n,
        "submit-opinion",
        "handler",
        handling_unit="tax-bureau",
        opinion="请区税务局核查处理并书面报告结果",
    )
    await stack.ok(n, "approve-opinion", "leader", approved=True, comment="同意")
    await stack.ok(n, "request-extension", "tax", days=3, reason="需调取外单位材料")
    handling_before = due(await stack.view(n), "handling")
    await stack.signal(n, "decide-extension", "leader", approved=True, days=3, comment="同意延期")
    view = await eventually(lambda: stack.view(n), lambda v: due(v, "handling") != handling_before)
    handling_due = due(view, "handling")
    # Past the (extended) handling deadline: the reminder, then the overdue escalation.
    now = await stack.env.get_current_time()
    await stack.env.sleep(handling_due - now + timedelta(hours=1))
    view = await eventually(
        lambda: stack.view(n), lambda v: v["overdue"] and v["supervised"], timeout=15
    )
    assert view["overdue"] and view["supervised"], view
    await stack.ok(n, "report-result", "tax", **REPORT)
    await stack.rectify(n, REPORT["measures"], unit="tax")
    await stack.ok(
        n,
        "give-feedback",
        "handler",
        message="经查属实，已书面警告",
        appeal_route="如不服可向市效能投诉中心申诉",
    )
    await stack.ok(n, "record-satisfaction", "handler", rating="satisfied", comment="满意")
    row = await stack.archive_row(n)
    handle = stack.client.get_workflow_handle(n)

    async def last_event() -> Any:
        return (await handle.fetch_history()).events[-1].event_type

    closed = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert await eventually(last_event, lambda t: t == closed, timeout=15) == closed
    return {**case, "handling_before": handling_before, "handling_due": handling_due, "archive": row}


async def timeline(stack: Stack, path: str, who: str = "auditor") -> dict[str, Any]:
    r = await stack.http.get(path, headers=auth(who))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def one(entries: list[dict[str, Any]], what: str, **match: Any) -> dict[str, Any]:
    found = [e for e in entries if e["what"] == what and all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (what, match, [(e["what"], e["kind"]) for e in entries])
    return found[0]


def is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(x == y for y in it) for x in needles)


def beijing(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    assert t.utcoffset() == timedelta(hours=8), text
    return t


async def test_timeline_reads_the_whole_case_from_the_history(
    stack: Stack, full_case: dict[str, Any]
) -> None:
    n = full_case["number"]
    t = await timeline(stack, f"/v1/complaints/{n}/history")
    entries = t["entries"]
    assert t["source"] == "temporal" and t["number"] == n and t["workflow_id"] == n
    assert (t["status"], t["outcome"]) == ("archived", "concluded")
    assert "status_label" not in t and "category_label" not in t  # codes only: labels on the page

    def label(e: dict[str, Any]) -> str:
        return entry_label(TimelineItem.model_validate(e))

    assert t["archive"]["sha256"] == full_case["archive"]["sha256"]
    steps = [e["what"] for e in entries if e["kind"] not in ("timer", "clock")]
    assert is_subsequence(
        [
            "register",
            "decide-extension",
            "accept",
            "submit-opinion",
            "approve-opinion",
            "request-extension",
            "decide-extension",
            "reminder",
            "overdue",
            "report-result",
            "report-rectification",
            "review-rectification",
            "give-feedback",
            "record-satisfaction",
        ],
        steps,
    ), steps

    ignored = one(entries, "decide-extension", ignored=True)
    assert ignored["kind"] == "signal" and "pending" in ignored["reason"]
    assert label(ignored) == "已忽略 ignored: 延期审批 extension decided"
    assert (ignored["who"], ignored["role"]) == ("leader-01", "leader")

    accept = one(entries, "accept")
    assert (accept["status_before"], accept["status_after"]) == ("registered", "opinion_pending")
    assert (status_label(accept["status_before"]), status_label(accept["status_after"])) == (
        "已登记 registered",
        "待拟办 opinion pending",
    )
    assert (accept["who"], role_label(accept["role"]), label(accept)) == (
        "handler-01",
        "投诉办 complaint office",
        "受理 accepted",
    )
    changes = {(d["kind"], d["change"]): d for d in accept["deadlines"]}
    assert {("opinion", "set"), ("overall", "set"), ("acceptance", "met")} <= set(changes)
    assert changes[("acceptance", "met")]["on_time"] is True

    approved = one(entries, "approve-opinion")
    assert label(approved) == "领导审批同意 opinion approved" and approved["who"] == "leader-01"
    assert approved["status_after"] == "referred"

    extension = one(entries, "decide-extension", ignored=False)
    assert label(extension) == "批准延期 extension approved" and extension["role"] == "leader"
    [moved] = [d for d in extension["deadlines"] if d["kind"] == "handling"]
    assert moved["change"] == "moved"
    assert beijing(moved["previous_due_at"]) == full_case["handling_before"]
    assert beijing(moved["due_at"]) == full_case["handling_due"]

    reminder = one(
        entries,
        "reminder",
        detail={"deadline": "handling", "due_at": one(entries, "reminder")["detail"]["due_at"]},
    )
    overdue = one(entries, "overdue")
    assert label(overdue) == "超期督办 overdue, escalated to supervision"
    assert overdue["detail"]["deadline"] == "handling" and overdue["detail"]["escalated"]
    assert overdue["kind"] == "system" and overdue["who"] == "system"
    assert [d["change"] for d in overdue["deadlines"] if d["kind"] == "supervision"] == ["set"]
    assert beijing(overdue["at"]) >= full_case["handling_due"] > beijing(reminder["at"])
    before_overdue = entries[entries.index(overdue) - 1]
    assert before_overdue["kind"] == "timer" and before_overdue["what"] == "timer-fired"
    assert beijing(before_overdue["at"]) <= beijing(overdue["at"])

    report = one(entries, "report-result")
    assert (report["who"], report["role"], report["unit"]) == ("tax-01", "unit", "tax-bureau")
    met = {d["kind"]: d for d in report["deadlines"] if d["change"] == "met"}
    assert met["handling"]["on_time"] is False  # reported after the overdue escalation
    assert [d["change"] for d in report["deadlines"] if d["kind"] == "rectification"] == ["set"]
    rectified = one(entries, "report-rectification")
    assert (rectified["who"], rectified["unit"], label(rectified)) == (
        "tax-01", "tax-bureau", "整改报告 rectification reported")
    assert [(d["change"], d["on_time"]) for d in rectified["deadlines"]] == [("met", True)]
    assert label(one(entries, "review-rectification")) == "整改验收通过 rectification accepted"

    last = one(entries, "record-satisfaction")
    assert (last["status_before"], last["status_after"]) == ("awaiting_callback", "archived")

    for e in entries:
        assert beijing(e["at"]) and len(e["at_beijing"]) == 16
        assert not {"label", "role_label", "status_before_label"} & set(e), e  # codes only
        assert CJK.match(label(e)) and re.search("[a-z]", label(e)), label(e)
        assert CJK.match(role_label(e["role"])), e["role"]
        for d in e["deadlines"]:
            assert "label" not in d and "change_label" not in d
            assert beijing(d["due_at"]) and CJK.match(both(DeadlineKind(d["kind"])))
            assert CJK.match(change_label(d["change"]))

    # Every entry that comes from an event points at it, and the event is of the right kind.
    history = await stack.client.get_workflow_handle(n).fetch_history()
    kinds = {e.event_id: e.event_type for e in history.events}
    expected = {
        "action": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        "signal": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        "timer": EventType.EVENT_TYPE_TIMER_FIRED,
    }
    for e in entries:
        if e["kind"] in expected and e["what"] != "register":
            assert kinds[e["event_id"]] == expected[e["kind"]], e
    assert one(entries, "register")["event_id"] == 1

    text = json.dumps(t, ensure_ascii=False)
    complainant = full_case["request"]["complainant"]
    for secret in (complainant["name"], complainant["phone"], full_case["request"]["facts"]):
        assert secret not in text


async def test_timeline_does_not_come_from_the_read_model(stack: Stack, full_case: dict[str, Any]) -> None:
    n = full_case["number"]
    path = f"/v1/complaints/{n}/history"
    before = await timeline(stack, path, "supervisor")
    await stack.pool.execute("DELETE FROM case_events WHERE number = $1", n)
    await stack.pool.execute("UPDATE complaints SET state = NULL WHERE number = $1", n)
    after = await timeline(stack, path, "handler")
    assert before["entries"] == after["entries"]


async def test_archived_history_gives_the_same_timeline(stack: Stack, full_case: dict[str, Any]) -> None:
    n = full_case["number"]
    live = await timeline(stack, f"/v1/complaints/{n}/history")
    archived = await timeline(stack, f"/v1/archive/{n}/timeline")
    assert archived["source"] == "archive" and archived["status"] == "archived"
    assert archived["archive"]["sha256"] == full_case["archive"]["sha256"]
    # The archive holds the history up to the archiving itself: every step is in it.
    assert archived["entries"] == live["entries"]
    assert archived["history_events"] < live["history_events"]


async def test_timeline_prints_as_a_page_and_downloads(
    stack: Stack, full_case: dict[str, Any], browser: Any
) -> None:
    n = full_case["number"]
    r = await stack.http.get(
        f"/v1/complaints/{n}/history", params={"format": "html"}, headers=auth("auditor")
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for text in (
        n,
        "投诉办理过程记录 Case timeline",
        "受理 accepted",
        "已忽略 ignored",
        "超期督办 overdue, escalated to supervision",
        "时钟到点 timer fired",
        "变更 moved",
        full_case["archive"]["sha256"],
        "北京时间",
    ):
        assert text in page, text
    assert not re.search(r"""(src|href)\s*=|<script|<link|@import|url\(""", page)
    complainant = full_case["request"]["complainant"]
    assert complainant["name"] not in page and complainant["phone"] not in page

    r = await stack.http.get(
        f"/v1/complaints/{n}/history", params={"format": "json", "download": "true"}, headers=auth("auditor")
    )
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="{n}-timeline.json"'
    assert json.loads(r.text)["number"] == n
    r = await stack.http.get(
        f"/v1/complaints/{n}/history", params={"format": "html", "download": "true"}, headers=auth("auditor")
    )
    assert r.headers["content-disposition"] == f'attachment; filename="{n}-timeline.html"'
    r = await stack.http.get(f"/v1/complaints/{n}/history", params={"format": "pdf"}, headers=auth("auditor"))
    assert r.status_code == 422

    # The page prints: Chromium renders it to PDF and a screenshot (test artifacts).
    tab = await browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        await tab.set_content(page)
        await tab.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)
        pdf = await tab.pdf(format="A4")
    finally:
        await tab.close()
    assert pdf.startswith(b"%PDF")
    (ARTIFACTS / "timeline.pdf").write_bytes(pdf)


async def test_timeline_roles_and_unknown_cases(stack: Stack, full_case: dict[str, Any]) -> None:
    n = full_case["number"]
    for who, code in (
        ("auditor", 200),
        ("handler", 200),
        ("leader", 200),
        ("supervisor", 200),
        ("intake", 403),
        ("tax", 403),
    ):
        r = await stack.http.get(f"/v1/complaints/{n}/history", headers=auth(who))
        assert r.status_code == code, who
        r = await stack.http.get(f"/v1/archive/{n}/timeline", headers=auth(who))
        assert r.status_code == code, who
    for path in ("/v1/complaints/TS-20990101-99999/history", "/v1/archive/TS-20990101-99999/timeline"):
        r = await stack.http.get(path, headers=auth("auditor"))
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
