"""What the complaint routes read and write in PostgreSQL (migrations/0001_init.sql), as plain
SQL constants and the small repository functions over them.

jsonb values cross as text (`$n::text::jsonb` in, `col::text` out), so these queries work
whatever JSON codec the pool was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg

from activities.intake import START_COLUMNS
from api.errors import ApiError

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    #: A connection of its own or one borrowed from a pool.
    Connection = asyncpg.Connection[Any] | PoolConnectionProxy[Any]


class Conn(Protocol):
    """What a query needs: an `asyncpg.Connection` or an `asyncpg.Pool`."""

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...
    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None: ...
    async def fetchval(self, query: str, *args: Any) -> Any: ...
    async def execute(self, query: str, *args: Any) -> str: ...


# --- one case ---------------------------------------------------------------------------------

SELECT_CASE = """
SELECT number, center, status, handling_unit, workflow_started, access_code_hash, appeal_center
FROM complaints WHERE number = $1
"""

#: The projected case (jsonb as text), for the checks before an action; only once its workflow runs.
SELECT_PROJECTED_STATE = (
    "SELECT state::text FROM complaints WHERE number = $1 AND workflow_started AND state IS NOT NULL"
)

#: Personal data and the original file (R-32, R-33): read only together with LOG_ACCESS.
SELECT_CASE_FILE = """
SELECT c.facts, c.evidence::text AS evidence, c.respondent_staff,
       p.name, p.phone, p.email, p.address, p.id_number, p.anonymous, p.agent::text AS agent
FROM complaints c JOIN complainants p ON p.ref = c.complainant_ref
WHERE c.number = $1
"""

#: A case registered in PostgreSQL whose workflow has not started yet (being opened).
SELECT_OPENING = f"""
SELECT {START_COLUMNS}, appeal_center FROM complaints WHERE number = $1 AND NOT workflow_started
"""

#: The complainant's and agent's own data, for the personal-data guard (compared, never shown).
SELECT_IDENTITY = """
SELECT p.name, p.phone, p.email, p.address, p.id_number, p.agent::text AS agent
FROM complaints c JOIN complainants p ON p.ref = c.complainant_ref
WHERE c.number = $1
"""

#: The complainant's own words as given (migrations/0008_complainant_texts.sql); a retried
#: action (same key) writes them once.
INSERT_COMPLAINANT_TEXT = """
INSERT INTO complainant_texts (number, action, field, text, actor_id, actor_role, key)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (number, action, field, key) DO NOTHING
"""

SELECT_COMPLAINANT_TEXTS = """
SELECT action, field, text, at FROM complainant_texts WHERE number = $1 ORDER BY id
"""

#: The evidence files of a case among $2 that may be cited: by the office any, by a unit ($3)
#: its own uploads and those a leader shared (R-32).
SELECT_EVIDENCE_IDS = """
SELECT id FROM evidence
WHERE number = $1 AND id = ANY($2::bigint[])
  AND ($3::text IS NULL OR uploaded_unit = $3 OR shared)
"""

LOG_ACCESS = """
INSERT INTO access_log (actor_id, actor_role, number, what) VALUES ($1, $2, $3, $4)
"""

# --- lists ------------------------------------------------------------------------------------

_FILTERS = """
FROM complaints
WHERE (center = $1 OR appeal_center = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR handling_unit = $3 OR state->'joint_units' ? $3
       OR state->'rectification'->>'unit' = $3)
  AND ($4::text IS NULL OR category = $4)
  AND ($5::text IS NULL OR channel = $5)
  AND ($6::boolean IS NULL OR overdue = $6)
  AND ($7::boolean IS NULL OR supervised = $7)
  AND ($8::text IS NULL OR number ILIKE $8 || '%' OR summary ILIKE '%' || $8 || '%')
"""

COUNT_COMPLAINTS = "SELECT count(*) " + _FILTERS

LIST_COMPLAINTS = (
    """
SELECT number, status, outcome, channel, form, category, grade, respondent_unit,
       respondent_unit_name, summary, route, handling_unit, received_at, registered_at,
       next_due, overdue, supervised, NOT workflow_started AS opening
"""
    + _FILTERS
    + """
ORDER BY registered_at DESC, number DESC
LIMIT $9 OFFSET $10
"""
)

#: The outbox of one case, without contact data (complainant_ref, last_error).
LIST_NOTIFICATIONS = """
SELECT id, key, kind, recipient, unit, about_case, data::text AS data, created_at, status,
       attempts, sent_at, channel
FROM notifications WHERE number = $1 ORDER BY id
"""


# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseRow:
    """The non-personal columns the API checks before going to Temporal."""

    number: str
    center: str
    status: str
    handling_unit: str | None
    workflow_started: bool
    access_code_hash: str
    appeal_center: str | None = None


@dataclass(frozen=True, slots=True)
class CaseFile:
    """The personal part of a case: the complainant and the original file."""

    facts: str
    evidence: list[str]
    respondent_staff: str | None
    complainant: dict[str, Any]
    texts: list[dict[str, Any]]
    """The complainant's own words as given (appeal reasons, callback comments)."""


@dataclass(frozen=True, slots=True)
class ListFilter:
    """`GET /v1/complaints` filters; None means "any"."""

    center: str
    status: str | None = None
    handling_unit: str | None = None
    category: str | None = None
    channel: str | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    q: str | None = None

    def args(self) -> tuple[Any, ...]:
        q = None if self.q is None else _escape_like(self.q)
        return (self.center, self.status, self.handling_unit, self.category, self.channel,
                self.overdue, self.supervised, q)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


async def get_case(conn: Conn, number: str) -> CaseRow | None:
    """The case's row, or None."""
    row = await conn.fetchrow(SELECT_CASE, number)
    return None if row is None else CaseRow(**dict(row))


async def read_case_file(
    conn: Connection, number: str, *, actor_id: str, actor_role: str, what: str
) -> CaseFile | None:
    """Read the personal data of a case, logging the access in the same transaction."""
    async with conn.transaction():
        row = await conn.fetchrow(SELECT_CASE_FILE, number)
        if row is None:
            return None
        texts = await conn.fetch(SELECT_COMPLAINANT_TEXTS, number)
        await conn.execute(LOG_ACCESS, actor_id, actor_role, number, what)
    agent = _json(row["agent"])
    return CaseFile(
        facts=row["facts"],
        evidence=list(_json(row["evidence"]) or []),
        respondent_staff=row["respondent_staff"],
        complainant={
            "name": row["name"], "phone": row["phone"], "email": row["email"],
            "address": row["address"], "id_number": row["id_number"],
            "anonymous": row["anonymous"], "agent": agent,
        },
        texts=[dict(t) for t in texts],
    )


async def read_identity(conn: Conn, number: str) -> dict[str, Any] | None:
    """The complainant's and agent's own data of a case (None: no such case)."""
    row = await conn.fetchrow(SELECT_IDENTITY, number)
    if row is None:
        return None
    return {**dict(row), "agent": _json(row["agent"])}


async def keep_complainant_texts(
    conn: Conn, number: str, action: str, texts: dict[str, str] | Any, *, actor: Any,
    key: str | None,
) -> None:
    """Write the complainant's own words as given (call inside the action's transaction)."""
    for field, text in texts.items():
        await conn.execute(INSERT_COMPLAINANT_TEXT, number, action, field, text, actor.id,
                           actor.role.value, key)


async def list_cases(
    conn: Conn, f: ListFilter, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the read model and the number of all matching rows."""
    args = f.args()
    total = await conn.fetchval(COUNT_COMPLAINTS, *args)
    rows = await conn.fetch(LIST_COMPLAINTS, *args, limit, offset)
    return [dict(r) for r in rows], int(total)


async def list_notifications(conn: Conn, number: str) -> list[dict[str, Any]]:
    """The outbox rows of a case, oldest first."""
    rows = await conn.fetch(LIST_NOTIFICATIONS, number)
    return [{**dict(r), "data": _json(r["data"]) or {}} for r in rows]


async def check_evidence(pool: asyncpg.Pool, number: str, ids: list[int], unit: str | None) -> None:
    """A rectification report cites evidence files of this case that its author may see (a
    unit: its own uploads and the files a leader shared, R-32); else 422 naming them (R-37)."""
    found = {r["id"] for r in await pool.fetch(SELECT_EVIDENCE_IDS, number, ids, unit)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApiError(422, "invalid_body",
                       f"evidence: no evidence file {', '.join(map(str, missing))} on case "
                       f"{number} that you may cite; upload it first "
                       f"(POST /v1/complaints/{number}/evidence)", field="evidence")
