"""What the routes do with a case: PostgreSQL for personal data and the read model, Temporal
for everything about where the case stands (it is the source of truth).

Every Temporal call has `rpc_timeout` and a hard `asyncio.wait_for` deadline of
`settings.temporal_rpc_timeout_seconds` (see `errors.temporal_call`), so nothing hangs when
Temporal or the worker is down.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client

from activities import intake
from activities.deadlines import compute as compute_deadline
from api import jurisdiction, repo
from api.auth import User
from api.errors import ApiError, from_not_allowed, not_found, temporal_call, validation_error
from api.schemas import (
    BEIJING,
    FINDING_LABELS,
    CaseView,
    ComplaintCreate,
    ComplaintCreated,
    ComplaintListItem,
    ComplaintsPublic,
    NotificationOut,
    NotificationsPublic,
    PublicDeadline,
    PublicDecision,
    PublicFeedback,
    PublicProgress,
    PublicSatisfaction,
)
from config import Settings
from domain import lifecycle, policies
from domain.clocks import PUBLIC
from domain.actions import ACTION_INPUTS
from domain.models import (
    CATEGORY_LABELS,
    DEADLINE_LABELS,
    STATUS_LABELS,
    Action,
    ActionInput,
    Actor,
    CaseState,
    Category,
    Deadline,
    DeadlineKind,
    DeadlineSpec,
    Form,
    ForwardInput,
    Grade,
    LinkDuplicateInput,
    Model,
    Outcome,
    Role,
    Status,
)

log = logging.getLogger("complaints.api")

#: Unambiguous characters for access codes: no 0/O, 1/I/L.
ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACCESS_CODE_LENGTH = 8

#: Roles that see the complainant's identity and the original facts (every read is logged).
FILE_ROLES = frozenset({Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR})

#: Clocks the complainant is shown (`domain.clocks`); internal ones (the unit's return window,
#: the respondent's reply to a request for documents) are not.
PUBLIC_DEADLINES = PUBLIC

COMPLAINANT = Actor(id="complainant", role=Role.COMPLAINANT)

#: Complaint numbers as the API issues them, and anything else a workflow id may look like;
#: whatever does not match is an unknown complaint (404), never sent to Temporal.
NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

#: How many numbers a registration tries when numbers collide with existing workflows.
NUMBER_ATTEMPTS = 3

#: What the clerk is told when the workflow could not be started at once (the reconciler will).
OPENING_MESSAGE = (
    "已登记，案件正在开启，稍后即可办理。"
    "Registered; the case is being opened and can be worked on shortly."
)

_DUMMY_HASH = hashlib.sha256(b"no such complaint").hexdigest()


def hash_code(code: str) -> str:
    """sha256 hex of a normalised access code, as stored in `complaints.access_code_hash`."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_access_code() -> str:
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))


def format_number(seq: int, now: datetime) -> str:
    """`TS-YYYYMMDD-NNNNN`, dated in Beijing."""
    return f"TS-{now.astimezone(BEIJING):%Y%m%d}-{seq:05d}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def number_conflict() -> ApiError:
    return ApiError(500, "number_conflict",
                    "new complaint numbers collide with existing cases; operators must advance "
                    "complaint_number_seq")


def may_ever(action: Action, role: Role) -> bool:
    """Whether `role` may perform `action` in some status (else 403 without asking Temporal)."""
    return any(role in roles for roles in lifecycle.TRANSITIONS[action].values())


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
    return f"{CATEGORY_LABELS[body.category]} · {body.respondent.unit_name}"


def _label(labels: dict[Any, str], enum: type[Any], value: str | None) -> str:
    try:
        return labels[enum(value)]
    except (ValueError, KeyError):
        return value or ""


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


class CaseService:
    """One request's view of the system: the pool, the Temporal client and the settings."""

    def __init__(self, pool: asyncpg.Pool, client: Client, settings: Settings) -> None:
        self.pool = pool
        self.client = client
        self.settings = settings
        self.timeout = settings.temporal_rpc_timeout_seconds
        self.rpc = timedelta(seconds=self.timeout)

    # ------------------------------------------------------------------ Temporal

    async def query(self, number: str, *, timeout: float | None = None) -> CaseState:
        """The `state` query: where the case stands now (404 if there is no such workflow)."""
        t = timeout or self.timeout
        handle = self.client.get_workflow_handle(number)
        state: CaseState = await temporal_call(
            handle.query("state", result_type=CaseState, rpc_timeout=timedelta(seconds=t)),
            timeout=t, what="the state query",
        )
        return state

    async def _start(
        self, row: asyncpg.Record, registered_by: Actor, *, timeout: float | None = None
    ) -> bool:
        """Start the case's workflow (activities/intake.py, shared with the reconciler); False
        if the number is taken by another workflow."""
        t = timeout or self.timeout
        started: bool = await temporal_call(
            intake.start_complaint(self.client, row, task_queue=self.settings.task_queue,
                                   rpc_timeout=timedelta(seconds=t), registered_by=registered_by),
            timeout=t, what="the workflow start",
        )
        return started

    # ------------------------------------------------------------------ intake

    async def register(
        self, body: ComplaintCreate, user: User, *, key: str | None
    ) -> ComplaintCreated:
        """Register a complaint: PostgreSQL first (one transaction), then the workflow.

        The start is tried once, with `intake_start_timeout_seconds`; when it fails (Temporal
        down or slow) the registration stands: the answer is 201 with the number, `opening`
        true, and the reconciler (activities/reconciler.py) starts the workflow later.
        """
        now = utcnow()
        problems = intake_problems(body, now, max_age_days=self.settings.received_at_max_age_days)
        if problems:
            raise validation_error(problems)
        code = new_access_code()
        scoped_key = f"{user.center}:{key}" if key else None
        # the center with jurisdiction over the respondent unit, and its policy.
        routing = await jurisdiction.route(
            self.pool, body.respondent.unit_code, body.respondent.subject, user,
            default_policy=self.settings.policy,
        )
        opening = False
        for _ in range(NUMBER_ATTEMPTS):
            row = await self._insert(body, user, now, hash_code(code), scoped_key, routing)
            if row["workflow_started"]:
                break
            try:
                started = await self._start(
                    row, user.actor(), timeout=self.settings.intake_start_timeout_seconds
                )
            except Exception as e:  # the row is durable: the reconciler starts it
                opening = True
                await self._start_failed(row["number"], e)
                break
            if started:
                await self.pool.execute(repo.MARK_STARTED, row["number"])
                break
            log.error("complaint number %s is already used by another workflow: is the number "
                      "sequence behind? registering under a new number", row["number"])
            await self._discard(row["number"])
        else:
            raise number_conflict()
        # The answer does not wait for the workflow: the acceptance deadline is computed by the
        # same pure function the workflow's deadline activity runs, on the same inputs.
        return ComplaintCreated(
            number=row["number"], access_code=code, status=Status.REGISTERED,
            grade=Grade(row["grade"]), deadlines=registration_deadlines(row),
            center=row["center"], opening=opening, message=OPENING_MESSAGE if opening else None,
        )

    async def _start_failed(self, number: str, error: Exception) -> None:
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
            await self.pool.execute(repo.NOTE_START_FAILED, number, why[:1000])
        except (asyncpg.PostgresError, OSError) as e:
            log.warning("could not note the failed start of %s: %s", number, e)

    async def _discard(self, number: str) -> None:
        """Remove a registration whose number turned out to be taken (before any workflow ran)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(repo.DELETE_INTAKE_KEYS, number)
            ref = await conn.fetchval(repo.DELETE_COMPLAINT, number)
            await conn.execute(repo.DELETE_COMPLAINANT, ref)

    async def _insert(
        self, body: ComplaintCreate, user: User, now: datetime, code_hash: str, key: str | None,
        routing: jurisdiction.Routing,
    ) -> asyncpg.Record:
        """Insert complainant, complaint and idempotency key, or find the earlier try."""
        fingerprint = request_hash(body)
        policy = policies.latest(routing.policy)
        new = repo.NewCase(
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
                async with self.pool.acquire() as conn, conn.transaction():
                    if key is not None:
                        earlier = await conn.fetchrow(repo.SELECT_INTAKE_KEY, key)
                        if earlier is not None:
                            if not hmac.compare_digest(earlier["request_hash"], fingerprint):
                                raise ApiError(
                                    409, "idempotency_conflict",
                                    "this Idempotency-Key was used for a different complaint",
                                    number=earlier["number"],
                                )
                            row = await conn.fetchrow(
                                repo.ROTATE_ACCESS_CODE, earlier["number"], code_hash
                            )
                            assert row is not None
                            return row
                    number = format_number(await conn.fetchval(repo.NEXT_NUMBER), now)
                    row = await repo.insert_case(conn, number, new)
                    if key is not None:
                        await conn.execute(repo.INSERT_INTAKE_KEY, key, number, fingerprint)
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

    # ------------------------------------------------------------------ reading

    async def load(self, number: str, user: User) -> CaseState:
        """The case if the caller may see it: same center (or the center reviewing its appeal,
        R-46); a unit only its own cases (R-33). A case still being opened is a 409."""
        try:
            state = await self.query(number)
        except ApiError as e:
            if e.http_status == 404:
                await self._refuse_opening(number, user)
            raise
        if not jurisdiction.can_see(user, state.center, state.appeal_center):
            raise not_found()
        if user.role == Role.UNIT and user.unit not in (state.handling_unit, *state.joint_units):
            raise not_found()  # a unit sees the cases referred to it or joint with it
        return state

    async def _refuse_opening(self, number: str, user: User) -> None:
        """A 409 when `number` is registered but its workflow has not started yet."""
        row = await self.pool.fetchrow(repo.SELECT_OPENING, number)
        if (row is not None and user.role != Role.UNIT
                and jurisdiction.can_see(user, row["center"], row["appeal_center"])):
            raise ApiError(409, "case_opening", OPENING_MESSAGE + " 暂不能办理 No action yet.",
                           status=Status.REGISTERED.value, allowed_actions=[])

    async def case(self, number: str, user: User) -> CaseView:
        """`GET /v1/complaints/{number}`: the case from its workflow, or, while the workflow is
        not started yet, a minimal view from PostgreSQL (status registered, `opening`)."""
        opening = await self.opening_view(number, user)
        if opening is not None:
            return opening
        state = await self.load(number, user)
        return await self.view(state, user, with_file=True)

    async def opening_view(self, number: str, user: User) -> CaseView | None:
        """The case as registered in PostgreSQL if its workflow has not started (else None):
        no actions yet; the personal file for FILE_ROLES (logged); nothing for units, which
        never see a case before it is referred to them."""
        row = await self.pool.fetchrow(repo.SELECT_OPENING, number)
        if row is None:
            return None
        if user.role == Role.UNIT or not jurisdiction.can_see(
            user, row["center"], row["appeal_center"]
        ):
            raise not_found()
        data: dict[str, Any] = {
            "number": row["number"], "center": row["center"], "status": Status.REGISTERED,
            "channel": row["channel"], "form": row["form"], "category": row["category"],
            "grade": row["grade"], "respondent_unit": row["respondent_unit"],
            "respondent_unit_name": row["respondent_unit_name"], "summary": row["summary"],
            "complainant_ref": row["complainant_ref"], "policy": row["policy"],
            "policy_version": row["policy_version"], "received_at": row["received_at"],
            "registered_at": row["registered_at"], "origin_case": row["origin_case"],
            "deadlines": [acceptance_deadline(row)], "allowed_actions": [], "opening": True,
            "status_label": STATUS_LABELS[Status.REGISTERED],
            "category_label": _label(CATEGORY_LABELS, Category, row["category"]),
        }
        if user.role in FILE_ROLES:
            async with self.pool.acquire() as conn:
                f = await repo.read_case_file(
                    conn, number, actor_id=user.id, actor_role=user.role.value,
                    what="complainant, facts",
                )
            if f is not None:
                data.update(complainant=f.complainant, facts=f.facts, evidence=f.evidence,
                            respondent_staff=f.respondent_staff)
        return CaseView.model_validate(data)

    async def view(self, state: CaseState, user: User, *, with_file: bool) -> CaseView:
        """The case redacted for the caller; with the personal file (logged) for FILE_ROLES."""
        unit = user.role == Role.UNIT
        data = state.model_dump()
        data["allowed_actions"] = lifecycle.allowed_actions(state, user.actor(), utcnow())
        data["status_label"] = STATUS_LABELS[state.status]
        data["category_label"] = CATEGORY_LABELS[state.category]
        data["linked"] = [
            {"number": x.number, "complainant_ref": None if unit else x.complainant_ref}
            for x in state.linked
        ]
        if unit:
            data["complainant_ref"] = None
        if state.outcome == Outcome.FORWARDED and state.forwarded_case is None:
            # the case opened at the other center; the archived workflow cannot hold it.
            data["forwarded_case"] = await jurisdiction.forwarded_case(self.pool, state.number)
        if with_file and user.role in FILE_ROLES:
            async with self.pool.acquire() as conn:
                f = await repo.read_case_file(
                    conn, state.number, actor_id=user.id, actor_role=user.role.value,
                    what="complainant, facts",
                )
            if f is not None:
                data.update(complainant=f.complainant, facts=f.facts, evidence=f.evidence,
                            respondent_staff=f.respondent_staff)
        return CaseView.model_validate(data)

    async def search(
        self, user: User, f: repo.ListFilter, *, page: int, page_size: int
    ) -> ComplaintsPublic:
        """A page of the read model; a unit sees only the cases it handles."""
        if user.role == Role.UNIT:
            if f.handling_unit not in (None, user.unit):
                return ComplaintsPublic(data=[], count=0, page=page, page_size=page_size)
            f = dataclasses.replace(f, handling_unit=user.unit)
        rows, count = await repo.list_cases(
            self.pool, f, limit=page_size, offset=(page - 1) * page_size
        )
        items = [
            ComplaintListItem(
                **r,
                status_label=_label(STATUS_LABELS, Status, r["status"]),
                category_label=_label(CATEGORY_LABELS, Category, r["category"]),
            )
            for r in rows
        ]
        return ComplaintsPublic(data=items, count=count, page=page, page_size=page_size)

    async def notifications(self, number: str, user: User) -> NotificationsPublic:
        """The outbox rows of a case (no contact data)."""
        row = await repo.get_case(self.pool, number)
        if row is None or not jurisdiction.can_see(user, row.center, row.appeal_center):
            raise not_found()
        rows = await repo.list_notifications(self.pool, number)
        return NotificationsPublic(data=[NotificationOut(**r) for r in rows], count=len(rows))

    # ------------------------------------------------------------------ acting

    async def act(
        self, action: Action, number: str, body: Model, user: User, *, key: str | None
    ) -> CaseView:
        """Check the action against the rules here, then run it as a Workflow Update."""
        if not may_ever(action, user.role):
            raise ApiError(403, "forbidden",
                           f"role {user.role.value!r} may not perform {action.value!r}")
        state = await self.load(number, user)
        data = await jurisdiction.action_fields(self.pool, action, state, body.model_dump(), user)
        inp = ACTION_INPUTS[action].model_validate({**data, "actor": user.actor().model_dump()})
        if isinstance(inp, LinkDuplicateInput):
            await self._check_primary(state, inp.primary, user)
        try:
            self._check(action, state, inp)
        except ApiError as refused:
            if key is None or refused.http_status != 409:
                raise
            # A retry of an action that already ran finds the case moved on: the same Update
            # id makes Temporal answer with the first result; anything else is the refusal.
            try:
                new = await self._update(number, action, inp, key)
            except ApiError:
                raise refused from None
        else:
            new = await self._update(number, action, inp, key)
        if isinstance(inp, ForwardInput) and inp.to_center:
            await self._open_forwarded(new, inp.to_center, user)
        return await self.view(new, user, with_file=False)

    async def _open_forwarded(self, state: CaseState, to_center: str, user: User) -> str:
        """R-12: open the linked case at `to_center` (once; a retry finds it) and start it."""
        now = utcnow()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await jurisdiction.open_forwarded(
                conn, state, to_center, user, now=now, default_policy=self.settings.policy,
                new_number=lambda seq: format_number(seq, now),
            )
        if not row["workflow_started"]:
            if not await self._start(row, user.actor()):
                raise number_conflict()
            await self.pool.execute(repo.MARK_STARTED, row["number"])
        return str(row["number"])

    def _check(self, action: Action, state: CaseState, inp: ActionInput) -> None:
        now = utcnow()
        try:
            cap = policies.get(state.policy, state.policy_version).max_extension_days
        except KeyError:
            cap = 20
        try:
            lifecycle.check(action, state, inp, now, max_extension_days=cap)
        except lifecycle.NotAllowed as e:
            raise from_not_allowed(
                e, status=state.status.value,
                allowed=lifecycle.allowed_actions(state, inp.actor, now),
            ) from None

    async def _check_primary(self, state: CaseState, primary: str, user: User) -> None:
        """R-45: the primary must be another open case of this center."""
        if primary == state.number:
            raise ApiError(422, "invalid_body", "primary: a case cannot be linked to itself")
        missing = ApiError(422, "invalid_body", f"primary: case {primary} does not exist")
        if not NUMBER_RE.match(primary):
            raise missing
        try:
            other = await self.query(primary)
        except ApiError as e:
            if e.http_status == 404:
                raise missing from None
            raise
        if other.center != user.center:
            raise missing
        if other.status == Status.ARCHIVED:
            raise ApiError(409, "invalid_state",
                           f"primary: case {primary} is archived; link to an open case",
                           status=state.status.value)

    async def _update(
        self, number: str, action: Action, inp: ActionInput, key: str | None
    ) -> CaseState:
        """Run the Update, then read the case: the Update answers only with a small result
        (`ActionResult`; cases started before issue 11 answer with the whole case)."""
        handle = self.client.get_workflow_handle(number)
        # With an Idempotency-Key, a retried action is the same Update: Temporal runs it once.
        update_id = None
        if key:
            update_id = f"{action.value}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
        await temporal_call(
            handle.execute_update(action.value, inp, id=update_id, rpc_timeout=self.rpc),
            timeout=self.timeout, what=f"the {action.value!r} update",
        )
        return await self.query(number)

    async def signal(self, name: str, number: str, inp: Any, user: User) -> None:
        """Send a signal to an open case (fire and forget: the workflow records what it did)."""
        row = await repo.get_case(self.pool, number)
        if (row is None or not jurisdiction.can_see(user, row.center, row.appeal_center)
                or not row.workflow_started):
            raise not_found()
        closed = ApiError(409, "invalid_status", f"case {number} is archived; no signal applies",
                          status=Status.ARCHIVED.value, allowed_actions=[])
        if row.status == Status.ARCHIVED:
            raise closed
        handle = self.client.get_workflow_handle(number)
        try:
            await temporal_call(handle.signal(name, inp, rpc_timeout=self.rpc),
                                timeout=self.timeout, what=f"the {name!r} signal")
        except ApiError as e:
            if e.http_status == 404:  # the read model lagged: the workflow has already completed
                raise closed from None
            raise

    # ------------------------------------------------------------------ the complainant

    async def public_state(self, number: str, code: str | None) -> CaseState:
        """The case for its complainant; a wrong or missing code is the same 404 as no case."""
        row = await repo.get_case(self.pool, number) if NUMBER_RE.match(number) else None
        stored = row.access_code_hash if row is not None else _DUMMY_HASH
        matches = hmac.compare_digest(stored, hash_code(code or ""))
        if row is None or not code or not matches or not row.workflow_started:
            raise not_found()
        return await self.query(number)

    async def public_act(
        self, action: Action, number: str, code: str | None, body: Model
    ) -> PublicProgress:
        """The complainant's callback answer or appeal, as an Update by role `complainant`."""
        state = await self.public_state(number, code)
        data = await jurisdiction.action_fields(self.pool, action, state, body.model_dump(), None)
        inp = ACTION_INPUTS[action].model_validate({**data, "actor": COMPLAINANT.model_dump()})
        self._check(action, state, inp)
        return public_view(await self._update(number, action, inp, None))


def public_view(state: CaseState, *, forwarded_case: str | None = None) -> PublicProgress:
    """What the complainant sees: no staff names, nothing about other people."""
    d = state.decision
    return PublicProgress(
        number=state.number, status=state.status, status_label=STATUS_LABELS[state.status],
        outcome=state.outcome, received_at=state.received_at.astimezone(BEIJING),
        accepted_at=state.accepted_at.astimezone(BEIJING) if state.accepted_at else None,
        deadlines=[
            PublicDeadline(kind=x.kind, label=DEADLINE_LABELS[x.kind],
                           due_at=x.due_at.astimezone(BEIJING))
            for x in state.open_deadlines() if x.kind in PUBLIC_DEADLINES
        ],
        decision=PublicDecision(finding=d.finding, finding_label=FINDING_LABELS[d.finding],
                                decided_at=d.decided_at) if d else None,
        feedback=PublicFeedback(**state.feedback.model_dump()) if state.feedback else None,
        satisfaction=PublicSatisfaction(**state.satisfaction.model_dump())
        if state.satisfaction else None,
        allowed_actions=lifecycle.allowed_actions(state, COMPLAINANT, utcnow()),
        forwarded_case=forwarded_case or state.forwarded_case,
    )
