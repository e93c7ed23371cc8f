"""整改落实 through the REST API (issue 15, R-37): the unit reports with evidence of the case, the
handler sends back and accepts, bad input is a 4xx naming the rule and changes nothing, the
read model counts the case rectified only once accepted, and the archive holds every report."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from tests.api.evidence import samples
from tests.stack import REPORT, Stack, auth, eventually

MEASURES = ["written_warning", "order_to_correct"]


def error(r: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = r.json()["error"]
    return body


async def upload(stack: Stack, number: str, who: str) -> int:
    r = await stack.http.post(
        f"/v1/complaints/{number}/evidence", headers=auth(who),
        files={"file": ("整改后流程.pdf", samples.pdf(300), "application/pdf")},
        data={"summary": "整改后的窗口受理流程"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def figures(stack: Stack, number: str) -> tuple[Any, ...]:
    row = await stack.pool.fetchrow(
        "SELECT c.rectified_at, f.with_measures, f.rectified FROM complaints c "
        "JOIN case_figures f USING (number) WHERE number = $1", number)
    assert row is not None
    return tuple(row)


async def test_report_return_report_accept_through_the_api(stack: Stack) -> None:
    case = await stack.referred()
    n = case["number"]
    r = await stack.act(n, "report-rectification", "tax", measures=MEASURES, report="已整改")
    assert r.status_code == 409 and error(r)["code"] == "invalid_status", r.text  # not decided
    await stack.ok(n, "report-result", "tax", **{**REPORT, "measures": MEASURES})
    await stack.ok(n, "give-feedback", "handler", message="经查属实，责令整改",
                   appeal_route="可向市效能投诉中心申诉")
    view = await stack.ok(n, "record-satisfaction", "handler", rating="satisfied")
    assert (view["status"], view["outcome"]) == ("awaiting_callback", None)
    assert view["rectification"]["held_outcome"] == "concluded"
    assert view["allowed_actions"] == ["report-rectification"]  # a unit's written report

    unit_view = (await stack.get(f"/v1/complaints/{n}", "tax")).json()
    assert unit_view["allowed_actions"] == ["report-rectification"]
    r = unit_view["rectification"]
    assert (r["unit"], r["measures"], r["state"]) == ("tax-bureau", MEASURES, "open")
    assert "held_outcome" not in r and "accepted_by" not in r  # the unit's allow-list

    # Refused, each with its rule, nothing applied.
    r = await stack.act(n, "report-rectification", "leader", measures=MEASURES, report="x")
    assert r.status_code == 403 and error(r)["code"] == "forbidden"
    r = await stack.act(n, "review-rectification", "tax", accepted=True)
    assert r.status_code == 403 and error(r)["code"] == "forbidden"
    r = await stack.act(n, "report-rectification", "housing", measures=MEASURES, report="x")
    assert r.status_code == 404  # another unit does not even see the case
    r = await stack.act(n, "review-rectification", "handler", accepted=True)
    assert r.status_code == 409 and error(r)["code"] == "invalid_state", r.text
    assert "no rectification report is waiting for review" in error(r)["message"]
    r = await stack.act(n, "review-rectification", "handler", accepted=False)
    assert r.status_code == 422 and "reason" in r.text, r.text
    r = await stack.act(n, "report-rectification", "tax", measures=MEASURES[:1], report="x")
    assert r.status_code == 422 and error(r)["message"] == (
        "measures: report every measure decided: order_to_correct, written_warning"), r.text
    r = await stack.act(n, "report-rectification", "tax", measures=MEASURES, report="x",
                        evidence=[987654321])
    assert r.status_code == 422 and error(r)["message"].startswith(
        "evidence: no evidence file 987654321 on case"), r.text
    office_file = await upload(stack, n, "handler")  # not shared with the unit
    r = await stack.act(n, "report-rectification", "tax", measures=MEASURES, report="x",
                        evidence=[office_file])
    assert r.status_code == 422 and f"no evidence file {office_file} " in error(r)["message"]
    assert (await stack.view(n))["rectification"]["reports_total"] == 0

    own_file = await upload(stack, n, "tax")
    view = await stack.ok(n, "report-rectification", "tax", measures=MEASURES,
                          report="已书面警告；已修订受理流程", evidence=[own_file])
    assert view["rectification"]["state"] == "reported"
    assert view["rectification"]["reports"][0]["evidence"] == [own_file]
    view = await stack.ok(n, "review-rectification", "handler", accepted=False,
                          reason="流程文件未加盖公章")
    assert (view["rectification"]["state"], view["rectification"]["returns"]) == ("open", 1)
    await stack.ok(n, "report-rectification", "tax", measures=MEASURES, report="补充盖章文件",
                   evidence=[own_file])
    assert await figures(stack, n) == (None, True, False)
    view = await stack.ok(n, "review-rectification", "handler", accepted=True)
    assert (view["status"], view["outcome"]) == ("archived", "concluded")
    accepted_at = view["rectification"]["accepted_at"]
    assert accepted_at == view["archived_at"]

    row = await eventually(lambda: figures(stack, n), lambda f: f[2], timeout=10)
    assert row == (datetime.fromisoformat(accepted_at), True, True)
    doc = (await stack.archive_row(n))["document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    rect = doc["rectification"]
    assert (rect["state"], rect["unit"], rect["returns"]) == ("accepted", "tax-bureau", 1)
    assert [x["report"] for x in rect["reports"]] == ["已书面警告；已修订受理流程", "补充盖章文件"]
    assert [x["review"]["accepted"] for x in rect["reports"]] == [False, True]
    assert rect["reports"][0]["review"]["reason"] == "流程文件未加盖公章"


async def test_the_unit_complained_about_rectifies_a_self_handled_case(stack: Stack) -> None:
    n = (await stack.register())["number"]
    await stack.ok(n, "accept", "handler", route="self")
    assert (await stack.get(f"/v1/complaints/{n}", "tax")).status_code == 404
    await stack.ok(n, "report-result", "handler", finding="substantiated",
                   measures=["oral_warning"], report="经查属实")
    r = await stack.get(f"/v1/complaints/{n}", "tax")  # now it must rectify
    assert r.status_code == 200 and r.json()["allowed_actions"] == ["report-rectification"]
    assert "complainant_ref" not in r.json()
    listed = await eventually(lambda: stack.get("/v1/complaints", "tax", q=n),
                              lambda x: x.json()["count"] == 1)
    assert [c["number"] for c in listed.json()["data"]] == [n]
    # The unit complained about uploads its own proof and cites it (it is not the handling unit).
    own = await upload(stack, n, "tax")
    files = await stack.get(f"/v1/complaints/{n}/evidence", "tax")
    assert files.status_code == 200 and [f["id"] for f in files.json()["data"]] == [own]
    view = await stack.ok(n, "report-rectification", "tax", measures=["oral_warning"],
                          report="已口头警告", evidence=[own])
    assert view["rectification"]["reports"][0]["by"]["unit"] == "tax-bureau"
    assert view["rectification"]["reports"][0]["evidence"] == [own]
