"""登记 The intake form (R-02, R-03, anonymous complaints, a file) with the possible repeats
(R-45) shown as the clerk types."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.complaints.bodies import ACTION_BODIES
from api.errors import ApiError
from api.web import duplicates, forms
from api.web.case import idempotency
from api.web.case_files import attach, upload_of
from api.web.page import (
    INTAKE_ROLES,
    AnyPage,
    Page,
    PostedForm,
    SignedIn,
    Viewing,
    only,
    page_router,
)
from api.web.session import CSRF_FIELD
from domain.intake import ComplaintCreate
from domain.labels import label
from domain.models import Action, Category, Channel, Form, Grade, Role

router = page_router()
#: Who may register a complaint: the clerk and the complaint office; anyone else is told so.
_INTAKE_ONLY = only(INTAKE_ROLES, "无权登记", "只有登记员和投诉办人员可以登记投诉。")


def _intake_choices() -> dict[str, Any]:
    return {
        "channels": [(c.value, label(c)) for c in Channel],
        "forms": [(c.value, label(c)) for c in Form],
        "categories": [(c.value, label(c)) for c in Category],
        "grades": [(c.value, label(c)) for c in Grade],
    }


async def _units(page: Page) -> list[tuple[str, str]]:
    assert page.user is not None
    try:
        rows = await (await page.res.get_pool()).fetch(
            "SELECT code, name FROM unit_register WHERE center = $1 AND active "
            "ORDER BY code LIMIT 500", page.user.center)
    except Exception:  # noqa: BLE001 - a convenience list only
        return []
    return [(r["code"], r["name"]) for r in rows]


def _intake_body(form: Any) -> dict[str, Any]:
    def s(name: str) -> str | None:
        v = form.get(name)
        return v.strip() if isinstance(v, str) and v.strip() else None

    anonymous = form.get("anonymous") == "on"
    complainant: dict[str, Any] = {"anonymous": anonymous}
    if not anonymous:
        complainant.update({k: s(k) for k in ("name", "phone", "address", "id_number")})
    complainant["email"] = s("email")
    if s("agent_name"):
        complainant["agent"] = {"name": s("agent_name"), "phone": s("agent_phone"),
                                "relation": s("agent_relation")}
    body: dict[str, Any] = {
        "channel": s("channel"), "form": s("form"), "category": s("category"),
        "grade": s("grade") or "basic", "complainant": complainant,
        "respondent": {"unit_code": s("unit_code"), "unit_name": s("unit_name"),
                       "staff_name": s("staff_name"), "subject": s("subject") or "unit"},
        "facts": s("facts") or "",
        "evidence": [line.strip() for line in (s("evidence") or "").splitlines() if line.strip()],
        "summary": s("summary"), "publish_consent": form.get("publish_consent") == "on",
    }
    if s("received_at"):
        body["received_at"] = s("received_at")
    return {k: v for k, v in body.items() if v is not None}


#: intake body path -> the form field it came from.
_INTAKE_FIELDS = {"complainant.name": "name", "complainant.phone": "phone",
                  "complainant.address": "address", "complainant.id_number": "id_number",
                  "complainant.email": "email", "complainant.agent.name": "agent_name",
                  "complainant.agent.phone": "agent_phone", "respondent.unit_code": "unit_code",
                  "respondent.unit_name": "unit_name", "respondent.staff_name": "staff_name"}


def _intake_errors(errs: dict[str, str]) -> dict[str, str]:
    return {_INTAKE_FIELDS.get(k, k.split(".")[-1] if k.startswith("complainant.") else k): v
            for k, v in errs.items()}


@router.get("/intake", dependencies=[_INTAKE_ONLY])
async def intake_form(page: Viewing) -> Response:
    return await page.render("intake.html", v={}, errors={}, units=await _units(page),
                             idem=str(uuid.uuid4()), **_intake_choices())


@router.post("/intake", dependencies=[_INTAKE_ONLY])
async def intake(page: SignedIn, form: PostedForm) -> Response:
    user = page.user
    v = {k: val for k, val in form.items() if isinstance(val, str) and k != CSRF_FIELD}
    idem = v.get("idem") or str(uuid.uuid4())

    async def again(status: int, errors: dict[str, str]) -> Response:
        return await page.render("intake.html", status, v=v, errors=errors,
                                 units=await _units(page), idem=idem, **_intake_choices())

    try:
        body = ComplaintCreate.model_validate(_intake_body(form))
    except ValidationError as e:
        return await again(422, _intake_errors(forms.pydantic_errors(e)))
    try:
        cases = await page.cases()
        created = await cases.register(body, user, key=idempotency(idem))
    except ApiError as e:
        return await again(e.http_status, _intake_errors(forms.api_errors(e, [])))
    upload_error = None
    upload = upload_of(form, "evidence_file")
    if upload is not None:
        try:
            await attach(page, cases, created.number, upload,
                          str(form.get("evidence_summary") or "").strip()[:500], "")
        except ApiError as e:
            upload_error = forms.api_errors(e, [])["_form"]
    await form.close()
    linked, link_error = None, None
    primary = v.get("duplicate_of")
    if primary and user.role == Role.HANDLER:
        try:
            await cases.act(Action.LINK_DUPLICATE, created.number,
                            ACTION_BODIES[Action.LINK_DUPLICATE].model_validate(
                                {"primary": primary}), user, key=None)
            linked = primary
        except (ApiError, ValidationError) as e:
            link_error = (forms.api_errors(e, [])["_form"] if isinstance(e, ApiError)
                          else "主件编号无效")
    return await page.render("intake_done.html", 201, created=created, linked=linked,
                             link_error=link_error, duplicate_of=primary,
                             uploaded=upload is not None and upload_error is None,
                             upload_error=upload_error)


@router.post("/intake/duplicates")
async def intake_duplicates(page: AnyPage) -> Response:
    """htmx: the possible repeats of what the clerk is typing (R-45)."""
    if page.user is None or page.user.role not in INTAKE_ROLES:
        return page.finish(HTMLResponse("", status_code=401))
    form = await page.form()
    if form is None:
        return page.finish(HTMLResponse("", status_code=403))
    unit, facts = form.get("unit_code"), form.get("facts")
    if not isinstance(unit, str) or not isinstance(facts, str):
        return page.finish(HTMLResponse(""))
    try:
        found = await duplicates.suggest(await page.res.get_pool(), center=page.user.center,
                                         unit=unit.strip()[:64], facts=facts[:20000])
    except ApiError:
        found = []
    return await page.render("_duplicates.html", suggestions=found, with_nav=False,
                             can_link=page.user.role == Role.HANDLER,
                             chosen=form.get("duplicate_of"))
