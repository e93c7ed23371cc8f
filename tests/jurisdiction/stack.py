"""The app under test with the users of several centers (tokens.json beside this file), shared
by tests/jurisdiction, tests/evidence and tests/disclosure.

Same wiring as tests/api/conftest.py: embedded PostgreSQL (a fresh database per module), a
time-skipping Temporal server per module (the API stamps `received_at` with the wall clock), a
real worker with the real activities, the app called in-process.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.main import create_app
from config import Settings
from tests.api.conftest import api_settings, asgi_client, intake_body
from workflows.complaint import ComplaintWorkflow

TOKENS_FILE = Path(__file__).with_name("tokens.json")

#: Short names for the tokens of tokens.json (the dev tokens' users are all at `default`).
TOKENS = {
    "intake": "dev-intake",
    "handler": "dev-handler",
    "leader": "dev-leader",
    "supervisor": "dev-supervisor",
    "auditor": "dev-auditor",
    "tax": "dev-unit-tax",
    "housing": "dev-unit-housing",
    "prov-handler": "prov-handler",
    "prov-supervisor": "prov-supervisor",
    "district-intake": "district-intake",
    "district-handler": "district-handler",
    "district-leader": "district-leader",
    "district-supervisor": "district-supervisor",
    "district-edu": "district-unit-edu",
    "taxdept-handler": "taxdept-handler",
}

REPORT = {"finding": "substantiated", "measures": ["written_warning", "order_to_correct"],
          "report": "经查属实，已书面警告并责令改正", "remedy": "当场补办"}


def auth(who: str) -> dict[str, str]:
    """Headers for a user of tokens.json (`who` is a key of TOKENS)."""
    return {"Authorization": f"Bearer {TOKENS[who]}"}


@dataclass
class CenterStack:
    """The app, its pool and Temporal client, with helpers that speak as any user."""

    settings: Settings
    app: FastAPI
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    client: Client

    async def register(self, who: str = "intake", **overrides: Any) -> dict[str, Any]:
        """Register through the API; returns the 201 body plus the request body."""
        body = intake_body(**overrides)
        r = await self.http.post("/v1/complaints", json=body, headers=auth(who))
        assert r.status_code == 201, r.text
        return {**r.json(), "request": body}

    async def act(self, number: str, action: str, who: str, /, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"/v1/complaints/{number}/actions/{action}", json=body, headers=auth(who)
        )

    async def ok(self, number: str, action: str, who: str, /, **body: Any) -> dict[str, Any]:
        """An action that must succeed; returns the new case view."""
        r = await self.act(number, action, who, **body)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def get(self, path: str, who: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, headers=auth(who), params=params or None)

    async def referred(self, unit: str = "tax-bureau", **overrides: Any) -> dict[str, Any]:
        """A case referred (opinion approved) to `unit`, at the `default` center."""
        case = await self.register(**overrides)
        n = case["number"]
        await self.ok(n, "accept", "handler", route="referral")
        await self.ok(n, "submit-opinion", "handler", handling_unit=unit, opinion="请核查处理")
        await self.ok(n, "approve-opinion", "leader", approved=True, comment="同意")
        return case

    async def conclude(self, number: str, *, rating: str = "satisfied",
                       handler: str = "handler") -> dict[str, Any]:
        """Self-handle a registered case to the end: accept, decide, feed back, callback."""
        await self.ok(number, "accept", handler, route="self")
        await self.ok(number, "report-result", handler, **REPORT)
        await self.ok(number, "give-feedback", handler, message="经查属实，已处理",
                      appeal_route="可向上级投诉中心申诉")
        return await self.ok(number, "record-satisfaction", handler, rating=rating)


@asynccontextmanager
async def center_stack(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment, **overrides: Any
) -> AsyncIterator[CenterStack]:
    """The app with the multi-center token file and a real worker on a fresh task queue; its
    evidence files go to a temporary directory unless `evidence_dir` is given."""
    overrides.setdefault("evidence_dir", Path(tempfile.mkdtemp(prefix="complaints-evidence-")))
    settings = api_settings(f"centers-{uuid.uuid4()}", tokens_file=TOKENS_FILE, **overrides)
    await pg_pool.execute("SELECT setval('complaint_number_seq', $1)",
                          secrets.randbelow(10**9) + 10**6)
    async with Worker(
        env.client, task_queue=settings.task_queue, workflows=[ComplaintWorkflow],
        activities=build_activities(pg_pool, env.client),
    ):
        app = create_app(settings, pool=pg_pool, temporal_client=env.client)
        try:
            async with asgi_client(app) as http:
                yield CenterStack(settings, app, http, pg_pool, env.client)
        finally:
            shutil.rmtree(settings.evidence_dir, ignore_errors=True)
