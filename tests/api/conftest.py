"""Fixtures of the API tests, on real components (tests/stack.py): `pg_pool` (a fresh migrated
database per test module, tests/fixtures_pg.py), `env` (a time-skipping server per module) and
`stack` (the app with the dev tokens); `provider`, a stand-in identity provider
(tests/api/idp.py). The feature folders that need other settings (the users of several centers,
small limits) override `stack` in their conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.api.idp import Provider
from tests.conftest import time_skipping_server
from tests.stack import Stack, running_stack

#: A time-skipping server per module: the API stamps `received_at` with the wall clock, so the
#: server's clock must not have been skipped ahead by other modules' tests.
env = time_skipping_server("module")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(pg_pool: asyncpg.Pool, env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    """The app with a real worker on a fresh task queue, for one test module."""
    async with running_stack(pg_pool, env) as s:
        yield s


@pytest.fixture
def provider() -> Iterator[Provider]:
    """A stand-in identity provider publishing the key `k1` (tests/api/idp.py)."""
    p = Provider()
    p.add_key("k1")
    yield p
    p.close()
