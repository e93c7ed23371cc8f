"""The case as the read model holds it, once a given version has been projected.

An Update answers with a small `ActionResult`; the case after it is projected by the workflow in
the same workflow task (`project_case`), usually within a few tens of milliseconds. Reading it
here saves the `state` query, which would wait for the workflow task that takes the projection's
result. The records and investigation steps come from `case_events` (the projection carries them
once, whole); None when the projection is late or PostgreSQL is down (then ask the workflow).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg

from api.complaints.queries import SELECT_EVENTS, SELECT_PROJECTION
from domain.models import ActionRecord, Actor, CaseState, InvestigationKind, InvestigationStep

#: How long an action's answer waits for its projection before asking the workflow instead.
WAIT_SECONDS = 1.0
POLL_SECONDS = 0.01
#: As many of the newest records as the workflow keeps (workflows/complaint/options.py).
KEEP = 50

def _record(row: asyncpg.Record) -> ActionRecord:
    return ActionRecord(
        seq=row["seq"], action=row["action"],
        actor=Actor(id=row["actor_id"], role=row["actor_role"], unit=row["actor_unit"]),
        at=row["at"], status_before=row["status_before"], status_after=row["status_after"],
        detail=json.loads(row["detail"]) if row["detail"] else {},
    )


def _step(seq: int, rec: ActionRecord) -> InvestigationStep | None:
    d: dict[str, Any] = rec.detail
    if d.get("kind") not in InvestigationKind._value2member_map_:
        return None
    return InvestigationStep(
        seq=seq, kind=d["kind"], note=str(d.get("note", "")), party=str(d.get("party", "")),
        at=rec.at, by=rec.actor, reply_due=d.get("reply_due"), answered_late=d.get("answered_late"),
    )


async def projected_case(pool: asyncpg.Pool, number: str, version: int) -> CaseState | None:
    """The case at `version` or later from the read model, or None (late, or not in this shape)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        row = await pool.fetchrow(SELECT_PROJECTION, number)
        if row is not None and row["version"] >= version and row["state"]:
            break
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(POLL_SECONDS)
    state = CaseState.model_validate(json.loads(row["state"]))
    if state.actions:  # a case of the shape before issue 11 projects its records itself
        return state
    records = [_record(r) for r in await pool.fetch(SELECT_EVENTS, number, None, KEEP)]
    state.actions = sorted(records, key=lambda r: r.seq)
    steps = [_record(r) for r in await pool.fetch(SELECT_EVENTS, number, "record-investigation", KEEP)]
    first = state.investigation_total - len(steps) + 1
    made = [_step(first + i, rec) for i, rec in enumerate(sorted(steps, key=lambda r: r.seq))]
    state.investigation = [s for s in made if s is not None]
    return state
