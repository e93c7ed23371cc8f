"""`/dashboard`: the leaders' page (领导驾驶舱) — the figures of `GET /v1/stats` as charts.

The numbers come from the same `api.stats.service.compute_stats` as `/v1/stats` and the same
`api.supervision.service.load_board` as `/v1/supervision`; `page.py` draws them.

A browser cannot send a bearer header, so the page also accepts the token from an HttpOnly
cookie set by its own login form (`POST /dashboard/login`); the API itself stays bearer-only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import User
from api.dashboard.page import CSP, login_page, render_page
from api.deps import PoolDep, ResourcesDep
from api.errors import ApiError
from api.stats.params import DateFrom, DateTo
from api.stats.schemas import GroupBy
from api.stats.service import FIGURE_ROLES, compute_stats, period_of, unit_names
from api.supervision.service import load_board
from domain.workdays import BEIJING

router = APIRouter(tags=["dashboard"])

COOKIE = "complaints_dashboard_token"
COOKIE_MAX_AGE = 8 * 3600


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status,
                        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff"})


def _caller(res: ResourcesDep, request: Request) -> User | None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.cookies.get(COOKIE)
    return res.tokens.lookup(token) if token else None


def _allowed(user: User) -> bool:
    return user.role in FIGURE_ROLES


@router.get("/dashboard", summary="Leaders' dashboard (HTML)", response_class=HTMLResponse,
            responses={401: {"description": "Login form."}, 403: {"description": "Role not "
                       "allowed."}, 422: {"description": "Invalid period."}})
async def dashboard(
    request: Request, res: ResourcesDep, pool: PoolDep,
    date_from: DateFrom = None, date_to: DateTo = None,
) -> Response:
    """领导驾驶舱: trend by month, on-time and satisfaction rates by unit, open cases by status
    and warning level, the head of the supervision board — from the same queries as
    `/v1/stats` and `/v1/supervision`. Bearer token or the login cookie; handler, leader,
    supervisor, auditor, a unit (its own figures)."""
    user = _caller(res, request)
    if user is None:
        return _html(login_page(), 401)
    if not _allowed(user):
        return _html(login_page(f"角色 {user.role.value} 无权查看 not allowed"), 403)
    now = datetime.now(UTC)
    try:
        period = period_of(date_from, date_to, today=now.astimezone(BEIJING).date())
    except ApiError as err:
        return _html(login_page(f"统计期间无效 invalid period: {err.message}"), 422)
    unit = user.unit  # None for the office's staff; a unit sees only its own figures
    by_month, by_unit, board, names = await asyncio.gather(
        compute_stats(pool, center=user.center, period=period, group_by=GroupBy.MONTH,
                      unit=unit, now=now),
        compute_stats(pool, center=user.center, period=period, group_by=GroupBy.UNIT,
                      unit=unit, now=now),
        load_board(pool, center=user.center, unit=unit, page_size=10, now=now),
        unit_names(pool, user.center),
    )
    return _html(render_page(user, period, by_month, by_unit, board, names))


@router.post("/dashboard/login", summary="Dashboard login (sets the cookie)",
             response_class=HTMLResponse, status_code=303,
             responses={303: {"description": "Signed in: to /dashboard."},
                        401: {"description": "Unknown token: the form again."},
                        403: {"description": "Role not allowed: the form again."}})
async def login(
    request: Request, res: ResourcesDep,
    token: Annotated[str, Form(min_length=1, max_length=200, description="A staff token.")],
) -> Response:
    """Check the token and keep it in an HttpOnly, SameSite=Strict cookie for the dashboard."""
    user = res.tokens.lookup(token)
    if user is None:
        return _html(login_page("令牌无效 unknown token"), 401)
    if not _allowed(user):
        return _html(login_page(f"角色 {user.role.value} 无权查看 not allowed"), 403)
    out = RedirectResponse("/dashboard", status_code=303)
    out.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE, httponly=True, samesite="strict",
                   secure=request.url.scheme == "https", path="/dashboard")
    return out


@router.post("/dashboard/logout", summary="Dashboard logout", status_code=303,
             response_class=HTMLResponse, responses={303: {"description": "To the login form."}})
async def logout() -> Response:
    """Forget the dashboard cookie."""
    out = RedirectResponse("/dashboard", status_code=303)
    out.delete_cookie(COOKIE, path="/dashboard")
    return out
