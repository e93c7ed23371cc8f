"""Issue 13, identity leaking through free text (R-32, R-33), on the real stack: staff text
carrying personal data is refused with 422 naming the field and the kind, nothing applied; the
complainant's own words are kept whole in PostgreSQL and reach Temporal and the unit redacted;
the handling unit's case view is an allow-list.

Before issue 13 each of these got 201/200/202: the intake check looked only for the exact
name, phone or ID in `summary`, no other text was checked, and the unit's view was the whole
case with `complainant_ref` blanked.
"""

from __future__ import annotations

from typing import Any

import httpx

from api.complaints.unit_view import UnitCaseView
from tests.stack import REPORT, Stack, auth, history_text

AGENT = {"name": "王五丰", "phone": "13900139000", "relation": "亲属"}


def dashed(phone: str) -> str:
    return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"


def refused(r: httpx.Response, field: str, kind: str, *secrets: str) -> None:
    """A 422 naming `field` and `kind`, echoing none of `secrets`."""
    assert r.status_code == 422, r.text
    problems = [p for p in r.json()["error"]["fields"] if p["field"] == field]
    assert problems and problems[0]["type"] == "personal_data", r.text
    assert kind in problems[0]["kinds"], r.text
    for secret in secrets:
        assert secret not in r.text, f"the refusal echoes {secret!r}"


async def test_intake_refuses_a_summary_with_personal_data_in_any_form(stack: Stack) -> None:
    from tests.stack import intake_body

    body = intake_body()
    who = body["complainant"]
    who["agent"] = AGENT
    attempts = {
        "phone": f"窗口态度差，回电{dashed(who['phone'])}",
        "email": "窗口态度差，结果发 zhangsan.1990@example.com",
        "address": f"住{who['address']}的居民反映窗口态度差",
        "name": f"代理人{AGENT['name']}反映窗口态度差",
    }
    for kind, summary in attempts.items():
        r = await stack.http.post("/v1/complaints", json={**body, "summary": summary},
                                  headers=auth("intake"))
        refused(r, "summary", kind, who["phone"], dashed(who["phone"]), AGENT["name"])
    agent_phone = await stack.http.post(
        "/v1/complaints", json={**body, "summary": "窗口态度差，代理人电话139 0013 9000"},
        headers=auth("intake"))
    refused(agent_phone, "summary", "phone", "139 0013 9000")
    # Nothing was registered.
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM complainants WHERE phone = $1", who["phone"]) == 0
    ok = await stack.http.post("/v1/complaints", json={**body, "summary": "窗口态度差 · 某区税务局"},
                               headers=auth("intake"))
    assert ok.status_code == 201, ok.text


async def test_staff_text_with_personal_data_is_refused_and_nothing_applied(stack: Stack) -> None:
    case = await stack.register(complainant={**(await _person()), "agent": AGENT})
    n, who = case["number"], case["request"]["complainant"]
    r = await stack.act(n, "accept", "handler", route="self", note=f"已电话联系{dashed(who['phone'])}")
    refused(r, "note", "phone", who["phone"])
    assert (await stack.view(n))["status"] == "registered"  # nothing applied
    await stack.ok(n, "accept", "handler", route="self")
    r = await stack.act(n, "record-investigation", "handler", kind="site_visit",
                        note=f"到{who['address']}现场核实")
    refused(r, "note", "address", who["address"])
    r = await stack.act(n, "report-result", "handler", **{**REPORT, "report": f"经与{who['name']}核实属实"})
    refused(r, "report", "name", who["name"])
    r = await stack.http.post(f"/v1/complaints/{n}/signals/escalate", headers=auth("supervisor"),
                              json={"reason": "投诉人身份证110105199511306540", "source": "media"})
    refused(r, "reason", "id_number", "110105199511306540")
    await stack.ok(n, "report-result", "handler", **REPORT)
    r = await stack.act(n, "give-feedback", "handler",
                        message=f"{who['name']}同志：您好，经查属实，已处理。",
                        appeal_route="可向市效能投诉中心申诉")
    refused(r, "message", "name", who["name"])
    r = await stack.act(n, "give-feedback", "handler", message="您好，经查属实，已处理。",
                        appeal_route=f"请将申诉材料寄至{AGENT['name']}处")
    refused(r, "appeal_route", "name", AGENT["name"])
    view = await stack.view(n)
    assert view["status"] == "decided" and view["feedback"] is None
    history = await history_text(stack.client, n)
    for secret in (who["name"], who["phone"], dashed(who["phone"]), who["address"], AGENT["name"]):
        assert secret not in history, f"Temporal holds {secret!r}"


async def test_the_complainants_own_words_are_kept_whole_and_redacted_elsewhere(
    stack: Stack,
) -> None:
    case = await stack.referred(complainant=await _person())
    n, code, who = case["number"], case["access_code"], case["request"]["complainant"]
    assert (await stack.act(n, "report-result", "tax", **REPORT)).status_code == 200
    await stack.ok(n, "give-feedback", "handler", message="经查属实，已对相关人员书面警告。",
                   appeal_route="可向市效能投诉中心申诉")
    reason = f"我是{who['name']}，电话{who['phone']}，处理结果与事实不符"
    r = await stack.http.post(f"/v1/public/complaints/{n}/appeal", json={"reason": reason},
                              headers={"X-Access-Code": code})
    assert r.status_code == 200 and r.json()["status"] == "appealed", r.text
    # Whole in PostgreSQL, for the office (the read logged with the case file) ...
    assert await stack.pool.fetchval(
        "SELECT text FROM complainant_texts WHERE number = $1 AND action = 'appeal'", n) == reason
    office = await stack.view(n, "supervisor")
    assert [(t["action"], t["field"], t["text"]) for t in office["complainant_texts"]] == [
        ("appeal", "reason", reason)]
    # ... redacted in Temporal and for the unit.
    history = await history_text(stack.client, n)
    assert who["name"] not in history and who["phone"] not in history
    assert "我是[姓名]，电话[电话]，处理结果与事实不符" in history
    unit = await stack.get(f"/v1/complaints/{n}", "tax")
    assert unit.status_code == 200, unit.text
    assert who["name"] not in unit.text and who["phone"] not in unit.text
    assert any("[姓名]" in e["reason"] for e in unit.json()["escalations"]), unit.text


async def test_a_callback_comment_taken_by_the_handler_is_redacted_not_refused(
    stack: Stack,
) -> None:
    case = await stack.register(complainant=await _person())
    n, who = case["number"], case["request"]["complainant"]
    await stack.ok(n, "accept", "handler", route="self")
    await stack.ok(n, "report-result", "handler", **REPORT)
    await stack.ok(n, "give-feedback", "handler", message="经查属实，已处理。",
                   appeal_route="可向市效能投诉中心申诉")
    comment = f"满意。{who['name']}说以后有事还打{who['phone']}"
    view = await stack.ok(n, "record-satisfaction", "handler", rating="satisfied", comment=comment)
    assert view["satisfaction"]["comment"] == "满意。[姓名]说以后有事还打[电话]"
    assert [t["text"] for t in view.get("complainant_texts") or []] == []  # no file in answers
    assert await stack.pool.fetchval(
        "SELECT text FROM complainant_texts WHERE number = $1", n) == comment


async def test_the_units_view_and_answers_are_an_allow_list(stack: Stack) -> None:
    case = await stack.referred()
    n = case["number"]
    allowed = set(UnitCaseView.model_fields)
    view = await stack.get(f"/v1/complaints/{n}", "tax")
    answer = await stack.act(n, "record-investigation", "tax", kind="site_visit", note="现场核查")
    for r in (view, answer):
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert set(body) == allowed, set(body) ^ allowed
        assert {"complainant_ref", "complainant", "facts", "feedback", "ignored_signals",
                "linked", "policy"}.isdisjoint(body)
        for record in body["actions"]:
            assert "detail" not in record
        assert case["request"]["complainant"]["name"] not in r.text
    listed = await stack.get("/v1/complaints", "tax", q=n)
    [row] = listed.json()["data"]
    assert "complainant_ref" not in row and "facts" not in row
    # The office still gets the whole case.
    assert "complainant_ref" in await stack.view(n, "handler")


async def _person() -> dict[str, Any]:
    """A complainant with a realistic name and an address with a road and number."""
    from tests.stack import intake_body

    who: dict[str, Any] = intake_body()["complainant"]
    tag = who["phone"][-4:]
    who["name"] = "欧阳" + "".join("零一二三四五六七八九"[int(c)] for c in tag[:2]) + "峰"
    who["address"] = f"杭州市西湖区文{tag}路{int(tag) % 300 + 1}号2幢501室"
    return who
