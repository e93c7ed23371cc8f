"""What every workbench page shares: the templates and their label filters, the security
headers, and `Page` — one request's resources, session, signed-in user and navigation counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth import User
from api.complaints.service import CaseService
from api.deps import Resources
from api.errors import DB_DOWN, ApiError
from api.stats.service import FIGURE_ROLES
from api.web import forms, queue
from api.web.session import CSRF_FIELD, Session, load, save, user_of
from domain.labels import EVENTS, TABLES, label, text
from domain.models import Action, Category, Channel, DeadlineKind, Grade, Role, Status
from domain.workdays import BEIJING

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

#: Scripts and styles only from the app itself; nothing from elsewhere.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

#: Roles that read the timeline (the same as `GET /v1/complaints/{n}/history`).
TIMELINE_ROLES = frozenset({Role.AUDITOR, Role.HANDLER, Role.LEADER, Role.SUPERVISOR})
INTAKE_ROLES = frozenset({Role.INTAKE, Role.HANDLER})
#: Roles that attach evidence files (as `POST /v1/complaints/{n}/evidence`).
UPLOAD_ROLES = frozenset({Role.INTAKE, Role.HANDLER, Role.UNIT})


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


def resources_of(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res


def utcnow() -> datetime:
    return datetime.now(UTC)


class Page:
    """One request's context: resources, session and the signed-in user (if any)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.res = resources_of(request)
        self.session: Session = load(request, self.res)
        self.user: User | None = user_of(self.res, self.session)
        self._nav: asyncio.Task[dict[str, int] | None] | None = None

    def start_nav(self) -> None:
        """Count the navigation's queue now, beside the page's own work (another connection)."""
        if self.user is not None and self._nav is None:
            self._nav = asyncio.create_task(self._counts(self.user))

    async def _counts(self, user: User) -> dict[str, int] | None:
        try:
            return await queue.counts(await self.res.get_pool(), user, now=utcnow())
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

    async def posted(self) -> Any:
        """The form a signed-in user posted, or the response that refuses it (sign in first;
        a form without this session's CSRF token): callers return a `Response` as it is."""
        if self.user is None:
            return login_redirect(self.request)
        form = await self.form()
        return form if form is not None else await self.refused()

    async def refused(self) -> Response:
        return await self.render("message.html", 403, title="请求无效",
                                 message="表单已过期或来源不明（CSRF），请返回重新打开页面后再提交。")

    async def failed(self, e: ApiError) -> Response:
        msg = forms.api_errors(e, []).get("_form") or next(iter(forms.api_errors(e, []).values()))
        status = e.http_status if e.http_status in (403, 404, 409, 422, 503) else 502
        return await self.render("message.html", status, title="操作未完成", message=msg)


def login_redirect(request: Request) -> Response:
    target = request.url.path if request.url.path.startswith("/") else "/"
    page = Page(request)
    return page.redirect("/login" + ("" if target == "/" else f"?next={target}"))


def safe_next(value: object) -> str:
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value and len(value) < 200:
        return value
    return "/"
