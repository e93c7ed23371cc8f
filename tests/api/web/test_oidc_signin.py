"""The workbench signs staff in through the identity provider: authorization code with PKCE
(api/web/oidc.py), against a provider made by this test (its JWKS from tests/api/idp.py,
an authorization server here that binds each code to its S256 challenge, as RFC 7636 says).

A user sent back with the right state gets a session holding a checked access token; a wrong or
replayed state, a code exchanged without its verifier, a token the API would refuse and a
provider error all leave no session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI

from api.deps import Resources
from api.web import oidc
from api.web.session import COOKIE, serializer
from tests.api.idp import Provider, oidc_settings
from tests.stub_http import StubRequest, StubServer


class AuthorizationServer:
    """The provider's token endpoint: codes issued for a challenge, redeemed once with its verifier."""

    def __init__(self, provider: Provider) -> None:
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self.token_claims: dict[str, Any] = {}
        self.provider = provider
        self.http = StubServer(self._token, "POST")
        self.token_url = self.http.url("/token")

    def _token(self, request: StubRequest) -> tuple[int, str, bytes]:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        issued = self.codes.pop(form.get("code", ""), None)
        ok = (
            issued is not None
            and form.get("grant_type") == "authorization_code"
            and form.get("client_id") == "workbench"
            and form.get("redirect_uri") == issued[1]
            and create_s256_code_challenge(form.get("code_verifier", "")) == issued[0]
        )
        token = {"access_token": self.provider.token("k1", **self.token_claims), "token_type": "Bearer"}
        status, body = (200, token) if ok else (400, {"error": "invalid_grant"})
        return status, "application/json", json.dumps(body).encode()

    def authorize(self, location: str) -> tuple[str, str, str]:
        """What the provider does after the user signed in there: a code for the challenge."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert q["response_type"] == "code" and q["client_id"] == "workbench"
        assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
        code = f"code-{len(self.codes)}-{q['state'][:6]}"
        self.codes[code] = (q["code_challenge"], q["redirect_uri"])
        return code, q["state"], q["redirect_uri"]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def idp(provider: Provider) -> Iterator[AuthorizationServer]:
    a = AuthorizationServer(provider)
    yield a
    a.close()


def workbench(provider: Provider, idp: AuthorizationServer, **overrides: Any) -> FastAPI:
    settings = oidc_settings(provider, **{
        "oidc_authorize_url": "https://sso.center.example/realms/complaints/protocol/openid-connect/auth",
        "oidc_token_url": idp.token_url,
        "oidc_client_id": "workbench",
        **overrides,
    })
    app = FastAPI()
    app.state.resources = Resources(settings, pool=None, client=None)
    app.include_router(oidc.router)
    return app


def session_of(app: FastAPI, http: httpx.AsyncClient) -> dict[str, Any]:
    raw = http.cookies.get(COOKIE)
    return serializer(app.state.resources).loads(raw) if raw else {}


async def start(http: httpx.AsyncClient, idp: AuthorizationServer) -> tuple[str, str, str]:
    r = await http.get("/login/oidc", params={"next": "/cases/TS-1"})
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("https://sso.center.example/")
    assert "verifier" not in r.headers["location"]  # the verifier never leaves the session
    return idp.authorize(r.headers["location"])


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wb.test")


async def test_sign_in_with_pkce_sets_a_session_with_the_checked_token(provider, idp) -> None:
    app = workbench(provider, idp)
    async with client(app) as http:
        code, state, redirect_uri = await start(http, idp)
        assert redirect_uri == "http://wb.test/login/oidc/callback"
        r = await http.get("/login/oidc/callback", params={"code": code, "state": state})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/cases/TS-1"
        session = session_of(app, http)
        user = app.state.resources.tokens.lookup(session["token"])
        assert (user.id, user.role.value, user.center) == ("handler-07", "handler", "default")
        assert oidc.FLOW not in session  # the flow is used up
        # The same state again (a replayed callback) is refused.
        again = await http.get("/login/oidc/callback", params={"code": code, "state": state})
        assert again.status_code == 400


@pytest.mark.parametrize("attack", ["wrong state", "no verifier", "refused token", "provider error"])
async def test_a_sign_in_that_does_not_hold_leaves_no_session(provider, idp, attack: str) -> None:
    app = workbench(provider, idp)
    async with client(app) as http:
        code, state, _ = await start(http, idp)
        params = {"code": code, "state": state}
        if attack == "wrong state":  # a callback forged by another site (login CSRF)
            params["state"] = "x" * len(state)
        elif attack == "no verifier":  # a stolen code redeemed by someone without the verifier
            challenge, uri = idp.codes[code]
            idp.codes[code] = (create_s256_code_challenge("another verifier" * 4), uri)
        elif attack == "refused token":  # the provider signs a token for another application
            idp.token_claims = {"aud": "another-app"}
        else:
            params = {"error": "access_denied", "state": state}
        r = await http.get("/login/oidc/callback", params=params)
        assert r.status_code == {"wrong state": 400}.get(attack, 401), r.text
        assert "token" not in session_of(app, http)


async def test_without_a_provider_configured_the_sso_routes_say_so(provider, idp) -> None:
    app = workbench(provider, idp, oidc_authorize_url="")
    async with client(app) as http:
        r = await http.get("/login/oidc")
        assert r.status_code == 404 and "COMPLAINTS_OIDC_AUTHORIZE_URL" in r.text
