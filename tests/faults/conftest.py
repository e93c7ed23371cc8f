"""Fault tests on real components: a worker process that is SIGKILLed, a Temporal dev server
stopped and started on its SQLite file, a PostgreSQL server stopped under load, hostile input.

The processes come from `bench/stack.py` (the same pieces the benchmarks run); every wait polls
with a bound, and every process a test starts is ended by its pid when the test ends, pass or
fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

import db
from api.main import create_app
from bench.stack import Child
from config import Settings
from tests.api.conftest import asgi_client
from tests.fixtures_pg import fresh_database

T = TypeVar("T")

#: The API's deadline for every Temporal call in these tests (seconds).
RPC_TIMEOUT = 2.0
#: What "answered within its deadline" allows on top of RPC_TIMEOUT.
SLACK = 1.5


def temporal_address(env: WorkflowEnvironment) -> str:
    """host:port of the server behind `env` (for processes and the `temporal` CLI)."""
    return str(env.client.service_client.config.target_host)


def fault_settings(url: str, task_queue: str, **overrides: Any) -> Settings:
    """Settings of the API under test: the `bench` policy (limits in minutes), short deadlines."""
    values: dict[str, Any] = {
        "database_url": url, "task_queue": task_queue, "policy": "bench",
        "temporal_rpc_timeout_seconds": RPC_TIMEOUT, "db_pool_min": 1, "db_pool_max": 4,
        **overrides,
    }
    return Settings(**values)


def worker_child(log_dir: Path, *, address: str, url: str, task_queue: str,
                 name: str = "worker") -> Child:
    """`python worker.py` as a child process (not started), on `task_queue`."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address, "COMPLAINTS_DATABASE_URL": url,
        "COMPLAINTS_TASK_QUEUE": task_queue, "COMPLAINTS_GRACEFUL_SHUTDOWN_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    return Child(name, [sys.executable, "worker.py"], log_dir / f"{name}.log", env=env)


@contextlib.contextmanager
def ended(*children: Child) -> Iterator[None]:
    """End the children (by pid) when the block exits, however it exits."""
    try:
        yield
    finally:
        for child in children:
            child.stop(timeout=5)


@pytest.fixture
def task_queue() -> str:
    return f"faults-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def faults_db(pg_admin_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A migrated database of this module's own on the session's PostgreSQL: (url, pool)."""
    async with fresh_database(pg_admin_url) as url:
        pool = await db.create_pool(Settings(database_url=url, db_pool_min=1, db_pool_max=4))
        # Numbers are unique per database, workflow ids per Temporal server: start elsewhere.
        await pool.execute("SELECT setval('complaint_number_seq', $1)",
                           int(uuid.uuid4().int % 10**9) + 10**6)
        try:
            yield url, pool
        finally:
            await pool.close()


@contextlib.asynccontextmanager
async def api(settings: Settings, pool: asyncpg.Pool, client: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app, in-process, on the given pool and Temporal client."""
    app = create_app(settings, pool=pool, temporal_client=client)
    async with asgi_client(app) as http:
        yield http


async def eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], *, timeout: float, what: str
) -> T:
    """Poll `probe` until `ok(result)`; fail naming `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while True:
        result = await probe()
        if ok(result):
            return result
        if loop.time() > until:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {result!r})")
        await asyncio.sleep(0.1)
