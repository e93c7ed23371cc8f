"""The complainant's pages: number and access code in a POST form (never in a URL, throttled
as on the API) → status, deadlines, result, the callback answer and the appeal; phone layout."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic import ValidationError

from api.complaints.bodies import ACTION_BODIES
from api.complaints.service import CaseService
from api.errors import ApiError
from api.public import service as public
from api.ratelimit import CodeThrottle, client_address
from api.web import forms
from api.web.page import AnyPage, Page, PostedForm, page_router
from domain.labels import label
from domain.models import Action

router = page_router()


@router.get("/track")
async def track_form(page: AnyPage) -> Response:
    track = page.session.data.get("track")
    if isinstance(track, dict):
        return await _track_page(page, track)
    return await page.render("track_form.html", error=None, with_nav=False, public=True)


@router.post("/track")
async def track(page: AnyPage, form: PostedForm) -> Response:
    number, code = form.get("number"), form.get("code")
    if not isinstance(number, str) or not isinstance(code, str):
        return await page.render("track_form.html", 422, error="请填写投诉编号和查询码",
                                 with_nav=False, public=True)
    number, code = number.strip()[:64], code.strip()[:32]
    try:
        cases = await page.cases()
        progress = await public.progress(cases, number, code, _throttle(page, cases, number))
    except ApiError as e:
        if e.http_status == 404:
            return await page.render("track_form.html", 404, error="投诉编号或查询码不正确",
                                     with_nav=False, public=True)
        if e.http_status == 429:
            return await page.render("track_form.html", 429, with_nav=False, public=True,
                                     error="查询码错误次数过多，请稍后再试")
        return await page.failed(e)
    page.session.set("track", {"number": number, "code": code})
    return await page.render("track.html", progress=progress, errors={}, values={},
                             with_nav=False, public=True, forms=_public_forms(progress))


def _throttle(page: Page, cases: CaseService, number: str) -> CodeThrottle:
    """Wrong codes are throttled per case and per client, as on the API (`api.ratelimit`)."""
    return CodeThrottle(cases.pool, cases.settings, number, client_address(page.request))


def _public_forms(progress: Any) -> list[dict[str, Any]]:
    out = []
    for name in progress.allowed_actions:
        action = Action(name)
        ws = forms.widgets(ACTION_BODIES[action], skip=frozenset({"to_center"}))
        for w in ws:
            if w.name == "rating":
                w.options = [(v, lbl) for v, lbl in w.options if v != "no_response"]
        out.append({"action": name, "label": label(action), "widgets": ws})
    return out


async def _track_page(page: Page, track: dict[str, Any], *, status: int = 200,
                      errors: dict[str, dict[str, str]] | None = None,
                      values: dict[str, Any] | None = None, flash: str | None = None
                      ) -> Response:
    number = str(track.get("number"))
    try:
        cases = await page.cases()
        progress = await public.progress(cases, number, str(track.get("code")),
                                         _throttle(page, cases, number))
    except ApiError as e:
        if e.http_status == 404:
            page.session.pop("track")
            return await page.render("track_form.html", 404, error="投诉编号或查询码不正确",
                                     with_nav=False, public=True)
        return await page.failed(e)
    return await page.render("track.html", status, progress=progress, errors=errors or {},
                             values=values or {}, flash=flash, with_nav=False, public=True,
                             forms=_public_forms(progress))


@router.post("/track/actions/{action}")
async def track_action(page: AnyPage, form: PostedForm, action: str) -> Response:
    track = page.session.data.get("track")
    if not isinstance(track, dict) or action not in ("record-satisfaction", "appeal"):
        return page.redirect("/track")
    act = Action(action)
    model = ACTION_BODIES[act]
    ws = forms.widgets(model, skip=frozenset({"to_center"}))
    raw = forms.body_from_form(form, ws)
    try:
        body = model.model_validate(raw)
    except ValidationError as e:
        return await _track_page(page, track, status=422, errors={action: forms.pydantic_errors(e)},
                                 values={action: raw})
    try:
        cases = await page.cases()
        number = str(track["number"])
        await public.public_act(cases, act, number, str(track["code"]), body,
                                _throttle(page, cases, number))
    except ApiError as e:
        return await _track_page(page, track, status=e.http_status,
                                 errors={action: forms.api_errors(e, [w.name for w in ws])},
                                 values={action: raw})
    return await _track_page(page, track, flash=f"已提交：{label(act)}")


@router.post("/track/exit")
async def track_exit(page: AnyPage, _: PostedForm) -> Response:
    page.session.pop("track")
    return page.redirect("/track")
