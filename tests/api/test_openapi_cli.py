"""The OpenAPI document tells the truth: `schemathesis run --checks all` (the CLI, every phase,
stateful included) against a real uvicorn finds no failure, once per dev token.

The app runs on a real stack: embedded PostgreSQL (a fresh database), the Temporal time-skipping
server and a real worker, so Updates answer. The CLI runs as a subprocess while this event loop
serves the app and the worker. Bounded: a fixed number of examples per operation, a fixed seed
(set `OPENAPI_CLI_SEED` to explore others), a per-request timeout and a hard limit per run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from tests.stack import TOKENS, database_and_worker, served

#: Test cases per operation and phase; the stateful phase's scenarios are bounded alike.
MAX_EXAMPLES = 5
#: The coverage phase (every boundary of every schema, unbounded by MAX_EXAMPLES) takes ~40 s
#: a token on 2 cores (~80 s at 58 operations on a busy machine): it runs for the first token
#: only (sorted: dev-auditor); set OPENAPI_CLI_COVERAGE=all to run it for every token.
COVERAGE_FOR = "dev-auditor"
#: Tokens run this many at a time against the one server.
CONCURRENCY = 2
#: Seconds one CLI run may take before the test fails it (a bound on a hung run: the run with
#: the coverage phase took 120 s and more at 58 operations).
RUN_LIMIT = 240.0
CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"
SEED = int(os.environ.get("OPENAPI_CLI_SEED", "20240612"))


def phases(token: str) -> list[str]:
    coverage = token == COVERAGE_FOR or os.environ.get("OPENAPI_CLI_COVERAGE") == "all"
    return ["examples", *(["coverage"] if coverage else []), "fuzzing", "stateful"]


def schemathesis_bin() -> str:
    here = Path(sys.executable).parent / "schemathesis"
    found = str(here) if here.exists() else shutil.which("schemathesis")
    assert found, "the schemathesis CLI is missing: it comes with the test extras (make install)"
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def base_url(pg_admin_url: str, env: WorkflowEnvironment) -> AsyncIterator[str]:
    """The app behind a real uvicorn on a free port, with a worker; yields its URL."""
    async with database_and_worker(pg_admin_url, env, prefix="openapi-cli") as (settings, pool):
        async with served(create_app(settings, pool=pool, temporal_client=env.client)) as url:
            yield url


async def run_cli(base_url: str, token: str) -> tuple[int, str]:
    """One `schemathesis run` with `token`; (exit code, output)."""
    argv = [
        schemathesis_bin(), "--config-file", str(CONFIG), "run", f"{base_url}/openapi.json",
        "--checks", "all",
        "--phases", ",".join(phases(token)),
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--request-timeout", "10",
        "--workers", "1",
        "--generation-database", "none",
        "--no-color",
        "--header", f"Authorization: Bearer {token}",
    ]
    with tempfile.TemporaryDirectory(prefix="openapi-cli-") as tmp:
        log = Path(tmp) / "out.txt"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=tmp, stdout=out, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},
            )
            try:
                code = await asyncio.wait_for(proc.wait(), RUN_LIMIT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                code = -1
        text = log.read_text(errors="replace")
    if code == -1:
        text += f"\n(killed after {RUN_LIMIT:g} s)"
    return code, text


async def test_schemathesis_cli_finds_no_failure_with_any_dev_token(base_url: str) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(token: str) -> tuple[str, int, str]:
        async with gate:
            return (token, *await run_cli(base_url, token))

    results = await asyncio.gather(*(one(t) for t in sorted(TOKENS.values())))
    failed = {token: text for token, code, text in results if code != 0}
    for token, text in failed.items():
        print(f"===== schemathesis with {token} =====\n{text[-30000:]}")
    assert not failed, f"schemathesis found failures with {sorted(failed)} (output above)"
