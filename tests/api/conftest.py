"""API tests on real components: embedded PostgreSQL, the Temporal time-skipping server, a real
worker with the real activities, and the app called in-process through `httpx.ASGITransport`.

`pg_pool` (a fresh migrated database per test module) and `env` (the time-skipping server) come
from `tests/conftest.py` and `tests/fixtures_pg.py`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.main import create_app
from config import Settings
from tests.conftest import start_time_skipping
from workflows.complaint import ComplaintWorkflow

T = TypeVar("T")

#: Every Temporal call of the API gets this deadline in tests (seconds).
RPC_TIMEOUT = 3.0

TOKENS = {
    "intake": "dev-intake",
    "handler": "dev-handler",
    "leader": "dev-leader",
    "supervisor": "dev-supervisor",
    "auditor": "dev-auditor",
    "tax": "dev-unit-tax",
    "housing": "dev-unit-housing",
}


def auth(who: str) -> dict[str, str]:
    """Headers for one of the dev tokens (`who` is a key of TOKENS)."""
    return {"Authorization": f"Bearer {TOKENS[who]}"}


def api_settings(task_queue: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "temporal_rpc_timeout_seconds": RPC_TIMEOUT,
        # Uploads (also the fuzz test's) go to a temporary store, never the repo's .data/.
        "evidence_dir": Path(tempfile.mkdtemp(prefix="complaints-test-evidence-")),
        **overrides,
    }
    return Settings(task_queue=task_queue, **values)


def intake_body(**overrides: Any) -> dict[str, Any]:
    """A valid intake body with a unique complainant (so leaks can be searched for)."""
    tag = secrets.token_hex(3)
    body: dict[str, Any] = {
        "channel": "hotline",
        "form": "written",
        "category": "attitude",
        "grade": "basic",
        "complainant": {
            "name": f"张三{tag}",
            "phone": f"138{secrets.randbelow(10**8):08d}",
            "address": f"某区某街道{tag}号",
            "anonymous": False,
            "agent": None,
        },
        "respondent": {"unit_code": "tax-bureau", "unit_name": "某区税务局", "staff_name": "李四"},
        "facts": f"窗口工作人员态度粗暴，材料齐全却拒绝受理。{tag}",
        "evidence": ["现场录音一段"],
    }
    body.update(overrides)
    return body


@dataclass
class Stack:
    """The app under test and what it runs on."""

    settings: Settings
    app: FastAPI
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    client: Client
    env: WorkflowEnvironment

    async def register(self, who: str = "intake", **overrides: Any) -> dict[str, Any]:
        """Register a complaint through the API; returns the 201 body plus the request body."""
        body = intake_body(**overrides)
        r = await self.http.post("/v1/complaints", json=body, headers=auth(who))
        assert r.status_code == 201, r.text
        return {**r.json(), "request": body}

    async def act(self, number: str, action: str, who: str, /, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"/v1/complaints/{number}/actions/{action}", json=body, headers=auth(who)
        )

    async def row(self, number: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM complaints WHERE number = $1", number)


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per module: the API stamps `received_at` with the wall clock, so
    the server's clock must not have been skipped ahead by other modules' tests."""
    e = await start_time_skipping()
    yield e
    await e.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    """The app with a real worker on a fresh task queue, for one test module."""
    settings = api_settings(f"api-{uuid.uuid4()}")
    worker = Worker(
        env.client,
        task_queue=settings.task_queue,
        workflows=[ComplaintWorkflow],
        activities=build_activities(pg_pool, env.client),
    )
    # Each module has a fresh database, but the Temporal server lives for the session: start
    # the number sequence somewhere else, or numbers would collide with earlier modules' cases.
    await pg_pool.execute("SELECT setval('complaint_number_seq', $1)",
                          secrets.randbelow(10**9) + 10**6)
    async with worker:
        app = create_app(settings, pool=pg_pool, temporal_client=env.client)
        async with asgi_client(app) as http:
            yield Stack(settings, app, http, pg_pool, env.client, env)


async def eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], *, timeout: float = 10.0
) -> T:
    """Poll `probe` until `ok(result)`, at most `timeout` seconds; returns the last result."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while True:
        result = await probe()
        if ok(result) or loop.time() > until:
            return result
        await asyncio.sleep(0.05)


async def history_text(client: Client, number: str) -> str:
    """The workflow's whole history as text, with every payload decoded (not base64)."""
    history = await client.get_workflow_handle(number).fetch_history()
    doc = history.to_json_dict()
    decoded: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "data" in node and "metadata" in node and isinstance(node["data"], str):
                raw = base64.b64decode(node["data"]).decode("utf-8", "replace")
                try:
                    raw = json.dumps(json.loads(raw), ensure_ascii=False)
                except ValueError:
                    pass
                decoded.append(raw)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return json.dumps(doc, ensure_ascii=False) + "\n" + "\n".join(decoded)
