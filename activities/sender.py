"""Delivers the outbox: `pending` notifications go out through one channel, with retries.

Channels (`settings.notify_channel`):
- `log` (default): a log line per message, without personal data;
- `smtp`: e-mail through `smtp_host:smtp_port` from `smtp_sender` (stdlib smtplib, in a thread);
  units and roles are addressed as `<unit code or role>@<domain of smtp_sender>`;
- `webhook`: a JSON POST to `webhook_url` (an SMS gateway), with an `Idempotency-Key` header.

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
import smtplib
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol

import httpx

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
#: Timeout of one SMTP or webhook exchange, in seconds.
SEND_TIMEOUT = 10.0

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


class DeliveryError(Exception):
    """An attempt failed; it is retried with backoff."""


class Undeliverable(DeliveryError):
    """The channel can never deliver this message (e.g. no e-mail address): fail at once."""


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


@dataclass(frozen=True)
class Address:
    """Whom a message goes to. Contact fields are set only for complainants, and only what a
    channel needs (no name, no address: data minimisation)."""

    recipient: str
    unit: str | None = None
    phone: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)

    @property
    def reachable(self) -> bool:
        """A complainant needs a phone or an e-mail; units and roles are always reachable."""
        return self.recipient != Recipient.COMPLAINANT or bool(self.phone or self.email)

    def describe(self) -> str:
        """For logs: who, never the contact itself."""
        if self.recipient == Recipient.COMPLAINANT:
            on_file = [k for k in ("phone", "email") if getattr(self, k)]
            return f"complainant ({'/'.join(on_file) or 'no contact'} on file)"
        return f"{self.recipient}:{self.unit}" if self.unit else self.recipient


@dataclass(frozen=True)
class Message:
    """One notification ready for a channel."""

    key: str
    number: str
    kind: str
    to: Address
    subject: str
    text: str
    data: dict[str, Any]


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


# ------------------------------------------------------------------ channels


class Channel(Protocol):
    """A way to deliver a message; `send` raises `DeliveryError` when it did not."""

    name: str

    async def send(self, message: Message) -> None: ...

    async def aclose(self) -> None: ...


class LogChannel:
    """Writes a line per message to the log (no contact details)."""

    name = "log"

    async def send(self, message: Message) -> None:
        log.info("deliver %s to %s: %s", message.key, message.to.describe(), message.subject)

    async def aclose(self) -> None:
        return None


class SmtpChannel:
    """E-mail through an SMTP server (stdlib `smtplib`, run in a thread)."""

    name = "smtp"

    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.domain = sender.rpartition("@")[2] or "localhost"

    def address_of(self, to: Address) -> str:
        """The e-mail address: the complainant's own, else `<unit or role>@<sender's domain>`."""
        if to.recipient == Recipient.COMPLAINANT:
            if not to.email:
                raise Undeliverable("complainant has no e-mail address on file")
            return to.email
        return f"{to.unit or to.recipient}@{self.domain}"

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = self.address_of(message.to)
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.key}@{self.domain}>"
        mail.set_content(message.text)
        return mail

    def _deliver(self, mail: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT) as smtp:
            smtp.send_message(mail)

    async def send(self, message: Message) -> None:
        mail = self.build(message)
        try:
            await asyncio.to_thread(self._deliver, mail)
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(f"smtp: {type(e).__name__}: {e}") from e

    async def aclose(self) -> None:
        return None


class WebhookChannel:
    """A JSON POST per message to an SMS gateway; any 2xx answer means delivered."""

    name = "webhook"

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None) -> None:
        if not url:
            raise ValueError("notify_channel=webhook needs COMPLAINTS_WEBHOOK_URL")
        self.url = url
        self.client = client or httpx.AsyncClient(timeout=SEND_TIMEOUT)

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        to = message.to
        target: dict[str, Any] = {"recipient": to.recipient, "unit": to.unit}
        if to.recipient == Recipient.COMPLAINANT:
            target.update(phone=to.phone, email=to.email)
        return {"key": message.key, "number": message.number, "kind": message.kind,
                "to": target, "subject": message.subject, "text": message.text,
                "data": message.data}

    async def send(self, message: Message) -> None:
        try:
            response = await self.client.post(
                self.url, json=self.payload(message), headers={"Idempotency-Key": message.key}
            )
        except httpx.HTTPError as e:
            raise DeliveryError(f"webhook: {type(e).__name__}: {e}") from e
        if not response.is_success:
            raise DeliveryError(f"webhook: HTTP {response.status_code}: {response.text[:200]}")

    async def aclose(self) -> None:
        await self.client.aclose()


CHANNELS = ("log", "smtp", "webhook")


def check_settings(settings: Settings) -> None:
    """Refuse a channel configuration that could never deliver (called before the sender starts).

    Raises:
        ValueError: unknown channel, or webhook without a URL.
    """
    if settings.notify_channel not in CHANNELS:
        raise ValueError(f"unknown notify_channel {settings.notify_channel!r}: "
                         f"{', '.join(CHANNELS)}")
    if settings.notify_channel == "webhook" and not settings.webhook_url:
        raise ValueError("notify_channel=webhook needs COMPLAINTS_WEBHOOK_URL")


def make_channel(settings: Settings) -> Channel:
    """The channel named by `settings.notify_channel`.

    Raises:
        ValueError: see `check_settings`.
    """
    check_settings(settings)
    if settings.notify_channel == "log":
        return LogChannel()
    if settings.notify_channel == "smtp":
        return SmtpChannel(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    return WebhookChannel(settings.webhook_url)


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
