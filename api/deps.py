"""FastAPI dependencies as `Annotated` aliases: settings, pool, Temporal client, the caller,
the roles a route admits, the complaint number and the case the caller may see."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from temporalio.client import Client

from api.auth import STAFF_ROLES, Authenticator, User
from api.complaints.schemas import NUMBER_EXAMPLE, CaseView
from api.complaints.service import NUMBER_RE, CaseService
from api.errors import ApiError, not_found, unavailable
from config import Settings
from domain.actions import SIGNALS
from domain.models import CaseState, Role

log = logging.getLogger("complaints.api")


def _iso(value: object) -> object:
    """A date or instant in a query must be ISO 8601 text, as the document's `format` says
    (pydantic would also take a number of seconds since 1970)."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("an ISO 8601 date (YYYY-MM-DD) or date-time is required")
    return value


#: `BeforeValidator` for date and date-time query parameters.
IsoText = BeforeValidator(_iso)

#: How long a request waits for a pool that could not be opened at start-up.
POOL_RETRY_SECONDS = 5.0


class Resources:
    """What a running app holds: settings, tokens, the pool and the Temporal client.

    Both connections are made on first use when not given, and a pool that could not be made
    (PostgreSQL down at start-up) is retried on the next request, so the API starts and answers
    503 rather than refusing to boot.
    """

    def __init__(
        self, settings: Settings, *, pool: asyncpg.Pool | None, client: Client | None
    ) -> None:
        self.settings = settings
        self.tokens = Authenticator(settings)  # OIDC access tokens; the tokens file in development
        self.pool = pool
        self.client = client
        self.owns_pool = pool is None
        self._pool_lock = asyncio.Lock()
        self._client_lock = asyncio.Lock()

    async def get_pool(self, *, timeout: float | None = POOL_RETRY_SECONDS) -> asyncpg.Pool:
        """The pool, opened now if needed (`timeout` None: wait as long as it takes)."""
        if self.pool is None:
            async with self._pool_lock:
                if self.pool is None:
                    self.pool = await self._create_pool(timeout)
        return self.pool

    async def _create_pool(self, timeout: float | None) -> asyncpg.Pool:
        from db import create_pool  # imported late: only an app opening its own pool needs it

        try:
            return await asyncio.wait_for(create_pool(self.settings), timeout)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            log.warning("PostgreSQL unavailable: %s: %s", type(e).__name__, e)
            raise unavailable("database_unavailable", "the database is unavailable") from e

    async def get_client(self) -> Client:
        if self.client is None:
            async with self._client_lock:
                if self.client is None:
                    from temporal_client import connect  # TLS, API key, data converter

                    # lazy: no I/O now; an unreachable server fails each call, within its deadline
                    self.client = await connect(self.settings, lazy=True)
        return self.client

    async def close(self) -> None:
        if self.owns_pool and self.pool is not None:
            await self.pool.close()
            self.pool = None


def get_resources(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def get_settings(res: ResourcesDep) -> Settings:
    return res.settings


async def get_pool(res: ResourcesDep) -> asyncpg.Pool:
    return await res.get_pool()


async def get_client(res: ResourcesDep) -> Client:
    return await res.get_client()


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
TemporalDep = Annotated[Client, Depends(get_client)]

_bearer = HTTPBearer(
    auto_error=False,
    description="An OIDC access token of the center's identity provider; in development also a "
    "token from the tokens file, e.g. `dev-handler` (DESIGN.md dev tokens).",
)


def current_user(
    res: ResourcesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller, from `Authorization: Bearer <token>`; 401 if missing or unknown."""
    user = res.tokens.lookup(credentials.credentials) if credentials else None
    if user is None:
        raise ApiError(
            401, "unauthorized", "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency admitting only `roles` (403 for other roles)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise ApiError(
                403, "forbidden",
                f"role {user.role.value!r} may not do this; allowed: "
                + ", ".join(sorted(r.value for r in allowed)),
            )
        return user

    return check


StaffUser = Annotated[User, Depends(require(*STAFF_ROLES))]
IntakeUser = Annotated[User, Depends(require(Role.INTAKE, Role.HANDLER))]
HistoryUser = Annotated[
    User, Depends(require(Role.AUDITOR, Role.HANDLER, Role.LEADER, Role.SUPERVISOR))
]
AuditorUser = Annotated[User, Depends(require(Role.AUDITOR))]
LeaderUser = Annotated[User, Depends(require(Role.LEADER))]


def signal_sender(name: str) -> Callable[[User], Awaitable[User]]:
    """A dependency admitting the roles that may send the signal `name` (`domain.actions`)."""
    return require(*SIGNALS[name].roles)


def complaint_number(
    number: Annotated[
        str,
        Path(max_length=64, description="The complaint number.", examples=[NUMBER_EXAMPLE]),
    ],
) -> str:
    """The `{number}` path parameter; one that cannot be a complaint number is a 404."""
    if not NUMBER_RE.match(number):
        raise not_found()
    return number


ComplaintNumber = Annotated[str, Depends(complaint_number)]


def get_cases(pool: PoolDep, client: TemporalDep, settings: SettingsDep) -> CaseService:
    return CaseService(pool, client, settings)


Cases = Annotated[CaseService, Depends(get_cases)]


async def visible_case(number: ComplaintNumber, user: StaffUser, cases: Cases) -> CaseState:
    """The case if the caller may see it, else 404: same center or the center reviewing its
    appeal (R-46); a unit only its own or joint cases (R-15, R-33). From its workflow, or, while
    the workflow is not started yet, as registered in PostgreSQL (a `CaseView` with `opening`).

    Routes with a body load the case in the handler instead (`CaseService.load`, the same
    check): a dependency would run before FastAPI answers an invalid body with 422."""
    opening: CaseView | None = await cases.opening_view(number, user)
    if opening is not None:
        return opening
    return await cases.load(number, user)


VisibleCase = Annotated[CaseState, Depends(visible_case)]
