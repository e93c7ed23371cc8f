"""`/v1/public/complaints`: the complainant follows the case and answers with the access code."""

from __future__ import annotations

from typing import Any

from tests.stack import REPORT, Stack


async def decided_and_fed_back(stack: Stack) -> dict[str, Any]:
    case = await stack.referred()
    n = case["number"]
    assert (await stack.act(n, "report-result", "tax", **REPORT)).status_code == 200
    await stack.rectify(n, REPORT["measures"], unit="tax")
    r = await stack.act(n, "give-feedback", "handler", message="经查属实，已对相关人员书面警告",
                        appeal_route="可向市效能投诉中心申诉")
    assert r.status_code == 200
    return case


def url(number: str, path: str = "") -> str:
    return f"/v1/public/complaints/{number}{path}"


async def test_public_progress_shows_status_and_deadlines_only(stack: Stack) -> None:
    case = await stack.register()
    n, code = case["number"], case["access_code"]
    r = await stack.http.get(url(n), headers={"X-Access-Code": code.lower()})
    assert r.status_code == 200
    p = r.json()
    assert p["number"] == n and p["status"] == "registered"
    assert "status_label" not in p  # codes only: labels come from domain/labels.py
    assert [d["kind"] for d in p["deadlines"]] == ["acceptance"]
    assert p["deadlines"][0]["due_at"].endswith("+08:00")
    assert p["allowed_actions"] == []
    for hidden in ("intake-01", "complainant_ref", '"actions"', "李四", '"facts"'):
        assert hidden not in r.text


async def test_public_progress_wrong_or_missing_code_looks_like_unknown_number(
    stack: Stack,
) -> None:
    n = (await stack.register())["number"]
    answers = [
        await stack.http.get(url(n), headers={"X-Access-Code": "WRONG234"}),
        await stack.http.get(url(n)),
        await stack.http.get(url("TS-20990101-99999"), headers={"X-Access-Code": "WRONG234"}),
        await stack.http.get(url("bad number!"), headers={"X-Access-Code": "WRONG234"}),
    ]
    assert {r.status_code for r in answers} == {404}
    assert len({r.text for r in answers}) == 1


async def test_public_satisfaction_archives_the_case(stack: Stack) -> None:
    case = await decided_and_fed_back(stack)
    n, code = case["number"], case["access_code"]
    p = (await stack.http.get(url(n), headers={"X-Access-Code": code})).json()
    assert p["status"] == "awaiting_callback"
    assert p["decision"]["finding"] == "substantiated" and "finding_label" not in p["decision"]
    assert p["feedback"]["appeal_route"] == "可向市效能投诉中心申诉"
    assert p["allowed_actions"] == ["record-satisfaction", "appeal"]
    assert "tax-01" not in str(p) and "written_warning" not in str(p)

    r = await stack.http.post(url(n, "/satisfaction"), headers={"X-Access-Code": code},
                              json={"rating": "no_response"})
    assert r.status_code == 422
    r = await stack.http.post(url(n, "/satisfaction"), headers={"X-Access-Code": "WRONG234"},
                              json={"rating": "satisfied"})
    assert r.status_code == 404
    r = await stack.http.post(url(n, "/satisfaction"), headers={"X-Access-Code": code},
                              json={"rating": "basically_satisfied", "comment": "还行"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "archived" and r.json()["satisfaction"]["rating"] == (
        "basically_satisfied")
    history = (await stack.http.get(f"/v1/complaints/{n}/history",
                                    headers={"Authorization": "Bearer dev-auditor"})).json()
    last = history["entries"][-1]
    assert last["what"] == "record-satisfaction" and last["role"] == "complainant"


async def test_public_appeal_goes_to_the_supervisor(stack: Stack) -> None:
    case = await decided_and_fed_back(stack)
    n, code = case["number"], case["access_code"]
    r = await stack.http.post(url(n, "/appeal"), headers={"X-Access-Code": code}, json={"reason": ""})
    assert r.status_code == 422
    r = await stack.http.post(url(n, "/appeal"), headers={"X-Access-Code": code},
                              json={"reason": "处理结果与事实不符"})
    assert r.status_code == 200 and r.json()["status"] == "appealed"
    again = await stack.http.post(url(n, "/appeal"), headers={"X-Access-Code": code},
                                  json={"reason": "再次申诉"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_status"
