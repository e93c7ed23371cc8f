"""notify: the outbox, keyed so a retried activity never adds a second row."""

from __future__ import annotations

import asyncpg
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from domain.models import NotificationKind, NotifyInput, Recipient
from tests.activities.pg_cases import new_number, note


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
