"""整改落实 (R-37): what a decision with measures starts, and the two actions that follow it.

A decision whose measures are more than `none` opens the rectification of the responsible unit
(the handling unit of a referral, else the unit complained about) on its own clock
(`DeadlineKind.RECTIFICATION`: reminded, overdue, escalated like every stage, R-30). The unit
reports what it did about each measure, with evidence; the clock is met by the report. The
handler accepts it, or sends it back with a reason: the unit works on again against the *same*
due instant, because only an approved extension moves a deadline (R-18, R-20), and a report that
did not hold is not one. The case is archived only once the rectification is accepted
(`CaseFile._archive` holds a concluded archive until then); feedback and the callback go on.

Behind the `rectification-2026-12` patch: a case that reached its decision before it replays
without a rectification.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import (
        DeadlineKind,
        DeadlineState,
        Decision,
        Measure,
        NotificationKind,
        Recipient,
        Rectification,
        RectificationReport,
        RectificationState,
        ReportRectificationInput,
        ReviewRectificationInput,
    )
    from workflows.complaint.clocks import Clocks
    from workflows.complaint.options import RECTIFICATION, _cut


class Rectify(Clocks):
    """The rectification of a decision's measures (called under the workflow's lock)."""

    _rectification_patch: bool | None

    def _rectifies(self) -> bool:
        """Whether this case follows its measures up (RECTIFICATION); asked at a decision."""
        if self._rectification_patch is None:
            self._rectification_patch = workflow.patched(RECTIFICATION)
        return self._rectification_patch

    async def _open_rectification(self, decision: Decision) -> None:
        """A decision with measures other than `none` opens the unit's rectification."""
        measures = [m for m in decision.measures if m != Measure.NONE]
        if not measures or not self._rectifies():
            return
        s, now = self.state, workflow.now()
        unit = s.handling_unit or s.respondent_unit
        s.rectification = Rectification(unit=unit, measures=measures, opened_at=now)
        await self._open_deadlines((DeadlineKind.RECTIFICATION, now))
        clock = s.open_deadline(DeadlineKind.RECTIFICATION)
        self._notify(
            NotificationKind.RECTIFICATION,
            Recipient.UNIT,
            unit=unit,
            measures=[m.value for m in measures],
            due_at=clock.due_at.isoformat() if clock else None,
        )

    def _cancel_rectification(self) -> None:
        """The decision was set aside (R-31): its rectification ends with it."""
        rect = self.state.open_rectification()
        if rect is not None:
            rect.state, rect.held_outcome = RectificationState.CANCELLED, None
            self._close(DeadlineKind.RECTIFICATION, DeadlineState.CANCELLED)
            self._changed()

    def _reopen(self, kind: DeadlineKind) -> None:
        """Open the newest met clock of `kind` again, with its due instant unchanged."""
        for d in reversed(self.state.deadlines):
            if d.kind == kind:
                if d.state == DeadlineState.MET:
                    d.state, d.closed_at = DeadlineState.OPEN, None
                    self._changed()
                return

    async def _do_report_rectification(self, inp: ReportRectificationInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        rect = s.open_rectification()
        assert rect is not None  # the validator made sure
        rect.reports_total += 1
        rect.reports.append(
            RectificationReport(
                seq=rect.reports_total,
                at=now,
                by=inp.actor,
                measures=list(inp.measures),
                evidence=list(inp.evidence),
                report=_cut(inp.report),
            )
        )
        rect.state = RectificationState.REPORTED
        self._close(DeadlineKind.RECTIFICATION)
        self._notify(
            NotificationKind.RECTIFICATION_REPORTED, Recipient.HANDLER, unit=rect.unit, seq=rect.reports_total
        )
        return {
            "unit": rect.unit,
            "seq": rect.reports_total,
            "measures": [m.value for m in inp.measures],
            "evidence": list(inp.evidence),
            "report": inp.report,
        }

    async def _do_review_rectification(self, inp: ReviewRectificationInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        rect = s.open_rectification()
        assert rect is not None and rect.reports  # the validator made sure
        last = rect.reports[-1]
        last.accepted, last.reviewed_at, last.reviewed_by = inp.accepted, now, inp.actor
        if inp.accepted:
            rect.state, rect.accepted_at, rect.accepted_by = RectificationState.ACCEPTED, now, inp.actor
            self._notify(NotificationKind.RECTIFICATION_ACCEPTED, Recipient.UNIT, unit=rect.unit)
            detail: dict[str, Any] = {"accepted": True, "unit": rect.unit, "seq": last.seq}
            held, rect.held_outcome = rect.held_outcome, None
            if held is not None:  # the case waited only for this
                self._archive(held)
                detail["archived"] = held.value
            self._changed()
            return detail
        last.reason = _cut(inp.reason)
        rect.returns += 1
        rect.state = RectificationState.OPEN
        self._reopen(DeadlineKind.RECTIFICATION)
        self._notify(
            NotificationKind.RECTIFICATION_RETURNED, Recipient.UNIT, unit=rect.unit, reason=inp.reason
        )
        return {
            "accepted": False,
            "unit": rect.unit,
            "seq": last.seq,
            "reason": inp.reason,
            "returns": rect.returns,
        }
