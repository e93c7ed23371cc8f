"""Inspection rounds (明查暗访督查, R-40) and their findings.

Rounds are `InspectionRoundWorkflow`s (workflows/inspection.py), started monthly by the Temporal
Schedule `inspection-rounds` or by hand. A finding's facts are stored in PostgreSQL first; the
Update `submit-finding` carries only its id and a non-personal summary, and the round turns it
into a complaint with channel `inspection`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client

from api.auth import User
from api.errors import ApiError, not_found, temporal_call, validation_error
from api.inspections import queries as q
from api.inspections.schemas import (
    ExemptionIn,
    ExemptionOut,
    FindingIn,
    FindingOut,
    RoundOut,
    RoundStart,
)
from config import Settings
from domain import personal_data as pd
from domain.inspections import (
    CloseRoundInput,
    FindingRecord,
    InspectionRoundInput,
    RoundState,
    SubmitFindingInput,
)
from domain.workdays import BEIJING

#: How long starting a round waits for its draw before answering 202.
DRAW_WAIT_SECONDS = 2.0


def round_out(row: asyncpg.Record, findings: list[FindingOut] | None = None) -> RoundOut:
    data: dict[str, Any] = dict(row)
    for key in ("register_units", "mandatory", "drawn", "units_with_findings", "random_units",
                "uncovered", "exempted", "not_in_register"):
        data[key] = json.loads(data[key]) if data[key] is not None else None
    return RoundOut(**data, findings=findings or [])


async def round_row(pool: asyncpg.Pool, round_id: str, user: User) -> asyncpg.Record:
    """The round of the caller's center, else 404."""
    row = await pool.fetchrow(q.SELECT_ROUND, round_id)
    if row is None or row["center"] != user.center:
        raise not_found("inspection round")
    return row


async def findings(pool: asyncpg.Pool, round_id: str) -> list[FindingOut]:
    return [FindingOut(**dict(r)) for r in await pool.fetch(q.SELECT_FINDINGS, round_id)]


async def list_rounds(pool: asyncpg.Pool, center: str, *, status: str | None,
                      limit: int) -> list[RoundOut]:
    """The center's rounds, newest first."""
    return [round_out(r) for r in await pool.fetch(q.SELECT_ROUNDS, center, status, limit)]


async def get_round(pool: asyncpg.Pool, round_id: str, user: User) -> RoundOut:
    """The round with its draw and its findings."""
    row = await round_row(pool, round_id, user)
    return round_out(row, await findings(pool, round_id))


def _timeout(settings: Settings) -> float:
    # Filing a finding runs the intake and waits for the new case: give it more than one call.
    return settings.temporal_rpc_timeout_seconds * 3


async def start_round(pool: asyncpg.Pool, client: Client, settings: Settings, user: User,
                      body: RoundStart) -> tuple[str, RoundOut | None]:
    """Start a round now; its id, and the round once drawn (None if not drawn in time)."""
    now = datetime.now(UTC)
    round_id = (f"inspection-round-{user.center}-{now.astimezone(BEIJING):%Y%m%dT%H%M%S}-"
                f"{secrets.token_hex(3)}")
    inp = InspectionRoundInput(center=user.center, **body.model_dump())
    rpc = timedelta(seconds=settings.temporal_rpc_timeout_seconds)
    await temporal_call(
        client.start_workflow("InspectionRoundWorkflow", inp, id=round_id,
                              task_queue=settings.task_queue, rpc_timeout=rpc,
                              static_summary=f"{round_id} · 明查暗访 inspection round"),
        timeout=settings.temporal_rpc_timeout_seconds, what="the round's start",
    )
    row = await _wait_for_draw(pool, round_id)
    return round_id, None if row is None else round_out(row)


async def _wait_for_draw(pool: asyncpg.Pool, round_id: str) -> asyncpg.Record | None:
    """The round's row once the draw is recorded (a worker runs it in well under a second)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + DRAW_WAIT_SECONDS
    while True:
        row = await pool.fetchrow(q.SELECT_ROUND, round_id)
        if row is not None or loop.time() > until:
            return row
        await asyncio.sleep(0.05)


async def submit_finding(pool: asyncpg.Pool, client: Client, settings: Settings, user: User,
                         round_id: str, body: FindingIn,
                         idempotency_key: str | None) -> FindingOut:
    """Record a finding (PostgreSQL first) and file it as a complaint through the round."""
    row = await round_row(pool, round_id, user)
    if row["status"] != "open":
        raise ApiError(409, "invalid_status", f"round {round_id} is closed", status="closed")
    # The summary goes into Temporal and to the unit: no personal data in it.
    if problems := await asyncio.to_thread(pd.problems, {"summary": body.summary}, None):
        raise validation_error(problems)
    drawn = json.loads(row["drawn"])
    if body.unit not in drawn:
        raise ApiError(422, "invalid_body", f"unit: {body.unit!r} was not drawn for this round; "
                       "drawn: " + (", ".join(drawn) or "none"))
    if idempotency_key:
        digest = hashlib.sha256(f"{user.center}:{round_id}:{idempotency_key}".encode())
        finding_id = digest.hexdigest()[:32]
    else:
        finding_id = uuid.uuid4().hex
    await pool.execute(q.INSERT_FINDING, finding_id, round_id, body.unit, body.category.value,
                       body.grade.value, body.summary, body.facts,
                       json.dumps(body.evidence, ensure_ascii=False), body.staff_name, user.id)
    stored = await pool.fetchrow(q.SELECT_FINDING, finding_id)
    assert stored is not None
    if stored["round_id"] != round_id or stored["facts"] != body.facts:
        raise ApiError(409, "idempotency_conflict",
                       "this Idempotency-Key was used for a different finding")
    if stored["number"] is not None:  # a retry of a finding already filed
        return FindingOut(**{k: v for k, v in stored.items() if k != "facts"})
    inp = SubmitFindingInput(actor=user.actor(), finding_id=finding_id, unit=body.unit,
                             category=body.category, grade=body.grade, summary=body.summary)
    handle = client.get_workflow_handle(round_id)
    timeout = _timeout(settings)
    try:
        record: FindingRecord = await temporal_call(
            handle.execute_update("submit-finding", inp, id=f"finding:{finding_id}",
                                  result_type=FindingRecord,
                                  rpc_timeout=timedelta(seconds=timeout)),
            timeout=timeout, what="the 'submit-finding' update",
        )
    except ApiError as e:
        if e.http_status < 500:  # refused: the finding was not taken
            await pool.execute(q.DELETE_UNFILED_FINDING, finding_id)
        raise
    return FindingOut(finding_id=finding_id, round_id=round_id, unit=record.unit,
                      category=record.category.value, grade=record.grade.value,
                      summary=record.summary, submitted_by=user.id,
                      submitted_at=stored["submitted_at"], number=record.number)


async def close_round(pool: asyncpg.Pool, client: Client, settings: Settings, user: User,
                      round_id: str, comment: str) -> RoundOut:
    """Close the round now through its workflow; the round as it then stands."""
    row = await round_row(pool, round_id, user)
    if row["status"] != "open":
        raise ApiError(409, "invalid_status", f"round {round_id} is already closed",
                       status="closed")
    handle = client.get_workflow_handle(round_id)
    timeout = _timeout(settings)
    state: RoundState = await temporal_call(
        handle.execute_update("close-round", CloseRoundInput(actor=user.actor(), comment=comment),
                              result_type=RoundState, rpc_timeout=timedelta(seconds=timeout)),
        timeout=timeout, what="the 'close-round' update",
    )
    out = round_out(row, await findings(pool, round_id))
    return out.model_copy(update={"status": state.status, "closed_at": state.closed_at,
                                  "closed_by": state.closed_by,
                                  "units_with_findings": state.units_with_findings})


async def grant_exemption(pool: asyncpg.Pool, user: User, body: ExemptionIn) -> ExemptionOut:
    """A leader's exemption of a unit with unresolved findings, with its reason (R-40)."""
    reason = body.reason.strip()
    if len(reason) < 4:
        raise ApiError(422, "invalid_body", "reason: give the reason for the exemption (at "
                       "least 4 characters besides spaces)")
    async with pool.acquire() as conn, conn.transaction():
        active = await conn.fetchval(q.SELECT_UNIT_ACTIVE, user.center, body.unit)
        if not active:
            raise ApiError(422, "invalid_body", f"unit: {body.unit!r} is not an active unit of "
                           "the register")
        if not await conn.fetchval(q.HAS_UNRESOLVED, user.center, body.unit):
            raise ApiError(422, "invalid_body", f"unit: {body.unit!r} has no unresolved "
                           "findings; only such a unit is drawn without fail (R-40)")
        row = await conn.fetchrow(q.INSERT_EXEMPTION, user.center, body.unit,
                                  reason, user.id, body.days)
    return ExemptionOut(**dict(row))


async def list_exemptions(pool: asyncpg.Pool, center: str, limit: int) -> list[ExemptionOut]:
    return [ExemptionOut(**dict(r)) for r in await pool.fetch(q.SELECT_EXEMPTIONS, center, limit)]


async def revoke_exemption(pool: asyncpg.Pool, user: User, exemption_id: int) -> ExemptionOut:
    row = await pool.fetchrow(q.REVOKE_EXEMPTION, exemption_id, user.center, user.id)
    if row is None:
        raise not_found("exemption in force")
    return ExemptionOut(**dict(row))
