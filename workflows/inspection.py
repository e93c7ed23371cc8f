"""`InspectionRoundWorkflow`: one inspection round (明查暗访督查, RULES.md §13, R-40).

Started monthly by the Temporal Schedule `inspection-rounds` (scripts/schedules.py), or by hand
(`POST /v1/inspections`). The round:

1. reads the unit register and the previous round's units with findings (activity
   `prepare_inspection_round`);
2. draws the units to inspect (before issue 15: every unit with findings in the previous round,
   plus units drawn at random up to the set proportion, `draw_units`; see below). The
   randomness is a seed taken from `workflow.random()` and fed to `random.Random(seed)`, so the
   draw is deterministic on replay, and the seed and both lists go into the history (activity
   `record_inspection_draw`, which also stores them in PostgreSQL) for auditors to re-check;
3. waits for the inspectors' findings (Update `submit-finding`): each one becomes a complaint
   with channel `inspection` (activity `file_inspection_finding`, which runs the intake and
   starts its `ComplaintWorkflow`);
4. closes on the Update `close-round`, or by itself `window_days` after it started, and records
   the units with findings (activity `close_inspection_round`).

Since issue 15 (patch `inspection-draw-2026-12`) the mandatory units are those with unresolved
findings of every round of the center (until the finding's case is archived), minus a leader's
exemptions (recorded on the round); the random quota is drawn in addition, units not inspected
this year first (`domain.inspections.draw_round`). A round planned by `InspectionMonthWorkflow`
sleeps until its unannounced instant (`not_before`) before it draws.

Messages (their models and the draw live in `domain/inspections.py`): Updates `submit-finding`,
`close-round`; Query `state`. No finding's facts pass
through here: the API stores them in PostgreSQL and the Update carries the finding's id and a
non-personal summary only (R-32, R-33).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain.inspections import (
        INSPECTOR_ROLES,
        CloseRecord,
        CloseRoundInput,
        DrawRecord,
        FileFindingInput,
        FileFindingResult,
        FindingRecord,
        InspectionMonthInput,
        InspectionRoundInput,
        MonthPlan,
        PlanInput,
        PrepareInput,
        RoundSetup,
        RoundState,
        SubmitFindingInput,
        draw_round,
        draw_units,
    )
    from domain.models import Actor, Role

#: Activity options, declared once (the side effects retry while PostgreSQL is down).
SIDE_EFFECT: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1),
                                maximum_interval=timedelta(minutes=1)),
}
#: Filing a finding runs the intake and waits for the new case's registration.
FILING: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=1),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1),
                                maximum_interval=timedelta(minutes=1)),
}

SYSTEM = Actor(id="system", role=Role.SYSTEM)


def _inspectors_only(actor: Actor, may_not: str) -> None:
    """An Update of the round is the inspectors' (R-40): anyone else is refused (403)."""
    if actor.role not in INSPECTOR_ROLES:
        raise ApplicationError(f"role {actor.role.value!r} may not {may_not}", type="forbidden")

#: Issue 15: the units with unresolved findings of every round are drawn, the random quota in
#: addition, the units not inspected this year first; older rounds replay the old draw.
DRAW_2026_12 = "inspection-draw-2026-12"

# ------------------------------------------------------------------ the workflow


@workflow.defn(name="InspectionRoundWorkflow")
class InspectionRoundWorkflow:
    """One inspection round; see the module docstring for its messages."""

    def __init__(self) -> None:
        self.s: RoundState | None = None
        self._closing: CloseRoundInput | None = None
        self._filing = 0

    @workflow.run
    async def run(self, inp: InspectionRoundInput) -> RoundState:
        info, now = workflow.info(), workflow.now()
        round_id = info.workflow_id
        s = RoundState(
            round_id=round_id, center=inp.center, status="drawing", started_at=now,
            closes_at=now + timedelta(days=inp.window_days),
            proportion_percent=inp.proportion_percent, min_units=inp.min_units,
        )
        self.s = s
        if inp.not_before is not None and inp.not_before > now:
            # The unannounced instant (明查暗访): nothing is drawn or recorded before it.
            s.status = "planned"
            await workflow.sleep(inp.not_before - now)
            now = workflow.now()
            s.started_at, s.closes_at = now, now + timedelta(days=inp.window_days)
            s.status = "drawing"
        setup: RoundSetup = await workflow.execute_activity(
            "prepare_inspection_round",
            PrepareInput(round_id=round_id, center=inp.center, started_at=now),
            result_type=RoundSetup, **SIDE_EFFECT,
        )
        seed = workflow.random().getrandbits(63)
        if setup.unresolved_units is not None and workflow.patched(DRAW_2026_12):
            # Every unit with unresolved findings (all rounds), the quota in addition.
            s.draw = draw_round(setup.register_units, setup.unresolved_units,
                                proportion_percent=inp.proportion_percent,
                                min_units=inp.min_units, seed=seed,
                                uncovered=setup.uncovered_units,
                                not_in_register=setup.not_in_register,
                                exempted=setup.exempted)
        else:
            s.draw = draw_units(setup.register_units, setup.previous_units_with_findings,
                                proportion_percent=inp.proportion_percent,
                                min_units=inp.min_units, seed=seed)
        s.register_units, s.previous_round = setup.register_units, setup.previous_round
        await workflow.execute_activity(
            "record_inspection_draw",
            DrawRecord(round_id=round_id, center=inp.center, started_at=now,
                       closes_at=s.closes_at, proportion_percent=inp.proportion_percent,
                       min_units=inp.min_units, register_units=setup.register_units,
                       previous_round=setup.previous_round, draw=s.draw,
                       scheduled_at=inp.not_before, plan_seed=inp.plan_seed),
            **SIDE_EFFECT,
        )
        s.status = "open"
        workflow.set_current_details(
            f"**{round_id}** · 抽查 {len(s.draw.drawn)}/{len(setup.register_units)} 个单位 units"
            f"\n\n{', '.join(s.draw.drawn) or '—'}"
        )
        try:
            await workflow.wait_condition(
                lambda: self._closing is not None, timeout=s.closes_at - workflow.now()
            )
        except TimeoutError:
            self._closing = CloseRoundInput(actor=SYSTEM, comment="期满自动结束 window ended")
        # Findings being filed finish first; a closing round takes no new ones.
        await workflow.wait_condition(lambda: self._filing == 0)
        self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await workflow.execute_activity(
            "close_inspection_round",
            CloseRecord(round_id=round_id, closed_at=s.closed_at or workflow.now(),
                        closed_by=s.closed_by or "system",
                        units_with_findings=s.units_with_findings),
            **SIDE_EFFECT,
        )
        return s

    @property
    def state(self) -> RoundState:
        if self.s is None:
            raise ApplicationError("the round is starting", type="invalid_state")
        return self.s

    def _close(self) -> None:
        s = self.state
        if s.status == "closed":
            return
        closing = self._closing or CloseRoundInput(actor=SYSTEM)
        s.status, s.closed_at = "closed", workflow.now()
        s.closed_by, s.comment = closing.actor.id, closing.comment
        s.units_with_findings = sorted({f.unit for f in s.findings if f.number is not None})

    # ------------------------------------------------------------------ updates

    @workflow.update(
        name="submit-finding",
        description="督查发现 Record a finding about a drawn unit; it becomes a complaint with "
        "channel `inspection` (R-40).",
    )
    async def submit_finding(self, inp: SubmitFindingInput) -> FindingRecord:
        s = self.state
        if s.status != "open":  # a close-round accepted in the same task ran first
            raise ApplicationError(f"round {s.round_id} is {s.status}; it takes no findings",
                                   type="invalid_status")
        record = FindingRecord(finding_id=inp.finding_id, unit=inp.unit, category=inp.category,
                               grade=inp.grade, summary=inp.summary, at=workflow.now(),
                               by=inp.actor)
        s.findings.append(record)
        self._filing += 1
        try:
            result: FileFindingResult = await workflow.execute_activity(
                "file_inspection_finding",
                FileFindingInput(round_id=s.round_id, center=s.center,
                                 finding_id=inp.finding_id, actor=inp.actor),
                result_type=FileFindingResult, **FILING,
            )
        except Exception as e:
            s.findings.remove(record)  # not filed: the round does not count it
            raise ApplicationError(f"the finding could not be filed: {e}",
                                   type="invalid_body") from None
        finally:
            self._filing -= 1
        record.number = result.number
        return record

    @submit_finding.validator
    def _validate_submit_finding(self, inp: SubmitFindingInput) -> None:
        _inspectors_only(inp.actor, "submit findings")
        s = self.state
        if s.status != "open" or self._closing is not None:
            raise ApplicationError(f"round {s.round_id} is {s.status if s.status != 'open' else 'closing'}; "
                                   "it takes no findings", type="invalid_status")
        assert s.draw is not None
        if inp.unit not in s.draw.drawn:
            raise ApplicationError(f"unit: {inp.unit!r} was not drawn for this round; drawn: "
                                   + (", ".join(s.draw.drawn) or "none"), type="invalid_body")
        if any(f.finding_id == inp.finding_id for f in s.findings):
            raise ApplicationError(f"finding {inp.finding_id} is already recorded",
                                   type="invalid_state")

    @workflow.update(
        name="close-round",
        description="结束本轮 Close the round; its units with findings are inspected again next "
        "round (R-40).",
    )
    async def close_round(self, inp: CloseRoundInput) -> RoundState:
        self._closing = inp
        await workflow.wait_condition(lambda: self._filing == 0)
        self._close()
        return self.state

    @close_round.validator
    def _validate_close_round(self, inp: CloseRoundInput) -> None:
        _inspectors_only(inp.actor, "close a round")
        s = self.state
        if s.status != "open" or self._closing is not None:
            raise ApplicationError(f"round {s.round_id} is not open", type="invalid_status")

    # ------------------------------------------------------------------ query

    @workflow.query(name="state", description="The round: draw, findings, status.")
    def get_state(self) -> RoundState:
        return self.state



# ------------------------------------------------------------------ the month's rounds


@workflow.defn(name="InspectionMonthWorkflow")
class InspectionMonthWorkflow:
    """Started monthly by the Schedule `inspection-rounds`: one round for every center of the
    register (R-40: at least 12 a year each), each at an unannounced instant of the month
    (activity `plan_inspection_month`: seeded, recorded in this history and on the round). The
    rounds are child workflows `inspection-round-<center>-<YYYYMM>` that outlive this one; a
    center's round of the month already started (a second trigger) is left as it is."""

    @workflow.run
    async def run(self, inp: InspectionMonthInput) -> MonthPlan:
        plan: MonthPlan = await workflow.execute_activity(
            "plan_inspection_month", PlanInput(month_of=workflow.now()), result_type=MonthPlan,
            **SIDE_EFFECT,
        )
        started = []
        for planned in plan.rounds:
            round_id = f"inspection-round-{planned.center}-{plan.month.replace('-', '')}"
            try:
                await workflow.start_child_workflow(
                    InspectionRoundWorkflow.run,
                    InspectionRoundInput(center=planned.center,
                                         proportion_percent=inp.proportion_percent,
                                         min_units=inp.min_units, window_days=inp.window_days,
                                         not_before=planned.at, plan_seed=planned.seed),
                    id=round_id, parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=f"{round_id} · 明查暗访 inspection round",
                )
            except WorkflowAlreadyStartedError:
                continue
            started.append(planned)
        workflow.set_current_details(f"{plan.month}: {len(started)} rounds planned")
        return plan.model_copy(update={"rounds": started})
