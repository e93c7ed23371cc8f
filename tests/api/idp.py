"""A stand-in for the center's identity provider (OIDC): signing keys, the JWKS served over
HTTP (tests/stub_http.py), access tokens, and the settings that point the API at it. The
`provider` fixture (tests/api/conftest.py) is one with the key `k1`; used by the API's token
check (test_auth_jwt.py) and the workbench's sign-in (web/test_oidc_signin.py)."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from config import Settings
from tests.stub_http import StubRequest, StubServer

ISSUER = "https://sso.center.example/realms/complaints"
AUDIENCE = "complaints-api"


@functools.cache
def signing_key(kid: str, kind: str) -> Any:
    """One key per name for the whole run (an RSA key costs ~0.1 s to make): each test's
    provider publishes its own set, so sharing the key material changes nothing tested."""
    if kind == "RS256":
        return rsa.generate_private_key(65537, 2048)
    return ec.generate_private_key(ec.SECP256R1())


class Provider:
    """An identity provider: signing keys, a JWKS served over HTTP, and tokens."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}  # kid -> private key
        self.published: list[str] = []  # kids in the JWKS
        self.fetches = 0
        self.server = StubServer(self._serve_jwks, "GET")
        self.url = self.server.url("/protocol/openid-connect/certs")

    def _serve_jwks(self, _: StubRequest) -> tuple[int, str, bytes]:
        self.fetches += 1
        return 200, "application/json", json.dumps(self.jwks()).encode()

    def add_key(self, kid: str, kind: str = "RS256", *, publish: bool = True) -> None:
        self.keys[kid] = (kind, signing_key(kid, kind))
        if publish:
            self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid in self.published:
            kind, key = self.keys[kid]
            algo = jwt.get_algorithm_by_name(kind)
            jwk = json.loads(algo.to_jwk(key.public_key()))
            out.append({**jwk, "kid": kid, "use": "sig", "alg": kind})
        return {"keys": out}

    def token(self, kid: str, **claims: Any) -> str:
        kind, key = self.keys[kid]
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "handler-07",
            "iat": now,
            "exp": now + 300,
            "role": "handler",
            "center": "default",
            **claims,
        }
        return jwt.encode(
            {k: v for k, v in payload.items() if v is not None}, key, algorithm=kind, headers={"kid": kid}
        )

    def close(self) -> None:
        self.server.close()  # the port refuses connections from now on


def oidc_settings(provider: Provider, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_jwks_url": provider.url,
        "oidc_jwks_min_refresh_seconds": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
