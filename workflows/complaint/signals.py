"""Signals: decisions sent by leaders and supervisors (API, Web UI or CLI). They take any
number and shape of inputs, wait for the registration, and record what they cannot use in
`ignored_signals` with the reason; nothing here raises (a bad signal never fails a task).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from domain.models import (
        OUTSIDE_ESCALATION_SOURCES,
        DeadlineKind,
        DecideExtensionInput,
        DuplicateLinkedInput,
        EscalateInput,
        IgnoredSignal,
        NotificationKind,
        Recipient,
        Status,
    )
    from workflows.complaint.effects import Effects
    from workflows.complaint.options import (
        _M,
        OPERATOR,
        SYSTEM,
        _cut,
    )


class Signals(Effects):
    """The bodies of the signal handlers (the handlers themselves are on the workflow class)."""

    _frozen: bool
    _registered: bool
    _run_started: bool

    async def _on_escalate(self, args: tuple[Any, ...]) -> None:
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

    async def _on_recompute_deadlines(self, args: tuple[Any, ...]) -> None:
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

    async def _on_duplicate_linked(self, args: tuple[Any, ...]) -> None:
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
