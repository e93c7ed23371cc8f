"""The workbench signs staff in through the identity provider: authorization code with PKCE
(api/web/oidc.py), against a provider made by this test (its JWKS from tests/api/test_auth_jwt.py,
an authorization server here that binds each code to its S256 challenge, as RFC 7636 says).

A user sent back with the right state gets a session holding a checked access token; a wrong or
replayed state, a code exchanged without its verifier, a token the API would refuse and a
provider error all leave no session.
"""

from __future__ import annotations

import http.server
import json
import threading
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
from tests.api.test_auth_jwt import Provider, oidc_settings


class AuthorizationServer:
    """The provider's token endpoint: codes issued for a challenge, redeemed once with its verifier."""

    def __init__(self, provider: Provider) -> None:
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self.token_claims: dict[str, Any] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
                issued = server.codes.pop(form.get("code", ""), None)
                ok = (
                    issued is not None
                    and form.get("grant_type") == "authorization_code"
                    and form.get("client_id") == "workbench"
                    and form.get("redirect_uri") == issued[1]
                    and create_s256_code_challenge(form.get("code_verifier", "")) == issued[0]
                )
                token = {"access_token": provider.token("k1", **server.token_claims), "token_type": "Bearer"}
                status, body = (200, token) if ok else (400, {"error": "invalid_grant"})
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.token_url = f"http://127.0.0.1:{self.http.server_address[1]}/token"

    def authorize(self, location: str) -> tuple[str, str, str]:
        """What the provider does after the user signed in there: a code for the challenge."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert q["response_type"] == "code" and q["client_id"] == "workbench"
        assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
        code = f"code-{len(self.codes)}-{q['state'][:6]}"
        self.codes[code] = (q["code_challenge"], q["redirect_uri"])
        return code, q["state"], q["redirect_uri"]

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_key("k1")
    yield p
    p.close()


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
