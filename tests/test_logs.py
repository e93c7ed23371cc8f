"""Structured logs (logs.py): a scripted case's log lines, from the API and the worker, are one
JSON object each, carry the case number and the workflow and run ids, and hold none of the
complainant's personal data (R-32, R-33).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from temporalio.testing import WorkflowEnvironment

import logs
from config import ROOT
from tests.stack import running_stack


@contextmanager
def captured(level: int = logging.INFO) -> Iterator[io.StringIO]:
    """Every record of the process at the production level (INFO), formatted by
    logs.JsonFormatter, into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_a_case_logs_json_lines_with_its_ids_and_no_personal_data(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment
) -> None:
    # Every line at INFO goes through the JSON formatter here, on a worker whose sandbox is cold:
    # on a loaded machine an Update took longer than the tests' usual 3 s deadline (a
    # temporal_timeout, not what this test is about), so this one waits longer.
    async with running_stack(pg_pool, env, prefix="logs", temporal_rpc_timeout_seconds=15.0) as stack:
        with captured() as out:
            case = await stack.register()
            n = case["number"]
            await stack.conclude(n)
            await stack.view(n)
            await stack.archive_row(n)
    person = case["request"]["complainant"]
    lines = [line for line in out.getvalue().splitlines() if line]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    # the test's own HTTP client (httpx) is not the system under test
    records = [r for r in records if r["logger"] != "httpx"]
    assert all(isinstance(r, dict) and {"time", "level", "logger", "message"} <= set(r) for r in records)
    for secret in (person["name"], person["phone"], person["address"]):
        assert not [line for line in lines if secret in line], secret
    ours = [r for r in records if n in r["message"] or r.get("case_number") == n]
    assert ours, "the case logged nothing"
    for r in ours:
        assert r.get("case_number") == n and r.get("workflow_id") == n, r
    # the worker's lines (workflow and activities) have the run too
    worker = [r for r in ours if "activity_type" in r or r["logger"].startswith("temporalio")]
    assert worker, "no line from the worker"
    assert all(r.get("run_id") for r in worker), worker
    # nothing logged during the case lacks its ids (lines of other cases have their own)
    assert all(r.get("case_number") for r in records), [r for r in records if not r.get("case_number")]


def test_access_lines_lose_their_query_string() -> None:
    """uvicorn's access line: a search may carry a name or phone number in the query string."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/v1/complaints?q=13800001111", "1.1", 200),
        None,
    )
    with logs.case_context("TS-1"):
        line = json.loads(logs.JsonFormatter().format(record))
    assert "13800001111" not in json.dumps(line)
    assert line["message"] == '127.0.0.1:5 - "GET /v1/complaints HTTP/1.1" 200'
    assert line["case_number"] == line["workflow_id"] == "TS-1"


def test_uvicorn_log_config_file_is_the_modules() -> None:
    """`uvicorn --log-config deploy/app/logging.json` (compose, make run) = logs.dict_config()."""
    path = ROOT / "deploy" / "app" / "logging.json"
    assert json.loads(path.read_text(encoding="utf-8")) == logs.dict_config(), (
        "regenerate: python logs.py > deploy/app/logging.json"
    )


def test_worker_api_and_scripts_log_json() -> None:
    """In processes of their own: `logs.configure()` as worker.py calls it, and the file uvicorn
    loads; uvicorn's own loggers go to the same JSON handler."""
    for setup in (
        "logs.configure('INFO', 'json')",
        "logging.config.dictConfig(json.load(open('deploy/app/logging.json')))",
    ):
        code = (
            f"import json, logging, logging.config, logs; {setup}; "
            "logging.getLogger('complaints.worker').info('worker on %s', 'q'); "
            "logging.getLogger('uvicorn.error').info('Started server process')"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        )
        first, second = (json.loads(line) for line in done.stderr.strip().splitlines())
        assert first["message"] == "worker on q" and first["logger"] == "complaints.worker"
        assert second["logger"] == "uvicorn.error", setup


def test_warnings_and_tracebacks_go_through_the_personal_data_guard() -> None:
    """What went wrong quotes what it was given: a pydantic error its input, a warning whatever
    the caller put in. Neither reaches the log line (R-32, R-33)."""
    from pydantic import BaseModel, field_validator

    class Complainant(BaseModel):
        name: str

        @field_validator("name")
        @classmethod
        def short(cls, v: str) -> str:
            raise ValueError("too long")

    given = {"name": "张三丰 13812345678"}  # not on a line the traceback quotes
    with captured() as out:
        log = logging.getLogger("complaints.test")
        try:
            Complainant(**given)
        except ValueError:
            log.exception("intake refused")
        log.warning("SMTP refused recipient 13912345678 (李四)")
        log.info("validation: %s", "input_value='王五 13712345678', input_type=str")
    text = out.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3 and "exception" in lines[0]
    for secret in ("13812345678", "张三丰", "13912345678", "13712345678", "王五"):
        assert secret not in text, secret
    assert "ValidationError" in lines[0]["exception"] and "[电话]" in lines[1]["message"]


async def test_the_sdk_core_logs_json_lines_too(env: WorkflowEnvironment) -> None:
    """The worker's runtime forwards the SDK core's own lines (Rust, normally text on stderr)
    to Python logging: against the test server a worker with activities warns that the server
    does not preserve heartbeat details."""
    from temporalio import activity
    from temporalio.client import Client
    from temporalio.worker import Worker

    @activity.defn(name="logs_noop")
    async def noop() -> None:
        return None

    from config import Settings
    from worker import sdk_runtime
    from workflows.complaint import ComplaintWorkflow

    runtime = sdk_runtime(Settings(metrics_address=""))
    client = await Client.connect(
        env.client.service_client.config.target_host, namespace=env.client.namespace, runtime=runtime
    )
    with captured() as out:
        queue = f"logs-{uuid.uuid4()}"
        async with Worker(client, task_queue=queue, workflows=[ComplaintWorkflow], activities=[noop]):
            for _ in range(50):
                if "temporalio.core" in out.getvalue():
                    break
                await asyncio.sleep(0.1)
    core = [json.loads(line) for line in out.getvalue().splitlines() if "temporalio.core" in line]
    assert core and all(r["logger"].startswith("temporalio.core") for r in core)
