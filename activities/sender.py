"""Delivers the outbox: `pending` notifications go out through one channel, with retries.

The channels (`settings.notify_channel`: log, smtp, webhook) are in activities/channels.py.

This is the one place where a complainant's contact is read from `complainants` (R-33): the
workflow and the outbox carry only `complainant_ref`, and nothing read here goes back to
Temporal. An anonymous complainant (no phone, no e-mail) cannot be told anything: the row is
marked `sent` with channel `none` and a note, not `failed`.

Each round claims due rows with `FOR UPDATE SKIP LOCKED` and leases them (pushes
`next_attempt_at` ahead) before sending, so several senders never pick the same row and a
sender that dies mid-round leaves its rows to be retried when the lease ends. A failed attempt
is retried with exponential backoff; after `max_attempts` the row is `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from activities.channels import Address, Channel, DeliveryError, Message, Undeliverable, make_channel
from activities.channels import check_settings as check_settings
from config import Settings
from domain.labels import both
from domain.models import NotificationKind, Recipient

if TYPE_CHECKING:
    import asyncpg

    from db import Connection

log = logging.getLogger("complaints.sender")

#: How long a claimed row stays invisible to other senders while this one delivers it.
LEASE = timedelta(minutes=10)
#: Deliveries in flight at once within a round (each may hold a pool connection briefly).
CONCURRENCY = 4

CLAIM_DUE = """
UPDATE notifications n
SET next_attempt_at = now() + $2::interval
WHERE n.id IN (
    SELECT id FROM notifications
    WHERE status = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING n.id, n.key, n.number, n.kind, n.recipient, n.unit, n.complainant_ref, n.data,
          n.attempts
"""
SELECT_CONTACT = """
SELECT phone, email FROM complainants WHERE ref = $1
"""
MARK_SENT = """
UPDATE notifications
SET status = 'sent', sent_at = now(), channel = $2, note = $3, attempts = attempts + 1,
    last_error = NULL
WHERE id = $1
"""
MARK_ATTEMPT_FAILED = """
UPDATE notifications
SET status = $2, attempts = attempts + 1, last_error = $3, channel = $4,
    next_attempt_at = now() + $5::interval
WHERE id = $1
"""



# ------------------------------------------------------------------ messages


@dataclass(frozen=True)
class Backoff:
    """Retry schedule of a failing delivery."""

    initial: timedelta = timedelta(seconds=10)
    """Delay after the first failed attempt; doubled after each further failure."""
    maximum: timedelta = timedelta(hours=1)
    """Longest delay between two attempts."""
    max_attempts: int = 8
    """After this many failed attempts the row is `failed`."""

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1-based)."""
        return min(self.initial * (2 ** max(attempts - 1, 0)), self.maximum)


def compose(row: asyncpg.Record | dict[str, Any], to: Address) -> Message:
    """The subject and text of an outbox row (its `data` rendered as `key: value` lines)."""
    kind = row["kind"]
    label = both(NotificationKind(kind)) if kind in NotificationKind._value2member_map_ else kind
    data = row["data"] or {}
    subject = f"[行政效能投诉 {row['number']}] {label}"
    lines = [f"投诉编号 complaint number: {row['number']}", label]
    lines += [f"{k}: {v}" for k, v in sorted(data.items())]
    return Message(key=row["key"], number=row["number"], kind=row["kind"], to=to,
                   subject=subject, text="\n".join(lines), data=data)


# ------------------------------------------------------------------ delivery


async def address_of(conn: Connection, row: asyncpg.Record) -> Address:
    """Whom the row is for; for a complainant, the contact looked up by reference (R-33)."""
    if row["recipient"] != Recipient.COMPLAINANT:
        return Address(recipient=row["recipient"], unit=row["unit"])
    contact = None
    if row["complainant_ref"]:
        contact = await conn.fetchrow(SELECT_CONTACT, row["complainant_ref"])
    if contact is None:
        return Address(recipient=row["recipient"])
    return Address(recipient=row["recipient"], phone=contact["phone"], email=contact["email"])


async def deliver_one(
    pool: asyncpg.Pool, row: asyncpg.Record, channel: Channel, backoff: Backoff
) -> bool:
    """Send one claimed row and record the outcome; True if it counts as delivered."""
    async with pool.acquire() as conn:
        to = await address_of(conn, row)
    if not to.reachable:
        async with pool.acquire() as conn:
            await conn.execute(MARK_SENT, row["id"], "none",
                               "anonymous complainant: no phone or e-mail on file")
        return True
    try:
        await channel.send(compose(row, to))
    except DeliveryError as e:
        await record_failure(pool, row, channel.name, e, backoff)
        return False
    except Exception as e:  # a channel bug must not leave the row leased forever
        await record_failure(pool, row, channel.name, DeliveryError(repr(e)), backoff)
        return False
    async with pool.acquire() as conn:
        await conn.execute(MARK_SENT, row["id"], channel.name, None)
    return True


async def record_failure(
    pool: asyncpg.Pool, row: asyncpg.Record, channel: str, error: DeliveryError, backoff: Backoff
) -> None:
    """Schedule the next attempt, or give up (`failed`) after `backoff.max_attempts`."""
    attempts = row["attempts"] + 1
    give_up = isinstance(error, Undeliverable) or attempts >= backoff.max_attempts
    status = "failed" if give_up else "pending"
    delay = timedelta(0) if give_up else backoff.delay(attempts)
    async with pool.acquire() as conn:
        await conn.execute(MARK_ATTEMPT_FAILED, row["id"], status, str(error)[:1000], channel,
                           delay)
    log.warning("notification %s attempt %d via %s failed (%s): %s", row["key"], attempts,
                channel, status, error)


async def deliver_round(
    pool: asyncpg.Pool, channel: Channel, *, limit: int = 100, backoff: Backoff | None = None
) -> tuple[int, int]:
    """Claim up to `limit` due rows and deliver them; returns (claimed, delivered)."""
    backoff = backoff or Backoff()
    async with pool.acquire() as conn:
        rows = await conn.fetch(CLAIM_DUE, limit, LEASE)
    if not rows:
        return 0, 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(row: asyncpg.Record) -> bool:
        async with gate:
            return await deliver_one(pool, row, channel, backoff)

    results = await asyncio.gather(*(one(r) for r in rows), return_exceptions=True)
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, BaseException):  # e.g. the database went away mid-round;
            log.error("notification %s: %r (retried when its lease ends)", row["key"], result)
    return len(rows), sum(1 for r in results if r is True)


async def deliver_pending(
    pool: asyncpg.Pool,
    settings: Settings,
    limit: int = 100,
    *,
    channel: Channel | None = None,
    backoff: Backoff | None = None,
) -> int:
    """Deliver up to `limit` due `pending` notifications once.

    Args:
        pool: a pool from `db.create_pool` (JSON codec registered).
        settings: chooses the channel (`notify_channel` and its settings).
        limit: most rows claimed in this call.
        channel: a channel to reuse (default: a new one from `settings`, closed afterwards).
        backoff: the retry schedule (default `Backoff()`).

    Returns:
        How many rows were marked `sent` (including channel `none` for anonymous complainants).
    """
    own = channel is None
    channel = channel or make_channel(settings)
    try:
        _, delivered = await deliver_round(pool, channel, limit=limit, backoff=backoff)
    finally:
        if own:
            await channel.aclose()
    return delivered


async def run_sender(
    pool: asyncpg.Pool,
    settings: Settings,
    stop: asyncio.Event,
    *,
    interval: float = 1.0,
    limit: int = 100,
    backoff: Backoff | None = None,
) -> None:
    """Deliver the outbox until `stop` is set: a round every `interval` seconds, or at once
    again while rounds come back full. A failing round (e.g. PostgreSQL down) is logged and
    retried on the next tick.
    """
    channel = make_channel(settings)
    log.info("sender started: channel %s", channel.name)
    try:
        while not stop.is_set():
            try:
                claimed, _ = await deliver_round(pool, channel, limit=limit, backoff=backoff)
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("sender round failed")
                claimed = 0
            if claimed < limit:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
    finally:
        await channel.aclose()
        log.info("sender stopped")
