"""Fixtures: the multi-center app with small evidence limits and its own evidence directory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.conftest import start_time_skipping
from tests.jurisdiction.stack import CenterStack, center_stack

#: Small limits, so the tests stay fast: 256 KiB per file, 600 KiB per case.
MAX_FILE = 256 * 1024
MAX_CASE = 600 * 1024


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per module: no other module's skipped clock makes cases overdue."""
    e = await start_time_skipping()
    yield e
    await e.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CenterStack]:
    async with center_stack(
        pg_pool, env, evidence_dir=tmp_path_factory.mktemp("evidence"),
        evidence_max_file_bytes=MAX_FILE, evidence_max_case_bytes=MAX_CASE,
    ) as s:
        yield s
