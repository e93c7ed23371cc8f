"""The app with the users of several centers (tests/tokens.json)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.stack import TOKENS_FILE, Stack, running_stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(pg_pool: asyncpg.Pool, env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with running_stack(pg_pool, env, prefix="centers", tokens_file=TOKENS_FILE) as s:
        yield s
