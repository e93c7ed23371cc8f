"""`/dashboard` in headless Chromium: the login form, the page, the charts drawn, every number
on it equal to `/v1/stats`, and nothing fetched from anywhere but the app itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio

from api.main import create_app
from config import Settings
from tests.dataset import load
from tests.fixtures_browser import ARTIFACTS
from tests.stack import served

PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def base_url(pg_pool: asyncpg.Pool) -> AsyncIterator[str]:
    """The app served by uvicorn on a free port (a browser needs a real server)."""
    await load(pg_pool, uuid.uuid4().hex[:8])
    async with served(create_app(Settings(), pool=pg_pool), lifespan="off") as url:
        yield url


async def api_stats(base_url: str, **params: str) -> Any:
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.get("/v1/stats", params={**PERIOD, **params},
                           headers={"Authorization": "Bearer dev-leader"})
        assert r.status_code == 200, r.text
        return r.json()


async def test_dashboard_draws_the_figures_of_v1_stats(browser: Any, base_url: str) -> None:
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    try:
        # Without a token: the login form; the token goes into an HttpOnly cookie.
        first = await page.goto(f"{base_url}/dashboard?from={PERIOD['from']}&to={PERIOD['to']}")
        assert first is not None and first.status == 401
        await page.fill("input[name=token]", "dev-leader")
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        cookies = await context.cookies()
        assert [c["httpOnly"] for c in cookies if c["name"].startswith("complaints_")] == [True]
        response = await page.goto(f"{base_url}/dashboard?from={PERIOD['from']}&to={PERIOD['to']}")
        assert response is not None and response.status == 200
        assert "default-src 'none'" in (await response.header_value("content-security-policy")
                                        or "")
        assert await page.title() == "效能投诉 · 领导驾驶舱"
        assert "效能评估驾驶舱" in await page.inner_text("h1")
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        by_month = await api_stats(base_url, group_by="month")
        by_unit = await api_stats(base_url, group_by="unit")

        # Four charts, each drawn: bars with a real size on screen.
        charts = await page.eval_on_selector_all(
            "svg[data-chart]", "els => els.map(e => e.dataset.chart)")
        assert charts == ["trend", "on_time_by_unit", "satisfaction_by_unit", "open_by_status"]
        for chart in charts:
            drawn = await page.eval_on_selector_all(
                f"svg[data-chart={chart}] rect.bar",
                "els => els.filter(e => { const b = e.getBoundingClientRect();"
                " return b.width > 0 && b.height > 0; }).length")
            assert drawn > 0, chart

        async def bars(chart: str, *keys: str) -> list[tuple[str, ...]]:
            js = ("els => els.map(e => [" + ", ".join(f"e.dataset.{k}" for k in keys)
                  + ", e.dataset.value])")
            rows = await page.eval_on_selector_all(f"svg[data-chart={chart}] rect.bar", js)
            return [tuple(r) for r in rows]

        def rate(x: float | None) -> str:
            return "" if x is None else repr(x)

        month_groups = by_month["groups"]
        expected_trend = sorted(
            [("registered", g["key"], str(g["figures"]["registered"])) for g in month_groups]
            + [("concluded", g["key"], str(g["figures"]["concluded"])) for g in month_groups])
        assert sorted(await bars("trend", "series", "key")) == expected_trend
        assert ("registered", "2026-01", "2") in expected_trend  # the data is really there

        unit_groups = by_unit["groups"]
        assert await bars("on_time_by_unit", "key") == [
            (g["key"], rate(g["figures"]["on_time"]["all"]["rate"])) for g in unit_groups]
        assert await bars("satisfaction_by_unit", "key") == [
            (g["key"], rate(g["figures"]["satisfaction"]["rate"])) for g in unit_groups]
        assert ("tax-bureau", "0.8333") in await bars("on_time_by_unit", "key")

        levels = await bars("open_by_status", "status", "level")
        assert levels == [(status, level, str(n))
                          for status, by_level in by_unit["open"]["by_status"].items()
                          for level, n in by_level.items()]
        assert ("referred", "red", "1") in levels

        tiles = dict(await page.eval_on_selector_all(
            ".kpi", "els => els.map(e => [e.dataset.figure, e.querySelector('.v').textContent])"))
        total = by_unit["total"]
        assert tiles["registered"] == str(total["registered"]) == "6"
        assert tiles["concluded"] == str(total["concluded"])
        assert tiles["on_time"] == f"{total['on_time']['all']['rate'] * 100:.1f}%" == "75.0%"
        assert tiles["satisfaction"] == f"{total['satisfaction']['rate'] * 100:.1f}%"
        assert tiles["handling_average"] == "12.25" and tiles["handling_p90"] == "31"
        assert tiles["open_red"] == str(by_unit["open"]["by_level"]["red"])

        # The supervision board's head lists the open overdue case.
        board = await page.eval_on_selector_all("tr[data-number]", "els => els.length")
        assert board == 1

        # Nothing but the app itself was asked for anything.
        assert requests and all(u.startswith(base_url) for u in requests), requests
    finally:
        await context.close()


async def test_dashboard_for_a_unit_and_refusals(browser: Any, base_url: str) -> None:
    context = await browser.new_context(
        extra_http_headers={"Authorization": "Bearer dev-unit-housing"})
    page = await context.new_page()
    try:
        response = await page.goto(f"{base_url}/dashboard?from={PERIOD['from']}&to={PERIOD['to']}")
        assert response is not None and response.status == 200
        keys = await page.eval_on_selector_all(
            "svg[data-chart=on_time_by_unit] rect.bar", "els => els.map(e => e.dataset.key)")
        assert keys == ["housing-bureau"]  # a unit sees only its own figures
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.get("/dashboard", headers={"Authorization": "Bearer dev-intake"})
        assert r.status_code == 403 and "无权" in r.text
        r = await http.post("/dashboard/login", data={"token": "wrong"})
        assert r.status_code == 401 and "令牌无效" in r.text
        r = await http.get("/dashboard", params={"from": "2026-05-01", "to": "2026-01-01"},
                           headers={"Authorization": "Bearer dev-leader"})
        assert r.status_code == 422
