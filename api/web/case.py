"""The case page: the record, deadlines, timeline, evidence and repeats, and the actions and
signals the signed-in role may send now, as forms generated from the lifecycle table."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from pydantic import ValidationError

from api.auth import User
from api.complaints.bodies import ACTION_BODIES, DecideExtensionBody, EscalateBody
from api.complaints.service import NUMBER_RE
from api.errors import ApiError
from api.evidence import service as evidence
from api.public import service as public
from api.timeline.service import case_timeline
from api.web import duplicates, forms, queue
from api.web.page import (
    INTAKE_ROLES,
    TIMELINE_ROLES,
    UPLOAD_ROLES,
    Page,
    PostedForm,
    SignedIn,
    Viewing,
    page_router,
    utcnow,
)
from domain.actions import SIGNALS
from domain.clocks import CLOCKS
from domain.labels import label
from domain.models import (
    OUTSIDE_ESCALATION_SOURCES,
    Action,
    DecideExtensionInput,
    EscalateInput,
    Role,
    Status,
)
from domain.workdays import deadline_end, working_days_between

router = page_router()


def _deadlines(view: Any, now: datetime) -> list[dict[str, Any]]:
    until = queue.yellow_until(now)
    out = []
    for d in view.deadlines:
        if d.state != "open":
            continue
        lvl = "red" if deadline_end(d.due_at) <= now else ("yellow" if d.due_at <= until
                                                           else "green")
        out.append({"kind": d.kind, "due_at": d.due_at, "level": lvl,
                    "days_left": working_days_between(now, d.due_at),
                    "provisional": d.provisional, "extended_days": d.extended_days,
                    "public": CLOCKS[d.kind].public})
    return sorted(out, key=lambda x: x["due_at"])


def _action_forms(view: Any, values: dict[str, Any], errors: dict[str, dict[str, str]]
                  ) -> list[dict[str, Any]]:
    out = []
    for name in view.allowed_actions:
        action = Action(name)
        out.append({"action": name, "label": label(action),
                    "widgets": forms.widgets(ACTION_BODIES[action]),
                    "values": values.get(name, {}), "errors": errors.get(name, {})})
    return out


def _signal_forms(view: Any, user: User, values: dict[str, Any],
                  errors: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    if getattr(view, "opening", False) or view.status == Status.ARCHIVED:
        return []
    out = []
    pending = [e for e in view.extensions
               if e.decided_at is None and not getattr(e, "lapsed", False)]
    if pending and user.role in SIGNALS["decide-extension"].roles:
        out.append({"signal": "decide-extension", "label": "延期审批",
                    "note": f"申请延期 {pending[0].days} 天：{pending[0].reason}",
                    "widgets": forms.widgets(DecideExtensionBody),
                    "values": values.get("decide-extension", {}),
                    "errors": errors.get("decide-extension", {})})
    if user.role in SIGNALS["escalate"].roles:
        ws = forms.widgets(EscalateBody)
        for w in ws:
            if w.name == "source":
                w.options = [(v, lbl) for v, lbl in w.options
                             if v in {s.value for s in OUTSIDE_ESCALATION_SOURCES}]
        out.append({"signal": "escalate", "label": "督办", "note": "", "widgets": ws,
                    "values": values.get("escalate", {}), "errors": errors.get("escalate", {})})
    return out


async def case_page_response(page: Page, number: str, *, status: int = 200,
                     values: dict[str, Any] | None = None,
                     errors: dict[str, dict[str, str]] | None = None,
                     flash: str | None = None) -> Response:
    assert page.user is not None
    user = page.user
    if not NUMBER_RE.match(number):
        return await page.render("message.html", 404, title="未找到", message="未找到该投诉件。")
    try:
        cases = await page.cases()
        being_opened = await cases.opening_view(number, user)
        if being_opened is not None:
            view = being_opened
        else:
            view = await cases.view(await cases.load(number, user), user, with_file=True)
    except ApiError as e:
        if e.http_status == 404:
            return await page.render("message.html", 404, title="未找到",
                                     message="未找到该投诉件，或您无权查看。")
        return await page.failed(e)
    now = utcnow()
    opening = bool(getattr(view, "opening", False))
    facts = getattr(view, "facts", None)

    async def timeline_of() -> tuple[Any, str | None]:
        if user.role not in TIMELINE_ROLES or opening:
            return None, None
        try:
            return await case_timeline(cases, number, user), None
        except ApiError as e:
            return None, forms.api_errors(e, [])["_form"]

    async def files_of() -> Any:
        if opening:
            return None
        try:
            ref = await evidence.case_for(cases.pool, number, user, query=cases.query)
            return await evidence.list_files(
                cases.pool, ref, user, limit_bytes=page.res.settings.evidence_max_case_bytes)
        except ApiError:
            return None

    async def suggestions_of() -> list[duplicates.Suggestion]:
        if "link-duplicate" not in view.allowed_actions or not facts:
            return []
        return await duplicates.suggest(cases.pool, center=view.center,
                                        unit=view.respondent_unit, facts=facts, exclude=number)

    # Side by side: the history from Temporal, the evidence and the repeats from PostgreSQL.
    (timeline, timeline_error), files, suggestions = await asyncio.gather(
        timeline_of(), files_of(), suggestions_of())
    actions = _action_forms(view, values or {}, errors or {})
    signals = _signal_forms(view, user, values or {}, errors or {})
    shown = {a["action"] for a in actions} | {s["signal"] for s in signals} | {"evidence-upload"}
    # A refusal of a form no longer offered (the case moved on): shown at the top.
    form_error = next((next(iter(errs.values())) for name, errs in (errors or {}).items()
                       if name not in shown and errs), None)
    return await page.render(
        "case.html", status, case=view, now=now, deadlines=_deadlines(view, now),
        actions=actions, signals=signals, timeline=timeline, timeline_error=timeline_error,
        files=files, suggestions=suggestions, flash=flash, form_error=form_error,
        unit_view=user.role == Role.UNIT, opening=opening,
        can_upload=user.role in UPLOAD_ROLES and not opening and view.status != Status.ARCHIVED,
        upload_errors=(errors or {}).get("evidence-upload", {}),
        can_share=user.role == Role.LEADER and view.status != Status.ARCHIVED,
        can_reissue=user.role in INTAKE_ROLES,
    )


@router.get("/cases/{number}")
async def case_page(page: Viewing, number: str, done: str = "") -> Response:
    flash = None
    if done:
        try:
            flash = f"已办理：{label(Action(done))}"
        except ValueError:
            flash = {"decide-extension": "延期审批已发送", "escalate": "督办已发送",
                     "registered": "已登记", "evidence": "证据已上传",
                     "share": "证据共享设置已保存"}.get(done)
    return await case_page_response(page, number, flash=flash)


@router.post("/cases/{number}/actions/{action}")
async def case_action(page: SignedIn, form: PostedForm, number: str, action: str) -> Response:
    try:
        act = Action(action)
    except ValueError:
        return await page.render("message.html", 404, title="未找到", message="没有这项操作。")
    model = ACTION_BODIES[act]
    ws = forms.widgets(model)
    raw = forms.body_from_form(form, ws)
    shown = {k: v for k, v in raw.items()}
    try:
        body = model.model_validate(raw)
    except ValidationError as e:
        return await case_page_response(page, number, status=422, values={action: shown},
                                errors={action: forms.pydantic_errors(e)})
    try:
        cases = await page.cases()
        await cases.act(act, number, body, page.user,
                        key=idempotency(form.get("idem")))
    except ValidationError as e:  # the domain's own validators (e.g. a unit named twice)
        return await case_page_response(page, number, status=422, values={action: shown},
                                errors={action: forms.pydantic_errors(e)})
    except ApiError as e:
        if e.http_status == 404:
            return await case_page_response(page, number)
        errs = forms.api_errors(e, [w.name for w in ws])
        return await case_page_response(page, number, status=e.http_status, values={action: shown},
                                errors={action: errs})
    return page.redirect(f"/cases/{number}?done={act.value}")


def idempotency(value: object) -> str | None:
    """The form's one-time key: a double click or a re-sent form is the same Update."""
    if isinstance(value, str) and 8 <= len(value) <= 64 and value.replace("-", "").isalnum():
        return "web-" + value
    return None


@router.post("/cases/{number}/signals/{name}")
async def case_signal(page: SignedIn, form: PostedForm, number: str, name: str) -> Response:
    if name not in ("decide-extension", "escalate") or page.user.role not in SIGNALS[name].roles:
        return await page.render("message.html", 403, title="无权操作", message="您的角色无权发送此指令。")
    model = DecideExtensionBody if name == "decide-extension" else EscalateBody
    ws = forms.widgets(model)
    raw = forms.body_from_form(form, ws)
    try:
        body = model.model_validate(raw)
        if name == "escalate" and body.source not in OUTSIDE_ESCALATION_SOURCES:  # type: ignore[attr-defined]
            return await case_page_response(page, number, status=422, values={name: raw},
                                    errors={name: {"source": "此来源由系统自动设置，请另选"}})
    except ValidationError as e:
        return await case_page_response(page, number, status=422, values={name: raw},
                                errors={name: forms.pydantic_errors(e)})
    inp_model = DecideExtensionInput if name == "decide-extension" else EscalateInput
    inp = inp_model(**body.model_dump(), actor=page.user.actor())
    try:
        cases = await page.cases()
        await cases.signal(name, number, inp, page.user)
    except ApiError as e:
        errs = forms.api_errors(e, [w.name for w in ws])
        return await case_page_response(page, number, status=e.http_status, values={name: raw},
                                errors={name: errs})
    return page.redirect(f"/cases/{number}?done={name}")


@router.post("/cases/{number}/access-code")
async def access_code(page: SignedIn, _: PostedForm, number: str) -> Response:
    """补发查询码 A new access code for a complainant who lost theirs (intake, handler); the
    old one stops working; shown once (`api.public.service.reissue`, logged)."""
    if page.user.role not in INTAKE_ROLES or not NUMBER_RE.match(number):
        return await page.render("message.html", 403, title="无权操作",
                                 message="只有登记员和投诉办人员可以补发查询码。")
    try:
        issued = await public.reissue(await page.res.get_pool(), number, page.user)
    except ApiError as e:
        return await page.failed(e)
    return await page.render("message.html", 200, title="已补发查询码",
                             message=f"投诉 {issued.number} 的新查询码：{issued.access_code}"
                                     "（仅显示一次，原查询码已失效）。", code=issued.access_code)
