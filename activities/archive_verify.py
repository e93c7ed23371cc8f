"""Verifying archives: hashes, the chain, every run's history replayed (R-35), and the anchors
outside PostgreSQL (issue 13): the archive step's result in Temporal's history and the RFC 3161
seals (activities/archive_anchor.py, activities/seal.py). Each result says which case failed
and why (`problems`). `verify --all` also checks the access log's chain and the seals.

`python -m activities.archive verify` runs `main` here."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from activities.archive_anchor import Anchors, check_access_log, compare_receipt, history_receipt
from activities.seal_check import check_sealed, load_roots, load_seals
from domain.models import CaseState

if TYPE_CHECKING:
    import asyncpg

    from config import Settings


from activities.archive_format import (
    SELECT_ALL_ARCHIVES,
    SELECT_ARCHIVE,
    SELECT_PREVIOUS_HASH,
    HistoryCheck,
    ReplayVerdict,
    archived_runs,
    canonical_json,
    sha256_hex,
)

log = logging.getLogger("complaints.archive")

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


async def _with_anchors(
    result: dict[str, Any], row: asyncpg.Record | Mapping[str, Any], anchors: Anchors | None
) -> dict[str, Any]:
    """Compare the row with what Temporal's history and the seals recorded, and list why the
    case fails (`problems`)."""
    problems: list[str] = []
    if not result["canonical_hash_ok"]:
        problems.append("the stored canonical text does not hash to the stored sha256")
    if not result["document_hash_ok"]:
        problems.append("the stored document does not hash to the stored sha256")
    if not result["prev_ok"]:
        problems.append("the link to the previous archive is broken (a row before it was "
                        "rewritten or removed, or this one was)")
    if result.get("history_replay") is False:
        problems.append(f"the archived history does not replay: {result.get('history_replay_error')}")
    if result.get("history_case_ok") is False:
        problems.append("the archived case record is not the one the workflow handed over")
    result["history_anchor"] = None
    result["history_anchor_error"] = None
    document = row["document"] if isinstance(row["document"], dict) else {}
    if anchors is not None and anchors.client is not None:
        run_id = document.get("run_id") if isinstance(document.get("run_id"), str) else None
        receipt, why = await history_receipt(anchors.client, row["number"], run_id)
        if receipt is not None:
            mismatch = compare_receipt(receipt, row["id"], row["sha256"])
            result["history_anchor"] = mismatch is None
            if mismatch:
                problems.append(mismatch)
        result["history_anchor_error"] = why
    elif anchors is not None:
        result["history_anchor_error"] = anchors.client_error or "no Temporal client"
    sealed_ok, why = check_sealed(anchors.seals if anchors else None, row["id"], row["number"],
                                  row["sha256"])
    result["seal_ok"] = sealed_ok
    if why:
        problems.append(why)
    result["problems"] = problems
    if result["history_anchor"] is False or sealed_ok is False:
        result["ok"] = False
    return result


async def verify_archive(
    pool: asyncpg.Pool, number: str, *, replay: HistoryCheck = verify_history,
    anchors: Anchors | None = None,
) -> dict[str, Any]:
    """Verify one case's archive: both hashes, the chain link, the history replay, and the
    anchors (Temporal's record of the archive step, the seals).

    Args:
        pool: a pool from `db.create_pool`.
        number: the complaint number.
        replay: the history check (`verify_history`: replay against today's code).
        anchors: what to compare the row with outside PostgreSQL (None: nothing).

    Returns:
        The `check_row` result with `problems`; `{"number", "ok": False, "error": "not
        archived"}` if missing.
    """
    async with pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_ARCHIVE, number)
        if row is None:
            return {"number": number, "ok": False, "error": "not archived",
                    "problems": ["not archived"]}
        prev = await conn.fetchval(SELECT_PREVIOUS_HASH, row["id"])
    return await _with_anchors(await _with_replay(check_row(row, prev), row, replay), row, anchors)


async def verify_all(
    pool: asyncpg.Pool, *, replay: HistoryCheck = verify_history, anchors: Anchors | None = None
) -> list[dict[str, Any]]:
    """Verify every archive in chain (id) order; see `verify_archive`. An archive a seal lists
    that is no longer in PostgreSQL is a failure of its own."""
    results: list[dict[str, Any]] = []
    prev: str | None = None
    seen: set[int] = set()
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in conn.cursor(SELECT_ALL_ARCHIVES, prefetch=50):
            checked = await _with_replay(check_row(row, prev), row, replay)
            results.append(await _with_anchors(checked, row, anchors))
            seen.add(row["id"])
            prev = row["sha256"]
    sealed = anchors.seals.archives if anchors is not None and anchors.seals is not None else {}
    for archive_id in sorted(set(sealed) - seen):
        number, _, seal_id, gen_time = sealed[archive_id]
        why = f"archive #{archive_id} sealed by seal {seal_id} ({gen_time}) is missing"
        results.append({"id": archive_id, "number": number, "ok": False, "error": "missing",
                        "problems": [why]})
    return results


async def load_anchors(
    pool: asyncpg.Pool,
    settings: Settings,
    client: Any | None = None,
    client_error: str | None = None,
    *,
    covering: int | None = None,
) -> Anchors:
    """The anchors for verification: the Temporal client given, and the seals (rows and the
    copies in `settings.seal_dir`) checked against `settings.tsa_roots_file` — only the one
    covering archive id `covering`, when given (one case's verification)."""
    certificates = await asyncio.to_thread(load_roots, settings.tsa_roots_file)
    seals = await load_seals(pool, settings.seal_dir, certificates, covering=covering)
    return Anchors(client=client, seals=seals, client_error=client_error)


def summary(results: list[dict[str, Any]]) -> str:
    """One line per failure (`FAIL number: why | the whole result as JSON`), then the totals."""
    failed = [r for r in results if not r["ok"]]
    replayed = sum(1 for r in results if r.get("history_replay") is not None)
    lines = [
        f"FAIL {r['number']}: {'; '.join(r.get('problems') or [r.get('error') or 'failed'])} | "
        f"{json.dumps(r, ensure_ascii=False, default=str)}"
        for r in failed
    ]
    lines.append(
        f"archives verified: {len(results)}, ok: {len(results) - len(failed)}, "
        f"failed: {len(failed)}, history replayed: {replayed}"
    )
    return "\n".join(lines)


async def no_replay(number: str, history: dict[str, Any] | None) -> ReplayVerdict:
    """A history check that checks nothing (`--no-replay`)."""
    return ReplayVerdict(ok=None)


async def _cli_verify(
    numbers: list[str], check_all: bool, replay: HistoryCheck
) -> tuple[list[dict[str, Any]], list[str]]:
    """The results, and the lines about the access log and the seals (failures first)."""
    from config import get_settings
    from db import create_pool
    from temporal_client import connect

    settings = get_settings()
    pool = await create_pool(settings)
    client: Any = None
    client_error = None
    try:
        client = await asyncio.wait_for(connect(settings), timeout=settings.temporal_rpc_timeout_seconds)
    except Exception as e:  # verification goes on without this anchor, and says so
        client_error = f"Temporal not reachable: {type(e).__name__}: {e}"[:300]
    try:
        anchors = await load_anchors(pool, settings, client, client_error)
        notes = []
        if client_error:
            notes.append(f"NOTE {client_error}")
        if check_all:
            results = await verify_all(pool, replay=replay, anchors=anchors)
            log_check = await check_access_log(pool, anchors.seals)
            seals = anchors.seals.summary() if anchors.seals else {"ok": True}
            for p in log_check["problems"]:
                notes.append(f"FAIL access log: {p}")
            for p in seals["problems"]:
                notes.append(f"FAIL seals: {p}")
            notes.append(f"access log rows verified: {log_check['rows']}, "
                         f"{'ok' if log_check['ok'] else 'FAILED'}; seals: {seals.get('seals', 0)}, "
                         f"{'ok' if seals['ok'] else 'FAILED'}")
            return results, notes
        return [await verify_archive(pool, n, replay=replay, anchors=anchors) for n in numbers], notes
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
    results, notes = asyncio.run(_cli_verify(args.numbers, args.all, replay))
    for line in notes[:-1] if args.all else notes:
        print(line)
    print(summary(results))
    if args.all:
        print(notes[-1])
    failed = any(not r["ok"] for r in results) or any(n.startswith("FAIL") for n in notes)
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal client's native threads can abort interpreter teardown (sdk-python#300),
    # which would turn the exit code into 134: nothing is left to clean up, leave now.
    os._exit(code)
