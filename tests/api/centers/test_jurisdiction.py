"""Jurisdiction by level (R-46): intake routing, per-center visibility, forwarding to another
center (R-12), appeals to the parent center (R-28), the center's own policy."""

from __future__ import annotations

import pytest

from tests.stack import CONCLUSION, Stack, eventually


@pytest.mark.parametrize(
    ("who", "unit", "subject", "center", "rule"),
    [
        ("intake", "tax-bureau", "unit", "default", "unit"),  # a city department
        ("intake", "tax-bureau", "staff", "tax-bureau-dept", "staff"),  # its own staff
        ("intake", "housing-bureau", "staff", "default", "unit"),  # no department center
        ("intake", "district-gov", "unit", "default", "unit"),  # a lower-level government
        ("intake", "town-gov", "unit", "district", "unit"),
        ("intake", "education-bureau-district", "staff", "district", "unit"),
        ("district-intake", "city-gov", "unit", "province", "unit"),
        ("intake", "market-bureau-prov", "unit", "province", "unit"),
        ("intake", "no-such-unit", "unit", "default", "intake"),  # unknown: the caller's
        ("district-intake", "no-such-unit", "staff", "district", "intake"),
    ],
)
async def test_routing_picks_the_center_of_each_level(
    stack: Stack, who: str, unit: str, subject: str, center: str, rule: str
) -> None:
    r = await stack.get("/v1/centers/routing", who, unit_code=unit, subject=subject)
    assert r.status_code == 200, r.text
    assert (r.json()["center"], r.json()["rule"]) == (center, rule)


async def test_intake_registers_at_the_center_with_jurisdiction(stack: Stack) -> None:
    cases = [
        # (intake user, respondent, subject, center, a user of that center, a user who may not)
        ("intake", "tax-bureau", "staff", "tax-bureau-dept", "taxdept-handler", "handler"),
        ("intake", "town-gov", "unit", "district", "district-handler", "handler"),
        ("district-intake", "city-gov", "unit", "province", "prov-handler", "district-handler"),
        ("district-intake", "tax-bureau", "unit", "default", "handler", "district-handler"),
    ]
    for who, unit, subject, center, insider, outsider in cases:
        case = await stack.register(
            who, respondent={"unit_code": unit, "unit_name": "某单位", "staff_name": "李四",
                             "subject": subject})
        n = case["number"]
        assert case["center"] == center, (unit, subject)
        row = await stack.pool.fetchrow("SELECT center FROM complaints WHERE number = $1", n)
        assert row is not None and row["center"] == center
        mine = await stack.get(f"/v1/complaints/{n}", insider)
        assert mine.status_code == 200, mine.text
        assert mine.json()["center"] == center
        assert mine.json()["complainant"]["name"] == case["request"]["complainant"]["name"]
        assert (await stack.get(f"/v1/complaints/{n}", outsider)).status_code == 404


async def test_each_center_registers_under_its_own_policy(stack: Stack) -> None:
    await stack.pool.execute("UPDATE centers SET policy = 'bench' WHERE code = 'district'")
    try:
        r = await stack.get("/v1/centers/district", "handler")
        assert r.status_code == 200 and r.json()["policy"] == "bench"
        assert r.json()["parent"] == "default"
        assert {"unit_code": "town-gov", "unit_name": "某镇人民政府", "scope": "unit"} in (
            r.json()["units"])
        district = await stack.register(respondent={"unit_code": "town-gov",
                                                    "unit_name": "某镇人民政府"})
        city = await stack.register()
    finally:
        await stack.pool.execute("UPDATE centers SET policy = NULL WHERE code = 'district'")
    d = (await stack.get(f"/v1/complaints/{district['number']}", "district-handler")).json()
    c = (await stack.get(f"/v1/complaints/{city['number']}", "handler")).json()
    assert (d["policy"], c["policy"]) == ("bench", "default")
    # The bench policy counts in minutes, the default one in working days.
    [acceptance] = [x for x in d["deadlines"] if x["kind"] == "acceptance"]
    assert acceptance["unit"] == "minutes" and acceptance["amount"] == 2


async def test_user_of_another_center_gets_404_for_the_case(stack: Stack) -> None:
    city = await stack.register()
    district = await stack.register(
        "district-intake", respondent={"unit_code": "town-gov", "unit_name": "某镇人民政府"})
    n, d = city["number"], district["number"]
    assert (await stack.get(f"/v1/complaints/{n}", "handler")).status_code == 200
    for path in ("", "/history", "/notifications", "/evidence"):
        r = await stack.get(f"/v1/complaints/{n}{path}", "district-handler")
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
        assert (await stack.get(f"/v1/complaints/{d}{path}", "handler")).status_code == 404
    assert (await stack.act(n, "accept", "district-handler", route="self")).status_code == 404
    r = await stack.http.post(f"/v1/complaints/{n}/signals/escalate",
                              json={"reason": "媒体曝光", "source": "media"},
                              headers={"Authorization": "Bearer district-supervisor"})
    assert r.status_code == 404
    assert (await stack.get(f"/v1/complaints/{d}", "district-edu")).status_code == 404

    async def listed(who: str, number: str) -> int:
        r = await stack.get("/v1/complaints", who, q=number)
        assert r.status_code == 200
        return int(r.json()["count"])

    assert await eventually(lambda: listed("handler", n), lambda c: c == 1) == 1
    assert await eventually(lambda: listed("district-handler", d), lambda c: c == 1) == 1
    assert await listed("district-handler", n) == 0
    assert await listed("handler", d) == 0


async def test_forward_to_another_center_opens_a_linked_case_there(stack: Stack) -> None:
    # A unit the register does not know stays at the intake center, which finds it belongs to
    # the district and forwards it there.
    city = await stack.register(respondent={"unit_code": "street-office",
                                            "unit_name": "某街道办事处"})
    assert city["center"] == "default"
    n = city["number"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = await stack.http.post(f"/v1/complaints/{n}/evidence", headers={"Authorization":
                              "Bearer dev-intake"}, files={"file": ("scene.png", png, "image/png")},
                              data={"summary": "现场照片"})
    assert r.status_code == 201, r.text

    bad = await stack.act(n, "forward", "handler", to="区投诉中心", reason="属区级管辖",
                          to_center="nowhere")
    assert bad.status_code == 422 and "unknown center" in bad.text
    same = await stack.act(n, "forward", "handler", to="市中心", reason="x", to_center="default")
    assert same.status_code == 422

    r = await stack.act(n, "forward", "handler", to="区效能投诉中心", reason="属区级管辖 (R-46)",
                        to_center="district")
    assert r.status_code == 200, r.text
    old = r.json()
    assert old["status"] == "archived" and old["outcome"] == "forwarded"
    new_number = old["forwarded_case"]
    assert new_number and new_number != n
    # The old case, read again later, still shows the link (it lives in PostgreSQL).
    again = (await stack.get(f"/v1/complaints/{n}", "handler")).json()
    assert again["forwarded_case"] == new_number

    new = await stack.get(f"/v1/complaints/{new_number}", "district-handler")
    assert new.status_code == 200, new.text
    v = new.json()
    assert v["center"] == "district" and v["origin_case"] == n and v["status"] == "registered"
    assert v["facts"] == city["request"]["facts"]
    assert v["complainant"]["name"] == city["request"]["complainant"]["name"]
    assert "accept" in v["allowed_actions"]
    assert (await stack.get(f"/v1/complaints/{new_number}", "handler")).status_code == 404
    files = await stack.get(f"/v1/complaints/{new_number}/evidence", "district-handler")
    assert [f["summary"] for f in files.json()["data"]] == ["现场照片"]
    got = await stack.get(files.json()["data"][0]["download_url"], "district-handler")
    assert got.status_code == 200 and got.content == png
    # The complainant learns the new number on the old one and opens it with the same code.
    public = await stack.http.get(f"/v1/public/complaints/{n}",
                                  headers={"X-Access-Code": city["access_code"]})
    assert public.json()["outcome"] == "forwarded"
    assert public.json()["forwarded_case"] == new_number
    public = await stack.http.get(f"/v1/public/complaints/{new_number}",
                                  headers={"X-Access-Code": city["access_code"]})
    assert public.status_code == 200 and public.json()["status"] == "registered"
    links = await stack.pool.fetch("SELECT * FROM case_links WHERE from_number = $1", n)
    assert [(x["to_number"], x["from_center"], x["to_center"]) for x in links] == [
        (new_number, "default", "district")]


async def test_appeal_to_the_parent_center_keeps_the_whole_history(stack: Stack) -> None:
    case = await stack.register(
        "district-intake", respondent={"unit_code": "town-gov", "unit_name": "某镇人民政府"})
    n = case["number"]
    await stack.ok(n, "accept", "district-handler", route="self")
    await stack.ok(n, "record-investigation", "district-handler", kind="site_visit",
                   note="现场核查窗口")
    await stack.ok(n, "report-result", "district-handler", **CONCLUSION)
    await stack.rectify(n, CONCLUSION["measures"], unit="district-handler",
                        handler="district-handler")
    await stack.ok(n, "give-feedback", "district-handler", message="经查属实",
                   appeal_route="可向市效能投诉中心申诉")
    assert (await stack.get(f"/v1/complaints/{n}", "supervisor")).status_code == 404

    # An appeal goes to this center or its parent, nowhere else.
    r = await stack.act(n, "appeal", "district-handler", reason="不服", to_center="province")
    assert r.status_code == 422 and "parent" in r.text
    r = await stack.http.post(f"/v1/public/complaints/{n}/appeal",
                              headers={"X-Access-Code": case["access_code"]},
                              json={"reason": "处理结果与事实不符", "to_parent": True})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "appealed"

    view = await stack.get(f"/v1/complaints/{n}", "supervisor")  # the city center's supervisor
    assert view.status_code == 200, view.text
    v = view.json()
    assert (v["center"], v["appeal_center"], v["status"]) == ("district", "default", "appealed")
    assert v["complainant"]["name"] == case["request"]["complainant"]["name"]
    assert [a["action"] for a in v["actions"]] == [
        "register", "accept", "record-investigation", "report-result", "report-rectification",
        "review-rectification", "give-feedback", "appeal"]
    history = await stack.get(f"/v1/complaints/{n}/history", "supervisor")
    assert history.status_code == 200
    whats = [e["what"] for e in history.json()["entries"]]
    for step in ("accept", "record-investigation", "report-result", "give-feedback", "appeal"):
        assert step in whats, whats
    assert (await stack.get(f"/v1/complaints/{n}", "prov-supervisor")).status_code == 404

    async def listed() -> int:
        r = await stack.get("/v1/complaints", "supervisor", q=n)
        return int(r.json()["count"])

    assert await eventually(listed, lambda c: c == 1) == 1

    # The district's supervisor may not decide an appeal sent up to the city.
    r = await stack.act(n, "resolve-supervision", "district-supervisor", action="uphold")
    assert r.status_code == 403 and "default" in r.text
    done = await stack.ok(n, "resolve-supervision", "supervisor", action="uphold",
                          comment="原处理决定正确，予以维持")
    assert (done["status"], done["outcome"]) == ("archived", "concluded")
    still = await stack.get(f"/v1/complaints/{n}", "district-handler")
    assert still.status_code == 200 and still.json()["actions"][-1]["actor"]["id"] == (
        "supervisor-01")


async def test_register_lists_the_centers_by_level(stack: Stack) -> None:
    r = await stack.get("/v1/centers", "auditor")
    assert r.status_code == 200
    by_code = {c["code"]: c for c in r.json()["data"]}
    assert [c["level"] for c in r.json()["data"]][:2] == ["province", "city"]
    assert by_code["default"]["parent"] == "province"
    assert set(by_code["default"]["children"]) == {"district", "tax-bureau-dept"}
    assert by_code["tax-bureau-dept"]["units"] == [
        {"unit_code": "tax-bureau", "unit_name": "市税务局", "scope": "staff"}]
    assert (await stack.get("/v1/centers/nowhere", "auditor")).status_code == 404
    assert (await stack.http.get("/v1/centers")).status_code == 401
