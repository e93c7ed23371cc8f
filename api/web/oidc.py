"""The workbench's sign-in through the center's identity provider: the OAuth 2.0 authorization
code flow with PKCE (RFC 7636), the way a browser application signs in to Keycloak, Authing or
an IDaaS (统一身份认证).

`GET /login/oidc` sends the browser to the provider's authorization endpoint with a fresh
`state` and an S256 code challenge (Authlib's `create_s256_code_challenge`); the verifier and the
state stay in the signed session cookie, never in a URL. The provider sends the browser back to
`GET /login/oidc/callback?code=…&state=…`; the state must match the session's (CSRF on the
sign-in itself) and be younger than `FLOW_MAX_AGE`; the code and the verifier are exchanged at
the token endpoint (a confidential client adds its secret); the access token is checked like
every API token (`api.auth`: issuer, audience, JWKS, expiry) and becomes the session's token, so
the workbench and the API share one rule for who a user is. An access token that expires ends the
session: the user signs in again (no refresh tokens are kept in the cookie).
"""

from __future__ import annotations

import hmac
import logging
import time
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.responses import Response

from api.web.page import AnyPage, Page, page_router, safe_next
from api.web.signin import complete_sign_in

log = logging.getLogger("complaints.web.oidc")
router = page_router()

#: How long a started sign-in may take at the provider.
FLOW_MAX_AGE = 600
#: The session key of a sign-in in progress.
FLOW = "oidc_flow"


def _configured(page: Page) -> bool:
    s = page.res.settings
    return bool(s.oidc_issuer and s.oidc_authorize_url and s.oidc_token_url and s.oidc_client_id)


def _redirect_uri(page: Page) -> str:
    return page.res.settings.oidc_redirect_url or str(page.request.url_for("oidc_callback"))


async def _failed(page: Page, status: int, error: str) -> Response:
    return await page.render("login.html", status, next="/", error=error, with_nav=False)


@router.get("/login/oidc")
async def oidc_start(page: AnyPage, next: str = "/") -> Response:
    if not _configured(page):
        return await _failed(page, 404, "未配置统一身份认证（COMPLAINTS_OIDC_AUTHORIZE_URL 等）")
    s = page.res.settings
    state, verifier = generate_token(32), generate_token(64)
    page.session.set(FLOW, {"state": state, "verifier": verifier, "at": time.time(),
                            "next": safe_next(next)})
    query = urlencode({
        "response_type": "code",
        "client_id": s.oidc_client_id,
        "redirect_uri": _redirect_uri(page),
        "scope": s.oidc_scope,
        "state": state,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    })
    sep = "&" if "?" in s.oidc_authorize_url else "?"
    return page.redirect(f"{s.oidc_authorize_url}{sep}{query}")


@router.get("/login/oidc/callback", name="oidc_callback")
async def oidc_callback(page: AnyPage, code: str = "", state: str = "", error: str = "") -> Response:
    if not _configured(page):
        return await _failed(page, 404, "未配置统一身份认证")
    flow = page.session.data.get(FLOW)
    page.session.pop(FLOW)
    if error:
        return await _failed(page, 401, "身份认证未通过，请重试")
    if (not isinstance(flow, dict) or not isinstance(flow.get("state"), str)
            or not hmac.compare_digest(state.encode(), flow["state"].encode())
            or time.time() - float(flow.get("at", 0)) > FLOW_MAX_AGE):
        return await _failed(page, 400, "登录请求已失效或不匹配（state），请重新登录")
    if not code or len(code) > 2000:
        return await _failed(page, 400, "缺少授权码（code），请重新登录")
    s = page.res.settings
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _redirect_uri(page),
        "client_id": s.oidc_client_id,
        "code_verifier": flow["verifier"],
    }
    if s.oidc_client_secret:
        form["client_secret"] = s.oidc_client_secret.get_secret_value()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(s.oidc_token_url, data=form, headers={"Accept": "application/json"})
        token = r.json().get("access_token") if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as e:
        log.warning("token endpoint: %s", type(e).__name__)
        token = None
    user = page.res.tokens.lookup(token) if isinstance(token, str) and token else None
    if user is None:
        return await _failed(page, 401, "身份认证未通过：令牌无效或无权使用本系统")
    return complete_sign_in(page, token, user, str(flow.get("next") or "/"))
