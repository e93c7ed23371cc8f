"""The case file kept by the workflow: its state, records, outbox and projection.

`CaseFile` is the base of the workflow class: the state and what every part of the workflow
does with it (records, caps, notifications, archiving, the projection to PostgreSQL).
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from domain import lifecycle, policies
    from domain.models import (
        ActionRecord,
        Actor,
        CaseState,
        DeadlineKind,
        DeadlineState,
        DeliverInput,
        DuplicateLinkedInput,
        Grade,
        Notification,
        NotificationKind,
        NotifyInput,
        Outcome,
        ProjectInput,
        Recipient,
        Status,
    )
    from workflows.complaint.options import (
        BOUNDED,
        DELIVER,
        KEEP_ACTIONS,
        KEEP_ESCALATIONS,
        KEEP_EXTENSIONS,
        KEEP_IGNORED,
        KEEP_INVESTIGATION,
        KEEP_LINKED,
        KEEP_RECTIFICATION_REPORTS,
        LOCAL_ACTIVITIES,
        LOCAL_DELIVERY,
        SIDE_EFFECT,
        SYSTEM,
        _cut_detail,
    )
    from workflows.complaint.publish import publish


class CaseFile:
    """The case and its bookkeeping (the workflow's base class; no Temporal handlers here)."""

    s: CaseState | None
    policy: policies.Policy | None
    _lock: asyncio.Lock
    _outbox: list[Notification]
    _dirty: bool
    _projected_seq: int
    _note_seq: int
    _sa_last: dict[str, Any]
    _bounded: bool | None
    _local_delivery: bool | None
    _unprojected: list[ActionRecord]

    @property
    def state(self) -> CaseState:
        assert self.s is not None
        return self.s

    @property
    def _policy(self) -> policies.Policy:
        assert self.policy is not None
        return self.policy

    def _v3(self) -> bool:
        """Whether this case runs the bounded shape (BOUNDED); decided once, never in a query."""
        if self._bounded is None:
            self._bounded = workflow.patched(BOUNDED)
        return self._bounded

    def _delivers_locally(self) -> bool:
        """Whether flushes go through the `deliver` local activity (LOCAL_DELIVERY); decided
        once per run, at its start, so that a run never mixes the two shapes."""
        if self._local_delivery is None:
            self._local_delivery = workflow.patched(LOCAL_DELIVERY)
        return self._local_delivery

    def _lapse_extension(self, stage: DeadlineKind) -> None:
        """R-18: a request not decided when its stage closes lapses; it never moves a later stage."""
        s = self.state
        for e in s.extensions:
            if e.decided_at is None and e.stage == stage:
                e.decided_at, e.approved, e.lapsed = workflow.now(), False, True
                self._record("extension-lapsed", SYSTEM, s.status, {"stage": stage.value, "days": e.days})

    def _archive(self, outcome: Outcome) -> bool:
        """Archive the case (R-35); a concluded case whose rectification is still open waits
        for its acceptance (R-37): then nothing changes but the held outcome, and False."""
        s = self.state
        rect = s.open_rectification()
        if rect is not None and outcome == Outcome.CONCLUDED:
            rect.held_outcome = outcome
            self._changed()
            return False
        for d in s.open_deadlines():
            d.state, d.closed_at = DeadlineState.CANCELLED, workflow.now()
            if self._v3():
                self._lapse_extension(d.kind)
        s.status, s.outcome, s.archived_at = Status.ARCHIVED, outcome, workflow.now()
        self._notify(NotificationKind.ARCHIVED, Recipient.HANDLER, outcome=outcome.value)
        if self._v3() and outcome != Outcome.CONCLUDED:
            for dup in s.linked:  # the repeat complainants learn how the case ended
                self._tell_linked(dup)
        self._changed()
        return True

    def _tell_linked(self, dup: DuplicateLinkedInput) -> None:
        """R-45: what the primary's complainant was told, to a linked repeat complainant."""
        s = self.state
        if s.feedback is not None:
            data: dict[str, Any] = {
                "message": s.feedback.message,
                "appeal_route": s.feedback.appeal_route,
                "finding": s.decision.finding.value if s.decision else None,
            }
            kind = NotificationKind.FEEDBACK
        elif s.outcome is not None and s.outcome != Outcome.CONCLUDED:
            kind, data = NotificationKind.ARCHIVED, {"outcome": s.outcome.value, "primary": s.number}
        else:
            return  # the feedback, when given, reaches every linked complainant
        self._notify(
            kind, Recipient.COMPLAINANT, complainant_ref=dup.complainant_ref, about_case=dup.number, **data
        )

    def _notify(
        self,
        kind: NotificationKind,
        recipient: Recipient,
        *,
        unit: str | None = None,
        complainant_ref: str | None = None,
        about_case: str | None = None,
        **data: Any,
    ) -> None:
        s = self.state
        self._note_seq += 1
        self._outbox.append(
            Notification(
                key=f"{s.number}:{self._note_seq}",
                number=s.number,
                kind=kind,
                recipient=recipient,
                unit=unit,
                complainant_ref=(complainant_ref or s.complainant_ref)
                if recipient == Recipient.COMPLAINANT
                else None,
                about_case=about_case,
                data=data,
                created_at=workflow.now(),
            )
        )

    def _record(self, action: str, actor: Actor, before: Status, detail: dict[str, Any]) -> None:
        s = self.state
        s.actions_total += 1
        record = ActionRecord(
            seq=s.actions_total,
            action=action,
            actor=actor,
            at=workflow.now(),
            status_before=before,
            status_after=s.status,
            detail=detail,
        )
        if self._v3():
            # The whole record goes to PostgreSQL once (the projection's events); the case keeps
            # the newest records with their texts cut, so that nothing here grows without bound.
            self._unprojected.append(record)
            s.actions.append(record.model_copy(update={"detail": _cut_detail(detail)}))
            self._trim()
        else:
            s.actions.append(record)
        self._changed()

    def _trim(self) -> None:
        """Keep every growing list of the case within its cap (BOUNDED shape)."""
        s = self.state
        del s.actions[:-KEEP_ACTIONS]
        del s.ignored_signals[:-KEEP_IGNORED]
        del s.investigation[:-KEEP_INVESTIGATION]
        del s.linked[:-KEEP_LINKED]
        if s.rectification is not None:
            del s.rectification.reports[:-KEEP_RECTIFICATION_REPORTS]
        if len(s.escalations) > KEEP_ESCALATIONS:
            resolved = [e for e in s.escalations if e.resolved_at is not None]
            drop = {id(e) for e in resolved[: len(s.escalations) - KEEP_ESCALATIONS]}
            s.escalations = [e for e in s.escalations if id(e) not in drop]
        if len(s.extensions) > KEEP_EXTENSIONS:
            decided = [e for e in s.extensions if e.decided_at is not None]
            drop = {id(e) for e in decided[: len(s.extensions) - KEEP_EXTENSIONS]}
            s.extensions = [e for e in s.extensions if id(e) not in drop]
        # Deadlines are never dropped: the read model numbers them by position. They grow only
        # by steps of the procedure that several roles must take in turn (a document request
        # waits for its reply, `domain.lifecycle`), never by one actor alone.

    def _changed(self) -> None:
        s = self.state
        s.version += 1
        s.overdue = any(d.overdue for d in s.open_deadlines())
        s.supervised = s.status != Status.ARCHIVED and bool(s.open_escalations() or s.grade == Grade.MAJOR)
        self._dirty = True
        self._sa_last = publish(s, self._sa_last)

    def _snapshot(self) -> CaseState:
        """The case with the allowed actions per role; never changes the case (queries use it)."""
        s = self.state
        return s.model_copy(update={"allowed_actions": lifecycle.allowed_by_role(s, workflow.now())})

    async def _flush(self) -> None:
        """Deliver the outbox and the read-model projection (activities retry until they land)."""
        if self._bounded and self._delivers_locally():
            await self._deliver()
            return
        if self._bounded:
            calls = []
            if self._outbox:
                batch, self._outbox = NotifyInput(notifications=self._outbox), []
                calls.append(workflow.execute_activity("notify", batch, **SIDE_EFFECT))
            if self._dirty or self._unprojected:
                calls.append(
                    workflow.execute_activity("project_case", self._bounded_projection(), **SIDE_EFFECT)
                )
            await asyncio.gather(*calls)
            return
        if not workflow.patched(LOCAL_ACTIVITIES):
            await self._flush_v1()
            return
        # Both at once (they write different tables): one workflow task fewer per change. They
        # stay regular activities: the projection's input is the case snapshot that the
        # history-based timeline (api/timeline.py) reads from the ActivityTaskScheduled events.
        calls = []
        if self._outbox:
            batch, self._outbox = NotifyInput(notifications=self._outbox), []
            calls.append(workflow.execute_activity("notify", batch, **SIDE_EFFECT))
        if self._dirty:
            calls.append(workflow.execute_activity("project_case", self._projection(), **SIDE_EFFECT))
        await asyncio.gather(*calls)

    async def _deliver(self) -> None:
        """One flush in one local activity; if it fails, the regular activities take over."""
        batch = NotifyInput(notifications=self._outbox) if self._outbox else None
        self._outbox = []
        projection = self._bounded_projection() if self._dirty or self._unprojected else None
        try:
            # The answer (the projection, echoed for the history) is not read back here: left
            # as plain JSON, it costs the workflow no model validation of the case.
            await workflow.execute_local_activity(
                "deliver", DeliverInput(notify=batch, project=projection), **DELIVER
            )
        except FailureError:  # a local activity fails as an ApplicationError, a TimeoutError…
            calls = []
            if batch is not None:
                calls.append(workflow.execute_activity("notify", batch, **SIDE_EFFECT))
            if projection is not None:
                calls.append(workflow.execute_activity("project_case", projection, **SIDE_EFFECT))
            await asyncio.gather(*calls)

    async def _flush_v1(self) -> None:
        """The flush of cases started before LOCAL_ACTIVITIES: keep exactly as it was."""
        if self._outbox:
            batch, self._outbox = self._outbox, []
            await workflow.execute_activity("notify", NotifyInput(notifications=batch), **SIDE_EFFECT)
        if self._dirty:
            await workflow.execute_activity("project_case", self._projection(), **SIDE_EFFECT)

    def _bounded_projection(self) -> ProjectInput:
        """The case without its action records and investigation steps, and the whole records
        not yet projected: every record travels once (each step is in its record), so a
        projection's size does not grow with the case."""
        self._dirty = False
        events, self._unprojected = self._unprojected, []
        if events:
            self._projected_seq = events[-1].seq
        state = self._snapshot().model_copy(update={"actions": [], "investigation": []}, deep=True)
        return ProjectInput(state=state, events=events)

    def _projection(self) -> ProjectInput:
        """The case now and its events not yet projected; marks the case as projected."""
        self._dirty = False
        s = self.state
        events = [a for a in s.actions if a.seq > self._projected_seq]
        self._projected_seq = len(s.actions)
        return ProjectInput(state=self._snapshot(), events=events)
