"""Staff identity from the center's identity provider: OIDC/JWT access tokens checked against a
JWKS (api/auth.py), with keys, tokens and the JWKS endpoint of a stand-in provider
(tests/api/idp.py).

A valid token signs a user in with the role, unit and center of its claims; an expired one, one
for another audience or issuer, one signed by a key the provider does not publish, or one whose
payload was altered is a 401. A rotated key (a new `kid`) is fetched; forged key ids do not make
the API fetch the JWKS more than once per `oidc_jwks_min_refresh_seconds`. In production the
tokens file is refused, and OIDC must be configured.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from api.auth import Authenticator, User
from api.deps import CurrentUser, Resources
from api.main import create_app
from config import Settings
from domain.models import Role
from tests.api.idp import AUDIENCE, ISSUER, Provider, oidc_settings


def me_app(settings: Settings) -> FastAPI:
    """The API's own `current_user` dependency behind one route."""
    app = FastAPI()
    app.state.resources = Resources(settings, pool=None, client=None)

    @app.get("/me")
    def me(user: CurrentUser) -> dict[str, Any]:
        return user.model_dump(mode="json")

    from api import errors

    errors.install(app)
    return app


def call(app: FastAPI, token: str | None) -> httpx.Response:
    async def go() -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get("/me", headers=headers)

    import asyncio

    return asyncio.run(go())


# ------------------------------------------------------------------ through the dependency


def test_valid_token_signs_the_user_in_with_the_claims(provider: Provider) -> None:
    app = me_app(oidc_settings(provider))
    r = call(app, provider.token("k1"))
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "handler-07", "role": "handler", "unit": None, "center": "default"}
    unit = call(app, provider.token("k1", sub="tax-09", role="unit", unit="tax-bureau", center="district"))
    assert unit.json() == {"id": "tax-09", "role": "unit", "unit": "tax-bureau", "center": "district"}


def tampered(token: str, **changes: Any) -> str:
    """The token with its payload changed and the signature kept."""
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{raw}.{sig}"


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong audience",
        "wrong issuer",
        "unknown key",
        "tampered",
        "alg none",
        "no expiry",
        "no token",
        "garbage",
    ],
)
def test_untrusted_tokens_are_401(provider: Provider, case: str) -> None:
    app = me_app(oidc_settings(provider))
    provider.add_key("rogue", publish=False)  # a key the provider does not publish
    now = int(time.time())
    token = {
        "expired": lambda: provider.token("k1", iat=now - 600, exp=now - 120),  # past the 30 s leeway
        "wrong audience": lambda: provider.token("k1", aud="another-app"),
        "wrong issuer": lambda: provider.token("k1", iss="https://evil.example/"),
        "unknown key": lambda: provider.token("rogue"),
        "tampered": lambda: tampered(provider.token("k1"), role="supervisor"),
        "alg none": lambda: jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "x",
                "exp": now + 60,
                "role": "auditor",
                "center": "default",
            },
            key=None,
            algorithm="none",
            headers={"kid": "k1"},
        ),
        "no expiry": lambda: provider.token("k1", exp=None),
        "no token": lambda: None,
        "garbage": lambda: "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
    }[case]()
    r = call(app, token)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"role": "complainant"}, "not a staff role"),
        ({"role": "unit"}, "a unit user without a unit"),
        ({"center": None}, "no center"),
        ({"role": ["handler", "leader"]}, "two staff roles"),
    ],
)
def test_tokens_of_no_staff_user_are_401(provider: Provider, claims: dict[str, Any], why: str) -> None:
    assert call(me_app(oidc_settings(provider)), provider.token("k1", **claims)).status_code == 401, why


def test_claims_are_read_where_the_provider_puts_them(provider: Provider) -> None:
    """Keycloak-style: roles in a list under realm_access, the one staff role among them counts."""
    settings = oidc_settings(
        provider,
        oidc_role_claim="realm_access.roles",
        oidc_center_claim="org.center",
        oidc_id_claim="preferred_username",
    )
    token = provider.token(
        "k1",
        role=None,
        center=None,
        realm_access={"roles": ["offline_access", "leader"]},
        org={"center": "city"},
        preferred_username="leader-3",
    )
    r = call(me_app(settings), token)
    assert r.json() == {"id": "leader-3", "role": "leader", "unit": None, "center": "city"}


# ------------------------------------------------------------------ keys


def test_rotated_key_is_fetched(provider: Provider) -> None:
    auth = Authenticator(oidc_settings(provider))
    assert auth.lookup(provider.token("k1")) is not None
    assert provider.fetches == 1
    assert auth.lookup(provider.token("k1")) is not None
    assert provider.fetches == 1, "keys are cached"
    provider.add_key("k2", "ES256")  # the provider rotates: a new key, published
    provider.published.remove("k1")
    user = auth.lookup(provider.token("k2", sub="auditor-1", role="auditor"))
    assert user == User(id="auditor-1", role=Role.AUDITOR, center="default")
    assert provider.fetches == 2


def test_withdrawn_key_is_refused_once_the_cached_keys_expire(provider: Provider) -> None:
    auth = Authenticator(oidc_settings(provider, oidc_jwks_cache_seconds=0.2))
    provider.add_key("k2")
    assert auth.lookup(provider.token("k1")) is not None
    provider.published.remove("k1")  # compromised: the provider withdraws it
    time.sleep(0.3)
    assert auth.lookup(provider.token("k1")) is None
    assert auth.lookup(provider.token("k2")) is not None


def test_provider_unreachable_means_refused(provider: Provider) -> None:
    auth = Authenticator(oidc_settings(provider, oidc_jwks_cache_seconds=0.2))
    assert auth.lookup(provider.token("k1")) is not None
    token = provider.token("k1")
    provider.close()
    time.sleep(0.3)
    assert auth.lookup(token) is None


def test_forged_key_ids_cannot_flood_the_provider(provider: Provider) -> None:
    auth = Authenticator(oidc_settings(provider, oidc_jwks_min_refresh_seconds=60))
    assert auth.lookup(provider.token("k1")) is not None
    provider.add_key("rogue", publish=False)
    for _ in range(20):
        assert auth.lookup(provider.token("rogue")) is None
    assert provider.fetches <= 2


# ------------------------------------------------------------------ development and production


def test_tokens_file_is_for_development_only(provider: Provider) -> None:
    dev = Authenticator(oidc_settings(provider))
    assert dev.lookup("dev-handler") == User(id="handler-01", role=Role.HANDLER, center="default")
    prod = Authenticator(oidc_settings(provider, env="production"))
    assert prod.lookup("dev-handler") is None
    assert prod.lookup(provider.token("k1")) is not None
    with pytest.raises(ValidationError, match="production needs COMPLAINTS_OIDC_ISSUER"):
        Settings(_env_file=None, env="production")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="oidc_issuer needs"):
        Settings(_env_file=None, oidc_issuer=ISSUER)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="asymmetric"):
        Authenticator(oidc_settings(provider, oidc_algorithms="HS256"))


async def test_the_api_signs_staff_in_with_access_tokens(provider: Provider, pg_pool: asyncpg.Pool) -> None:
    """The real app in production: the unit register answers an access token, not a dev token."""
    app = create_app(oidc_settings(provider, env="production"), pool=pg_pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        ok = await http.get("/v1/units", headers={"Authorization": f"Bearer {provider.token('k1')}"})
        assert ok.status_code == 200, ok.text
        dev = await http.get("/v1/units", headers={"Authorization": "Bearer dev-handler"})
        assert dev.status_code == 401
        expired = provider.token("k1", exp=int(time.time()) - 120)
        assert (
            await http.get("/v1/units", headers={"Authorization": f"Bearer {expired}"})
        ).status_code == 401
