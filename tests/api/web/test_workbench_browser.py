"""The workbench in headless Chromium (Debian's, through Playwright; tests/fixtures_browser.py):
one referral case worked only through the pages — intake clerk, handler, leader, supervisor,
handling unit and the complainant on a phone — from intake to archive, with screenshots in
test-artifacts/; the unit's pages never show the complainant's name or phone; an action not
allowed is not offered; the duplicate suggestion finds the repeat as the clerk types; nothing
is fetched from anywhere but the app itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import pytest_asyncio

from tests.fixtures_browser import ARTIFACTS
from tests.stack import Stack, eventually, served

FACTS = ("11月20日上午我到某区税务局5号窗口办理发票领用，工作人员态度恶劣，大声呵斥我，"
         "材料齐全却拒绝受理，让我下周再来。")
REPEAT = "再次反映：某区税务局5号窗口，发票领用，11月20日态度很凶、拒绝受理的事。"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def base_url(stack: Stack) -> AsyncIterator[str]:
    """The stack's app served by uvicorn (a browser needs a real server)."""
    async with served(stack.app, lifespan="off") as url:
        yield url


class Person:
    """One browser context: a member of staff signed in with a token, or the complainant."""

    def __init__(self, context: Any, page: Any, base: str, name: str) -> None:
        self.context, self.page, self.base, self.name = context, page, base, name
        self.requests: list[str] = []
        page.on("request", lambda req: self.requests.append(req.url))

    @classmethod
    async def open(cls, browser: Any, base: str, name: str, token: str | None = None,
                   **options: Any) -> Person:
        context = await browser.new_context(locale="zh-CN", **options)
        p = cls(context, await context.new_page(), base, name)
        if token:
            await p.page.goto(f"{base}/login")
            await p.page.fill("#token", token)
            async with p.page.expect_navigation():
                await p.page.press("#token", "Enter")  # the keyboard is enough
        return p

    async def shot(self, what: str) -> None:
        await self.page.screenshot(path=str(ARTIFACTS / f"workbench-{what}.png"), full_page=True)

    async def case(self, number: str) -> Any:
        r = await self.page.goto(f"{self.base}/cases/{number}")
        assert r is not None and r.status == 200, r and r.status
        return r

    async def offered(self) -> list[str]:
        return list(await self.page.eval_on_selector_all(
            "details[data-action]", "els => els.map(e => e.dataset.action)"))

    async def act(self, action: str, fields: dict[str, Any]) -> None:
        """Open the action's form, fill it in, submit; the page must say it is done."""
        details = self.page.locator(f'details[data-action="{action}"]')
        if await details.get_attribute("open") is None:
            await details.locator("summary").click()
        for name, value in fields.items():
            target = f"#{action}-{name}"
            if isinstance(value, list):
                for v in value:
                    await details.locator(f'input[name="{name}"][value="{v}"]').check()
            elif await self.page.locator(target).evaluate("e => e.tagName") == "SELECT":
                await self.page.select_option(target, value)
            else:
                await self.page.fill(target, value)
        async with self.page.expect_navigation():
            await details.locator("button[type=submit]").click()
        assert "已办理" in await self.page.inner_text(".flash"), await self.page.content()

    async def close(self) -> None:
        foreign = [u for u in self.requests if urlparse(u).netloc != urlparse(self.base).netloc]
        assert foreign == [], foreign  # nothing from anywhere but the app
        await self.context.close()


async def test_a_referral_case_from_intake_to_archive_only_through_the_pages(
    browser: Any, base_url: str, stack: Stack
) -> None:
    clerk = await Person.open(browser, base_url, "clerk", "dev-intake")
    try:
        # 登记: the R-03 record, typed by the intake clerk.
        await clerk.page.click("text=登记投诉")
        await clerk.page.select_option("#i-channel", "hotline")
        await clerk.page.select_option("#i-form", "written")
        await clerk.page.select_option("#i-category", "attitude")
        await clerk.page.fill("#i-name", "赵小明")
        await clerk.page.fill("#i-phone", "13912345678")
        await clerk.page.fill("#i-unit_code", "tax-bureau")
        await clerk.page.fill("#i-unit_name", "某区税务局")
        await clerk.page.fill("#i-facts", FACTS)
        await clerk.page.fill("#i-summary", "窗口态度粗暴、拒绝受理 · 某区税务局")
        await clerk.shot("1-intake")
        async with clerk.page.expect_navigation():
            await clerk.page.click("form.intake button[type=submit]")
        number = (await clerk.page.inner_text("[data-number]")).strip()
        code = (await clerk.page.inner_text("[data-access-code]")).strip()
        assert number.startswith("TS-") and len(code) >= 6
        await clerk.shot("2-registered")
    finally:
        await clerk.close()
    # The workflow starts at once (or the reconciler would): wait for the read model.
    await eventually(lambda: stack.row(number), lambda r: r is not None and r["workflow_started"])

    handler = await Person.open(browser, base_url, "handler", "dev-handler")
    leader = await Person.open(browser, base_url, "leader", "dev-leader")
    supervisor = await Person.open(browser, base_url, "supervisor", "dev-supervisor")
    unit = await Person.open(browser, base_url, "unit", "dev-unit-tax")
    phone = await Person.open(browser, base_url, "complainant", None,
                              viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True)
    try:
        # 待办: the handler's queue lists it, to accept.
        await handler.page.goto(base_url + "/")
        row = handler.page.locator(f'tr[data-number="{number}"]')
        assert "待受理" in await row.inner_text()
        await handler.shot("3-handler-queue")
        await row.locator("a").click()
        assert "赵小明" in await handler.page.inner_text("[data-section=complainant]")
        assert set(await handler.offered()) >= {"accept", "reject", "forward"}

        # Not allowed, not offered: the leader has nothing to do on a registered case.
        await leader.case(number)
        assert await leader.offered() == []

        await handler.act("accept", {"route": "referral", "note": "属于效能投诉，转办"})
        await handler.act("submit-opinion", {"handling_unit": "tax-bureau",
                                             "opinion": "请税务局核查窗口服务问题"})
        # The leader approves (its queue first).
        await leader.page.goto(base_url + "/")
        assert "待审批拟办意见" in await leader.page.locator(
            f'tr[data-number="{number}"]').inner_text()
        await leader.case(number)
        await leader.act("approve-opinion", {"approved": "yes", "comment": "同意"})
        await leader.shot("4-leader-approved")

        # The supervisor puts it under supervision (a Signal, a button).
        await supervisor.case(number)
        sig = supervisor.page.locator('details[data-signal="escalate"]')
        await sig.locator("summary").click()
        await supervisor.page.fill("#escalate-reason", "群众多次反映，列入督办")
        await supervisor.page.select_option("#escalate-source", "manual")
        async with supervisor.page.expect_navigation():
            await sig.locator("button[type=submit]").click()
        assert "督办已发送" in await supervisor.page.inner_text(".flash")

        async def in_supervisor_queue() -> str:
            await supervisor.page.goto(base_url + "/")
            return str(await supervisor.page.inner_text("main"))

        assert number in await eventually(in_supervisor_queue, lambda t: number in t)
        await supervisor.shot("5-supervisor-queue")

        # The unit: its queue, the case without the complainant, only its own actions.
        async def in_unit_queue() -> str:
            await unit.page.goto(base_url + "/")
            return str(await unit.page.inner_text("main"))

        assert "待办理转办件" in await eventually(in_unit_queue, lambda t: number in t)
        await unit.case(number)
        html = await unit.page.content()
        assert "赵小明" not in html and "13912345678" not in html
        assert FACTS not in html
        offered = await unit.offered()
        assert "report-result" in offered and "give-feedback" not in offered
        assert "accept" not in offered
        await unit.shot("6-unit-case")
        await unit.act("report-result", {"finding": "substantiated",
                                         "measures": ["written_warning", "order_to_correct"],
                                         "report": "经查属实，已对当事人书面警告并责令改正"})

        # The handler feeds the result back.
        await handler.case(number)
        await handler.act("give-feedback", {"message": "经查属实，已对当事人书面警告并责令改正",
                                            "appeal_route": "如不服，可在15日内向市投诉中心申诉"})

        # The complainant, on a phone: number and code by POST, never in a URL.
        await phone.page.goto(base_url + "/track")
        await phone.page.fill("#t-number", number)
        await phone.page.fill("#t-code", code)
        await phone.page.press("#t-code", "Enter")
        await phone.page.wait_for_selector("[data-feedback]")
        assert "15日内向市投诉中心申诉" in await phone.page.inner_text("main")
        assert all(code not in u for u in phone.requests)
        width = await phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width  # no sideways scrolling on a phone
        await phone.shot("7-complainant-phone")
        await phone.page.select_option("#p-record-satisfaction-rating", "satisfied")
        await phone.page.fill("#p-record-satisfaction-comment", "处理及时，满意")
        async with phone.page.expect_navigation():
            await phone.page.click('[data-action="record-satisfaction"] button[type=submit]')
        assert "已提交：回访" in await phone.page.inner_text(".flash")

        # Archived: the handler's page says so, with the whole timeline.
        async def status_text() -> str:
            await handler.case(number)
            return str(await handler.page.inner_text("h1"))

        assert "已归档" in await eventually(status_text, lambda t: "已归档" in t, timeout=15)
        assert await handler.offered() == []
        whats = await handler.page.eval_on_selector_all(
            "ol.timeline li", "els => els.map(e => e.dataset.what)")
        for step in ("accept", "submit-opinion", "approve-opinion", "report-result",
                     "give-feedback", "record-satisfaction"):
            assert step in whats, whats
        await handler.shot("8-archived")
    finally:
        for p in (handler, leader, supervisor, unit, phone):
            await p.close()


async def test_the_duplicate_suggestion_finds_the_repeat_as_the_clerk_types(
    browser: Any, base_url: str, stack: Stack
) -> None:
    first = await stack.register(facts=FACTS.replace("11月20日", "11月21日"))
    handler = await Person.open(browser, base_url, "handler", "dev-handler")
    try:
        await handler.page.goto(base_url + "/intake")
        await handler.page.fill("#i-unit_code", "tax-bureau")
        await handler.page.type("#i-facts", REPEAT.replace("11月20日", "11月21日"), delay=2)
        suggestion = handler.page.locator(f'[data-duplicates] [data-number="{first["number"]}"]')
        await suggestion.wait_for(timeout=5000)
        # The last keystroke's request (500 ms debounce) may still replace the list: let it.
        await handler.page.wait_for_timeout(700)
        await handler.page.wait_for_load_state("networkidle")
        await handler.shot("9-duplicate-suggested")
        # One click marks it; registering links the repeat.
        radio = handler.page.locator(
            f'[data-duplicates] [data-number="{first["number"]}"] input[type=radio]')
        await radio.check()
        await handler.page.select_option("#i-channel", "hotline")
        await handler.page.select_option("#i-form", "oral")
        await handler.page.select_option("#i-category", "attitude")
        await handler.page.check("#i-anonymous")
        await handler.page.fill("#i-unit_name", "某区税务局")
        assert await radio.is_checked()
        async with handler.page.expect_navigation():
            await handler.page.click("form.intake button[type=submit]")
        assert first["number"] in await handler.page.inner_text("main"), \
            await handler.page.inner_text("main")
        repeat = (await handler.page.inner_text("[data-number]")).strip()
        view = await stack.view(repeat)
        assert view["primary"] == first["number"] and view["outcome"] == "merged"
    finally:
        await handler.close()
