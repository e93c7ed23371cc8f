"""The channels the outbox is delivered through (`settings.notify_channel`), for
activities/sender.py:
- `log` (default): a log line per message, without personal data;
- `smtp`: e-mail through `smtp_host:smtp_port` from `smtp_sender` (stdlib smtplib, in a thread);
  units and roles are addressed as `<unit code or role>@<domain of smtp_sender>`;
- `webhook`: a JSON POST to `webhook_url` (an SMS gateway), with an `Idempotency-Key` header.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from config import Settings
from domain.models import Recipient

log = logging.getLogger("complaints.sender")

#: Timeout of one SMTP or webhook exchange, in seconds.
SEND_TIMEOUT = 10.0


class DeliveryError(Exception):
    """An attempt failed; it is retried with backoff."""


class Undeliverable(DeliveryError):
    """The channel can never deliver this message (e.g. no e-mail address): fail at once."""


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


