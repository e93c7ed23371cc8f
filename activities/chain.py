"""A case's chain of workflow runs, and its record gathered over every snapshot of every run.

A case is one workflow id, but not always one run: when a run's history passes its budget the
workflow continues as new (`WorkflowExecutionContinuedAsNew`), and the next run's
`WorkflowExecutionStarted` names the previous run in `continued_execution_run_id`. The newest
run's history alone is then not the case: the timeline, the archive and the replay verification
walk the chain back to the first run (`fetch_chain`).

The case record inside the histories is bounded too: the `CaseState` snapshots the workflow
writes (inputs of `project_case` and `archive_case`, the carried state of a continued run, the
workflow result; in histories recorded before the bounded case also every Update result) cap
their growing lists — the action records travel only once, in the `events` of the
`project_case` input that projects them, and ignored signals, closed deadlines and the like keep
only the last ones. `CaseRecord` gathers the complete lists back as unions over every snapshot
(`add_snapshot`) and every list of projected records (`add_records`).

Everything here reads plain JSON (dicts), never today's models, so a history recorded years ago
still reads after the models have changed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from temporalio.api.enums.v1 import EventType

if TYPE_CHECKING:
    from datetime import timedelta

    from temporalio.client import Client, WorkflowHistory

#: How many runs of one case are followed at most: a hostile or broken chain (a cycle, or an
#: endless series of tiny runs) cannot make a reader run forever.
MAX_RUNS = 1000

#: The keys that make a dict a `CaseState` snapshot (an Update's `ActionResult` lacks `actions`).
SNAPSHOT_KEYS = ("number", "status", "version", "actions", "deadlines")

#: The growing lists of the case record whose items never change once written: gathered as
#: multisets (an item appears as many times as in the snapshot that holds it most often).
IMMUTABLE_LISTS = ("ignored_signals", "investigation")


def is_snapshot(value: Any) -> bool:
    """Whether `value` is a `CaseState` snapshot (as JSON), not a small Update result."""
    return (
        isinstance(value, dict)
        and all(k in value for k in SNAPSHOT_KEYS)
        and isinstance(value.get("version"), int)
        and isinstance(value.get("actions"), list)
    )


def _started(history: WorkflowHistory) -> Any:
    """The attributes of the history's first event if it is the run's start, else None."""
    if not history.events:
        return None
    first = history.events[0]
    if first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return None
    return first.workflow_execution_started_event_attributes


def previous_run_id(history: WorkflowHistory) -> str | None:
    """The run this one continued from, if it was started by a continue-as-new."""
    started = _started(history)
    return (started.continued_execution_run_id or None) if started is not None else None


def run_id_of(history: WorkflowHistory) -> str | None:
    """The run id recorded in a history's first event (`original_execution_run_id`)."""
    started = _started(history)
    return (started.original_execution_run_id or None) if started is not None else None


@dataclass
class Chain:
    """The histories of a case's runs, oldest first."""

    histories: list[WorkflowHistory]
    run_ids: list[str | None]
    complete: bool = True
    """False when the walk stopped before the first run (a run Temporal no longer holds, or
    the cap on runs was reached); `missing_before` is then the run id it could not read."""
    missing_before: str | None = None


async def fetch_chain(
    client: Client,
    workflow_id: str,
    *,
    run_id: str | None = None,
    limit: int = MAX_RUNS,
    rpc_timeout: timedelta | None = None,
) -> Chain:
    """Fetch the history of `run_id` (default: the newest run) and of every run before it.

    Walks back through `continued_execution_run_id`, at most `limit` runs, never the same run
    twice. A run that cannot be read any more (Temporal's retention dropped it) ends the walk:
    the chain is then marked incomplete. The newest run's errors (no such workflow) propagate.
    """
    from temporalio.service import RPCError, RPCStatusCode

    newest = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history(
        rpc_timeout=rpc_timeout
    )
    histories = [newest]
    run_ids: list[str | None] = [run_id or run_id_of(newest)]
    seen = {r for r in run_ids if r}
    chain = Chain(histories=histories, run_ids=run_ids)
    prev = previous_run_id(newest)
    while prev is not None:
        if len(histories) >= limit or prev in seen:
            chain.complete, chain.missing_before = False, prev
            break
        try:
            h = await client.get_workflow_handle(workflow_id, run_id=prev).fetch_history(
                rpc_timeout=rpc_timeout
            )
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            chain.complete, chain.missing_before = False, prev
            break
        if not h.events:
            chain.complete, chain.missing_before = False, prev
            break
        seen.add(prev)
        histories.append(h)
        run_ids.append(prev)
        prev = previous_run_id(h)
    histories.reverse()
    run_ids.reverse()
    return chain


# ------------------------------------------------------------------ the record over snapshots


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _deadline_key(d: dict[str, Any]) -> tuple[Any, ...]:
    """A clock is one entry from when it opens; closing or extending it changes it in place,
    and a restarted clock is a new entry (a new start, or closed at another instant)."""
    return (d.get("kind"), d.get("start"), d.get("state") if d.get("closed_at") else None, d.get("closed_at"))


@dataclass
class CaseRecord:
    """The case record gathered over many snapshots: action records united by `seq`, the
    immutable lists (ignored signals, investigation steps) as multisets by content, the
    mutable ones (deadlines, escalations, extensions) by identity, the newest version winning.
    """

    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    unnumbered: list[dict[str, Any]] = field(default_factory=list)
    whole: set[int] = field(default_factory=set)
    lists: dict[str, dict[str, tuple[dict[str, Any], int]]] = field(default_factory=dict)
    deadlines: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    escalations: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    extensions: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    newest: dict[str, Any] | None = None
    ignored_total: int = 0

    def add_records(self, records: Iterable[Any], *, whole: bool = False) -> None:
        """Action records: a snapshot's `actions` or an Update result's `records` (in the
        bounded shape their texts are cut), or a `project_case` input's `events` (`whole`: a
        whole record is never replaced by a cut copy of it)."""
        for rec in records:
            if not isinstance(rec, dict):
                continue
            seq = rec.get("seq")
            if isinstance(seq, int):
                if seq in self.whole and not whole:
                    continue
                self.records[seq] = rec
                if whole:
                    self.whole.add(seq)
            elif not any(_key(rec) == _key(u) for u in self.unnumbered):
                self.unnumbered.append(rec)

    def add_snapshot(self, state: Any) -> None:
        """A `CaseState` snapshot (old shape: every list whole; new shape: bounded)."""
        if not is_snapshot(state):
            return
        version: int = state["version"]
        if self.newest is None or version >= self.newest["version"]:
            self.newest = state
        self.add_records(state.get("actions") or [])
        for name in IMMUTABLE_LISTS:
            items = [x for x in state.get(name) or [] if isinstance(x, dict)]
            seen = self.lists.setdefault(name, {})
            for k, n in Counter(_key(x) for x in items).items():
                if k not in seen or seen[k][1] < n:
                    seen[k] = (json.loads(k), n)
        self.add_deadlines(state.get("deadlines") or [], version)
        for name, by in (("escalations", ("source", "at")), ("extensions", ("requested_at",))):
            target = getattr(self, name)
            for x in state.get(name) or []:
                if isinstance(x, dict):
                    k = _key([x.get(b) for b in by])
                    if k not in target or target[k][0] <= version:
                        target[k] = (version, x)
        total = state.get("ignored_total")
        if isinstance(total, int):
            self.ignored_total = max(self.ignored_total, total)

    def add_deadlines(self, deadlines: Iterable[Any], version: int) -> None:
        """Clocks (from a snapshot, or the ones an Update's result says it changed)."""
        for d in deadlines:
            if isinstance(d, dict):
                k = _deadline_key(d)
                if k not in self.deadlines or self.deadlines[k][0] <= version:
                    self.deadlines[k] = (version, d)

    # -- the complete lists

    def action_records(self) -> list[dict[str, Any]]:
        """Every action record, by `seq`."""
        return [self.records[s] for s in sorted(self.records)] + self.unnumbered

    def ignored_signals(self) -> list[dict[str, Any]]:
        return self._multiset("ignored_signals")

    def investigation(self) -> list[dict[str, Any]]:
        return self._multiset("investigation")

    def closed_deadlines(self) -> list[dict[str, Any]]:
        """Every clock that closed (met, cancelled, expired), in the order first seen."""
        return [
            d
            for _, d in self.deadlines.values()
            if d.get("state") not in (None, "open") and d.get("closed_at")
        ]

    def all_deadlines(self) -> list[dict[str, Any]]:
        """Every clock: the closed ones, then the newest snapshot's open ones."""
        opened = [
            d
            for d in (self.newest or {}).get("deadlines") or []
            if isinstance(d, dict) and d.get("state") in (None, "open")
        ]
        return self.closed_deadlines() + opened

    def escalation_list(self) -> list[dict[str, Any]]:
        return sorted((x for _, x in self.escalations.values()), key=lambda x: str(x.get("at")))

    def extension_list(self) -> list[dict[str, Any]]:
        return sorted((x for _, x in self.extensions.values()), key=lambda x: str(x.get("requested_at")))

    def _multiset(self, name: str) -> list[dict[str, Any]]:
        out = [x for x, n in self.lists.get(name, {}).values() for _ in range(n)]
        return sorted(out, key=lambda x: str(x.get("at", "")))  # stable: same instant keeps order

    def complete_lists(self) -> dict[str, Any]:
        """The capped lists of the case record in full, as the archive lists them."""
        ignored = self.ignored_signals()
        return {
            "ignored_signals": ignored,
            "ignored_total": max(self.ignored_total, len(ignored)),
            "deadlines": self.all_deadlines(),
            "investigation": self.investigation(),
            "escalations": self.escalation_list(),
            "extensions": self.extension_list(),
        }
