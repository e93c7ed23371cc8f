"""archive_case (R-35): the case file hashed, chained, immutable, verifiable."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import uuid

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

import db
from activities import build_activities
from activities.archive import (
    ArchiveActivities,
    canonical_json,
    verify_all,
    verify_archive,
)
from activities.read_model import ReadModelActivities
from config import ROOT
from domain.models import Action, ArchiveInput, ArchiveResult, CaseState, ProjectInput, Status
from tests.activities.pg_cases import T0, case, event, register_like_the_api
from tests.fixtures_pg import admin_url_of, fresh_database, owner_url, pg_settings
from tests.workflows.helpers import HANDLER, act, start_case
from workflows.complaint import ComplaintWorkflow


async def archive(pool: asyncpg.Pool, s: CaseState, client: Client | None = None) -> ArchiveResult:
    result: ArchiveResult = await ActivityEnvironment().run(
        ArchiveActivities(pool, client).archive_case, ArchiveInput(state=s))
    return result


async def archived_case(pool: asyncpg.Pool) -> ArchiveResult:
    """A case registered by intake, projected, then archived (no Temporal history)."""
    s = case()
    await register_like_the_api(pool, s)
    final = s.model_copy(update={"version": 2, "status": Status.ARCHIVED, "archived_at": T0})
    await ActivityEnvironment().run(
        ReadModelActivities(pool).project_case, ProjectInput(state=final, events=[event(1)]))
    return await archive(pool, final)


async def test_archive_row_hash_verifies(pg_pool: asyncpg.Pool) -> None:
    result = await archived_case(pg_pool)
    row = await pg_pool.fetchrow("SELECT * FROM archives WHERE number = $1", result.number)
    assert row is not None and row["sha256"] == result.sha256
    assert hashlib.sha256(row["canonical"].encode()).hexdigest() == result.sha256
    assert canonical_json(row["document"]) == row["canonical"]
    doc = row["document"]
    # The whole file: the case, the original complaint, the complainant (PostgreSQL only), events.
    assert doc["case"]["number"] == result.number and doc["case"]["status"] == "archived"
    assert doc["complaint"]["facts"].startswith("窗口工作人员")
    assert doc["complaint"]["evidence"] == ["现场录音一段"]
    assert doc["complainant"]["name"] == "张三" and doc["complainant"]["phone"] == "13800138000"
    assert [e["action"] for e in doc["events"]] == ["register"]
    assert doc["history"] is None  # no Temporal client here
    checked = await verify_archive(pg_pool, result.number)
    assert checked["ok"] and checked["canonical_hash_ok"] and checked["document_hash_ok"]
    assert checked["history_replay"] is None  # replay check not plugged in yet


async def test_archiving_twice_returns_the_stored_row(pg_pool: asyncpg.Pool) -> None:
    first = await archived_case(pg_pool)
    row = await pg_pool.fetchrow("SELECT state FROM complaints WHERE number = $1", first.number)
    assert row is not None
    again = await archive(pg_pool, CaseState.model_validate(row["state"]))
    assert again == first
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM archives WHERE number = $1", first.number) == 1


async def test_each_archive_links_to_the_one_before(pg_pool: asyncpg.Pool) -> None:
    a = await archived_case(pg_pool)
    b = await archived_case(pg_pool)
    assert b.prev_sha256 == a.sha256
    doc = await pg_pool.fetchval("SELECT document FROM archives WHERE number = $1", b.number)
    assert doc["prev_sha256"] == a.sha256  # the link is inside the hashed text
    results = await verify_all(pg_pool)
    assert results and all(r["ok"] for r in results)
    assert [r["number"] for r in results][-2:] == [a.number, b.number]


async def test_concurrent_archives_form_one_linear_chain(pg_pool: asyncpg.Pool) -> None:
    await asyncio.gather(*(archived_case(pg_pool) for _ in range(6)))
    rows = await pg_pool.fetch("SELECT sha256, prev_sha256 FROM archives ORDER BY id")
    for before, after in zip(rows, rows[1:], strict=False):
        assert after["prev_sha256"] == before["sha256"]
    assert len({r["prev_sha256"] for r in rows}) == len(rows)  # no fork


async def test_database_refuses_update_delete_and_truncate(pg_admin_url: str) -> None:
    async with fresh_database(pg_admin_url) as url:
        pool = await db.create_pool(pg_settings(url))
        owner = await asyncpg.connect(owner_url(url))
        try:
            result = await archived_case(pool)
            for sql in ("UPDATE archives SET sha256 = 'x' WHERE number = $1",
                        "DELETE FROM archives WHERE number = $1"):
                # The app role has no such privilege (issue 13) ...
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await pool.execute(sql, result.number)
                # ... and the trigger refuses it to the owner too.
                with pytest.raises(asyncpg.RaiseError, match="immutable"):
                    await owner.execute(sql, result.number)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await pool.execute("TRUNCATE archives")
            with pytest.raises(asyncpg.RaiseError, match="immutable"):
                await owner.execute("TRUNCATE archives")
            assert (await verify_archive(pool, result.number))["ok"]
        finally:
            await owner.close()
            await pool.close()


async def test_verify_detects_tampering_and_cli_exits_1(pg_admin_url: str) -> None:
    async with fresh_database(pg_admin_url) as url:
        pool = await db.create_pool(pg_settings(url))
        dba = await asyncpg.connect(admin_url_of(pg_admin_url, url))
        try:
            a = await archived_case(pool)
            b = await archived_case(pool)
            assert await run_cli(url, "verify", "--all") == (0, "ok: 2, failed: 0")
            # A superuser bypasses the trigger; verification still notices.
            await dba.execute("ALTER TABLE archives DISABLE TRIGGER archives_no_update")
            await dba.execute(
                "UPDATE archives SET canonical = replace(canonical, '张三', '某某') "
                "WHERE number = $1", a.number)
            await dba.execute("ALTER TABLE archives ENABLE TRIGGER archives_no_update")
            bad = await verify_archive(pool, a.number)
            assert not bad["ok"] and not bad["canonical_hash_ok"] and bad["document_hash_ok"]
            assert (await verify_archive(pool, b.number))["ok"]
            assert (await verify_archive(pool, "NO-SUCH"))["error"] == "not archived"
            assert await run_cli(url, "verify", "--all") == (1, "ok: 1, failed: 1")
            assert (await run_cli(url, "verify", b.number))[0] == 0
        finally:
            await dba.close()
            await pool.close()


async def run_cli(url: str, *args: str) -> tuple[int, str]:
    """`python -m activities.archive ...` against `url`; exit code and the totals' middle."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "activities.archive", *args, cwd=ROOT,
        env={**os.environ, "COMPLAINTS_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    totals = [x for x in out.decode().splitlines() if x.startswith("archives verified")]
    last = totals[-1] if totals else err.decode()
    middle = ", ".join(p for p in last.split(", ") if p.startswith(("ok:", "failed:")))
    return proc.returncode or 0, middle


async def test_archive_after_a_real_workflow_holds_its_history(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment
) -> None:
    tq = f"tq-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=tq, workflows=[ComplaintWorkflow],
                      activities=build_activities(pg_pool, env.client)):
        h = await start_case(env.client, tq, received_at=await env.get_current_time())
        await act(h, Action.REJECT, HANDLER, reason="不属于受理范围", basis="投诉制度第二条",
                  guidance="请向市场监管部门反映")
        await h.result()
    row = await pg_pool.fetchrow("SELECT * FROM archives WHERE number = $1", h.id)
    assert row is not None
    doc = row["document"]
    assert doc["case"]["outcome"] == "not_accepted"
    events = doc["history"]["events"]
    assert events[0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert any(e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" for e in events)
    assert [e["action"] for e in doc["events"]] == ["register", "reject"]
    assert {n["kind"] for n in doc["notifications"]} >= {"acknowledgement", "not_accepted"}
    projected = await pg_pool.fetchrow("SELECT status, outcome FROM complaints WHERE number = $1",
                                       h.id)
    assert projected is not None and tuple(projected) == ("archived", "not_accepted")
    assert (await verify_archive(pg_pool, h.id))["ok"]
