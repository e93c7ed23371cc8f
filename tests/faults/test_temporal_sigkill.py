"""The Temporal dev server is SIGKILLed while the API takes intake and actions (issue 11).

`test_temporal_restart.py` stops the server politely between two steps; here it dies (SIGKILL)
in the middle of a burst of registrations and actions, stays down while clerks go on
registering, and is started again on the same SQLite file. The API (uvicorn) and `worker.py`
run as processes, as with `make run`.

No complaint is lost: every registration PostgreSQL holds gets its workflow (the ones made while
Temporal was down are started by the reconciler), every registration answered 201 has a number,
the actions cut by the kill are applied once when the client retries with its key, and the
cases take actions again.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from bench.stack import Child, DevServer, free_port, port_open, wait_until
from domain.models import CaseState
from tests.faults.conftest import (
    RPC_TIMEOUT,
    SLACK,
    auth,
    ended,
    eventually,
    history_figures,
    intake_body,
)

#: Registrations in the burst the kill cuts, and one at a time while the server is down.
BURST, DURING = 8, 4


def processes(tmp_path: Path, address: str, url: str, task_queue: str) -> tuple[Child, Child, int]:
    """`worker.py` and the API (uvicorn) with short deadlines and a quick reconciler."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address, "COMPLAINTS_DATABASE_URL": url,
        "COMPLAINTS_TASK_QUEUE": task_queue, "COMPLAINTS_GRACEFUL_SHUTDOWN_SECONDS": "2",
        "COMPLAINTS_TEMPORAL_RPC_TIMEOUT_SECONDS": str(RPC_TIMEOUT),
        "COMPLAINTS_INTAKE_START_TIMEOUT_SECONDS": str(RPC_TIMEOUT),
        "COMPLAINTS_RECONCILE_INTERVAL_SECONDS": "1",
        "COMPLAINTS_RECONCILE_MIN_AGE_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    worker = Child("worker", [sys.executable, "worker.py"], tmp_path / "worker.log", env=env)
    api = Child("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                        "--port", str(port), "--log-level", "warning", "--no-access-log"],
                tmp_path / "api.log", env=env)
    return worker, api, port


async def workflow_status(client: Client, number: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(number).describe()).status
    except RPCError:
        return None


async def test_temporal_sigkilled_during_intake_and_actions_loses_no_complaint(
    tmp_path: Path, faults_db: tuple[str, asyncpg.Pool]
) -> None:
    url, pool = faults_db
    server = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    task_queue = f"faults-sigkill-{uuid.uuid4().hex[:8]}"
    worker, api, port = processes(tmp_path, server.address, url, task_queue)
    try:
        with ended(api, worker):
            server.start()
            worker.start()
            api.start()
            wait_until(lambda: api.check_alive() or port_open(port), timeout=60, what="the API")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                         timeout=30) as http:

                async def register() -> httpx.Response:
                    return await http.post("/v1/complaints", headers=auth("intake"),
                                           json=intake_body())

                before = [await register() for _ in range(4)]
                assert all(r.status_code == 201 for r in before), [r.text for r in before]
                open_cases = [r.json()["number"] for r in before]
                await eventually(
                    lambda: pool.fetchval("SELECT count(*) FROM complaints WHERE number = ANY($1)"
                                          " AND version > 0", open_cases),
                    lambda n: n == len(open_cases), timeout=30, what="projected before the kill")
                keys = {n: f"accept-{uuid.uuid4().hex}" for n in open_cases}

                async def accept(number: str) -> httpx.Response:
                    return await http.post(
                        f"/v1/complaints/{number}/actions/accept", json={"route": "self"},
                        headers={**auth("handler"), "Idempotency-Key": keys[number]})

                # The burst: registrations and actions in flight when the server dies.
                burst = [asyncio.create_task(register()) for _ in range(BURST)]
                acts = [asyncio.create_task(accept(n)) for n in open_cases[:3]]
                await asyncio.sleep(0.15)
                assert server.child is not None
                server.child.kill()  # SIGKILL: no shutdown, whatever was in flight is cut
                answered = await asyncio.gather(*burst)
                acted = await asyncio.gather(*acts)

                # While it is down, clerks go on registering: each is answered within the
                # deadline, and a 201 carries a number (the case is being opened).
                during: list[httpx.Response] = []
                for _ in range(DURING):
                    t0 = time.monotonic()
                    r = await register()
                    took = time.monotonic() - t0
                    assert took < 2 * RPC_TIMEOUT + SLACK, took
                    during.append(r)
                t0 = time.monotonic()
                r = await accept(open_cases[3])  # an action needs Temporal: 503, in time
                assert time.monotonic() - t0 < RPC_TIMEOUT + SLACK
                assert r.status_code == 503, r.text
                assert int(r.headers["Retry-After"]) > 0

                for r in answered + during:
                    assert r.status_code in (201, 503), r.text  # never a 500
                    if r.status_code == 201:
                        assert r.json()["number"]
                down_answers = Counter(r.status_code for r in during)
                opened_during = [r.json()["number"] for r in during if r.status_code == 201]

                server.start()  # the same SQLite file and port
                client = await server.client()

                # No complaint lost: every registration in PostgreSQL gets its workflow, those
                # made while Temporal was down too (the reconciler starts them).
                numbers = [r["number"] for r in await pool.fetch("SELECT number FROM complaints")]
                answered_numbers = {r.json()["number"] for r in answered + during
                                    if r.status_code == 201}
                assert answered_numbers <= set(numbers)
                for number in numbers:
                    await eventually(lambda n=number: workflow_status(client, n),
                                     lambda st: st == WorkflowExecutionStatus.RUNNING,
                                     timeout=60, what=f"{number}'s workflow running")
                assert down_answers[201] == DURING, (
                    f"intake while Temporal was down answered {dict(down_answers)}: "
                    "expected 201 with a number (the case is being opened)")

                # The actions the kill cut are applied once when the client retries.
                for number, r in zip(open_cases[:3], acted, strict=True):
                    if r.status_code != 200:
                        r = await eventually(lambda n=number: accept(n),
                                             lambda r: r.status_code == 200, timeout=60,
                                             what=f"accept {number} retried")
                    assert r.json()["status"] == "investigating"
                r = await eventually(lambda: accept(open_cases[3]),
                                     lambda r: r.status_code == 200, timeout=60,
                                     what="an action after the restart")
                # Cases registered during the outage take actions too.
                for number in opened_during:
                    keys[number] = f"accept-{uuid.uuid4().hex}"
                    r = await eventually(lambda n=number: accept(n),
                                         lambda r: r.status_code == 200, timeout=60,
                                         what=f"accept {number} (registered while down)")
                    assert r.json()["status"] == "investigating"

                for number in numbers:
                    h = client.get_workflow_handle(number)
                    s = await h.query("state", result_type=CaseState)
                    counted = Counter(a.action for a in s.actions)
                    assert counted["register"] == 1 and counted["accept"] <= 1, (number, counted)
                    accepted = number in open_cases or number in opened_during
                    assert counted["accept"] == int(accepted), (number, counted)
                    _, _, failures = await history_figures(h)
                    assert not failures, (number, failures)

                # The read model catches up with every case; each acknowledgement once.
                await eventually(
                    lambda: pool.fetchval("SELECT count(*) FROM complaints WHERE version = 0"),
                    lambda n: n == 0, timeout=60, what="every case projected")
                acks = await pool.fetch("SELECT number, count(*) AS n FROM notifications"
                                        " WHERE kind = 'acknowledgement' GROUP BY number")
                assert {r["number"]: r["n"] for r in acks} == dict.fromkeys(numbers, 1)
            api.stop()
            worker.stop()
    finally:
        server.stop()
