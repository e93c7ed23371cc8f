"""Sign-in with a token of the tokens file (development), sign-out; `complete_sign_in` is also
the end of the identity provider's sign-in (api/web/oidc.py)."""

from __future__ import annotations

from fastapi.responses import Response

from api.auth import User
from api.dashboard import views as dashboard
from api.stats.service import FIGURE_ROLES
from api.web.page import AnyPage, Page, PostedForm, page_router, safe_next

router = page_router()


@router.get("/login")
async def login_form(page: AnyPage, next: str = "/") -> Response:
    return await page.render("login.html", next=safe_next(next), error=None, with_nav=False)


@router.post("/login")
async def login(page: AnyPage, form: PostedForm) -> Response:
    token = form.get("token")
    user = page.res.tokens.lookup(token) if isinstance(token, str) and 0 < len(token) <= 2000 \
        else None
    if user is None:
        return await page.render("login.html", 401, next=safe_next(form.get("next")),
                                 error="令牌无效，请检查后重试", with_nav=False)
    return complete_sign_in(page, token, user, form.get("next"))


def complete_sign_in(page: Page, token: str, user: User, next: object) -> Response:
    """A new session for `user` holding `token` (a tokens-file token or a checked access token
    from the identity provider, api/web/oidc.py), then on to `next`."""
    page.session.clear()
    page.session.set("token", token)
    page.user = user
    out = page.redirect(safe_next(next))
    if user.role in FIGURE_ROLES:  # the dashboard's own sign-in, so its link just works
        out.set_cookie(dashboard.COOKIE, str(token), max_age=dashboard.COOKIE_MAX_AGE,
                       httponly=True, samesite="strict", secure=page.request.url.scheme == "https",
                       path="/dashboard")
    return out


@router.post("/logout")
async def logout(page: AnyPage, _: PostedForm) -> Response:
    page.session.clear()
    out = page.redirect("/login")
    out.delete_cookie(dashboard.COOKIE, path="/dashboard")
    return out
