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
from tests.fixtures_pg import fresh_database
from tests.stack import asgi_client, auth, intake_body

T = TypeVar("T")

__all__ = ["asgi_client", "auth", "intake_body"]  # re-exported for the fault tests

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


# ------------------------------------------------------------------ shared by the issue-11 tests


@pytest_asyncio.fixture(loop_scope="session")
async def own_pg() -> AsyncIterator[Any]:
    """A PostgreSQL server of the test's own (migrated), so stopping it disturbs no one.

    Its data lives outside pytest's temporary root: the server runs as another system user,
    and a pytest run started meanwhile (by anyone) resets that root to mode 0700.
    """
    import shutil
    import tempfile

    from bench.stack import Postgres

    root = Path(tempfile.mkdtemp(prefix="complaints-faults-pg-"))
    root.chmod(0o755)
    pg = Postgres(root / "pg")
    try:
        pg.start()
        conn = await asyncpg.connect(pg.url)
        try:
            await db.migrate(conn)
        finally:
            await conn.close()
        yield pg
    finally:
        pg.close()
        shutil.rmtree(root, ignore_errors=True)


def _brief_state() -> Any:
    from domain.models import CaseState

    class BriefState(CaseState):
        """The case state, shown briefly when a wait fails."""

        def __repr__(self) -> str:
            return (f"<{self.number} {self.status.value} overdue={self.overdue} "
                    f"supervised={self.supervised} actions={[a.action for a in self.actions]} "
                    f"ignored={len(self.ignored_signals)}>")

    return BriefState


#: `CaseState` whose repr is one line (for `eventually`'s failure messages).
BriefState = _brief_state()


def complaint_input(number: str | None = None, *, due_in: float | None = None,
                    policy: str = "bench", **overrides: Any) -> Any:
    """A start input as the API builds it (no personal data).

    Args:
        due_in: the `bench` policy's acceptance deadline falls this many seconds from now: the
            complaint is dated (received and registered) 2 minutes minus `due_in` ago. Both
            dates are set, so the clock falls at the same instant whether it counts from
            `received_at` or from `registered_at` (R-10).
    """
    from datetime import UTC, datetime, timedelta

    from domain.models import Actor, Category, Channel, ComplaintInput, Form, Grade, Role

    now = datetime.now(UTC)
    at = now - timedelta(minutes=2) + timedelta(seconds=due_in) if due_in is not None else now
    values: dict[str, Any] = {
        "number": number or f"TS-FAULT-{uuid.uuid4().hex[:10]}",
        "complainant_ref": f"cref-{uuid.uuid4().hex}", "channel": Channel.HOTLINE,
        "form": Form.WRITTEN, "category": Category.ATTITUDE, "grade": Grade.BASIC,
        "respondent_unit": "tax-bureau", "respondent_unit_name": "某区税务局",
        "summary": "服务态度差 · 某区税务局", "received_at": at,
        "registered_by": Actor(id="intake-01", role=Role.INTAKE), "policy": policy,
        **overrides,
    }
    if due_in is not None and "registered_at" in ComplaintInput.model_fields:
        values.setdefault("registered_at", at)
    return ComplaintInput(**{k: v for k, v in values.items()
                             if k in ComplaintInput.model_fields})


async def update(handle: Any, name: str, inp: Any, **kwargs: Any) -> dict[str, Any]:
    """An Update by name; its answer as plain JSON (whole state before issue 11, a small
    `ActionResult` after: both have `status` and `allowed_actions`)."""
    result = await handle.execute_update(name, inp, **kwargs)
    return result if isinstance(result, dict) else result.model_dump(mode="json")


async def history_figures(handle: Any) -> tuple[int, int, list[str]]:
    """(events, bytes, names of failure events) of the handle's current run's history.

    A failed workflow task is a failure (the workflow code raised); a timed-out one is not (a
    worker that died with the task, e.g. SIGKILLed, times it out)."""
    from temporalio.api.enums.v1 import EventType

    bad = {EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
           EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED}
    history = await handle.fetch_history()
    failures = [EventType.Name(e.event_type) for e in history.events if e.event_type in bad]
    size = sum(e.ByteSize() for e in history.events)
    return len(history.events), size, failures


async def run_ids(client: Any, workflow_id: str) -> list[str]:
    """Every run of a workflow id (continue-as-new makes a chain of them), oldest first."""
    runs = [w async for w in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    return [w.run_id for w in sorted(runs, key=lambda w: w.start_time)]
