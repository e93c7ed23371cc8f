"""`/v1/reports` on real PostgreSQL with tests/dataset.py (center `default`, Q1 2026; the figures
are worked out by hand in tests/api/stats/test_figures.py): the report's figures equal
`/v1/stats` for the same center and period, the workbook holds them, the row is append-only
with the hash of its stored bytes, the parent center sees its children's reports and nobody
else does, and bad input is a 4xx naming the field."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import openpyxl
import pytest
import pytest_asyncio
from fastapi import FastAPI

from api.main import create_app
from api.web import session
from config import Settings
from domain.workdays import BEIJING
from tests.dataset import load
from tests.fixtures_pg import database_url_for, owner_url

TOKENS = Path(__file__).with_name("tokens.json")
Q1 = {"from": "2026-01-01", "to": "2026-03-31"}
Q4_2025 = {"from": "2025-10-01", "to": "2025-12-31"}
#: Beijing's today: its month and its year have not ended.
TODAY = datetime.now(BEIJING).date()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(pg_pool: asyncpg.Pool) -> FastAPI:
    await load(pg_pool, uuid.uuid4().hex[:8])
    return create_app(Settings(tokens_file=TOKENS), pool=pg_pool)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def q1(http: httpx.AsyncClient) -> dict[str, Any]:
    """Center default's report of 2026-Q1, made once for the module."""
    return await make(http, "2026-Q1")


async def make(http: httpx.AsyncClient, period: str, token: str = "dev-leader",
               status: int = 201) -> dict[str, Any]:
    r = await http.post("/v1/reports", json={"period": period}, headers=auth(token))
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def stats(http: httpx.AsyncClient, period: dict[str, str], **params: str) -> Any:
    r = await http.get("/v1/stats", params={**period, **params}, headers=auth("dev-leader"))
    assert r.status_code == 200, r.text
    return r.json()


async def content(http: httpx.AsyncClient, report_id: int, token: str = "dev-leader") -> Any:
    r = await http.get(f"/v1/reports/{report_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_report_s_figures_equal_v1_stats_for_the_same_period(
    http: httpx.AsyncClient, q1: dict[str, Any],
) -> None:
    made = q1
    assert (made["center"], made["parent"], made["period"], made["period_kind"]) == (
        "default", "province", "2026-Q1", "quarter")
    assert (made["period_from"], made["period_to"]) == ("2026-01-01", "2026-03-31")
    c = (await content(http, made["id"]))["content"]
    total = (await stats(http, Q1))["total"]
    assert c["total"] == total
    assert (total["registered"], total["accepted"], total["concluded"]) == (6, 5, 4)  # by hand
    for key, group_by in (("by_unit", "unit"), ("by_category", "category"),
                          ("by_channel", "channel"), ("by_month", "month")):
        assert c[key] == (await stats(http, Q1, group_by=group_by))["groups"], key
    assert [g["key"] for g in c["by_month"]] == ["2026-01", "2026-02", "2026-03"]
    # The trend's base: the quarter before, as /v1/stats has it.
    assert c["previous"] == {"label": "2025-Q4", "kind": "quarter", "period_from": "2025-10-01",
                             "period_to": "2025-12-31"}
    before = (await stats(http, Q4_2025))["total"]
    assert c["previous_total"] == before
    trend = {t["figure"]: t for t in c["trends"]}
    assert trend["registered"] == {"figure": "registered", "current": 6,
                                   "previous": before["registered"],
                                   "change": 6 - before["registered"]}
    assert trend["on_time"]["current"] == 0.75  # 15 of 20 clocks (test_figures.py)
    # Rankings come from the same groups: most complaints, then most overdue stages.
    units = {g["key"]: g["figures"] for g in c["by_unit"]}
    expected = sorted(((k, f["registered"]) for k, f in units.items() if f["registered"]),
                      key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(r["key"], r["count"]) for r in c["units_most_complaints"]] == expected
    overdue = sorted(((k, f["overdue_deadlines"]) for k, f in units.items()
                      if f["overdue_deadlines"]), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(r["key"], r["count"]) for r in c["units_most_overdue"]] == overdue
    assert sum(r["count"] for r in c["units_most_overdue"]) == 5  # every stage clock overdue
    # The open supervisions are the board's, and the open cases /v1/stats's (both "now").
    r = await http.get("/v1/supervision", params={"page_size": 20}, headers=auth("dev-leader"))
    board = r.json()
    assert c["supervision"]["counts"] == board["counts"] == {
        "total": 1, "red": 1, "yellow": 0, "supervised": 1}  # C6: referred, overdue, supervised
    assert c["supervision"]["data"][0]["number"].endswith("-C6")
    assert [x["number"] for x in c["supervision"]["data"]] == [x["number"] for x in board["data"]]
    assert c["open"] == (await stats(http, Q1))["open"]


async def test_the_report_lists_the_period_s_inspection_rounds_and_findings(
    http: httpx.AsyncClient, pg_pool: asyncpg.Pool,
) -> None:
    """R-40 in the report: April 2026 has one closed round of `default` drawing two units and
    two findings on the tax bureau, one filed as a case still open (unresolved) and one not
    filed yet; a March round and another center's April round do not count."""
    rounds = (("rpt-r-apr", "default", "2026-04-10T09:00:00+08:00", "closed",
               '["tax-bureau", "housing-bureau"]'),
              ("rpt-r-mar", "default", "2026-03-31T23:00:00+08:00", "closed", '["district-gov"]'),
              ("rpt-r-other", "district", "2026-04-12T09:00:00+08:00", "open", '["town-gov"]'))
    for rid, center, at, status, drawn in rounds:
        await pg_pool.execute(
            "INSERT INTO inspection_rounds (round_id, center, started_at, closes_at, seed, "
            "proportion_percent, min_units, register_units, mandatory, drawn, status) "
            "VALUES ($1, $2, $3::text::timestamptz, $3::text::timestamptz + interval '25 days', "
            "1, 30, 1, '[]', '[]', $4::text::jsonb, $5)", rid, center, at, drawn, status)
    for fid, rid, unit, at, number in (
            ("rpt-f1", "rpt-r-apr", "tax-bureau", "2026-04-11T10:00:00+08:00", "RPT-OPEN-1"),
            ("rpt-f2", "rpt-r-apr", "tax-bureau", "2026-04-12T10:00:00+08:00", None),
            ("rpt-f3", "rpt-r-mar", "district-gov", "2026-03-31T23:30:00+08:00", None),
            ("rpt-f4", "rpt-r-other", "town-gov", "2026-04-13T10:00:00+08:00", None)):
        await pg_pool.execute(
            "INSERT INTO inspection_findings (id, round_id, unit, category, grade, summary, "
            "facts, submitted_by, submitted_at, number) VALUES ($1, $2, $3, 'attitude', "
            "'basic', '态度差', '窗口态度差', 'supervisor-01', $4::text::timestamptz, $5)",
            fid, rid, unit, at, number)
    made = await make(http, "2026-04")
    c = (await content(http, made["id"]))["content"]
    assert c["inspections"] == {
        "rounds": 1, "rounds_closed": 1, "units_drawn": 2, "findings": 2,
        "units_with_findings": [{"unit": "tax-bureau", "findings": 2, "unresolved": 1}]}
    r = await http.get(f"/v1/reports/{made['id']}.xlsx", headers=auth("dev-leader"))
    sheet = list(openpyxl.load_workbook(io.BytesIO(r.content))["督查 Inspections"].iter_rows(
        values_only=True))
    assert [row[:2] for row in sheet[:4]] == [
        ("本期督查轮次 rounds drawn", 1), ("已结束 closed", 1), ("抽查单位 units drawn", 2),
        ("督查发现 findings", 2)]
    assert sheet[-1] == ("tax-bureau", "市税务局", 2, 1)


async def test_a_month_s_report_equals_the_month_s_stats(http: httpx.AsyncClient) -> None:
    made = await make(http, "2026-02")
    c = (await content(http, made["id"]))["content"]
    feb = {"from": "2026-02-01", "to": "2026-02-28"}
    assert c["total"] == (await stats(http, feb))["total"]
    assert c["by_unit"] == (await stats(http, feb, group_by="unit"))["groups"]
    assert c["by_month"] == []
    assert c["previous"]["label"] == "2026-01"
    assert c["previous_total"] == (await stats(http, {"from": "2026-01-01",
                                                      "to": "2026-01-31"}))["total"]


async def test_a_second_request_returns_the_same_report_and_delivers_once(
    http: httpx.AsyncClient, pg_pool: asyncpg.Pool,
) -> None:
    first = await make(http, "2026-03")
    again = await make(http, "2026-03", status=200)
    assert again == first
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM center_reports WHERE center = 'default' AND period = '2026-03'") == 1
    rows = await pg_pool.fetch(
        "SELECT key, kind, recipient, unit, data FROM notifications "
        "WHERE number = 'report-default-2026-03'")
    assert [(r["key"], r["kind"], r["recipient"], r["unit"]) for r in rows] == [
        ("center-report:default:2026-03", "center_report", "leader", "province")]
    assert rows[0]["data"] == {"center": "default", "center_name": "市效能投诉中心",
                               "period": "2026-03", "report_id": first["id"],
                               "sha256": first["sha256"], "url": f"/v1/reports/{first['id']}"}


async def test_the_workbook_opens_holds_the_figures_and_is_the_hashed_bytes(
    http: httpx.AsyncClient, pg_pool: asyncpg.Pool,
) -> None:
    made = await make(http, "2026-01")
    r = await http.get(f"/v1/reports/{made['id']}.xlsx", headers=auth("dev-leader"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    digest = hashlib.sha256(r.content).hexdigest()
    assert digest == made["sha256"] == r.headers["etag"].strip('"')
    row = await pg_pool.fetchrow("SELECT sha256, encode(sha256(xlsx), 'hex') AS computed, "
                                 "prev_sha256, figures_sha256, "
                                 "encode(sha256(convert_to(figures::text, 'UTF8')), 'hex') AS f "
                                 "FROM center_reports WHERE id = $1", made["id"])
    assert row["sha256"] == row["computed"] == digest
    assert row["figures_sha256"] == row["f"]
    jan = {"from": "2026-01-01", "to": "2026-01-31"}
    total = (await stats(http, jan))["total"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["概况 Summary", "按单位 By unit", "按类别 By category",
                             "按渠道 By channel", "督办 Supervision", "督查 Inspections"]
    summary = {row[0]: row for row in wb["概况 Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["期间 period"][1:4] == ("2026-01", "2026-01-01", "2026-01-31")
    assert summary["registered"][2] == total["registered"]
    assert summary["concluded"][2] == total["concluded"]
    assert summary["on_time"][2] == total["on_time"]["all"]["rate"]
    assert summary["satisfaction_rate"][2] == total["satisfaction"]["rate"]
    assert summary["overdue_deadlines"][2] == total["overdue_deadlines"]
    groups = (await stats(http, jan, group_by="unit"))["groups"]
    sheet = list(wb["按单位 By unit"].iter_rows(values_only=True))
    assert [(x[0] or "", x[2]) for x in sheet[1:]] == [
        (g["key"], g["figures"]["registered"]) for g in groups]


async def test_a_report_row_is_append_only(
    http: httpx.AsyncClient, pg_pool: asyncpg.Pool, pg_admin_url: str,
) -> None:
    made = await make(http, "2025-Q4")
    for sql in ("UPDATE center_reports SET xlsx = '\\x00' WHERE id = $1",
                "DELETE FROM center_reports WHERE id = $1", "TRUNCATE center_reports"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the app role (db.APPEND_ONLY)
            await pg_pool.execute(sql, *([made["id"]] if "$1" in sql else []))
    name = await pg_pool.fetchval("SELECT current_database()")
    conn = await asyncpg.connect(owner_url(database_url_for(pg_admin_url, name)))
    try:
        for sql, args in (("UPDATE center_reports SET generated_by = 'x' WHERE id = $1",
                           (made["id"],)),
                          ("DELETE FROM center_reports WHERE id = $1", (made["id"],)),
                          ("TRUNCATE center_reports", ())):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(sql, *args)
    finally:
        await conn.close()
    assert await pg_pool.fetchval("SELECT sha256 FROM center_reports WHERE id = $1",
                                  made["id"]) == made["sha256"]


async def test_the_parent_sees_its_children_s_reports_and_nobody_else_does(
    http: httpx.AsyncClient,
) -> None:
    district = await make(http, "2026-01", "district-leader")
    assert (district["center"], district["parent"]) == ("district", "default")
    own = await make(http, "2026-01", status=200)  # default's January (made above)
    # The parent center (default) lists and opens its child's report.
    r = await http.get("/v1/reports", params={"kind": "month"},
                       headers=auth("dev-supervisor"))
    listed = {(x["center"], x["period"]) for x in r.json()["data"]}
    assert {("district", "2026-01"), ("default", "2026-01")} <= listed
    assert all(x["center"] in ("default", "district") for x in r.json()["data"])
    assert (await content(http, district["id"], "dev-supervisor"))["center"] == "district"
    # The child sees its own, not its parent's; a sibling sees neither; the grandparent sees
    # its child (default) but not the district.
    r = await http.get("/v1/reports", headers=auth("district-supervisor"))
    assert {x["center"] for x in r.json()["data"]} == {"district"}
    for token, report, status in (
            ("district-leader", own["id"], 404), ("taxdept-leader", district["id"], 404),
            ("taxdept-leader", own["id"], 404), ("prov-supervisor", district["id"], 404),
            ("prov-supervisor", own["id"], 200), ("district-leader", district["id"], 200)):
        for suffix in ("", ".xlsx", ".html"):
            r = await http.get(f"/v1/reports/{report}{suffix}", headers=auth(token))
            assert r.status_code == status, (token, report, suffix, r.text)
    # Units and the complaint office read no reports.
    for token in ("dev-unit-tax", "dev-handler"):
        for path in ("/v1/reports", f"/v1/reports/{own['id']}", f"/v1/reports/{own['id']}.xlsx",
                     f"/v1/reports/{own['id']}.html", "/v1/reports/rollup?period=2026-01"):
            assert (await http.get(path, headers=auth(token))).status_code == 403, (token, path)
    assert (await http.get("/v1/reports")).status_code == 401
    assert (await http.get(f"/v1/reports/{own['id']}.html")).status_code == 401


async def test_the_rollup_adds_up_the_children_and_names_the_missing(
    http: httpx.AsyncClient,
) -> None:
    district = await make(http, "2026-02", "district-leader")
    r = await http.get("/v1/reports/rollup", params={"period": "2026-02"},
                       headers=auth("dev-leader"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(c["center"], c["report_id"]) for c in body["children"]] == [
        ("district", district["id"]), ("tax-bureau-dept", None)]
    assert body["missing"] == ["tax-bureau-dept"]
    child = (await content(http, district["id"]))["content"]["total"]
    assert body["total"]["registered"] == child["registered"]
    assert body["total"]["on_time"]["all"] == child["on_time"]["all"]
    assert body["period"] == {"label": "2026-02", "kind": "month", "period_from": "2026-02-01",
                              "period_to": "2026-02-28"}


async def test_the_printable_page_shows_the_figures(
    http: httpx.AsyncClient, q1: dict[str, Any],
) -> None:
    made = q1
    r = await http.get(f"/v1/reports/{made['id']}.html", headers=auth("dev-leader"))
    assert r.status_code == 200
    assert "script" not in r.headers["content-security-policy"]
    page = r.text
    assert '<tr data-figure="registered"><td>登记 registered</td><td class="n" data-value="6">' \
        in page
    assert made["sha256"] in page and "2026-Q1" in page
    assert "<script" not in page


async def test_the_printable_page_opens_with_the_workbench_sign_in(
    app: FastAPI, q1: dict[str, Any],
) -> None:
    """A browser sends no bearer token: the workbench's signed session cookie serves."""

    def cookie(token: str) -> dict[str, str]:
        return {session.COOKIE: session.serializer(app.state.resources).dumps({"token": token})}

    url = f"/v1/reports/{q1['id']}.html"
    for jar, status in ((cookie("dev-leader"), 200), (cookie("prov-supervisor"), 200),
                        (cookie("district-leader"), 404), (cookie("dev-unit-tax"), 403),
                        (cookie("no-such-token"), 401), ({session.COOKIE: "forged"}, 401)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test", cookies=jar) as browser:
            r = await browser.get(url)
        assert r.status_code == status, (jar, r.text)


async def test_the_workbench_lists_the_reports_with_their_page_and_workbook(
    app: FastAPI, q1: dict[str, Any],
) -> None:
    """上报报告 in the workbench: a leader's list links the printable page and the workbook,
    which the signed session downloads as archived; other roles get the page's 403."""

    def browser(token: str) -> httpx.AsyncClient:
        jar = {session.COOKIE: session.serializer(app.state.resources).dumps({"token": token})}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test", cookies=jar)

    async with browser("dev-leader") as leader:
        page = await leader.get("/reports")
        assert page.status_code == 200
        assert f'<tr data-report="{q1["id"]}">' in page.text
        assert f'href="/v1/reports/{q1["id"]}.xlsx"' in page.text
        assert f'href="/v1/reports/{q1["id"]}.html"' in page.text
        assert '<a href="/reports">上报报告</a>' in page.text
        assert "<td>市效能投诉中心</td>" in page.text  # centers by name, not code
        assert "报 省机关效能投诉中心" in page.text
        xlsx = await leader.get(f"/v1/reports/{q1['id']}.xlsx")
        assert xlsx.status_code == 200
        assert hashlib.sha256(xlsx.content).hexdigest() == q1["sha256"]
    for token in ("dev-handler", "dev-unit-tax"):
        async with browser(token) as other:
            refused = await other.get("/reports")
            assert refused.status_code == 403 and "无权查看" in refused.text
            assert (await other.get(f"/v1/reports/{q1['id']}.xlsx")).status_code == 403
            assert '<a href="/reports">' not in (await other.get("/")).text


@pytest.mark.parametrize(("period", "message"), [
    ("2026-13", "the month must be 01..12"), ("2026-Q5", "should match pattern"),
    ("26-01", "should match pattern"), ("1999", "the year must lie between"),
    (f"{TODAY:%Y-%m}", "has not ended yet"), (str(TODAY.year), "has not ended yet"),
    (" 2026", "should match"),
    ("2026-1", "should match pattern"),
])
async def test_bad_periods_are_refused_naming_the_field(
    http: httpx.AsyncClient, pg_pool: asyncpg.Pool, period: str, message: str,
) -> None:
    before = await pg_pool.fetchval("SELECT count(*) FROM center_reports")
    r = await http.post("/v1/reports", json={"period": period}, headers=auth("dev-leader"))
    assert r.status_code == 422, r.text
    [field] = r.json()["error"]["fields"]
    assert field["field"] == "period" and message in field["message"]
    assert await pg_pool.fetchval("SELECT count(*) FROM center_reports") == before


async def test_other_bad_requests_are_4xx(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/reports/rollup", params={"period": "2026-W1"},
                       headers=auth("dev-leader"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "period"
    assert (await http.get("/v1/reports/rollup", headers=auth("dev-leader"))).status_code == 422
    assert (await http.get("/v1/reports/999999", headers=auth("dev-leader"))).status_code == 404
    assert (await http.get("/v1/reports/0", headers=auth("dev-leader"))).status_code == 422
    assert (await http.get("/v1/reports/abc", headers=auth("dev-leader"))).status_code == 404
    assert (await http.get("/v1/reports", params={"kind": "week"},
                           headers=auth("dev-leader"))).status_code == 422
    r = await http.post("/v1/reports", json={"period": "2026-01"}, headers=auth("dev-supervisor"))
    assert r.status_code == 403
    r = await http.post("/v1/reports", json={}, headers=auth("dev-leader"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "period"
