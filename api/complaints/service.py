"""What the complaint routes do with a case: PostgreSQL for personal data and the read model,
Temporal for everything about where the case stands (it is the source of truth).

Every Temporal call has `rpc_timeout` and a hard `asyncio.wait_for` deadline of
`settings.temporal_rpc_timeout_seconds` (see `errors.temporal_call`), so nothing hangs when
Temporal or the worker is down. Registration is in `api/complaints/intake.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from temporalio.client import Client

from activities import intake as starting
from activities import registration
from api.auth import User
from api.centers import service as centers
from api.complaints import intake, screening
from api.complaints import queries as q
from api.complaints.schemas import (
    AnyCaseView,
    CaseView,
    ComplaintCreated,
    ComplaintListItem,
    ComplaintsPublic,
    NotificationOut,
    NotificationsPublic,
)
from api.complaints.unit_view import UnitCaseView
from api.errors import (
    DB_DOWN,
    ApiError,
    from_not_allowed,
    not_found,
    temporal_call,
)
from config import Settings
from domain import lifecycle, policies
from domain import personal_data as pd
from domain.actions import ACTION_INPUTS
from domain.intake import ComplaintCreate, format_number
from domain.models import (
    Action,
    ActionInput,
    Actor,
    CaseState,
    ForwardInput,
    LinkDuplicateInput,
    Model,
    Outcome,
    ReportRectificationInput,
    Role,
    Status,
)

T = TypeVar("T")

#: Roles that see the complainant's identity and the original facts (every read is logged).
FILE_ROLES = frozenset({Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR})

#: Complaint numbers as the API issues them, and anything else a workflow id may look like;
#: whatever does not match is an unknown complaint (404), never sent to Temporal.
NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def may_ever(action: Action, role: Role) -> bool:
    """Whether `role` may perform `action` in some status (else 403 without asking Temporal)."""
    return any(role in roles for roles in lifecycle.TRANSITIONS[action].values())


class CaseService:
    """One request's view of the system: the pool, the Temporal client and the settings."""

    def __init__(self, pool: asyncpg.Pool, client: Client, settings: Settings) -> None:
        self.pool = pool
        self.client = client
        self.settings = settings
        self.timeout = settings.temporal_rpc_timeout_seconds
        self.rpc = timedelta(seconds=self.timeout)

    @staticmethod
    def now() -> datetime:
        return utcnow()

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

    async def start(
        self, row: asyncpg.Record, registered_by: Actor, *, timeout: float | None = None
    ) -> bool:
        """Start the case's workflow (activities/intake.py, shared with the reconciler); False
        if the number is taken by another workflow."""
        t = timeout or self.timeout
        started: bool = await temporal_call(
            starting.start_complaint(self.client, row, task_queue=self.settings.task_queue,
                                     rpc_timeout=timedelta(seconds=t),
                                     registered_by=registered_by),
            timeout=t, what="the workflow start",
        )
        return started

    async def register(
        self, body: ComplaintCreate, user: User, *, key: str | None
    ) -> ComplaintCreated:
        """Register a complaint (`api/complaints/intake.py`)."""
        return await intake.register(self, body, user, key=key)

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
        if not centers.can_see(user, state.center, state.appeal_center):
            raise not_found()
        if user.role == Role.UNIT and user.unit not in state.units_involved():
            # A unit sees the cases referred to it, joint with it or that it must
            # rectify.
            raise not_found()
        return state

    async def projected(self, number: str, user: User) -> CaseState | None:
        """The read model's copy of the case if it shows the caller may see it, else None (then
        the workflow is asked: the copy may lag behind a referral or an appeal just sent)."""
        try:
            raw = await self.pool.fetchval(q.SELECT_PROJECTED_STATE, number)
        except DB_DOWN:
            return None  # an action needs only Temporal: PostgreSQL down is no reason to refuse it
        if raw is None:
            return None
        try:
            state = CaseState.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
        except ValueError:
            return None
        if not centers.can_see(user, state.center, state.appeal_center):
            return None
        if user.role == Role.UNIT and user.unit not in state.units_involved():
            return None
        return state

    async def _refuse_opening(self, number: str, user: User) -> None:
        """A 409 when `number` is registered but its workflow has not started yet."""
        row = await self.pool.fetchrow(q.SELECT_OPENING, number)
        if (row is not None and user.role != Role.UNIT
                and centers.can_see(user, row["center"], row["appeal_center"])):
            raise ApiError(409, "case_opening",
                           intake.OPENING_MESSAGE + " 暂不能办理 No action yet.",
                           status=Status.REGISTERED.value, allowed_actions=[])

    async def opening_view(self, number: str, user: User) -> CaseView | None:
        """The case as registered in PostgreSQL if its workflow has not started (else None):
        no actions yet; the personal file for FILE_ROLES (logged); nothing for units, which
        never see a case before it is referred to them."""
        row = await self.pool.fetchrow(q.SELECT_OPENING, number)
        if row is None:
            return None
        if user.role == Role.UNIT or not centers.can_see(
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
            "deadlines": [intake.acceptance_deadline(row)], "allowed_actions": [],
            "opening": True,
        }
        if user.role in FILE_ROLES:
            data.update(await self._file(number, user))
        return CaseView.model_validate(data)

    async def _file(self, number: str, user: User) -> dict[str, Any]:
        """The personal part of the case (R-32, R-33), its read logged."""
        async with self.pool.acquire() as conn:
            f = await q.read_case_file(
                conn, number, actor_id=user.id, actor_role=user.role.value,
                what="complainant, facts",
            )
        if f is None:
            return {}
        return {"complainant": f.complainant, "facts": f.facts, "evidence": f.evidence,
                "respondent_staff": f.respondent_staff, "complainant_texts": f.texts}

    async def view(self, state: CaseState, user: User, *, with_file: bool) -> AnyCaseView:
        """The case as the caller may see it: a handling unit the allow-list of `UnitCaseView`;
        the office the case, with the personal file (logged) for FILE_ROLES."""
        allowed = lifecycle.allowed_actions(state, user.actor(), utcnow())
        if user.role == Role.UNIT:
            return UnitCaseView.allowed({**state.model_dump(mode="json"), "allowed_actions": allowed})
        data = state.model_dump()
        data["allowed_actions"] = allowed
        data["linked"] = [{"number": x.number, "complainant_ref": x.complainant_ref}
                          for x in state.linked]
        if state.outcome == Outcome.FORWARDED and state.forwarded_case is None:
            # the case opened at the other center; the archived workflow cannot hold it.
            data["forwarded_case"] = await centers.forwarded_case(self.pool, state.number)
        if with_file and user.role in FILE_ROLES:
            data.update(await self._file(state.number, user))
        return CaseView.model_validate(data)

    async def search(
        self, user: User, f: q.ListFilter, *, page: int, page_size: int
    ) -> ComplaintsPublic:
        """A page of the read model; a unit sees only the cases it handles."""
        if user.role == Role.UNIT:
            if f.handling_unit not in (None, user.unit):
                return ComplaintsPublic(data=[], count=0, page=page, page_size=page_size)
            f = dataclasses.replace(f, handling_unit=user.unit)
        rows, count = await q.list_cases(
            self.pool, f, limit=page_size, offset=(page - 1) * page_size
        )
        items = [ComplaintListItem(**r) for r in rows]
        return ComplaintsPublic(data=items, count=count, page=page, page_size=page_size)

    async def visible_row(self, number: str, user: User) -> q.CaseRow:
        """The case's row in PostgreSQL if the caller's center may see it (R-46), else 404."""
        row = await q.get_case(self.pool, number)
        if row is None or not centers.can_see(user, row.center, row.appeal_center):
            raise not_found()
        return row

    async def notifications(self, number: str, user: User) -> NotificationsPublic:
        """The outbox rows of a case (no contact data)."""
        await self.visible_row(number, user)
        rows = await q.list_notifications(self.pool, number)
        return NotificationsPublic(data=[NotificationOut(**r) for r in rows], count=len(rows))

    # ------------------------------------------------------------------ acting

    async def act(
        self, action: Action, number: str, body: Model, user: User, *, key: str | None
    ) -> AnyCaseView:
        """Check the action against the rules here, then run it as a Workflow Update."""
        if not may_ever(action, user.role):
            raise ApiError(403, "forbidden",
                           f"role {user.role.value!r} may not perform {action.value!r}")
        # The read model's copy of the case answers the checks (one Temporal round trip fewer);
        # when it says no, the workflow (the source of truth: the copy may lag) is asked again.
        state = await self.projected(number, user) or await self.load(number, user)
        data = await centers.action_fields(self.pool, action, state, body.model_dump(), user)
        kept = await screening.screen(self.pool, action, number, body.model_dump(), data)
        inp = ACTION_INPUTS[action].model_validate({**data, "actor": user.actor().model_dump()})
        if isinstance(inp, LinkDuplicateInput):
            await self._check_primary(state, inp.primary, user)
        if isinstance(inp, ReportRectificationInput) and inp.evidence:
            await q.check_evidence(self.pool, state.number, inp.evidence,
                                   user.unit if user.role == Role.UNIT else None)
        try:
            try:
                self.check(action, state, inp)
            except ApiError as maybe_stale:
                if maybe_stale.http_status != 409:
                    raise
                state = await self.load(number, user)
                self.check(action, state, inp)
        except ApiError as refused:
            if key is None or refused.http_status != 409:
                raise
            # A retry of an action that already ran finds the case moved on: the same Update
            # id makes Temporal answer with the first result; anything else is the refusal.
            try:
                new = await self.update(number, action, inp, key, kept=kept)
            except ApiError:
                raise refused from None
        else:
            new = await self.update(number, action, inp, key, kept=kept)
        if isinstance(inp, ForwardInput) and inp.to_center:
            await self._open_forwarded(new, inp.to_center, user)
        return await self.view(new, user, with_file=False)

    async def _open_forwarded(self, state: CaseState, to_center: str, user: User) -> str:
        """R-12: open the linked case at `to_center` (once; a retry finds it) and start it."""
        now = utcnow()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await centers.open_forwarded(
                conn, state, to_center, user, now=now, default_policy=self.settings.policy,
                new_number=lambda seq: format_number(seq, now),
            )
        if not row["workflow_started"]:
            if not await self.start(row, user.actor()):
                raise intake.number_conflict()
            await registration.mark_started(self.pool, row["number"])
        return str(row["number"])

    def check(self, action: Action, state: CaseState, inp: ActionInput) -> None:
        """The rules (`domain.lifecycle`): 403/409/422 before Temporal is asked."""
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

    async def update(
        self, number: str, action: Action, inp: ActionInput, key: str | None,
        *, kept: Mapping[str, str] | None = None,
    ) -> CaseState:
        """Run the Update, then read the case: the Update answers only with a small result
        (`ActionResult`; cases started before issue 11 answer with the whole case).

        `kept`: the complainant's own words (field -> text as given) whose redacted form the
        Update carries; written to `complainant_texts` in a transaction that commits only when
        the Update succeeded (a retry with the same key writes them once)."""
        if kept:
            async with self.pool.acquire() as conn, conn.transaction():
                await q.keep_complainant_texts(
                    conn, number, action.value, kept, actor=inp.actor,
                    key=hashlib.sha256(key.encode()).hexdigest() if key else None,
                )
                return await self.update(number, action, inp, key)
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
        row = await self.visible_row(number, user)
        if not row.workflow_started:
            raise not_found()
        await screening.refuse_personal_data(
            self.pool, number,
            pd.text_fields({k: v for k, v in inp.model_dump().items() if k != "actor"}))
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
