"""InspectionRoundWorkflow end to end (R-40) on the time-skipping server, with the real
activities, PostgreSQL and the API: the draw (recorded in the history and in PostgreSQL), the
findings becoming complaints with channel `inspection`, closing by Update and by timer, and the
next round always including the units with findings."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities import build_activities
from api.main import create_app
from config import Settings
from domain.inspections import (
    DrawRecord,
    InspectionRoundInput,
    RoundState,
    draw_round,
)
from tests.conftest import start_time_skipping
from tests.stack import history_text
from workflows.complaint import ComplaintWorkflow
from workflows.inspection import InspectionRoundWorkflow

UNITS = [f"insp-{i:02d}" for i in range(10)]
SECRET_FACTS = "暗访记录：3号窗口工作人员王某某离岗四十分钟"


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer dev-{who}"}


@dataclass
class Rig:
    env: WorkflowEnvironment
    client: Client
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    task_queue: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def rig(pg_pool: asyncpg.Pool) -> AsyncIterator[Rig]:
    env = await start_time_skipping()
    task_queue = f"insp-{uuid.uuid4()}"
    # A register of ten units (plus the seeded ones, made inactive for a predictable draw).
    await pg_pool.execute("UPDATE unit_register SET active = false")
    await pg_pool.executemany(
        "INSERT INTO unit_register (center, code, name) VALUES ('default', $1, $2)",
        [(u, f"测试单位{u[-2:]}") for u in UNITS])
    await pg_pool.execute("SELECT setval('complaint_number_seq', $1)",
                          secrets.randbelow(10**9) + 10**6)
    settings = Settings(task_queue=task_queue, temporal_rpc_timeout_seconds=5.0)
    try:
        async with Worker(env.client, task_queue=task_queue,
                          workflows=[ComplaintWorkflow, InspectionRoundWorkflow],
                          activities=build_activities(pg_pool, env.client)):
            app = create_app(settings, pool=pg_pool, temporal_client=env.client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://test") as http:
                yield Rig(env, env.client, pg_pool, http, task_queue)
    finally:
        await env.shutdown()


async def start(rig: Rig, **body: Any) -> dict[str, Any]:
    r = await rig.http.post("/v1/inspections", json=body, headers=auth("supervisor"))
    assert r.status_code == 201, r.text
    return r.json()


async def draw_in_history(client: Client, round_id: str) -> DrawRecord:
    """The input of the `record_inspection_draw` activity, as the history holds it."""
    async for event in client.get_workflow_handle(round_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == "record_inspection_draw":
                [record] = await client.data_converter.decode(attrs.input.payloads, [DrawRecord])
                return record
    raise AssertionError("no draw in the history")


async def test_round_draw_findings_close_and_next_round(rig: Rig) -> None:
    first = await start(rig, proportion_percent=30, min_units=1)
    assert first["status"] == "open" and first["register_units"] == UNITS
    assert first["previous_round"] is None and first["mandatory"] == []
    assert len(first["drawn"]) == 3 and set(first["drawn"]) <= set(UNITS)

    # The draw is in the history (seed and lists) and re-runs to the same units.
    recorded = await draw_in_history(rig.client, first["round_id"])
    assert recorded.draw.seed == first["seed"] and recorded.draw.drawn == first["drawn"]
    assert recorded.register_units == UNITS
    assert draw_round(UNITS, [], proportion_percent=30, min_units=1, seed=first["seed"],
                      uncovered=first["uncovered"]).drawn == first["drawn"]
    assert first["uncovered"] == UNITS and first["random_units"] == first["drawn"]

    # A finding about an undrawn unit is refused; the inspector may not be a handler.
    undrawn = next(u for u in UNITS if u not in first["drawn"])
    finding = {"unit": undrawn, "category": "absent", "summary": "窗口无人值守",
               "facts": SECRET_FACTS, "staff_name": "王某某"}
    url = f"/v1/inspections/{first['round_id']}/findings"
    r = await rig.http.post(url, json=finding, headers=auth("supervisor"))
    assert r.status_code == 422, r.text
    r = await rig.http.post(url, json={**finding, "unit": first["drawn"][0]},
                            headers=auth("handler"))
    assert r.status_code == 403
    # The summary reaches Temporal and the unit: personal data in it is refused, nothing kept.
    leak = {**finding, "unit": first["drawn"][0], "summary": "群众李四反映，电话138 0013 8000"}
    r = await rig.http.post(url, json=leak, headers=auth("supervisor"))
    assert r.status_code == 422, r.text
    [problem] = r.json()["error"]["fields"]
    assert problem["field"] == "summary" and "phone" in problem["kinds"]
    assert "8000" not in r.text
    assert await rig.pool.fetchval("SELECT count(*) FROM inspection_findings WHERE round_id = $1",
                                   first["round_id"]) == 0

    # A finding about a drawn unit becomes a complaint with channel `inspection`.
    target = first["drawn"][1]
    r = await rig.http.post(url, json={**finding, "unit": target},
                            headers={**auth("supervisor"), "Idempotency-Key": "f-1"})
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert r.json()["unit"] == target and number
    again = await rig.http.post(url, json={**finding, "unit": target},
                                headers={**auth("supervisor"), "Idempotency-Key": "f-1"})
    assert again.status_code == 201 and again.json()["number"] == number  # a retry: same case
    row = await rig.pool.fetchrow(
        "SELECT channel, form, respondent_unit, facts, respondent_staff, summary, "
        "workflow_started FROM complaints WHERE number = $1", number)
    assert dict(row) == {"channel": "inspection", "form": "written", "respondent_unit": target,
                         "facts": SECRET_FACTS, "respondent_staff": "王某某",
                         "summary": "窗口无人值守", "workflow_started": True}
    case = await rig.client.get_workflow_handle(number).query("state")
    assert case["channel"] == "inspection" and case["respondent_unit"] == target
    # The facts and the staff name stay in PostgreSQL: never in either workflow's history.
    for wf in (first["round_id"], number):
        text = await history_text(rig.client, wf)
        assert SECRET_FACTS not in text and "王某某" not in text

    # Close by Update: the units with findings are recorded for the next round.
    r = await rig.http.post(f"/v1/inspections/{first['round_id']}/close",
                            json={"comment": "本轮结束"}, headers=auth("supervisor"))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["units_with_findings"]) == ("closed", [target])
    done = await rig.client.get_workflow_handle(first["round_id"],
                                                result_type=RoundState).result()
    assert done.units_with_findings == [target] and done.closed_by == "supervisor-01"
    # The whole history replays against the code (the draw is deterministic).
    history = await rig.client.get_workflow_handle(first["round_id"]).fetch_history()
    await Replayer(workflows=[InspectionRoundWorkflow],
                   data_converter=pydantic_data_converter).replay_workflow(history)
    r = await rig.http.get(f"/v1/inspections/{first['round_id']}", headers=auth("auditor"))
    stored = r.json()
    assert (stored["status"], stored["units_with_findings"]) == ("closed", [target])
    assert [(f["unit"], f["number"]) for f in stored["findings"]] == [(target, number)]
    assert "facts" not in stored["findings"][0]
    r = await rig.http.post(url, json={**finding, "unit": target}, headers=auth("supervisor"))
    assert r.status_code == 409  # a closed round takes no findings

    # The next round always includes the unit with unresolved findings, and draws its random
    # quota in addition, from the units not inspected yet this year first (全覆盖).
    second = await start(rig, proportion_percent=30, min_units=1)
    assert second["previous_round"] == first["round_id"]
    assert second["mandatory"] == [target] and second["random_quota"] == 3
    assert target in second["drawn"] and len(second["drawn"]) == 4
    assert target not in second["random_units"] and len(second["random_units"]) == 3
    assert second["uncovered"] == sorted(set(UNITS) - set(first["drawn"]))
    assert set(second["random_units"]) <= set(second["uncovered"])
    assert draw_round(UNITS, [target], proportion_percent=30, min_units=1, seed=second["seed"],
                      uncovered=second["uncovered"]).drawn == second["drawn"]

    # Without findings, a round closes by itself when its window ends; the one after it still
    # draws the unit whose finding is not resolved (its case is open).
    await rig.env.sleep(timedelta(days=26))
    closed = await rig.client.get_workflow_handle(second["round_id"],
                                                  result_type=RoundState).result()
    assert (closed.status, closed.closed_by, closed.units_with_findings) == ("closed", "system", [])
    listed = await rig.http.get("/v1/inspections", headers=auth("leader"))
    assert [x["round_id"] for x in listed.json()["data"]][:2] == [second["round_id"],
                                                                  first["round_id"]]
    third = await start(rig, proportion_percent=50, min_units=1, window_days=1)
    assert (third["previous_round"], third["mandatory"], len(third["drawn"])) == (
        second["round_id"], [target], 6)
    await rig.http.post(f"/v1/inspections/{third['round_id']}/close", json={},
                        headers=auth("supervisor"))


async def test_round_input_and_register_are_non_personal_and_roles_apply(rig: Rig) -> None:
    r = await rig.http.post("/v1/inspections", json={}, headers=auth("handler"))
    assert r.status_code == 403
    r = await rig.http.post("/v1/inspections", json={"proportion_percent": 0},
                            headers=auth("leader"))
    assert r.status_code == 422
    r = await rig.http.get("/v1/inspections/no-such-round", headers=auth("auditor"))
    assert r.status_code == 404
    r = await rig.http.get("/v1/inspections", headers=auth("unit-tax"))
    assert r.status_code == 403
    # The schedule's input is just the draw's parameters.
    assert set(json.loads(InspectionRoundInput().model_dump_json())) == {
        "center", "proportion_percent", "min_units", "window_days", "not_before", "plan_seed"}


async def finding_on(rig: Rig, round_: dict[str, Any], unit: str) -> str:
    r = await rig.http.post(f"/v1/inspections/{round_['round_id']}/findings",
                            json={"unit": unit, "category": "absent", "summary": "窗口无人值守",
                                  "facts": "暗访记录：窗口无人"}, headers=auth("supervisor"))
    assert r.status_code == 201, r.text
    return str(r.json()["number"])


async def close(rig: Rig, round_: dict[str, Any]) -> None:
    r = await rig.http.post(f"/v1/inspections/{round_['round_id']}/close", json={},
                            headers=auth("supervisor"))
    assert r.status_code == 200, r.text


def assert_quota_in_addition(round_: dict[str, Any], quota: int) -> None:
    assert round_["random_quota"] == quota and len(round_["random_units"]) == quota
    assert not set(round_["random_units"]) & set(round_["mandatory"])
    assert round_["drawn"] == sorted(set(round_["mandatory"]) | set(round_["random_units"]))


async def test_overlapping_rounds_exemptions_and_resolution(rig: Rig) -> None:
    """Issue 15: a finding of a round still open when the next one started keeps its unit in
    every later draw until the finding's case is resolved; `inspect: false` alone does not
    drop it, only a leader's exemption with a reason does, shown on the round; the random
    quota comes in addition to the mandatory units."""
    a = await start(rig, proportion_percent=10, min_units=1)
    b = await start(rig, proportion_percent=10, min_units=1)  # a is still open
    unit = a["random_units"][0]  # no finding of the other test's rounds
    number = await finding_on(rig, a, unit)
    await close(rig, a)
    await close(rig, b)
    c = await start(rig, proportion_percent=10, min_units=1)
    assert c["previous_round"] == b["round_id"]  # the latest started round had no findings
    assert unit in c["mandatory"] and unit in c["drawn"]  # before: mandatory [] (issue 15)
    assert_quota_in_addition(c, 1)
    await close(rig, c)

    # A maintainer's `inspect: false` alone does not exempt it.
    r = await rig.http.put(f"/v1/units/{unit}", json={"name": "测试单位", "inspect": False},
                           headers=auth("handler"))
    assert r.status_code == 200, r.text
    d = await start(rig, proportion_percent=10, min_units=1)
    assert unit in d["mandatory"] and unit not in d["register_units"]
    assert d["exempted"] == []
    await close(rig, d)

    # Only a leader, only with a reason, only for a unit with unresolved findings.
    exemption = {"unit": unit, "reason": "市纪委专项督查期间，本月不重复检查", "days": 60}
    # (60 days: the time-skipping server's clock is weeks ahead of PostgreSQL's by now)
    r = await rig.http.post("/v1/inspections/exemptions", json=exemption, headers=auth("handler"))
    assert r.status_code == 403
    r = await rig.http.post("/v1/inspections/exemptions", json={"unit": unit},
                            headers=auth("leader"))
    assert r.status_code == 422 and "reason" in r.text
    clean = next(u for u in UNITS if u not in c["mandatory"] + d["mandatory"])
    r = await rig.http.post("/v1/inspections/exemptions", json={**exemption, "unit": clean},
                            headers=auth("leader"))
    assert r.status_code == 422 and "no unresolved findings" in r.text
    r = await rig.http.post("/v1/inspections/exemptions", json=exemption, headers=auth("leader"))
    assert r.status_code == 201, r.text
    e = await start(rig, proportion_percent=10, min_units=1)
    assert unit not in e["drawn"]
    [shown] = e["exempted"]
    assert (shown["unit"], shown["reason"], shown["by"]) == (unit, exemption["reason"],
                                                             "leader-01")
    assert_quota_in_addition(e, 1)
    await close(rig, e)
    r = await rig.http.get("/v1/inspections/exemptions", headers=auth("auditor"))
    assert [x["unit"] for x in r.json()["data"]] == [unit]

    # Resolved (the finding's case archived): the unit leaves the mandatory draw.
    r = await rig.http.post(f"/v1/inspections/exemptions/{r.json()['data'][0]['id']}/revoke",
                            json={}, headers=auth("leader"))
    assert r.status_code == 200 and r.json()["revoked_by"] == "leader-01"
    await rig.client.get_workflow_handle(number).terminate("test: concluded")
    await rig.pool.execute("UPDATE complaints SET status = 'archived' WHERE number = $1", number)
    f = await start(rig, proportion_percent=10, min_units=1)
    assert unit not in f["mandatory"] and f["exempted"] == []
    await close(rig, f)


async def test_a_planned_round_draws_at_its_unannounced_instant(rig: Rig) -> None:
    """Issue 15: the month's round of a center (InspectionMonthWorkflow) waits for its
    unannounced instant: nothing is drawn or stored before it; then the instant and its seed are
    recorded on the round."""
    now = await rig.env.get_current_time()
    at = (now + timedelta(days=3)).replace(microsecond=0)
    round_id = f"inspection-round-default-planned-{uuid.uuid4().hex[:6]}"
    handle = await rig.client.start_workflow(
        "InspectionRoundWorkflow",
        InspectionRoundInput(center="default", proportion_percent=10, not_before=at,
                             plan_seed=4242, window_days=1),
        id=round_id, task_queue=rig.task_queue, result_type=RoundState)
    state = await handle.query("state", result_type=RoundState)
    assert state.status == "planned" and state.draw is None
    assert await rig.pool.fetchval("SELECT count(*) FROM inspection_rounds WHERE round_id = $1",
                                   round_id) == 0
    await rig.env.sleep(timedelta(days=3, minutes=5))
    r = await rig.http.get(f"/v1/inspections/{round_id}", headers=auth("auditor"))
    assert r.status_code == 200, r.text
    drawn = r.json()
    scheduled = datetime.fromisoformat(drawn["scheduled_at"])
    assert (scheduled, drawn["plan_seed"]) == (at, 4242)
    assert datetime.fromisoformat(drawn["started_at"]) >= scheduled
    await handle.result()
