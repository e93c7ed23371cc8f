"""The archive (R-35): the whole case file, hashed and chained, kept unchanged.

A case file is one JSON document: the non-personal `CaseState`, the original complaint and the
complainant's personal data from PostgreSQL (the archive lives in PostgreSQL, where personal
data is allowed), every action record (from `case_events`: the state keeps only the last ones),
every outbox entry, the case record's capped lists in full (`record`, gathered from every
snapshot in the histories), and the workflow's Temporal history — of every run, when the case
continued as new: `history` is the last run's (where the archive activity ran), `previous_runs`
the ones before it, oldest first (`archived_runs` reads both layouts).
Its canonical text (`canonical_json`) is hashed with SHA-256; each row also records the hash of
the row archived before it (and the document includes it, so the hash covers the link), making
the archive a chain in which a changed or missing row shows. The database refuses UPDATE,
DELETE and TRUNCATE on `archives` (migration 0001).

Verification recomputes both hashes, checks the link to the previous row, replays every archived
run's Temporal history against the current `ComplaintWorkflow` code (`temporalio.worker.Replayer`;
a failure names the run), and checks that the archived case record is the one the last run's
history handed to the archive activity:
years later, an auditor can show that the file is untouched and that the recorded history is
exactly what the code does.

CLI:
    python -m activities.archive verify --all       every archive, in chain order
    python -m activities.archive verify NUMBER...   the named cases
    ... --no-replay                                 hashes and chain only (fast)
Exit code 1 if any archive fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from temporalio import activity

from activities.chain import CaseRecord, fetch_chain, is_snapshot
from domain.models import ArchiveInput, ArchiveResult, CaseState

if TYPE_CHECKING:
    import asyncpg
    from temporalio.client import Client

    from db import Connection

log = logging.getLogger("complaints.archive")

#: Identifies the layout of the archived document; bump it when the layout changes.
#: /2: `previous_runs` (every run before the last of a case that continued as new) and
#: `record` (the case record's capped lists in full).
FORMAT = "complaints.case-file/2"

SELECT_ARCHIVE = """
SELECT id, number, archived_at, document, canonical, sha256, prev_sha256
FROM archives WHERE number = $1
"""
SELECT_ARCHIVE_RESULT = "SELECT number, sha256, prev_sha256 FROM archives WHERE number = $1"
SELECT_PREVIOUS_HASH = "SELECT sha256 FROM archives WHERE id < $1 ORDER BY id DESC LIMIT 1"
SELECT_ALL_ARCHIVES = """
SELECT id, number, archived_at, document, canonical, sha256, prev_sha256
FROM archives ORDER BY id
"""
SELECT_COMPLAINT = """
SELECT number, center, complainant_ref, status, channel, form, category, grade,
       respondent_unit, respondent_unit_name, respondent_staff, facts, evidence, summary,
       received_at, registered_at
FROM complaints WHERE number = $1
"""
SELECT_COMPLAINANT = """
SELECT ref, name, phone, email, address, id_number, anonymous, agent, created_at
FROM complainants WHERE ref = $1
"""
SELECT_EVENTS = """
SELECT seq, action, actor_id, actor_role, actor_unit, at, status_before, status_after, detail
FROM case_events WHERE number = $1 ORDER BY seq
"""
SELECT_NOTIFICATIONS = """
SELECT key, kind, recipient, unit, complainant_ref, about_case, data, created_at,
       status, attempts, sent_at, channel
FROM notifications WHERE number = $1 ORDER BY id
"""
# The chain must be linear: one archiving transaction at a time reads the last hash and
# appends. EXCLUSIVE mode blocks other writers but not readers.
LOCK_ARCHIVES = "LOCK TABLE archives IN EXCLUSIVE MODE"
SELECT_EVIDENCE = """
SELECT id, provided_by, filename, description, summary, kind, content_type, size, sha256,
       uploaded_by, uploaded_role, uploaded_unit, uploaded_at, shared, shared_by, shared_at
FROM evidence WHERE number = $1 ORDER BY id
"""
SELECT_LINKS = """
SELECT from_number, kind, to_number, from_center, to_center, created_by, created_at
FROM case_links WHERE from_number = $1 OR to_number = $1 ORDER BY created_at
"""
SELECT_LAST_HASH = "SELECT sha256 FROM archives ORDER BY id DESC LIMIT 1"
# A round trip through jsonb, so the hashed text is exactly what the stored document gives back.
NORMALIZE_JSONB = "SELECT $1::jsonb"
INSERT_ARCHIVE = """
INSERT INTO archives (number, document, canonical, sha256, prev_sha256)
VALUES ($1, $2, $3, $4, $5)
"""

#: Replays an archived Temporal history against the workflow code, given the case number and
#: the history as exported JSON: `ReplayVerdict(ok=None)` when there is no history to replay.
HistoryCheck = Callable[[str, dict[str, Any] | None], Awaitable["ReplayVerdict"]]


@dataclass(frozen=True)
class ReplayVerdict:
    """What replaying an archived history said."""

    ok: bool | None
    """True: replays; False: does not (see `error`); None: nothing to replay."""
    error: str | None = None


def canonical_json(doc: object) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 bytes of `text`, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def jsonable(value: Any) -> Any:
    """A database value as JSON: instants as ISO 8601, records as objects."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def record(row: asyncpg.Record | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An asyncpg record as a JSON object (None stays None)."""
    return None if row is None else {k: jsonable(v) for k, v in dict(row).items()}


# ------------------------------------------------------------------ building the case file


@dataclass
class ArchivedRun:
    """One run's exported history (`temporal workflow show -o json`)."""

    run_id: str | None
    history: dict[str, Any]


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


def archived_runs(document: Mapping[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """The histories an archived document holds, oldest run first, as (run id, history).

    A case file of the first layout holds one run (`history`); from `complaints.case-file/2`
    the runs before the last are in `previous_runs` and the last run stays in `history`.
    """
    runs: list[tuple[str | None, dict[str, Any]]] = []
    previous = document.get("previous_runs")
    if isinstance(previous, list):
        for r in previous:
            if isinstance(r, dict) and isinstance(r.get("history"), dict):
                runs.append((r.get("run_id"), r["history"]))
    history = document.get("history")
    if isinstance(history, dict):
        runs.append((document.get("run_id") if isinstance(document.get("run_id"), str) else None, history))
    return [(run_id or _recorded_run_id(h), h) for run_id, h in runs]


def _recorded_run_id(history: Mapping[str, Any]) -> str | None:
    """The run id in an exported history's first event, if any."""
    events = history.get("events")
    first = events[0] if isinstance(events, list) and events and isinstance(events[0], dict) else {}
    started = first.get("workflowExecutionStartedEventAttributes")
    run_id = started.get("originalExecutionRunId") if isinstance(started, dict) else None
    return run_id if isinstance(run_id, str) and run_id else None


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
        elif a := event.get("workflowExecutionUpdateCompletedEventAttributes"):
            values = [
                _payload_json(p) for p in a.get("outcome", {}).get("success", {}).get("payloads", [])[:1]
            ]
        elif a := event.get("workflowExecutionCompletedEventAttributes"):
            values = [_payload_json(p) for p in a.get("result", {}).get("payloads", [])[:1]]
        found.extend(v for v in values if is_snapshot(v))
    return found


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
    return {
        "format": FORMAT,
        "number": state.number,
        "archived_at": jsonable(state.archived_at),
        "case": state.model_dump(mode="json"),
        "record": complete_record(state, runs),
        "complaint": complaint,
        "complainant": complainant,
        "events": [record(r) for r in await conn.fetch(SELECT_EVENTS, state.number)],
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


async def existing_result(conn: Connection, number: str) -> ArchiveResult | None:
    """The archive row of `number` as an `ArchiveResult`, if it is archived already."""
    row = await conn.fetchrow(SELECT_ARCHIVE_RESULT, number)
    return None if row is None else ArchiveResult(**dict(row))


async def append(conn: Connection, doc: dict[str, Any]) -> ArchiveResult:
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
        await conn.execute(INSERT_ARCHIVE, number, document, canonical, digest, prev)
    return ArchiveResult(number=number, sha256=digest, prev_sha256=prev)


async def archive(
    pool: asyncpg.Pool, state: CaseState, client: Client | None = None, run_id: str | None = None
) -> ArchiveResult:
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
    async def archive_case(self, inp: ArchiveInput) -> ArchiveResult:
        """Archive the case file; returns its hash and the previous archive's hash."""
        if self.pool is None:
            doc = {"case": inp.state.model_dump(mode="json")}
            digest = sha256_hex(canonical_json(doc))
            log.info("archive %s sha256=%s", inp.state.number, digest)
            return ArchiveResult(number=inp.state.number, sha256=digest)
        run_id = activity.info().workflow_run_id if self.client is not None else None
        result = await archive(self.pool, inp.state, self.client, run_id or None)
        log.info("archived %s sha256=%s prev=%s", result.number, result.sha256, result.prev_sha256)
        return result


# ------------------------------------------------------------------ verification


async def verify_history(number: str, history: dict[str, Any] | None) -> ReplayVerdict:
    """Replay the archived Temporal history against today's workflow code.

    `temporalio.worker.Replayer` runs `ComplaintWorkflow` over the recorded events with the
    pydantic data converter: any difference between what the code does and what the history
    records (a nondeterminism error, a workflow task failure) fails it. The archived history ends
    while the archive activity runs, which the replayer accepts as an unfinished run.

    Args:
        number: the case number (the workflow id).
        history: the `history` member of the archived document (None if none was exported).
    """
    if history is None:
        return ReplayVerdict(ok=None)
    from temporalio.client import WorkflowHistory
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    from workflows.complaint import ComplaintWorkflow

    try:
        parsed = WorkflowHistory.from_json(number, history)
        replayer = Replayer(workflows=[ComplaintWorkflow], data_converter=pydantic_data_converter)
        result = await replayer.replay_workflow(parsed, raise_on_replay_failure=False)
    except Exception as e:  # an unreadable (altered) history is a failed replay, not a crash
        return ReplayVerdict(ok=False, error=f"{type(e).__name__}: {e}"[:2000])
    if result.replay_failure is not None:
        failure = result.replay_failure
        return ReplayVerdict(ok=False, error=f"{type(failure).__name__}: {failure}"[:2000])
    return ReplayVerdict(ok=True)


async def replay_runs(
    number: str, document: Mapping[str, Any], replay: HistoryCheck = verify_history
) -> tuple[ReplayVerdict, dict[str, Any] | None]:
    """Replay every run's history an archived document holds, oldest first.

    Returns the verdict (ok only if every run replays; None if there is nothing to replay) and,
    if one fails, which: `{"run": 1-based position, "run_id", "of": how many runs}`; the
    verdict's error names it too. Every run is replayed, so a report lists the first failure
    after checking all.
    """
    runs = archived_runs(document)
    if not runs:
        return await replay(number, None), None
    verdicts = [await replay(number, history) for _, history in runs]
    for i, ((run_id, _), v) in enumerate(zip(runs, verdicts, strict=True), start=1):
        if v.ok is False:
            where = {"run": i, "run_id": run_id, "of": len(runs)}
            error = f"run {i} of {len(runs)} ({run_id or 'run id not recorded'}): {v.error}"
            return ReplayVerdict(ok=False, error=error[:2000]), where
    if any(v.ok for v in verdicts):
        return ReplayVerdict(ok=True), None
    return ReplayVerdict(ok=None), None


def history_case_ok(document: Mapping[str, Any]) -> bool | None:
    """Whether the archived `case` is the state the workflow handed to `archive_case`.

    The history records the activity's input; the archive must hold exactly that case record.
    None when the document has no history (nothing to compare with).
    """
    history = document.get("history")
    if not isinstance(history, dict):
        return None
    archived: Any = None
    for event in history.get("events", []):
        attrs = event.get("activityTaskScheduledEventAttributes")
        if attrs and attrs.get("activityType", {}).get("name") == "archive_case":
            payloads = attrs.get("input", {}).get("payloads", [])
            archived = payloads[0] if payloads else None
    if archived is None:
        return False
    try:
        given = json.loads(base64.b64decode(archived["data"]))["state"]
    except (KeyError, TypeError, ValueError):
        return False
    case = document.get("case")
    if given == case:  # the same JSON: holds however the models change over the years
        return True
    try:  # the same record written differently (e.g. another instant format)
        return CaseState.model_validate(given) == CaseState.model_validate(case)
    except ValueError:
        return False


def check_row(row: asyncpg.Record | Mapping[str, Any], expected_prev: str | None) -> dict[str, Any]:
    """Check one archive row against its stored hash and its predecessor's hash.

    Args:
        row: an `archives` row with `document` decoded to Python objects.
        expected_prev: the sha256 of the row before it by id (None for the first row).

    Returns:
        `{"id", "number", "sha256", "canonical_hash_ok", "document_hash_ok", "prev_ok",
        "expected_prev", "history_replay", "ok"}`; `_with_replay` adds `history_replay_error`
        and `history_case_ok`.
    """
    document = row["document"]
    stored_prev = row["prev_sha256"]
    linked = document.get("prev_sha256") if isinstance(document, dict) else None
    result: dict[str, Any] = {
        "id": row["id"],
        "number": row["number"],
        "sha256": row["sha256"],
        "canonical_hash_ok": sha256_hex(row["canonical"]) == row["sha256"],
        "document_hash_ok": sha256_hex(canonical_json(document)) == row["sha256"],
        "prev_ok": stored_prev == expected_prev and linked == stored_prev,
        "expected_prev": expected_prev,
        "history_replay": None,
    }
    result["ok"] = all(result[k] for k in ("canonical_hash_ok", "document_hash_ok", "prev_ok"))
    return result


async def _with_replay(
    result: dict[str, Any], row: asyncpg.Record | Mapping[str, Any], replay: HistoryCheck
) -> dict[str, Any]:
    document = row["document"]
    if not isinstance(document, dict):
        result.update(
            history_replay=False,
            history_replay_error="the document is not an object",
            history_case_ok=False,
            ok=False,
        )
        return result
    verdict, failed_run = await replay_runs(row["number"], document, replay)
    result["history_replay"] = verdict.ok
    result["history_replay_error"] = verdict.error
    result["history_runs"] = len(archived_runs(document))
    result["history_replay_failed_run"] = failed_run
    result["history_case_ok"] = history_case_ok(document)
    if verdict.ok is False or result["history_case_ok"] is False:
        result["ok"] = False
    return result


async def verify_archive(
    pool: asyncpg.Pool, number: str, *, replay: HistoryCheck = verify_history
) -> dict[str, Any]:
    """Verify one case's archive: both hashes, the chain link, and the history replay.

    Args:
        pool: a pool from `db.create_pool`.
        number: the complaint number.
        replay: the history check (`verify_history`: replay against today's code).

    Returns:
        The `check_row` result; `{"number", "ok": False, "error": "not archived"}` if missing.
    """
    async with pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_ARCHIVE, number)
        if row is None:
            return {"number": number, "ok": False, "error": "not archived"}
        prev = await conn.fetchval(SELECT_PREVIOUS_HASH, row["id"])
    return await _with_replay(check_row(row, prev), row, replay)


async def verify_all(pool: asyncpg.Pool, *, replay: HistoryCheck = verify_history) -> list[dict[str, Any]]:
    """Verify every archive in chain (id) order; see `verify_archive`."""
    results: list[dict[str, Any]] = []
    prev: str | None = None
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in conn.cursor(SELECT_ALL_ARCHIVES, prefetch=50):
            results.append(await _with_replay(check_row(row, prev), row, replay))
            prev = row["sha256"]
    return results


def summary(results: list[dict[str, Any]]) -> str:
    """One line per failure, then the totals."""
    failed = [r for r in results if not r["ok"]]
    replayed = sum(1 for r in results if r.get("history_replay") is not None)
    lines = [f"FAIL {json.dumps(r, ensure_ascii=False, default=str)}" for r in failed]
    lines.append(
        f"archives verified: {len(results)}, ok: {len(results) - len(failed)}, "
        f"failed: {len(failed)}, history replayed: {replayed}"
    )
    return "\n".join(lines)


async def no_replay(number: str, history: dict[str, Any] | None) -> ReplayVerdict:
    """A history check that checks nothing (`--no-replay`)."""
    return ReplayVerdict(ok=None)


async def _cli_verify(numbers: list[str], check_all: bool, replay: HistoryCheck) -> list[dict[str, Any]]:
    from config import get_settings
    from db import create_pool

    pool = await create_pool(get_settings())
    try:
        if check_all:
            return await verify_all(pool, replay=replay)
        return [await verify_archive(pool, n, replay=replay) for n in numbers]
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m activities.archive verify (--all | NUMBER...)`; exit 1 if any fails."""
    parser = argparse.ArgumentParser(
        prog="python -m activities.archive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="recompute hashes, check the chain, replay histories")
    verify.add_argument("numbers", nargs="*", help="complaint numbers")
    verify.add_argument("--all", action="store_true", help="every archive, in chain order")
    verify.add_argument(
        "--no-replay", action="store_true", help="skip the history replay (hashes and chain only)"
    )
    args = parser.parse_args(argv)
    if not args.all and not args.numbers:
        parser.error("give complaint numbers or --all")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    replay = no_replay if args.no_replay else verify_history
    results = asyncio.run(_cli_verify(args.numbers, args.all, replay))
    print(summary(results))
    return 1 if any(not r["ok"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
