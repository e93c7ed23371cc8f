"""Dependencies down or slow, limits, health, the error shape, the OpenAPI manual."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.auth import User
from api.complaints.service import CaseService
from api.errors import ApiError
from api.main import create_app
from domain.intake import ComplaintCreate
from domain.models import AcceptInput, Action, Actor, Role, Route
from tests.stack import RPC_TIMEOUT, Stack, api_settings, asgi_client, auth, intake_body

#: What "within the deadline" allows on top of the RPC timeout (scheduling, a PG round trip).
SLACK = 1.5


@pytest_asyncio.fixture(loop_scope="session")
async def unreachable() -> Client:
    """A client for a Temporal server that is not there (connects lazily, fails each call)."""
    return await Client.connect("127.0.0.1:1", lazy=True, data_converter=pydantic_data_converter)


@pytest_asyncio.fixture(loop_scope="session")
async def no_pg() -> AsyncIterator[asyncpg.Pool]:
    """A pool for a PostgreSQL that is not there (min_size=0: nothing is opened up front)."""
    pool = await asyncpg.create_pool(
        "postgresql://postgres@/none?host=/nonexistent-socket-dir", min_size=0, max_size=1
    )
    yield pool
    await pool.close()


# --- health ----------------------------------------------------------------------------------


async def test_healthz_is_always_ok(stack: Stack, unreachable: Client) -> None:
    down = create_app(stack.settings, pool=stack.pool, temporal_client=unreachable)
    async with asgi_client(down) as http:
        r = await http.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_when_everything_answers(stack: Stack) -> None:
    r = await stack.http.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"temporal": "ok", "postgres": "ok"}}


async def test_readyz_says_which_dependency_is_down(
    stack: Stack, unreachable: Client, no_pg: asyncpg.Pool
) -> None:
    for pool, client, down in ((stack.pool, unreachable, "temporal"),
                               (no_pg, stack.client, "postgres")):
        app = create_app(stack.settings, pool=pool, temporal_client=client)
        async with asgi_client(app) as http:
            t0 = time.monotonic()
            r = await http.get("/readyz")
            assert time.monotonic() - t0 < 2 + SLACK
        assert r.status_code == 503 and r.headers["Retry-After"]
        body = r.json()
        assert body["status"] == "unavailable"
        assert body["checks"][down].startswith("unavailable")
        up = ({"temporal", "postgres"} - {down}).pop()
        assert body["checks"][up] == "ok"


# --- Temporal, the worker or PostgreSQL down -------------------------------------------------


async def test_temporal_unreachable_answers_503_fast(stack: Stack, unreachable: Client) -> None:
    n = (await stack.register())["number"]
    down = create_app(stack.settings, pool=stack.pool, temporal_client=unreachable)
    async with asgi_client(down) as http:
        calls = [
            http.get(f"/v1/complaints/{n}", headers=auth("handler")),
            http.post(f"/v1/complaints/{n}/actions/accept", json={"route": "self"},
                      headers=auth("handler")),
            http.post(f"/v1/complaints/{n}/signals/escalate", json={"reason": "x"},
                      headers=auth("leader")),
            http.get(f"/v1/complaints/{n}/history", headers=auth("auditor")),
        ]
        for call in calls:
            t0 = time.monotonic()
            r = await call
            assert time.monotonic() - t0 < RPC_TIMEOUT + SLACK
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "temporal_unavailable"
            assert int(r.headers["Retry-After"]) > 0
        # The read model does not need Temporal; nor does intake (the case is being opened).
        listing = await http.get("/v1/complaints", headers=auth("handler"))
        assert listing.status_code == 200
        t0 = time.monotonic()
        r = await http.post("/v1/complaints", json=intake_body(), headers=auth("intake"))
        assert time.monotonic() - t0 < RPC_TIMEOUT + SLACK
        assert r.status_code == 201 and r.json()["opening"] is True, r.text


async def test_no_worker_answers_503_within_the_deadline(stack: Stack) -> None:
    settings = api_settings(f"nobody-{uuid.uuid4()}", temporal_rpc_timeout_seconds=1.5)
    app = create_app(settings, pool=stack.pool, temporal_client=stack.client)
    async with asgi_client(app) as http:
        t0 = time.monotonic()
        created = await http.post("/v1/complaints", json=intake_body(), headers=auth("intake"))
        # Registered (PostgreSQL and the workflow start need no worker), with its deadline.
        assert created.status_code == 201 and set(created.json()["deadlines"]) == {"acceptance"}
        assert time.monotonic() - t0 < 1.5 + SLACK
        n = created.json()["number"]
        t0 = time.monotonic()
        r = await http.post(f"/v1/complaints/{n}/actions/accept", json={"route": "self"},
                            headers=auth("handler"))
        assert time.monotonic() - t0 < 1.5 + SLACK
    assert r.status_code == 503 and r.json()["error"]["code"] == "temporal_timeout"
    assert "worker" in r.json()["error"]["message"]


async def test_update_without_worker_fails_within_the_deadline(stack: Stack) -> None:
    settings = api_settings(f"nobody-{uuid.uuid4()}", temporal_rpc_timeout_seconds=1.5)
    cases = CaseService(stack.pool, stack.client, settings)
    user = User(id="handler-01", role=Role.HANDLER)
    created = await cases.register(
        ComplaintCreate.model_validate(intake_body()), User(id="intake-01", role=Role.INTAKE),
        key=None,
    )
    inp = AcceptInput(route=Route.SELF, actor=Actor(id=user.id, role=user.role))
    t0 = time.monotonic()
    with pytest.raises(ApiError) as e:
        await cases.update(created.number, Action.ACCEPT, inp, None)
    assert time.monotonic() - t0 < 1.5 + SLACK
    assert e.value.http_status == 503 and e.value.code == "temporal_timeout"
    assert e.value.headers["Retry-After"]


async def test_postgres_down_answers_503(stack: Stack, no_pg: asyncpg.Pool) -> None:
    app = create_app(stack.settings, pool=no_pg, temporal_client=stack.client)
    async with asgi_client(app) as http:
        for r in (await http.get("/v1/complaints", headers=auth("handler")),
                  await http.post("/v1/complaints", json=intake_body(), headers=auth("intake")),
                  await http.get("/v1/public/complaints/TS-1",
                                 headers={"X-Access-Code": "ABCDEFGH"})):
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "database_unavailable"
            assert r.headers["Retry-After"]


# --- limits and shapes -----------------------------------------------------------------------


async def test_body_over_the_limit_is_413(stack: Stack) -> None:
    big = intake_body(facts="事" * (stack.settings.max_body_bytes // 3 + 10))
    r = await stack.http.post("/v1/complaints", json=big, headers=auth("intake"))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"facts": "'
        for _ in range(stack.settings.max_body_bytes // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    r = await stack.http.post("/v1/complaints", content=chunks(),
                              headers={**auth("intake"), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


async def test_unknown_route_and_method_use_the_error_shape(stack: Stack) -> None:
    r = await stack.http.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await stack.http.delete("/v1/complaints", headers=auth("handler"))
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_stats_needs_a_token(stack: Stack) -> None:
    assert (await stack.http.get("/v1/stats")).status_code == 401


async def test_a_bug_is_a_logged_generic_500(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr(CaseService, "search", broken)
    r = await stack.http.get("/v1/complaints", headers=auth("handler"))
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "internal_error" and "secret" not in r.text
    assert "secret internals" in caplog.text


# --- the manual ------------------------------------------------------------------------------


async def test_openapi_documents_every_route_body_and_field(stack: Stack) -> None:
    spec = (await stack.http.get("/openapi.json")).json()
    paths = spec["paths"]
    for action in Action:
        op = paths[f"/v1/complaints/{{number}}/actions/{action.value}"]["post"]
        assert op["description"] and op["summary"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert "actor" not in body["properties"]
        assert all(p.get("description") for p in body["properties"].values()), ref
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op.get("description") or op.get("summary"), (method, path)
    intake = spec["components"]["schemas"]["ComplaintCreate"]
    assert intake["examples"] and all(p.get("description")
                                      for p in intake["properties"].values())
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
    assert (await stack.http.get("/docs")).status_code == 200
