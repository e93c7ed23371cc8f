"""What every workbench page shares: the templates and their label filters, the security
headers, `Page` — one request's resources, session, signed-in user and navigation counts — and
the `Annotated` dependencies that answer before a route runs (`SignedIn`, `Viewing`,
`PostedForm`, `only(roles)`), so that each route says only what is its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from api.auth import User
from api.complaints.service import CaseService
from api.deps import Resources
from api.errors import DB_DOWN, ApiError
from api.reports.service import READER_ROLES as REPORT_READERS
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
            "figures": self.user is not None and self.user.role in FIGURE_ROLES,
            "reports": self.user is not None and self.user.role in REPORT_READERS, **ctx,
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


def login_redirect(request: Request) -> Response:
    target = request.url.path if request.url.path.startswith("/") else "/"
    page = Page(request)
    return page.redirect("/login" + ("" if target == "/" else f"?next={target}"))


def safe_next(value: object) -> str:
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value and len(value) < 200:
        return value
    return "/"


class Refusal(Exception):
    """The answer a page gives before its route runs (sign in first; a form without this
    session's CSRF token; a role the page is not for): `PageRoute` sends it as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRoute(APIRoute):
    """A workbench route: a `Refusal` raised by one of its dependencies is its answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Refusal as refusal:
                return refusal.response

        return route


def page_router() -> APIRouter:
    """The router of a page family: pages, not API (not in the OpenAPI document)."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)


async def _page(request: Request) -> Page:
    return Page(request)


#: The request's page (one per request, whoever asks for it).
AnyPage = Annotated[Page, Depends(_page)]


async def _signed_in(page: AnyPage) -> Page:
    if page.user is None:
        raise Refusal(login_redirect(page.request))
    return page


#: The page of a signed-in user; anyone else is sent to sign in first.
SignedIn = Annotated[Page, Depends(_signed_in)]


async def _viewing(page: SignedIn) -> Page:
    page.start_nav()
    return page


#: A signed-in user's page that shows the navigation: its counts start beside the page's work.
Viewing = Annotated[Page, Depends(_viewing)]


async def _posted(page: AnyPage) -> FormData:
    form = await page.form()
    if form is None:
        raise Refusal(await page.refused())
    return form


#: The posted form if it carries this session's CSRF token; else a 403 page.
PostedForm = Annotated[FormData, Depends(_posted)]


def only(roles: frozenset[Role], title: str, message: str) -> Any:
    """A route's dependency: a signed-in user (else sign in first) of one of `roles` (else a
    403 page with `title` and `message`); checked before the route's own parameters."""

    async def check(page: SignedIn) -> None:
        assert page.user is not None
        if page.user.role not in roles:
            raise Refusal(await page.render("message.html", 403, title=title, message=message))

    return Depends(check)
