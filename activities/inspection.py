"""Side effects of an inspection round (R-40): the register, the draw record, the findings.

Every activity is idempotent: the draw is stored once per round, a finding becomes exactly one
complaint (the intake runs with an Idempotency-Key made from the finding's id), closing a round
twice writes the same values.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

import activities.registration as registration
from activities.intake import start_complaint
from config import get_settings
from domain import policies, workdays
from domain.inspections import (
    CloseRecord,
    DrawRecord,
    Exemption,
    FileFindingInput,
    FileFindingResult,
    MonthPlan,
    PlanInput,
    PlannedRound,
    PrepareInput,
    RoundSetup,
    unannounced_instant,
)
from domain.intake import ComplainantIn, ComplaintCreate, RespondentIn, intake_problems
from domain.models import Channel, Form
from domain.workdays import BEIJING

if TYPE_CHECKING:
    import asyncpg
    from temporalio.client import Client

#: The policy of the round's center (its findings are registered there).
SELECT_CENTER_POLICY = "SELECT policy FROM centers WHERE code = $1"
#: A finding is filed within the round that found it; older ones are typing errors (R-10).
MAX_FINDING_AGE_DAYS = 60

log = logging.getLogger("complaints.inspection")

#: The units a round draws from: active and subject to inspection.
SELECT_REGISTER = """
SELECT code FROM unit_register WHERE center = $1 AND active AND inspect ORDER BY code
"""

#: The round before this one (started earlier, same center), closed or not.
SELECT_PREVIOUS_ROUND = """
SELECT round_id FROM inspection_rounds
WHERE center = $1 AND round_id <> $2 AND started_at <= $3
ORDER BY started_at DESC, round_id DESC
LIMIT 1
"""

#: Units with findings filed (become complaints) in a round.
SELECT_UNITS_WITH_FINDINGS = """
SELECT DISTINCT unit FROM inspection_findings
WHERE round_id = $1 AND number IS NOT NULL
ORDER BY unit
"""

#: Units with findings not yet resolved, whatever round of the center found them (R-40: 发现有
#: 应当整改问题的单位，直接纳入下一轮): a filed finding is resolved when its case is archived.
#: A finding counts from its filing, also while its round is still open.
SELECT_UNRESOLVED_UNITS = """
SELECT DISTINCT f.unit FROM inspection_findings f
JOIN inspection_rounds r ON r.round_id = f.round_id
LEFT JOIN complaints c ON c.number = f.number
WHERE r.center = $1 AND f.number IS NOT NULL AND f.filed_at <= $2
  AND c.status IS DISTINCT FROM 'archived'
ORDER BY f.unit
"""

#: Every active unit of the center, inspected or not (a unit with unresolved findings is drawn
#: even when a maintainer set `inspect: false`, unless a leader exempted it with a reason).
SELECT_ACTIVE_UNITS = "SELECT code FROM unit_register WHERE center = $1 AND active"

#: The leaders' exemptions in force at the round's start (the newest one per unit).
SELECT_EXEMPTIONS = """
SELECT DISTINCT ON (unit) unit, reason, granted_by AS by, granted_at AS at, valid_until AS until
FROM inspection_exemptions
WHERE center = $1 AND granted_at <= $2 AND valid_until > $2 AND revoked_at IS NULL
ORDER BY unit, granted_at DESC
"""

#: Units drawn by the center's rounds of the (Beijing) year so far (全覆盖).
SELECT_DRAWN_THIS_YEAR = """
SELECT DISTINCT jsonb_array_elements_text(drawn) AS unit FROM inspection_rounds
WHERE center = $1 AND round_id <> $2 AND started_at >= $3 AND started_at <= $4
"""

#: Every center with units to inspect (R-40 applies to each, not only `default`), bounded.
SELECT_CENTERS = """
SELECT DISTINCT center FROM unit_register WHERE active ORDER BY center LIMIT 1000
"""

INSERT_ROUND = """
INSERT INTO inspection_rounds (round_id, center, started_at, closes_at, seed, proportion_percent,
                               min_units, register_units, previous_round, mandatory, drawn,
                               random_quota, random_units, uncovered, exempted, not_in_register,
                               scheduled_at, plan_seed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10::text::jsonb, $11::text::jsonb,
        $12, $13::text::jsonb, $14::text::jsonb, $15::text::jsonb, $16::text::jsonb, $17, $18)
ON CONFLICT (round_id) DO NOTHING
"""

CLOSE_ROUND = """
UPDATE inspection_rounds
SET status = 'closed', closed_at = $2, closed_by = $3, units_with_findings = $4::text::jsonb
WHERE round_id = $1
"""

SELECT_FINDING = """
SELECT f.id, f.round_id, f.unit, f.category, f.grade, f.summary, f.facts,
       f.evidence::text AS evidence, f.respondent_staff, f.submitted_at, f.number,
       coalesce(u.name, f.unit) AS unit_name
FROM inspection_findings f
JOIN inspection_rounds r ON r.round_id = f.round_id
LEFT JOIN unit_register u ON u.center = r.center AND u.code = f.unit
WHERE f.id = $1 AND f.round_id = $2
"""

MARK_FILED = """
UPDATE inspection_findings SET number = $2, filed_at = now()
WHERE id = $1 AND number IS NULL
"""


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class InspectionActivities:
    """The round's activities; without a pool they log and draw from an empty register."""

    def __init__(self, pool: asyncpg.Pool | None = None, client: Client | None = None) -> None:
        self.pool = pool
        self.client = client

    @activity.defn(name="prepare_inspection_round")
    async def prepare_inspection_round(self, inp: PrepareInput) -> RoundSetup:
        """The register to draw from and the previous round's units with findings."""
        if self.pool is None:
            log.info("round %s: no database, empty register", inp.round_id)
            return RoundSetup(register_units=[], unresolved_units=[])
        at = inp.started_at
        year_start = datetime(at.astimezone(BEIJING).year, 1, 1, tzinfo=BEIJING)
        async with self.pool.acquire() as conn:
            register = [r["code"] for r in await conn.fetch(SELECT_REGISTER, inp.center)]
            previous = await conn.fetchval(SELECT_PREVIOUS_ROUND, inp.center, inp.round_id, at)
            units = ([r["unit"] for r in await conn.fetch(SELECT_UNITS_WITH_FINDINGS, previous)]
                     if previous else [])
            unresolved = {r["unit"] for r in await conn.fetch(SELECT_UNRESOLVED_UNITS,
                                                              inp.center, at)}
            active = {r["code"] for r in await conn.fetch(SELECT_ACTIVE_UNITS, inp.center)}
            exemptions = [Exemption(**dict(r)) for r in
                          await conn.fetch(SELECT_EXEMPTIONS, inp.center, at)
                          if r["unit"] in unresolved]
            drawn = {r["unit"] for r in await conn.fetch(SELECT_DRAWN_THIS_YEAR, inp.center,
                                                         inp.round_id, year_start, at)}
        exempt = {e.unit for e in exemptions}
        return RoundSetup(
            register_units=register, previous_round=previous, previous_units_with_findings=units,
            unresolved_units=sorted((unresolved & active) - exempt),
            not_in_register=sorted(unresolved - active - exempt), exempted=exemptions,
            uncovered_units=sorted(set(register) - drawn),
        )

    @activity.defn(name="plan_inspection_month")
    async def plan_inspection_month(self, inp: PlanInput) -> MonthPlan:
        """Every center's round of the month at an unannounced instant: a seed per center (here,
        so the plan is in the history) and `unannounced_instant` on the working-day calendar."""
        month = f"{inp.month_of.astimezone(BEIJING):%Y-%m}"
        if self.pool is None:
            return MonthPlan(month=month)
        centers = [r["center"] for r in await self.pool.fetch(SELECT_CENTERS)]
        rounds = []
        for center in centers:
            seed = secrets.randbits(63)
            rounds.append(PlannedRound(center=center, seed=seed, at=unannounced_instant(
                inp.month_of, seed, workdays.is_working_day)))
        return MonthPlan(month=month, month_of=inp.month_of, rounds=rounds)

    @activity.defn(name="record_inspection_draw")
    async def record_inspection_draw(self, inp: DrawRecord) -> None:
        """Store the draw (seed, register, mandatory and drawn units) once."""
        d = inp.draw
        if self.pool is None:
            log.info("round %s drew %s (seed %d)", inp.round_id, d.drawn, d.seed)
            return
        await self.pool.execute(
            INSERT_ROUND, inp.round_id, inp.center, inp.started_at, inp.closes_at, d.seed,
            inp.proportion_percent, inp.min_units, _j(inp.register_units), inp.previous_round,
            _j(d.mandatory), _j(d.drawn), d.random_quota, _j(d.random), _j(d.uncovered),
            _j([e.model_dump(mode="json") for e in d.exempted]), _j(d.not_in_register),
            inp.scheduled_at, inp.plan_seed,
        )

    @activity.defn(name="close_inspection_round")
    async def close_inspection_round(self, inp: CloseRecord) -> None:
        """Mark the round closed with its units with findings (the next round includes them)."""
        if self.pool is None:
            log.info("round %s closed; units with findings %s", inp.round_id,
                     inp.units_with_findings)
            return
        await self.pool.execute(CLOSE_ROUND, inp.round_id, inp.closed_at, inp.closed_by,
                                _j(inp.units_with_findings))

    @activity.defn(name="file_inspection_finding")
    async def file_inspection_finding(self, inp: FileFindingInput) -> FileFindingResult:
        """Register the finding as a complaint (channel `inspection`) and start its workflow.

        The same registration as the API's intake (`activities/registration.py`, rules from
        `domain/intake.py`), with the Idempotency-Key `inspection-finding:<id>`, so a retried
        activity finds the same case. The complainant is the inspection itself: an anonymous
        complainant row, no personal data; nobody holds its access code. A start that fails is
        left to the reconciler, like any intake.
        """
        if self.pool is None or self.client is None:
            raise ApplicationError("filing a finding needs PostgreSQL and a Temporal client",
                                   non_retryable=True)
        row = await self.pool.fetchrow(SELECT_FINDING, inp.finding_id, inp.round_id)
        if row is None:
            raise ApplicationError(f"finding {inp.finding_id} of round {inp.round_id} is not "
                                   "in PostgreSQL", non_retryable=True)
        if row["number"] is not None:
            return FileFindingResult(number=row["number"])
        body = ComplaintCreate(
            channel=Channel.INSPECTION, form=Form.WRITTEN, category=row["category"],
            grade=row["grade"], complainant=ComplainantIn(anonymous=True),
            respondent=RespondentIn(unit_code=row["unit"], unit_name=row["unit_name"],
                                    staff_name=row["respondent_staff"]),
            facts=row["facts"], evidence=json.loads(row["evidence"] or "[]"),
            received_at=row["submitted_at"], summary=row["summary"],
        )
        now = datetime.now(UTC)
        problems = intake_problems(body, now, max_age_days=MAX_FINDING_AGE_DAYS)
        if problems:
            raise ApplicationError(f"intake refused the finding: {problems}", non_retryable=True)
        policy = await self.pool.fetchval(SELECT_CENTER_POLICY, inp.center)
        if policy not in {name for name, _ in policies.POLICIES}:
            policy = get_settings().policy  # unset or unknown: the settings' policy
        new = registration.new_case(
            body, center=inp.center, policy=policy,
            code_hash=secrets.token_hex(32), registered_by=inp.actor, now=now,
        )
        case = await registration.write(
            self.pool, body, new, key=f"{inp.center}:inspection-finding:{inp.finding_id}", now=now
        )
        number = str(case["number"])
        if not case["workflow_started"]:
            # The new case runs on the worker's own task queue, like this round.
            try:
                if await start_complaint(self.client, case, task_queue=activity.info().task_queue,
                                         rpc_timeout=timedelta(seconds=10)):
                    await registration.mark_started(self.pool, number)
            except Exception as e:  # the row is durable: the reconciler starts it
                await registration.note_start_failed(self.pool, number, f"{type(e).__name__}: {e}")
        await self.pool.execute(MARK_FILED, inp.finding_id, number)
        log.info("finding %s of round %s filed as %s", inp.finding_id, inp.round_id, number)
        return FileFindingResult(number=number)
