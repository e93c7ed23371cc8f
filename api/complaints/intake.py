"""Registering a complaint: the rules beyond field types, numbers, access codes, idempotency,
PostgreSQL first (one transaction), then the workflow's start.

The registration never waits for the workflow: when the start fails (Temporal down or slow) the
row stands, the answer says `opening`, and the reconciler (activities/reconciler.py) starts it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from activities.deadlines import compute as compute_deadline
from api.auth import User
from api.centers import service as centers
from api.complaints import queries as q
from api.complaints.schemas import ComplaintCreate, ComplaintCreated
from api.errors import ApiError, validation_error
from domain import policies
from domain.labels import label
from domain.models import Category, Deadline, DeadlineKind, DeadlineSpec, Form, Grade, Status
from domain.workdays import BEIJING

if TYPE_CHECKING:
    from api.complaints.service import CaseService

log = logging.getLogger("complaints.api")

#: Unambiguous characters for access codes: no 0/O, 1/I/L.
ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACCESS_CODE_LENGTH = 8

#: How many numbers a registration tries when numbers collide with existing workflows.
NUMBER_ATTEMPTS = 3

#: What the clerk is told when the workflow could not be started at once (the reconciler will).
OPENING_MESSAGE = (
    "已登记，案件正在开启，稍后即可办理。"
    "Registered; the case is being opened and can be worked on shortly."
)


def hash_code(code: str) -> str:
    """sha256 hex of a normalised access code, as stored in `complaints.access_code_hash`."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_access_code() -> str:
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))


def format_number(seq: int, now: datetime) -> str:
    """`TS-YYYYMMDD-NNNNN`, dated in Beijing."""
    return f"TS-{now.astimezone(BEIJING):%Y%m%d}-{seq:05d}"


def number_conflict() -> ApiError:
    return ApiError(500, "number_conflict",
                    "new complaint numbers collide with existing cases; operators must advance "
                    "complaint_number_seq")


def effective_grade(body: ComplaintCreate) -> Grade:
    """R-34: a complaint of retaliation is always major."""
    return Grade.MAJOR if body.category == Category.RETALIATION else body.grade


def intake_problems(
    body: ComplaintCreate, now: datetime, *, max_age_days: int = 30
) -> list[dict[str, Any]]:
    """The registration rules beyond field types (R-02, R-03, R-04, R-10, R-32), as 422 fields."""
    problems: list[dict[str, Any]] = []

    def bad(field: str, message: str) -> None:
        problems.append({"field": field, "location": "body", "message": message, "type": "rule"})

    c = body.complainant
    if c.anonymous:
        for name in ("name", "phone", "address", "id_number"):
            if getattr(c, name) is not None:
                bad(f"complainant.{name}", "must be absent for an anonymous complaint (R-04)")
    else:
        for name in ("name", "phone"):
            if getattr(c, name) is None:
                bad(f"complainant.{name}", "required unless the complaint is anonymous (R-03)")
    if effective_grade(body) == Grade.MAJOR and body.form == Form.ORAL:
        why = " (retaliation is always major, R-34)" if body.grade != Grade.MAJOR else ""
        bad("form", f"a major complaint must be written, not oral (R-02){why}")
    if body.summary:
        for name in ("name", "phone", "id_number"):
            value = getattr(c, name)
            if value and value in body.summary:
                bad("summary", f"must not contain the complainant's {name} (R-32, R-33)")
    received = received_at(body, now)
    if received > now + timedelta(minutes=5):
        bad("received_at", "must not be in the future")
    elif received < now - timedelta(days=max_age_days):
        # the acceptance clock counts from registration; a complaint dated long ago (1970,
        # 1900) is a typing error, not a case that is overdue the moment it is registered.
        bad("received_at", f"must not be more than {max_age_days} days before registration "
                           "(R-10; setting received_at_max_age_days)")
    return problems


def received_at(body: ComplaintCreate, now: datetime) -> datetime:
    """When it was received: as given (naive = Beijing time), or now."""
    if body.received_at is None:
        return now
    if body.received_at.tzinfo is None:
        return body.received_at.replace(tzinfo=BEIJING)
    return body.received_at


def request_hash(body: ComplaintCreate) -> str:
    """Fingerprint of an intake body, to tell a retry from a different request."""
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def default_summary(body: ComplaintCreate) -> str:
    return f"{label(body.category)} · {body.respondent.unit_name}"


def acceptance_deadline(row: Mapping[str, Any]) -> Deadline:
    """R-10: the acceptance clock, counted from registration (the row's `registered_at`, the
    instant the registration became durable), as the workflow computes it."""
    policy = policies.get(row["policy"], row["policy_version"])
    limit = policy.limit(DeadlineKind.ACCEPTANCE)
    due = compute_deadline(DeadlineSpec(
        kind=DeadlineKind.ACCEPTANCE, start=row["registered_at"], amount=limit.amount,
        unit=limit.unit,
    ))
    return Deadline(kind=DeadlineKind.ACCEPTANCE, start=due.start, amount=limit.amount,
                    unit=limit.unit, due_at=due.due_at, remind_at=due.remind_at,
                    provisional=due.provisional)


def registration_deadlines(row: Mapping[str, Any]) -> dict[str, datetime]:
    """The clocks a new case opens (acceptance, R-10), as the workflow will compute them."""
    return {DeadlineKind.ACCEPTANCE.value: acceptance_deadline(row).due_at.astimezone(BEIJING)}


async def register(
    cases: CaseService, body: ComplaintCreate, user: User, *, key: str | None
) -> ComplaintCreated:
    """Register a complaint: PostgreSQL first (one transaction), then the workflow.

    The start is tried once, with `intake_start_timeout_seconds`; when it fails (Temporal
    down or slow) the registration stands: the answer is 201 with the number, `opening`
    true, and the reconciler (activities/reconciler.py) starts the workflow later.
    """
    settings = cases.settings
    now = cases.now()
    problems = intake_problems(body, now, max_age_days=settings.received_at_max_age_days)
    if problems:
        raise validation_error(problems)
    code = new_access_code()
    scoped_key = f"{user.center}:{key}" if key else None
    # the center with jurisdiction over the respondent unit, and its policy.
    routing = await centers.route(
        cases.pool, body.respondent.unit_code, body.respondent.subject, user,
        default_policy=settings.policy,
    )
    opening = False
    for _ in range(NUMBER_ATTEMPTS):
        row = await _insert(cases.pool, body, user, now, hash_code(code), scoped_key, routing)
        if row["workflow_started"]:
            break
        try:
            started = await cases.start(
                row, user.actor(), timeout=settings.intake_start_timeout_seconds
            )
        except Exception as e:  # the row is durable: the reconciler starts it
            opening = True
            await _start_failed(cases.pool, row["number"], e)
            break
        if started:
            await cases.pool.execute(q.MARK_STARTED, row["number"])
            break
        log.error("complaint number %s is already used by another workflow: is the number "
                  "sequence behind? registering under a new number", row["number"])
        await _discard(cases.pool, row["number"])
    else:
        raise number_conflict()
    # The answer does not wait for the workflow: the acceptance deadline is computed by the
    # same pure function the workflow's deadline activity runs, on the same inputs.
    return ComplaintCreated(
        number=row["number"], access_code=code, status=Status.REGISTERED,
        grade=Grade(row["grade"]), deadlines=registration_deadlines(row),
        center=row["center"], opening=opening, message=OPENING_MESSAGE if opening else None,
    )


async def _start_failed(pool: asyncpg.Pool, number: str, error: Exception) -> None:
    """Log the failed start and note it on the row, for operators and the reconciler."""
    if isinstance(error, ApiError):
        why = f"{error.code}: {error.message}"
        log.warning("workflow start of %s failed (%s); registered, the reconciler will start "
                    "it", number, why)
    else:
        why = f"{type(error).__name__}: {error}"
        log.exception("workflow start of %s failed; registered, the reconciler will start it",
                      number, exc_info=error)
    try:
        await pool.execute(q.NOTE_START_FAILED, number, why[:1000])
    except (asyncpg.PostgresError, OSError) as e:
        log.warning("could not note the failed start of %s: %s", number, e)


async def _discard(pool: asyncpg.Pool, number: str) -> None:
    """Remove a registration whose number turned out to be taken (before any workflow ran)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q.DELETE_INTAKE_KEYS, number)
        ref = await conn.fetchval(q.DELETE_COMPLAINT, number)
        await conn.execute(q.DELETE_COMPLAINANT, ref)


async def _insert(
    pool: asyncpg.Pool, body: ComplaintCreate, user: User, now: datetime, code_hash: str,
    key: str | None, routing: centers.Routing,
) -> asyncpg.Record:
    """Insert complainant, complaint and idempotency key, or find the earlier try."""
    fingerprint = request_hash(body)
    policy = policies.latest(routing.policy)
    new = q.NewCase(
        center=routing.center, complainant_ref=f"cref-{uuid.uuid4().hex}",
        access_code_hash=code_hash,
        complainant=body.complainant.model_dump(mode="json"),
        channel=body.channel.value, form=body.form.value, category=body.category.value,
        grade=effective_grade(body).value, respondent_unit=body.respondent.unit_code,
        respondent_unit_name=body.respondent.unit_name,
        respondent_staff=body.respondent.staff_name, facts=body.facts,
        evidence=list(body.evidence), summary=body.summary or default_summary(body),
        policy=policy.name, policy_version=policy.version, received_at=received_at(body, now),
        publish_consent=body.publish_consent,
        registered_by=user.actor().model_dump(mode="json"),
    )
    for _ in range(NUMBER_ATTEMPTS + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                if key is not None:
                    earlier = await conn.fetchrow(q.SELECT_INTAKE_KEY, key)
                    if earlier is not None:
                        if not hmac.compare_digest(earlier["request_hash"], fingerprint):
                            raise ApiError(
                                409, "idempotency_conflict",
                                "this Idempotency-Key was used for a different complaint",
                                number=earlier["number"],
                            )
                        row = await conn.fetchrow(
                            q.ROTATE_ACCESS_CODE, earlier["number"], code_hash
                        )
                        assert row is not None
                        return row
                number = format_number(await conn.fetchval(q.NEXT_NUMBER), now)
                row = await q.insert_case(conn, number, new)
                if key is not None:
                    await conn.execute(q.INSERT_INTAKE_KEY, key, number, fingerprint)
                return row
        except asyncpg.UniqueViolationError as e:
            if e.constraint_name == "intake_keys_pkey" and key is not None:
                continue  # a concurrent request with the same key won: read its result
            if e.constraint_name == "complaints_pkey":
                log.error("complaint number %s is already in PostgreSQL: is the number "
                          "sequence behind? taking the next one", number)
                continue
            raise
    raise number_conflict()
