"""A month end to end (issue 15), on the time-skipping server with the real workers, activities,
PostgreSQL and the API: an inspection round draws, a finding becomes a case, a complaint is
handled to the callback, one decided with measures is rectified (整改落实) and accepted, another's
rectification is never reported; the month passes (its clocks fall due and escalate); the
scheduled run reports it — resolved counts only the accepted rectification (R-37) — and the
parent center opens the report, its workbook and the roll-up."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import openpyxl
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.main import create_app
from api.reports.build import ReportActivities
from domain.reports import PeriodKind, ReportsInput, ReportsResult, period_containing
from domain.workdays import BEIJING
from tests.conftest import start_time_skipping
from tests.stack import TOKENS_FILE, api_settings, intake_body
from workflows.complaint import ComplaintWorkflow
from workflows.inspection import InspectionRoundWorkflow
from workflows.reports import ReportsWorkflow


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Rig:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    task_queue: str

    async def post(self, path: str, token: str, body: dict[str, Any],
                   status: int = 200) -> dict[str, Any]:
        r = await self.http.post(path, json=body, headers=auth(token))
        assert r.status_code == status, f"{path}: {r.text}"
        out: dict[str, Any] = r.json()
        return out

    async def get(self, path: str, token: str, **params: Any) -> Any:
        r = await self.http.get(path, headers=auth(token), params=params or None)
        assert r.status_code == 200, f"{path}: {r.text}"
        return r.json()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def rig(pg_pool: asyncpg.Pool) -> AsyncIterator[Rig]:
    env = await start_time_skipping()
    task_queue = f"month-{uuid.uuid4()}"
    await pg_pool.execute("SELECT setval('complaint_number_seq', $1)",
                          secrets.randbelow(10**9) + 10**6)
    settings = api_settings(task_queue, tokens_file=TOKENS_FILE)
    try:
        async with Worker(env.client, task_queue=task_queue,
                          workflows=[ComplaintWorkflow, InspectionRoundWorkflow, ReportsWorkflow],
                          activities=[*build_activities(pg_pool, env.client),
                                      *ReportActivities(pg_pool).all()]):
            app = create_app(settings, pool=pg_pool, temporal_client=env.client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://test") as http:
                yield Rig(env, pg_pool, http, task_queue)
    finally:
        await env.shutdown()


async def test_a_month_rounds_findings_cases_and_the_report_to_the_parent(rig: Rig) -> None:
    month = period_containing(PeriodKind.MONTH, datetime.now(BEIJING).date())
    # 明查暗访: a round drawing every unit of the register, a finding on the tax bureau.
    drawn = await rig.post("/v1/inspections", "dev-supervisor", {"proportion_percent": 100},
                           status=201)
    assert drawn["drawn"] == ["district-gov", "housing-bureau", "tax-bureau"]
    finding = await rig.post(f"/v1/inspections/{drawn['round_id']}/findings", "dev-supervisor",
                             {"unit": "tax-bureau", "category": "absent",
                              "summary": "窗口工作时间无人值守", "facts": "3号窗口无人值守四十分钟"},
                             status=201)
    await rig.post(f"/v1/inspections/{drawn['round_id']}/close", "dev-supervisor", {})
    # A complaint handled by the office to the callback: partly substantiated, no measure.
    case = await rig.post("/v1/complaints", "dev-intake", intake_body(), status=201)
    n = case["number"]
    for action, token, body in (
            ("accept", "dev-handler", {"route": "self"}),
            ("report-result", "dev-handler", {"finding": "partially_substantiated",
                                              "measures": ["none"], "report": "部分属实，已说明"}),
            ("give-feedback", "dev-handler", {"message": "经查部分属实",
                                              "appeal_route": "可向上级投诉中心申诉"}),
            ("record-satisfaction", "dev-handler", {"rating": "satisfied"})):
        await rig.post(f"/v1/complaints/{n}/actions/{action}", token, body)
    # Two substantiated with measures: the tax bureau carries out one's (accepted), not the other's.
    done = (await rig.post("/v1/complaints", "dev-intake", intake_body(), status=201))["number"]
    owed = (await rig.post("/v1/complaints", "dev-intake", intake_body(), status=201))["number"]
    for number, measure in ((done, "written_warning"), (owed, "order_to_correct")):
        await rig.post(f"/v1/complaints/{number}/actions/accept", "dev-handler", {"route": "self"})
        await rig.post(f"/v1/complaints/{number}/actions/report-result", "dev-handler",
                       {"finding": "substantiated", "measures": [measure], "report": "经查属实"})
    for action, token, body in (
            ("report-rectification", "dev-unit-tax", {"measures": ["written_warning"],
                                                      "report": "已书面警告并通报"}),
            ("review-rectification", "dev-handler", {"accepted": True}),
            ("give-feedback", "dev-handler", {"message": "经查属实，已书面警告",
                                              "appeal_route": "可向上级投诉中心申诉"}),
            ("record-satisfaction", "dev-handler", {"rating": "satisfied"})):
        await rig.post(f"/v1/complaints/{done}/actions/{action}", token, body)
    assert (await rig.get(f"/v1/complaints/{done}", "dev-handler"))["status"] == "archived"

    # The month passes: the finding's case is never accepted, its clock falls due and escalates.
    await rig.env.sleep(timedelta(days=32))
    result: ReportsResult = await rig.env.client.execute_workflow(
        ReportsWorkflow.run, ReportsInput(periods=[month.label], centers=["default", "district"]),
        id=f"reports-{uuid.uuid4()}", task_queue=rig.task_queue)
    assert [(r.center, r.period, r.created, r.delivered_to) for r in result.reports] == [
        ("default", month.label, True, "province"), ("district", month.label, True, "default")]
    ids = {r.center: r.id for r in result.reports}

    # The center's report: the month's figures, the round and its finding, the open supervision.
    report = await rig.get(f"/v1/reports/{ids['default']}", "dev-leader")
    c = report["content"]
    t = c["total"]
    assert (t["registered"], t["accepted"], t["concluded"]) == (4, 3, 3)
    resolution = t["resolution"]  # only the accepted rectification is a resolved case
    assert (resolution["substantiated"], resolution["resolved"], resolution["unresolved"],
            resolution["unsubstantiated"]) == (3, 1, 2, 0)
    assert resolution["rate"] == 0.3333  # 1 of 3, to four places
    assert t["satisfaction"] == {"answered": 2, "satisfied": 2, "basically_satisfied": 0,
                                 "dissatisfied": 0, "rate": 1.0}
    assert {g["key"]: g["figures"]["registered"] for g in c["by_channel"]} == {
        "hotline": 3, "inspection": 1}
    stats = await rig.get("/v1/stats", "dev-leader", **{"from": str(month.first),
                                                        "to": str(month.last)})
    for figure in ("registered", "accepted", "concluded", "resolution", "satisfaction",
                   "handling_days"):
        assert t[figure] == stats["total"][figure], figure
    assert c["inspections"] == {
        "rounds": 1, "rounds_closed": 1, "units_drawn": 3, "findings": 1,
        "units_with_findings": [{"unit": "tax-bureau", "findings": 1, "unresolved": 1}]}
    board = c["supervision"]  # the finding's case not accepted, the rectification not reported
    assert sorted(x["number"] for x in board["data"]) == sorted([finding["number"], owed])
    assert {x["level"] for x in board["data"]} == {"red"} and board["counts"]["red"] == 2

    # Delivered to the province; the province opens it, its workbook and the roll-up.
    sent = await rig.pool.fetch(
        "SELECT number, unit FROM notifications WHERE kind = 'center_report' ORDER BY number")
    assert [(r["number"], r["unit"]) for r in sent] == [
        (f"report-default-{month.label}", "province"), (f"report-district-{month.label}",
                                                        "default")]
    assert (await rig.get(f"/v1/reports/{ids['default']}", "prov-supervisor"))["id"] == \
        ids["default"]
    r = await rig.http.get(f"/v1/reports/{ids['default']}.xlsx", headers=auth("prov-supervisor"))
    assert hashlib.sha256(r.content).hexdigest() == report["sha256"]
    summary = {row[0]: row for row in openpyxl.load_workbook(io.BytesIO(r.content))[
        "概况 Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["registered"][2] == 4 and summary["concluded"][2] == 3
    rollup = await rig.get("/v1/reports/rollup", "prov-supervisor", period=month.label)
    assert [(x["center"], x["report_id"]) for x in rollup["children"]] == [
        ("default", ids["default"])]
    assert rollup["total"]["registered"] == 4 and rollup["missing"] == []
    # The city center (default) sees the district's report too; the district not the city's.
    listed = await rig.get("/v1/reports", "dev-leader")
    assert {x["id"] for x in listed["data"]} == set(ids.values())
    r = await rig.http.get(f"/v1/reports/{ids['default']}", headers=auth("district-leader"))
    assert r.status_code == 404
