"""Reading a case's Temporal workflow history: what each event holds (`HistoryReader`).

The history is the source of truth: every entry points at the history event it comes from
(`event_id`, as `temporal workflow show` numbers them). What the history holds and how it is read:

- `WorkflowExecutionStarted`: the start input (`ComplaintInput`: who registered, the center).
- `WorkflowExecutionUpdateAccepted` / `…Completed`: a handler's action (input with the actor)
  and its result, the `CaseState` after it, or the failure that refused it.
- `WorkflowExecutionSignaled`: a decision sent as a Signal (input, sender identity).
- `TimerFired`: a durable timer woke the case (a reminder or due instant).
- `ActivityTaskScheduled`/`Completed` of `compute_deadlines` (or, for cases started under the
  `local-activities-2026-11` patch, its local-activity marker): the exact due instants computed.
- The `CaseState` snapshots the workflow wrote into its history (the inputs of `project_case`
  and `archive_case`, the results of the `deliver` local activity since
  `local-delivery-2026-12`, the state a continued run carries in its start input, the workflow
  result; before the bounded case also every Update result): they give the action records
  (status before → after, what the workflow recorded, system events such as `reminder`,
  `overdue`, `callback-expired`), the ignored signals with their reasons and every deadline
  with the instant it closed. The bounded case keeps these lists short in its snapshots (the
  action records travel once, in `project_case`'s `events`; the others are capped), so they
  are gathered as unions over every snapshot of every run (`activities.chain.CaseRecord`).
  An Update's small result (`ActionResult`) is no snapshot; its status counts if it is newer.

A case whose history passed its budget continued as new: its runs are read back to the first
one (`activities.chain.fetch_chain`, at most `MAX_RUNS`), oldest first, into one timeline;
each entry keeps its event id and says which run it comes from (`run`, `run_id`).

Snapshots and inputs are read as plain JSON, not validated against today's models, so the
history of a case archived years ago still reads after the models have changed.

Each entry is matched to its cause by workflow time: an action record is made at the end of
its handler; clocks computed or closed while a handler ran belong to the first record made at
or after that instant (handlers run one at a time under the workflow's lock).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from activities.chain import is_snapshot
from api.timeline.schemas import RunItem, TimelineItem
from domain.workdays import BEIJING

if TYPE_CHECKING:
    from temporalio.api.common.v1 import Payloads

#: Activities whose input carries the whole `CaseState` (key of the state in the input).
SNAPSHOT_ACTIVITIES = {"project_case": "state", "archive_case": "state"}
#: The local activity whose result is a flush's projection (`activities.delivery`).
DELIVER = "deliver"

_CLOSE_EVENTS: dict[int, str] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "workflow-terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "workflow-cancelled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "workflow-failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "workflow-timed-out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "workflow-continued-as-new",
}


def bj(t: datetime) -> datetime:
    """An instant in Beijing time."""
    return t.astimezone(BEIJING)


def bj_text(t: datetime | None, *, seconds: bool = False) -> str:
    """`2026-11-27 10:05` (Beijing time), or an em dash."""
    if t is None:
        return "—"
    return f"{bj(t):%Y-%m-%d %H:%M:%S}" if seconds else f"{bj(t):%Y-%m-%d %H:%M}"


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    t = datetime.fromisoformat(str(value))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _event_time(e: HistoryEvent) -> datetime:
    # To the microsecond, as the workflow's own instants (`workflow.now()`) are recorded.
    return e.event_time.ToDatetime(tzinfo=UTC)


@dataclass
class UpdateSeen:
    update_id: str
    name: str
    event_id: int
    at: datetime
    handler_start: datetime
    identity: str
    input: dict[str, Any]
    result: dict[str, Any] | None = None
    failure: str | None = None
    completed: bool = False
    run: int = 1


@dataclass
class SignalSeen:
    name: str
    event_id: int
    at: datetime
    handler_start: datetime
    identity: str
    input: Any
    run: int = 1


@dataclass
class Computed:
    at: datetime
    specs: list[dict[str, Any]]
    results: list[dict[str, Any]]


@dataclass
class RunRead:
    """What one pass over the history found."""

    events: int = 0
    run: int = 1
    run_id: str | None = None
    continued_from: str | None = None
    ended: str | None = None
    start: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    start_event_id: int | None = None
    closed_at: datetime | None = None
    updates: dict[str, UpdateSeen] = field(default_factory=dict)
    signals: list[SignalSeen] = field(default_factory=list)
    timers: list[tuple[int, datetime, str]] = field(default_factory=list)
    computed: list[Computed] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    records: list[list[Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    archive: dict[str, Any] | None = None
    workflow: list[TimelineItem] = field(default_factory=list)


class HistoryReader:
    """Decodes the payloads of one history (with the project's pydantic data converter)."""

    def __init__(self, converter: DataConverter = pydantic_data_converter) -> None:
        self.converter = converter

    async def _values(self, payloads: Payloads | None) -> list[Any]:
        if payloads is None or not payloads.payloads:
            return []
        try:
            return list(await self.converter.decode(payloads.payloads))
        except Exception:  # a payload we cannot read never hides the rest of the timeline
            return []

    async def _first(self, payloads: Payloads | None) -> Any:
        values = await self._values(payloads)
        return values[0] if values else None

    async def read(self, events: Sequence[HistoryEvent], run: int = 1) -> RunRead:
        r = RunRead(events=len(events), run=run)
        wft_started: list[tuple[int, datetime]] = []
        scheduled: dict[int, tuple[str, Any]] = {}
        pending_signals: list[SignalSeen] = []
        latest_version = -1

        def keep(state: Any) -> None:
            nonlocal latest_version
            if is_snapshot(state):
                r.snapshots.append(state)
                if state["version"] >= latest_version:
                    latest_version, r.snapshot = state["version"], state
            elif isinstance(state, dict) and isinstance(state.get("version"), int):
                r.results.append(state)  # an Update's small result (the bounded case)

        for e in events:
            t, kind, eid = _event_time(e), e.event_type, e.event_id
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                started = e.workflow_execution_started_event_attributes
                r.run_id = started.original_execution_run_id or None
                r.continued_from = started.continued_execution_run_id or None
                r.started_at, r.start_event_id = t, eid
                start = await self._first(started.input)
                r.start = start if isinstance(start, dict) else {}
                carried = r.start.get("carried")
                if isinstance(carried, dict):  # the state carried over from the previous run
                    keep(carried.get("state"))
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                wft_started.append((eid, t))
                for s in pending_signals:  # a signal is handled in the next workflow task
                    s.handler_start = t
                pending_signals.clear()
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                req = e.workflow_execution_update_accepted_event_attributes.accepted_request
                inp = await self._first(req.input.args)
                r.updates[req.meta.update_id] = UpdateSeen(
                    update_id=req.meta.update_id,
                    name=req.input.name,
                    event_id=eid,
                    at=t,
                    handler_start=wft_started[-1][1] if wft_started else t,
                    identity=req.meta.identity,
                    input=inp if isinstance(inp, dict) else {},
                    run=run,
                )
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                done = e.workflow_execution_update_completed_event_attributes
                u = r.updates.get(done.meta.update_id)
                if u is None:
                    continue
                u.completed = True
                if done.outcome.HasField("failure"):
                    u.failure = done.outcome.failure.message or "failed"
                else:
                    u.result = await self._first(done.outcome.success)
                    keep(u.result)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                sig = e.workflow_execution_signaled_event_attributes
                s = SignalSeen(
                    name=sig.signal_name,
                    event_id=eid,
                    at=t,
                    handler_start=t,
                    identity=sig.identity,
                    input=await self._first(sig.input),
                    run=run,
                )
                r.signals.append(s)
                pending_signals.append(s)
            elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
                r.timers.append((eid, t, e.timer_fired_event_attributes.timer_id))
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                sch = e.activity_task_scheduled_event_attributes
                name = sch.activity_type.name
                if name == "compute_deadlines" or name in SNAPSHOT_ACTIVITIES:
                    inp = await self._first(sch.input)
                    scheduled[eid] = (name, inp)
                    if name in SNAPSHOT_ACTIVITIES and isinstance(inp, dict):
                        keep(inp.get(SNAPSHOT_ACTIVITIES[name]))
                        if isinstance(inp.get("events"), list):  # records not yet projected
                            r.records.append(inp["events"])
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                act = e.activity_task_completed_event_attributes
                name, inp = scheduled.get(act.scheduled_event_id, ("", None))
                if name == "compute_deadlines":
                    out = await self._first(act.result)
                    specs = inp.get("specs", []) if isinstance(inp, dict) else []
                    results = out.get("deadlines", []) if isinstance(out, dict) else []
                    r.computed.append(Computed(at=t, specs=specs, results=results))
                elif name == "archive_case":
                    out = await self._first(act.result)
                    r.archive = {**out, "archived_at": t} if isinstance(out, dict) else None
            elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
                # Cases started under the `local-activities-2026-11` patch compute deadlines in a
                # local activity: its result is a marker; each result echoes its clock's start.
                m = e.marker_recorded_event_attributes
                if m.marker_name == "core_local_activity" and "result" in m.details:
                    data = await self._first(m.details["data"]) if "data" in m.details else None
                    if isinstance(data, dict) and data.get("activity_type") == DELIVER:
                        # `local-delivery-2026-12`: a flush's projection, echoed as the result.
                        out = await self._first(m.details["result"])
                        projected = out.get("project") if isinstance(out, dict) else None
                        if isinstance(projected, dict):
                            keep(projected.get("state"))
                            if isinstance(projected.get("events"), list):
                                r.records.append(projected["events"])
                    if isinstance(data, dict) and data.get("activity_type") == "compute_deadlines":
                        out = await self._first(m.details["result"])
                        results = out.get("deadlines", []) if isinstance(out, dict) else []
                        specs = [{"kind": x.get("kind"), "start": x.get("start")} for x in results]
                        # Attributed to the workflow time of the task that ran it (the handler's
                        # `workflow.now()`), not to when the marker was written.
                        at = wft_started[-1][1] if wft_started else t
                        r.computed.append(Computed(at=at, specs=specs, results=results))
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                r.closed_at, r.ended = t, "completed"
                keep(await self._first(e.workflow_execution_completed_event_attributes.result))
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failed = e.workflow_task_failed_event_attributes
                r.workflow.append(
                    _workflow_item(
                        "workflow-task-failed", eid, t, failed.failure.message[:2000] or None, failed.identity
                    )
                )
            elif kind in _CLOSE_EVENTS:
                r.closed_at, r.ended = t, _CLOSE_EVENTS[kind].removeprefix("workflow-")
                reason = ""
                if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                    reason = e.workflow_execution_terminated_event_attributes.reason
                elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
                    reason = e.workflow_execution_failed_event_attributes.failure.message
                r.workflow.append(_workflow_item(_CLOSE_EVENTS[kind], eid, t, reason or None, None))
        return r


def entry_at(at: datetime, *, who: str, role: str, what: str, kind: str, **fields: Any) -> RunItem:
    """A timeline entry at the instant `at` (and its Beijing text); no case-file `seq` unless
    `fields` give one."""
    fields.setdefault("seq", None)
    return RunItem(at=bj(at), at_beijing=bj_text(at), who=who, role=role, what=what, kind=kind,
                   **fields)


def _workflow_item(
    what: str, event_id: int, at: datetime, reason: str | None, identity: str | None
) -> RunItem:
    return entry_at(at, who=identity or "temporal", role="system", what=what, kind="workflow",
                    reason=reason, event_id=event_id)
