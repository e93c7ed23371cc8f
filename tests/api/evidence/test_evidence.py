"""Evidence files through the API: upload limits and type checks, storage by SHA-256 outside
Temporal, what a handling unit may see (R-32), logged downloads; and the investigation record
(R-21, R-22) through the generic action route."""

from __future__ import annotations

import hashlib
from datetime import datetime, time
from typing import Any

import httpx

from domain.workdays import BEIJING
from tests.api.evidence import samples
from tests.api.evidence.conftest import MAX_CASE, MAX_FILE
from tests.stack import Stack, auth, history_text


async def upload(
    stack: Stack, number: str, who: str, name: str, data: bytes,
    content_type: str = "application/octet-stream", **fields: str,
) -> httpx.Response:
    return await stack.http.post(
        f"/v1/complaints/{number}/evidence", headers=auth(who),
        files={"file": (name, data, content_type)}, data=fields,
    )


def error(r: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = r.json()["error"]
    return body


async def test_upload_stores_the_bytes_by_sha256_and_download_is_logged(
    stack: Stack,
) -> None:
    case = await stack.register()
    n = case["number"]
    data = samples.mp3_id3(40_000)
    r = await upload(stack, n, "intake", "现场录音.mp3", data, "audio/mpeg",
                     description=f"{case['request']['complainant']['name']}提供的现场录音",
                     summary="窗口现场录音一段")
    assert r.status_code == 201, r.text
    item = r.json()
    digest = hashlib.sha256(data).hexdigest()
    assert (item["kind"], item["content_type"], item["size"]) == ("mp3", "audio/mpeg", 40_000)
    assert item["sha256"] == digest and item["provided_by"] == "complainant"
    stored = stack.settings.evidence_dir / digest[:2] / digest
    assert stored.read_bytes() == data
    # The same file again changes nothing (a retried upload).
    again = await upload(stack, n, "intake", "现场录音.mp3", data, "audio/mpeg")
    assert again.status_code == 200 and again.json()["id"] == item["id"]

    got = await stack.get(item["download_url"], "handler")
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "audio/mpeg"
    assert got.headers["x-evidence-sha256"] == digest
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in got.headers["content-disposition"]
    log = await stack.pool.fetch(
        "SELECT actor_id, what FROM access_log WHERE number = $1 AND what LIKE 'evidence%'", n)
    assert [(x["actor_id"], x["what"].split(" (")[0]) for x in log] == [
        ("handler-01", f"evidence {item['id']}")]
    listed = await stack.get(f"/v1/complaints/{n}/evidence", "auditor")
    assert listed.json()["count"] == 1 and listed.json()["total_bytes"] == 40_000
    assert listed.json()["data"][0]["filename"] == "现场录音.mp3"
    # Nothing of it went to Temporal.
    text = await history_text(stack.client, n)
    assert "现场录音" not in text and digest not in text


async def test_uploads_over_the_limits_are_refused_with_a_clear_error(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]
    r = await upload(stack, n, "handler", "big.pdf", samples.pdf(MAX_FILE + 1))
    assert r.status_code == 413, r.text
    assert error(r)["code"] == "file_too_large"
    assert f"{MAX_FILE / 1024 / 1024:g} MiB" in error(r)["message"]
    huge = await upload(stack, n, "handler", "huge.pdf", samples.pdf(4 * MAX_FILE))
    assert huge.status_code == 413
    assert error(huge)["code"] == "payload_too_large"
    assert "evidence file may be at most" in error(huge)["message"]
    # The upload path has its own limit: the app's 1 MiB body limit stays for everything else.
    assert stack.settings.max_body_bytes == 1024 * 1024

    for i in range(MAX_CASE // (MAX_FILE - 1000)):
        ok = await upload(stack, n, "handler", f"p{i}.pdf", samples.pdf(MAX_FILE - 1000 - i))
        assert ok.status_code == 201, ok.text
    full = await upload(stack, n, "handler", "last.pdf", samples.pdf(MAX_FILE - 1100))
    assert full.status_code == 413
    assert error(full)["code"] == "case_evidence_full"
    assert error(full)["limit_bytes"] == MAX_CASE
    listed = (await stack.get(f"/v1/complaints/{n}/evidence", "handler")).json()
    assert listed["count"] == MAX_CASE // (MAX_FILE - 1000) and listed["total_bytes"] <= MAX_CASE


async def test_files_that_lie_about_their_type_are_refused(stack: Stack) -> None:
    n = (await stack.register())["number"]
    cases = [
        # (name, declared content type, bytes, status, code)
        ("photo.jpg", "image/jpeg", samples.html_page(), 415, "unsupported_file_type"),
        ("录音.mp3", "audio/mpeg", samples.exe(), 415, "unsupported_file_type"),
        ("archive.docx", "application/zip", samples.plain_zip(), 415, "unsupported_file_type"),
        ("report.pdf", "application/pdf", samples.png(), 415, "file_type_mismatch"),
        ("scene.png", "application/pdf", samples.png(), 415, "file_type_mismatch"),
        ("empty.pdf", "application/pdf", b"", 422, "empty_file"),
    ]
    for name, declared, data, status, code in cases:
        r = await upload(stack, n, "intake", name, data, declared)
        assert r.status_code == status, (name, r.text)
        assert error(r)["code"] == code, (name, r.text)
    r = await upload(stack, n, "intake", "report.pdf", samples.png())
    assert "content is PNG" in error(r)["message"]
    accepted = [("statement.docx", samples.docx(), "docx"), ("table.xls", samples.xls(), "xls"),
                ("voice.m4a", samples.m4a(), "m4a"), ("no-extension", samples.jpeg(), "jpeg")]
    for name, data, kind in accepted:
        r = await upload(stack, n, "intake", name, data)
        assert r.status_code == 201 and r.json()["kind"] == kind, r.text
    bad_field = await upload(stack, n, "intake", "a.png", samples.png(), provided_by="someone")
    assert bad_field.status_code == 422 and error(bad_field)["fields"][0]["field"] == "provided_by"
    no_file = await stack.http.post(f"/v1/complaints/{n}/evidence", headers=auth("intake"),
                                    data={"description": "x"})
    assert no_file.status_code == 422 and error(no_file)["fields"][0]["field"] == "file"
    assert list((stack.settings.evidence_dir / "tmp").iterdir()) == []


async def test_handling_unit_sees_summaries_and_only_shared_files(stack: Stack) -> None:
    case = await stack.referred()
    n, name = case["number"], case["request"]["complainant"]["name"]
    secret = samples.jpeg(3000)
    r = await upload(stack, n, "handler", f"{name}的身份证.jpg", secret, "image/jpeg",
                     description=f"{name}提供，含身份证照片", summary="投诉人提供的照片一张")
    assert r.status_code == 201, r.text
    unshared = r.json()
    r = await upload(stack, n, "handler", "窗口照片.png", samples.png(2000), summary="窗口现场照片")
    shared = r.json()

    seen = await stack.get(f"/v1/complaints/{n}/evidence", "tax")
    assert seen.status_code == 200
    assert name not in seen.text and "身份证" not in seen.text
    by_id = {x["id"]: x for x in seen.json()["data"]}
    u = by_id[unshared["id"]]
    assert u["summary"] == "投诉人提供的照片一张" and not u["downloadable"]
    assert u["filename"] is None and u["description"] is None and u["sha256"] is None
    assert seen.json()["total_bytes"] is None
    dl = await stack.get(f"/v1/complaints/{n}/evidence/{unshared['id']}", "tax")
    assert dl.status_code == 404
    assert (await stack.get(f"/v1/complaints/{n}/evidence/{shared['id']}", "tax")).status_code == (
        404)

    # Only a leader approves sharing.
    url = f"/v1/complaints/{n}/evidence/{shared['id']}/share"
    denied = await stack.http.post(url, json={"shared": True}, headers=auth("handler"))
    assert denied.status_code == 403
    ok = await stack.http.post(url, json={"shared": True, "note": "同意提供"},
                               headers=auth("leader"))
    assert ok.status_code == 200 and ok.json()["shared"] and ok.json()["shared_by"] == "leader-01"
    got = await stack.get(f"/v1/complaints/{n}/evidence/{shared['id']}", "tax")
    assert got.status_code == 200 and got.content == samples.png(2000)
    assert got.headers["content-disposition"].endswith(f'"evidence-{n}-{shared["id"]}.png"')
    log = await stack.pool.fetchval(
        "SELECT count(*) FROM access_log WHERE number = $1 AND actor_id = 'tax-01'", n)
    assert log == 1

    # The unit uploads its own material, as `unit`, and may read it back.
    own = await upload(stack, n, "tax", "说明.pdf", samples.pdf(900), summary="单位书面说明")
    assert own.status_code == 201 and own.json()["provided_by"] == "unit"
    assert (await stack.get(own.json()["download_url"], "tax")).status_code == 200
    as_complainant = await upload(stack, n, "tax", "x.pdf", samples.pdf(901),
                                  provided_by="complainant")
    assert as_complainant.status_code == 422
    # Another unit does not see the case at all.
    assert (await stack.get(f"/v1/complaints/{n}/evidence", "housing")).status_code == 404
    assert (await upload(stack, n, "housing", "y.pdf", samples.pdf())).status_code == 404
    # A summary must not name the complainant (it is what the unit reads).
    named = await upload(stack, n, "handler", "z.pdf", samples.pdf(902), summary=f"{name}的材料")
    assert named.status_code == 422 and "summary" in named.text


async def test_archived_case_takes_no_more_evidence(stack: Stack) -> None:
    case = await stack.register()
    n = case["number"]
    await stack.ok(n, "reject", "handler", reason="不属于受理范围", basis="第二条", guidance="请另行起诉")
    r = await upload(stack, n, "handler", "late.pdf", samples.pdf())
    assert r.status_code == 409 and error(r)["code"] == "invalid_status"


async def test_unit_records_a_document_request_and_its_reply_deadline_shows(
    stack: Stack,
) -> None:
    case = await stack.referred()
    n = case["number"]
    r = await stack.act(n, "record-investigation", "tax", kind="request_documents",
                        note="请被投诉窗口3日内提供书面说明", party="tax-bureau")
    assert r.status_code == 200, r.text
    view = (await stack.get(f"/v1/complaints/{n}", "tax")).json()
    [step] = view["investigation"]
    assert (step["kind"], step["party"], step["by"]["id"]) == (
        "request_documents", "tax-bureau", "tax-01")
    [reply] = [d for d in view["deadlines"] if d["kind"] == "document_reply"]
    assert reply["state"] == "open" and reply["due_at"] == step["reply_due"]
    assert datetime.fromisoformat(reply["due_at"]).astimezone(BEIJING).time() == time(23, 59, 59)
    assert "record-investigation" in view["allowed_actions"]
    # The reply closes the clock.
    r = await stack.act(n, "record-investigation", "tax", kind="explanation_received",
                        note="已收到书面说明")
    assert r.status_code == 200, r.text
    [reply] = [d for d in r.json()["deadlines"] if d["kind"] == "document_reply"]
    assert reply["state"] == "met"
    # A handler may not record for a case referred to a unit; another unit does not see it.
    assert (await stack.act(n, "record-investigation", "handler", kind="site_visit",
                            note="x")).status_code == 409
    assert (await stack.act(n, "record-investigation", "housing", kind="site_visit",
                            note="x")).status_code == 404
