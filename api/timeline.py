"""The case's readable timeline, built from its Temporal workflow history.

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
  and `archive_case`, the state a continued run carries in its start input, the workflow
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

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import asyncpg
from fastapi import Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from activities.archive import archived_runs
from activities.chain import MAX_RUNS, CaseRecord, fetch_chain, is_snapshot
from api.errors import ApiError, not_found, temporal_call
from api.schemas import (
    BEIJING,
    ArchiveSeal,
    CaseTimeline,
    DeadlineChange,
    TimelineItem,
)
from domain.workdays import is_late
from domain.models import (
    CATEGORY_LABELS,
    DEADLINE_LABELS,
    STATUS_LABELS,
    Category,
    DeadlineKind,
    Grade,
    Outcome,
    Status,
)

if TYPE_CHECKING:
    from temporalio.api.common.v1 import Payloads

    from api.auth import User
    from api.cases import CaseService

#: What each step is called in the case file, Chinese first (actions, signals, system events).
EVENT_LABELS: dict[str, str] = {
    "register": "登记 registered",
    "accept": "受理 accepted",
    "reject": "不予受理 not accepted",
    "forward": "转送 forwarded",
    "link-duplicate": "重复件合并 linked to an open case",
    "submit-opinion": "拟办意见 opinion submitted",
    "approve-opinion": "领导审批 opinion reviewed",
    "report-result": "处理决定 result reported",
    "request-extension": "申请延期 extension requested",
    "decide-extension": "延期审批 extension decided",
    "return-referral": "退单 referral returned",
    "resolve-supervision": "督办处理 supervision resolved",
    "give-feedback": "反馈 feedback given",
    "record-satisfaction": "回访 callback answer recorded",
    "appeal": "申诉 appealed",
    "record-investigation": "调查核实 investigation step",
    "escalate": "督办 escalated to supervision",
    "recompute-deadlines": "重算期限 deadlines recomputed",
    "duplicate-linked": "重复件关联 repeat complaint linked",
    "reminder": "催办 reminder",
    "overdue": "超期预警 overdue warning",
    "overdue-escalated": "超期督办 overdue, escalated to supervision",
    "callback-expired": "回访期满 callback window ended",
    "timer-fired": "时钟到点 timer fired",
    "deadline-closed": "期限届满 deadline passed",
    "workflow-task-failed": "工作流任务失败 workflow task failed",
    "workflow-terminated": "已终止 workflow terminated",
    "workflow-cancelled": "已取消 workflow cancelled",
    "workflow-failed": "工作流失败 workflow failed",
    "workflow-timed-out": "工作流超时 workflow timed out",
    "workflow-continued-as-new": "工作流续新 continued as new",
}

#: Variants of a label that depend on what was decided.
DETAIL_LABELS: dict[tuple[str, str, Any], str] = {
    ("approve-opinion", "approved", True): "领导审批同意 opinion approved",
    ("approve-opinion", "approved", False): "领导退回 opinion sent back",
    ("decide-extension", "approved", True): "批准延期 extension approved",
    ("decide-extension", "approved", False): "不予延期 extension refused",
}

IGNORED_PREFIX = "已忽略 ignored: "
#: The reason shown for an ignored signal whose record the workflow no longer keeps.
BEYOND_CAP = "原因未保留 reason not kept: beyond the workflow's cap of ignored signals (ignored_total)"
REFUSED_PREFIX = "已拒绝 refused: "

ROLE_LABELS: dict[str, str] = {
    "intake": "登记员 intake clerk",
    "handler": "投诉办 complaint office",
    "leader": "领导 leader",
    "supervisor": "督办 supervisor",
    "auditor": "审计 auditor",
    "unit": "承办单位 handling unit",
    "complainant": "投诉人 complainant",
    "system": "系统 system",
    "operator": "运维 operator",
}

CHANGE_LABELS: dict[str, str] = {
    "set": "设定 set",
    "moved": "变更 moved",
    "met": "办结 met",
    "cancelled": "取消 cancelled",
    "expired": "届满 expired",
}

KIND_LABELS: dict[str, str] = {
    "action": "操作 action",
    "signal": "信号 signal",
    "timer": "时钟 timer",
    "system": "系统 system",
    "clock": "期限 clock",
    "workflow": "工作流 workflow",
}

#: Activities whose input carries the whole `CaseState` (key of the state in the input).
SNAPSHOT_ACTIVITIES = {"project_case": "state", "archive_case": "state"}

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


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    t = datetime.fromisoformat(str(value))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _event_time(e: HistoryEvent) -> datetime:
    # To the microsecond, as the workflow's own instants (`workflow.now()`) are recorded.
    return e.event_time.ToDatetime(tzinfo=UTC)


def _label(labels: dict[Any, str], key: Any, fallback: str | None = None) -> str:
    return labels.get(key, fallback if fallback is not None else str(key))


def _status_label(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return value


def _deadline_label(kind: str) -> str:
    try:
        return DEADLINE_LABELS[DeadlineKind(kind)]
    except ValueError:
        return kind


def event_label(what: str, detail: dict[str, Any]) -> str:
    """The bilingual label of a step, refined by what was decided (approved or not, ...)."""
    if what == "overdue" and detail.get("escalated"):
        return EVENT_LABELS["overdue-escalated"]
    for (name, key, value), label in DETAIL_LABELS.items():
        if name == what and detail.get(key) is value:
            return label
    return EVENT_LABELS.get(what, what)


# ------------------------------------------------------------------ reading the history


class RunItem(TimelineItem):
    """A timeline entry with the workflow run it comes from (a case continued as new has many)."""

    run: int | None = Field(
        default=None, description="The run it comes from: 1 = the first run of the chain read."
    )
    run_id: str | None = Field(default=None, description="That run's id.")


class TimelineRun(BaseModel):
    """One run of the case's workflow (a run continues as new when its history is full)."""

    run: int = Field(description="1 = the first run of the chain read.")
    run_id: str | None = Field(default=None, description="The run id.")
    continued_from: str | None = Field(default=None, description="The run it continued.")
    history_events: int = Field(description="Events in this run's history.")
    started_at: datetime | None = Field(default=None, description="Run start (Beijing).")
    closed_at: datetime | None = Field(default=None, description="Run close (Beijing).")
    ended: str | None = Field(
        default=None,
        description="How it ended: completed, continued-as-new, terminated, ...; null while open.",
    )


class ChainTimeline(CaseTimeline):
    """The case's timeline over every run of its workflow (`history_events` counts them all)."""

    entries: list[RunItem] = Field(description="Oldest first.")  # type: ignore[assignment]
    runs: list[TimelineRun] = Field(default_factory=list, description="The runs read, oldest first.")
    runs_complete: bool = Field(
        default=True,
        description=f"False when earlier runs could not be read (retention, or the cap of {MAX_RUNS} runs).",
    )


@dataclass
class _Update:
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
class _Signal:
    name: str
    event_id: int
    at: datetime
    handler_start: datetime
    identity: str
    input: Any
    run: int = 1


@dataclass
class _Computed:
    at: datetime
    specs: list[dict[str, Any]]
    results: list[dict[str, Any]]


@dataclass
class _Sink:
    """An entry that clocks can be attributed to: an action record or an ignored signal."""

    at: datetime
    seq: int
    start: datetime
    item: TimelineItem


@dataclass
class _Read:
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
    updates: dict[str, _Update] = field(default_factory=dict)
    signals: list[_Signal] = field(default_factory=list)
    timers: list[tuple[int, datetime, str]] = field(default_factory=list)
    computed: list[_Computed] = field(default_factory=list)
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

    async def read(self, events: Sequence[HistoryEvent], run: int = 1) -> _Read:
        r = _Read(events=len(events), run=run)
        wft_started: list[tuple[int, datetime]] = []
        scheduled: dict[int, tuple[str, Any]] = {}
        pending_signals: list[_Signal] = []
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
                r.updates[req.meta.update_id] = _Update(
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
                s = _Signal(
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
                    r.computed.append(_Computed(at=t, specs=specs, results=results))
                elif name == "archive_case":
                    out = await self._first(act.result)
                    r.archive = {**out, "archived_at": t} if isinstance(out, dict) else None
            elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
                # Cases started under the `local-activities-2026-11` patch compute deadlines in a
                # local activity: its result is a marker; each result echoes its clock's start.
                m = e.marker_recorded_event_attributes
                if m.marker_name == "core_local_activity" and "result" in m.details:
                    data = await self._first(m.details["data"]) if "data" in m.details else None
                    if isinstance(data, dict) and data.get("activity_type") == "compute_deadlines":
                        out = await self._first(m.details["result"])
                        results = out.get("deadlines", []) if isinstance(out, dict) else []
                        specs = [{"kind": x.get("kind"), "start": x.get("start")} for x in results]
                        # Attributed to the workflow time of the task that ran it (the handler's
                        # `workflow.now()`), not to when the marker was written.
                        at = wft_started[-1][1] if wft_started else t
                        r.computed.append(_Computed(at=at, specs=specs, results=results))
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


def _workflow_item(
    what: str, event_id: int, at: datetime, reason: str | None, identity: str | None
) -> RunItem:
    return RunItem(
        seq=None,
        at=bj(at),
        at_beijing=bj_text(at),
        who=identity or "temporal",
        role="system",
        role_label=ROLE_LABELS["system"],
        what=what,
        label=EVENT_LABELS[what],
        kind="workflow",
        reason=reason,
        event_id=event_id,
    )


# ------------------------------------------------------------------ building the timeline


def _actor(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _without_actor(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {} if value is None else {"input": value}
    return {k: v for k, v in value.items() if k != "actor"}


def _record_item(rec: dict[str, Any], kind: str) -> RunItem:
    actor = _actor(rec.get("actor"))
    at = _time(rec.get("at")) or datetime.now(UTC)
    what = str(rec.get("action", "?"))
    raw = rec.get("detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    before, after = rec.get("status_before"), rec.get("status_after")
    role = str(actor.get("role", "system"))
    return RunItem(
        seq=rec.get("seq"),
        at=bj(at),
        at_beijing=bj_text(at),
        who=str(actor.get("id", "system")),
        role=role,
        role_label=_label(ROLE_LABELS, role),
        unit=actor.get("unit"),
        what=what,
        label=event_label(what, detail),
        kind=kind,
        status_before=before,
        status_after=after,
        status_before_label=_status_label(before),
        status_after_label=_status_label(after),
        detail=detail,
    )


def _change(
    kind: str,
    change: str,
    due: datetime,
    *,
    previous: datetime | None = None,
    provisional: bool = False,
    on_time: bool | None = None,
) -> DeadlineChange:
    return DeadlineChange(
        kind=DeadlineKind(kind),
        label=_deadline_label(kind),
        change=change,
        change_label=CHANGE_LABELS[change],
        due_at=bj(due),
        due_at_beijing=bj_text(due),
        previous_due_at=bj(previous) if previous else None,
        provisional=provisional,
        on_time=on_time,
    )


def _first_sink(sinks: list[_Sink], t: datetime, *, within: bool) -> _Sink | None:
    """The first entry recorded at or after `t` (whose handler was running at `t`, if within)."""
    for s in sinks:
        if s.at >= t:
            return s if not within or s.start <= t else None
    return None


def gather(reads: Sequence[_Read]) -> CaseRecord:
    """The case record over every run read: every snapshot, every list of projected records
    and the clocks every (small) Update result says it changed."""
    record = CaseRecord()
    for r in reads:
        for snap in r.snapshots:
            record.add_snapshot(snap)
        for events in r.records:
            record.add_records(events, whole=True)
        for res in r.results:
            record.add_deadlines(res.get("deadlines") or [], res["version"])
            record.add_records(res.get("records") or [])  # seen at once, before the projection
    return record


class _Assembler:
    """Turns what `HistoryReader` found in each run into one list of timeline entries."""

    def __init__(self, reads: Sequence[_Read], record: CaseRecord) -> None:
        self.reads = list(reads)
        self.record = record
        self.items: list[RunItem] = []
        self.sinks: list[_Sink] = []
        self.began: dict[int, datetime] = {}
        self.updates = [u for r in self.reads for u in sorted(r.updates.values(), key=lambda u: u.event_id)]
        self.signals = [s for r in self.reads for s in r.signals]
        self.computed = [c for r in self.reads for c in r.computed]

    def _run(self, item: RunItem, run: int) -> RunItem:
        item.run, item.run_id = run, self.reads[run - 1].run_id if 0 < run <= len(self.reads) else None
        return item

    def _run_at(self, t: datetime) -> int:
        """The run that was open at `t` (the last one started at or before it)."""
        run = 1
        for i, r in enumerate(self.reads, start=1):
            if r.started_at is not None and r.started_at <= t:
                run = i
        return run

    def build(self) -> list[RunItem]:
        records = self.record.action_records()
        ignored = self.record.ignored_signals()
        used_records: set[int] = set()
        used_ignored: set[int] = set()
        self._register(records, used_records)
        self._updates(records, used_records)
        self._signals(records, ignored, used_records, used_ignored)
        for i, rec in enumerate(records):  # reminders, overdue escalations, ...
            if i not in used_records:
                item = _record_item(
                    rec, "system" if _actor(rec.get("actor")).get("role") in (None, "system") else "action"
                )
                self._add(item, rec.get("at"), rec.get("at"), rec.get("seq", 0))
        for i, ign in enumerate(ignored):
            if i not in used_ignored:
                self._add(self._ignored_item(ign, None), ign.get("at"), ign.get("at"), 1 << 20)
        for r in self.reads:
            for eid, t, timer_id in r.timers:
                self.items.append(
                    self._run(
                        RunItem(
                            seq=None,
                            at=bj(t),
                            at_beijing=bj_text(t),
                            who="system",
                            role="system",
                            role_label=ROLE_LABELS["system"],
                            what="timer-fired",
                            label=EVENT_LABELS["timer-fired"],
                            kind="timer",
                            event_id=eid,
                            detail={"timer_id": timer_id},
                        ),
                        r.run,
                    )
                )
            for w in r.workflow:
                self.items.append(self._run(w, r.run))
        self.sinks.sort(key=lambda s: (s.at, s.seq))
        self._clocks()
        for x in self.items:  # entries that no event of their own places: by their instant
            if x.run is None:
                self._run(x, self._run_at(x.at))
        # In the order things began (an action when its handler started, a signal when it
        # was received), so a slow handler does not appear after a later quick one.
        rank = {"timer": 0, "clock": 1}
        self.items.sort(
            key=lambda x: (
                self.began.get(id(x), x.at),
                rank.get(x.kind, 2),
                x.run or 0,
                x.event_id or 1 << 40,
                x.seq or 0,
            )
        )
        return self.items

    def _add(self, item: RunItem, at: Any, start: Any, seq: int) -> None:
        self.items.append(item)
        t = _time(at) if not isinstance(at, datetime) else at
        s = _time(start) if not isinstance(start, datetime) else start
        if t is not None:
            self.sinks.append(_Sink(at=t, seq=seq, start=s or t, item=item))
            self.began[id(item)] = min(s or t, t)

    def _register(self, records: list[dict[str, Any]], used: set[int]) -> None:
        for i, rec in enumerate(records):
            if rec.get("action") == "register":
                used.add(i)
                item = _record_item(rec, "action")
                first = self.reads[0]
                if first.continued_from is None:  # the first run itself was read
                    item.event_id = first.start_event_id
                    self._run(item, 1)
                self._add(item, rec.get("at"), first.started_at, rec.get("seq", 0))
                return

    def _updates(self, records: list[dict[str, Any]], used: set[int]) -> None:
        for u in self.updates:
            rec_i = None
            if u.result is not None or (u.completed and u.failure is None):
                rec_i = next(
                    (
                        i
                        for i, rec in enumerate(records)
                        if i not in used
                        and rec.get("action") == u.name
                        and (_time(rec.get("at")) or u.at) >= u.handler_start
                    ),
                    None,
                )
            if rec_i is not None:
                used.add(rec_i)
                item = _record_item(records[rec_i], "action")
                item.event_id, item.sender = u.event_id, u.identity or None
                self._run(item, u.run)
                self._add(item, records[rec_i].get("at"), u.handler_start, records[rec_i].get("seq", 0))
                continue
            # Refused by the workflow after it was accepted, or not finished yet.
            actor = _actor(u.input.get("actor"))
            role = str(actor.get("role", "operator"))
            item = RunItem(
                seq=None,
                at=bj(u.at),
                at_beijing=bj_text(u.at),
                who=str(actor.get("id") or u.identity or "?"),
                role=role,
                role_label=_label(ROLE_LABELS, role),
                unit=actor.get("unit"),
                what=u.name,
                label=(REFUSED_PREFIX if u.failure else "") + event_label(u.name, u.input),
                kind="action",
                detail=_without_actor(u.input),
                reason=u.failure,
                refused=u.failure is not None,
                pending=not u.completed,
                event_id=u.event_id,
                sender=u.identity or None,
            )
            self.items.append(self._run(item, u.run))

    def _signals(
        self,
        records: list[dict[str, Any]],
        ignored: list[dict[str, Any]],
        used_records: set[int],
        used_ignored: set[int],
    ) -> None:
        # Ignored signals beyond the workflow's cap are counted (`ignored_total`), not kept: that
        # many signals that match nothing kept were ignored, not left pending.
        beyond_cap = max(0, self.record.ignored_total - len(ignored))
        for s in self.signals:
            rec = next(
                (
                    (i, _time(r.get("at")))
                    for i, r in enumerate(records)
                    if i not in used_records
                    and r.get("action") == s.name
                    and (_time(r.get("at")) or s.at) >= s.at
                ),
                None,
            )
            ign = next(
                (
                    (i, _time(g.get("at")))
                    for i, g in enumerate(ignored)
                    if i not in used_ignored
                    and g.get("signal") == s.name
                    and (_time(g.get("at")) or s.at) >= s.at
                ),
                None,
            )
            if rec and (not ign or (rec[1] or s.at) <= (ign[1] or s.at)):
                used_records.add(rec[0])
                item = _record_item(records[rec[0]], "signal")
                self._sender(item, s)
                self._add(item, records[rec[0]].get("at"), s.handler_start, records[rec[0]].get("seq", 0))
            elif ign:
                used_ignored.add(ign[0])
                item = self._ignored_item(ignored[ign[0]], s)
                self._add(item, ignored[ign[0]].get("at"), s.handler_start, 1 << 20)
            elif beyond_cap > 0:
                beyond_cap -= 1
                item = self._signal_item(s)
                item.ignored, item.reason = True, BEYOND_CAP
                item.label = IGNORED_PREFIX + EVENT_LABELS.get(s.name, s.name)
                item.detail = {**item.detail, "reason": BEYOND_CAP}
                self.items.append(item)
            else:  # received, not yet applied (or its snapshot not yet written)
                item = self._signal_item(s)
                item.pending = True
                self.items.append(item)

    def _sender(self, item: RunItem, s: _Signal) -> None:
        """A signal's actor is in its input when the API sent it; else the sender identity."""
        actor = _actor(s.input.get("actor") if isinstance(s.input, dict) else None)
        if actor:
            item.who, item.role = str(actor.get("id", item.who)), str(actor.get("role", item.role))
            item.unit = actor.get("unit")
        elif s.name != "duplicate-linked":
            item.who, item.role = s.identity or "operator", "operator"
        item.role_label = _label(ROLE_LABELS, item.role)
        item.event_id, item.sender = s.event_id, s.identity or None
        self._run(item, s.run)

    def _signal_item(self, s: _Signal) -> RunItem:
        detail = _without_actor(s.input)
        item = RunItem(
            seq=None,
            at=bj(s.at),
            at_beijing=bj_text(s.at),
            who="?",
            role="operator",
            role_label=ROLE_LABELS["operator"],
            what=s.name,
            label=event_label(s.name, detail),
            kind="signal",
            detail=detail,
        )
        self._sender(item, s)
        return item

    def _ignored_item(self, ign: dict[str, Any], s: _Signal | None) -> RunItem:
        name, reason = str(ign.get("signal", "?")), str(ign.get("reason", ""))
        at = _time(ign.get("at")) or (s.at if s else datetime.now(UTC))
        if s is not None:
            item = self._signal_item(s)
        else:
            item = RunItem(
                seq=None,
                at=bj(at),
                at_beijing=bj_text(at),
                who="?",
                role="operator",
                role_label=ROLE_LABELS["operator"],
                what=name,
                label=EVENT_LABELS.get(name, name),
                kind="signal",
            )
        item.at, item.at_beijing = bj(at), bj_text(at)
        item.ignored, item.reason = True, reason
        item.label = IGNORED_PREFIX + EVENT_LABELS.get(name, name)
        item.detail = {**item.detail, "reason": reason}
        return item

    def _clocks(self) -> None:
        """Attribute computed and closed clocks to the entries whose handlers did it."""
        deadlines = self.record.closed_deadlines()
        known: dict[str, tuple[datetime | None, datetime]] = {}  # kind -> (start, due)
        for c in self.computed:
            sink = _first_sink(self.sinks, c.at, within=False)
            for spec, res in zip(c.specs, c.results, strict=False):
                kind, due = str(spec.get("kind")), _time(res.get("due_at"))
                if due is None or kind not in {k.value for k in DeadlineKind}:
                    continue
                start = _time(spec.get("start"))
                before = known.get(kind)
                if before and before[0] == start:
                    if before[1] == due:
                        continue
                    change = _change(
                        kind, "moved", due, previous=before[1], provisional=bool(res.get("provisional"))
                    )
                else:
                    change = _change(kind, "set", due, provisional=bool(res.get("provisional")))
                known[kind] = (start, due)
                if sink is not None:
                    sink.item.deadlines.append(change)
        for d in deadlines:
            state, closed = d.get("state"), _time(d.get("closed_at"))
            due = _time(d.get("due_at"))
            if state in (None, "open") or closed is None or due is None:
                continue
            kind = str(d.get("kind"))
            if kind not in {k.value for k in DeadlineKind} or state not in CHANGE_LABELS:
                continue
            change = _change(
                kind,
                str(state),
                due,
                provisional=bool(d.get("provisional")),
                on_time=not is_late(closed, due) if state == "met" else None,  # 24:00 rule
            )
            sink = _first_sink(self.sinks, closed, within=True)
            if sink is not None:
                sink.item.deadlines.append(change)
                continue
            self.items.append(
                RunItem(  # closed by the passing of time alone
                    seq=None,
                    at=bj(closed),
                    at_beijing=bj_text(closed),
                    who="system",
                    role="system",
                    role_label=ROLE_LABELS["system"],
                    what="deadline-closed",
                    label=f"{EVENT_LABELS['deadline-closed']}: {_deadline_label(kind)}",
                    kind="clock",
                    deadlines=[change],
                )
            )


async def build_timeline(
    history: WorkflowHistory | Sequence[WorkflowHistory],
    *,
    source: str = "temporal",
    converter: DataConverter = pydantic_data_converter,
    archive: ArchiveSeal | None = None,
    complete: bool = True,
) -> ChainTimeline:
    """The readable timeline of one case from its workflow history: one run's, or every run's
    of a case that continued as new (oldest first, as `fetch_chain` gives them).

    Args:
        history: the history, fetched (`handle.fetch_history()`) or from an archive
            (`WorkflowHistory.from_json`); or the histories of the case's runs, oldest first.
        source: `temporal` or `archive`, shown on the timeline.
        converter: the data converter the workflow's payloads were written with.
        archive: the archive's hash, when known from the archive row.
        complete: False when earlier runs could not be read (shown on the timeline).
    """
    histories = [history] if isinstance(history, WorkflowHistory) else list(history)
    if not histories:
        raise ValueError("no history")
    reader = HistoryReader(converter)
    reads = [await reader.read(h.events, run=i) for i, h in enumerate(histories, start=1)]
    record = gather(reads)
    entries = _Assembler(reads, record).build()
    first, last = reads[0], reads[-1]
    snap, start = record.newest or {}, first.start
    # The bounded case answers Updates with a small result: it may be newer than any snapshot.
    newer = [x for r in reads for x in r.results if x["version"] > snap.get("version", -1)]
    head = max(newer, key=lambda x: x["version"]) if newer else {}

    def pick(name: str, default: Any = None) -> Any:
        return head.get(name, snap.get(name, start.get(name, default)))

    status = Status(pick("status", Status.REGISTERED.value))
    category = Category(pick("category", Category.OTHER.value))
    found = next((r.archive for r in reversed(reads) if r.archive and r.archive.get("sha256")), None)
    if archive is None and found:
        archive = ArchiveSeal(
            sha256=found["sha256"], prev_sha256=found.get("prev_sha256"), archived_at=bj(found["archived_at"])
        )
    outcome = pick("outcome")
    runs = [
        TimelineRun(
            run=r.run,
            run_id=r.run_id,
            continued_from=r.continued_from,
            history_events=r.events,
            started_at=bj(r.started_at) if r.started_at else None,
            closed_at=bj(r.closed_at) if r.closed_at else None,
            ended=r.ended,
        )
        for r in reads
    ]
    return ChainTimeline(
        number=str(pick("number", histories[-1].workflow_id)),
        status=status,
        center=str(pick("center", "default")),
        appeal_center=snap.get("appeal_center"),
        status_label=STATUS_LABELS[status],
        outcome=Outcome(outcome) if outcome else None,
        category=category,
        category_label=CATEGORY_LABELS[category],
        grade=Grade(pick("grade", Grade.BASIC.value)),
        respondent_unit=str(pick("respondent_unit", "")),
        handling_unit=snap.get("handling_unit"),
        source=source,
        workflow_id=histories[-1].workflow_id,
        run_id=last.run_id,
        history_events=sum(r.events for r in reads),
        started_at=bj(first.started_at) if first.started_at else None,
        closed_at=bj(last.closed_at) if last.closed_at and last.ended != "continued-as-new" else None,
        archive=archive,
        generated_at=bj(datetime.now(UTC)),
        entries=entries,
        runs=runs,
        runs_complete=complete and first.continued_from is None,
    )


# ------------------------------------------------------------------ the API's use of it

#: The archived history of a case whose workflow Temporal no longer holds (retention).
SELECT_ARCHIVED_HISTORY = """
SELECT document->'history' AS history, document->'previous_runs' AS previous_runs,
       document->'case'->>'center' AS center,
       document->'case'->>'appeal_center' AS appeal_center, sha256, prev_sha256, archived_at
FROM archives WHERE number = $1
"""


#: The whole walk over a case's runs gets this many times one Temporal call's deadline.
CHAIN_DEADLINE_FACTOR = 10


def may_see(user: User, center: str | None, appeal_center: str | None) -> bool:
    """R-46: a user sees their center's cases and the appeals their center reviews."""
    return user.center == center or (appeal_center is not None and user.center == appeal_center)


TimelineFormat = Annotated[
    Literal["json", "html"],
    Query(description="json (default), or html: a printable page for the case file (卷宗)."),
]
Download = Annotated[
    bool,
    Query(description="true: sent as an attachment (`<number>-timeline.json` or `.html`)."),
]

#: OpenAPI description of the 200 answer: JSON or the printable page.
TIMELINE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The timeline (JSON), or with format=html the printable page.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
}


def timeline_response(t: CaseTimeline, fmt: str, download: bool) -> Response:
    """The timeline as JSON or as the printable page, inline or as an attachment.

    The JSON is written here, not by the route's `response_model` (`CaseTimeline`), so that
    what `ChainTimeline` adds (each entry's run, the runs) is not filtered out.
    """
    headers = {}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{t.number}-timeline.{fmt}"'
    if fmt == "html":
        return HTMLResponse(render_html(t), headers=headers)
    text = t.model_dump_json(indent=2) if download else t.model_dump_json()
    return Response(text, media_type="application/json", headers=headers)


async def archived_timeline(
    pool: asyncpg.Pool,
    number: str,
    user: User,
    converter: DataConverter = pydantic_data_converter,
) -> CaseTimeline:
    """The timeline from the history stored in the case's archive (404 if none)."""
    row = await pool.fetchrow(SELECT_ARCHIVED_HISTORY, number)
    if row is None or not may_see(user, row["center"], row["appeal_center"]) or not row["history"]:
        raise not_found()

    def parsed(raw: Any) -> Any:
        return json.loads(raw) if isinstance(raw, str) else raw

    runs = archived_runs({"history": parsed(row["history"]), "previous_runs": parsed(row["previous_runs"])})
    histories = [WorkflowHistory.from_json(number, h) for _, h in runs]
    seal = ArchiveSeal(
        sha256=row["sha256"], prev_sha256=row["prev_sha256"], archived_at=bj(row["archived_at"])
    )
    return await build_timeline(histories, source="archive", converter=converter, archive=seal)


async def case_timeline(cases: CaseService, number: str, user: User) -> CaseTimeline:
    """The timeline of a case of the caller's center, from Temporal, else from its archive.

    No worker is needed: the history is read from the Temporal server, not queried.
    """
    converter = cases.client.data_converter
    try:
        # Each run's history is one call (with its own deadline); the walk is capped in runs.
        chain = await temporal_call(
            fetch_chain(cases.client, number, rpc_timeout=cases.rpc),
            timeout=cases.timeout * CHAIN_DEADLINE_FACTOR,
            what="the workflow history",
        )
    except ApiError as e:
        if e.http_status != 404:
            raise
        return await archived_timeline(cases.pool, number, user, converter)
    if not chain.histories[-1].events:
        return await archived_timeline(cases.pool, number, user, converter)
    timeline = await build_timeline(chain.histories, converter=converter, complete=chain.complete)
    if not may_see(user, timeline.center, timeline.appeal_center):
        raise not_found()
    return timeline


# ------------------------------------------------------------------ the printable page (卷宗)

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
  sans-serif;margin:2em;color:#111;font-size:13px}
h1{font-size:20px;margin:0 0 .3em}h2{font-size:15px;margin:1.2em 0 .4em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:4px 6px;
  vertical-align:top;text-align:left}th{background:#eee}
.meta td:first-child{width:16em;background:#f6f6f6}
.ignored{color:#7a4b00;background:#fff7e6}.refused{color:#8b0000;background:#fdecec}
.timer,.clock{color:#555}.small{font-size:11px;color:#555}
ul{margin:0;padding-left:1.1em}code{font-size:11px;word-break:break-all}
@media print{body{margin:0}th{background:#ddd!important}tr{page-break-inside:avoid}
  .noprint{display:none}}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _value_text(v: Any) -> str:
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            return v
        return bj_text(t) if t.tzinfo else v
    return json.dumps(v, ensure_ascii=False)


def _detail_html(detail: dict[str, Any]) -> str:
    parts = []
    for k, v in detail.items():
        if v in (None, "", [], {}) or k == "deadlines":  # the clocks are under Effect
            continue
        parts.append(f"<li>{_e(k)}: {_e(_value_text(v))}</li>")
    return f"<ul>{''.join(parts)}</ul>" if parts else ""


def _effect_html(item: TimelineItem) -> str:
    parts: list[str] = []
    if item.status_before and item.status_after and item.status_before != item.status_after:
        parts.append(f"<li>状态 status: {_e(item.status_before_label)} → {_e(item.status_after_label)}</li>")
    for d in item.deadlines:
        text = f"{d.label}: {d.change_label} {d.due_at_beijing}"
        if d.previous_due_at is not None:
            text += f" (原 was {bj_text(d.previous_due_at)})"
        if d.on_time is not None:
            text += " · 按时 on time" if d.on_time else " · 超期 late"
        if d.provisional:
            text += " · 暂定 provisional"
        parts.append(f"<li>{_e(text)}</li>")
    if item.reason:
        parts.append(f"<li>原因 reason: {_e(item.reason)}</li>")
    if item.pending:
        parts.append("<li>待处理 not yet applied</li>")
    return f"<ul>{''.join(parts)}</ul>" if parts else ""


def _rows(entries: Iterable[TimelineItem], multi_run: bool = False) -> str:
    rows = []
    for x in entries:
        css = "ignored" if x.ignored else "refused" if x.refused else x.kind
        unit = f" · {_e(x.unit)}" if x.unit else ""
        who = f"{_e(x.who)}<br><span class=small>{_e(x.role_label)}{unit}</span>"
        run = getattr(x, "run", None)
        where = f"#{x.event_id}" if x.event_id else ""
        if run is not None and multi_run:
            where = f"{where} · 运行 run {run}".lstrip(" ·")
        event = f"<br><span class=small>{_e(where)}</span>" if where else ""
        # The reason of an ignored signal or a refusal is shown under Effect, not twice.
        detail = {k: v for k, v in x.detail.items() if not (x.reason and k == "reason")}
        rows.append(
            f"<tr class={css}><td>{_e(bj_text(x.at, seconds=True))}{event}</td>"
            f"<td>{who}</td>"
            f"<td><b>{_e(x.label)}</b><br><span class=small>{_e(x.what)} · "
            f"{_e(KIND_LABELS.get(x.kind, x.kind))}</span>{_detail_html(detail)}</td>"
            f"<td>{_effect_html(x)}</td></tr>"
        )
    return "\n".join(rows)


def _runs_text(runs: list[TimelineRun], complete: bool) -> str:
    """`共 3 次运行 3 runs: 1 <run id> (120 events, continued as new); 2 ...`."""
    if not runs:
        return "1"
    parts = [
        f"{r.run} {r.run_id or '—'} ({r.history_events} events"
        + (f", {r.ended.replace('-', ' ')}" if r.ended else ", open")
        + ")"
        for r in runs
    ]
    head = f"共 {len(runs)} 次运行 {len(runs)} run{'s' if len(runs) != 1 else ''}"
    if not complete:
        head += " · 更早的运行已不可读 earlier runs could not be read"
    return f"{head}: " + "; ".join(parts)


def render_html(t: CaseTimeline) -> str:
    """A self-contained printable page of the timeline (no external assets), for the 卷宗."""
    runs: list[TimelineRun] = getattr(t, "runs", [])
    meta = [
        ("投诉编号 Number", t.number),
        ("类别 Category", f"{t.category_label} ({t.category.value})"),
        ("等级 Grade", t.grade.value),
        ("被投诉单位 Respondent unit", t.respondent_unit),
        ("承办单位 Handling unit", t.handling_unit or "—"),
        ("状态 Status", t.status_label + (f" · {t.outcome.value}" if t.outcome else "")),
        (
            "来源 Source",
            "Temporal 工作流历史 workflow history"
            if t.source == "temporal"
            else "归档中的工作流历史 history stored in the archive",
        ),
        ("工作流 Workflow", f"{t.workflow_id} / {t.run_id or '—'} · {t.history_events} events"),
        ("运行 Runs", _runs_text(runs, getattr(t, "runs_complete", True))),
        ("开始 Started", bj_text(t.started_at, seconds=True)),
        ("结束 Closed", bj_text(t.closed_at, seconds=True)),
    ]
    if t.archive is not None:
        meta.append(("归档哈希 Archive SHA-256", t.archive.sha256))
        meta.append(("前一归档 Previous archive", t.archive.prev_sha256 or "—"))
    meta_rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{_e(t.number)} 办理过程 Case timeline</title><style>{_CSS}</style></head>
<body>
<h1>投诉办理过程记录 Case timeline — {_e(t.number)}</h1>
<p class=small>时间均为北京时间 All times are Beijing time (UTC+8). 生成于 Generated
{_e(bj_text(t.generated_at, seconds=True))}. #n = Temporal 历史事件编号 history event id
(<code>temporal workflow show --workflow-id {_e(t.workflow_id)}</code>; of the run shown as
"运行 run n" when the case continued as new).</p>
<table class=meta>{meta_rows}</table>
<h2>过程 Timeline ({len(t.entries)})</h2>
<table>
<thead><tr><th style="width:11em">时间 When</th><th style="width:12em">操作人 Who</th>
<th>事项 What</th><th style="width:30%">结果 Effect</th></tr></thead>
<tbody>
{_rows(t.entries, len(runs) > 1)}
</tbody></table>
<p class=small>本页由工作流历史生成，不含投诉人个人信息。 Built from the workflow history;
it holds no complainant identity (R-32, R-33).</p>
</body></html>
"""
