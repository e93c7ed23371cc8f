"""Registering a complaint: the rules beyond field types, numbers, access codes, idempotency,
PostgreSQL first (one transaction), then the workflow's start.

The registration never waits for the workflow: when the start fails (Temporal down or slow) the
row stands, the answer says `opening`, and the reconciler (activities/reconciler.py) starts it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping, Set
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from activities import registration
from activities.deadlines import compute as compute_deadline
from api.auth import User
from api.centers import service as centers
from api.complaints.schemas import ComplaintCreated
from api.errors import ApiError, validation_error
from config import Settings
from domain import personal_data as pd
from domain import policies
from domain.intake import ComplaintCreate, intake_problems
from domain.models import Actor, Deadline, DeadlineKind, DeadlineSpec, Grade, Status
from domain.workdays import BEIJING


class Registrar(Protocol):
    """What a registration needs of the case service (`CaseService`)."""

    pool: asyncpg.Pool
    settings: Settings

    @staticmethod
    def now() -> datetime: ...

    async def start(
        self, row: asyncpg.Record, registered_by: Actor, *, timeout: float | None = None
    ) -> bool: ...

log = logging.getLogger("complaints.api")

#: Unambiguous characters for access codes: no 0/O, 1/I/L.
ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACCESS_CODE_LENGTH = 8

NUMBER_ATTEMPTS = registration.NUMBER_ATTEMPTS

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


def number_conflict() -> ApiError:
    return ApiError(500, "number_conflict",
                    "new complaint numbers collide with existing cases; operators must advance "
                    "complaint_number_seq")


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
    cases: Registrar, body: ComplaintCreate, user: User, *, key: str | None
) -> ComplaintCreated:
    """Register a complaint: PostgreSQL first (one transaction), then the workflow.

    The start is tried once, with `intake_start_timeout_seconds`; when it fails (Temporal
    down or slow) the registration stands: the answer is 201 with the number, `opening`
    true, and the reconciler (activities/reconciler.py) starts the workflow later.
    """
    settings = cases.settings
    now = cases.now()
    problems = intake_problems(body, now, max_age_days=settings.received_at_max_age_days)
    problems += personal_data_problems(body, already={p["field"] for p in problems})
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
    new = registration.new_case(body, center=routing.center, policy=routing.policy,
                                code_hash=hash_code(code), registered_by=user.actor(), now=now)
    for _ in range(NUMBER_ATTEMPTS):
        try:
            row = await registration.write(cases.pool, body, new, key=scoped_key, now=now)
        except registration.IdempotencyConflict as e:
            raise ApiError(409, "idempotency_conflict",
                           "this Idempotency-Key was used for a different complaint",
                           number=e.number) from None
        except registration.NumberConflict:
            raise number_conflict() from None
        if row["workflow_started"]:
            break
        try:
            started = await cases.start(
                row, user.actor(), timeout=settings.intake_start_timeout_seconds
            )
        except Exception as e:  # the row is durable: the reconciler starts it
            opening = True
            await registration.note_start_failed(cases.pool, row["number"], _why(row["number"], e))
            break
        if started:
            await registration.mark_started(cases.pool, row["number"])
            break
        log.error("complaint number %s is already used by another workflow: is the number "
                  "sequence behind? registering under a new number", row["number"])
        await registration.discard(cases.pool, row["number"])
        new.complainant_ref = f"cref-{uuid.uuid4().hex}"
    else:
        raise number_conflict()
    # The answer does not wait for the workflow: the acceptance deadline is computed by the
    # same pure function the workflow's deadline activity runs, on the same inputs.
    return ComplaintCreated(
        number=row["number"], access_code=code, status=Status.REGISTERED,
        grade=Grade(row["grade"]), deadlines=registration_deadlines(row),
        center=row["center"], opening=opening, message=OPENING_MESSAGE if opening else None,
    )


def personal_data_problems(
    body: ComplaintCreate, *, already: Set[str] = frozenset()
) -> list[dict[str, Any]]:
    """R-32, R-33: the texts that go to the workflow and the handling unit (the summary, the
    respondent unit's name) must carry no personal data: neither the complainant's or agent's
    own (name, phone, e-mail, address, ID) nor any phone, e-mail, ID or card number."""
    texts = {"summary": body.summary or "", "respondent.unit_name": body.respondent.unit_name}
    identity = pd.Identity.of(body.complainant.model_dump())
    return pd.problems({f: t for f, t in texts.items() if t and f not in already}, identity)


def _why(number: str, error: Exception) -> str:
    """Log a failed start; what the row notes about it."""
    if isinstance(error, ApiError):
        why = f"{error.code}: {error.message}"
        log.warning("workflow start of %s failed (%s); registered, the reconciler will start "
                    "it", number, why)
        return why
    log.exception("workflow start of %s failed; registered, the reconciler will start it",
                  number, exc_info=error)
    return f"{type(error).__name__}: {error}"
