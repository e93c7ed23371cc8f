"""Tamper evidence that does not trust the database (issue 13), on the real stack: the app as
the least-privileged role, a Temporal server, a local RFC 3161 authority (`openssl ts`).

The insider attack of the issue — a DBA disables the archive's trigger, rewrites
`complaint.facts`, recomputes `canonical` and `sha256` and re-enables it — leaves every row and
chain check green; it is caught by the anchors outside PostgreSQL: the hash the archive step
returned to Temporal, and the sealed hash. For the newest archive, and for one in the middle of
the chain whose successors the DBA re-links. The access log's chain and the seals likewise.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import db_server
from activities.archive import canonical_json, check_access_log, history_receipt, load_anchors, sha256_hex
from activities.archive_anchor import access_log_hash
from activities.seal import SealActivities, seal, seal_file
from api.main import create_app
from config import ROOT
from tests.fixtures_pg import database_url_for
from tests.stack import Stack, asgi_client, auth, eventually, running_stack
from tests.tsa import LocalTSA, local_tsa
from workflows.seal import SealWorkflow

RESTORE = """
UPDATE archives SET document = $2, canonical = $3, sha256 = $4, prev_sha256 = $5 WHERE id = $1
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tsa(tmp_path_factory: Any) -> AsyncIterator[LocalTSA]:
    with local_tsa(tmp_path_factory.mktemp("tsa")) as t:
        yield t


#: The app role's URL of this module's database (set by the `stack` fixture).
APP_URL: list[str] = []


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment, tsa: LocalTSA, tmp_path_factory: Any,
    pg_admin_url: str,
) -> AsyncIterator[Stack]:
    """The stack with seals configured: the authority, its CA, a directory for the copies."""
    name = await pg_pool.fetchval("SELECT current_database()")
    APP_URL[:] = [db_server.with_user(database_url_for(pg_admin_url, name), db_server.APP_ROLE)]
    async with running_stack(pg_pool, env, tsa_url=tsa.url, tsa_roots_file=tsa.roots_file,
                             seal_dir=tmp_path_factory.mktemp("seals")) as s:
        yield s


async def archived(stack: Stack) -> str:
    """A case archived, and its archive step's result recorded by Temporal."""
    n: str = (await stack.rejected_and_archived())["number"]

    async def probe() -> Any:
        return (await history_receipt(stack.client, n, None))[0]

    receipt = await eventually(probe, lambda r: r is not None)
    assert receipt is not None and receipt["number"] == n and isinstance(receipt["position"], int)
    return n


async def verify(stack: Stack, number: str) -> dict[str, Any]:
    r = await stack.http.get(f"/v1/archive/{number}/verify", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def seal_now(stack: Stack) -> dict[str, Any]:
    assert stack.settings.tsa_url and stack.settings.seal_dir
    result = await seal(stack.pool, stack.settings.tsa_url, stack.settings.seal_dir)
    return result.model_dump()


async def rewrite(dba: asyncpg.Connection, number: str, change: Callable[[dict[str, Any]], None]) -> None:
    """The insider attack: rewrite one case file with every hash recomputed, and re-link every
    archive after it so that the chain checks out again (trigger disabled meanwhile)."""
    rows = await dba.fetch("SELECT id, number, document FROM archives WHERE id >= "
                           "(SELECT id FROM archives WHERE number = $1) ORDER BY id", number)
    prev = await dba.fetchval("SELECT sha256 FROM archives WHERE id < $1 ORDER BY id DESC LIMIT 1",
                              rows[0]["id"])
    await dba.execute("ALTER TABLE archives DISABLE TRIGGER archives_no_update")
    try:
        for row in rows:
            document = copy.deepcopy(row["document"])
            if row["number"] == number:
                change(document)
            document["prev_sha256"] = prev
            normalized = await dba.fetchval("SELECT $1::jsonb", document)
            canonical = canonical_json(normalized)
            digest = sha256_hex(canonical)
            await dba.execute(RESTORE, row["id"], normalized, canonical, digest, prev)
            prev = digest
    finally:
        await dba.execute("ALTER TABLE archives ENABLE TRIGGER archives_no_update")


async def snapshot(dba: asyncpg.Connection) -> list[asyncpg.Record]:
    return await dba.fetch("SELECT id, document, canonical, sha256, prev_sha256 FROM archives")


async def restore(dba: asyncpg.Connection, saved: list[asyncpg.Record]) -> None:
    await dba.execute("ALTER TABLE archives DISABLE TRIGGER archives_no_update")
    for r in saved:
        await dba.execute(RESTORE, r["id"], r["document"], r["canonical"], r["sha256"], r["prev_sha256"])
    await dba.execute("ALTER TABLE archives ENABLE TRIGGER archives_no_update")


def new_facts(document: dict[str, Any]) -> None:
    document["complaint"]["facts"] = "投诉人自愿撤回，窗口人员态度良好"


async def run_cli(stack: Stack, *args: str) -> tuple[int, str]:
    """`python -m activities.archive ...` as an operator runs it: the app role's URL, the
    stack's Temporal, the seals' directory and the authority's CA."""
    s = stack.settings
    env = {
        **os.environ,
        "COMPLAINTS_DATABASE_URL": APP_URL[0],
        "COMPLAINTS_TEMPORAL_ADDRESS": stack.client.service_client.config.target_host,
        "COMPLAINTS_TEMPORAL_NAMESPACE": stack.client.namespace,
        "COMPLAINTS_SEAL_DIR": str(s.seal_dir),
        "COMPLAINTS_TSA_ROOTS_FILE": str(s.tsa_roots_file),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "activities.archive", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode() + err.decode()


def failures(out: str) -> dict[str, str]:
    """number -> why, from the CLI's FAIL lines."""
    found = {}
    for line in out.splitlines():
        if line.startswith("FAIL ") and ": " in line and not line.startswith(("FAIL access", "FAIL seals")):
            number, _, why = line[5:].partition(": ")
            found[number] = why.split(" | ", 1)[0]
    return found


# ------------------------------------------------------------------ the tests


async def test_untouched_archives_agree_with_temporal_and_the_seal(stack: Stack) -> None:
    a, b = await archived(stack), await archived(stack)
    sealed = await seal_now(stack)
    assert sealed["sealed"] and sealed["archive_id"] is not None
    for n in (a, b):
        result = await verify(stack, n)
        assert result["ok"] is True, result
        assert result["history_anchor"] is True and result["seal_ok"] is True
        assert result["problems"] == []
    # Nothing new: no seal. The copy out of PostgreSQL verifies with openssl alone.
    assert (await seal_now(stack))["sealed"] is False
    copy_file = seal_file(stack.settings.seal_dir, sealed["seal_id"])
    record = json.loads(copy_file.read_text())
    message = copy_file.with_suffix(".msg")
    message.write_text(record["message"], encoding="utf-8")
    check = subprocess.run(
        ["openssl", "ts", "-verify", "-in", str(copy_file.with_suffix(".tsr")), "-data", str(message),
         "-CAfile", str(stack.settings.tsa_roots_file)], capture_output=True, text=True)
    assert "Verification: OK" in check.stdout, check.stderr
    message.unlink()


async def test_verification_without_temporal_says_why_and_still_checks_the_seal(
    stack: Stack,
) -> None:
    n = await archived(stack)
    assert (await seal_now(stack))["sealed"]
    unreachable = await Client.connect("127.0.0.1:1", lazy=True,
                                       data_converter=pydantic_data_converter)
    down = create_app(stack.settings, pool=stack.pool, temporal_client=unreachable)
    async with asgi_client(down) as http:
        r = await http.get(f"/v1/archive/{n}/verify", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is True and result["history_anchor"] is None
    assert result["history_anchor_error"].startswith("Temporal") and result["seal_ok"] is True


async def test_insider_rewrite_of_the_newest_archive_is_detected(
    stack: Stack, dba: asyncpg.Connection
) -> None:
    n = await archived(stack)
    assert (await seal_now(stack))["sealed"]
    saved = await snapshot(dba)
    try:
        await rewrite(dba, n, new_facts)
        result = await verify(stack, n)
        # Row and chain check out: the tamperer recomputed everything PostgreSQL holds ...
        assert result["canonical_hash_ok"] and result["document_hash_ok"] and result["prev_ok"]
        # ... the anchors outside it do not agree.
        assert result["ok"] is False
        assert result["history_anchor"] is False and result["seal_ok"] is False
        assert any("returned to Temporal" in p for p in result["problems"])
        assert any("sealed by seal" in p for p in result["problems"])
        code, out = await run_cli(stack, "verify", "--all", "--no-replay")
        assert code == 1, out
        assert list(failures(out)) == [n], out
        assert "returned to Temporal" in failures(out)[n] and "sealed by seal" in failures(out)[n]
    finally:
        await restore(dba, saved)
    assert (await verify(stack, n))["ok"] is True


async def test_insider_rewrite_in_the_middle_of_the_chain_is_detected(
    stack: Stack, dba: asyncpg.Connection
) -> None:
    middle, last = await archived(stack), await archived(stack)
    assert (await seal_now(stack))["sealed"]
    saved = await snapshot(dba)
    try:
        await rewrite(dba, middle, new_facts)  # and re-links `last` after it
        for n in (middle, last):
            result = await verify(stack, n)
            assert result["canonical_hash_ok"] and result["document_hash_ok"] and result["prev_ok"]
            assert result["ok"] is False and result["history_anchor"] is False
            assert result["seal_ok"] is False
        code, out = await run_cli(stack, "verify", "--all", "--no-replay")
        assert code == 1 and set(failures(out)) == {middle, last}, out
    finally:
        await restore(dba, saved)
    assert all([(await verify(stack, n))["ok"] for n in (middle, last)])


async def test_seal_workflow_seals_and_a_deleted_seal_row_is_noticed(
    stack: Stack, dba: asyncpg.Connection, env: WorkflowEnvironment
) -> None:
    n = await archived(stack)
    task_queue = f"seal-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=task_queue, workflows=[SealWorkflow],
                      activities=[SealActivities(stack.pool, stack.settings).seal_chain_heads]):
        handle = await env.client.start_workflow(
            SealWorkflow.run, id=f"chain-seal-{uuid.uuid4()}", task_queue=task_queue)

        async def status() -> Any:
            return (await handle.describe()).status

        # Polled, not awaited: waiting on a result would let the time-skipping server jump.
        assert await eventually(status, lambda s: s == WorkflowExecutionStatus.COMPLETED)
        result = await handle.result()
    assert result["sealed"] is True
    assert (await verify(stack, n))["seal_ok"] is True
    seal_id = result["seal_id"]
    row = await dba.fetchrow("SELECT * FROM archive_seals WHERE id = $1", seal_id)
    await dba.execute("ALTER TABLE archive_seals DISABLE TRIGGER archive_seals_no_update")
    try:
        await dba.execute("DELETE FROM archive_seals WHERE id = $1", seal_id)
        anchors = await load_anchors(stack.pool, stack.settings)
        assert anchors.seals is not None
        missing = f"seal {seal_id}: in {stack.settings.seal_dir} but missing from PostgreSQL"
        assert missing in anchors.seals.problems
        assert (await verify(stack, n))["seal_ok"] is True  # the copy still vouches for the case
    finally:
        await dba.execute(
            "INSERT INTO archive_seals (id, sealed_at, archive_id, archive_sha256, access_log_id, "
            "access_log_sha256, message, message_sha256, token, tsa_url) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            row["id"], row["sealed_at"], row["archive_id"], row["archive_sha256"],
            row["access_log_id"], row["access_log_sha256"], row["message"], row["message_sha256"],
            row["token"], row["tsa_url"])
        await dba.execute("ALTER TABLE archive_seals ENABLE TRIGGER archive_seals_no_update")
    assert (await load_anchors(stack.pool, stack.settings)).seals.problems == []  # type: ignore[union-attr]


async def test_access_log_rewrites_and_deletions_are_detected(
    stack: Stack, dba: asyncpg.Connection
) -> None:
    n = await archived(stack)
    for who in ("auditor", "supervisor", "leader"):  # reads of the case file are logged
        assert (await stack.http.get(f"/v1/archive/{n}", headers=auth(who))).status_code == 200
    assert (await seal_now(stack))["sealed"]
    anchors = await load_anchors(stack.pool, stack.settings)
    assert (await check_access_log(stack.pool, anchors.seals))["ok"] is True
    rows = await dba.fetch("SELECT * FROM access_log ORDER BY id")
    middle = rows[-2]
    await dba.execute("ALTER TABLE access_log DISABLE TRIGGER USER")
    try:
        # A DBA deletes one read from the middle: the next row's link shows it.
        await dba.execute("DELETE FROM access_log WHERE id = $1", middle["id"])
        check = await check_access_log(stack.pool, anchors.seals)
        assert check["ok"] is False and f"access_log #{rows[-1]['id']}" in check["problems"][0]
        # ... and re-chains every row after it: the sealed head no longer matches.
        prev = rows[-3]["sha256"]
        for r in rows[-1:]:
            digest = access_log_hash(r, prev)
            await dba.execute("UPDATE access_log SET prev_sha256 = $2, sha256 = $3 WHERE id = $1",
                              r["id"], prev, digest)
            prev = digest
        check = await check_access_log(stack.pool, anchors.seals)
        assert check["ok"] is False and len(check["problems"]) == 1
        assert "sealed by seal" in check["problems"][0] and "differs" in check["problems"][0]
        # The CLI says so too.
        code, out = await run_cli(stack, "verify", "--all", "--no-replay")
        assert code == 1 and "FAIL access log: access_log #" in out, out
        assert "sealed by seal" in out
    finally:
        await dba.execute("DELETE FROM access_log WHERE id >= $1", middle["id"])
        for r in rows[-2:]:
            await dba.execute(
                "INSERT INTO access_log (id, at, actor_id, actor_role, number, what, prev_sha256, "
                "sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                r["id"], r["at"], r["actor_id"], r["actor_role"], r["number"], r["what"],
                r["prev_sha256"], r["sha256"])
        await dba.execute("ALTER TABLE access_log ENABLE TRIGGER USER")
    assert (await check_access_log(stack.pool, anchors.seals))["ok"] is True
