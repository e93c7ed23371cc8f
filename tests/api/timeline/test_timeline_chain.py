"""The timeline and the archive over a bounded case and a chain of runs, without any server.

The recorded histories (tests/histories/) are rewritten into the bounded case's shape (empty
`actions` in every snapshot, the records only in `project_case`'s `events`, ignored signals and
closed clocks capped, small Update results) and cut into two runs joined by a continue-as-new
(`tests/api/timeline/chain_histories.py`): the timeline must still show every step exactly as it reads
from the recorded history. Then the union rules on hand-built snapshots, the walk back through
`continued_execution_run_id` (capped, cycle-proof) and the archive's reading of every run.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from activities.archive import (
    ArchivedRun,
    ReplayVerdict,
    archived_runs,
    complete_record,
    replay_runs,
)
from activities.chain import CaseRecord, fetch_chain, is_snapshot
from api.timeline.assemble import BEYOND_CAP
from api.timeline.build import build_timeline
from api.timeline.page import render_html
from api.timeline.schemas import ChainTimeline
from domain.models import CaseState
from tests.api.timeline.chain_histories import bounded, decode, split, split_point

HISTORIES = Path(__file__).parents[2] / "histories"
#: The histories recorded before the bounded shape: rewritten into it (and split into runs) here.
NAMES = sorted(p.stem for p in HISTORIES.glob("*.json") if not p.stem.startswith(("H3", "H4", "H5")))
#: A case recorded in the bounded shape (tests/histories/record.py): H3 continued as new four
#: times; H4, whose flushes are `deliver` local activities (records and snapshots in markers),
#: twice; H5 (the rectification patch) the same, its decision's rectification accepted last.
JOINT_RUNS = {
    p: sorted(x.stem for x in HISTORIES.glob(f"{p}-JOINT.run*.json")) for p in ("H3", "H4", "H5")
}


def recorded(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8"))
    return doc


def facts(t: ChainTimeline) -> list[dict[str, Any]]:
    """The entries without where they come from (run, event id)."""
    return [
        e.model_dump(mode="json", exclude={"run", "run_id", "event_id"})
        for e in t.entries
        if e.what != "workflow-continued-as-new"
    ]


async def timeline(name: str, *docs: dict[str, Any]) -> ChainTimeline:
    return await build_timeline([WorkflowHistory.from_json(name, d) for d in docs])


@pytest.mark.parametrize("name", NAMES)
async def test_bounded_history_reads_like_the_recorded_one(name: str) -> None:
    doc = recorded(name)
    original = await timeline(name, doc)
    now = await timeline(name, bounded(doc))
    assert facts(now) == facts(original)
    assert (now.status, now.outcome, now.history_events) == (
        original.status,
        original.outcome,
        original.history_events,
    )
    assert original.entries and all(e.run == 1 for e in now.entries)


@pytest.mark.parametrize("name", NAMES)
async def test_case_continued_as_new_reads_as_one_timeline(name: str) -> None:
    doc = bounded(recorded(name))
    original = await timeline(name, recorded(name))
    k = split_point(doc)
    first, second = split(doc, k)
    t = await timeline(name, first, second)
    assert facts(t) == facts(original)
    assert t.history_events == original.history_events + 2  # the continue-as-new and a start
    assert [(r.run, r.run_id, r.continued_from, r.ended) for r in t.runs] == [
        (1, "run-one", None, "continued-as-new"),
        (2, "run-two", "run-one", "completed"),
    ]
    assert t.run_id == "run-two" and t.runs_complete and t.status == original.status
    assert t.started_at == original.started_at and t.closed_at == original.closed_at
    # Each entry keeps the event it comes from, in its own run's numbering.
    before = {id(e): e for e in original.entries}
    assert len(before) == len(original.entries)
    pairs = zip(
        [e for e in t.entries if e.what != "workflow-continued-as-new"], original.entries, strict=True
    )
    for now, then in pairs:
        if then.event_id is None:
            assert now.event_id is None
        elif now.run == 2:
            assert (now.event_id, now.run_id) == (then.event_id - (k - 1), "run-two"), now
        else:
            assert (now.event_id, now.run, now.run_id) == (then.event_id, 1, "run-one"), now
    assert {e.run for e in t.entries} == {1, 2}
    [can] = [e for e in t.entries if e.what == "workflow-continued-as-new"]
    assert (can.run, can.event_id, can.kind) == (1, k + 1, "workflow")
    page = render_html(t)
    assert "共 2 次运行 2 runs" in page and "run-one" in page and "运行 run 2" in page


async def test_ignored_signals_beyond_the_cap_are_ignored_not_pending() -> None:
    doc = recorded("H-REFERRAL")
    kept = await timeline("H-REFERRAL", bounded(doc))
    [escalate] = [e for e in kept.entries if e.what == "escalate"]
    assert escalate.ignored and escalate.reason and escalate.reason.startswith("malformed input")
    # The workflow kept none of its ignored signals, only their count.
    t = await timeline("H-REFERRAL", bounded(doc, keep_ignored=0))
    [escalate] = [e for e in t.entries if e.what == "escalate"]
    assert escalate.ignored and not escalate.pending and escalate.reason == BEYOND_CAP
    assert escalate.event_id == next(e.event_id for e in kept.entries if e.what == "escalate")


async def test_update_results_are_not_snapshots_but_can_be_newer() -> None:
    """An Update's small result (no `actions`) never replaces the case record, yet its status
    is the case's when it is newer than every snapshot."""
    doc = bounded(recorded("H2-REJECTED"))
    events = doc["events"]
    # Cut right after the reject Update completed: no projection of it written yet.
    done = next(i for i, e in enumerate(events) if e["eventType"].endswith("UPDATE_COMPLETED"))
    t = await timeline("H2-REJECTED", {"events": events[: done + 1]})
    result = decode(
        events[done]["workflowExecutionUpdateCompletedEventAttributes"]["outcome"]["success"]["payloads"][0]
    )
    assert not is_snapshot(result) and result["status"] == "archived"
    assert t.status.value == "archived" and t.category.value == "attitude"
    [reject] = [e for e in t.entries if e.what == "reject"]
    assert not reject.pending  # completed; its record comes with the next projection


def state(version: int, **lists: Any) -> dict[str, Any]:
    """A bounded snapshot: just what the union reads."""
    base: dict[str, Any] = {
        "number": "X-1",
        "status": "referred",
        "version": version,
        "actions": [],
        "deadlines": [],
        "ignored_signals": [],
    }
    return {**base, **lists}


def rec(seq: int, action: str = "record-investigation") -> dict[str, Any]:
    return {"seq": seq, "action": action, "at": f"2026-12-01T0{seq % 10}:00:00Z"}


def ign(n: int, reason: str = "malformed input") -> dict[str, Any]:
    return {"signal": "escalate", "at": f"2026-12-01T00:00:{n:02d}Z", "reason": reason}


def clock(
    kind: str, state_: str, *, due: str = "2026-12-10T15:59:59Z", closed: str | None = None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "start": "2026-12-01T00:00:00Z",
        "due_at": due,
        "state": state_,
        "closed_at": closed,
    }


def test_union_of_records_ignored_signals_and_clocks() -> None:
    r = CaseRecord()
    # Old shape: the whole list in a snapshot; new shape: empty actions + the events projected.
    r.add_snapshot(state(1, actions=[rec(1, "register")]))
    r.add_records([rec(2), rec(3)])
    r.add_snapshot(state(3, actions=[]))
    r.add_records([rec(3), rec(4)])  # a retried projection sends a record again
    assert [x["seq"] for x in r.action_records()] == [1, 2, 3, 4]

    # Ignored signals capped to the last 2, with the count; two identical ones (same instant,
    # same reason) within one snapshot are two signals, not one.
    r.add_snapshot(state(4, ignored_signals=[ign(1), ign(1)], ignored_total=2))
    r.add_snapshot(state(5, ignored_signals=[ign(1), ign(2)], ignored_total=3))
    r.add_snapshot(state(6, ignored_signals=[ign(2), ign(3, "nothing pending")], ignored_total=4))
    assert r.ignored_signals() == [ign(1), ign(1), ign(2), ign(3, "nothing pending")]
    assert r.complete_lists()["ignored_total"] == 4

    # A clock open, then extended, then met: one closed clock, as it closed; a restarted clock
    # of the same kind is another; closed clocks capped away later stay in the union.
    r.add_snapshot(state(7, deadlines=[clock("handling", "open")]))
    r.add_snapshot(state(8, deadlines=[clock("handling", "open", due="2026-12-15T15:59:59Z")]))
    met = clock("handling", "met", due="2026-12-15T15:59:59Z", closed="2026-12-12T02:00:00Z")
    r.add_snapshot(state(9, deadlines=[met]))
    again = {**clock("handling", "open"), "start": "2026-12-13T00:00:00Z"}
    r.add_snapshot(state(10, deadlines=[again]))
    assert r.closed_deadlines() == [met]
    assert r.all_deadlines() == [met, again]

    # An Update's small result is not a snapshot; its clocks still count.
    small = {"number": "X-1", "status": "archived", "version": 11, "deadlines": [], "allowed_actions": {}}
    assert not is_snapshot(small) and is_snapshot(state(1))
    r.add_snapshot(small)
    assert r.newest is not None and r.newest["version"] == 10


def test_mutable_lists_take_the_newest_version() -> None:
    r = CaseRecord()
    esc = {"source": "overdue", "reason": "超期", "at": "2026-12-02T00:00:00Z", "resolved_at": None}
    r.add_snapshot(state(1, escalations=[esc], investigation=[{"at": "2026-12-01T01:00:00Z", "note": "a"}]))
    resolved = {**esc, "resolved_at": "2026-12-03T00:00:00Z"}
    r.add_snapshot(
        state(2, escalations=[resolved], investigation=[{"at": "2026-12-01T02:00:00Z", "note": "b"}])
    )
    lists = r.complete_lists()
    assert lists["escalations"] == [resolved]
    assert [x["note"] for x in lists["investigation"]] == ["a", "b"]


# ------------------------------------------------------------------ walking the chain back


class FakeHandle:
    def __init__(self, client: FakeClient, run_id: str | None) -> None:
        self.client, self.run_id = client, run_id

    async def fetch_history(self, rpc_timeout: timedelta | None = None) -> WorkflowHistory:
        self.client.fetched.append(self.run_id)
        run_id = self.run_id or self.client.newest
        if run_id not in self.client.runs:
            raise RPCError("workflow execution not found", RPCStatusCode.NOT_FOUND, b"")
        return WorkflowHistory.from_json("X-1", self.client.runs[run_id])


class FakeClient:
    def __init__(self, runs: dict[str, dict[str, Any]], newest: str) -> None:
        self.runs, self.newest = runs, newest
        self.fetched: list[str | None] = []

    def get_workflow_handle(self, workflow_id: str, *, run_id: str | None = None) -> FakeHandle:
        return FakeHandle(self, run_id)


def run_doc(run_id: str, previous: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {"workflowType": {"name": "ComplaintWorkflow"}, "originalExecutionRunId": run_id}
    if previous:
        attrs["continuedExecutionRunId"] = previous
    return {
        "events": [
            {
                "eventId": "1",
                "eventTime": "2026-12-01T00:00:00Z",
                "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
                "workflowExecutionStartedEventAttributes": attrs,
            }
        ]
    }


async def test_fetch_chain_walks_back_to_the_first_run() -> None:
    runs = {f"r{i}": run_doc(f"r{i}", f"r{i - 1}" if i > 1 else None) for i in range(1, 6)}
    client = FakeClient(runs, "r5")
    chain = await fetch_chain(client, "X-1")  # type: ignore[arg-type]
    assert chain.run_ids == ["r1", "r2", "r3", "r4", "r5"] and chain.complete
    assert client.fetched == [None, "r4", "r3", "r2", "r1"]
    # From a given run (the archive activity's own): that run and the ones before it.
    chain = await fetch_chain(client, "X-1", run_id="r3")  # type: ignore[arg-type]
    assert chain.run_ids == ["r1", "r2", "r3"]


async def test_fetch_chain_is_capped_and_cannot_loop() -> None:
    runs = {f"r{i}": run_doc(f"r{i}", f"r{i - 1}") for i in range(1, 2000)}  # never ends
    client = FakeClient(runs, "r1999")
    chain = await fetch_chain(client, "X-1", limit=50)  # type: ignore[arg-type]
    assert len(chain.histories) == 50 and not chain.complete and chain.missing_before == "r1949"
    cycle = FakeClient({"a": run_doc("a", "b"), "b": run_doc("b", "a")}, "a")
    chain = await fetch_chain(cycle, "X-1")  # type: ignore[arg-type]
    assert chain.run_ids == ["b", "a"] and not chain.complete and cycle.fetched == [None, "b"]
    # A run Temporal no longer holds (retention) ends the walk; the timeline says so.
    gone = FakeClient({"r2": run_doc("r2", "r1"), "r3": run_doc("r3", "r2")}, "r3")
    chain = await fetch_chain(gone, "X-1")  # type: ignore[arg-type]
    assert chain.run_ids == ["r2", "r3"] and not chain.complete and chain.missing_before == "r1"
    t = await build_timeline(chain.histories, complete=chain.complete)
    assert not t.runs_complete and "更早的运行已不可读" in render_html(t)


# ------------------------------------------------------------------ the archive of a chain


def test_archived_runs_reads_both_layouts() -> None:
    one = recorded("H2-REJECTED")
    [(run_id, history)] = archived_runs({"history": one})
    assert run_id == "50100765-7a6c-474c-a26c-3e9201e7c9b9" and history is one  # first layout
    first, second = split(bounded(one), split_point(bounded(one)))
    doc = {"history": second, "run_id": "run-two", "previous_runs": [{"run_id": "run-one", "history": first}]}
    assert [r for r, _ in archived_runs(doc)] == ["run-one", "run-two"]
    assert archived_runs({"history": None}) == []


async def test_replay_of_every_run_names_the_one_that_fails() -> None:
    doc = {
        "history": {"events": [{"n": 3}]},
        "run_id": "c",
        "previous_runs": [
            {"run_id": "a", "history": {"events": [{"n": 1}]}},
            {"run_id": "b", "history": {"events": [{"n": 2}]}},
        ],
    }
    seen: list[int] = []

    async def replay(number: str, history: dict[str, Any] | None) -> ReplayVerdict:
        assert history is not None
        seen.append(history["events"][0]["n"])
        return ReplayVerdict(ok=history["events"][0]["n"] != 2, error="NondeterminismError: x")

    verdict, failed = await replay_runs("X-1", doc, replay)
    assert seen == [1, 2, 3] and verdict.ok is False and failed == {"run": 2, "run_id": "b", "of": 3}
    assert verdict.error and verdict.error.startswith("run 2 of 3 (b): Nondeterminism")

    async def fine(number: str, history: dict[str, Any] | None) -> ReplayVerdict:
        return ReplayVerdict(ok=True if history is not None else None)

    assert (await replay_runs("X-1", doc, fine)) == (ReplayVerdict(ok=True), None)
    assert (await replay_runs("X-1", {"history": None}, fine)) == (ReplayVerdict(ok=None), None)


def archive_input(doc: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = decode(
        next(
            e["activityTaskScheduledEventAttributes"]["input"]["payloads"][0]
            for e in doc["events"]
            if e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {}).get("name")
            == "archive_case"
        )
    )["state"]
    return state


def test_archive_lists_what_the_state_no_longer_holds() -> None:
    whole = archive_input(recorded("H-REFERRAL"))
    doc = bounded(recorded("H-REFERRAL"), keep_ignored=0)
    first, second = split(doc, split_point(doc))
    final = archive_input(second)
    runs = [ArchivedRun("run-one", first), ArchivedRun("run-two", second)]
    known = {k: v for k, v in final.items() if k in CaseState.model_fields}
    lists = complete_record(CaseState.model_validate(known), runs)

    def closed(deadlines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return sorted((d["kind"], d["start"], d["state"]) for d in deadlines if d["state"] != "open")

    assert len(closed(final["deadlines"])) == 3 < len(closed(whole["deadlines"]))
    assert closed(lists["deadlines"]) == closed(whole["deadlines"])
    assert lists["ignored_total"] == len(whole["ignored_signals"]) == 1 and final["ignored_signals"] == []


@pytest.mark.parametrize(("shape", "runs"), [("H3", 5), ("H4", 3), ("H5", 3)])
async def test_recorded_case_over_several_runs_reads_as_one_timeline(shape: str, runs: int) -> None:
    """The joint case as recorded: every action record of every run, once, in order."""
    assert len(JOINT_RUNS[shape]) == runs
    t = await timeline(f"{shape}-JOINT", *(recorded(n) for n in JOINT_RUNS[shape]))
    assert [r.ended for r in t.runs] == ["continued-as-new"] * (runs - 1) + ["completed"]
    assert t.runs_complete and t.status == "archived" and t.outcome == "concluded"
    seqs = [e.seq for e in t.entries if e.seq is not None]
    assert seqs == list(range(1, len(seqs) + 1))
    whats = [e.what for e in t.entries if e.seq is not None]
    assert whats.count("record-investigation") == 40
    last = ["review-rectification"] if shape == "H5" else ["record-satisfaction"]
    assert whats[:2] == ["register", "accept"] and whats[-len(last):] == last
    assert "decide-extension" in whats
    # H5 was recorded from another day: its 10 days end before the extended clock's reminder.
    assert ("reminder" in whats) is (shape != "H5")
    ignored = [e for e in t.entries if e.ignored]
    assert len(ignored) == 2
