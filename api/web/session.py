"""The workbench's session: one signed cookie (itsdangerous), HttpOnly, SameSite=Lax.

It holds the staff token the user signed in with (looked up again on every request, so a token
removed from the token file ends the session at once), a CSRF token that every form carries
back, and, for the complainant's pages, the number and access code they entered (never in a
URL). The cookie is signed, not encrypted: it lives only in the user's own browser.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.auth import User
from api.deps import Resources
from config import Settings

log = logging.getLogger("complaints.web")

COOKIE = "complaints_web"
MAX_AGE = 10 * 3600  # one working day and a bit
CSRF_FIELD = "csrf"
_SALT = "complaints-web-session"


def _secret(settings: Settings) -> str:
    """The signing key: the setting, else a random key kept (0600) under `data_dir`."""
    if settings.web_session_secret:
        return settings.web_session_secret
    path = Path(settings.data_dir) / "web_session_secret"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key)
        return key
    except FileExistsError:  # another process wrote it first
        return path.read_text(encoding="utf-8").strip()


_serializers: dict[int, URLSafeTimedSerializer] = {}


def serializer(res: Resources) -> URLSafeTimedSerializer:
    s = _serializers.get(id(res))
    if s is None:
        s = _serializers[id(res)] = URLSafeTimedSerializer(_secret(res.settings), salt=_SALT)
    return s


@dataclass
class Session:
    """What the cookie holds; `changed` makes the response set it again."""

    data: dict[str, Any] = field(default_factory=dict)
    changed: bool = False

    @property
    def csrf(self) -> str:
        token = self.data.get("csrf")
        if not isinstance(token, str) or len(token) < 20:
            token = secrets.token_urlsafe(24)
            self.data["csrf"] = token
            self.changed = True
        return token

    def csrf_ok(self, sent: object) -> bool:
        token = self.data.get("csrf")
        return (isinstance(sent, str) and isinstance(token, str) and len(token) >= 20
                and hmac.compare_digest(sent.encode(), token.encode()))

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.changed = True

    def pop(self, key: str) -> None:
        if key in self.data:
            del self.data[key]
            self.changed = True

    def clear(self) -> None:
        self.data = {}
        self.changed = True


def load(request: Request, res: Resources) -> Session:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return Session()
    try:
        data = serializer(res).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return Session()
    return Session(data if isinstance(data, dict) else {})


def save(response: Response, request: Request, res: Resources, session: Session) -> Response:
    if session.changed:
        response.set_cookie(
            COOKIE, serializer(res).dumps(session.data), max_age=MAX_AGE, httponly=True,
            samesite="lax", secure=request.url.scheme == "https", path="/",
        )
    return response


def user_of(res: Resources, session: Session) -> User | None:
    """The signed-in staff user, looked up in the token file now (revocation is immediate)."""
    token = session.data.get("token")
    if not isinstance(token, str) or not token:
        return None
    return res.tokens.lookup(token)
