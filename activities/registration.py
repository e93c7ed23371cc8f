"""Writing a registration into PostgreSQL: the complainant row, the complaint row, the number,
the Idempotency-Key, in one transaction (R-03, R-06). The API's intake and the inspection
round's findings both register here; `activities/intake.py` then starts the workflow.

jsonb values cross as text (`$n::text::jsonb`), so this works whatever JSON codec the pool has.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from activities.intake import START_COLUMNS
from domain import policies
from domain.intake import (
    ComplaintCreate,
    default_summary,
    effective_grade,
    format_number,
    received_at,
    request_hash,
)
from domain.models import Actor

if TYPE_CHECKING:
    from db import Connection

log = logging.getLogger("complaints.registration")

#: How many numbers a registration tries when numbers collide (a number sequence set back).
NUMBER_ATTEMPTS = 3

NEXT_NUMBER = "SELECT nextval('complaint_number_seq')"
INSERT_COMPLAINANT = """
INSERT INTO complainants (ref, name, phone, email, address, id_number, anonymous, agent)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)
"""
INSERT_COMPLAINT = f"""
INSERT INTO complaints (
    number, center, complainant_ref, access_code_hash, status, channel, form, category, grade,
    respondent_unit, respondent_unit_name, respondent_staff, facts, evidence, summary,
    policy, policy_version, received_at, publish_consent, registered_by)
VALUES ($1, $2, $3, $4, 'registered', $5, $6, $7, $8, $9, $10, $11, $12, $13::text::jsonb, $14,
        $15, $16, $17, $18, $19::text::jsonb)
RETURNING {START_COLUMNS}
"""
INSERT_INTAKE_KEY = "INSERT INTO intake_keys (key, number, request_hash) VALUES ($1, $2, $3)"
SELECT_INTAKE_KEY = "SELECT number, request_hash FROM intake_keys WHERE key = $1 FOR UPDATE"
#: A retry rotates the access code (it is never stored in clear) and re-reads the start input.
ROTATE_ACCESS_CODE = f"""
UPDATE complaints SET access_code_hash = $2, updated_at = now()
WHERE number = $1
RETURNING {START_COLUMNS}
"""
MARK_STARTED = (
    "UPDATE complaints SET workflow_started = true, last_start_error = NULL, "
    "next_start_at = NULL, updated_at = now() WHERE number = $1 AND NOT workflow_started"
)
#: The start tried at once failed: the row waits for the reconciler, which says why.
NOTE_START_FAILED = (
    "UPDATE complaints SET start_attempts = start_attempts + 1, last_start_error = $2 "
    "WHERE number = $1 AND NOT workflow_started"
)
#: Undo a registration whose number is already taken in Temporal (sequence set back).
DELETE_INTAKE_KEYS = "DELETE FROM intake_keys WHERE number = $1"
DELETE_COMPLAINT = (
    "DELETE FROM complaints WHERE number = $1 AND NOT workflow_started RETURNING complainant_ref"
)
DELETE_COMPLAINANT = "DELETE FROM complainants WHERE ref = $1"


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used for a different complaint."""

    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number


class NumberConflict(Exception):
    """New numbers keep colliding with existing cases: operators must advance the sequence."""


@dataclass
class NewCase:
    """What a registration writes: the complainant row and the complaint row."""

    center: str
    complainant_ref: str
    access_code_hash: str
    complainant: dict[str, Any]
    channel: str
    form: str
    category: str
    grade: str
    respondent_unit: str
    respondent_unit_name: str
    respondent_staff: str | None
    facts: str
    evidence: list[str]
    summary: str
    policy: str
    policy_version: int
    received_at: datetime
    publish_consent: bool = False
    registered_by: dict[str, Any] | None = None


def new_case(
    body: ComplaintCreate, *, center: str, policy: str, code_hash: str, registered_by: Actor,
    now: datetime,
) -> NewCase:
    """The rows of a registration, under the latest version of the center's policy."""
    p = policies.latest(policy)
    return NewCase(
        center=center, complainant_ref=f"cref-{uuid.uuid4().hex}", access_code_hash=code_hash,
        complainant=body.complainant.model_dump(mode="json"),
        channel=body.channel.value, form=body.form.value, category=body.category.value,
        grade=effective_grade(body).value, respondent_unit=body.respondent.unit_code,
        respondent_unit_name=body.respondent.unit_name,
        respondent_staff=body.respondent.staff_name, facts=body.facts,
        evidence=list(body.evidence), summary=body.summary or default_summary(body),
        policy=p.name, policy_version=p.version, received_at=received_at(body, now),
        publish_consent=body.publish_consent, registered_by=registered_by.model_dump(mode="json"),
    )


async def insert_case(conn: Connection, number: str, c: NewCase) -> asyncpg.Record:
    """Insert complainant and complaint (inside a transaction); returns the start columns."""
    p = c.complainant
    agent = None if p.get("agent") is None else json.dumps(p["agent"], ensure_ascii=False)
    await conn.execute(
        INSERT_COMPLAINANT, c.complainant_ref, p.get("name"), p.get("phone"), p.get("email"),
        p.get("address"), p.get("id_number"), bool(p.get("anonymous")), agent,
    )
    row = await conn.fetchrow(
        INSERT_COMPLAINT, number, c.center, c.complainant_ref, c.access_code_hash, c.channel,
        c.form, c.category, c.grade, c.respondent_unit, c.respondent_unit_name,
        c.respondent_staff, c.facts, json.dumps(c.evidence, ensure_ascii=False), c.summary,
        c.policy, c.policy_version, c.received_at, c.publish_consent,
        None if c.registered_by is None else json.dumps(c.registered_by, ensure_ascii=False),
    )
    assert row is not None
    return row


async def write(
    pool: asyncpg.Pool, body: ComplaintCreate, new: NewCase, *, key: str | None, now: datetime
) -> asyncpg.Record:
    """Insert the registration, or find the earlier try of the same `key` (its access code
    rotated to `new`'s). Raises `IdempotencyConflict` for the key with another body and
    `NumberConflict` when numbers keep colliding."""
    fingerprint = request_hash(body)
    number = ""
    for _ in range(NUMBER_ATTEMPTS + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                if key is not None:
                    earlier = await conn.fetchrow(SELECT_INTAKE_KEY, key)
                    if earlier is not None:
                        if not hmac.compare_digest(earlier["request_hash"], fingerprint):
                            raise IdempotencyConflict(earlier["number"])
                        row = await conn.fetchrow(
                            ROTATE_ACCESS_CODE, earlier["number"], new.access_code_hash
                        )
                        assert row is not None
                        return row
                number = format_number(await conn.fetchval(NEXT_NUMBER), now)
                row = await insert_case(conn, number, new)
                if key is not None:
                    await conn.execute(INSERT_INTAKE_KEY, key, number, fingerprint)
                return row
        except asyncpg.UniqueViolationError as e:
            if e.constraint_name == "intake_keys_pkey" and key is not None:
                continue  # a concurrent request with the same key won: read its result
            if e.constraint_name == "complaints_pkey":
                log.error("complaint number %s is already in PostgreSQL: is the number "
                          "sequence behind? taking the next one", number)
                continue
            raise
    raise NumberConflict()


async def discard(pool: asyncpg.Pool, number: str) -> None:
    """Remove a registration whose number turned out to be taken (before any workflow ran)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(DELETE_INTAKE_KEYS, number)
        ref = await conn.fetchval(DELETE_COMPLAINT, number)
        await conn.execute(DELETE_COMPLAINANT, ref)


async def mark_started(pool: asyncpg.Pool, number: str) -> None:
    await pool.execute(MARK_STARTED, number)


async def note_start_failed(pool: asyncpg.Pool, number: str, why: str) -> None:
    """Note a failed start on the row, for operators and the reconciler (best effort)."""
    try:
        await pool.execute(NOTE_START_FAILED, number, why[:1000])
    except (asyncpg.PostgresError, OSError) as e:
        log.warning("could not note the failed start of %s: %s", number, e)
