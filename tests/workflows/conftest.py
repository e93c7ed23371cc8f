"""Workflow tests get a time-skipping server each: time starts at today's instant for every
test, and no case of an earlier test can hold the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.conftest import start_time_skipping


@pytest_asyncio.fixture(loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    e = await start_time_skipping()
    yield e
    await e.shutdown()
