"""The case's clocks: open, move and close deadlines, sleep until the next instant, and at
that instant remind, mark overdue, warn and escalate (R-30), once per stage. Used by the
workflow the way samples-python uses its updatable timer: the run loop asks `_next_wakeup`
and calls `_fire_due`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.clocks import OVERDUE_MARKED
    from domain.labels import both
    from domain.models import (
        Actor,
        ComputeDeadlinesInput,
        ComputeDeadlinesResult,
        Deadline,
        DeadlineKind,
        DeadlineSpec,
        DeadlineState,
        Escalation,
        EscalationSource,
        NotificationKind,
        Outcome,
        Rating,
        Recipient,
        Satisfaction,
        Status,
    )
    from domain.workdays import deadline_end
    from workflows.complaint.casefile import CaseFile
    from workflows.complaint.options import (
        COMPUTE,
        LOCAL_ACTIVITIES,
        SYSTEM,
        _cut,
    )


class Clocks(CaseFile):
    """Deadlines (R-41..R-43 via the `compute_deadlines` activity) and what their instants do."""

    def _spec(self, kind: DeadlineKind, start: datetime, extra_days: int = 0) -> DeadlineSpec:
        limit = self._policy.limit(kind)
        return DeadlineSpec(
            kind=kind, start=start, amount=limit.amount, unit=limit.unit, extra_days=extra_days
        )

    async def _compute(self, *specs: DeadlineSpec) -> ComputeDeadlinesResult:
        inp = ComputeDeadlinesInput(specs=list(specs))
        if self._v3() or workflow.patched(LOCAL_ACTIVITIES):
            # A local activity: its result is still a marker in the history (replay never
            # recomputes), without a round trip through the server.
            return await workflow.execute_local_activity(
                "compute_deadlines", inp, result_type=ComputeDeadlinesResult, **COMPUTE
            )
        return await workflow.execute_activity(
            "compute_deadlines", inp, result_type=ComputeDeadlinesResult, **COMPUTE
        )

    async def _open_deadlines(self, *kinds: tuple[DeadlineKind, datetime]) -> None:
        """Open (or restart) the given clocks; any open clock of the same kind is replaced."""
        specs = [self._spec(kind, start) for kind, start in kinds]
        result = await self._compute(*specs)
        for spec, c in zip(specs, result.deadlines, strict=True):
            self._close(spec.kind, DeadlineState.CANCELLED)
            self.state.deadlines.append(
                Deadline(
                    kind=spec.kind,
                    start=spec.start,
                    amount=spec.amount,
                    unit=spec.unit,
                    due_at=c.due_at,
                    remind_at=c.remind_at if self._policy.remind else None,
                    provisional=c.provisional,
                )
            )
        self._changed()

    async def _recompute(self, d: Deadline) -> None:
        """Recompute one open clock in place (extension or new holiday data); re-arms it."""
        c = (
            await self._compute(
                DeadlineSpec(
                    kind=d.kind, start=d.start, amount=d.amount, unit=d.unit, extra_days=d.extended_days
                )
            )
        ).deadlines[0]
        if c.due_at != d.due_at:
            now = workflow.now()
            d.due_at, d.provisional = c.due_at, c.provisional
            d.remind_at = c.remind_at if self._policy.remind else None
            if self._v3():
                # overdue is a fact about the past and a stage is escalated once;
                # a moved deadline that was not yet passed gets its reminder again.
                if not d.overdue:
                    d.reminded = d.remind_at is not None and d.remind_at <= now
            elif d.due_at > now:  # a moved deadline is a new due instant: warn and escalate again
                d.overdue = False
                d.reminded = d.remind_at is not None and d.remind_at <= now
        d.provisional = c.provisional
        self._changed()

    def _close(self, kind: DeadlineKind, state: DeadlineState = DeadlineState.MET) -> None:
        d = self.state.open_deadline(kind)
        if d is not None:
            d.state, d.closed_at = state, workflow.now()
            if self._v3():
                self._lapse_extension(kind)
            self._changed()

    def _ends(self, d: Deadline) -> datetime:
        """When the deadline is passed: the end of its day, 24:00 Beijing (BOUNDED shape)."""
        return deadline_end(d.due_at) if self._bounded else d.due_at

    def _next_wakeup(self) -> datetime | None:
        """The next reminder or due instant of an open clock (BOUNDED shape)."""
        instants = []
        for d in self.state.open_deadlines():
            if d.remind_at and not d.reminded:
                instants.append(d.remind_at)
            if not d.overdue:
                instants.append(self._ends(d))
        return min(instants) if instants else None

    def _until_next_wakeup(self) -> timedelta | None:
        now, instants = workflow.now(), []
        for d in self.state.open_deadlines():
            if d.remind_at and not d.reminded:
                instants.append(d.remind_at)
            if not d.overdue:
                instants.append(d.due_at)
        if not instants:
            return None
        return max(min(instants) - now, timedelta(milliseconds=1))

    async def _fire_due(self) -> None:
        s, now = self.state, workflow.now()
        for d in list(s.open_deadlines()):
            if d.remind_at and not d.reminded and now >= d.remind_at:
                d.reminded = True
                if now < self._ends(d):  # R-30 催办, one working day ahead
                    self._warn(NotificationKind.REMINDER, d)
                    self._record(
                        "reminder",
                        SYSTEM,
                        s.status,
                        {"deadline": d.kind.value, "due_at": d.due_at.isoformat()},
                    )
            if d.overdue or now < self._ends(d):
                continue
            if d.kind == DeadlineKind.CALLBACK:  # no answer in time is "no response"
                d.state, d.closed_at = DeadlineState.EXPIRED, now
                if s.satisfaction is None:
                    s.satisfaction = Satisfaction(rating=Rating.NO_RESPONSE, at=now)
                before = s.status
                detail: dict[str, object] = {"rating": s.satisfaction.rating.value}
                if not self._archive(Outcome.CONCLUDED):  # once the rectification is accepted
                    detail["archive_held"] = True
                self._record("callback-expired", SYSTEM, before, detail)
            elif d.kind == DeadlineKind.RETURN_WINDOW:
                d.state, d.closed_at = DeadlineState.EXPIRED, now
                self._changed()
            elif d.kind in OVERDUE_MARKED:  # overdue warning and escalation, once per deadline
                d.overdue = True
                self._warn(NotificationKind.OVERDUE, d)
                if d.kind == DeadlineKind.DOCUMENT_REPLY:  # the respondent is late, not the office
                    self._record(
                        "overdue",
                        SYSTEM,
                        s.status,
                        {"deadline": d.kind.value, "due_at": d.due_at.isoformat()},
                    )
                elif d.kind == DeadlineKind.SUPERVISION:
                    self._notify(NotificationKind.OVERDUE, Recipient.LEADER, deadline=d.kind.value)
                    self._record(
                        "overdue",
                        SYSTEM,
                        s.status,
                        {"deadline": d.kind.value, "due_at": d.due_at.isoformat()},
                    )
                else:
                    await self._escalate(EscalationSource.OVERDUE, f"{both(d.kind)} overdue", None)
                    self._record(
                        "overdue",
                        SYSTEM,
                        s.status,
                        {"deadline": d.kind.value, "due_at": d.due_at.isoformat(), "escalated": True},
                    )

    def _warn(self, kind: NotificationKind, d: Deadline) -> None:
        s = self.state
        by_unit = s.status == Status.REFERRED and d.kind in (
            DeadlineKind.HANDLING,
            DeadlineKind.DOCUMENT_REPLY,
        )
        to = Recipient.UNIT if by_unit else Recipient.HANDLER
        data = {"deadline": d.kind.value, "due_at": d.due_at.isoformat()}
        rect = s.rectification
        if d.kind == DeadlineKind.RECTIFICATION and rect is not None:  # the unit's own clock
            self._notify(kind, Recipient.UNIT, unit=rect.unit, **data)
            self._notify(kind, Recipient.HANDLER, **data)
        else:
            self._notify(kind, to, unit=s.handling_unit if to == Recipient.UNIT else None, **data)
        self._notify(kind, Recipient.SUPERVISOR, **data)

    def _add_escalation(self, e: Escalation) -> None:
        s = self.state
        s.escalations_total += 1
        if self._v3():
            e.reason = _cut(e.reason)
        s.escalations.append(e)

    async def _escalate(self, source: EscalationSource, reason: str, by: Actor | None) -> None:
        s, now = self.state, workflow.now()
        self._add_escalation(Escalation(source=source, reason=reason, at=now, by=by))
        if s.open_deadline(DeadlineKind.SUPERVISION) is None:
            await self._open_deadlines((DeadlineKind.SUPERVISION, now))
        self._notify(NotificationKind.ESCALATED, Recipient.SUPERVISOR, source=source.value, reason=reason)
        self._changed()
