"""Histories of the bounded case, made from the recorded ones (tests/histories/) without a server.

`bounded` rewrites a recorded history into the shape of the bounded case: every snapshot's
`actions` empty (the records travel only in the `events` of the `project_case` input), its
ignored signals and closed clocks capped to the last few (with `ignored_total`), and every
Update answered by a small `ActionResult`. `split` then cuts it into two runs joined by a
continue-as-new, the second started with the carried state. Both keep every fact of the case,
so the timeline built from the result must be the one built from the recorded history.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

JSON_PLAIN = base64.b64encode(b"json/plain").decode()

#: What the bounded snapshots keep (small on purpose: the union must bring the rest back).
KEEP_IGNORED = 1
KEEP_CLOSED = 3


def decode(payload: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(payload["data"]))


def encode(value: Any) -> dict[str, Any]:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return {"metadata": {"encoding": JSON_PLAIN}, "data": base64.b64encode(data).decode()}


def bound_state(
    state: dict[str, Any], *, keep_ignored: int = KEEP_IGNORED, keep_closed: int = KEEP_CLOSED
) -> dict[str, Any]:
    """A `CaseState` as the bounded case writes it into its history."""
    s = copy.deepcopy(state)
    s["actions"] = []
    ignored = s.get("ignored_signals") or []
    s["ignored_total"] = len(ignored)
    s["ignored_signals"] = ignored[-keep_ignored:] if keep_ignored else []
    deadlines = s.get("deadlines") or []
    closed = [i for i, d in enumerate(deadlines) if d.get("state") != "open"]
    drop = set(closed[:-keep_closed]) if keep_closed else set(closed)
    s["deadlines"] = [d for i, d in enumerate(deadlines) if i not in drop]
    return s


def action_result(state: dict[str, Any]) -> dict[str, Any]:
    """The small answer of an Update in the bounded case (no snapshot keys)."""
    return {
        "number": state["number"],
        "status": state["status"],
        "version": state["version"],
        "outcome": state.get("outcome"),
        "allowed_actions": state.get("allowed_actions", {}),
        "deadlines": [],
    }


def bounded(doc: dict[str, Any], **caps: int) -> dict[str, Any]:
    """The recorded history rewritten into the bounded case's shape (see the module doc);
    `caps`: `keep_ignored`, `keep_closed` (see `bound_state`)."""
    out = copy.deepcopy(doc)
    for e in out["events"]:
        if a := e.get("activityTaskScheduledEventAttributes"):
            if a["activityType"]["name"] in ("project_case", "archive_case"):
                p = a["input"]["payloads"]
                inp = decode(p[0])
                inp["state"] = bound_state(inp["state"], **caps)
                p[0] = encode(inp)
        elif a := e.get("workflowExecutionUpdateCompletedEventAttributes"):
            success = a.get("outcome", {}).get("success", {}).get("payloads")
            if success:
                success[0] = encode(action_result(decode(success[0])))
        elif a := e.get("workflowExecutionCompletedEventAttributes"):
            p = a["result"]["payloads"]
            p[0] = encode(bound_state(decode(p[0]), **caps))
    return out


def _renumber(node: Any, offset: int) -> Any:
    """Shift every event id (`eventId` and each `…EventId` reference) down by `offset`."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if (k == "eventId" or k.endswith("EventId")) and isinstance(v, str | int) and str(v).isdigit():
                out[k] = str(int(v) - offset) if int(v) > offset else "0"
            else:
                out[k] = _renumber(v, offset)
        return out
    if isinstance(node, list):
        return [_renumber(x, offset) for x in node]
    return node


def split_point(doc: dict[str, Any]) -> int:
    """A number of events after which nothing is in flight (no Update or activity open), near
    the middle: the first run ends there."""
    events = doc["events"]
    open_acts: set[str] = set()
    open_updates: set[str] = set()
    candidates = []
    for i, e in enumerate(events):
        t = e["eventType"]
        if t == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            open_acts.add(e["eventId"])
        elif t in ("EVENT_TYPE_ACTIVITY_TASK_COMPLETED", "EVENT_TYPE_ACTIVITY_TASK_FAILED"):
            key = next(iter(v for k, v in e.items() if k.endswith("Attributes")))
            open_acts.discard(str(key["scheduledEventId"]))
        elif t == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            open_updates.add(
                e["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]["meta"]["updateId"]
            )
        elif t == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            open_updates.discard(e["workflowExecutionUpdateCompletedEventAttributes"]["meta"]["updateId"])
        following = events[i + 1]["eventType"] if i + 1 < len(events) else ""
        if (
            t == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"
            and not open_acts
            and not open_updates
            and following != "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"  # same task's
        ):
            candidates.append(i + 1)
    middle = len(events) // 2
    return min(candidates, key=lambda k: abs(k - middle))


def split(
    doc: dict[str, Any], k: int, *, run1: str = "run-one", run2: str = "run-two"
) -> list[dict[str, Any]]:
    """Two runs: the first `k` events then a continue-as-new; the rest, renumbered, after a
    start whose input carries the newest (bounded) snapshot written before the cut."""
    events = doc["events"]
    first, rest = copy.deepcopy(events[:k]), copy.deepcopy(events[k:])
    started = copy.deepcopy(events[0])
    attrs = started["workflowExecutionStartedEventAttributes"]
    attrs["originalExecutionRunId"] = run1
    first[0] = started
    carried = None
    for e in first:
        a = e.get("activityTaskScheduledEventAttributes")
        if a and a["activityType"]["name"] == "project_case":
            carried = decode(a["input"]["payloads"][0])["state"]
    first.append(
        {
            "eventId": str(k + 1),
            "eventTime": events[k - 1]["eventTime"],
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
            "workflowExecutionContinuedAsNewEventAttributes": {
                "newExecutionRunId": run2,
                "workflowType": {"name": "ComplaintWorkflow"},
            },
        }
    )
    start_input = decode(attrs["input"]["payloads"][0])
    start_input["carried"] = {"state": carried, "note_seq": 0, "projected_seq": 0, "run": 1}
    second_start = copy.deepcopy(started)
    a2 = second_start["workflowExecutionStartedEventAttributes"]
    a2["originalExecutionRunId"] = run2
    a2["continuedExecutionRunId"] = run1
    a2["input"]["payloads"][0] = encode(start_input)
    second_start["eventTime"] = events[k]["eventTime"]
    second = [second_start] + [_renumber(e, k - 1) for e in rest]
    return [{"events": first}, {"events": second}]
