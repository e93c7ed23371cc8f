"""The app with the users of several centers (tests/tokens.json), small evidence limits and its
own evidence directory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.stack import TOKENS_FILE, Stack, running_stack

#: Small limits, so the tests stay fast: 256 KiB per file, 600 KiB per case.
MAX_FILE = 256 * 1024
MAX_CASE = 600 * 1024


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with running_stack(
        pg_pool, env, prefix="evidence", tokens_file=TOKENS_FILE,
        evidence_dir=tmp_path_factory.mktemp("evidence"),
        evidence_max_file_bytes=MAX_FILE, evidence_max_case_bytes=MAX_CASE,
    ) as s:
        yield s
