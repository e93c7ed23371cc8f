"""`/v1/inspections`: inspection rounds (明查暗访督查, R-40) and their findings.

Rounds are `InspectionRoundWorkflow`s (workflows/inspection.py), started monthly by the Temporal
Schedule `inspection-rounds` or here by hand. A finding's facts are stored in PostgreSQL first;
the Update `submit-finding` carries only its id and a non-personal summary, and the round turns
it into a complaint with channel `inspection`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import User
from api.deps import PoolDep, SettingsDep, TemporalDep, require
from api.errors import ApiError, not_found, temporal_call
from api.schemas import R401, R403, R404, R409, R422, R503, err_doc
from api.stats import BEIJING
from config import Settings
from domain.models import Category, Grade, Role
from workflows.inspection import (
    CloseRoundInput,
    FindingRecord,
    InspectionRoundInput,
    RoundState,
    SubmitFindingInput,
)

router = APIRouter(prefix="/v1/inspections", tags=["inspections"])

ViewUser = Annotated[
    User, Depends(require(Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR))
]
StarterUser = Annotated[User, Depends(require(Role.SUPERVISOR, Role.LEADER))]
InspectorUser = Annotated[User, Depends(require(Role.SUPERVISOR))]

ROUND_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
RoundId = Annotated[str, Path(pattern=ROUND_ID_PATTERN, description="The round (its workflow "
                                                                     "id).",
                              examples=["inspection-round-2026-12-01T01:00:00Z"])]

#: How long starting a round waits for its draw before answering 202.
DRAW_WAIT_SECONDS = 2.0

R_TEMPORAL = {**R503, 409: err_doc("The round is closed, or the finding is already recorded.")}


# ------------------------------------------------------------------ models


class FindingIn(BaseModel):
    """An inspector's finding (督查发现). `facts` stays in PostgreSQL; `summary` is what the
    workflow and the handling unit see, so no names or phone numbers there (R-32, R-33)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "unit": "tax-bureau", "category": "absent", "grade": "basic",
        "summary": "窗口工作时间无人值守 · 市税务局",
        "facts": "12月3日10:15暗访，3号窗口无人值守约40分钟，群众排队等候。",
        "evidence": ["暗访视频一段"], "staff_name": None}]})

    unit: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="The unit at fault: one drawn for this round.",
                      examples=["tax-bureau"])
    category: Category = Field(description="R-07 category.", examples=["absent"])
    grade: Grade = Field(default=Grade.BASIC, description="R-08 grade.")
    summary: str = Field(min_length=1, max_length=500, description="Non-personal summary.",
                         examples=["窗口工作时间无人值守 · 市税务局"])
    facts: str = Field(min_length=1, max_length=20000, description="What was found; stays in "
                       "PostgreSQL.", examples=["3号窗口无人值守约40分钟。"])
    evidence: list[str] = Field(default_factory=list, max_length=100,
                                description="Evidence list.")
    staff_name: str | None = Field(default=None, max_length=100,
                                   description="Staff concerned, if known (PostgreSQL only).")


class FindingOut(BaseModel):
    finding_id: str
    round_id: str
    unit: str
    category: str
    grade: str
    summary: str
    submitted_by: str
    submitted_at: datetime
    number: str | None = Field(default=None, description="The complaint it became (channel "
                               "`inspection`).", examples=["TS-20261203-00042"])


class RoundStart(BaseModel):
    """Start a round now (the schedule starts one every month)."""

    model_config = ConfigDict(extra="forbid")

    proportion_percent: int = Field(default=30, ge=1, le=100,
                                    description="Share of the register drawn.")
    min_units: int = Field(default=1, ge=0, le=1000, description="Draw at least this many.")
    window_days: int = Field(default=25, ge=1, le=366,
                             description="Closes by itself after this many days.")


class RoundClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000, description="Closing remark.")


class RoundOut(BaseModel):
    """A round and its draw (R-40): re-run `workflows.inspection.draw_units(register,
    previous units with findings, proportion_percent, min_units, seed)` to check it."""

    round_id: str
    center: str
    status: str = Field(description="open | closed", examples=["open"])
    started_at: datetime
    closes_at: datetime
    seed: int = Field(description="The draw's random seed (from workflow.random()).")
    proportion_percent: int
    min_units: int
    register_units: list[str] = Field(description="Units drawn from (active, subject to inspection).")
    previous_round: str | None = None
    mandatory: list[str] = Field(description="Units with findings in the previous round: "
                                 "always included.")
    drawn: list[str] = Field(description="The units to inspect.")
    closed_at: datetime | None = None
    closed_by: str | None = None
    units_with_findings: list[str] | None = Field(default=None, description="Set when closed.")
    findings: list[FindingOut] = Field(default_factory=list)


class RoundsPublic(BaseModel):
    data: list[RoundOut]
    count: int


# ------------------------------------------------------------------ SQL

_ROUND_COLUMNS = """
    round_id, center, status, started_at, closes_at, seed, proportion_percent, min_units,
    register_units::text AS register_units, previous_round, mandatory::text AS mandatory,
    drawn::text AS drawn, closed_at, closed_by, units_with_findings::text AS units_with_findings
"""

SELECT_ROUNDS = f"""
SELECT {_ROUND_COLUMNS} FROM inspection_rounds
WHERE center = $1 AND ($2::text IS NULL OR status = $2)
ORDER BY started_at DESC, round_id DESC
LIMIT $3
"""

SELECT_ROUND = f"SELECT {_ROUND_COLUMNS} FROM inspection_rounds WHERE round_id = $1"

SELECT_FINDINGS = """
SELECT id AS finding_id, round_id, unit, category, grade, summary, submitted_by, submitted_at,
       number
FROM inspection_findings WHERE round_id = $1 ORDER BY submitted_at, id
"""

INSERT_FINDING = """
INSERT INTO inspection_findings (id, round_id, unit, category, grade, summary, facts, evidence,
                                 respondent_staff, submitted_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10)
ON CONFLICT (id) DO NOTHING
"""

SELECT_FINDING = """
SELECT id AS finding_id, round_id, unit, category, grade, summary, submitted_by, submitted_at,
       number, facts
FROM inspection_findings WHERE id = $1
"""

DELETE_UNFILED_FINDING = "DELETE FROM inspection_findings WHERE id = $1 AND number IS NULL"


def _round_out(row: asyncpg.Record, findings: list[FindingOut] | None = None) -> RoundOut:
    data: dict[str, Any] = dict(row)
    for key in ("register_units", "mandatory", "drawn", "units_with_findings"):
        data[key] = json.loads(data[key]) if data[key] is not None else None
    return RoundOut(**data, findings=findings or [])


async def _round_row(pool: asyncpg.Pool, round_id: str, user: User) -> asyncpg.Record:
    row = await pool.fetchrow(SELECT_ROUND, round_id)
    if row is None or row["center"] != user.center:
        raise not_found("inspection round")
    return row


async def _findings(pool: asyncpg.Pool, round_id: str) -> list[FindingOut]:
    return [FindingOut(**dict(r)) for r in await pool.fetch(SELECT_FINDINGS, round_id)]


def _timeout(settings: Settings) -> float:
    # Filing a finding runs the intake and waits for the new case: give it more than one call.
    return settings.temporal_rpc_timeout_seconds * 3


# ------------------------------------------------------------------ routes


@router.get("", summary="List inspection rounds", responses={**R401, **R403, **R422, **R503})
async def list_rounds(
    user: ViewUser,
    pool: PoolDep,
    status: Annotated[str | None, Query(pattern="^(open|closed)$",
                                        description="Only open or closed rounds.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many, newest "
                                "first.")] = 50,
) -> RoundsPublic:
    """The center's rounds, newest first, with their draws; handler, leader, supervisor,
    auditor."""
    rows = await pool.fetch(SELECT_ROUNDS, user.center, status, limit)
    return RoundsPublic(data=[_round_out(r) for r in rows], count=len(rows))


@router.get("/{round_id}", summary="One inspection round", responses={**R401, **R403, **R404,
                                                                      **R503})
async def get_round(round_id: RoundId, user: ViewUser, pool: PoolDep) -> RoundOut:
    """The round, its draw (seed, register, mandatory and drawn units) and its findings."""
    row = await _round_row(pool, round_id, user)
    return _round_out(row, await _findings(pool, round_id))


class RoundDrawing(BaseModel):
    """A round started whose draw is not recorded yet (no worker has run it so far)."""

    round_id: str
    status: str = Field(default="drawing", examples=["drawing"])
    message: str = Field(default="the round is started; its draw follows as soon as a worker "
                         "runs it: GET /v1/inspections/{round_id}")


@router.post(
    "",
    status_code=201,
    response_model=RoundOut,
    summary="Start an inspection round now",
    responses={201: {"description": "Started and drawn."},
               202: {"model": RoundDrawing, "description": "Started; the draw is not recorded "
                     "yet (the worker is busy or down)."},
               **R401, **R403, **R422, **R503},
)
async def start_round(
    body: RoundStart, user: StarterUser, pool: PoolDep, client: TemporalDep,
    settings: SettingsDep,
) -> Any:
    """Start a round outside the monthly schedule; 201 with its draw, or 202 if the draw is not
    recorded within a couple of seconds. Supervisor or leader."""
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
    if row is None:
        return JSONResponse(RoundDrawing(round_id=round_id).model_dump(), status_code=202)
    return _round_out(row)


async def _wait_for_draw(pool: asyncpg.Pool, round_id: str) -> asyncpg.Record | None:
    """The round's row once the draw is recorded (a worker runs it in well under a second)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + DRAW_WAIT_SECONDS
    while True:
        row = await pool.fetchrow(SELECT_ROUND, round_id)
        if row is not None or loop.time() > until:
            return row
        await asyncio.sleep(0.05)


@router.post(
    "/{round_id}/findings",
    status_code=201,
    summary="Submit a finding (it becomes a complaint)",
    responses={**R401, **R403, **R404, **R422, **R_TEMPORAL},
)
async def submit_finding(
    round_id: RoundId, body: FindingIn, user: InspectorUser, pool: PoolDep,
    client: TemporalDep, settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                                  max_length=200,
                                                  description="Makes retries safe: the same "
                                                  "key gives the same finding and case.")] = None,
) -> FindingOut:
    """督查发现: record a finding about a unit drawn for this round; it is registered as a
    complaint with channel `inspection` and its workflow started (201 with the number).
    Supervisor (the inspectors)."""
    row = await _round_row(pool, round_id, user)
    if row["status"] != "open":
        raise ApiError(409, "invalid_status", f"round {round_id} is closed", status="closed")
    drawn = json.loads(row["drawn"])
    if body.unit not in drawn:
        raise ApiError(422, "invalid_body", f"unit: {body.unit!r} was not drawn for this round; "
                       "drawn: " + (", ".join(drawn) or "none"))
    if idempotency_key:
        digest = hashlib.sha256(f"{user.center}:{round_id}:{idempotency_key}".encode())
        finding_id = digest.hexdigest()[:32]
    else:
        finding_id = uuid.uuid4().hex
    await pool.execute(INSERT_FINDING, finding_id, round_id, body.unit, body.category.value,
                       body.grade.value, body.summary, body.facts,
                       json.dumps(body.evidence, ensure_ascii=False), body.staff_name, user.id)
    stored = await pool.fetchrow(SELECT_FINDING, finding_id)
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
            await pool.execute(DELETE_UNFILED_FINDING, finding_id)
        raise
    return FindingOut(finding_id=finding_id, round_id=round_id, unit=record.unit,
                      category=record.category.value, grade=record.grade.value,
                      summary=record.summary, submitted_by=user.id,
                      submitted_at=stored["submitted_at"], number=record.number)


@router.post(
    "/{round_id}/close",
    summary="Close the round",
    responses={**R401, **R403, **R404, **R409, **R503},
)
async def close_round(
    round_id: RoundId, body: RoundClose, user: InspectorUser, pool: PoolDep,
    client: TemporalDep, settings: SettingsDep,
) -> RoundOut:
    """结束本轮: close the round now; its units with findings are always drawn next round.
    Supervisor."""
    row = await _round_row(pool, round_id, user)
    if row["status"] != "open":
        raise ApiError(409, "invalid_status", f"round {round_id} is already closed",
                       status="closed")
    handle = client.get_workflow_handle(round_id)
    timeout = _timeout(settings)
    state: RoundState = await temporal_call(
        handle.execute_update("close-round", CloseRoundInput(actor=user.actor(),
                                                             comment=body.comment),
                              result_type=RoundState, rpc_timeout=timedelta(seconds=timeout)),
        timeout=timeout, what="the 'close-round' update",
    )
    out = _round_out(row, await _findings(pool, round_id))
    return out.model_copy(update={"status": state.status, "closed_at": state.closed_at,
                                  "closed_by": state.closed_by,
                                  "units_with_findings": state.units_with_findings})
