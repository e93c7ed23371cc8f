"""Property-based fuzz of the OpenAPI schema (schemathesis): no input makes the API answer 5xx.

The app is built without a pool or client, so its lifespan opens both in schemathesis' own
event loop (ASGI calls run there); a real worker serves the cases it registers meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from tests.stack import TOKENS, database_and_worker

if TYPE_CHECKING:
    import schemathesis

#: Generated requests per operation (positive and negative data mixed).
EXAMPLES_PER_OPERATION = 12


def fuzz(app: FastAPI) -> Counter[tuple[str, int]]:
    """Send requests generated from the app's own OpenAPI document; count (operation, status).

    Hypothesis and schemathesis are imported here, not at the top: about 2 s of imports that
    `pytest -m "not slow"` (which collects this module, then deselects it) would pay for nothing.
    """
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.python.asgi import shutdown_lifespans

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tokens = st.sampled_from([*TOKENS.values(), "not-a-token"])
    seen: Counter[tuple[str, int]] = Counter()
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                              operation.as_strategy(GenerationMode.NEGATIVE))

            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                derandomize=True, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @hypothesis.given(case=cases, token=tokens)
            def no_server_error(case: schemathesis.Case, token: str) -> None:
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                seen[(case.operation.label, response.status_code)] += 1
                case.validate_response(response, checks=[not_a_server_error])

            no_server_error()
    finally:
        shutdown_lifespans()
    return seen


async def test_openapi_fuzz_finds_no_server_error(
    pg_admin_url: str, env: WorkflowEnvironment
) -> None:
    async with database_and_worker(pg_admin_url, env, prefix="fuzz") as (settings, _pool):
        # Hypothesis is synchronous: run it in a thread so this loop keeps the worker going.
        seen = await asyncio.to_thread(fuzz, create_app(settings))
    operations = {op for op, _ in seen}
    spec = create_app(settings).openapi()
    assert operations == {f"{method.upper()} {path}" for path, ops in spec["paths"].items()
                          for method in ops}
    assert any(200 <= status < 300 for _, status in seen), seen
