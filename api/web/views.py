"""工作台 The workbench: server-rendered pages (Jinja2 + htmx, vendored) for the staff who handle
complaints and for the complainant, at `/`.

Every page goes through the REST API's own services — `CaseService` (visibility, the lifecycle
checks, the Updates and Signals), `api.public.service` (the access code), the timeline and
evidence services — so the pages follow exactly the rules of the API. Forms are generated from
the API's body models (`forms.py`); what a role may do now is the view's `allowed_actions`.

Not in the OpenAPI document (`include_in_schema=False`): these are pages, not API.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.auth import User
from api.complaints.bodies import ACTION_BODIES, DecideExtensionBody, EscalateBody
from api.complaints.service import NUMBER_RE, CaseService
from api.dashboard import views as dashboard
from api.deps import Resources
from api.errors import DB_DOWN, ApiError
from api.evidence import files as evidence_files
from api.evidence import service as evidence
from api.evidence.schemas import ShareBody
from api.middleware import RouteLimit
from api.public import service as public
from api.ratelimit import CodeThrottle, client_address
from api.stats.service import FIGURE_ROLES
from api.supervision.service import load_board
from api.timeline.service import case_timeline
from api.web import duplicates, forms, queue
from api.web.session import CSRF_FIELD, Session, load, save, user_of
from domain.actions import SIGNALS
from domain.clocks import CLOCKS
from domain.intake import ComplaintCreate
from domain.labels import EVENTS, TABLES, label, text
from domain.models import (
    OUTSIDE_ESCALATION_SOURCES,
    Action,
    Category,
    Channel,
    DeadlineKind,
    DecideExtensionInput,
    EscalateInput,
    Form,
    Grade,
    Role,
    Status,
)
from domain.workdays import BEIJING, deadline_end, working_days_between

log = logging.getLogger("complaints.web")

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

router = APIRouter(include_in_schema=False)

#: Scripts and styles only from the app itself; nothing from elsewhere.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

#: Roles that read the timeline (the same as `GET /v1/complaints/{n}/history`).
TIMELINE_ROLES = frozenset({Role.AUDITOR, Role.HANDLER, Role.LEADER, Role.SUPERVISOR})
INTAKE_ROLES = frozenset({Role.INTAKE, Role.HANDLER})


#: Roles that attach evidence files (as `POST /v1/complaints/{n}/evidence`).
UPLOAD_ROLES = frozenset({Role.INTAKE, Role.HANDLER, Role.UNIT})


def body_limits(settings: Any) -> list[RouteLimit]:
    """The pages that take a file: the evidence route's own body limit (api/main.py)."""
    max_bytes, message = evidence_files.body_limit(settings.evidence_max_file_bytes)
    return [RouteLimit(re.compile(r"^/(intake|cases/[^/]+/evidence)/?$"), max_bytes, message)]


def static_files() -> StaticFiles:
    """`/static`: htmx (vendored, with its licence) and the stylesheet."""
    return StaticFiles(directory=str(HERE / "static"))


# ------------------------------------------------------------------ helpers


def _bj(t: datetime | None) -> str:
    return "" if t is None else t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _label(value: Any, enum: Any = None) -> str:
    """The Chinese label of a code (an enum member, or a code string of `enum`, or of any
    vocabulary of `domain.labels` when `enum` is None)."""
    if value is None or value == "":
        return ""
    if isinstance(value, StrEnum):
        if type(value) in TABLES:
            return label(value)
        value = value.value
    try:
        if enum is not None:
            return label(enum(value))
    except ValueError:
        return str(value)
    for vocabulary, table in TABLES.items():
        if value in table:
            return label(vocabulary(value))
    return str(value)


def _what(code: str) -> str:
    try:
        return label(Action(code))
    except ValueError:
        return text(EVENTS, code, "zh")


templates.env.filters["bj"] = _bj
templates.env.filters["cap"] = lambda n, cap=queue.COUNT_CAP: f"{cap}+" if n > cap else str(n)
templates.env.filters["status"] = lambda v: _label(v, Status)
templates.env.filters["category"] = lambda v: _label(v, Category)
templates.env.filters["channel"] = lambda v: _label(v, Channel)
templates.env.filters["grade"] = lambda v: _label(v, Grade)
templates.env.filters["clock"] = lambda v: _label(v, DeadlineKind)
templates.env.filters["role"] = lambda v: _label(v, Role)
templates.env.filters["lbl"] = _label
templates.env.filters["what"] = _what
templates.env.filters["action_label"] = lambda v: _label(v, Action)


def _resources(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res


def _now() -> datetime:
    return datetime.now(UTC)


class Page:
    """One request's context: resources, session and the signed-in user (if any)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.res = _resources(request)
        self.session: Session = load(request, self.res)
        self.user: User | None = user_of(self.res, self.session)
        self._nav: asyncio.Task[dict[str, int] | None] | None = None

    def start_nav(self) -> None:
        """Count the navigation's queue now, beside the page's own work (another connection)."""
        if self.user is not None and self._nav is None:
            self._nav = asyncio.create_task(self._counts(self.user))

    async def _counts(self, user: User) -> dict[str, int] | None:
        try:
            return await queue.counts(await self.res.get_pool(), user, now=_now())
        except (ApiError, *DB_DOWN):
            return None

    async def cases(self) -> CaseService:
        return CaseService(await self.res.get_pool(), await self.res.get_client(),
                           self.res.settings)

    async def render(self, name: str, status: int = 200, **ctx: Any) -> Response:
        nav = None
        if self.user is not None and ctx.pop("with_nav", True):
            self.start_nav()
            assert self._nav is not None
            nav = await self._nav
        out = templates.TemplateResponse(self.request, name, {
            "user": self.user, "csrf": self.session.csrf, "csrf_field": CSRF_FIELD, "nav": nav,
            "sso": bool(self.res.settings.oidc_authorize_url),
            "figures": self.user is not None and self.user.role in FIGURE_ROLES, **ctx,
        }, status_code=status)
        return self.finish(out)

    def finish(self, response: Response) -> Response:
        if self._nav is not None and not self._nav.done():
            self._nav.cancel()
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return save(response, self.request, self.res, self.session)

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    async def form(self) -> Any | None:
        """The posted form if its CSRF token is this session's, else None."""
        data = await self.request.form(max_files=2, max_fields=200)
        return data if self.session.csrf_ok(data.get(CSRF_FIELD)) else None

    async def refused(self) -> Response:
        return await self.render("message.html", 403, title="请求无效",
                                 message="表单已过期或来源不明（CSRF），请返回重新打开页面后再提交。")

    async def failed(self, e: ApiError) -> Response:
        msg = forms.api_errors(e, []).get("_form") or next(iter(forms.api_errors(e, []).values()))
        status = e.http_status if e.http_status in (403, 404, 409, 422, 503) else 502
        return await self.render("message.html", status, title="操作未完成", message=msg)


def _login_redirect(request: Request) -> Response:
    target = request.url.path if request.url.path.startswith("/") else "/"
    page = Page(request)
    return page.redirect("/login" + ("" if target == "/" else f"?next={target}"))


def safe_next(value: object) -> str:
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value and len(value) < 200:
        return value
    return "/"


# ------------------------------------------------------------------ sign-in


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    page = Page(request)
    return await page.render("login.html", next=safe_next(next), error=None, with_nav=False)


@router.post("/login")
async def login(request: Request) -> Response:
    page = Page(request)
    form = await page.form()
    if form is None:
        return await page.refused()
    token = form.get("token")
    user = page.res.tokens.lookup(token) if isinstance(token, str) and 0 < len(token) <= 2000 \
        else None
    if user is None:
        return await page.render("login.html", 401, next=safe_next(form.get("next")),
                                 error="令牌无效，请检查后重试", with_nav=False)
    return complete_sign_in(page, request, token, user, form.get("next"))


def complete_sign_in(page: Page, request: Request, token: str, user: User, next: object) -> Response:
    """A new session for `user` holding `token` (a tokens-file token or a checked access token
    from the identity provider, api/web/oidc.py), then on to `next`."""
    page.session.clear()
    page.session.set("token", token)
    page.user = user
    out = page.redirect(safe_next(next))
    if user.role in FIGURE_ROLES:  # the dashboard's own sign-in, so its link just works
        out.set_cookie(dashboard.COOKIE, str(token), max_age=dashboard.COOKIE_MAX_AGE,
                       httponly=True, samesite="strict", secure=request.url.scheme == "https",
                       path="/dashboard")
    return out


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = Page(request)
    form = await page.form()
    if form is None:
        return await page.refused()
    page.session.clear()
    out = page.redirect("/login")
    out.delete_cookie(dashboard.COOKIE, path="/dashboard")
    return out


# ------------------------------------------------------------------ 待办


@router.get("/")
async def work_queue(request: Request, status: str = "", q: str = "", level: str = "",
                     page_no: int = 1) -> Response:
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    page.start_nav()
    user = page.user
    allowed_statuses = queue.ROLE_STATUSES[user.role] if user.role in queue.ROLE_STATUSES else []
    f = queue.QueueFilter(
        status=status if status in {s.value for s in allowed_statuses} else None,
        q=q.strip()[:100] or None,
        level=level if level in ("red", "yellow", "green") else None,
    )
    page_no = min(max(page_no, 1), queue.LIST_CAP // queue.PAGE_SIZE + 1)
    try:
        rows, total = await queue.load_queue(await page.res.get_pool(), user, f, now=_now(),
                                             page=page_no)
    except ApiError as e:
        return await page.failed(e)
    return await page.render(
        "queue.html", rows=rows, total=total, f=f, statuses=allowed_statuses,
        page_no=page_no, pages=max(1, -(-total // queue.PAGE_SIZE)),
    )


@router.get("/board")
async def board(request: Request, page_no: int = 1) -> Response:
    """督办台账 The supervision board (`api.supervision.service.load_board`, as
    `GET /v1/supervision`): supervised and overdue cases, most urgent first."""
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    page.start_nav()
    if page.user.role not in FIGURE_ROLES:
        return await page.render("message.html", 403, title="无权查看",
                                 message="督办台账供投诉中心、领导、督办、审计及承办单位查看。")
    page_no = min(max(page_no, 1), 1000)
    try:
        b = await load_board(await page.res.get_pool(), center=page.user.center,
                             unit=page.user.unit, page=page_no, page_size=50, now=_now())
    except ApiError as e:
        return await page.failed(e)
    return await page.render("board.html", board=b, page_no=page_no,
                             pages=max(1, -(-b.count // 50)))


# ------------------------------------------------------------------ the case


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


async def _case_page(page: Page, number: str, *, status: int = 200,
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
    now = _now()
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
async def case_page(request: Request, number: str, done: str = "") -> Response:
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    page.start_nav()
    flash = None
    if done:
        try:
            flash = f"已办理：{label(Action(done))}"
        except ValueError:
            flash = {"decide-extension": "延期审批已发送", "escalate": "督办已发送",
                     "registered": "已登记", "evidence": "证据已上传",
                     "share": "证据共享设置已保存"}.get(done)
    return await _case_page(page, number, flash=flash)


@router.post("/cases/{number}/actions/{action}")
async def case_action(request: Request, number: str, action: str) -> Response:
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    form = await page.form()
    if form is None:
        return await page.refused()
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
        return await _case_page(page, number, status=422, values={action: shown},
                                errors={action: forms.pydantic_errors(e)})
    try:
        cases = await page.cases()
        await cases.act(act, number, body, page.user,
                        key=_idempotency(form.get("idem")))
    except ValidationError as e:  # the domain's own validators (e.g. a unit named twice)
        return await _case_page(page, number, status=422, values={action: shown},
                                errors={action: forms.pydantic_errors(e)})
    except ApiError as e:
        if e.http_status == 404:
            return await _case_page(page, number)
        errs = forms.api_errors(e, [w.name for w in ws])
        return await _case_page(page, number, status=e.http_status, values={action: shown},
                                errors={action: errs})
    return page.redirect(f"/cases/{number}?done={act.value}")


def _idempotency(value: object) -> str | None:
    """The form's one-time key: a double click or a re-sent form is the same Update."""
    if isinstance(value, str) and 8 <= len(value) <= 64 and value.replace("-", "").isalnum():
        return "web-" + value
    return None


@router.post("/cases/{number}/signals/{name}")
async def case_signal(request: Request, number: str, name: str) -> Response:
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    form = await page.form()
    if form is None:
        return await page.refused()
    if name not in ("decide-extension", "escalate") or page.user.role not in SIGNALS[name].roles:
        return await page.render("message.html", 403, title="无权操作", message="您的角色无权发送此指令。")
    model = DecideExtensionBody if name == "decide-extension" else EscalateBody
    ws = forms.widgets(model)
    raw = forms.body_from_form(form, ws)
    try:
        body = model.model_validate(raw)
        if name == "escalate" and body.source not in OUTSIDE_ESCALATION_SOURCES:  # type: ignore[attr-defined]
            return await _case_page(page, number, status=422, values={name: raw},
                                    errors={name: {"source": "此来源由系统自动设置，请另选"}})
    except ValidationError as e:
        return await _case_page(page, number, status=422, values={name: raw},
                                errors={name: forms.pydantic_errors(e)})
    inp_model = DecideExtensionInput if name == "decide-extension" else EscalateInput
    inp = inp_model(**body.model_dump(), actor=page.user.actor())
    try:
        cases = await page.cases()
        await cases.signal(name, number, inp, page.user)
    except ApiError as e:
        errs = forms.api_errors(e, [w.name for w in ws])
        return await _case_page(page, number, status=e.http_status, values={name: raw},
                                errors={name: errs})
    return page.redirect(f"/cases/{number}?done={name}")


async def _attach(page: Page, cases: CaseService, number: str, upload: UploadFile,
                  summary: str, description: str) -> None:
    """Attach a file through the evidence service (type from the content, limits, SHA-256,
    the summary checked for personal data), as `POST /v1/complaints/{n}/evidence` does."""
    assert page.user is not None
    user, settings = page.user, page.res.settings
    case = await evidence.case_for(cases.pool, number, user, query=cases.query, fresh=True)
    await evidence.check_summary(cases.pool, number, summary)
    store = evidence_files.EvidenceStore(settings.evidence_dir)
    try:
        item = await asyncio.to_thread(
            store.ingest, upload.file, max_bytes=settings.evidence_max_file_bytes,
            filename=upload.filename or "", declared=upload.content_type)
    except evidence_files.Refused as e:
        raise e.error from None
    try:
        async with cases.pool.acquire() as conn, conn.transaction():
            await evidence.insert(
                conn, store, item, case=case, user=user,
                provided_by="unit" if user.role == Role.UNIT else "complainant",
                filename=evidence_files.clean_filename(upload.filename, item.type),
                description=description, summary=summary,
                max_case_bytes=settings.evidence_max_case_bytes)
    finally:
        store.discard(item)


def _upload_of(form: Any, name: str) -> UploadFile | None:
    f = form.get(name)
    return f if isinstance(f, UploadFile) and (f.filename or f.size) else None


@router.post("/cases/{number}/evidence")
async def case_evidence(request: Request, number: str) -> Response:
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    if page.user.role not in UPLOAD_ROLES:
        return await page.render("message.html", 403, title="无权上传", message="您的角色不能上传证据。")
    form = await page.form()
    if form is None:
        return await page.refused()
    upload = _upload_of(form, "file")
    field = "evidence-upload"
    if upload is None:
        return await _case_page(page, number, status=422, errors={field: {"file": "请选择文件"}})
    summary = str(form.get("summary") or "").strip()[:500]
    description = str(form.get("description") or "").strip()[:2000]
    try:
        await _attach(page, await page.cases(), number, upload, summary, description)
    except ApiError as e:
        return await _case_page(page, number, status=e.http_status,
                                errors={field: forms.api_errors(e, ["file", "summary"])})
    finally:
        await form.close()
    return page.redirect(f"/cases/{number}?done=evidence")


@router.get("/cases/{number}/evidence/{evidence_id}")
async def evidence_download(request: Request, number: str, evidence_id: int) -> Response:
    """The file itself, for whoever may download it (R-32: the office; a unit its own uploads
    and what a leader shared), the download written to the access log, as the API does."""
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    if not NUMBER_RE.match(number) or not 1 <= evidence_id <= 2**62:
        return await page.render("message.html", 404, title="未找到", message="未找到该文件。")
    try:
        cases = await page.cases()
        ref = await evidence.case_for(cases.pool, number, page.user, query=cases.query)
        row = await evidence.downloadable(cases.pool, ref, evidence_id, page.user)
        path = evidence_files.EvidenceStore(page.res.settings.evidence_dir).path(row["sha256"])
        if not path.is_file():
            return await page.render("message.html", 500, title="文件缺失",
                                     message="证据文件不在存储中，请联系管理员。")
        await evidence.log_download(cases.pool, ref, row, page.user)
    except ApiError as e:
        if e.http_status == 404:
            return await page.render("message.html", 404, title="未找到",
                                     message="未找到该文件，或您无权下载。")
        return await page.failed(e)
    return FileResponse(path, media_type=row["content_type"],
                        filename=evidence.download_name(row, page.user),
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.post("/cases/{number}/evidence/{evidence_id}/share")
async def evidence_share(request: Request, number: str, evidence_id: int) -> Response:
    """领导审批 A leader gives the handling unit the file itself (or takes it back), R-32."""
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    form = await page.form()
    if form is None:
        return await page.refused()
    if page.user.role != Role.LEADER:
        return await page.render("message.html", 403, title="无权操作",
                                 message="只有领导可以批准向承办单位提供证据文件。")
    try:
        body = ShareBody.model_validate({"shared": form.get("shared") == "true",
                                         "note": str(form.get("note") or "")[:2000]})
        cases = await page.cases()
        ref = await evidence.case_for(cases.pool, number, page.user, query=cases.query,
                                      fresh=True)
        await evidence.share(cases.pool, ref, evidence_id, body, page.user)
    except ValidationError as e:
        return await _case_page(page, number, status=422,
                                errors={"evidence-upload": forms.pydantic_errors(e)})
    except ApiError as e:
        return await _case_page(page, number, status=e.http_status,
                                errors={"evidence-upload": forms.api_errors(e, [])})
    return page.redirect(f"/cases/{number}?done=share")


@router.post("/cases/{number}/access-code")
async def access_code(request: Request, number: str) -> Response:
    """补发查询码 A new access code for a complainant who lost theirs (intake, handler); the
    old one stops working; shown once (`api.public.service.reissue`, logged)."""
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    form = await page.form()
    if form is None:
        return await page.refused()
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


# ------------------------------------------------------------------ 登记 intake


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


@router.get("/intake")
async def intake_form(request: Request) -> Response:
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    page.start_nav()
    if page.user.role not in INTAKE_ROLES:
        return await page.render("message.html", 403, title="无权登记",
                                 message="只有登记员和投诉办人员可以登记投诉。")
    return await page.render("intake.html", v={}, errors={}, units=await _units(page),
                             idem=str(uuid.uuid4()), **_intake_choices())


@router.post("/intake")
async def intake(request: Request) -> Response:
    page = Page(request)
    if page.user is None:
        return _login_redirect(request)
    user = page.user
    if user.role not in INTAKE_ROLES:
        return await page.render("message.html", 403, title="无权登记",
                                 message="只有登记员和投诉办人员可以登记投诉。")
    form = await page.form()
    if form is None:
        return await page.refused()
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
        created = await cases.register(body, user, key=_idempotency(idem))
    except ApiError as e:
        return await again(e.http_status, _intake_errors(forms.api_errors(e, [])))
    upload_error = None
    upload = _upload_of(form, "evidence_file")
    if upload is not None:
        try:
            await _attach(page, cases, created.number, upload,
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
async def intake_duplicates(request: Request) -> Response:
    """htmx: the possible repeats of what the clerk is typing (R-45)."""
    page = Page(request)
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


# ------------------------------------------------------------------ the complainant


@router.get("/track")
async def track_form(request: Request) -> Response:
    page = Page(request)
    track = page.session.data.get("track")
    if isinstance(track, dict):
        return await _track_page(page, track)
    return await page.render("track_form.html", error=None, with_nav=False, public=True)


@router.post("/track")
async def track(request: Request) -> Response:
    page = Page(request)
    form = await page.form()
    if form is None:
        return await page.refused()
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
async def track_action(request: Request, action: str) -> Response:
    page = Page(request)
    form = await page.form()
    if form is None:
        return await page.refused()
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
async def track_exit(request: Request) -> Response:
    page = Page(request)
    form = await page.form()
    if form is None:
        return await page.refused()
    page.session.pop("track")
    return page.redirect("/track")
