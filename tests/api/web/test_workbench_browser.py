"""The workbench (api/web), on one stack for the whole module (tests/stack.py): in-process
through httpx — sign-in with CSRF, the queue per role with its colours and counts, the case
page for each role (identity only for the office), actions offered only when allowed and
refusals shown beside the field in Chinese with nothing applied, evidence, the leader's
extension button, the complainant's pages — and in headless Chromium (Debian's, through
Playwright; tests/fixtures_browser.py): one referral case worked only through the pages —
intake clerk, handler, leader, supervisor, handling unit and the complainant on a phone — from
intake to archive, with screenshots in test-artifacts/; the unit's pages never show the
complainant's name or phone; an action not allowed is not offered; the duplicate suggestion
finds the repeat as the clerk types; nothing is fetched from anywhere but the app itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import pytest_asyncio

from api.web import queue
from api.web.session import COOKIE
from domain.workdays import BEIJING, add_working_days, end_of_day
from tests.fixtures_browser import ARTIFACTS
from tests.stack import TOKENS, Stack, asgi_client, eventually, served

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

        queue_text = await eventually(in_unit_queue, lambda t: number in t)
        assert "待办理转办件" in queue_text
        assert "赵小明" not in queue_text and "13912345678" not in queue_text
        await unit.page.goto(base_url + "/board")
        board_html = await unit.page.content()
        assert "赵小明" not in board_html and "13912345678" not in board_html
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
        # 整改落实: the unit reports the measures carried out, the handler sends it back
        # once, the unit reports again, the handler accepts.
        assert await unit.offered() == ["report-rectification"]
        done = {"measures": ["written_warning", "order_to_correct"], "report": "已书面警告，已整改窗口流程"}
        await unit.act("report-rectification", done)
        await handler.case(number)
        await handler.act("review-rectification", {"accepted": "no", "reason": "请附整改后的窗口流程"})
        await unit.case(number)
        assert "请附整改后的窗口流程" in await unit.page.inner_text('[data-report="1"]')
        await unit.act("report-rectification", done)
        await handler.case(number)
        await handler.act("review-rectification", {"accepted": "yes"})
        assert await handler.page.get_attribute('[data-section="rectification"]', "data-state") == (
            "accepted")

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
                     "report-rectification", "review-rectification", "give-feedback",
                     "record-satisfaction"):
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


# ------------------------------------------------------------------ in-process


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(stack: Stack, who: str) -> httpx.AsyncClient:
    http = asgi_client(stack.app)
    r = await http.get("/login")
    assert r.status_code == 200
    csrf = CSRF.search(r.text)
    assert csrf
    r = await http.post("/login", data={"csrf": csrf.group(1), "token": TOKENS[who],
                                        "next": "/"})
    assert r.status_code == 303, r.text
    return http


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, html[:500]
    return m.group(1)


async def test_sign_in_needs_the_form_token_and_a_valid_staff_token(stack: Stack) -> None:
    async with asgi_client(stack.app) as http:
        r = await http.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        page = await http.get("/login")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        # Without the CSRF token of this session: refused, nobody signed in.
        r = await http.post("/login", data={"token": "dev-handler"})
        assert r.status_code == 403
        assert (await http.get("/")).status_code == 303
        r = await http.post("/login", data={"csrf": csrf_of(page.text), "token": "nope"})
        assert r.status_code == 401 and "令牌无效" in r.text
        r = await http.post("/login", data={"csrf": csrf_of(page.text), "token": "dev-handler",
                                            "next": "//evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"
        home = await http.get("/")
        assert home.status_code == 200 and "待办" in home.text and "handler-" in home.text
        cookie = http.cookies.get(COOKIE)
        assert cookie
        # A tampered cookie is no session.
        async with asgi_client(stack.app) as other:
            other.cookies.set(COOKIE, cookie[:-3] + "xyz")
            assert (await other.get("/")).status_code == 303
        r = await http.post("/logout", data={"csrf": csrf_of(home.text)})
        assert r.status_code == 303
        assert (await http.get("/")).status_code == 303


async def test_each_page_asks_sign_in_then_role_then_the_form_token(stack: Stack) -> None:
    """The gates before a route runs (api/web/page.py): signed out, every staff page sends to
    sign-in (even a post without a form token); then a role the page is not for gets the page's
    403; only then is the form's CSRF token checked."""
    async with asgi_client(stack.app) as http:
        for method, path, location in [("GET", "/", "/login"), ("GET", "/board", "/login?next=/board"),
                                       ("GET", "/intake", "/login?next=/intake"),
                                       ("POST", "/intake", "/login?next=/intake"),
                                       ("GET", "/cases/X-1", "/login?next=/cases/X-1"),
                                       ("POST", "/cases/X-1/evidence",
                                        "/login?next=/cases/X-1/evidence"),
                                       ("POST", "/cases/X-1/actions/accept",
                                        "/login?next=/cases/X-1/actions/accept")]:
            r = await http.request(method, path)
            assert (r.status_code, r.headers["location"]) == (303, location), path
    intake, auditor, handler = [await sign_in(stack, who)
                                for who in ("intake", "auditor", "handler")]
    try:
        r = await intake.get("/board")
        assert r.status_code == 403
        assert "无权查看" in r.text and "督办台账供投诉中心、领导、督办、审计及承办单位查看。" in r.text
        for method, path in [("GET", "/intake"), ("POST", "/intake")]:
            r = await auditor.request(method, path)
            assert r.status_code == 403 and "只有登记员和投诉办人员可以登记投诉。" in r.text, path
        r = await auditor.post("/cases/X-1/evidence")
        assert r.status_code == 403 and "您的角色不能上传证据。" in r.text
        for path in ("/intake", "/cases/X-1/evidence", "/cases/X-1/actions/accept", "/logout"):
            r = await handler.post(path, data={"csrf": "not-this-session"})
            assert r.status_code == 403 and "（CSRF）" in r.text, path
        assert (await handler.get("/")).status_code == 200  # the refused sign-out changed nothing
    finally:
        for http in (intake, auditor, handler):
            await http.aclose()


def test_yellow_from_the_reminder_instant_red_once_overdue() -> None:
    now = datetime(2026, 12, 2, 10, 0, tzinfo=BEIJING)  # a Wednesday
    until = queue.yellow_until(now)
    today, tomorrow = end_of_day(now.date()), end_of_day(now.date() + timedelta(days=1))
    assert add_working_days(today, -1) <= now < add_working_days(tomorrow, -1)
    assert queue.level(today, False, now, until) == "yellow"
    assert queue.level(tomorrow, False, now, until) == "green"
    assert queue.level(end_of_day(now.date() - timedelta(days=1)), False, now, until) == "red"
    assert queue.level(tomorrow, True, now, until) == "red"
    assert queue.level(None, False, now, until) == "green"
    friday = datetime(2026, 12, 5, 11, 0, tzinfo=BEIJING)  # Saturday: Monday's is yellow
    assert queue.level(end_of_day(datetime(2026, 12, 7).date()), False, friday,
                       queue.yellow_until(friday)) == "yellow"


async def test_each_role_sees_its_own_queue_sorted_by_due(stack: Stack) -> None:
    a = (await stack.register())["number"]
    b = (await stack.referred())["number"]
    handler = await sign_in(stack, "handler")
    tax = await sign_in(stack, "tax")
    housing = await sign_in(stack, "housing")
    try:
        h = (await handler.get("/")).text
        assert a in h and "待受理" in h
        t = (await tax.get("/")).text
        assert b in t and a not in t and "待办理转办件" in t
        assert b not in (await housing.get("/")).text
        # Filters: a number, a status the role has.
        only = (await handler.get("/", params={"q": a})).text
        assert a in only and 'data-total>1<' in only
        assert b not in (await handler.get("/", params={"status": "registered"})).text
        # Sorted by the next due instant.
        rows = re.findall(r'data-number="([^"]+)"', h)
        dues = [r["next_due"] for r in await stack.pool.fetch(
            "SELECT number, next_due FROM complaints WHERE number = ANY($1::text[])", rows)]
        assert len(rows) >= 1
        order = {r["number"]: r["next_due"] for r in await stack.pool.fetch(
            "SELECT number, next_due FROM complaints WHERE number = ANY($1::text[])", rows)}
        listed = [order[n] for n in rows if order[n] is not None]
        assert listed == sorted(listed), dues
        # The counts in the navigation.
        assert re.search(r'data-count="total">\d+<', h)
        # Colours: the SQL filters agree with each row's level (read model moved by hand).
        now = datetime.now(BEIJING)
        await stack.pool.execute("UPDATE complaints SET next_due = $2 WHERE number = $1",
                                 a, now - timedelta(days=2))
        red = (await handler.get("/", params={"level": "red"})).text
        assert f'data-number="{a}" data-level="red"' in red
        assert set(re.findall(r'data-level="(\w+)"', red)) == {"red"}
        assert re.search(r'data-count="red"[^>]*>[1-9]', red)
        await stack.pool.execute("UPDATE complaints SET next_due = $2 WHERE number = $1",
                                 a, end_of_day(now.date()))
        yellow = (await handler.get("/", params={"level": "yellow"})).text
        assert f'data-number="{a}" data-level="yellow"' in yellow
        assert a not in (await handler.get("/", params={"level": "red"})).text
        assert set(re.findall(r'data-level="(\w+)"', yellow)) == {"yellow"}
    finally:
        for c in (handler, tax, housing):
            await c.aclose()


async def test_a_unit_never_sees_the_complainant_and_only_allowed_actions_are_offered(
    stack: Stack,
) -> None:
    case = await stack.referred()
    n, who = case["number"], case["request"]["complainant"]
    tax = await sign_in(stack, "tax")
    handler = await sign_in(stack, "handler")
    leader = await sign_in(stack, "leader")
    try:
        t = await tax.get(f"/cases/{n}")
        assert t.status_code == 200
        assert who["name"] not in t.text and who["phone"] not in t.text
        assert case["request"]["facts"] not in t.text
        assert 'data-action="report-result"' in t.text
        assert 'data-action="give-feedback"' not in t.text
        h = await handler.get(f"/cases/{n}")
        assert who["name"] in h.text and who["phone"] in h.text
        assert 'data-action="report-result"' not in h.text  # the unit's, not the handler's
        assert "data-empty-actions" in h.text or "data-action=" in h.text
        assert 'data-what="accept"' in h.text  # the timeline
        # Another unit: not found.
        housing = await sign_in(stack, "housing")
        assert (await housing.get(f"/cases/{n}")).status_code == 404
        await housing.aclose()
        # The leader may escalate (a Signal) but has no action here.
        lp = await leader.get(f"/cases/{n}")
        assert 'data-signal="escalate"' in lp.text and 'data-action="' not in lp.text
    finally:
        for c in (tax, handler, leader):
            await c.aclose()


async def test_a_refusal_is_shown_beside_its_field_in_chinese_and_nothing_applied(
    stack: Stack,
) -> None:
    n = (await stack.register(category="attitude"))["number"]
    handler = await sign_in(stack, "handler")
    try:
        page = await handler.get(f"/cases/{n}")
        csrf = csrf_of(page.text)
        # Missing required field: 422 beside it.
        r = await handler.post(f"/cases/{n}/actions/reject",
                               data={"csrf": csrf, "reason": "不属于受理范围", "basis": ""})
        assert r.status_code == 422
        assert re.search(r'data-field="basis">必填<', r.text)
        # A rule of the lifecycle: discipline route only for some categories.
        r = await handler.post(f"/cases/{n}/actions/accept",
                               data={"csrf": csrf, "route": "discipline"})
        assert r.status_code == 422, r.text
        assert "填写内容不符合规定" in r.text
        # Joint handling needs two units: beside the `units` field.
        r = await handler.post(f"/cases/{n}/actions/accept",
                               data={"csrf": csrf, "route": "joint", "units": "tax-bureau"})
        assert r.status_code == 422
        assert re.search(r'data-field="units">填写内容不符合规定', r.text), r.text
        # The domain's own validator (a unit named twice): beside the field too.
        r = await handler.post(f"/cases/{n}/actions/accept",
                               data={"csrf": csrf, "route": "joint",
                                     "units": "tax-bureau, tax-bureau"})
        assert r.status_code == 422 and 'data-field="units">' in r.text, r.text[-3000:]
        # An action of another status: 409 in Chinese, the case unchanged.
        r = await handler.post(f"/cases/{n}/actions/give-feedback",
                               data={"csrf": csrf, "message": "x", "appeal_route": "y"})
        assert r.status_code == 409 and "案件当前状态不允许此操作" in r.text
        # Without the session's CSRF token: refused.
        r = await handler.post(f"/cases/{n}/actions/accept", data={"route": "self"})
        assert r.status_code == 403
        view = await stack.view(n)
        assert view["status"] == "registered"
        assert [a["action"] for a in view["actions"]] == ["register"]
        # And a valid one goes through.
        r = await handler.post(f"/cases/{n}/actions/accept",
                               data={"csrf": csrf, "route": "self", "note": "受理"})
        assert r.status_code == 303 and r.headers["location"].endswith("done=accept")
        assert (await stack.view(n))["status"] == "investigating"
        assert "已办理：受理" in (await handler.get(r.headers["location"])).text
    finally:
        await handler.aclose()


@pytest.mark.parametrize("who", ["intake", "handler"])
async def test_intake_registers_and_suggests_the_repeat(stack: Stack, who: str) -> None:
    first = await stack.register(facts="11月5日上午我到某区税务局7号窗口办理发票领用，"
                                       "工作人员态度恶劣，大声呵斥我。")
    http = await sign_in(stack, who)
    try:
        form = await http.get("/intake")
        assert form.status_code == 200
        csrf = csrf_of(form.text)
        r = await http.post("/intake/duplicates", data={
            "csrf": csrf, "unit_code": "tax-bureau",
            "facts": "再次反映：某区税务局7号窗口，发票领用，11月5日对人很凶"})
        assert r.status_code == 200 and first["number"] in r.text
        data = {"csrf": csrf, "idem": "0123456789abcdef", "channel": "hotline", "form": "oral",
                "category": "attitude", "grade": "basic", "anonymous": "on",
                "unit_code": "tax-bureau", "unit_name": "某区税务局",
                "facts": "再次反映：某区税务局7号窗口，发票领用，11月5日对人很凶",
                "duplicate_of": first["number"]}
        bad = await http.post("/intake", data={**data, "channel": ""})
        assert bad.status_code == 422 and 'data-field="channel"' in bad.text
        r = await http.post("/intake", data=data)
        assert r.status_code == 201, r.text
        number = re.search(r"data-number>([^<]+)<", r.text)
        assert number and re.search(r"data-access-code>[A-Z0-9]+<", r.text)
        view = await stack.view(number.group(1))
        if who == "handler":  # one click: linked as a repeat at registration
            assert view["primary"] == first["number"], view
        else:
            assert view["primary"] is None
    finally:
        await http.aclose()


async def test_complainant_pages_take_the_code_by_post_only(stack: Stack) -> None:
    case = await stack.register()
    n, code = case["number"], case["access_code"]
    await stack.ok(n, "accept", "handler", route="self")
    await stack.ok(n, "report-result", "handler", finding="substantiated",
                   measures=["written_warning"], report="经查属实")
    await stack.ok(n, "give-feedback", "handler", message="经查属实，已书面警告",
                   appeal_route="可向上级投诉中心申诉")
    async with asgi_client(stack.app) as http:
        form = await http.get("/track")
        csrf = csrf_of(form.text)
        wrong = await http.post("/track", data={"csrf": csrf, "number": n, "code": "WRONG123"})
        assert wrong.status_code == 404 and "查询码不正确" in wrong.text
        r = await http.post("/track", data={"csrf": csrf, "number": n, "code": code})
        assert r.status_code == 200
        assert "经查属实，已书面警告" in r.text and "可向上级投诉中心申诉" in r.text
        assert 'data-action="record-satisfaction"' in r.text and 'data-action="appeal"' in r.text
        assert "no_response" not in r.text
        r = await http.post("/track/actions/record-satisfaction",
                            data={"csrf": csrf, "rating": "satisfied", "comment": "谢谢"})
        assert r.status_code == 200 and "已提交：回访" in r.text
        assert (await stack.view(n))["satisfaction"]["rating"] == "satisfied"
        assert code not in str(r.url)


async def test_pages_report_a_bad_number_as_not_found(stack: Stack) -> None:
    http = await sign_in(stack, "handler")
    try:
        assert (await http.get("/cases/TS-19990101-00001")).status_code == 404
        assert (await http.get("/cases/%20bad")).status_code == 404
        r = await http.get("/static/htmx.min.js")
        assert r.status_code == 200 and "htmx" in r.text[:2000]
    finally:
        await http.aclose()



async def test_evidence_is_uploaded_from_the_case_page_and_at_intake(stack: Stack) -> None:
    from tests.api.evidence.samples import pdf, png

    n = (await stack.register())["number"]
    http = await sign_in(stack, "handler")
    try:
        page = await http.get(f"/cases/{n}")
        csrf = csrf_of(page.text)
        r = await http.post(f"/cases/{n}/evidence", data={"csrf": csrf, "summary": "现场照片一张"},
                            files={"file": ("现场.png", png(2000), "image/png")})
        assert r.status_code == 303, r.text
        shown = await http.get(r.headers["location"])
        assert "证据已上传" in shown.text and "现场照片一张" in shown.text
        # A file whose name says another type than its content: refused beside the form.
        r = await http.post(f"/cases/{n}/evidence", data={"csrf": csrf},
                            files={"file": ("a.pdf", png(500), "application/pdf")})
        assert r.status_code == 415 and 'data-field="_form"' in r.text
        # At intake, with the record.
        form = await http.get("/intake")
        r = await http.post("/intake", data={
            "csrf": csrf_of(form.text), "channel": "window", "form": "written",
            "category": "attitude", "anonymous": "on", "unit_code": "tax-bureau",
            "unit_name": "某区税务局", "facts": "窗口人员拒绝受理。", "evidence_summary": "书面材料"},
            files={"evidence_file": ("材料.pdf", pdf(3000), "application/pdf")})
        assert r.status_code == 201 and "data-uploaded" in r.text, r.text
    finally:
        await http.aclose()


async def test_the_leader_decides_an_extension_with_a_button_and_sees_the_board(
    stack: Stack,
) -> None:
    n = (await stack.referred())["number"]
    await stack.ok(n, "request-extension", "tax", days=5, reason="需调取监控录像")
    leader = await sign_in(stack, "leader")
    handler = await sign_in(stack, "handler")
    try:
        q = (await leader.get("/")).text
        assert f'data-number="{n}"' in q and "待审批延期" in q
        page = await leader.get(f"/cases/{n}")
        assert 'data-signal="decide-extension"' in page.text and "需调取监控录像" in page.text
        # Not the handler's decision: no button for it.
        assert 'data-signal="decide-extension"' not in (await handler.get(f"/cases/{n}")).text
        r = await leader.post(f"/cases/{n}/signals/decide-extension",
                              data={"csrf": csrf_of(page.text), "approved": "", "days": "5"})
        assert r.status_code == 422 and 'data-field="approved">' in r.text
        r = await leader.post(f"/cases/{n}/signals/decide-extension",
                              data={"csrf": csrf_of(page.text), "approved": "yes", "days": "5",
                                    "comment": "同意"})
        assert r.status_code == 303 and r.headers["location"].endswith("done=decide-extension")

        async def decided() -> list[dict[str, object]]:
            return list((await stack.view(n))["extensions"])

        ext = await eventually(decided, lambda e: e[0]["decided_at"] is not None)
        assert ext[0]["approved"] is True and ext[0]["approved_days"] == 5
        # The board and the dashboard are in the navigation; signing in signed in there too.
        board = await leader.get("/board")
        assert board.status_code == 200 and "督办台账" in board.text
        assert leader.cookies.get("complaints_dashboard_token") == TOKENS["leader"]
    finally:
        await leader.aclose()
        await handler.aclose()


async def test_a_leader_shares_a_file_and_only_then_the_unit_downloads_it(stack: Stack) -> None:
    from tests.api.evidence.samples import png

    n = (await stack.referred())["number"]
    handler, leader, tax = (await sign_in(stack, "handler"), await sign_in(stack, "leader"),
                            await sign_in(stack, "tax"))
    try:
        page = await handler.get(f"/cases/{n}")
        r = await handler.post(f"/cases/{n}/evidence", data={"csrf": csrf_of(page.text),
                                                              "summary": "现场照片"},
                               files={"file": ("p.png", png(1500), "image/png")})
        assert r.status_code == 303, r.text
        [eid] = re.findall(r'data-evidence="(\d+)"', (await handler.get(f"/cases/{n}")).text)
        # The unit sees the summary, not the file.
        unit_page = (await tax.get(f"/cases/{n}")).text
        assert "现场照片" in unit_page and f"/evidence/{eid}\"" not in unit_page
        assert (await tax.get(f"/cases/{n}/evidence/{eid}")).status_code == 404
        # Only the leader is offered the share button; a handler posting it is refused.
        assert f"/evidence/{eid}/share" not in (await handler.get(f"/cases/{n}")).text
        lp = await leader.get(f"/cases/{n}")
        assert f"/evidence/{eid}/share" in lp.text
        r = await leader.post(f"/cases/{n}/evidence/{eid}/share",
                              data={"csrf": csrf_of(lp.text), "shared": "true"})
        assert r.status_code == 303
        got = await tax.get(f"/cases/{n}/evidence/{eid}")
        assert got.status_code == 200 and got.content == png(1500)
        logged = await stack.pool.fetchval(
            "SELECT count(*) FROM access_log WHERE number = $1 AND actor_role = 'unit' "
            "AND what LIKE 'evidence%downloaded'", n)
        assert logged == 1
    finally:
        for c in (handler, leader, tax):
            await c.aclose()


async def test_a_lost_access_code_is_reissued_from_the_case_page(stack: Stack) -> None:
    case = await stack.register()
    n, old = case["number"], case["access_code"]
    handler = await sign_in(stack, "handler")
    tax = await sign_in(stack, "tax")
    try:
        page = await handler.get(f"/cases/{n}")
        assert f"/cases/{n}/access-code" in page.text
        r = await handler.post(f"/cases/{n}/access-code", data={"csrf": csrf_of(page.text)})
        assert r.status_code == 200
        m = re.search(r"新查询码：([A-Z0-9]+)", r.text)
        assert m and m.group(1) != old
        async with asgi_client(stack.app) as http:
            csrf = csrf_of((await http.get("/track")).text)
            refused = await http.post("/track", data={"csrf": csrf, "number": n, "code": old})
            assert refused.status_code == 404
            ok = await http.post("/track", data={"csrf": csrf, "number": n, "code": m.group(1)})
            assert ok.status_code == 200 and "办理状态" in ok.text
        # A unit may not.
        r = await tax.post(f"/cases/{n}/access-code",
                           data={"csrf": csrf_of((await tax.get("/")).text)})
        assert r.status_code == 403 and "只有登记员和投诉办人员" in r.text
    finally:
        await handler.aclose()
        await tax.aclose()
