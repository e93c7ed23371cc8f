"""What each handler action does to the case (the Update's effect), one method per action of
`domain.actions.ACTIONS`: `_do_<action>` returns the detail recorded in the case file.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.models import (
        AcceptInput,
        AppealInput,
        ApproveOpinionInput,
        DeadlineKind,
        DeadlineState,
        Decision,
        DuplicateLinkedInput,
        Escalation,
        EscalationSource,
        Extension,
        Feedback,
        ForwardInput,
        GiveFeedbackInput,
        InvestigationKind,
        InvestigationStep,
        JointReport,
        LinkDuplicateInput,
        NotificationKind,
        Outcome,
        Rating,
        Recipient,
        RecordInvestigationInput,
        RecordSatisfactionInput,
        RejectInput,
        ReportResultInput,
        RequestExtensionInput,
        ResolveSupervisionInput,
        ReturnReferralInput,
        Role,
        Route,
        Satisfaction,
        Status,
        SubmitOpinionInput,
        SupervisionChoice,
    )
    from workflows.complaint.options import (
        _cut,
    )
    from workflows.complaint.rectify import Rectify


class Effects(Rectify):
    """The effects of the actions (called under the workflow's lock, after validation)."""

    async def _do_accept(self, inp: AcceptInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        s.accepted_at, s.route = now, inp.route
        self._close(DeadlineKind.ACCEPTANCE)
        if inp.route == Route.DISCIPLINE:
            self._notify(NotificationKind.TRANSFERRED, Recipient.COMPLAINANT)
            self._archive(Outcome.TRANSFERRED)
            return {"route": inp.route.value, "note": inp.note}
        self._notify(NotificationKind.ACCEPTED, Recipient.COMPLAINANT, route=inp.route.value)
        if inp.route == Route.REFERRAL:
            s.status = Status.OPINION_PENDING
            await self._open_deadlines((DeadlineKind.OPINION, now), (DeadlineKind.OVERALL, now))
        else:
            s.status = Status.INVESTIGATING
            s.joint_units = list(inp.units)
            await self._open_deadlines((DeadlineKind.HANDLING, now), (DeadlineKind.OVERALL, now))
        return {"route": inp.route.value, "note": inp.note, "units": inp.units}

    async def _do_reject(self, inp: RejectInput) -> dict[str, Any]:
        self._close(DeadlineKind.ACCEPTANCE)
        detail = {"reason": inp.reason, "basis": inp.basis, "guidance": inp.guidance}
        self._notify(NotificationKind.NOT_ACCEPTED, Recipient.COMPLAINANT, **detail)
        self._archive(Outcome.NOT_ACCEPTED)
        return detail

    async def _do_forward(self, inp: ForwardInput) -> dict[str, Any]:
        self._close(DeadlineKind.ACCEPTANCE)
        self.state.forwarded_to = inp.to
        self._notify(NotificationKind.FORWARDED, Recipient.COMPLAINANT, to=inp.to, reason=inp.reason)
        self._archive(Outcome.FORWARDED)
        return {"to": inp.to, "reason": inp.reason, "to_center": inp.to_center}

    async def _do_link_duplicate(self, inp: LinkDuplicateInput) -> dict[str, Any]:
        link = DuplicateLinkedInput(number=self.state.number, complainant_ref=self.state.complainant_ref)
        try:
            await workflow.get_external_workflow_handle(inp.primary).signal("duplicate-linked", link)
        except Exception:
            raise ApplicationError(
                f"primary: case {inp.primary} is not an open case", type="invalid_body"
            ) from None
        self._close(DeadlineKind.ACCEPTANCE)
        self.state.primary = inp.primary
        self._notify(NotificationKind.MERGED, Recipient.COMPLAINANT, primary=inp.primary)
        self._archive(Outcome.MERGED)
        return {"primary": inp.primary}

    async def _do_submit_opinion(self, inp: SubmitOpinionInput) -> dict[str, Any]:
        s = self.state
        s.opinion, s.status = inp.opinion, Status.OPINION_REVIEW
        s.proposed_unit = inp.handling_unit
        self._close(DeadlineKind.OPINION)
        self._notify(NotificationKind.OPINION_FOR_APPROVAL, Recipient.LEADER, unit=inp.handling_unit)
        return {"handling_unit": inp.handling_unit, "opinion": inp.opinion}

    async def _do_approve_opinion(self, inp: ApproveOpinionInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        if not inp.approved:
            s.status = Status.OPINION_PENDING
            await self._open_deadlines((DeadlineKind.OPINION, now))
            return {"approved": False, "comment": inp.comment}
        s.status, s.handling_unit = Status.REFERRED, s.proposed_unit
        await self._open_deadlines((DeadlineKind.HANDLING, now), (DeadlineKind.RETURN_WINDOW, now))
        # the unit gets the non-personal summary, never the original file.
        self._notify(
            NotificationKind.REFERRAL,
            Recipient.UNIT,
            unit=s.handling_unit,
            summary=s.summary,
            opinion=s.opinion,
        )
        return {"approved": True, "comment": inp.comment, "handling_unit": s.handling_unit}

    async def _do_report_result(self, inp: ReportResultInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        if self._v3() and inp.actor.role == Role.UNIT and s.status == Status.INVESTIGATING:
            # a participating unit of a joint case reports its part; the center decides.
            part = JointReport(
                unit=inp.actor.unit or "",
                finding=inp.finding,
                measures=inp.measures,
                report=_cut(inp.report),
                at=now,
                by=inp.actor,
            )
            s.joint_reports = [r for r in s.joint_reports if r.unit != part.unit] + [part]
            self._notify(NotificationKind.DECIDED, Recipient.HANDLER, unit=part.unit, part=True)
            return {
                "part": True,
                "unit": part.unit,
                "finding": inp.finding.value,
                "measures": [m.value for m in inp.measures],
                "report": inp.report,
            }
        s.decision = Decision(
            finding=inp.finding,
            measures=inp.measures,
            remedy=inp.remedy,
            responsible=inp.responsible,
            report=inp.report,
            decided_at=now,
            decided_by=inp.actor,
        )
        s.status = Status.DECIDED
        self._close(DeadlineKind.HANDLING)
        self._close(DeadlineKind.OVERALL)  # the decision is what the 30 days are for
        self._close(DeadlineKind.RETURN_WINDOW, DeadlineState.CANCELLED)
        self._close(DeadlineKind.DOCUMENT_REPLY, DeadlineState.CANCELLED)
        if inp.actor.role == Role.UNIT:
            self._notify(NotificationKind.DECIDED, Recipient.HANDLER, finding=inp.finding.value)
        await self._open_rectification(s.decision)
        return {"finding": inp.finding.value, "measures": [m.value for m in inp.measures]}

    async def _do_request_extension(self, inp: RequestExtensionInput) -> dict[str, Any]:
        if self._v3():  # the request is for the stage open now, and lapses with it
            s = self.state
            stage = DeadlineKind.OPINION if s.status == Status.OPINION_PENDING else DeadlineKind.HANDLING
            s.extensions.append(
                Extension(
                    requested_at=workflow.now(),
                    requested_by=inp.actor,
                    days=inp.days,
                    reason=_cut(inp.reason),
                    stage=stage,
                )
            )
            self._notify(NotificationKind.EXTENSION_REQUESTED, Recipient.LEADER, days=inp.days)
            return {"days": inp.days, "reason": inp.reason, "stage": stage.value}
        self.state.extensions.append(
            Extension(requested_at=workflow.now(), requested_by=inp.actor, days=inp.days, reason=inp.reason)
        )
        self._notify(NotificationKind.EXTENSION_REQUESTED, Recipient.LEADER, days=inp.days)
        return {"days": inp.days, "reason": inp.reason}

    async def _do_return_referral(self, inp: ReturnReferralInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        unit = s.handling_unit
        s.returns += 1
        s.status, s.handling_unit = Status.OPINION_PENDING, None
        self._close(DeadlineKind.RETURN_WINDOW)
        self._close(DeadlineKind.HANDLING, DeadlineState.CANCELLED)
        await self._open_deadlines((DeadlineKind.OPINION, now))
        self._notify(NotificationKind.REFERRAL_RETURNED, Recipient.HANDLER, unit=unit, reason=inp.reason)
        return {"reason": inp.reason, "unit": unit, "returns": s.returns}

    async def _do_resolve_supervision(self, inp: ResolveSupervisionInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        for e in s.open_escalations():
            e.resolved_at, e.resolution = now, inp.action
        self._close(DeadlineKind.SUPERVISION)
        if inp.action == SupervisionChoice.UPHOLD:
            if s.status == Status.APPEALED:  # the decision stands; the case is done
                self._notify(NotificationKind.SUPERVISION_RESOLVED, Recipient.COMPLAINANT, action="uphold")
                if not self._archive(Outcome.CONCLUDED):  # once the rectification is accepted
                    return {"action": inp.action.value, "comment": inp.comment, "archive_held": True}
        else:
            # handle again with a fresh handling deadline, by the unit or by the center.
            for kind in (
                DeadlineKind.OPINION,
                DeadlineKind.RETURN_WINDOW,
                DeadlineKind.CALLBACK,
                DeadlineKind.HANDLING,
                DeadlineKind.DOCUMENT_REPLY,
            ):
                self._close(kind, DeadlineState.CANCELLED)
            self._cancel_rectification()  # the decision it follows is set aside
            if inp.action == SupervisionChoice.TAKE_OVER:
                s.handling_unit = None
            s.status = Status.REFERRED if s.handling_unit else Status.INVESTIGATING
            s.decision = s.feedback = s.satisfaction = None
            await self._open_deadlines((DeadlineKind.HANDLING, now))
            recipient = Recipient.UNIT if s.handling_unit else Recipient.HANDLER
            self._notify(
                NotificationKind.SUPERVISION_RESOLVED,
                recipient,
                unit=s.handling_unit,
                action=inp.action.value,
            )
        return {"action": inp.action.value, "comment": inp.comment}

    async def _do_give_feedback(self, inp: GiveFeedbackInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        s.feedback = Feedback(message=inp.message, appeal_route=inp.appeal_route, at=now)
        s.status = Status.AWAITING_CALLBACK
        await self._open_deadlines((DeadlineKind.CALLBACK, now))
        data = {
            "message": inp.message,
            "appeal_route": inp.appeal_route,
            "finding": s.decision.finding.value if s.decision else None,
        }
        self._notify(NotificationKind.FEEDBACK, Recipient.COMPLAINANT, **data)
        for dup in s.linked:  # the linked complainants get the same feedback
            self._notify(
                NotificationKind.FEEDBACK,
                Recipient.COMPLAINANT,
                complainant_ref=dup.complainant_ref,
                about_case=dup.number,
                **data,
            )
        return {"appeal_route": inp.appeal_route}

    async def _do_record_satisfaction(self, inp: RecordSatisfactionInput) -> dict[str, Any]:
        s = self.state
        s.satisfaction = Satisfaction(rating=inp.rating, comment=inp.comment, at=workflow.now())
        if inp.rating != Rating.DISSATISFIED:
            self._close(DeadlineKind.CALLBACK)
            if not self._archive(Outcome.CONCLUDED):  # once the rectification is accepted
                return {"rating": inp.rating.value, "comment": inp.comment, "archive_held": True}
        # A dissatisfied complainant may still appeal until the callback window ends.
        return {"rating": inp.rating.value, "comment": inp.comment}

    async def _do_record_investigation(self, inp: RecordInvestigationInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        v3 = self._v3()
        step = InvestigationStep(
            seq=s.investigation_total + 1 if v3 else len(s.investigation) + 1,
            kind=inp.kind,
            note=_cut(inp.note) if v3 else inp.note,  # whole, once, in the action record
            party=inp.party,
            at=now,
            by=inp.actor,
        )
        s.investigation_total += 1
        detail: dict[str, Any] = {"kind": inp.kind.value, "note": inp.note, "party": inp.party}
        if inp.kind == InvestigationKind.REQUEST_DOCUMENTS:  # the respondent must answer
            await self._open_deadlines((DeadlineKind.DOCUMENT_REPLY, now))
            reply = s.open_deadline(DeadlineKind.DOCUMENT_REPLY)
            step.reply_due = reply.due_at if reply else None
            detail["reply_due"] = step.reply_due.isoformat() if step.reply_due else None
        elif inp.kind == InvestigationKind.EXPLANATION_RECEIVED:
            reply = s.open_deadline(DeadlineKind.DOCUMENT_REPLY)
            step.answered_late = bool(reply and now > reply.due_at)
            detail["answered_late"] = step.answered_late
            self._close(DeadlineKind.DOCUMENT_REPLY)
        s.investigation.append(step)
        return detail

    async def _do_appeal(self, inp: AppealInput) -> dict[str, Any]:
        s, now = self.state, workflow.now()
        s.appeal_center = inp.to_center or s.center
        s.status = Status.APPEALED
        self._close(DeadlineKind.CALLBACK)
        self._add_escalation(
            Escalation(source=EscalationSource.APPEAL, reason=inp.reason, at=now, by=inp.actor)
        )
        await self._open_deadlines((DeadlineKind.SUPERVISION, now))
        self._notify(NotificationKind.APPEAL, Recipient.SUPERVISOR, reason=inp.reason, center=s.appeal_center)
        return {"reason": inp.reason, "center": s.appeal_center}
