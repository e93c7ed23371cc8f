"""`ComplaintWorkflow`: one complaint from registration to archive (RULES.md §3–§9, §11).

Messages:
- Updates, one per handler action of `domain.actions.ACTIONS` (validated against
  `domain.lifecycle`; each answers with a small `ActionResult`): accept, reject, forward,
  link-duplicate, submit-opinion, approve-opinion, report-result, request-extension,
  return-referral, resolve-supervision, give-feedback, record-satisfaction, appeal,
  record-investigation.
- Signals (`domain.actions.SIGNALS`; never raise, a bad one is recorded in `ignored_signals`):
  decide-extension, escalate, recompute-deadlines, and duplicate-linked (internal, from a
  linked repeat complaint).
- Query: state (never changes the case).

The parts: `casefile` (state, records, caps, outbox, projection), `clocks` (deadlines and what
their instants do), `effects` (what each action does), `signals` (signal bodies), `publish`
(search attributes, Web UI details), `options` (patches, caps, activity options).

Deterministic: time comes from `workflow.now()`, deadlines from the `compute_deadlines`
activity, side effects (outbox, read model, archive) from activities. No complainant identity
ever enters this package: only `complainant_ref` (R-33).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import lifecycle, policies
    from domain.actions import ACTIONS, SIGNALS
    from domain.models import (
        Action,
        ActionInput,
        ActionRecord,
        ActionResult,
        ArchiveInput,
        CarriedCase,
        CaseState,
        Category,
        ComplaintInput,
        Deadline,
        DeadlineKind,
        DecideExtensionInput,
        Escalation,
        EscalationSource,
        Grade,
        LinkDuplicateInput,
        Notification,
        NotificationKind,
        Recipient,
        Status,
    )
    from workflows.complaint.options import (
        ARCHIVE,
        BOUNDED,
        HISTORY_BUDGET_BYTES,
        HISTORY_BUDGET_EVENTS,
        _fail,
    )
    from workflows.complaint.signals import Signals


def new_case(inp: ComplaintInput, registered_at: datetime) -> CaseState:
    """The case as registered, from the start input."""
    return CaseState(
        number=inp.number,
        center=inp.center,
        status=Status.REGISTERED,
        channel=inp.channel,
        form=inp.form,
        category=inp.category,
        grade=Grade.MAJOR if inp.category == Category.RETALIATION else inp.grade,
        respondent_unit=inp.respondent_unit,
        respondent_unit_name=inp.respondent_unit_name,
        summary=inp.summary,
        complainant_ref=inp.complainant_ref,
        origin_case=inp.origin_case,
        policy=inp.policy,
        policy_version=inp.policy_version,
        received_at=inp.received_at,
        registered_at=registered_at,
    )


def _update(action: Action) -> Any:
    """The Update of one action of `domain.actions.ACTIONS`, with its validator."""
    spec = ACTIONS[action]

    async def handler(self: ComplaintWorkflow, inp: ActionInput) -> ActionResult:
        return await self._act(action, inp)

    def validator(self: ComplaintWorkflow, inp: ActionInput) -> None:
        self._validate(action, inp)

    # The payload converter reads these hints: each action's own input model.
    handler.__annotations__ = {"inp": spec.input, "return": ActionResult}
    validator.__annotations__ = {"inp": spec.input, "return": None}
    handler.__name__ = handler.__qualname__ = action.value.replace("-", "_")
    update = workflow.update(name=action.value, description=spec.description)(handler)
    update.validator(validator)
    return update


@workflow.defn(name="ComplaintWorkflow")
class ComplaintWorkflow(Signals):
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
        self._rectification_patch: bool | None = None  # decided at the first decision
        self._local_delivery: bool | None = None  # decided once, at the start of the run
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
        self.s = new_case(inp, inp.registered_at or workflow.now())

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
        return await self._run_legacy(inp)

    async def _run_legacy(self, inp: ComplaintInput) -> CaseState:
        """The procedure of cases started before BOUNDED: kept exactly as it was, for replay."""
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
        self._delivers_locally()
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
                    lambda target=target: (  # type: ignore[misc]
                        self._next_wakeup() != target
                        or self.state.status == Status.ARCHIVED
                        or self._may_continue_as_new()
                    ),
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

    async def _register(self, inp: ComplaintInput) -> None:
        now = workflow.now()
        self.policy = policies.get(inp.policy, inp.policy_version)
        self.s = new_case(inp, now)
        grade = self.s.grade
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

    # ------------------------------------------------------------------ updates (ACTIONS)

    # One Update per row of the table: a new action needs no line here.
    for _action in Action:
        vars()[_action.value.replace("-", "_")] = _update(_action)
    del _action

    def _validate(self, action: Action, inp: ActionInput) -> None:
        if isinstance(inp, LinkDuplicateInput) and inp.primary == self.state.number:
            raise ApplicationError("primary: a case cannot be linked to itself", type="invalid_body")
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

    # ------------------------------------------------------------------ signals (SIGNALS)

    # Any number of inputs of any shape (`*args`): the `temporal` CLI and the Web UI let anyone
    # send two inputs, none, or a wrong one; `signals.Signals` records what it cannot use.

    @workflow.signal(name="decide-extension", description=SIGNALS["decide-extension"].description)
    async def decide_extension(self, *args: Any) -> None:
        inp = await self._receive("decide-extension", args, DecideExtensionInput)
        if inp is None:
            return
        async with self._lock:
            try:
                await self._decide_extension(inp)
            except Exception as e:  # never fail the workflow on a signal
                self._ignore("decide-extension", f"could not apply: {e}")

    @workflow.signal(name="escalate", description=SIGNALS["escalate"].description)
    async def escalate(self, *args: Any) -> None:
        await self._on_escalate(args)

    @workflow.signal(name="recompute-deadlines", description=SIGNALS["recompute-deadlines"].description)
    async def recompute_deadlines(self, *args: Any) -> None:
        await self._on_recompute_deadlines(args)

    @workflow.signal(
        name="duplicate-linked", description="Internal: a repeat complaint was linked to this case (R-45)."
    )
    async def duplicate_linked(self, *args: Any) -> None:
        await self._on_duplicate_linked(args)

    # ------------------------------------------------------------------ query

    @workflow.query(
        name="state", description="The case: status, deadlines, actions, allowed actions per role."
    )
    def get_state(self) -> CaseState:
        return self._snapshot()
