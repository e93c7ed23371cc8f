"""Intake that never loses a complaint, and the R-10 intake rules (issue 11).

The registration is durable in PostgreSQL first; when the workflow cannot be started at once
(Temporal unreachable) the clerk still gets the number (`opening`), staff see the case, and the
reconciler (activities/reconciler.py) starts it: same workflow id, same start input, once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.background import stop_task
from activities.deadlines import compute
from activities.reconciler import reconcile_once, start_reconciler
from api.main import create_app
from config import Settings
from domain import policies
from domain.models import Actor, CaseState, ComplaintInput, DeadlineKind, DeadlineSpec, Role
from domain.workdays import BEIJING
from tests.stack import Stack, api_settings, asgi_client, auth, eventually, intake_body

NUMBER = re.compile(r"^TS-\d{8}-\d{5,}$")


@pytest_asyncio.fixture(loop_scope="session")
async def unreachable() -> Client:
    """A client for a Temporal server that is not there (connects lazily, fails each call)."""
    return await Client.connect("127.0.0.1:1", lazy=True, data_converter=pydantic_data_converter)


def reconciler_settings(stack: Stack, **overrides: object) -> Settings:
    """The stack's settings with no minimum age (the test's rows are fresh)."""
    return api_settings(stack.settings.task_queue, reconcile_min_age_seconds=0, **overrides)


async def start_input(client: Client, number: str) -> ComplaintInput:
    """The input the workflow `number` was started with (its first history event)."""
    async for event in client.get_workflow_handle(number).fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [inp] = await client.data_converter.decode(payloads, [ComplaintInput])
        return inp
    raise AssertionError(f"no history for {number}")


async def register_while_down(
    stack: Stack, unreachable: Client, **overrides: object
) -> dict[str, object]:
    down = create_app(stack.settings, pool=stack.pool, temporal_client=unreachable)
    body = intake_body(**overrides)
    async with asgi_client(down) as http:
        t0 = time.monotonic()
        r = await http.post("/v1/complaints", json=body, headers=auth("intake"))
        assert time.monotonic() - t0 < stack.settings.intake_start_timeout_seconds + 1.5
    assert r.status_code == 201, r.text
    return {**r.json(), "request": body}


# --- Temporal unreachable at intake ------------------------------------------------------------


async def test_intake_while_temporal_is_unreachable_registers_and_the_reconciler_starts_it(
    stack: Stack, unreachable: Client
) -> None:
    down = create_app(stack.settings, pool=stack.pool, temporal_client=unreachable)
    body = intake_body()
    async with asgi_client(down) as http:
        r = await http.post("/v1/complaints", json=body, headers=auth("intake"))
        assert r.status_code == 201, r.text
        created = r.json()
        n = created["number"]
        assert NUMBER.match(n) and re.fullmatch(r"[2-9A-HJKMNP-Z]{8}", created["access_code"])
        assert created["status"] == "registered" and created["opening"] is True
        assert "正在开启" in created["message"] and "being opened" in created["message"]

        # Durable in PostgreSQL, with who registered it and why the start failed.
        row = await stack.row(n)
        assert row is not None and not row["workflow_started"]
        assert row["start_attempts"] == 1 and row["last_start_error"]
        person = await stack.pool.fetchval(
            "SELECT name FROM complainants WHERE ref = $1", row["complainant_ref"])
        assert person == body["complainant"]["name"]

        # the deadline in the answer counts from the registration instant.
        limit = policies.get(row["policy"], row["policy_version"]).limit(DeadlineKind.ACCEPTANCE)
        due = compute(DeadlineSpec(kind=DeadlineKind.ACCEPTANCE, start=row["registered_at"],
                                   amount=limit.amount, unit=limit.unit)).due_at
        assert datetime.fromisoformat(created["deadlines"]["acceptance"]) == due

        # Staff see it in the list (the read model needs no Temporal) ...
        listing = await http.get("/v1/complaints", params={"q": n}, headers=auth("handler"))
        assert listing.status_code == 200, listing.text
        [item] = listing.json()["data"]
        assert item["number"] == n and item["status"] == "registered" and item["opening"] is True
        # ... and open it: a minimal view from PostgreSQL, no actions yet.
        got = await http.get(f"/v1/complaints/{n}", headers=auth("handler"))
        assert got.status_code == 200, got.text
        view = got.json()
        assert view["status"] == "registered" and view["opening"] is True
        assert view["allowed_actions"] == []
        assert view["complainant"]["name"] == body["complainant"]["name"]
        assert view["facts"] == body["facts"]
        assert [d["kind"] for d in view["deadlines"]] == ["acceptance"]
        # Redaction by role holds: the clerk gets no personal data, a unit not even the case.
        clerk = (await http.get(f"/v1/complaints/{n}", headers=auth("intake"))).json()
        assert clerk["complainant"] is None and clerk["facts"] is None
        assert (await http.get(f"/v1/complaints/{n}", headers=auth("tax"))).status_code == 404
        unit_list = await http.get("/v1/complaints", params={"q": n}, headers=auth("tax"))
        assert unit_list.json()["count"] == 0

    # With Temporal up but the workflow not started, an action is refused as "being opened".
    r = await stack.act(n, "accept", "handler", route="self")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "case_opening"
    assert r.json()["error"]["allowed_actions"] == []

    # The reconciler starts it on the real server: id = number, the same start input.
    settings = reconciler_settings(stack)
    assert await reconcile_once(stack.pool, stack.client, settings) >= 1
    row = await stack.row(n)
    assert row["workflow_started"] and row["last_start_error"] is None
    handle = stack.client.get_workflow_handle(n)
    desc = await handle.describe()
    assert desc.id == n and desc.workflow_type == "ComplaintWorkflow"
    inp = await start_input(stack.client, n)
    assert inp.registered_at == row["registered_at"]
    assert inp.received_at == row["received_at"]
    assert inp.complainant_ref == row["complainant_ref"]
    assert inp.registered_by == Actor(id="intake-01", role=Role.INTAKE)

    # Twice starts nothing twice.
    assert await reconcile_once(stack.pool, stack.client, settings) == 0
    # A row whose mark was lost (a crash between start and mark) is found started for the
    # same row: counted as started, no second run. First the run's registration projection
    # lands: it sets `workflow_started`, and one landing after the UPDATE below would undo it.
    version = (await handle.query("state", result_type=CaseState)).version
    projected = await eventually(lambda: stack.row(n), lambda r: r["version"] >= version)
    assert projected["version"] >= version
    await stack.pool.execute(
        "UPDATE complaints SET workflow_started = false, next_start_at = NULL WHERE number = $1", n)
    assert await reconcile_once(stack.pool, stack.client, settings) == 1
    assert (await handle.describe()).run_id == desc.run_id
    assert (await stack.row(n))["workflow_started"]

    # Now the case is the workflow's: no longer opening, actions allowed.
    got = await stack.http.get(f"/v1/complaints/{n}", headers=auth("handler"))
    assert got.status_code == 200 and got.json()["opening"] is False
    assert "accept" in got.json()["allowed_actions"]


async def test_reconciler_retries_while_temporal_is_down_and_never_double_starts(
    stack: Stack, unreachable: Client, caplog: pytest.LogCaptureFixture
) -> None:
    numbers = [(await register_while_down(stack, unreachable))["number"] for _ in range(4)]
    settings = reconciler_settings(stack)

    # Temporal still down: nothing starts, each row says why and waits (backoff); the backlog
    # is logged for operators.
    caplog.set_level(logging.INFO, logger="complaints.reconciler")
    assert await reconcile_once(stack.pool, unreachable, settings) == 0
    assert "intake backlog: 4 registration(s) without a workflow" in caplog.text
    rows = [await stack.row(n) for n in numbers]
    assert all(not r["workflow_started"] and r["start_attempts"] == 2 for r in rows)
    assert all(r["last_start_error"] and r["next_start_at"] for r in rows)
    assert await reconcile_once(stack.pool, stack.client, settings) == 0  # backing off

    # Back up: two reconcilers at once share the rows, each started exactly once.
    await stack.pool.execute(
        "UPDATE complaints SET next_start_at = NULL WHERE number = ANY($1)", numbers)
    small = reconciler_settings(stack, reconcile_batch_size=2)
    counts = await asyncio.gather(reconcile_once(stack.pool, stack.client, small),
                                  reconcile_once(stack.pool, stack.client, small))
    while sum(counts) < len(numbers):
        more = await reconcile_once(stack.pool, stack.client, small)
        assert more, counts
        counts.append(more)
    assert sum(counts) == len(numbers)
    for n in numbers:
        assert (await stack.row(n))["workflow_started"]
        assert (await start_input(stack.client, n)).number == n


async def test_the_worker_runs_the_reconciler_in_the_background(
    stack: Stack, unreachable: Client
) -> None:
    n = (await register_while_down(stack, unreachable))["number"]
    settings = reconciler_settings(stack, reconcile_interval_seconds=0.1)
    stop = asyncio.Event()
    task = start_reconciler(stack.pool, stack.client, settings, stop)
    assert task is not None and start_reconciler(None, stack.client, settings, stop) is None
    try:
        row = await eventually(lambda: stack.row(n), lambda r: r["workflow_started"])
        assert row["workflow_started"]
    finally:
        stop.set()
        await stop_task(task, settings)
    assert task.done() and task.exception() is None
    assert (await start_input(stack.client, n)).registered_at == row["registered_at"]


async def test_reconciler_leaves_a_number_held_by_another_case(
    stack: Stack, unreachable: Client
) -> None:
    case = await register_while_down(stack, unreachable)
    n = case["number"]
    await stack.client.start_workflow(
        "ComplaintWorkflow",
        ComplaintInput(number=n, complainant_ref="cref-outside", channel="web", form="written",
                       category="other", respondent_unit="tax-bureau",
                       received_at=datetime.now(BEIJING), registered_by=Actor(id="cli", role="system")),
        id=n, task_queue="nobody-polls-this",
    )
    assert await reconcile_once(stack.pool, stack.client, reconciler_settings(stack)) == 0
    row = await stack.row(n)
    assert not row["workflow_started"] and "taken" in row["last_start_error"]
    assert row["complainant_ref"] != "cref-outside"


async def test_retry_with_the_same_key_after_a_failed_start_starts_it(
    stack: Stack, unreachable: Client
) -> None:
    down = create_app(stack.settings, pool=stack.pool, temporal_client=unreachable)
    body, key = intake_body(), {"Idempotency-Key": f"k-{time.time_ns()}"}
    async with asgi_client(down) as http:
        first = await http.post("/v1/complaints", json=body, headers={**auth("intake"), **key})
    assert first.status_code == 201 and first.json()["opening"] is True
    again = await stack.http.post("/v1/complaints", json=body, headers={**auth("intake"), **key})
    assert again.status_code == 201, again.text
    assert again.json()["number"] == first.json()["number"]
    assert again.json()["opening"] is False and again.json()["message"] is None
    assert (await stack.row(first.json()["number"]))["workflow_started"]


# --- received_at -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "received", ["1970-01-01T00:00:00+08:00", "1900-01-01T09:00:00", "ancient"]
)
async def test_received_at_older_than_the_window_is_refused(stack: Stack, received: str) -> None:
    if received == "ancient":  # just outside the default window of 30 days
        received = (datetime.now(BEIJING) - timedelta(days=31)).isoformat()
    r = await stack.http.post("/v1/complaints", json=intake_body(received_at=received),
                              headers=auth("intake"))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert [f["field"] for f in err["fields"]] == ["received_at"]
    assert "30 days" in err["fields"][0]["message"]


async def test_received_at_within_the_window_is_accepted_and_acceptance_counts_from_registration(
    stack: Stack,
) -> None:
    received = (datetime.now(BEIJING) - timedelta(days=10)).replace(microsecond=0)
    case = await stack.register(received_at=received.isoformat())
    row = await stack.row(case["number"])
    assert row["received_at"] == received
    limit = policies.get(row["policy"], row["policy_version"]).limit(DeadlineKind.ACCEPTANCE)

    def due_from(start: datetime) -> datetime:
        return compute(DeadlineSpec(kind=DeadlineKind.ACCEPTANCE, start=start,
                                    amount=limit.amount, unit=limit.unit)).due_at

    shown = datetime.fromisoformat(case["deadlines"]["acceptance"])
    assert shown == due_from(row["registered_at"]) != due_from(received)
    assert shown > datetime.now(BEIJING)  # not overdue the moment it is registered
    # The workflow was started with the registration instant (R-10 counts from it).
    assert (await start_input(stack.client, case["number"])).registered_at == row["registered_at"]

    # The window is a setting.
    narrow = create_app(api_settings(stack.settings.task_queue, received_at_max_age_days=5),
                        pool=stack.pool, temporal_client=stack.client)
    async with asgi_client(narrow) as http:
        r = await http.post("/v1/complaints", json=intake_body(received_at=received.isoformat()),
                            headers=auth("intake"))
    assert r.status_code == 422 and "5 days" in r.text
