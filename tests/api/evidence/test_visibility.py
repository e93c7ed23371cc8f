"""Issue 13: evidence follows the case view's rule for every role (R-32, R-33). Handler,
leader, supervisor and auditor, who see the complainant's file in the case view, see every
file and its description; intake, whose case view hides the file, sees only the non-personal
summary of files others uploaded (before issue 13 it saw `身份证复印件` and could download it);
the handling unit the summary, its own uploads and what a leader shared. The summary, which the
unit sees, is refused when it carries personal data.
"""

from __future__ import annotations

from api.complaints.service import FILE_ROLES
from domain.models import Role
from tests.api.evidence import samples
from tests.api.evidence.test_evidence import upload
from tests.stack import Stack, auth

ROLES = {"intake": Role.INTAKE, "handler": Role.HANDLER, "leader": Role.LEADER,
         "supervisor": Role.SUPERVISOR, "auditor": Role.AUDITOR, "tax": Role.UNIT}


async def test_every_role_sees_evidence_as_it_sees_the_case(stack: Stack) -> None:
    case = await stack.referred()
    n, name = case["number"], case["request"]["complainant"]["name"]
    id_copy = await upload(stack, n, "handler", "身份证复印件.pdf", samples.pdf(300),
                           description=f"身份证复印件（{name}）", summary="身份证明材料一份")
    assert id_copy.status_code == 201, id_copy.text
    own = await upload(stack, n, "intake", "现场照片.png", samples.png(), description="窗口现场照片",
                       summary="现场照片一张")
    assert own.status_code == 201, own.text
    ids = {"id_copy": id_copy.json()["id"], "own": own.json()["id"]}
    for who, role in ROLES.items():
        case_view = await stack.get(f"/v1/complaints/{n}", who)
        sees_file_in_case_view = case_view.json().get("evidence") is not None
        assert sees_file_in_case_view == (role in FILE_ROLES), who
        listed = await stack.get(f"/v1/complaints/{n}/evidence", who)
        assert listed.status_code == 200, listed.text
        items = {x["id"]: x for x in listed.json()["data"]}
        item = items[ids["id_copy"]]
        # The handler's upload of the ID copy: description, name and bytes as the case view.
        assert (item["description"] is not None) == sees_file_in_case_view, (who, item)
        assert (item["filename"] is not None) == sees_file_in_case_view, (who, item)
        assert item["downloadable"] == sees_file_in_case_view, (who, item)
        assert item["summary"] == "身份证明材料一份"
        if not sees_file_in_case_view:
            assert "身份证复印件" not in listed.text and name not in listed.text, who
        download = await stack.get(f"/v1/complaints/{n}/evidence/{ids['id_copy']}", who)
        assert download.status_code == (200 if sees_file_in_case_view else 404), who
        # Intake's own upload: intake and FILE_ROLES see it; the unit only its summary.
        mine = items[ids["own"]]
        assert (mine["description"] == "窗口现场照片") == (who != "tax"), (who, mine)
    # A leader shares the ID copy: the unit may download it, still without its description.
    r = await stack.http.post(f"/v1/complaints/{n}/evidence/{ids['id_copy']}/share",
                              json={"shared": True, "note": "同意"}, headers=auth("leader"))
    assert r.status_code == 200, r.text
    item = next(x for x in (await stack.get(f"/v1/complaints/{n}/evidence", "tax")).json()["data"]
                if x["id"] == ids["id_copy"])
    assert item["downloadable"] and item["description"] is None and item["filename"] is None
    got = await stack.get(f"/v1/complaints/{n}/evidence/{ids['id_copy']}", "tax")
    assert got.status_code == 200 and "身份证" not in got.headers["content-disposition"]


async def test_a_summary_with_personal_data_is_refused(stack: Stack) -> None:
    case = await stack.register()
    n, who = case["number"], case["request"]["complainant"]
    phone = who["phone"]
    for summary, kind in ((f"投诉人手机{phone[:3]} {phone[3:7]} {phone[7:]}的通话录音", "phone"),
                          ("收款卡号6222021203004567896的流水", "bank_card"),
                          (f"{who['name']}提供的录音", "name")):
        r = await upload(stack, n, "intake", "录音.mp3", samples.mp3_id3(300), "audio/mpeg",
                         summary=summary)
        assert r.status_code == 422, r.text
        [problem] = r.json()["error"]["fields"]
        assert problem["field"] == "summary" and kind in problem["kinds"]
        assert who["name"] not in r.text and phone not in r.text
    assert await stack.pool.fetchval("SELECT count(*) FROM evidence WHERE number = $1", n) == 0
