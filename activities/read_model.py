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
from domain.models import ActionRecord, CaseState, ProjectInput, RectificationState

if TYPE_CHECKING:
    import asyncpg

    from db import Connection

log = logging.getLogger("complaints.read_model")


# A case started outside the API (temporal CLI, tests) has no complainant row: make a minimal
# one, holding the reference and no personal data. Nothing is written when the case exists.
ENSURE_COMPLAINANT = """
INSERT INTO complainants (ref)
SELECT $1
WHERE NOT EXISTS (SELECT 1 FROM complaints WHERE number = $2)
ON CONFLICT (ref) DO NOTHING
"""

#: The registration columns ($1..$14; written only when the row is new).
REGISTRATION_COLUMNS = (
    "number", "center", "complainant_ref", "channel", "form", "category", "grade",
    "respondent_unit", "respondent_unit_name", "summary", "policy", "policy_version",
    "received_at", "registered_at",
)
#: The projection ($15 on; written every time): each clock's column comes from `domain.clocks`.
PROJECTION_COLUMNS = (
    "status", "outcome", "route", "handling_unit", *DUE_COLUMNS.values(), "next_due",
    "overdue", "ever_overdue", "supervised", "extended_days", "returns",
    "finding", "measures", "rating", "accepted_at", "decided_at", "archived_at",
    "rectified_at", "state", "version",
)


def _upsert_complaint() -> str:
    """The read-model upsert; facts and access_code_hash stay '' for a row made here: they
    exist only for cases registered through the API. Newer versions only."""
    n = len(REGISTRATION_COLUMNS)
    values = [f"${i}" for i in range(1, n + 1)] + ["''", "''"]
    values += [f"${i}" for i in range(n + 1, n + 1 + len(PROJECTION_COLUMNS))]
    updates = ["grade = EXCLUDED.grade"] + [
        "ever_overdue = c.ever_overdue OR EXCLUDED.ever_overdue"
        if col == "ever_overdue"
        else f"{col} = EXCLUDED.{col}"
        for col in PROJECTION_COLUMNS
    ]
    columns = [*REGISTRATION_COLUMNS, "facts", "access_code_hash", *PROJECTION_COLUMNS]
    return (
        f"INSERT INTO complaints AS c ({', '.join(columns)}, workflow_started, updated_at)\n"
        f"VALUES ({', '.join(values)}, true, now())\n"
        f"ON CONFLICT (number) DO UPDATE SET {', '.join(updates)}, workflow_started = true, "
        "updated_at = now()\nWHERE c.version < EXCLUDED.version"
    )


UPSERT_COMPLAINT = _upsert_complaint()

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
    """The values of `REGISTRATION_COLUMNS`."""
    return [
        s.number, s.center, s.complainant_ref, s.channel.value, s.form.value,
        s.category.value, s.grade.value, s.respondent_unit, s.respondent_unit_name,
        s.summary, s.policy, s.policy_version, s.received_at, s.registered_at,
    ]


def rectified_at(s: CaseState) -> datetime | None:
    """When the handler accepted the rectification of the decision's measures (R-37)."""
    rect = s.rectification
    return rect.accepted_at if rect is not None and rect.state == RectificationState.ACCEPTED else None


def projection_args(s: CaseState) -> list[Any]:
    """The values of `PROJECTION_COLUMNS` (jsonb values as Python objects)."""
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
        rectified_at(s),
        s.model_dump(mode="json"),
        s.version,
    ]


def event_args(number: str, e: ActionRecord) -> tuple[Any, ...]:
    """Parameters of `INSERT_EVENT`."""
    return (
        number, e.seq, e.action, e.actor.id, e.actor.role.value, e.actor.unit, e.at,
        e.status_before.value, e.status_after.value, e.detail,
    )


async def write_projection(conn: Connection, inp: ProjectInput) -> bool:
    """Write one projection in the caller's transaction; True if the row took this version."""
    s = inp.state
    await conn.execute(ENSURE_COMPLAINANT, s.complainant_ref, s.number)
    status = await conn.execute(UPSERT_COMPLAINT, *registration_args(s), *projection_args(s))
    if inp.events:
        await conn.executemany(INSERT_EVENT, [event_args(s.number, e) for e in inp.events])
    return status.endswith(" 1")


async def project(conn: Connection, inp: ProjectInput) -> bool:
    """Write one projection in one transaction.

    Args:
        conn: a connection with the JSON codec of `db.init_connection`.
        inp: the case snapshot and the action records not yet projected.

    Returns:
        True if the complaints row took this version; False if it already had a newer one.
    """
    async with conn.transaction():
        return await write_projection(conn, inp)


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
