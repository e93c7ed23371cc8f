"""The one way this project connects to Temporal: address, namespace and the pydantic data
converter from the process's settings. The worker, the API, the reconciler and the operator
commands all call `connect`, so a connection setting is added in one place."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from config import Settings


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A Temporal client for `settings` (`lazy`: connect on first use, so a process can start
    while Temporal is still down)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
    )
