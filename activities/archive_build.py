"""Building and appending the case file (the `archive_case` activity)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from temporalio import activity

from activities.chain import CaseRecord, fetch_chain, is_snapshot
from domain.models import ArchiveInput, CaseState

if TYPE_CHECKING:
    import asyncpg
    from temporalio.client import Client

    from db import Connection


from activities.archive_format import (
    FORMAT,
    INSERT_ARCHIVE,
    LOCK_ARCHIVES,
    NORMALIZE_JSONB,
    SELECT_ARCHIVE_RESULT,
    SELECT_COMPLAINANT,
    SELECT_COMPLAINT,
    SELECT_EVENTS,
    SELECT_EVIDENCE,
    SELECT_LAST_HASH,
    SELECT_LINKS,
    SELECT_NOTIFICATIONS,
    ArchivedRun,
    ArchiveReceipt,
    canonical_json,
    jsonable,
    record,
    sha256_hex,
)

log = logging.getLogger("complaints.archive")

# ------------------------------------------------------------------ building the case file


async def fetch_history(client: Client | None, number: str) -> dict[str, Any] | None:
    """The newest run's Temporal history as exported JSON (`temporal workflow show -o json`).

    Args:
        client: the worker's Temporal client; None (tests, log-only) = no history.
        number: the complaint number, which is the workflow id.
    """
    runs = await fetch_runs(client, number)
    return runs[-1].history if runs else None


async def fetch_runs(client: Client | None, number: str, run_id: str | None = None) -> list[ArchivedRun]:
    """Every run's history of the case, oldest first, as exported JSON; [] without a client.

    Args:
        client: the worker's Temporal client; None (tests, log-only) = no history.
        number: the complaint number, which is the workflow id.
        run_id: the run to walk back from (the archive activity's own run); None = the newest.
    """
    if client is None:
        return []
    chain = await fetch_chain(client, number, run_id=run_id)
    if not chain.complete:
        log.warning("archive %s: runs before %s could not be read", number, chain.missing_before)
    return [
        ArchivedRun(run_id=r, history=json.loads(h.to_json()))
        for r, h in zip(chain.run_ids, chain.histories, strict=True)
    ]


def complete_record(state: CaseState, runs: list[ArchivedRun]) -> dict[str, Any]:
    """The case record's capped lists in full, gathered from every snapshot in every run's
    history (the state handed to the archive keeps only the last ones)."""
    gathered = CaseRecord()
    for run in runs:
        for snap in _history_snapshots(run.history):
            gathered.add_snapshot(snap)
    gathered.add_snapshot(state.model_dump(mode="json"))
    return gathered.complete_lists()


def _payload_json(payload: Any) -> Any:
    try:
        return json.loads(base64.b64decode(payload["data"]))
    except (KeyError, TypeError, ValueError):
        return None


def _delivered_state(marker: Mapping[str, Any]) -> Any:
    """The case state in a `deliver` local activity's marker (its result echoes the projection)."""
    if marker.get("markerName") != "core_local_activity":
        return None
    details = marker.get("details", {})
    data = [_payload_json(p) for p in details.get("data", {}).get("payloads", [])[:1]]
    if not data or not isinstance(data[0], dict) or data[0].get("activity_type") != "deliver":
        return None
    for p in details.get("result", {}).get("payloads", [])[:1]:
        out = _payload_json(p)
        if isinstance(out, dict) and isinstance(out.get("project"), dict):
            return out["project"].get("state")
    return None


def _history_snapshots(history: Mapping[str, Any]) -> list[Any]:
    """The `CaseState` snapshots written into an exported history (plain JSON, in order)."""
    found: list[Any] = []
    for event in history.get("events", []):
        if not isinstance(event, dict):
            continue
        values: list[Any] = []
        if a := event.get("workflowExecutionStartedEventAttributes"):
            values = [
                ((_payload_json(p) or {}).get("carried") or {}).get("state")
                for p in a.get("input", {}).get("payloads", [])[:1]
            ]
        elif a := event.get("activityTaskScheduledEventAttributes"):
            if a.get("activityType", {}).get("name") in ("project_case", "archive_case"):
                values = [
                    (_payload_json(p) or {}).get("state") for p in a.get("input", {}).get("payloads", [])[:1]
                ]
        elif a := event.get("markerRecordedEventAttributes"):
            values = [_delivered_state(a)]
        elif a := event.get("workflowExecutionUpdateCompletedEventAttributes"):
            values = [
                _payload_json(p) for p in a.get("outcome", {}).get("success", {}).get("payloads", [])[:1]
            ]
        elif a := event.get("workflowExecutionCompletedEventAttributes"):
            values = [_payload_json(p) for p in a.get("result", {}).get("payloads", [])[:1]]
        found.extend(v for v in values if is_snapshot(v))
    return found


def rectification_file(state: CaseState, events: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The case's rectification (R-37) with every report and review in full, from the action
    records (the state keeps the newest reports, their texts cut)."""
    rect = state.rectification
    if rect is None:
        return None
    reports: list[dict[str, Any]] = []
    for e in events:
        if e is None or e.get("action") not in ("report-rectification", "review-rectification"):
            continue
        detail = dict(e.get("detail") or {})
        if e["action"] == "report-rectification":
            reports.append({**detail, "at": e["at"], "by": e["actor_id"], "role": e["actor_role"],
                            "actor_unit": e["actor_unit"], "review": None})
        elif reports:
            reports[-1]["review"] = {**detail, "at": e["at"], "by": e["actor_id"]}
    summary = rect.model_dump(mode="json", exclude={"reports"})
    return {**summary, "reports": reports}


async def gather_file(
    conn: Connection,
    state: CaseState,
    history: dict[str, Any] | list[ArchivedRun] | None,
) -> dict[str, Any]:
    """The case file without its chain link (`prev_sha256` is added under the lock).

    Every action record comes from `case_events` (the projection wrote them all; the state
    keeps none or only the last ones); the other capped lists from the runs' histories.
    """
    if isinstance(history, dict):
        runs = [ArchivedRun(run_id=None, history=history)]
    else:
        runs = list(history or [])
    complaint = record(await conn.fetchrow(SELECT_COMPLAINT, state.number))
    complainant = record(await conn.fetchrow(SELECT_COMPLAINANT, state.complainant_ref))
    events = [record(r) for r in await conn.fetch(SELECT_EVENTS, state.number)]
    return {
        "format": FORMAT,
        "number": state.number,
        "archived_at": jsonable(state.archived_at),
        "case": state.model_dump(mode="json"),
        "record": complete_record(state, runs),
        "complaint": complaint,
        "complainant": complainant,
        "events": events,
        # 整改落实: the rectification and every report with its review, whole.
        "rectification": rectification_file(state, events),
        "notifications": [record(r) for r in await conn.fetch(SELECT_NOTIFICATIONS, state.number)],
        # The evidence list (the files stay in the evidence store, named by their SHA-256) and
        # the links to cases at other centers. A forward's link is written by the
        # API right after the forward, so it may postdate the forwarded case's archive; the
        # receiving case's archive always carries it.
        "evidence": [record(r) for r in await conn.fetch(SELECT_EVIDENCE, state.number)],
        "links": [record(r) for r in await conn.fetch(SELECT_LINKS, state.number)],
        # The last run's history (where the archive activity ran), and every run before it of
        # a case that continued as new, oldest first.
        "history": runs[-1].history if runs else None,
        "run_id": runs[-1].run_id if runs else None,
        "previous_runs": [{"run_id": r.run_id, "history": r.history} for r in runs[:-1]],
    }


async def existing_result(conn: Connection, number: str) -> ArchiveReceipt | None:
    """The archive row of `number` as an `ArchiveReceipt`, if it is archived already."""
    row = await conn.fetchrow(SELECT_ARCHIVE_RESULT, number)
    return None if row is None else ArchiveReceipt(**dict(row))


async def append(conn: Connection, doc: dict[str, Any]) -> ArchiveReceipt:
    """Link `doc` to the chain, hash it and insert it, in one transaction.

    Idempotent: if the case was archived meanwhile, the stored row is returned unchanged.
    """
    number: str = doc["number"]
    async with conn.transaction():
        await conn.execute(LOCK_ARCHIVES)
        if (done := await existing_result(conn, number)) is not None:
            return done
        prev = await conn.fetchval(SELECT_LAST_HASH)
        document = await conn.fetchval(NORMALIZE_JSONB, {**doc, "prev_sha256": prev})
        canonical = canonical_json(document)
        digest = sha256_hex(canonical)
        position = await conn.fetchval(INSERT_ARCHIVE, number, document, canonical, digest, prev)
    return ArchiveReceipt(number=number, sha256=digest, prev_sha256=prev, position=position)


async def archive(
    pool: asyncpg.Pool, state: CaseState, client: Client | None = None, run_id: str | None = None
) -> ArchiveReceipt:
    """Archive one case (R-35); a case archived before is returned as stored.

    Args:
        pool: a pool from `db.create_pool` (JSON codec registered).
        state: the final, non-personal case record from the workflow.
        client: Temporal client to export the workflow history with; None = no history.
        run_id: the run archiving (its history and every run's before it are exported);
            None = the newest run.
    """
    async with pool.acquire() as conn:
        if (done := await existing_result(conn, state.number)) is not None:
            return done
    runs = await fetch_runs(client, state.number, run_id)
    async with pool.acquire() as conn:
        doc = await gather_file(conn, state, runs)
        return await append(conn, doc)


class ArchiveActivities:
    """Archives the case file into PostgreSQL or, without a pool, logs its hash."""

    def __init__(self, pool: asyncpg.Pool | None = None, client: Client | None = None) -> None:
        self.pool = pool
        self.client = client

    @activity.defn(name="archive_case")
    async def archive_case(self, inp: ArchiveInput) -> ArchiveReceipt:
        """Archive the case file; returns its hash, the previous archive's hash and its position
        in the chain — recorded in the case's Temporal history, outside PostgreSQL (issue 13)."""
        if self.pool is None:
            doc = {"case": inp.state.model_dump(mode="json")}
            digest = sha256_hex(canonical_json(doc))
            log.info("archive %s sha256=%s", inp.state.number, digest)
            return ArchiveReceipt(number=inp.state.number, sha256=digest)
        run_id = activity.info().workflow_run_id if self.client is not None else None
        result = await archive(self.pool, inp.state, self.client, run_id or None)
        log.info("archived %s #%s sha256=%s prev=%s", result.number, result.position, result.sha256,
                 result.prev_sha256)
        return result
