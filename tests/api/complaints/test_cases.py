"""Whole cases through the API only, reading, redaction by role, actions, signals, history."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.models import Action
from tests.stack import REPORT, Stack, auth, eventually, history_text


def secrets_of(case: dict[str, Any]) -> list[str]:
    """The complainant's identity and the original facts of a registered case."""
    p = case["request"]["complainant"]
    return [v for v in (p.get("name"), p.get("phone"), p.get("address"), case["request"]["facts"])
            if v]


def assert_clean(responses: list[httpx.Response], case: dict[str, Any]) -> None:
    for r in responses:
        for secret in secrets_of(case):
            assert secret not in r.text, f"{r.request.url} leaked {secret!r}"
        assert "complainant_ref\": \"cref" not in r.text



async def read_model_status(stack: Stack, number: str, status: str) -> str | None:
    async def probe() -> str | None:
        row = await stack.row(number)
        return row["status"] if row else None

    return await eventually(probe, lambda s: s == status)


# --- whole cases -----------------------------------------------------------------------------


async def test_referral_case_through_the_api_ends_archived(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]
    unit_responses: list[httpx.Response] = []

    r = await stack.act(n, "accept", "handler", route="referral", note="属于受理范围")
    assert r.status_code == 200 and r.json()["status"] == "opinion_pending"
    assert "submit-opinion" in r.json()["allowed_actions"]
    r = await stack.act(n, "submit-opinion", "handler", handling_unit="tax-bureau",
                        opinion="请税务局核查处理")
    assert r.json()["status"] == "opinion_review"
    r = await stack.act(n, "approve-opinion", "leader", approved=True)
    assert r.status_code == 200 and r.json()["status"] == "referred"
    assert r.json()["handling_unit"] == "tax-bureau"

    r = await stack.http.get(f"/v1/complaints/{n}", headers=auth("tax"))
    unit_responses.append(r)
    assert r.status_code == 200
    view = r.json()
    # An allow-list (UnitCaseView): what is not on it is not in the answer at all.
    for withheld in ("complainant", "facts", "evidence", "complainant_ref", "respondent_staff",
                     "feedback", "ignored_signals", "linked", "complainant_texts"):
        assert withheld not in view, withheld
    assert view["summary"] == "服务态度差 · 某区税务局"
    assert {"report-result", "request-extension", "return-referral"} <= set(view["allowed_actions"])
    assert "accept" not in view["allowed_actions"]
    assert (await stack.http.get(f"/v1/complaints/{n}", headers=auth("housing"))).status_code == 404

    r = await stack.act(n, "report-result", "tax", **REPORT)
    unit_responses.append(r)
    assert r.status_code == 200 and r.json()["status"] == "decided", r.text
    assert r.json()["decision"]["decided_by"]["id"] == "tax-01"
    r = await stack.act(n, "give-feedback", "handler", message="经查属实，已处理",
                        appeal_route="可向市效能投诉中心申诉")
    assert r.json()["status"] == "awaiting_callback"
    r = await stack.act(n, "record-satisfaction", "handler", rating="satisfied", comment="满意")
    assert r.status_code == 200
    # the case waits for the unit's rectification of the written warning.
    assert (r.json()["status"], r.json()["outcome"]) == ("awaiting_callback", None)
    assert r.json()["rectification"]["held_outcome"] == "concluded"
    done = await stack.rectify(n, ["written_warning"], unit="tax")
    assert done["status"] == "archived" and done["outcome"] == "concluded"

    assert await read_model_status(stack, n, "archived") == "archived"
    row = await stack.row(n)
    assert row["finding"] == "substantiated" and row["rating"] == "satisfied"
    assert row["handling_unit"] == "tax-bureau"
    listing = await stack.http.get("/v1/complaints", params={"q": n}, headers=auth("tax"))
    unit_responses.append(listing)
    assert [c["number"] for c in listing.json()["data"]] == [n]
    assert_clean(unit_responses, case)

    history = await history_text(stack.client, n)
    assert "report-result" in history and n in history
    for secret in secrets_of(case):
        assert secret not in history


async def test_rejected_case_is_archived_and_refuses_further_actions(stack: Stack) -> None:
    n = (await stack.register())["number"]
    r = await stack.act(n, "reject", "handler", reason="不属于效能投诉范围",
                        basis="投诉处理制度第二条", guidance="请向法院起诉")
    assert r.status_code == 200
    assert r.json()["status"] == "archived" and r.json()["outcome"] == "not_accepted"
    assert await read_model_status(stack, n, "archived") == "archived"
    again = await stack.act(n, "accept", "handler", route="self")
    assert again.status_code == 409
    err = again.json()["error"]
    assert err["code"] == "invalid_status"
    assert err["status"] == "archived" and err["allowed_actions"] == []


# --- reading ---------------------------------------------------------------------------------


async def test_get_complaint_gives_file_to_handler_and_logs_the_access(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]
    for who in ("handler", "leader", "supervisor", "auditor"):
        r = await stack.http.get(f"/v1/complaints/{n}", headers=auth(who))
        assert r.status_code == 200
        view = r.json()
        assert view["complainant"]["name"] == case["request"]["complainant"]["name"]
        assert view["complainant"]["phone"] == case["request"]["complainant"]["phone"]
        assert view["facts"] == case["request"]["facts"]
        assert "status_label" not in view and "category_label" not in view  # codes only
    logged = await stack.pool.fetch(
        "SELECT actor_id, actor_role, what FROM access_log WHERE number = $1 ORDER BY id", n
    )
    assert [r["actor_role"] for r in logged] == ["handler", "leader", "supervisor", "auditor"]
    assert logged[0]["actor_id"] == "handler-01"


async def test_get_complaint_allowed_actions_follow_the_caller(stack: Stack) -> None:
    n = (await stack.register())["number"]
    got = {}
    for who in ("handler", "leader", "intake", "auditor"):
        r = await stack.http.get(f"/v1/complaints/{n}", headers=auth(who))
        got[who] = r.json()["allowed_actions"]
    assert got["handler"] == ["accept", "reject", "forward", "link-duplicate"]
    assert got["leader"] == got["intake"] == got["auditor"] == []


async def test_get_complaint_intake_sees_no_personal_data(stack: Stack) -> None:
    case = await stack.register()
    r = await stack.http.get(f"/v1/complaints/{case['number']}", headers=auth("intake"))
    assert r.status_code == 200 and r.json()["complainant"] is None
    assert_clean([r], case)


async def test_unit_cannot_see_a_case_not_referred_to_it(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]
    responses = [
        await stack.http.get(f"/v1/complaints/{n}", headers=auth("tax")),
        await stack.http.get(f"/v1/complaints/{n}/history", headers=auth("tax")),
        await stack.act(n, "report-result", "tax", **REPORT),
    ]
    assert [r.status_code for r in responses] == [404, 403, 404]
    listing = await stack.http.get("/v1/complaints", params={"q": n}, headers=auth("tax"))
    assert listing.json()["count"] == 0
    assert_clean([*responses, listing], case)


@pytest.mark.parametrize("number", ["TS-20990101-99999", "no such/thing", "x" * 64])
async def test_get_unknown_complaint_is_404(stack: Stack, number: str) -> None:
    r = await stack.http.get(f"/v1/complaints/{number}", headers=auth("handler"))
    assert r.status_code in (404,), r.text
    assert r.json()["error"]["code"] == "not_found"


async def test_get_complaint_requires_a_token(stack: Stack) -> None:
    r = await stack.http.get("/v1/complaints/TS-20990101-99999")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_list_complaints_filters_pages_and_hides_identity(stack: Stack) -> None:
    cases = [await stack.register(channel="web", category="illegal_fee") for _ in range(3)]
    numbers = {c["number"] for c in cases}
    for c in cases:
        await read_model_status(stack, c["number"], "registered")
    r = await stack.http.get(
        "/v1/complaints", params={"channel": "web", "category": "illegal_fee", "page_size": 2},
        headers=auth("handler"),
    )
    assert r.status_code == 200
    page = r.json()
    assert page["count"] >= 3 and page["page"] == 1 and page["page_size"] == 2
    assert len(page["data"]) == 2
    assert all(c["channel"] == "web" and c["category"] == "illegal_fee" for c in page["data"])
    assert "category_label" not in page["data"][0]  # codes only
    page2 = (await stack.http.get(
        "/v1/complaints", params={"channel": "web", "category": "illegal_fee", "page_size": 2,
                                  "page": 2}, headers=auth("auditor"))).json()
    seen = {c["number"] for c in page["data"] + page2["data"]}
    assert numbers <= seen
    assert_clean([r], cases[0])
    for item in page["data"]:
        assert "complainant" not in item and "facts" not in item
    none = await stack.http.get("/v1/complaints", params={"status": "appealed", "q": "TS-1999"},
                                headers=auth("leader"))
    assert none.json() == {"data": [], "count": 0, "page": 1, "page_size": 20}


async def test_list_complaints_q_matches_number_prefix_and_summary(stack: Stack) -> None:
    case = await stack.register(summary="窗口推诿扯皮 百分号%测试")
    n = case["number"]
    await read_model_status(stack, n, "registered")
    by_number = await stack.http.get("/v1/complaints", params={"q": n[:-1]},
                                     headers=auth("handler"))
    assert n in [c["number"] for c in by_number.json()["data"]]
    by_summary = await stack.http.get("/v1/complaints", params={"q": "号%测"},
                                      headers=auth("handler"))
    assert [c["number"] for c in by_summary.json()["data"]] == [n]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"page_size": 101}, "page_size"), ({"page": 0}, "page"), ({"status": "lost"}, "status"),
     ({"overdue": "maybe"}, "overdue")],
)
async def test_list_complaints_bad_parameters_are_422(
    stack: Stack, params: dict[str, Any], field: str
) -> None:
    r = await stack.http.get("/v1/complaints", params=params, headers=auth("handler"))
    assert r.status_code == 422
    assert [(f["field"], f["location"]) for f in r.json()["error"]["fields"]] == [(field, "query")]


async def test_list_complaints_unit_sees_only_its_cases(stack: Stack) -> None:
    case = await stack.referred()
    n = case["number"]
    await read_model_status(stack, n, "referred")
    tax = await stack.http.get("/v1/complaints", headers=auth("tax"))
    assert n in [c["number"] for c in tax.json()["data"]]
    assert all(c["handling_unit"] == "tax-bureau" for c in tax.json()["data"])
    housing = await stack.http.get("/v1/complaints", headers=auth("housing"))
    assert n not in [c["number"] for c in housing.json()["data"]]
    other = await stack.http.get("/v1/complaints", params={"unit": "tax-bureau"},
                                 headers=auth("housing"))
    assert other.json()["count"] == 0
    assert_clean([tax], case)


# --- actions ---------------------------------------------------------------------------------


async def test_action_unknown_name_is_404_listing_the_actions(stack: Stack) -> None:
    r = await stack.act("TS-20990101-99999", "approve-everything", "handler")
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "unknown_action"
    assert err["valid_actions"] == [a.value for a in Action]


async def test_action_role_never_allowed_is_403_without_asking_temporal(stack: Stack) -> None:
    r = await stack.act("TS-20990101-99999", "approve-opinion", "handler", approved=True)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await stack.act("TS-20990101-99999", "accept", "auditor", route="self")
    assert r.status_code == 403


async def test_action_in_wrong_status_is_409_with_status_and_allowed(stack: Stack) -> None:
    n = (await stack.register())["number"]
    r = await stack.act(n, "give-feedback", "handler", message="x", appeal_route="y")
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "invalid_status" and err["status"] == "registered"
    assert err["allowed_actions"] == ["accept", "reject", "forward", "link-duplicate"]


async def test_action_body_against_rules_is_422(stack: Stack) -> None:
    n = (await stack.register(category="attitude"))["number"]
    r = await stack.act(n, "accept", "handler", route="discipline")  # R-16 categories only
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_body"
    r = await stack.act(n, "accept", "handler", route="joint", units=["tax-bureau"])
    assert r.status_code == 422 and "units" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [("accept", {"route": "nowhere"}, "route"),
     ("accept", {"route": "self", "actor": {"id": "x", "role": "leader"}}, "actor"),
     ("reject", {"reason": "x"}, "basis"),
     ("request-extension", {"days": 99, "reason": "x"}, "days")],
)
async def test_action_invalid_body_is_422_with_fields(
    stack: Stack, action: str, body: dict[str, Any], field: str
) -> None:
    r = await stack.http.post(f"/v1/complaints/TS-20990101-99999/actions/{action}", json=body,
                              headers=auth("handler"))
    assert r.status_code == 422
    assert field in [f["field"] for f in r.json()["error"]["fields"]]


async def test_action_on_unknown_case_is_404(stack: Stack) -> None:
    r = await stack.act("TS-20990101-99999", "accept", "handler", route="self")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_action_retried_with_same_key_runs_once(stack: Stack) -> None:
    n = (await stack.register())["number"]
    headers = {**auth("handler"), "Idempotency-Key": f"accept-{n}"}
    url = f"/v1/complaints/{n}/actions/accept"
    first = await stack.http.post(url, json={"route": "self"}, headers=headers)
    again = await stack.http.post(url, json={"route": "self"}, headers=headers)
    assert first.status_code == again.status_code == 200
    actions = [a["action"] for a in again.json()["actions"]]
    assert actions.count("accept") == 1


async def test_return_referral_by_the_unit_goes_back_to_the_office(stack: Stack) -> None:
    case = await stack.referred()
    n = case["number"]
    r = await stack.act(n, "return-referral", "housing", reason="不属于本单位职责")
    assert r.status_code == 404  # not its case
    r = await stack.act(n, "return-referral", "tax", reason="不属于本单位职责")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "opinion_pending" and r.json()["returns"] == 1
    assert (await stack.http.get(f"/v1/complaints/{n}", headers=auth("tax"))).status_code == 404


async def test_link_duplicate_checks_the_primary(stack: Stack) -> None:
    primary = (await stack.register())["number"]
    dup = (await stack.register())["number"]
    closed = (await stack.register())["number"]
    await stack.act(closed, "forward", "handler", to="市场监管局", reason="职责")
    r = await stack.act(dup, "link-duplicate", "handler", primary="TS-20990101-99999")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_body"
    r = await stack.act(dup, "link-duplicate", "handler", primary=dup)
    assert r.status_code == 422
    r = await stack.act(dup, "link-duplicate", "handler", primary=closed)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"
    r = await stack.act(dup, "link-duplicate", "handler", primary=primary)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "merged" and r.json()["primary"] == primary

    async def linked() -> list[Any]:
        return (await stack.http.get(f"/v1/complaints/{primary}",
                                     headers=auth("handler"))).json()["linked"]

    assert [x["number"] for x in await eventually(linked, bool)] == [dup]


# --- signals ---------------------------------------------------------------------------------


async def test_escalate_signal_puts_the_case_under_supervision(stack: Stack) -> None:
    n = (await stack.register())["number"]
    url = f"/v1/complaints/{n}/signals/escalate"
    r = await stack.http.post(url, json={"reason": "媒体报道", "source": "media"},
                              headers=auth("supervisor"))
    assert r.status_code == 202 and r.json()["accepted"] is True

    async def state() -> dict[str, Any]:
        return (await stack.http.get(f"/v1/complaints/{n}", headers=auth("supervisor"))).json()

    s = await eventually(state, lambda s: s["supervised"])
    assert s["supervised"] and s["escalations"][0]["by"]["id"] == "supervisor-01"
    assert "resolve-supervision" in s["allowed_actions"]
    r = await stack.act(n, "resolve-supervision", "supervisor", action="uphold")
    assert r.status_code == 200 and not r.json()["supervised"]
    r = await stack.http.post(url, json={"reason": "x"}, headers=auth("handler"))
    assert r.status_code == 403
    r = await stack.http.post(url, json={"source": "media"}, headers=auth("leader"))
    assert r.status_code == 422


async def test_extension_requested_by_unit_and_approved_by_leader(stack: Stack) -> None:
    n = (await stack.referred())["number"]
    before = (await stack.http.get(f"/v1/complaints/{n}", headers=auth("tax"))).json()
    due = {d["kind"]: d["due_at"] for d in before["deadlines"] if d["state"] == "open"}
    r = await stack.act(n, "request-extension", "tax", days=5, reason="需调取外单位材料")
    assert r.status_code == 200
    url = f"/v1/complaints/{n}/signals/decide-extension"
    assert (await stack.http.post(url, json={"approved": True}, headers=auth("supervisor"))
            ).status_code == 403
    r = await stack.http.post(url, json={"approved": True, "comment": "同意"},
                              headers=auth("leader"))
    assert r.status_code == 202

    async def state() -> dict[str, Any]:
        return (await stack.http.get(f"/v1/complaints/{n}", headers=auth("tax"))).json()

    after = await eventually(state, lambda s: s["actions"][-1]["action"] == "decide-extension")
    assert after["extended_days"] == 5
    assert after["actions"][-1]["actor"]["id"] == "leader-01"
    moved = {d["kind"]: d["due_at"] for d in after["deadlines"] if d["state"] == "open"}
    assert moved["handling"] > due["handling"]
    assert after["extensions"][0]["approved"] is True


async def test_signal_to_archived_or_unknown_case(stack: Stack) -> None:
    n = (await stack.register())["number"]
    await stack.act(n, "forward", "handler", to="市场监管局", reason="职责")
    await read_model_status(stack, n, "archived")
    r = await stack.http.post(f"/v1/complaints/{n}/signals/escalate", json={"reason": "x"},
                              headers=auth("leader"))
    assert r.status_code == 409 and r.json()["error"]["status"] == "archived"
    r = await stack.http.post("/v1/complaints/TS-20990101-99999/signals/escalate",
                              json={"reason": "x"}, headers=auth("leader"))
    assert r.status_code == 404


async def test_ignored_signal_shows_in_the_history(stack: Stack) -> None:
    n = (await stack.register())["number"]
    r = await stack.http.post(f"/v1/complaints/{n}/signals/decide-extension",
                              json={"approved": True}, headers=auth("leader"))
    assert r.status_code == 202

    async def history() -> dict[str, Any]:
        return (await stack.http.get(f"/v1/complaints/{n}/history", headers=auth("auditor"))).json()

    h = await eventually(history, lambda h: any(e["ignored"] for e in h["entries"]))
    ignored = [e for e in h["entries"] if e["ignored"]]
    assert ignored[0]["what"] == "decide-extension"
    assert "pending" in ignored[0]["detail"]["reason"]


# --- history and notifications ---------------------------------------------------------------


async def test_history_is_a_readable_timeline(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]
    await stack.act(n, "accept", "handler", route="self")
    r = await stack.http.get(f"/v1/complaints/{n}/history", headers=auth("auditor"))
    assert r.status_code == 200
    h = r.json()
    assert h["number"] == n and h["status"] == "investigating"
    register, accept = h["entries"][:2]
    assert register["what"] == "register" and register["who"] == "intake-01"
    assert accept["what"] == "accept" and accept["who"] == "handler-01"
    assert accept["status_before"] == "registered" and accept["status_after"] == "investigating"
    assert accept["at"].endswith("+08:00") and len(accept["at_beijing"]) == 16
    assert accept["detail"]["route"] == "self"
    for who, status in (("handler", 200), ("leader", 200), ("supervisor", 200), ("intake", 403),
                        ("tax", 403)):
        got = await stack.http.get(f"/v1/complaints/{n}/history", headers=auth(who))
        assert got.status_code == status
    assert_clean([r], case)


async def test_notifications_list_the_outbox_without_contact_data(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]

    async def outbox() -> httpx.Response:
        return await stack.http.get(f"/v1/complaints/{n}/notifications", headers=auth("handler"))

    r = await eventually(outbox, lambda r: r.json().get("count", 0) > 0)
    assert r.status_code == 200
    kinds = [x["kind"] for x in r.json()["data"]]
    assert "acknowledgement" in kinds
    for x in r.json()["data"]:
        assert "complainant_ref" not in x and "last_error" not in x
    assert_clean([r], case)
    assert (await stack.http.get(f"/v1/complaints/{n}/notifications", headers=auth("tax"))
            ).status_code == 403
    assert (await stack.http.get("/v1/complaints/TS-20990101-99999/notifications",
                                 headers=auth("auditor"))).status_code == 404
