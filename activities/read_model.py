"""The read model: a searchable projection of every case, written after each change.

The workflow sends the whole non-personal `CaseState` with a `version` that grows with every
change; the row is only overwritten by a newer version, so a late retry of an older projection
never undoes a newer one. Action records go to `case_events` exactly once each.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from temporalio import activity

from domain.clocks import DUE_COLUMNS
from domain.models import ActionRecord, CaseState, ProjectInput

if TYPE_CHECKING:
    import asyncpg

    from db import Connection

log = logging.getLogger("complaints.read_model")

#: The read-model column of each deadline kind: `domain.clocks.CLOCKS` (a new kind needs a
#: column in a migration too, see tests/activities).

# A case started outside the API (temporal CLI, tests) has no complainant row: make a minimal
# one, holding the reference and no personal data. Nothing is written when the case exists.
ENSURE_COMPLAINANT = """
INSERT INTO complainants (ref)
SELECT $1
WHERE NOT EXISTS (SELECT 1 FROM complaints WHERE number = $2)
ON CONFLICT (ref) DO NOTHING
"""

# $1..$14: the registration columns (used only when the row is new);
# $15..$41: the projection (used in both cases). facts and access_code_hash stay '' for a
# row made here: they exist only for cases registered through the API.
UPSERT_COMPLAINT = """
INSERT INTO complaints AS c (
    number, center, complainant_ref, channel, form, category, grade,
    respondent_unit, respondent_unit_name, summary, policy, policy_version,
    received_at, registered_at, facts, access_code_hash,
    status, outcome, route, handling_unit,
    acknowledgement_due, acceptance_due, opinion_due, handling_due, overall_due,
    return_due, callback_due, supervision_due, document_reply_due, next_due,
    overdue, ever_overdue, supervised, extended_days, returns,
    finding, measures, rating, accepted_at, decided_at, archived_at,
    state, version, workflow_started, updated_at
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '', '',
    $15, $16, $17, $18,
    $19, $20, $21, $22, $23, $24, $25, $26, $27, $28,
    $29, $30, $31, $32, $33,
    $34, $35, $36, $37, $38, $39,
    $40, $41, true, now()
)
ON CONFLICT (number) DO UPDATE SET
    grade = EXCLUDED.grade,
    status = EXCLUDED.status,
    outcome = EXCLUDED.outcome,
    route = EXCLUDED.route,
    handling_unit = EXCLUDED.handling_unit,
    acknowledgement_due = EXCLUDED.acknowledgement_due,
    acceptance_due = EXCLUDED.acceptance_due,
    opinion_due = EXCLUDED.opinion_due,
    handling_due = EXCLUDED.handling_due,
    overall_due = EXCLUDED.overall_due,
    return_due = EXCLUDED.return_due,
    callback_due = EXCLUDED.callback_due,
    supervision_due = EXCLUDED.supervision_due,
    document_reply_due = EXCLUDED.document_reply_due,
    next_due = EXCLUDED.next_due,
    overdue = EXCLUDED.overdue,
    ever_overdue = c.ever_overdue OR EXCLUDED.ever_overdue,
    supervised = EXCLUDED.supervised,
    extended_days = EXCLUDED.extended_days,
    returns = EXCLUDED.returns,
    finding = EXCLUDED.finding,
    measures = EXCLUDED.measures,
    rating = EXCLUDED.rating,
    accepted_at = EXCLUDED.accepted_at,
    decided_at = EXCLUDED.decided_at,
    archived_at = EXCLUDED.archived_at,
    state = EXCLUDED.state,
    version = EXCLUDED.version,
    workflow_started = true,
    updated_at = now()
WHERE c.version < EXCLUDED.version
"""

INSERT_EVENT = """
INSERT INTO case_events (number, seq, action, actor_id, actor_role, actor_unit, at,
                         status_before, status_after, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (number, seq) DO NOTHING
"""


def due_instants(s: CaseState) -> list[datetime | None]:
    """The open due instant of each kind, in `DUE_COLUMNS` order (None if no open deadline)."""
    due: dict[str, datetime] = {}
    for d in s.open_deadlines():
        due.setdefault(d.kind.value, d.due_at)  # the first open one, as `open_deadline` picks
    return [due.get(kind) for kind in DUE_COLUMNS]


def registration_args(s: CaseState) -> list[Any]:
    """Parameters $1..$14 of `UPSERT_COMPLAINT`."""
    return [
        s.number, s.center, s.complainant_ref, s.channel.value, s.form.value,
        s.category.value, s.grade.value, s.respondent_unit, s.respondent_unit_name,
        s.summary, s.policy, s.policy_version, s.received_at, s.registered_at,
    ]


def projection_args(s: CaseState) -> list[Any]:
    """Parameters $15..$41 of `UPSERT_COMPLAINT` (jsonb values as Python objects)."""
    decision, satisfaction = s.decision, s.satisfaction
    return [
        s.status.value,
        s.outcome.value if s.outcome else None,
        s.route.value if s.route else None,
        s.handling_unit,
        *due_instants(s),
        s.next_due(),
        s.overdue,
        any(d.overdue for d in s.deadlines),  # ever overdue; OR-ed with the stored flag
        s.supervised,
        s.extended_days,
        s.returns,
        decision.finding.value if decision else None,
        [m.value for m in decision.measures] if decision else None,
        satisfaction.rating.value if satisfaction else None,
        s.accepted_at,
        decision.decided_at if decision else None,
        s.archived_at,
        s.model_dump(mode="json"),
        s.version,
    ]


def event_args(number: str, e: ActionRecord) -> tuple[Any, ...]:
    """Parameters of `INSERT_EVENT`."""
    return (
        number, e.seq, e.action, e.actor.id, e.actor.role.value, e.actor.unit, e.at,
        e.status_before.value, e.status_after.value, e.detail,
    )


async def project(conn: Connection, inp: ProjectInput) -> bool:
    """Write one projection in one transaction.

    Args:
        conn: a connection with the JSON codec of `db.init_connection`.
        inp: the case snapshot and the action records not yet projected.

    Returns:
        True if the complaints row took this version; False if it already had a newer one.
    """
    s = inp.state
    async with conn.transaction():
        await conn.execute(ENSURE_COMPLAINANT, s.complainant_ref, s.number)
        status = await conn.execute(
            UPSERT_COMPLAINT, *registration_args(s), *projection_args(s)
        )
        if inp.events:
            await conn.executemany(INSERT_EVENT, [event_args(s.number, e) for e in inp.events])
    return status.endswith(" 1")


class ReadModelActivities:
    """Projects the case into PostgreSQL or, without a pool, logs the projection."""

    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool

    @activity.defn(name="project_case")
    async def project_case(self, inp: ProjectInput) -> None:
        """Upsert the case's read-model row (newer versions only) and its new events."""
        s = inp.state
        if self.pool is None:
            log.info("project %s v%d status=%s events=%d", s.number, s.version, s.status,
                     len(inp.events))
            return
        async with self.pool.acquire() as conn:
            if not await project(conn, inp):
                log.info("project %s v%d skipped: a newer version is stored", s.number, s.version)
