"""Operators in the Temporal Web UI: search attributes current after every change, summaries and
current details, described signals and updates, the CLI signal of the operator's guide, and the
Web UI's workflow list filtered by `ComplaintStatus` in headless Chromium.

Runs on the Temporal dev server (`dev_env`: visibility queries, user metadata, the Web UI), with
PostgreSQL, a real worker and the app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest_asyncio
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.models import Action
from tests.fixtures_browser import ARTIFACTS
from tests.stack import Stack, auth, eventually, running_stack
from workflows import complaint as wf

#: The Web UI's table columns for a case list (what docs/operators.md tells operators to pick);
#: the UI keeps them in this localStorage key, per namespace.
COLUMNS = [
    "Status",
    "Workflow ID",
    "ComplaintStatus",
    "ComplaintCategory",
    "RespondentUnit",
    "HandlingUnit",
    "DueAt",
    "Overdue",
    "Supervised",
    "Start",
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ui_stack(pg_pool: asyncpg.Pool, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    """The app and a real worker on the dev server, for this module."""
    async with running_stack(pg_pool, dev_env, prefix="ui") as s:
        yield s


async def ids(client: Client, query: str) -> list[str]:
    return [w.id async for w in client.list_workflows(query)]


async def listed(client: Client, query: str, expected: list[str]) -> list[str]:
    """The workflow ids a visibility query finds, once they are what `expected` says (≤ 10 s)."""
    return await eventually(lambda: ids(client, query), lambda got: sorted(got) == expected)


async def shown_in_a_frame(page: Any, text: str, timeout: float = 15.0) -> bool:
    """Whether `text` shows in one of the page's frames within `timeout` seconds."""

    async def probe() -> bool:
        for frame in page.frames:
            if await frame.get_by_text(text).count():
                return True
        return False

    return bool(await eventually(probe, bool, timeout=timeout))



async def test_search_attributes_and_summaries_of_running_cases(ui_stack: Stack) -> None:
    stack, client = ui_stack, ui_stack.client
    # A major case is under supervision from registration. (Received ten days ago no
    # longer makes it overdue at once: the acceptance clock counts from registration, R-10.)
    major = await stack.register(
        grade="major", received_at=(datetime.now().astimezone() - timedelta(days=10)).isoformat()
    )
    a = major["number"]
    assert await listed(
        client,
        f'ComplaintStatus="registered" AND Overdue=false AND Supervised=true AND WorkflowId="{a}"',
        [a],
    ) == [a]

    case = await stack.referred()
    b = case["number"]
    view = await stack.view(b)
    next_due = min(
        datetime.fromisoformat(d["due_at"])
        for d in view["deadlines"]
        if d["state"] == "open" and d["kind"] != "return_window"
    )
    assert await listed(
        client, f'ComplaintStatus="referred" AND Overdue=false AND WorkflowId="{b}"', [b]
    ) == [b]
    before = (next_due + timedelta(minutes=1)).isoformat()
    after = (next_due - timedelta(minutes=1)).isoformat()
    assert await listed(
        client, f'HandlingUnit="tax-bureau" AND DueAt < "{before}" AND WorkflowId="{b}"', [b]
    ) == [b]
    assert await ids(client, f'HandlingUnit="tax-bureau" AND DueAt < "{after}" AND WorkflowId="{b}"') == []

    handle = client.get_workflow_handle(b)
    desc = await handle.describe()
    sa = desc.typed_search_attributes
    assert (
        sa.get(wf.SA_STATUS),
        sa.get(wf.SA_HANDLING_UNIT),
        sa.get(wf.SA_RESPONDENT_UNIT),
        sa.get(wf.SA_CATEGORY),
        sa.get(wf.SA_CHANNEL),
        sa.get(wf.SA_GRADE),
    ) == ("referred", "tax-bureau", "tax-bureau", "attitude", "hotline", "basic")
    assert (sa.get(wf.SA_OVERDUE), sa.get(wf.SA_SUPERVISED)) == (False, False)
    assert sa.get(wf.SA_DUE_AT) == next_due
    summary, details = await desc.static_summary(), await desc.static_details()
    assert summary == f"{b} · 服务态度差 · tax-bureau"
    assert details and "被投诉单位 respondent" in details and "服务态度差" in details
    who = case["request"]["complainant"]
    staff = case["request"]["respondent"]["staff_name"]  # a person too: never in Temporal
    for secret in (who["name"], who["phone"], who["address"], case["request"]["facts"], staff):
        assert secret not in summary and secret not in details

    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    current = meta.current_details
    assert f"**{b}** · 已转办 referred" in current and "下一期限 next due" in current
    assert "承办单位 handling unit: tax-bureau" in current
    assert "最近操作 last action: approve-opinion by leader-01 (leader)" in current
    signals = {s.name: s.description for s in meta.definition.signal_definitions}
    updates = {u.name: u.description for u in meta.definition.update_definitions}
    for name in ("decide-extension", "escalate", "recompute-deadlines"):
        assert signals[name] and "Input" in signals[name], name
    assert all(updates[a.value] for a in Action)
    assert [q.description for q in meta.definition.query_definitions if q.name == "state"][0]

    # The operator's guide: escalate from the CLI (no actor: the sender identity is kept).
    host = client.service_client.config.target_host
    proc = await asyncio.create_subprocess_exec(
        "temporal",
        "workflow",
        "signal",
        "--address",
        host,
        "--workflow-id",
        b,
        "--name",
        "escalate",
        "--input",
        json.dumps({"reason": "媒体曝光", "source": "media"}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert await listed(
        client, f'ComplaintStatus="referred" AND Supervised=true AND WorkflowId="{b}"', [b]
    ) == [b]
    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "督办 SUPERVISED" in meta.current_details
    timeline = (await stack.http.get(f"/v1/complaints/{b}/history", headers=auth("auditor"))).json()
    [escalate] = [e for e in timeline["entries"] if e["what"] == "escalate"]
    assert escalate["role"] == "operator" and escalate["sender"]
    assert escalate["detail"] == {"reason": "媒体曝光", "source": "media"}


async def test_web_ui_lists_the_case_filtered_by_status(
    ui_stack: Stack, dev_env: WorkflowEnvironment, browser: Any
) -> None:
    case = await ui_stack.referred()
    n = case["number"]
    await listed(ui_stack.client, f'ComplaintStatus="referred" AND WorkflowId="{n}"', [n])
    ui = f"http://127.0.0.1:{dev_env.ui_port}"  # type: ignore[attr-defined]
    context = await browser.new_context(
        viewport={"width": 1600, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    columns = json.dumps({"default": [{"label": c} for c in COLUMNS]})
    await context.add_init_script(
        f"window.localStorage.setItem('namespace-workflow-table-columns', {json.dumps(columns)});"
    )
    page = await context.new_page()
    try:
        await page.goto(f"{ui}/namespaces/default/workflows?query=" + quote('ComplaintStatus="referred"'))
        row = page.locator("tr", has_text=n)
        await row.first.wait_for(timeout=15_000)
        text = await row.first.inner_text()
        for value in (n, "referred", "attitude", "tax-bureau"):
            assert value in text, (value, text)
        await page.screenshot(path=str(ARTIFACTS / "webui-list-referred.png"), full_page=True)

        await page.get_by_role("link", name=n).first.click()
        await page.get_by_text("User Metadata").first.click()
        # The UI renders each piece of user metadata (markdown) in a sandboxed frame.
        for text in (f"{n} · 服务态度差 · tax-bureau", "已转办 referred", "tax-bureau"):
            assert await shown_in_a_frame(page, text), text
        await page.screenshot(path=str(ARTIFACTS / "webui-case-metadata.png"), full_page=True)
    finally:
        await context.close()
