"""Building a case's timeline entries from what `HistoryReader` found in each run: every action
record, signal, timer and workflow event becomes one entry; each clock computed or closed is
attributed to the entry whose handler did it (by workflow time: an action record is made at the
end of its handler; handlers run one at a time under the workflow's lock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from activities.chain import CaseRecord
from api.timeline.reader import RunRead, SignalSeen, bj, bj_text, entry_at, parse_time
from api.timeline.schemas import DeadlineChange, RunItem, TimelineItem
from domain.labels import CHANGES
from domain.models import DeadlineKind
from domain.workdays import is_late

#: The reason shown for an ignored signal whose record the workflow no longer keeps.
BEYOND_CAP = "原因未保留 reason not kept: beyond the workflow's cap of ignored signals (ignored_total)"


@dataclass
class _Sink:
    """An entry that clocks can be attributed to: an action record or an ignored signal."""

    at: datetime
    seq: int
    start: datetime
    item: TimelineItem



def _actor(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _without_actor(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {} if value is None else {"input": value}
    return {k: v for k, v in value.items() if k != "actor"}


def _record_item(rec: dict[str, Any], kind: str) -> RunItem:
    actor = _actor(rec.get("actor"))
    at = parse_time(rec.get("at")) or datetime.now(UTC)
    what = str(rec.get("action", "?"))
    raw = rec.get("detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    before, after = rec.get("status_before"), rec.get("status_after")
    role = str(actor.get("role", "system"))
    return entry_at(at, who=str(actor.get("id", "system")), role=role, what=what, kind=kind,
                    seq=rec.get("seq"), unit=actor.get("unit"), status_before=before,
                    status_after=after, detail=detail)


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
        change=change,
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


class Assembler:
    """Turns what `HistoryReader` found in each run into one list of timeline entries."""

    def __init__(self, reads: Sequence[RunRead], record: CaseRecord) -> None:
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
                timer = entry_at(t, who="system", role="system", what="timer-fired", kind="timer",
                                 event_id=eid, detail={"timer_id": timer_id})
                self.items.append(self._run(timer, r.run))
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
        t = parse_time(at) if not isinstance(at, datetime) else at
        s = parse_time(start) if not isinstance(start, datetime) else start
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
                        and (parse_time(rec.get("at")) or u.at) >= u.handler_start
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
            item = entry_at(
                u.at,
                who=str(actor.get("id") or u.identity or "?"),
                role=role,
                what=u.name,
                kind="action",
                unit=actor.get("unit"),
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
            rec = _first_after(records, used_records, "action", s.name, s.at)
            ign = _first_after(ignored, used_ignored, "signal", s.name, s.at)
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
                item.detail = {**item.detail, "reason": BEYOND_CAP}
                self.items.append(item)
            else:  # received, not yet applied (or its snapshot not yet written)
                item = self._signal_item(s)
                item.pending = True
                self.items.append(item)

    def _sender(self, item: RunItem, s: SignalSeen) -> None:
        """A signal's actor is in its input when the API sent it; else the sender identity."""
        actor = _actor(s.input.get("actor") if isinstance(s.input, dict) else None)
        if actor:
            item.who, item.role = str(actor.get("id", item.who)), str(actor.get("role", item.role))
            item.unit = actor.get("unit")
        elif s.name != "duplicate-linked":
            item.who, item.role = s.identity or "operator", "operator"
        item.event_id, item.sender = s.event_id, s.identity or None
        self._run(item, s.run)

    def _signal_item(self, s: SignalSeen) -> RunItem:
        detail = _without_actor(s.input)
        item = entry_at(s.at, who="?", role="operator", what=s.name, kind="signal", detail=detail)
        self._sender(item, s)
        return item

    def _ignored_item(self, ign: dict[str, Any], s: SignalSeen | None) -> RunItem:
        name, reason = str(ign.get("signal", "?")), str(ign.get("reason", ""))
        at = parse_time(ign.get("at")) or (s.at if s else datetime.now(UTC))
        if s is not None:
            item = self._signal_item(s)
        else:
            item = entry_at(at, who="?", role="operator", what=name, kind="signal")
        item.at, item.at_beijing = bj(at), bj_text(at)
        item.ignored, item.reason = True, reason
        item.detail = {**item.detail, "reason": reason}
        return item

    def _clocks(self) -> None:
        """Attribute computed and closed clocks to the entries whose handlers did it."""
        deadlines = self.record.closed_deadlines()
        known: dict[str, tuple[datetime | None, datetime]] = {}  # kind -> (start, due)
        for c in self.computed:
            sink = _first_sink(self.sinks, c.at, within=False)
            for spec, res in zip(c.specs, c.results, strict=False):
                kind, due = str(spec.get("kind")), parse_time(res.get("due_at"))
                if due is None or kind not in {k.value for k in DeadlineKind}:
                    continue
                start = parse_time(spec.get("start"))
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
            state, closed = d.get("state"), parse_time(d.get("closed_at"))
            due = parse_time(d.get("due_at"))
            if state in (None, "open") or closed is None or due is None:
                continue
            kind = str(d.get("kind"))
            if kind not in {k.value for k in DeadlineKind} or state not in CHANGES:
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
            self.items.append(entry_at(  # closed by the passing of time alone
                closed, who="system", role="system", what="deadline-closed", kind="clock",
                deadlines=[change]))


def _first_after(
    entries: list[dict[str, Any]], used: set[int], key: str, name: str, at: datetime
) -> tuple[int, datetime | None] | None:
    """The first unused entry whose `key` is `name`, made at or after `at`: (index, its time)."""
    for i, e in enumerate(entries):
        t = parse_time(e.get("at"))
        if i not in used and e.get(key) == name and (t or at) >= at:
            return i, t
    return None
