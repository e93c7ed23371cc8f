"""The verifiable archive: an untouched case file verifies (hashes, chain, history replay); one
altered directly in PostgreSQL does not — whether the tamperer left the hashes alone or
recomputed them; the archived history replays against today's workflow code; the CLI checks
every archive. Reads of archived personal data are logged and the auditor lists them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities.archive import canonical_json, sha256_hex, verify_history
from config import ROOT
from tests.fixtures_pg import database_url_for
from tests.stack import Stack, auth
from workflows.complaint import ComplaintWorkflow

ROW = "SELECT document, canonical, sha256 FROM archives WHERE number = $1"
RESTORE = "UPDATE archives SET document = $2, canonical = $3, sha256 = $4 WHERE number = $1"


@contextlib.asynccontextmanager
async def as_a_dba(pool: asyncpg.Connection, number: str) -> AsyncIterator[None]:
    """Disable the immutability trigger (a superuser can), and put the row back afterwards."""
    saved = await pool.fetchrow(ROW, number)
    assert saved is not None
    await pool.execute("ALTER TABLE archives DISABLE TRIGGER archives_no_update")
    try:
        yield
    finally:
        await pool.execute(RESTORE, number, saved["document"], saved["canonical"], saved["sha256"])
        await pool.execute("ALTER TABLE archives ENABLE TRIGGER archives_no_update")


async def verify(stack: Stack, number: str, who: str = "auditor") -> dict[str, Any]:
    r = await stack.http.get(f"/v1/archive/{number}/verify", headers=auth(who))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def forge(pool: asyncpg.Connection, number: str, change: Any) -> None:
    """Rewrite a case file *and* its hashes, as a careful tamperer would (trigger disabled)."""
    document = copy.deepcopy(await pool.fetchval("SELECT document FROM archives WHERE number = $1", number))
    change(document)
    normalized = await pool.fetchval("SELECT $1::jsonb", document)
    canonical = canonical_json(normalized)
    await pool.execute(RESTORE, number, normalized, canonical, sha256_hex(canonical))


def rename_first_activity(document: dict[str, Any]) -> None:
    """Rename the first activity the history records: a scheduled one, or else (a run whose
    deliveries are all local activities) the first local activity's marker."""
    for event in document["history"]["events"]:
        attrs = event.get("activityTaskScheduledEventAttributes")
        if attrs:
            attrs["activityType"]["name"] = "compute_deadlines_v0"
            return
    for event in document["history"]["events"]:
        attrs = event.get("markerRecordedEventAttributes")
        payloads = (attrs or {}).get("details", {}).get("data", {}).get("payloads", [])
        if attrs and attrs.get("markerName") == "core_local_activity" and payloads:
            data = json.loads(base64.b64decode(payloads[0]["data"]))
            data["activity_type"] = str(data.get("activity_type")) + "_v0"
            payloads[0]["data"] = base64.b64encode(json.dumps(data).encode()).decode()
            return


def archive_input(document: dict[str, Any]) -> Any:
    """The case record the history says the workflow handed to `archive_case`."""
    [state] = [
        json.loads(base64.b64decode(a["input"]["payloads"][0]["data"]))["state"]
        for e in document["history"]["events"]
        if (a := e.get("activityTaskScheduledEventAttributes"))
        and a["activityType"]["name"] == "archive_case"
    ]
    return state


async def test_untouched_archive_verifies(stack: Stack) -> None:
    case = await stack.rejected_and_archived()
    n, document = case["number"], case["archive"]["document"]
    assert archive_input(document) == document["case"]  # the very JSON the history holds
    result = await verify(stack, n)
    assert result["ok"] is True, result
    assert result["canonical_hash_ok"] and result["document_hash_ok"] and result["prev_ok"]
    assert result["history_replay"] is True and result["history_replay_error"] is None
    assert result["history_case_ok"] is True
    for who, code in (("handler", 200), ("leader", 200), ("supervisor", 200), ("intake", 403), ("tax", 403)):
        r = await stack.http.get(f"/v1/archive/{n}/verify", headers=auth(who))
        assert r.status_code == code, who
    r = await stack.http.get("/v1/archive/TS-20990101-99999/verify", headers=auth("auditor"))
    assert r.status_code == 404


async def test_archived_history_replays_against_the_workflow_code(stack: Stack) -> None:
    case = await stack.rejected_and_archived()
    n, history = case["number"], case["archive"]["document"]["history"]
    replayer = Replayer(workflows=[ComplaintWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(n, history), raise_on_replay_failure=False
    )
    assert result.replay_failure is None
    assert (await verify_history(n, history)).ok is True
    # A history the code would not produce does not replay.
    altered = {"history": copy.deepcopy(history)}
    rename_first_activity(altered)
    verdict = await verify_history(n, altered["history"])
    assert verdict.ok is False and verdict.error and "Nondeterminism" in verdict.error
    assert (await verify_history(n, None)).ok is None


async def test_json_altered_in_postgresql_fails_verification(
    stack: Stack, dba: asyncpg.Connection
) -> None:
    n = (await stack.rejected_and_archived())["number"]
    async with as_a_dba(dba, n):
        # The DBA edits the stored JSON and leaves the hashes: the document's hash shows it.
        await dba.execute(
            "UPDATE archives SET document = jsonb_set(document, '{complaint,facts}', "
            "'\"改写后的事实\"') WHERE number = $1",
            n,
        )
        result = await verify(stack, n)
        assert result["ok"] is False and result["document_hash_ok"] is False
        assert result["canonical_hash_ok"] is True and result["prev_ok"] is True
        # The DBA rewrites the case record and recomputes every hash of the row: the history
        # still shows what the workflow handed to the archive.
        await forge(dba, n, lambda d: d["case"].update(outcome="concluded"))
        result = await verify(stack, n)
        assert result["canonical_hash_ok"] and result["document_hash_ok"] and result["prev_ok"]
        assert result["history_case_ok"] is False and result["ok"] is False
        # ... or rewrites the history itself: it no longer replays against the code.
        await forge(dba, n, rename_first_activity)
        result = await verify(stack, n)
        assert result["document_hash_ok"] and result["history_replay"] is False
        assert "Nondeterminism" in result["history_replay_error"] and result["ok"] is False
    assert (await verify(stack, n))["ok"] is True  # put back as it was


async def test_cli_verifies_every_archive(
    stack: Stack, pg_admin_url: str, dba: asyncpg.Connection
) -> None:
    a = (await stack.rejected_and_archived())["number"]
    b = (await stack.rejected_and_archived())["number"]
    url = database_url_for(pg_admin_url, await stack.pool.fetchval("SELECT current_database()"))
    total = await stack.pool.fetchval("SELECT count(*) FROM archives")
    code, out = await run_cli(url, "verify", "--all")
    assert code == 0, out
    assert totals(out) == (
        f"archives verified: {total}, ok: {total}, failed: 0, history replayed: {total}"
    )
    async with as_a_dba(dba, a):
        await dba.execute(
            "UPDATE archives SET document = jsonb_set(document, '{case,outcome}', "
            "'\"concluded\"') WHERE number = $1",
            a,
        )
        code, out = await run_cli(url, "verify", "--all")
        assert code == 1
        assert f"ok: {total - 1}, failed: 1" in totals(out)
        [failure] = [line for line in out.splitlines() if line.startswith("FAIL ")]
        assert failure.startswith(f"FAIL {a}: the stored document does not hash")
        assert json.loads(failure.split(" | ", 1)[1])["number"] == a
        assert (await run_cli(url, "verify", b))[0] == 0
        assert (await run_cli(url, "verify", "--no-replay", a))[0] == 1


def totals(out: str) -> str:
    """The CLI's line of totals of the archives (`--all` adds the access log's after it)."""
    return next(line for line in out.splitlines() if line.startswith("archives verified"))


async def run_cli(url: str, *args: str) -> tuple[int, str]:
    """`python -m activities.archive ...` against the database `url`: exit code and stdout."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "activities.archive",
        *args,
        cwd=ROOT,
        env={**os.environ, "COMPLAINTS_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode() or err.decode()


async def test_archived_case_file_is_logged_and_the_auditor_lists_the_reads(
    stack: Stack,
) -> None:
    case = await stack.rejected_and_archived()
    n, name = case["number"], case["request"]["complainant"]["name"]
    r = await stack.http.get(f"/v1/archive/{n}", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sha256"] == case["archive"]["sha256"] and body["number"] == n
    assert body["document"]["complainant"]["name"] == name  # personal data: the full file
    assert body["document"]["history"]["events"]
    r = await stack.http.get(f"/v1/archive/{n}", params={"history": "false"}, headers=auth("supervisor"))
    assert r.status_code == 200 and "history" not in r.json()["document"]
    for who in ("tax", "intake"):
        r = await stack.http.get(f"/v1/archive/{n}", headers=auth(who))
        assert r.status_code == 403 and name not in r.text
    # The handler reads the live case with its personal file (logged by the case view).
    assert (await stack.http.get(f"/v1/complaints/{n}", headers=auth("handler"))).status_code == 200

    r = await stack.http.get("/v1/audit/access-log", params={"number": n}, headers=auth("auditor"))
    assert r.status_code == 200, r.text
    log = r.json()
    reads = [(e["actor_id"], e["actor_role"], e["what"].split(":")[0]) for e in log["data"]]
    assert reads == [
        ("handler-01", "handler", "complainant, facts"),
        ("supervisor-01", "supervisor", "archive"),
        ("auditor-01", "auditor", "archive"),
    ]  # newest first; refused reads: none
    assert log["count"] == 3 and all(e["number"] == n for e in log["data"])
    assert all(e["at"].endswith("+08:00") for e in log["data"])
    r = await stack.http.get(
        "/v1/audit/access-log", params={"number": n, "actor_id": "auditor-01"}, headers=auth("auditor")
    )
    assert [e["actor_id"] for e in r.json()["data"]] == ["auditor-01"]
    r = await stack.http.get("/v1/audit/access-log", params={"role": "supervisor"}, headers=auth("auditor"))
    assert {e["actor_role"] for e in r.json()["data"]} == {"supervisor"}
    for who in ("handler", "leader", "supervisor", "intake", "tax"):
        r = await stack.http.get("/v1/audit/access-log", headers=auth(who))
        assert r.status_code == 403, who


async def test_archive_list_shows_the_chain_without_personal_data(stack: Stack) -> None:
    case = await stack.rejected_and_archived()
    n = case["number"]
    r = await stack.http.get("/v1/archive", params={"q": n}, headers=auth("leader"))
    assert r.status_code == 200, r.text
    [item] = r.json()["data"]
    assert (item["number"], item["sha256"], item["outcome"]) == (n, case["archive"]["sha256"], "not_accepted")
    assert item["prev_sha256"] == case["archive"]["prev_sha256"]
    assert case["request"]["complainant"]["name"] not in r.text
    assert (await stack.http.get("/v1/archive", headers=auth("tax"))).status_code == 403


async def test_auditor_is_read_only(stack: Stack) -> None:
    n = (await stack.register())["number"]
    r = await stack.act(n, "accept", "auditor", route="self")
    assert r.status_code == 403
    for name, body in (("escalate", {"reason": "审计"}), ("decide-extension", {"approved": True})):
        r = await stack.http.post(f"/v1/complaints/{n}/signals/{name}", json=body, headers=auth("auditor"))
        assert r.status_code == 403, name
    r = await stack.http.get(f"/v1/complaints/{n}/history", headers=auth("auditor"))
    assert r.status_code == 200 and r.json()["status"] == "registered"
