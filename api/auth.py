"""Bearer tokens: a JSON file mapping each token to a staff user (id, role, unit, center).

The file (`settings.tokens_file`, `api/dev_tokens.json` by default) looks like::

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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
