"""Limits of the API (issue 13): sliding windows kept in PostgreSQL, so every API replica
shares them, answered with 429 and `Retry-After`.

- Wrong access codes (`CodeThrottle`): at most `code_failures_per_case` wrong codes for one
  case and `code_failures_per_client` from one client address (any case) per
  `code_window_seconds`; past either, 429 until the oldest failure leaves the window, also for
  the right code (the center reissues a lost code: `POST /v1/complaints/{number}/access-code`,
  which clears the case's count). Each attempt is counted *before* the code is compared and
  given back when it was right, so concurrent guesses cannot overshoot the limit.
- Actions and signals (`action_rate_limit`, a route dependency): at most
  `actions_per_actor_case` by one account on one case, `actions_per_case` on one case by all
  accounts, and `actions_per_actor` by one account over all cases, per `action_window_seconds`.
  Counted before the body is validated (a flood of bad requests is a flood too). PostgreSQL
  being down is no reason to refuse an action (the actions fall back to the workflow): the
  limit is then skipped, with a warning.

The state is table `rate_events` (migration 0009) and function `rate_hit`, one call per
request; a key never holds more rows than its limit, and expired rows are pruned.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from api.auth import User
from api.deps import ComplaintNumber, ResourcesDep, StaffUser
from api.errors import DB_DOWN, ApiError, Responses, err_doc
from config import Settings

log = logging.getLogger("complaints.api")

R429: Responses = {
    429: err_doc("Too many requests (wrong access codes, or actions by one account or on one "
                 "case); try again after Retry-After seconds.")
}

#: Expired rows are deleted at most this often per process (each key also prunes its own).
PRUNE_EVERY_SECONDS = 30.0

HIT = "SELECT rate_hit($1::text[], $2::text[], $3::integer[], $4::float8[], $5)"
REFUND = "SELECT rate_refund($1::text[], $2::text[])"
PRUNE = "DELETE FROM rate_events WHERE expires_at <= now()"
CLEAR = "DELETE FROM rate_events WHERE scope = $1 AND key = $2"

_last_prune = 0.0


@dataclass(frozen=True)
class Limit:
    """At most `limit` events of `key` (in `scope`) per `window` seconds."""

    scope: str
    key: str
    limit: int
    window: float


def too_many(wait: float, message: str) -> ApiError:
    """A 429 with `Retry-After` (whole seconds, at least 1)."""
    seconds = max(1, math.ceil(wait))
    return ApiError(429, "too_many_requests", f"{message}; try again in {seconds} s",
                    headers={"Retry-After": str(seconds)}, retry_after=seconds)


async def hit(pool: asyncpg.Pool, limits: Sequence[Limit], *, record: bool = True) -> float:
    """Count one event for every limit, unless one is reached: then the seconds until it frees
    (nothing counted). 0 means allowed. With `record=False` only checks."""
    await _maybe_prune(pool)
    wait = await pool.fetchval(
        HIT, [x.scope for x in limits], [x.key for x in limits], [x.limit for x in limits],
        [x.window for x in limits], record,
    )
    return float(wait or 0.0)


async def refund(pool: asyncpg.Pool, limits: Sequence[Limit]) -> None:
    """Give one counted event of each limit back."""
    await pool.execute(REFUND, [x.scope for x in limits], [x.key for x in limits])


async def _maybe_prune(pool: asyncpg.Pool) -> None:
    global _last_prune
    now = time.monotonic()
    if now - _last_prune >= PRUNE_EVERY_SECONDS:
        _last_prune = now
        await pool.execute(PRUNE)


# ------------------------------------------------------------------ access codes


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy, run uvicorn with
    `--proxy-headers --forwarded-allow-ips` so this is the real client)."""
    return request.client.host if request.client else "unknown"


class CodeThrottle:
    """Wrong access codes per case and per client (see the module's docstring)."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, number: str, client: str) -> None:
        s, window = settings, settings.code_window_seconds
        self.pool = pool
        self.limits = (
            Limit("code-case", number, s.code_failures_per_case, window),
            Limit("code-client", client, s.code_failures_per_client, window),
        )

    async def attempt(self) -> None:
        """Count an attempt; 429 when the case or the client has had too many wrong codes."""
        wait = await hit(self.pool, self.limits)
        if wait:
            raise too_many(wait, "too many wrong access codes for this case or from this client")

    async def succeeded(self) -> None:
        """The code was right: the attempt is not a failure."""
        await refund(self.pool, self.limits)


async def clear_case(pool: asyncpg.Pool, number: str) -> None:
    """Forget the wrong codes counted for a case (its code was just reissued)."""
    await pool.execute(CLEAR, "code-case", number)


# ------------------------------------------------------------------ actions and signals


def action_limits(settings: Settings, user: User, number: str) -> list[Limit]:
    s, window = settings, settings.action_window_seconds
    return [
        Limit("act-actor", user.id, s.actions_per_actor, window),
        Limit("act-case", number, s.actions_per_case, window),
        Limit("act-actor-case", f"{user.id} {number}", s.actions_per_actor_case, window),
    ]


def complainant_limits(settings: Settings, number: str) -> list[Limit]:
    """The complainant's answers (callback, appeal) count on the case like anyone's actions."""
    s, window = settings, settings.action_window_seconds
    return [
        Limit("act-case", number, s.actions_per_case, window),
        Limit("act-actor-case", f"complainant {number}", s.actions_per_actor_case, window),
    ]


async def check_complainant(pool: asyncpg.Pool, settings: Settings, number: str) -> None:
    """429 when the case or its complainant is over the limit; counts this answer otherwise."""
    wait = await hit(pool, complainant_limits(settings, number))
    if wait:
        raise too_many(wait, "too many answers on this case")


async def action_rate_limit(res: ResourcesDep, number: ComplaintNumber, user: StaffUser) -> None:
    """Route dependency of the action and signal routes: 429 when the caller or the case is
    over its limit; counts this request otherwise."""
    try:
        pool = await res.get_pool()
        wait = await hit(pool, action_limits(res.settings, user, number))
    except ApiError:  # the pool cannot be opened (PostgreSQL down at start-up)
        log.warning("rate limit skipped: PostgreSQL unavailable")
        return
    except DB_DOWN as e:
        log.warning("rate limit skipped: PostgreSQL unavailable: %s", type(e).__name__)
        return
    if wait:
        raise too_many(wait, "too many actions by this account or on this case")


ActionRateLimit = Annotated[None, Depends(action_rate_limit)]
