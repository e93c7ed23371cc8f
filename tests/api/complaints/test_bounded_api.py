"""Issue 11 through the REST API: joint units (R-15), escalation sources, the small Update result
read back as the whole case."""

from __future__ import annotations

from tests.stack import Stack, auth


async def test_escalate_with_a_workflow_source_is_refused(stack: Stack) -> None:
    n = (await stack.register())["number"]
    for source in ("overdue", "major", "appeal"):
        r = await stack.http.post(f"/v1/complaints/{n}/signals/escalate",
                                  json={"reason": "督办", "source": source}, headers=auth("supervisor"))
        assert r.status_code == 422, r.text
        assert "source" in r.json()["error"]["message"]
    r = await stack.http.post(f"/v1/complaints/{n}/signals/escalate",
                              json={"reason": "媒体曝光", "source": "media"}, headers=auth("supervisor"))
    assert r.status_code == 202, r.text


async def test_joint_units_see_the_case_and_report_their_part(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]
    r = await stack.act(n, "accept", "handler", route="joint", units=["tax-bureau", "housing-bureau"])
    assert r.status_code == 200, r.text
    for unit in ("tax", "housing"):
        view = await stack.http.get(f"/v1/complaints/{n}", headers=auth(unit))
        assert view.status_code == 200, view.text
        assert "complainant_ref" not in view.json()  # the unit's allow-list (UnitCaseView)
        assert case["request"]["complainant"]["name"] not in view.text
        assert case["request"]["facts"] not in view.text
        listed = await stack.http.get("/v1/complaints", headers=auth(unit))
        assert n in [c["number"] for c in listed.json()["data"]]
    r = await stack.act(n, "record-investigation", "housing", kind="site_visit", note="现场核查")
    assert r.status_code == 200, r.text
    r = await stack.act(n, "report-result", "tax", finding="substantiated",
                        measures=["written_warning"], report="税务局部分属实")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "investigating"
    assert [(p["unit"], p["finding"]) for p in body["joint_reports"]] == [("tax-bureau", "substantiated")]
    # The unit may not decide the case, nor give feedback.
    assert (await stack.act(n, "give-feedback", "tax", message="x", appeal_route="y")).status_code == 403
    r = await stack.act(n, "report-result", "handler", finding="partially_substantiated",
                        measures=["order_to_correct"], report="综合各单位意见")
    assert r.status_code == 200 and r.json()["status"] == "decided", r.text


async def test_a_unit_not_in_the_joint_case_does_not_see_it(stack: Stack) -> None:
    n = (await stack.register())["number"]
    await stack.act(n, "accept", "handler", route="joint", units=["tax-bureau", "police"])
    r = await stack.http.get(f"/v1/complaints/{n}", headers=auth("housing"))
    assert r.status_code == 404
