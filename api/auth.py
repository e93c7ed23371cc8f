"""Staff identity: who a bearer token is.

- **OIDC/JWT access tokens** (`OidcVerifier`; production): signed by the center's identity
  provider, checked with PyJWT against the provider's JWKS (keys fetched, cached, re-fetched
  when a token names a key id not seen yet: key rotation), for issuer, audience, expiry and
  algorithm; the claims named by the `oidc_*_claim` settings give id, role, unit and center.
- **The tokens file** (`TokenStore`; development only, refused when `COMPLAINTS_ENV=production`):
  a JSON file mapping each token to a staff user (id, role, unit, center).

`Authenticator` combines them: a token shaped like a JWT goes to OIDC when it is configured,
anything else to the tokens file unless in production.

The tokens file (`settings.tokens_file`, `api/dev_tokens.json` by default) looks like::

    {"dev-handler": {"id": "handler-01", "role": "handler", "center": "default"},
     "dev-unit-tax": {"id": "tax-01", "role": "unit", "unit": "tax-bureau", "center": "default"}}

It is re-read when it changes, so operators can add or revoke a token without a restart.
Tokens are kept only as sha256 digests in memory, so looking one up takes the same time
whatever its prefix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from config import Settings
from domain.models import Actor, Role

log = logging.getLogger("complaints.api.auth")

#: Roles a token may carry: the complainant uses an access code, the system no token at all.
STAFF_ROLES = frozenset(
    {Role.INTAKE, Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR, Role.UNIT}
)


class User(BaseModel):
    """A staff user as the token file describes them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=100, description="Staff id, recorded on every action.")
    role: Role = Field(description="What the user may do (DESIGN.md REST contract).")
    unit: str | None = Field(default=None, description="Unit code, for handling-unit users.")
    center: str = Field(default="default", description="Jurisdiction (R-46).")

    @model_validator(mode="after")
    def _unit_matches_role(self) -> User:
        if self.role not in STAFF_ROLES:
            raise ValueError(f"role {self.role.value!r} cannot hold a token")
        if (self.role == Role.UNIT) != (self.unit is not None):
            raise ValueError("a unit code is required for role 'unit' and only for it")
        return self

    def actor(self) -> Actor:
        """The `Actor` that goes into the workflow: id, role and unit, nothing personal."""
        return Actor(id=self.id, role=self.role, unit=self.unit)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Looks tokens up in the token file, reloading it when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._users: dict[str, User] = {}

    def lookup(self, token: str) -> User | None:
        """The user for `token`, or None if it is unknown (or the file cannot be read)."""
        self._refresh()
        return self._users.get(_digest(token))

    def _refresh(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            log.error("token file %s cannot be read; every request is refused", self.path)
            self._users, self._mtime = {}, None
            return
        if mtime == self._mtime:
            return
        with self._lock:
            if mtime != self._mtime:
                self._users = self._load()
                self._mtime = mtime

    def _load(self) -> dict[str, User]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            log.error("token file %s is not valid JSON: %s", self.path, e)
            return {}
        users: dict[str, User] = {}
        for token, spec in raw.items() if isinstance(raw, dict) else ():
            try:
                users[_digest(token)] = User.model_validate(spec)
            except ValidationError as e:
                # Never log the token itself: name the user id only.
                who = spec.get("id", "?") if isinstance(spec, dict) else "?"
                log.error("token for %r in %s ignored: %s", who, self.path, e)
        return users


# ------------------------------------------------------------------ OIDC access tokens

#: Largest token looked at (a provider's access token is a few KB; bounds the work a forged one
#: costs before the signature is checked).
MAX_TOKEN_BYTES = 16 * 1024


def _claim(claims: dict[str, Any], path: str) -> Any:
    """The claim at dotted `path` (`realm_access.roles`), or None."""
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


class OidcVerifier:
    """Checks access tokens of the identity provider and maps their claims to a `User`.

    PyJWT's `PyJWKClient` fetches the JWKS, keeps it for `oidc_jwks_cache_seconds`, and
    fetches again when a token names an unknown key id (a rotated key), at most once per
    `oidc_jwks_min_refresh_seconds`, so forged key ids cannot make us flood the provider. Keys
    are not cached beyond the JWKS (`cache_keys=False`): a key the provider withdraws is refused
    once the cached JWKS expires. While the provider cannot be reached past that, tokens are
    refused (401), never accepted unchecked.
    Blocking (urllib): call it from a thread, as FastAPI does for the sync `current_user`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.algorithms = [a.strip() for a in settings.oidc_algorithms.split(",") if a.strip()]
        if not self.algorithms or any(a.lower() == "none" or a.startswith("HS") for a in self.algorithms):
            raise ValueError("oidc_algorithms: asymmetric algorithms only (RS*, PS*, ES*, EdDSA)")
        self.jwks = jwt.PyJWKClient(
            settings.oidc_jwks_url,
            cache_keys=False,
            lifespan=settings.oidc_jwks_cache_seconds,
            timeout=5,
            cooldown_duration=settings.oidc_jwks_min_refresh_seconds,
        )

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims; raises `jwt.PyJWTError` for any token not to be trusted."""
        if len(token) > MAX_TOKEN_BYTES:
            raise jwt.InvalidTokenError("token too long")
        key = self.jwks.get_signing_key_from_jwt(token)
        s = self.settings
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=self.algorithms,
            audience=s.oidc_audience,
            issuer=s.oidc_issuer,
            leeway=s.oidc_leeway_seconds,
            options={"require": ["exp", "iss", "aud", s.oidc_id_claim.split(".")[0]]},
        )
        return claims

    def user_of(self, claims: dict[str, Any]) -> User:
        """The staff user the claims describe; ValueError if they describe none."""
        s = self.settings
        role = _claim(claims, s.oidc_role_claim)
        if isinstance(role, list):  # e.g. Keycloak's realm_access.roles: exactly one staff role
            staff = [r for r in role if r in {x.value for x in STAFF_ROLES}]
            if len(staff) != 1:
                raise ValueError(f"{s.oidc_role_claim}: {len(staff)} staff roles, one needed")
            role = staff[0]
        center = _claim(claims, s.oidc_center_claim)
        if not isinstance(center, str) or not center:
            raise ValueError(f"claim {s.oidc_center_claim!r} (center) missing")
        return User.model_validate(
            {"id": _claim(claims, s.oidc_id_claim), "role": role,
             "unit": _claim(claims, s.oidc_unit_claim) if role == Role.UNIT.value else None,
             "center": center}
        )

    def lookup(self, token: str) -> User | None:
        try:
            return self.user_of(self.claims(token))
        except jwt.PyJWTError as e:  # expired, wrong audience/issuer, unknown key, bad signature
            log.info("access token refused: %s: %s", type(e).__name__, e)
        except (ValueError, ValidationError) as e:  # a valid token of no staff user we know
            log.warning("access token of no staff user: %s", str(e).splitlines()[0])
        return None


class Authenticator:
    """The user for a bearer token: OIDC access tokens when configured; the tokens file only
    outside production (`settings.env`)."""

    def __init__(self, settings: Settings) -> None:
        self.oidc = OidcVerifier(settings) if settings.oidc_issuer else None
        self.file = TokenStore(settings.tokens_file) if settings.env != "production" else None

    def lookup(self, token: str) -> User | None:
        if self.oidc is not None and looks_like_jwt(token):
            return self.oidc.lookup(token)
        return self.file.lookup(token) if self.file is not None else None
