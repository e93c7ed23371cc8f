"""The timeline builder on recorded histories (tests/histories/), without any server: what a
case looks like when its signals came from the CLI, when time alone closed a deadline, when the
workflow task failed or the workflow was terminated; and the printable page escapes all text."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from api.timeline.build import build_timeline
from api.timeline.page import entry_label, render_html
from api.timeline.schemas import CaseTimeline, TimelineItem

HISTORIES = Path(__file__).parents[2] / "histories"


def recorded(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8"))
    return doc


async def timeline_of(name: str, doc: dict[str, Any] | None = None) -> CaseTimeline:
    return await build_timeline(WorkflowHistory.from_json(name, doc or recorded(name)))


def steps(t: CaseTimeline) -> list[str]:
    return [e.what for e in t.entries if e.kind not in ("timer", "clock")]


def only(t: CaseTimeline, what: str, **match: Any) -> TimelineItem:
    [e] = [e for e in t.entries if e.what == what and all(getattr(e, k) == v for k, v in match.items())]
    return e


async def test_referral_with_cli_signals_and_clocks() -> None:
    t = await timeline_of("H-REFERRAL")
    assert t.status.value == "archived" and t.source == "temporal" and t.archive is not None
    s = steps(t)
    assert s[:6] == [
        "register",
        "accept",
        "submit-opinion",
        "approve-opinion",
        "request-extension",
        "decide-extension",
    ]
    assert s[-3:] == ["report-result", "give-feedback", "callback-expired"]
    assert {"reminder", "overdue"} <= set(s)

    # Sent with the CLI, without an actor: the sender's identity from the history stands in.
    extension = only(t, "decide-extension")
    assert extension.role == "operator" and extension.who == extension.sender and extension.who
    assert {(d.kind.value, d.change) for d in extension.deadlines} == {
        ("handling", "moved"),
        ("overall", "moved"),
    }
    ignored = only(t, "escalate")
    assert ignored.ignored and ignored.reason and ignored.reason.startswith("malformed input")
    assert ignored.detail["source"] == "aliens"

    # The return window closed by the passing of time alone: a clock entry after its timer.
    clock = only(t, "deadline-closed")
    assert clock.kind == "clock" and [d.change for d in clock.deadlines] == ["expired"]
    timer = t.entries[t.entries.index(clock) - 1]
    assert timer.kind == "timer" and timer.at <= clock.at

    overdue = [e for e in t.entries if e.what == "overdue"]
    assert entry_label(overdue[0]) == "超期督办 overdue, escalated to supervision"
    assert any(d.kind.value == "supervision" and d.change == "set" for d in overdue[0].deadlines)
    assert entry_label(overdue[-1]) == "超期预警 overdue warning"  # the supervision response is late

    end = only(t, "callback-expired")
    assert (end.status_before, end.status_after) == ("awaiting_callback", "archived")
    assert {(d.kind.value, d.change) for d in end.deadlines} >= {("callback", "expired")}

    history = WorkflowHistory.from_json("H-REFERRAL", recorded("H-REFERRAL"))
    kinds = {e.event_id: e.event_type for e in history.events}
    timers = [e for e in t.entries if e.kind == "timer"]
    assert timers and all(kinds.get(e.event_id or 0) == EventType.EVENT_TYPE_TIMER_FIRED for e in timers)


async def test_appeal_rehandled_case_keeps_every_step_in_order() -> None:
    t = await timeline_of("H-APPEAL")
    assert steps(t) == [
        "register",
        "accept",
        "report-result",
        "give-feedback",
        "appeal",
        "resolve-supervision",
        "report-result",
        "give-feedback",
        "record-satisfaction",
    ]
    appeal = only(t, "appeal")
    assert appeal.role == "complainant" and appeal.status_after == "appealed"
    rehandle = only(t, "resolve-supervision")
    assert ("handling", "set") in {(d.kind.value, d.change) for d in rehandle.deadlines}
    assert [e.at for e in t.entries] == sorted(e.at for e in t.entries)


async def test_workflow_task_failure_and_termination_show() -> None:
    doc = copy.deepcopy(recorded("H-DUPLICATE"))
    events = doc["events"]
    last = events.pop()  # WorkflowExecutionCompleted
    assert last["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    n = int(last["eventId"])
    events.append(
        {
            "eventId": str(n),
            "eventTime": last["eventTime"],
            "eventType": "EVENT_TYPE_WORKFLOW_TASK_FAILED",
            "workflowTaskFailedEventAttributes": {
                "failure": {"message": "boom <script>alert(1)</script>"},
                "identity": "worker@host",
            },
        }
    )
    events.append(
        {
            "eventId": str(n + 1),
            "eventTime": last["eventTime"],
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED",
            "workflowExecutionTerminatedEventAttributes": {"reason": "by mistake"},
        }
    )
    t = await timeline_of("H-DUPLICATE", doc)
    failed = only(t, "workflow-task-failed")
    assert failed.kind == "workflow" and failed.reason and "boom" in failed.reason
    assert failed.who == "worker@host" and failed.event_id == n
    terminated = only(t, "workflow-terminated")
    assert terminated.reason == "by mistake" and t.closed_at is not None
    page = render_html(t)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "工作流任务失败 workflow task failed" in page and "已终止 workflow terminated" in page


async def test_a_case_just_started_reads_as_registered() -> None:
    doc = recorded("H-REJECTED")
    doc = {**doc, "events": doc["events"][:3]}  # started, nothing recorded yet
    t = await timeline_of("H-REJECTED", doc)
    assert t.status.value == "registered" and t.entries == [] and t.number == "H-REJECTED"
