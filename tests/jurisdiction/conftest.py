"""Fixtures: a time-skipping Temporal server per module and the multi-center app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.conftest import start_time_skipping
from tests.jurisdiction.stack import CenterStack, center_stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per module: no other module's skipped clock makes cases overdue."""
    e = await start_time_skipping()
    yield e
    await e.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(pg_pool: asyncpg.Pool, env: WorkflowEnvironment) -> AsyncIterator[CenterStack]:
    async with center_stack(pg_pool, env) as s:
        yield s
