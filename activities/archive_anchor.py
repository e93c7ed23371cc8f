"""Anchors of the archive outside PostgreSQL, and the access log's hash chain (issue 13).

A database superuser can disable the archive's trigger, rewrite a case file and recompute its
`canonical` and `sha256`: the row and the chain then check out. Two anchors they cannot
rewrite say what the hash was:

- the case's Temporal history: the `archive_case` activity answers the archive's sha256 and
  its chain position (`ArchiveReceipt`), and Temporal keeps that result in the run's history
  while the namespace's retention keeps the run (`history_receipt`);
- the seals: RFC 3161 timestamps of every archive's hash, in PostgreSQL and copied out of it
  (activities/seal.py), kept for good.

The access log is a hash chain made by a trigger (migration 0010); `check_access_log`
recomputes every row's hash and link here, the same way, and compares the sealed heads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg
    from temporalio.client import Client

    from activities.seal_check import SealIndex

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SELECT_ACCESS_LOG = """
SELECT id, at, actor_id, actor_role, number, what, prev_sha256, sha256 FROM access_log ORDER BY id
"""
#: Problems listed per check at most (the counts stay exact).
MAX_PROBLEMS = 50


@dataclass
class Anchors:
    """What verification compares the rows with: a Temporal client (None: not reachable) and
    the checked seals (None: none loaded)."""

    client: Client | None = None
    seals: SealIndex | None = None
    client_error: str | None = None


# ------------------------------------------------------------------ the Temporal history


async def history_receipt(
    client: Client, number: str, run_id: str | None, *, rpc_timeout: timedelta = timedelta(seconds=5)
) -> tuple[dict[str, Any] | None, str | None]:
    """What `archive_case` answered in the case's run, as recorded by Temporal.

    Returns:
        (the result as JSON, None); (None, why) when Temporal no longer holds the run (past
        retention), cannot be reached, or the run has no completed archive step.
    """
    from temporalio.service import RPCError, RPCStatusCode

    try:
        history = await client.get_workflow_handle(number, run_id=run_id).fetch_history(
            rpc_timeout=rpc_timeout)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None, "Temporal no longer holds the run (retention)"
        return None, f"Temporal: {e.status.name if e.status else ''} {e}"[:300]
    except Exception as e:  # Temporal unreachable: this anchor is not compared, and says why
        return None, f"Temporal: {type(e).__name__}: {e}"[:300]
    scheduled: dict[int, str] = {}
    found: dict[str, Any] | None = None
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.HasField("activity_task_completed_event_attributes"):
            attrs = event.activity_task_completed_event_attributes
            if scheduled.get(attrs.scheduled_event_id) == "archive_case" and attrs.result.payloads:
                try:
                    found = json.loads(attrs.result.payloads[0].data)
                except ValueError:
                    return None, "the archive step's result is not JSON"
    if found is None:
        return None, "no completed archive step in the run's history"
    return found, None


def compare_receipt(receipt: dict[str, Any], row_id: int, sha256: str) -> str | None:
    """Why a row differs from what Temporal recorded, or None if it agrees."""
    if receipt.get("sha256") != sha256:
        return (
            f"sha256 differs from the one the archive step returned to Temporal "
            f"(recorded {str(receipt.get('sha256'))[:16]}…, stored {sha256[:16]}…)"
        )
    position = receipt.get("position")
    if position is not None and position != row_id:
        return f"chain position {row_id} differs from the one Temporal recorded ({position})"
    return None


# ------------------------------------------------------------------ the access log


def microseconds(at: datetime) -> int:
    """An instant as whole microseconds since the epoch (as the trigger writes it)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def access_log_text(row: asyncpg.Record | dict[str, Any], prev: str | None) -> str:
    """The exact text the trigger hashes (migration 0010, `access_log_text`)."""
    fields = [row["actor_id"], row["actor_role"], row["number"], row["what"]]
    body = "|".join(f"{len(f)}:{f}" for f in fields)
    return f"access_log/1|{row['id']}|{microseconds(row['at'])}|{body}|{prev or '-'}"


def access_log_hash(row: asyncpg.Record | dict[str, Any], prev: str | None) -> str:
    return hashlib.sha256(access_log_text(row, prev).encode("utf-8")).hexdigest()


async def check_access_log(pool: asyncpg.Pool, seals: SealIndex | None = None) -> dict[str, Any]:
    """Recompute the access log's chain and compare its sealed heads.

    Returns:
        `{"rows", "ok", "problems": [...], "sealed_heads": n}`: a rewritten row fails its hash, a
        deleted one breaks the next row's link, a truncated tail misses its sealed head.
    """
    problems: list[str] = []
    failures = 0
    by_id: dict[int, str] = {}
    heads = {h[0]: h for h in (seals.access_heads if seals is not None else [])}
    prev: str | None = None
    count = 0
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in conn.cursor(SELECT_ACCESS_LOG, prefetch=500):
            count += 1
            why = []
            if row["prev_sha256"] != prev:
                why.append("its link to the row before differs (a row was removed or rewritten)")
            if access_log_hash(row, row["prev_sha256"]) != row["sha256"]:
                why.append("its hash does not match its content (rewritten)")
            if row["id"] in heads:
                by_id[row["id"]] = row["sha256"]
            if why:
                failures += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(f"access_log #{row['id']} ({row['number']}): " + "; ".join(why))
            prev = row["sha256"]
    for head_id, digest, seal_id in heads.values():
        if by_id.get(head_id) != digest:
            failures += 1
            what = "is missing" if head_id not in by_id else "differs from the sealed hash"
            problems.append(f"access_log #{head_id}, sealed by seal {seal_id}, {what}")
    return {
        "rows": count,
        "ok": failures == 0,
        "failures": failures,
        "problems": problems,
        "sealed_heads": len(heads),
    }
