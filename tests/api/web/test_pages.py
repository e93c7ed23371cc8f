"""The workbench's pages in-process (tests/stack.py): sign-in with CSRF, the queue per role with
its colours and counts, the case page for each role (identity only for the office), actions
offered only when allowed and refusals shown beside the field in Chinese, nothing applied."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest

from api.web import queue
from api.web.session import COOKIE
from domain.workdays import BEIJING, add_working_days, end_of_day
from tests.stack import TOKENS, Stack, asgi_client, eventually

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
