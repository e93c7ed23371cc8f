"""notify: the outbox, keyed so a retried activity never adds a second row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

import activities.delivery
from activities.delivery import DeliveryActivities
from activities.notify import NotifyActivities, insert_notifications
from domain.models import DeliverInput, NotificationKind, NotifyInput, ProjectInput, Recipient
from tests.activities.pg_cases import T0, case, event, new_number, note


async def notify(pool: asyncpg.Pool | None, inp: NotifyInput) -> int:
    result: int = await ActivityEnvironment().run(NotifyActivities(pool).notify, inp)
    return result


async def test_retried_notify_adds_no_duplicate_row(pg_pool: asyncpg.Pool) -> None:
    number = new_number()
    batch = NotifyInput(notifications=[
        note(number, 1, complainant_ref="cref-1"),
        note(number, 2, recipient=Recipient.SUPERVISOR, kind=NotificationKind.ESCALATED,
             reason="major"),
    ])
    assert await notify(pg_pool, batch) == 2
    assert await notify(pg_pool, batch) == 0  # the same batch again: a retry
    more = NotifyInput(
        notifications=[batch.notifications[1], note(number, 3, complainant_ref="cref-1")])
    assert await notify(pg_pool, more) == 1
    rows = await pg_pool.fetch(
        "SELECT key, kind, recipient, complainant_ref, data, status, attempts FROM notifications "
        "WHERE number = $1 ORDER BY id", number)
    assert [r["key"] for r in rows] == [f"{number}:1", f"{number}:2", f"{number}:3"]
    assert rows[1]["data"] == {"reason": "major"}  # jsonb as a Python object
    assert rows[1]["complainant_ref"] is None
    assert {(r["status"], r["attempts"]) for r in rows} == {("pending", 0)}


async def test_outbox_rows_hold_a_reference_never_a_contact(pg_pool: asyncpg.Pool) -> None:
    number = new_number()
    await pg_pool.execute("INSERT INTO complainants (ref, name, phone) VALUES ($1, $2, $3)",
                          "cref-secret", "王五", "13900000000")
    batch = [note(number, 1, complainant_ref="cref-secret")]
    await notify(pg_pool, NotifyInput(notifications=batch))
    text = await pg_pool.fetchval(
        "SELECT row_to_json(n)::text FROM notifications n WHERE number = $1", number)
    assert "cref-secret" in text
    assert "王五" not in text and "13900000000" not in text


async def test_without_a_pool_it_only_logs() -> None:
    inp = NotifyInput(notifications=[note(new_number(), 1, complainant_ref="c")])
    assert await notify(None, inp) == 1


async def deliver(pool: asyncpg.Pool, inp: DeliverInput) -> DeliverInput:
    result: DeliverInput = await ActivityEnvironment().run(DeliveryActivities(pool).deliver, inp)
    return result


async def test_deliver_writes_the_batch_and_the_projection_as_they_were(
    pg_pool: asyncpg.Pool,
) -> None:
    s = case()
    batch = [note(s.number, 1, recipient=Recipient.UNIT, unit="tax-bureau",
                  kind=NotificationKind.OVERDUE, deadline="acceptance"),
             note(s.number, 2, recipient=Recipient.SUPERVISOR, kind=NotificationKind.ESCALATED,
                  source="overdue")]
    inp = DeliverInput(notify=NotifyInput(notifications=batch),
                       project=ProjectInput(state=s, events=[event(1)]))
    assert await deliver(pg_pool, inp) == DeliverInput(project=inp.project)
    assert await deliver(pg_pool, inp) == DeliverInput(project=inp.project)  # a retry: no more
    rows = await pg_pool.fetch(
        "SELECT key, kind, recipient, unit, data, created_at FROM notifications "
        "WHERE number = $1 ORDER BY id", s.number)
    assert [tuple(r.values()) for r in rows] == [
        (f"{s.number}:1", "overdue", "unit", "tax-bureau", {"deadline": "acceptance"},
         T0 + timedelta(seconds=1)),
        (f"{s.number}:2", "escalated", "supervisor", None, {"source": "overdue"},
         T0 + timedelta(seconds=2)),
    ]
    assert await pg_pool.fetchval(
        "SELECT version FROM complaints WHERE number = $1", s.number) == s.version
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM case_events WHERE number = $1", s.number) == 1


async def test_deliver_is_one_transaction(
    pg_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A projection that fails takes the flush's notifications with it: the fallback
    activities then write both, never a warning about a state the read model lacks."""

    async def broken(*_: object) -> bool:
        raise RuntimeError("projection failed")

    monkeypatch.setattr(activities.delivery, "write_projection", broken)
    s = case()
    inp = DeliverInput(notify=NotifyInput(notifications=[note(s.number, 1)]),
                       project=ProjectInput(state=s))
    with pytest.raises(RuntimeError, match="projection failed"):
        await deliver(pg_pool, inp)
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM notifications WHERE number = $1", s.number) == 0


async def test_a_naive_instant_is_stored_as_utc(pg_pool: asyncpg.Pool) -> None:
    number = new_number()
    naive = note(number, 1).model_copy(update={"created_at": datetime(2026, 11, 27, 1, 30)})
    async with pg_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL timezone = 'Asia/Shanghai'")  # not the server's UTC
        assert await insert_notifications(conn, [naive]) == 1
    assert await pg_pool.fetchval(
        "SELECT created_at FROM notifications WHERE number = $1", number
    ) == datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
