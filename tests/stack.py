"""The one harness for tests of the app on real components: embedded PostgreSQL (the caller's
pool), a Temporal server (the caller's environment), a real worker with the real activities, and
the app called in-process through `httpx.ASGITransport`.

`running_stack` wires it; `Stack` speaks to it as any user — the dev tokens (`TOKENS`, what
`api/dev_tokens.json` holds) or, with `tokens_file=TOKENS_FILE`, the users of several centers
(`CENTER_TOKENS`, tests/tokens.json). The fixtures that use it are in tests/api/conftest.py and
the feature folders' conftest.py files.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import db
from activities import build_activities
from api.main import create_app
from bench.stack import free_port
from config import Settings
from tests.fixtures_pg import fresh_database, pg_settings
from workflows.complaint import ComplaintWorkflow
from workflows.inspection import InspectionRoundWorkflow

T = TypeVar("T")

#: Every Temporal call of the API gets this deadline in tests (seconds).
RPC_TIMEOUT = 3.0

#: Users of several centers (the dev tokens' users are all at `default`).
TOKENS_FILE = Path(__file__).with_name("tokens.json")

#: Short names for the dev tokens (api/dev_tokens.json; tests/tokens.json has them too).
TOKENS = {
    "intake": "dev-intake",
    "handler": "dev-handler",
    "leader": "dev-leader",
    "supervisor": "dev-supervisor",
    "auditor": "dev-auditor",
    "tax": "dev-unit-tax",
    "housing": "dev-unit-housing",
}

#: Short names for the other users of tests/tokens.json (known only with `TOKENS_FILE`).
CENTER_TOKENS = {
    "prov-handler": "prov-handler",
    "prov-supervisor": "prov-supervisor",
    "district-intake": "district-intake",
    "district-handler": "district-handler",
    "district-leader": "district-leader",
    "district-supervisor": "district-supervisor",
    "district-edu": "district-unit-edu",
    "taxdept-handler": "taxdept-handler",
}

#: A decision of the handling unit: substantiated, with a written warning.
REPORT = {"finding": "substantiated", "measures": ["written_warning"],
          "report": "经查属实，已书面警告", "remedy": "当场补办"}

#: The decision `Stack.conclude` reports: substantiated, two measures.
CONCLUSION = {"finding": "substantiated", "measures": ["written_warning", "order_to_correct"],
              "report": "经查属实，已书面警告并责令改正", "remedy": "当场补办"}


def auth(who: str) -> dict[str, str]:
    """Headers for a user (`who` is a key of TOKENS or CENTER_TOKENS)."""
    return {"Authorization": f"Bearer {({**TOKENS, **CENTER_TOKENS})[who]}"}


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


async def register(http: httpx.AsyncClient, who: str = "intake", **overrides: Any) -> dict[str, Any]:
    """Register a complaint through the API; returns the 201 body plus the request body."""
    body = intake_body(**overrides)
    r = await http.post("/v1/complaints", json=body, headers=auth(who))
    assert r.status_code == 201, r.text
    return {**r.json(), "request": body}


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@asynccontextmanager
async def served(app: FastAPI, **config: Any) -> AsyncIterator[str]:
    """The app behind a real uvicorn on a free port, in this event loop (for a browser, a CLI or
    a real socket); yields its URL. `config`: more `uvicorn.Config` options (`lifespan="off"`)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, **config))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


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


def due(view: dict[str, Any], kind: str) -> datetime:
    """The open deadline `kind` of a case view."""
    [d] = [d for d in view["deadlines"] if d["kind"] == kind and d["state"] == "open"]
    return datetime.fromisoformat(d["due_at"])


@dataclass
class Stack:
    """The app under test and what it runs on, with helpers that speak as any user."""

    settings: Settings
    app: FastAPI
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    client: Client
    env: WorkflowEnvironment

    async def register(self, who: str = "intake", **overrides: Any) -> dict[str, Any]:
        """Register a complaint through the API; returns the 201 body plus the request body."""
        return await register(self.http, who, **overrides)

    async def act(self, number: str, action: str, who: str, /, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"/v1/complaints/{number}/actions/{action}", json=body, headers=auth(who)
        )

    async def ok(self, number: str, action: str, who: str, /, **body: Any) -> dict[str, Any]:
        """An action that must succeed; returns the new case view."""
        r = await self.act(number, action, who, **body)
        assert r.status_code == 200, f"{action}: {r.text}"
        result: dict[str, Any] = r.json()
        return result

    async def signal(self, number: str, name: str, who: str, /, **body: Any) -> None:
        """A signal through the API, which must be accepted (202)."""
        r = await self.http.post(
            f"/v1/complaints/{number}/signals/{name}", json=body, headers=auth(who)
        )
        assert r.status_code == 202, r.text

    async def get(self, path: str, who: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, headers=auth(who), params=params or None)

    async def view(self, number: str, who: str = "handler") -> dict[str, Any]:
        """The case view of `number`, as `who` reads it."""
        r = await self.get(f"/v1/complaints/{number}", who)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def row(self, number: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM complaints WHERE number = $1", number)

    async def archive_row(self, number: str) -> Any:
        """The archive row of `number`, once the workflow has archived it (at most 15 s)."""

        async def probe() -> Any:
            return await self.pool.fetchrow("SELECT * FROM archives WHERE number = $1", number)

        row = await eventually(probe, lambda r: r is not None, timeout=15)
        assert row is not None, f"{number} was not archived"
        return row

    async def referred(self, unit: str = "tax-bureau", **overrides: Any) -> dict[str, Any]:
        """A case referred (opinion approved) to `unit`, at the `default` center."""
        case = await self.register(**overrides)
        n = case["number"]
        await self.ok(n, "accept", "handler", route="referral")
        await self.ok(n, "submit-opinion", "handler", handling_unit=unit, opinion="请核查处理")
        view = await self.ok(n, "approve-opinion", "leader", approved=True, comment="同意")
        assert view["status"] == "referred", view
        return case

    async def rectify(self, number: str, measures: list[str], *, unit: str = "handler",
                      handler: str = "handler") -> dict[str, Any]:
        """整改落实 (R-37): `unit` (or the handler, entering its report) reports the decided
        measures carried out; the handler accepts. Returns the case view after the review."""
        await self.ok(number, "report-rectification", unit, measures=measures,
                      report="已按处理决定落实整改")
        return await self.ok(number, "review-rectification", handler, accepted=True)

    async def conclude(self, number: str, *, rating: str = "satisfied",
                       handler: str = "handler") -> dict[str, Any]:
        """Self-handle a registered case to the end: accept, decide, rectify (R-37), feed
        back, callback."""
        await self.ok(number, "accept", handler, route="self")
        await self.ok(number, "report-result", handler, **CONCLUSION)
        await self.rectify(number, CONCLUSION["measures"], unit=handler, handler=handler)
        await self.ok(number, "give-feedback", handler, message="经查属实，已处理",
                      appeal_route="可向上级投诉中心申诉")
        return await self.ok(number, "record-satisfaction", handler, rating=rating)

    async def rejected_and_archived(self) -> dict[str, Any]:
        """A registered case the handler does not accept: archived at once, with its history."""
        case = await self.register()
        n = case["number"]
        await self.ok(n, "reject", "handler", reason="不属于效能投诉范围", basis="投诉制度第二条",
                      guidance="请向市场监管部门反映")
        # Polling, not `handle.result()`: waiting on a result lets the time-skipping server jump
        # ahead, which would move the clock under every other case of the session.
        case["archive"] = await self.archive_row(n)
        return case


@asynccontextmanager
async def running_stack(
    pool: asyncpg.Pool, env: WorkflowEnvironment, *, prefix: str = "api", **overrides: Any
) -> AsyncIterator[Stack]:
    """The app with a real worker on a fresh task queue. `overrides` are settings (e.g.
    `tokens_file=TOKENS_FILE`); the evidence files go to a temporary directory, removed
    afterwards, unless `evidence_dir` is given."""
    own_dir = "evidence_dir" not in overrides
    settings = api_settings(f"{prefix}-{uuid.uuid4()}", **overrides)
    # Each module has a fresh database, but a Temporal server may outlive it: start the number
    # sequence somewhere else, or numbers would collide with earlier modules' cases.
    await fresh_numbers(pool)
    try:
        async with Worker(
            env.client, task_queue=settings.task_queue, workflows=[ComplaintWorkflow],
            activities=build_activities(pool, env.client),
        ):
            app = create_app(settings, pool=pool, temporal_client=env.client)
            async with asgi_client(app) as http:
                yield Stack(settings, app, http, pool, env.client, env)
    finally:
        if own_dir:
            shutil.rmtree(settings.evidence_dir, ignore_errors=True)


async def fresh_numbers(pool: asyncpg.Pool) -> None:
    """Start the number sequence somewhere random: a Temporal server may outlive a database."""
    await pool.execute("SELECT setval('complaint_number_seq', $1)",
                       secrets.randbelow(10**9) + 10**6)


@asynccontextmanager
async def database_and_worker(
    pg_admin_url: str, env: WorkflowEnvironment, *, prefix: str
) -> AsyncIterator[tuple[Settings, asyncpg.Pool]]:
    """A fresh database with its pool, and a worker of every workflow on a fresh task queue:
    what the OpenAPI fuzz tests serve the app from."""
    async with fresh_database(pg_admin_url) as url:
        settings = api_settings(
            f"{prefix}-{uuid.uuid4()}", database_url=url,
            temporal_address=env.client.service_client.config.target_host,
            temporal_namespace=env.client.namespace,
        )
        pool = await db.create_pool(pg_settings(url))
        try:
            await fresh_numbers(pool)
            async with Worker(
                env.client, task_queue=settings.task_queue,
                workflows=[ComplaintWorkflow, InspectionRoundWorkflow],
                activities=build_activities(pool, env.client),
            ):
                yield settings, pool
        finally:
            await pool.close()


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
