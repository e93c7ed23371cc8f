"""`ComplaintWorkflow`: one complaint from registration to archive (RULES.md §3–§9, §11).

Messages:
- Updates (handler actions, validated against `domain.lifecycle`): accept, reject, forward,
  submit-opinion, approve-opinion, report-result, request-extension, return-referral,
  link-duplicate, resolve-supervision, give-feedback, record-satisfaction, appeal.
- Signals (never raise; a bad one is recorded in `ignored_signals`): decide-extension, escalate,
  recompute-deadlines, duplicate-linked (internal, from a linked repeat complaint).
- Query: state.

Deterministic: time comes from `workflow.now()`, deadlines from the `compute_deadlines`
activity, side effects (outbox, read model, archive) from activities. No complainant identity
ever enters this module: only `complainant_ref` (R-33).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from domain import lifecycle, policies
    from domain.models import (
        DEADLINE_LABELS,
        OUTSIDE_ESCALATION_SOURCES,
        STATUS_LABELS,
        AcceptInput,
        Action,
        ActionInput,
        ActionRecord,
        ActionResult,
        CarriedCase,
        Actor,
        AppealInput,
        ApproveOpinionInput,
        ArchiveInput,
        CaseState,
        Category,
        ComplaintInput,
        ComputeDeadlinesInput,
        ComputeDeadlinesResult,
        Deadline,
        DeadlineKind,
        DeadlineSpec,
        DeadlineState,
        DecideExtensionInput,
        Decision,
        DuplicateLinkedInput,
        EscalateInput,
        Escalation,
        EscalationSource,
        Extension,
        Feedback,
        ForwardInput,
        GiveFeedbackInput,
        Grade,
        IgnoredSignal,
        InvestigationKind,
        InvestigationStep,
        JointReport,
        LinkDuplicateInput,
        Notification,
        NotificationKind,
        NotifyInput,
        Outcome,
        ProjectInput,
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
    from domain.workdays import deadline_end

TASK_QUEUE = "complaints"
BEIJING = timezone(timedelta(hours=8), "CST")  # no DST in China since 1991; no tz data needed

# Search attributes (DESIGN.md, stable names; registered by every launcher).
SA_STATUS = SearchAttributeKey.for_keyword("ComplaintStatus")
SA_CATEGORY = SearchAttributeKey.for_keyword("ComplaintCategory")
SA_GRADE = SearchAttributeKey.for_keyword("ComplaintGrade")
SA_HANDLING_UNIT = SearchAttributeKey.for_keyword("HandlingUnit")
SA_RESPONDENT_UNIT = SearchAttributeKey.for_keyword("RespondentUnit")
SA_CHANNEL = SearchAttributeKey.for_keyword("ComplaintChannel")
SA_DUE_AT = SearchAttributeKey.for_datetime("DueAt")
SA_OVERDUE = SearchAttributeKey.for_bool("Overdue")
SA_SUPERVISED = SearchAttributeKey.for_bool("Supervised")
#: All of them, for the launchers that register them (make run, tests, benchmarks).
SEARCH_ATTRIBUTES = (
    SA_STATUS, SA_CATEGORY, SA_GRADE, SA_HANDLING_UNIT, SA_RESPONDENT_UNIT, SA_CHANNEL,
    SA_DUE_AT, SA_OVERDUE, SA_SUPERVISED,
)

# Activity options, declared once. Deadline computation is pure and quick; the outbox and the
# read model talk to PostgreSQL and retry with backoff for as long as it is down.
COMPUTE = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
SIDE_EFFECT = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
#: Patch (2026-11-27): deadlines computed by a local activity, and the outbox and the read
#: model written concurrently. Cases started before it replay the old way (tests/histories/H-*).
LOCAL_ACTIVITIES = "local-activities-2026-11"
#: Patch (2026-12-01, issue 11): the bounded case. Early messages wait for registration instead
#: of being dropped; clocks fire without waiting for the outbox and the read model (a flusher
#: delivers them); lists and texts are capped; Updates answer with a small `ActionResult`;
#: continue-as-new past a history budget; the archive is the last word; and the rule fixes of
#: issue 11 (R-09, R-10, R-15, R-18..R-20, R-30, R-45, escalate sources). Cases started before
#: it replay the old way (tests/histories/H-*, H2-*).
BOUNDED = "bounded-case-2026-12"

# What the workflow keeps of each growing list (the rest is in PostgreSQL, with a count here).
KEEP_ACTIONS = 50
KEEP_IGNORED = 20
KEEP_INVESTIGATION = 50
KEEP_ESCALATIONS = 50  # open escalations are never dropped
KEEP_EXTENSIONS = 20  # a pending request is never dropped
KEEP_LINKED = 500
#: Free text kept in the workflow's own lists (whole texts travel once, in the action record).
KEEP_TEXT = 500
#: History events (and bytes) after which a run continues as new, carrying the case.
HISTORY_BUDGET_EVENTS = 2_000
HISTORY_BUDGET_BYTES = 4 * 1024 * 1024
ARCHIVE = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)),
}

SYSTEM = Actor(id="system", role=Role.SYSTEM)
#: A signal sent without an actor (from the Web UI or the `temporal` CLI): we do not know which
#: person sent it, so we do not name one; the history records the sender's Temporal identity.
OPERATOR = Actor(id="operator (Web UI / CLI)", role=Role.SYSTEM)
_M = TypeVar("_M", bound=BaseModel)
#: What a signal handler sees when the sender gave no input at all (e.g. the CLI without --input).

#: Deadlines whose passing marks the case overdue and sends the overdue warning (R-30); all but
#: the respondent's document reply also escalate the case to supervision.
OVERDUE_MARKED = frozenset(
    {
        DeadlineKind.ACCEPTANCE,
        DeadlineKind.OPINION,
        DeadlineKind.HANDLING,
        DeadlineKind.OVERALL,
        DeadlineKind.SUPERVISION,
        DeadlineKind.DOCUMENT_REPLY,
    }
)


def _bj(t: datetime | None) -> str:
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if t else "—"


def _cut(text: str, limit: int = KEEP_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_detail(value: Any) -> Any:
    """An action record's detail with every text cut to `KEEP_TEXT` (the kept copy)."""
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, dict):
        return {k: _cut_detail(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_detail(v) for v in value]
    return value


def _fail(e: lifecycle.NotAllowed) -> ApplicationError:
    # `type` carries the code the API maps to an HTTP status (403/409/422).
    return ApplicationError(e.message, type=e.code, non_retryable=True)


@workflow.defn(name="ComplaintWorkflow")
class ComplaintWorkflow:
    """One complaint, from registration to archive. See the module docstring for messages."""

    @workflow.init
    def __init__(self, inp: ComplaintInput) -> None:
        # The case exists from the first instant, so that no early message finds nothing.
        self.policy: policies.Policy | None = policies.get(inp.policy, inp.policy_version)
        self._lock = asyncio.Lock()
        self._outbox: list[Notification] = []
        self._dirty = False
        self._projected_seq = 0
        self._note_seq = 0
        self._sa_last: dict[str, Any] = {}
        self._bounded: bool | None = None  # decided once, by `_v3()`, in the first task
        self._run_started = False
        self._registered = False
        self._frozen = False  # the archive step began: nothing changes the file any more
        self._unprojected: list[ActionRecord] = []  # whole records not yet in PostgreSQL
        self._flushing = False
        self._stop_flusher = False
        self._budget = inp.history_budget or HISTORY_BUDGET_EVENTS
        if inp.carried is not None:
            c = inp.carried
            self.s: CaseState | None = c.state.model_copy(deep=True)
            self.s.runs = c.run + 1
            self._note_seq, self._projected_seq = c.note_seq, c.projected_seq
            self._registered = True
            return
        grade = Grade.MAJOR if inp.category == Category.RETALIATION else inp.grade
        self.s = CaseState(
            number=inp.number,
            center=inp.center,
            status=Status.REGISTERED,
            channel=inp.channel,
            form=inp.form,
            category=inp.category,
            grade=grade,
            respondent_unit=inp.respondent_unit,
            respondent_unit_name=inp.respondent_unit_name,
            summary=inp.summary,
            complainant_ref=inp.complainant_ref,
            origin_case=inp.origin_case,
            policy=inp.policy,
            policy_version=inp.policy_version,
            received_at=inp.received_at,
            registered_at=inp.registered_at or workflow.now(),
        )

    def _v3(self) -> bool:
        """Whether this case runs the bounded shape (BOUNDED); decided once, never in a query."""
        if self._bounded is None:
            self._bounded = workflow.patched(BOUNDED)
        return self._bounded

    # ------------------------------------------------------------------ the procedure

    @workflow.run
    async def run(self, inp: ComplaintInput) -> CaseState:
        self._run_started = True
        if self._v3():
            return await self._run_bounded(inp)
        async with self._lock:
            await self._register(inp)
        self._registered = True
        # Every step after registration is a handler's Update; this loop keeps the clocks:
        # it sleeps until the next reminder or due instant, or until something changed.
        while True:
            timeout = self._until_next_wakeup()
            try:
                await workflow.wait_condition(lambda: self._dirty or bool(self._outbox), timeout=timeout)
            except TimeoutError:
                pass
            async with self._lock:
                await self._fire_due()
            await self._flush()
            if self.state.status == Status.ARCHIVED:
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        await workflow.execute_activity("archive_case", ArchiveInput(state=self._snapshot()), **ARCHIVE)
        return self._snapshot()

    async def _run_bounded(self, inp: ComplaintInput) -> CaseState:
        """The procedure (BOUNDED shape): register, keep the clocks, archive.

        Two loops: this one keeps the clocks and never waits for a side effect; `_flush_loop`
        delivers the outbox and the projection whenever PostgreSQL takes them. Handlers do the
        rest. Past the history budget the run continues as new, carrying the case.
        """
        if inp.carried is None:
            async with self._lock:
                await self._register_bounded(inp)
        else:
            self._changed()  # the new run publishes its search attributes and projects once
        self._registered = True
        flusher = asyncio.create_task(self._flush_loop())
        while self.state.status != Status.ARCHIVED:
            target = self._next_wakeup()
            timeout = max(target - workflow.now(), timedelta(milliseconds=1)) if target else None
            try:
                # Woken only when the next instant moves or the run may continue as new: an
                # ignored signal or a projection never restarts the timer.
                await workflow.wait_condition(
                    lambda: self._next_wakeup() != target
                    or self.state.status == Status.ARCHIVED
                    or self._may_continue_as_new(),
                    timeout=timeout,
                )
            except TimeoutError:
                pass
            async with self._lock:
                await self._fire_due()
            if self.state.status != Status.ARCHIVED and self._may_continue_as_new():
                self._stop_flusher = True
                await flusher
                if self._may_continue_as_new():  # nothing arrived while the flusher stopped
                    workflow.continue_as_new(self._carry(inp))
                self._stop_flusher = False
                flusher = asyncio.create_task(self._flush_loop())
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._frozen = True  # from here on, signals are logged, never applied
        self._stop_flusher = True
        await flusher
        final = self._snapshot().model_copy(deep=True)
        await workflow.execute_activity("archive_case", ArchiveInput(state=final), **ARCHIVE)
        return final

    def _may_continue_as_new(self) -> bool:
        info = workflow.info()
        over = (
            info.get_current_history_length() >= self._budget
            or info.get_current_history_size() >= HISTORY_BUDGET_BYTES
            or info.is_continue_as_new_suggested()
        )
        return over and self._idle() and workflow.all_handlers_finished()

    def _idle(self) -> bool:
        return not (self._dirty or self._outbox or self._flushing or self._unprojected)

    def _carry(self, inp: ComplaintInput) -> ComplaintInput:
        s = self.state
        carried = CarriedCase(
            state=s.model_copy(update={"allowed_actions": {}}, deep=True),
            note_seq=self._note_seq,
            projected_seq=self._projected_seq,
            run=s.runs,
        )
        return inp.model_copy(update={"carried": carried, "history_budget": inp.history_budget})

    async def _register_bounded(self, inp: ComplaintInput) -> None:
        s = self.state
        # acknowledgement 24 h from receipt; R-10: acceptance counts from registration.
        await self._open_deadlines(
            (DeadlineKind.ACKNOWLEDGEMENT, s.received_at),
            (DeadlineKind.ACCEPTANCE, s.registered_at),
        )
        self._notify(NotificationKind.ACKNOWLEDGEMENT, Recipient.COMPLAINANT)
        self._close(DeadlineKind.ACKNOWLEDGEMENT)
        if s.grade == Grade.MAJOR:  # supervised from the start, with its response clock
            await self._escalate(EscalationSource.MAJOR, "重大投诉 major complaint", None)
        self._record("register", inp.registered_by, Status.REGISTERED, {"grade": s.grade.value})

    async def _flush_loop(self) -> None:
        """Deliver the outbox and the projection, for as long as the run lives (BOUNDED).

        The activities retry while PostgreSQL is down; the clocks do not wait for them. What
        piles up meanwhile goes in the next batch; outbox keys make each entry land once.
        """
        while True:
            await workflow.wait_condition(
                lambda: self._dirty or bool(self._outbox) or bool(self._unprojected) or self._stop_flusher
            )
            if not (self._dirty or self._outbox or self._unprojected):
                return
            self._flushing = True
            try:
                await self._flush()
            finally:
                self._flushing = False

    @property
    def state(self) -> CaseState:
        assert self.s is not None
        return self.s

    async def _register(self, inp: ComplaintInput) -> None:
        now = workflow.now()
        self.policy = policies.get(inp.policy, inp.policy_version)
        grade = Grade.MAJOR if inp.category == Category.RETALIATION else inp.grade
        self.s = CaseState(
            number=inp.number,
            center=inp.center,
            status=Status.REGISTERED,
            channel=inp.channel,
            form=inp.form,
            category=inp.category,
            grade=grade,
            respondent_unit=inp.respondent_unit,
            respondent_unit_name=inp.respondent_unit_name,
            summary=inp.summary,
            complainant_ref=inp.complainant_ref,
            origin_case=inp.origin_case,
            policy=inp.policy,
            policy_version=inp.policy_version,
            received_at=inp.received_at,
            registered_at=now,
        )
        if grade == Grade.MAJOR:  # major complaints are supervised from the start
            self.state.escalations.append(
                Escalation(source=EscalationSource.MAJOR, reason="重大投诉 major complaint", at=now)
            )
        await self._open_deadlines(
            (DeadlineKind.ACKNOWLEDGEMENT, inp.received_at),
            (DeadlineKind.ACCEPTANCE, inp.received_at),
        )
        # acknowledge at once; the 24-hour clock is met by the outbox entry.
        self._notify(NotificationKind.ACKNOWLEDGEMENT, Recipient.COMPLAINANT)
        self._close(DeadlineKind.ACKNOWLEDGEMENT)
        if grade == Grade.MAJOR:
            self._notify(NotificationKind.ESCALATED, Recipient.SUPERVISOR, reason="major")
        self._record("register", inp.registered_by, Status.REGISTERED, {"grade": grade.value})

    # ------------------------------------------------------------------ updates

    @workflow.update(
        name="accept",
        description="受理 Accept the complaint (R-10) and choose a route: self, referral, joint or discipline.",
    )
    async def accept(self, inp: AcceptInput) -> ActionResult:
        return await self._act(Action.ACCEPT, inp)

    @accept.validator
    def _validate_accept(self, inp: AcceptInput) -> None:
        self._validate(Action.ACCEPT, inp)

    @workflow.update(
        name="reject", description="不予受理 Do not accept (R-11): reason, basis and where to go instead."
    )
    async def reject(self, inp: RejectInput) -> ActionResult:
        return await self._act(Action.REJECT, inp)

    @reject.validator
    def _validate_reject(self, inp: RejectInput) -> None:
        self._validate(Action.REJECT, inp)

    @workflow.update(name="forward", description="转送 Forward to the competent body (R-12).")
    async def forward(self, inp: ForwardInput) -> ActionResult:
        return await self._act(Action.FORWARD, inp)

    @forward.validator
    def _validate_forward(self, inp: ForwardInput) -> None:
        self._validate(Action.FORWARD, inp)

    @workflow.update(
        name="link-duplicate", description="重复件合并 Link this repeat complaint to an open case (R-45)."
    )
    async def link_duplicate(self, inp: LinkDuplicateInput) -> ActionResult:
        return await self._act(Action.LINK_DUPLICATE, inp)

    @link_duplicate.validator
    def _validate_link_duplicate(self, inp: LinkDuplicateInput) -> None:
        self._validate(Action.LINK_DUPLICATE, inp)
        if inp.primary == self.state.number:
            raise ApplicationError("primary: a case cannot be linked to itself", type="invalid_body")

    @workflow.update(
        name="submit-opinion", description="拟办意见 Propose the handling unit and opinion (R-14)."
    )
    async def submit_opinion(self, inp: SubmitOpinionInput) -> ActionResult:
        return await self._act(Action.SUBMIT_OPINION, inp)

    @submit_opinion.validator
    def _validate_submit_opinion(self, inp: SubmitOpinionInput) -> None:
        self._validate(Action.SUBMIT_OPINION, inp)

    @workflow.update(
        name="approve-opinion", description="领导审批 Leader approves or sends back the opinion (R-14)."
    )
    async def approve_opinion(self, inp: ApproveOpinionInput) -> ActionResult:
        return await self._act(Action.APPROVE_OPINION, inp)

    @approve_opinion.validator
    def _validate_approve_opinion(self, inp: ApproveOpinionInput) -> None:
        self._validate(Action.APPROVE_OPINION, inp)

    @workflow.update(
        name="report-result", description="处理决定 Report the finding and measures (R-23..R-25)."
    )
    async def report_result(self, inp: ReportResultInput) -> ActionResult:
        return await self._act(Action.REPORT_RESULT, inp)

    @report_result.validator
    def _validate_report_result(self, inp: ReportResultInput) -> None:
        self._validate(Action.REPORT_RESULT, inp)

    @workflow.update(
        name="request-extension", description="申请延期 Ask the leader for more days (R-18, R-19)."
    )
    async def request_extension(self, inp: RequestExtensionInput) -> ActionResult:
        return await self._act(Action.REQUEST_EXTENSION, inp)

    @request_extension.validator
    def _validate_request_extension(self, inp: RequestExtensionInput) -> None:
        self._validate(Action.REQUEST_EXTENSION, inp)

    @workflow.update(
        name="return-referral", description="退单 The handling unit returns a misdirected referral (R-44)."
    )
    async def return_referral(self, inp: ReturnReferralInput) -> ActionResult:
        return await self._act(Action.RETURN_REFERRAL, inp)

    @return_referral.validator
    def _validate_return_referral(self, inp: ReturnReferralInput) -> None:
        self._validate(Action.RETURN_REFERRAL, inp)

    @workflow.update(
        name="resolve-supervision",
        description="督办处理 Supervisor upholds, orders rehandling or takes over (R-28, R-31).",
    )
    async def resolve_supervision(self, inp: ResolveSupervisionInput) -> ActionResult:
        return await self._act(Action.RESOLVE_SUPERVISION, inp)

    @resolve_supervision.validator
    def _validate_resolve_supervision(self, inp: ResolveSupervisionInput) -> None:
        self._validate(Action.RESOLVE_SUPERVISION, inp)

    @workflow.update(
        name="give-feedback",
        description="反馈 Tell the complainant the result, reasons and how to appeal (R-26).",
    )
    async def give_feedback(self, inp: GiveFeedbackInput) -> ActionResult:
        return await self._act(Action.GIVE_FEEDBACK, inp)

    @give_feedback.validator
    def _validate_give_feedback(self, inp: GiveFeedbackInput) -> None:
        self._validate(Action.GIVE_FEEDBACK, inp)

    @workflow.update(name="record-satisfaction", description="回访 Record the callback answer (R-27).")
    async def record_satisfaction(self, inp: RecordSatisfactionInput) -> ActionResult:
        return await self._act(Action.RECORD_SATISFACTION, inp)

    @record_satisfaction.validator
    def _validate_record_satisfaction(self, inp: RecordSatisfactionInput) -> None:
        self._validate(Action.RECORD_SATISFACTION, inp)

    @workflow.update(name="appeal", description="申诉 The complainant appeals the decision (R-28).")
    async def appeal(self, inp: AppealInput) -> ActionResult:
        return await self._act(Action.APPEAL, inp)

    @appeal.validator
    def _validate_appeal(self, inp: AppealInput) -> None:
        self._validate(Action.APPEAL, inp)

    @workflow.update(
        name="record-investigation",
        description="调查核实 Record an investigation step or power used (R-21, R-22); a document request starts the respondent's reply clock.",
    )
    async def record_investigation(self, inp: RecordInvestigationInput) -> ActionResult:
        return await self._act(Action.RECORD_INVESTIGATION, inp)

    @record_investigation.validator
    def _validate_record_investigation(self, inp: RecordInvestigationInput) -> None:
        self._validate(Action.RECORD_INVESTIGATION, inp)

    def _validate(self, action: Action, inp: ActionInput) -> None:
        try:
            lifecycle.check(
                action, self.state, inp, workflow.now(), max_extension_days=self._policy.max_extension_days
            )
        except lifecycle.NotAllowed as e:
            raise _fail(e) from None

    async def _act(self, action: Action, inp: ActionInput) -> ActionResult:
        if self._v3():  # an Update sent with the start waits for the registration
            await workflow.wait_condition(lambda: self._registered)
        async with self._lock:
            # Re-check under the lock: another handler may have moved the case meanwhile.
            self._validate(action, inp)
            before = self.state.status
            clocks, made = self._clock_marks(), self.state.actions_total
            apply = getattr(self, "_do_" + action.value.replace("-", "_"))
            detail = await apply(inp)
            self._record(action.value, inp.actor, before, detail)
            return self._result(clocks, self.state.actions_total - made)

    @staticmethod
    def _clock_key(d: Deadline) -> tuple[str, str]:
        return d.kind.value, d.start.isoformat()

    def _clock_marks(self) -> dict[tuple[str, str], tuple[Any, ...]]:
        return {
            self._clock_key(d): (d.state, d.due_at, d.overdue, d.extended_days) for d in self.state.deadlines
        }

    def _result(self, before: dict[tuple[str, str], tuple[Any, ...]], records: int) -> ActionResult:
        """The small answer of an Update: where the case stands and the clocks it changed."""
        s = self.state
        changed = [
            d
            for d in s.deadlines
            if before.get(self._clock_key(d)) != (d.state, d.due_at, d.overdue, d.extended_days)
        ]
        return ActionResult(
            number=s.number,
            status=s.status,
            version=s.version,
            outcome=s.outcome,
            allowed_actions=lifecycle.allowed_by_role(s, workflow.now()),
            deadlines=[d.model_copy() for d in changed],
            records=[r.model_copy() for r in s.actions[-records:]] if self._bounded and records else [],
        )

    # ------------------------------------------------------------------ effects of actions

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
                self._archive(Outcome.CONCLUDED)
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
            self._archive(Outcome.CONCLUDED)
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
        self._add_escalation(Escalation(source=EscalationSource.APPEAL, reason=inp.reason, at=now, by=inp.actor))
        await self._open_deadlines((DeadlineKind.SUPERVISION, now))
        self._notify(NotificationKind.APPEAL, Recipient.SUPERVISOR, reason=inp.reason, center=s.appeal_center)
        return {"reason": inp.reason, "center": s.appeal_center}

    # ------------------------------------------------------------------ signals

    # Signal handlers take any number of inputs of any shape (`*args`): the `temporal` CLI and the
    # Web UI let anyone send two inputs, none, or a wrong one. What cannot be used is recorded in
    # `ignored_signals` with the reason; nothing here raises.

    @workflow.signal(
        name="decide-extension",
        description='延期审批 Leader decides the pending extension request (R-18..R-20). Input: {"approved": true, "days": 10, "comment": "..."}',
    )
    async def decide_extension(self, *args: Any) -> None:
        inp = await self._receive("decide-extension", args, DecideExtensionInput)
        if inp is None:
            return
        async with self._lock:
            try:
                await self._decide_extension(inp)
            except Exception as e:  # never fail the workflow on a signal
                self._ignore("decide-extension", f"could not apply: {e}")

    async def _decide_extension(self, inp: DecideExtensionInput) -> None:
        s, now = self.state, workflow.now()
        pending = next((e for e in s.extensions if e.decided_at is None), None)
        if s.status == Status.ARCHIVED or pending is None:
            self._ignore("decide-extension", "no extension request is pending")
            return
        days = inp.days or pending.days
        if inp.approved and days > pending.days:
            self._ignore("decide-extension", f"approves {days} days but {pending.days} were requested")
            return
        cap = self._policy.max_extension_days
        if inp.approved and s.extended_days + days > cap:
            self._ignore(
                "decide-extension",
                f"would extend by {s.extended_days + days} days in total; at most {cap} (R-19)",
            )
            return
        before = s.status
        pending.decided_at, pending.approved, pending.comment = now, inp.approved, inp.comment
        moved: dict[str, str] = {}
        if inp.approved:  # a refusal changes no deadline
            pending.approved_days = days
            s.extended_days += days
            # BOUNDED: the stage the request was made for, and the overall limit.
            kinds = (
                (DeadlineKind.OVERALL, pending.stage)
                if self._v3() and pending.stage is not None
                else (DeadlineKind.OVERALL, DeadlineKind.HANDLING, DeadlineKind.OPINION)
            )
            for d in s.open_deadlines():
                if d.kind in kinds:
                    d.extended_days += days
                    await self._recompute(d)
                    moved[d.kind.value] = d.due_at.isoformat()
        self._notify(
            NotificationKind.EXTENSION_DECIDED,
            Recipient.UNIT if s.handling_unit else Recipient.HANDLER,
            unit=s.handling_unit,
            approved=inp.approved,
            days=days if inp.approved else 0,
        )
        self._record(
            "decide-extension",
            inp.actor or OPERATOR,
            before,
            {
                "approved": inp.approved,
                "days": days if inp.approved else 0,
                "comment": inp.comment,
                "deadlines": moved,
            },
        )

    @workflow.signal(
        name="escalate",
        description='督办 Put the case under supervision (R-29). Input: {"reason": "...", "source": "leader|media|hot_issue|manual"}',
    )
    async def escalate(self, *args: Any) -> None:
        inp = await self._receive("escalate", args, EscalateInput)
        if inp is None:
            return
        if self._bounded and inp.source not in OUTSIDE_ESCALATION_SOURCES:
            self._ignore(
                "escalate",
                f"source {inp.source.value!r} is set by the workflow itself; a sender may name "
                + ", ".join(sorted(x.value for x in OUTSIDE_ESCALATION_SOURCES)),
            )
            return
        async with self._lock:
            try:
                if self.state.status == Status.ARCHIVED:
                    self._ignore("escalate", "the case is archived")
                    return
                await self._escalate(inp.source, inp.reason, inp.actor)
                self._record(
                    "escalate",
                    inp.actor or OPERATOR,
                    self.state.status,
                    {"source": inp.source.value, "reason": inp.reason},
                )
            except Exception as e:
                self._ignore("escalate", f"could not apply: {e}")

    @workflow.signal(
        name="recompute-deadlines",
        description="重算期限 Recompute provisional deadlines after operators added a year's holiday data (R-43). Input: {}",
    )
    async def recompute_deadlines(self, *args: Any) -> None:
        if not await self._arrived("recompute-deadlines", args):
            return
        if self._bounded and args and args[0] not in (None, {}):
            self._ignore("recompute-deadlines", "malformed input: expected {} or no input")
            return
        async with self._lock:
            try:
                if self.state.status == Status.ARCHIVED:
                    self._ignore("recompute-deadlines", "the case is archived")
                    return
                moved: dict[str, str] = {}
                for d in self.state.open_deadlines():
                    if d.provisional:
                        await self._recompute(d)
                        moved[d.kind.value] = d.due_at.isoformat()
                self._record(
                    "recompute-deadlines",
                    OPERATOR,
                    self.state.status,
                    {"deadlines": moved},
                )
            except Exception as e:
                self._ignore("recompute-deadlines", f"could not apply: {e}")

    @workflow.signal(
        name="duplicate-linked", description="Internal: a repeat complaint was linked to this case (R-45)."
    )
    async def duplicate_linked(self, *args: Any) -> None:
        inp = await self._receive("duplicate-linked", args, DuplicateLinkedInput)
        if inp is None:
            return
        s = self.state
        if not self._bounded:
            if s.status == Status.ARCHIVED:
                self._ignore("duplicate-linked", "the case is archived")
                return
            s.linked.append(inp)
            self._record("duplicate-linked", SYSTEM, s.status, {"number": inp.number})
            return
        if any(x.number == inp.number for x in s.linked):
            self._ignore("duplicate-linked", f"case {inp.number} is already linked")
            return
        s.linked.append(inp)
        s.linked_total += 1
        # linked after the feedback, or to a case that ended without one: told at once.
        self._tell_linked(inp)
        self._record("duplicate-linked", SYSTEM, s.status, {"number": inp.number})

    async def _arrived(self, name: str, args: tuple[Any, ...]) -> bool:
        """Whether a signal may be applied; waits until the case is registered (BOUNDED)."""
        if not self._v3():
            # The old shape dropped a signal that came before the run began (and crashed on two
            # inputs); kept for replay, with the crash recorded as ignored instead.
            if not self._run_started:
                return False
            if len(args) > 1:
                self._ignore(name, f"malformed input: expected one input, got {len(args)}")
                return False
            return True
        if self._frozen:
            workflow.logger.info("signal %s after the archive step began: not applied", name)
            return False
        if len(args) > 1:
            self._ignore(name, f"malformed input: expected one input, got {len(args)}")
            return False
        await workflow.wait_condition(lambda: self._registered)
        if self._frozen:
            return False
        return True

    async def _receive(self, name: str, args: tuple[Any, ...], model: type[_M]) -> _M | None:
        """The signal's one input as `model`, or None (recorded as ignored, with the reason)."""
        if not await self._arrived(name, args):
            return None
        raw = args[0] if args else None
        try:
            if self._bounded and isinstance(raw, dict):
                unknown = sorted(str(k) for k in raw if k not in model.model_fields)
                if unknown:
                    self._ignore(name, f"malformed input: unknown field(s) {', '.join(unknown)}")
                    return None
            return model.model_validate(raw)
        except ValidationError as e:
            fields = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'input'}: {x['msg']}" for x in e.errors())
            self._ignore(name, f"malformed input: {fields}")
        except Exception as e:
            self._ignore(name, f"malformed input: {type(e).__name__}")
        return None

    def _ignore(self, signal: str, reason: str) -> None:
        s = self.state
        if not self._bounded:
            workflow.logger.warning("ignored signal %s: %s", signal, reason)
            s.ignored_signals.append(IgnoredSignal(signal=signal, at=workflow.now(), reason=reason))
            s.ignored_total += 1
            self._changed()
            return
        # Kept in the case (the newest few, with a count) and projected, but never restarting a
        # timer: a flood of bad signals shares projections (the flusher sends one per batch).
        reason = _cut(reason, 300)
        workflow.logger.warning("ignored signal %s: %s", signal[:100], reason)
        s.ignored_signals.append(IgnoredSignal(signal=signal[:100], at=workflow.now(), reason=reason))
        s.ignored_total += 1
        s.version += 1
        self._dirty = True
        self._trim()

    # ------------------------------------------------------------------ query

    @workflow.query(
        name="state", description="The case: status, deadlines, actions, allowed actions per role."
    )
    def get_state(self) -> CaseState:
        return self._snapshot()

    # ------------------------------------------------------------------ clocks

    @property
    def _policy(self) -> policies.Policy:
        assert self.policy is not None
        return self.policy

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

    def _lapse_extension(self, stage: DeadlineKind) -> None:
        """R-18: a request not decided when its stage closes lapses; it never moves a later stage."""
        s = self.state
        for e in s.extensions:
            if e.decided_at is None and e.stage == stage:
                e.decided_at, e.approved, e.lapsed = workflow.now(), False, True
                self._record(
                    "extension-lapsed", SYSTEM, s.status, {"stage": stage.value, "days": e.days}
                )

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
                self._archive(Outcome.CONCLUDED)
                self._record("callback-expired", SYSTEM, before, {"rating": s.satisfaction.rating.value})
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
                    await self._escalate(EscalationSource.OVERDUE, f"{DEADLINE_LABELS[d.kind]} overdue", None)
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

    # ------------------------------------------------------------------ bookkeeping

    def _archive(self, outcome: Outcome) -> None:
        s = self.state
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
        if not self._v3():
            s.actions_total += 1
            s.actions.append(
                ActionRecord(
                    seq=len(s.actions) + 1,
                    action=action,
                    actor=actor,
                    at=workflow.now(),
                    status_before=before,
                    status_after=s.status,
                    detail=detail,
                )
            )
            self._changed()
            return
        # The whole record goes to PostgreSQL once (the projection's events); the case keeps
        # the newest records with their texts cut, so that nothing here grows without bound.
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
        self._unprojected.append(record)
        s.actions.append(record.model_copy(update={"detail": _cut_detail(detail)}))
        self._trim()
        self._changed()

    def _trim(self) -> None:
        """Keep every growing list of the case within its cap (BOUNDED shape)."""
        s = self.state
        del s.actions[:-KEEP_ACTIONS]
        del s.ignored_signals[:-KEEP_IGNORED]
        del s.investigation[:-KEEP_INVESTIGATION]
        del s.linked[:-KEEP_LINKED]
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
        self._publish()

    def _publish(self) -> None:
        """Keep the search attributes and the Web UI's current details in step with the case."""
        s = self.state
        due = s.next_due()
        values: dict[str, Any] = {
            "status": s.status.value,
            "category": s.category.value,
            "grade": s.grade.value,
            "unit": s.handling_unit,
            "respondent": s.respondent_unit,
            "channel": s.channel.value,
            "due": due,
            "overdue": s.overdue,
            "supervised": s.supervised,
        }
        if values != self._sa_last:
            keys = {
                "status": SA_STATUS,
                "category": SA_CATEGORY,
                "grade": SA_GRADE,
                "unit": SA_HANDLING_UNIT,
                "respondent": SA_RESPONDENT_UNIT,
                "channel": SA_CHANNEL,
                "due": SA_DUE_AT,
                "overdue": SA_OVERDUE,
                "supervised": SA_SUPERVISED,
            }
            updates: list[SearchAttributeUpdate[Any]] = []
            for name, value in values.items():
                if self._sa_last.get(name, object()) == value:
                    continue
                key = keys[name]
                updates.append(key.value_unset() if value is None else key.value_set(value))
            workflow.upsert_search_attributes(updates)
            self._sa_last = values
        last = s.actions[-1] if s.actions else None
        marks = " ".join(
            m for m, on in (("⚠ 超期 OVERDUE", s.overdue), ("督办 SUPERVISED", s.supervised)) if on
        )
        workflow.set_current_details(
            f"**{s.number}** · {STATUS_LABELS[s.status]}"
            + (f" · {s.outcome.value}" if s.outcome else "")
            + (f" · {marks}" if marks else "")
            + f"\n\n下一期限 next due: {_bj(due)} (北京时间 Beijing)"
            + f"\n\n承办单位 handling unit: {s.handling_unit or '—'}"
            + (
                f"\n\n最近操作 last action: {last.action} by {last.actor.id} ({last.actor.role.value}) at {_bj(last.at)}"
                if last
                else ""
            )
        )

    def _snapshot(self) -> CaseState:
        """The case with the allowed actions per role; never changes the case (queries use it)."""
        s = self.state
        return s.model_copy(update={"allowed_actions": lifecycle.allowed_by_role(s, workflow.now())})

    async def _flush(self) -> None:
        """Deliver the outbox and the read-model projection (activities retry until they land)."""
        if self._bounded:
            calls = []
            if self._outbox:
                batch, self._outbox = NotifyInput(notifications=self._outbox), []
                calls.append(workflow.execute_activity("notify", batch, **SIDE_EFFECT))
            if self._dirty or self._unprojected:
                calls.append(workflow.execute_activity("project_case", self._bounded_projection(), **SIDE_EFFECT))
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
