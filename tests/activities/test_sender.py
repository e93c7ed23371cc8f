"""The outbox sender, against real PostgreSQL and real loopback HTTP and SMTP servers."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import socketserver
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from activities.channels import SmtpChannel, WebhookChannel, make_channel
from activities.notify import enqueue
from activities.sender import Backoff, deliver_pending, run_sender
from config import ROOT, Settings
from domain.models import Notification, NotificationKind, Recipient
from tests.activities.pg_cases import add_complainant, new_number, note
from tests.stub_http import StubRequest, StubServer

FAST = Backoff(initial=timedelta(milliseconds=300), maximum=timedelta(seconds=5), max_attempts=5)
#: Slow enough that "not due yet" holds on a loaded machine (a second passes between two calls).
PATIENT = Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=5), max_attempts=5)


# ------------------------------------------------------------------ loopback servers


class Gateway:
    """A stand-in SMS gateway on 127.0.0.1: answers `fail_first` requests with 503, then 200."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.server = StubServer(self._answer, "POST")
        self.url = self.server.url("/sms")

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.close()

    def _answer(self, request: StubRequest) -> tuple[int, str, bytes]:
        with self.lock:
            self.requests.append((request.headers, json.loads(request.body)))
            failing = len(self.requests) <= self.fail_first
        return 503 if failing else 200, "application/json", b'{"error":"busy"}' if failing else b'{"ok":true}'

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [body for _, body in self.requests]


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[Any]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class MailServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP on 127.0.0.1 to accept messages and keep them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), MailHandler)
        self.messages: list[email.message.EmailMessage] = []


class MailHandler(socketserver.StreamRequestHandler):
    server: MailServer

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                self.server.messages.append(self.read_data())
                self.reply("250 queued")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            elif verb in (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 ok")
            else:
                self.reply("502 not implemented")

    def read_data(self) -> email.message.EmailMessage:
        lines: list[bytes] = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        parsed = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed


# ------------------------------------------------------------------ fixtures and helpers


@pytest_asyncio.fixture(loop_scope="session")
async def outbox(pg_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The module's pool with an empty outbox (the sender takes every due row)."""
    await pg_pool.execute("DELETE FROM notifications")
    yield pg_pool


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with Gateway() as server:
        yield server


def webhook_settings(url: str) -> Settings:
    return Settings(notify_channel="webhook", webhook_url=url)


async def put(pool: asyncpg.Pool, *notes: Notification) -> None:
    async with pool.acquire() as conn:
        await enqueue(conn, list(notes))


async def outbox_row(pool: asyncpg.Pool, key: str) -> asyncpg.Record:
    r = await pool.fetchrow(
        "SELECT *, extract(epoch FROM next_attempt_at - now())::float8 AS wait FROM notifications "
        "WHERE key = $1", key)
    assert r is not None
    return r


# ------------------------------------------------------------------ tests


def test_backoff_doubles_up_to_its_maximum() -> None:
    b = Backoff(initial=timedelta(seconds=10), maximum=timedelta(seconds=60))
    assert [b.delay(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 60, 60]


async def test_webhook_gets_the_contact_looked_up_by_reference(
    outbox: asyncpg.Pool, gateway: Gateway
) -> None:
    number = new_number()
    await add_complainant(outbox, f"{number}-c", name="张三", phone="13800138000")
    await put(outbox, note(number, 1, complainant_ref=f"{number}-c"))
    assert await deliver_pending(outbox, webhook_settings(gateway.url)) == 1
    headers, body = gateway.requests[0]
    assert headers["Idempotency-Key"] == f"{number}:1"
    assert body["to"] == {"recipient": "complainant", "unit": None,
                          "phone": "13800138000", "email": None}  # no name: not needed
    assert body["number"] == number and number in body["text"]
    r = await outbox_row(outbox, f"{number}:1")
    assert (r["status"], r["channel"], r["attempts"], r["last_error"]) == (
        "sent", "webhook", 1, None)
    assert r["sent_at"] is not None
    # The contact went to the gateway only: the outbox row still holds just the reference.
    assert "13800138000" not in json.dumps(dict(r), default=str, ensure_ascii=False)


async def test_failing_webhook_is_retried_with_backoff_then_delivered(
    outbox: asyncpg.Pool
) -> None:
    number = new_number()
    await add_complainant(outbox, f"{number}-c")
    await put(outbox, note(number, 1, complainant_ref=f"{number}-c"))
    key = f"{number}:1"
    with Gateway(fail_first=2) as gw:
        settings = webhook_settings(gw.url)
        assert await deliver_pending(outbox, settings, backoff=PATIENT) == 0
        r = await outbox_row(outbox, key)
        assert (r["status"], r["attempts"], r["channel"]) == ("pending", 1, "webhook")
        assert "HTTP 503" in r["last_error"]
        assert 0.3 < r["wait"] <= 1.0
        assert await deliver_pending(outbox, settings, backoff=PATIENT) == 0  # not due yet
        assert len(gw.requests) == 1
        await asyncio.sleep(r["wait"] + 0.05)
        assert await deliver_pending(outbox, settings, backoff=PATIENT) == 0
        r = await outbox_row(outbox, key)
        assert r["attempts"] == 2 and 1.2 < r["wait"] <= 2.0  # doubled
        await asyncio.sleep(r["wait"] + 0.05)
        assert await deliver_pending(outbox, settings, backoff=PATIENT) == 1
        assert {h["Idempotency-Key"] for h, _ in gw.requests} == {key}
        assert len(gw.requests) == 3
    r = await outbox_row(outbox, key)
    assert (r["status"], r["attempts"], r["last_error"]) == ("sent", 3, None)
    assert r["sent_at"] is not None


async def test_gives_up_as_failed_after_max_attempts(outbox: asyncpg.Pool) -> None:
    number = new_number()
    await put(outbox, note(number, 1, recipient=Recipient.LEADER,
                           kind=NotificationKind.OPINION_FOR_APPROVAL))
    once = Backoff(initial=timedelta(0), max_attempts=2)
    with Gateway(fail_first=99) as gw:
        for _ in range(3):
            await deliver_pending(outbox, webhook_settings(gw.url), backoff=once)
        assert len(gw.requests) == 2
    r = await outbox_row(outbox, f"{number}:1")
    assert (r["status"], r["attempts"], r["sent_at"]) == ("failed", 2, None)
    assert "503" in r["last_error"]


async def test_unreachable_gateway_is_a_retryable_failure(outbox: asyncpg.Pool) -> None:
    number = new_number()
    await put(outbox, note(number, 1, recipient=Recipient.HANDLER,
                           kind=NotificationKind.ARCHIVED))
    with Gateway() as gw:
        url = gw.url  # then the port is closed again
    assert await deliver_pending(outbox, webhook_settings(url), backoff=FAST) == 0
    r = await outbox_row(outbox, f"{number}:1")
    assert r["status"] == "pending" and "ConnectError" in r["last_error"]


async def test_anonymous_complainant_is_sent_with_channel_none(
    outbox: asyncpg.Pool, gateway: Gateway
) -> None:
    number = new_number()
    await add_complainant(outbox, f"{number}-anon", name=None, phone=None, anonymous=True)
    await put(outbox, note(number, 1, complainant_ref=f"{number}-anon"),
              note(number, 2, complainant_ref=f"{number}-unknown"))  # no complainant row at all
    assert await deliver_pending(outbox, webhook_settings(gateway.url)) == 2
    assert gateway.requests == []
    for seq in (1, 2):
        r = await outbox_row(outbox, f"{number}:{seq}")
        assert (r["status"], r["channel"]) == ("sent", "none")
        assert "anonymous" in r["note"]


async def test_units_and_roles_are_addressed_by_code_only(
    outbox: asyncpg.Pool, gateway: Gateway
) -> None:
    number = new_number()
    await put(outbox,
              note(number, 1, recipient=Recipient.UNIT, unit="tax-bureau",
                   kind=NotificationKind.REFERRAL, summary="窗口服务态度"),
              note(number, 2, recipient=Recipient.SUPERVISOR, kind=NotificationKind.ESCALATED))
    assert await deliver_pending(outbox, webhook_settings(gateway.url)) == 2
    targets = sorted((b["to"] for b in gateway.bodies()), key=lambda t: t["recipient"])
    assert targets == [{"recipient": "supervisor", "unit": None},
                       {"recipient": "unit", "unit": "tax-bureau"}]


async def test_two_senders_never_deliver_a_row_twice(
    outbox: asyncpg.Pool, gateway: Gateway
) -> None:
    number = new_number()
    await put(outbox, *(note(number, i, recipient=Recipient.UNIT, unit=f"unit-{i}",
                             kind=NotificationKind.REMINDER) for i in range(1, 31)))
    settings = webhook_settings(gateway.url)
    counts = await asyncio.gather(*(deliver_pending(outbox, settings, limit=7) for _ in range(6)))
    while sum(counts) < 30:  # whatever is left after the racing rounds
        counts.append(await deliver_pending(outbox, settings))
    keys = [b["key"] for b in gateway.bodies()]
    assert sorted(keys) == sorted({f"{number}:{i}" for i in range(1, 31)})
    assert await outbox.fetchval(
        "SELECT count(*) FROM notifications WHERE number = $1 AND attempts = 1 AND status = 'sent'",
        number) == 30


async def test_smtp_mails_complainants_and_units(outbox: asyncpg.Pool) -> None:
    number = new_number()
    await add_complainant(outbox, f"{number}-mail", email="zhang@example.cn")
    await add_complainant(outbox, f"{number}-phone", phone="13800138000")
    await put(outbox, note(number, 1, complainant_ref=f"{number}-mail",
                           kind=NotificationKind.FEEDBACK, message="经查属实"),
              note(number, 2, recipient=Recipient.UNIT, unit="tax-bureau",
                   kind=NotificationKind.REFERRAL),
              note(number, 3, complainant_ref=f"{number}-phone"))
    with serving(MailServer()) as mail:
        settings = Settings(notify_channel="smtp", smtp_host="127.0.0.1",
                            smtp_port=mail.server_address[1], smtp_sender="office@center.gov.cn")
        assert await deliver_pending(outbox, settings) == 2
    by_to = {str(m["To"]): m for m in mail.messages}
    assert set(by_to) == {"zhang@example.cn", "tax-bureau@center.gov.cn"}
    feedback = by_to["zhang@example.cn"]
    assert number in str(feedback["Subject"]) and "反馈" in str(feedback["Subject"])
    assert "经查属实" in feedback.get_content()
    phone_only = await outbox_row(outbox, f"{number}:3")  # no e-mail: cannot ever work by mail
    assert (phone_only["status"], phone_only["attempts"]) == ("failed", 1)
    assert "no e-mail" in phone_only["last_error"]


async def test_run_sender_delivers_until_stopped(outbox: asyncpg.Pool, gateway: Gateway) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_sender(outbox, webhook_settings(gateway.url), stop, interval=0.05))
    number = new_number()
    await put(outbox, note(number, 1, recipient=Recipient.HANDLER, kind=NotificationKind.ARCHIVED))
    for _ in range(100):
        if (await outbox_row(outbox, f"{number}:1"))["status"] == "sent":
            break
        await asyncio.sleep(0.05)
    assert (await outbox_row(outbox, f"{number}:1"))["status"] == "sent"
    stop.set()
    await asyncio.wait_for(task, timeout=2)


def test_notify_channel_is_chosen_by_settings_and_unknown_ones_are_refused() -> None:
    assert make_channel(Settings()).name == "log"
    assert isinstance(make_channel(Settings(notify_channel="smtp")), SmtpChannel)
    with pytest.raises(ValueError, match="WEBHOOK_URL"):
        WebhookChannel("")
    with pytest.raises(ValueError, match="unknown notify_channel"):
        make_channel(Settings(notify_channel="pigeon"))


def test_only_the_sender_and_the_archive_read_personal_data() -> None:
    """R-33: notify and the read model never read a contact; only the sender and the archive's
    case file do (the registration only writes and, when a start fails, deletes them)."""
    readers = {p.name for p in (ROOT / "activities").glob("*.py")
               if "FROM complainants" in p.read_text(encoding="utf-8").replace(
                   "DELETE FROM complainants", "")}
    assert readers == {"sender.py", "archive_format.py"}
    for module in (ROOT / "workflows").rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "FROM complainants" not in text and "asyncpg" not in text, module
