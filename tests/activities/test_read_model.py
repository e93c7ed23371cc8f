"""project_case: the read-model row and case_events, against a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.read_model import DUE_COLUMNS, ReadModelActivities
from domain.models import (
    DeadlineKind,
    Decision,
    Finding,
    Measure,
    ProjectInput,
    Route,
    Status,
)
from tests.activities.pg_cases import (
    HANDLER,
    T0,
    case,
    close,
    deadline,
    event,
    register_like_the_api,
)


async def project(pool: asyncpg.Pool, inp: ProjectInput) -> None:
    await ActivityEnvironment().run(ReadModelActivities(pool).project_case, inp)


async def row(pool: asyncpg.Pool, number: str) -> asyncpg.Record:
    r = await pool.fetchrow("SELECT * FROM complaints WHERE number = $1", number)
    assert r is not None
    return r


async def test_case_started_outside_the_api_gets_a_minimal_row(pg_pool: asyncpg.Pool) -> None:
    s = case()
    await project(pg_pool, ProjectInput(state=s, events=[event(1)]))
    r = await row(pg_pool, s.number)
    assert (r["status"], r["version"], r["facts"], r["access_code_hash"]) == (
        "registered", 1, "", "")
    assert r["acknowledgement_due"] == T0 + timedelta(hours=24)
    assert r["acceptance_due"] == T0 + timedelta(days=7)
    assert r["next_due"] == T0 + timedelta(hours=24)
    assert r["handling_due"] is None and r["workflow_started"]
    assert r["state"] == s.model_dump(mode="json")  # jsonb comes back as a Python object
    person = await pg_pool.fetchrow("SELECT * FROM complainants WHERE ref = $1", s.complainant_ref)
    assert person is not None
    assert (person["name"], person["phone"], person["address"]) == (None, None, None)
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM case_events WHERE number = $1", s.number) == 1


async def test_older_projection_never_overwrites_a_newer_one(pg_pool: asyncpg.Pool) -> None:
    v1 = case()
    accepted = v1.model_copy(update={
        "version": 3, "status": Status.INVESTIGATING, "route": Route.SELF, "accepted_at": T0,
        "deadlines": [close(d) for d in v1.deadlines]
        + [deadline(DeadlineKind.HANDLING, T0 + timedelta(days=8))],
    })
    await project(pg_pool, ProjectInput(state=v1, events=[event(1)]))
    await project(pg_pool, ProjectInput(state=accepted, events=[
        event(2, "accept", after=Status.INVESTIGATING)]))
    stale = v1.model_copy(update={"version": 2})  # e.g. a retry that lands late
    await project(pg_pool, ProjectInput(state=stale, events=[]))
    r = await row(pg_pool, v1.number)
    assert (r["version"], r["status"], r["route"]) == (3, "investigating", "self")
    assert r["acceptance_due"] is None
    assert r["handling_due"] == r["next_due"] == T0 + timedelta(days=8)
    assert r["state"]["version"] == 3


async def test_projection_keeps_what_intake_wrote(pg_pool: asyncpg.Pool) -> None:
    s = case()
    await register_like_the_api(pg_pool, s)
    before = await row(pg_pool, s.number)
    assert before["version"] == 0 and not before["workflow_started"]
    await project(pg_pool, ProjectInput(state=s, events=[event(1)]))
    r = await row(pg_pool, s.number)
    assert r["facts"] == before["facts"] and r["evidence"] == ["现场录音一段"]
    assert r["access_code_hash"] == "hash-of-code" and r["respondent_staff"] == "李四"
    assert r["version"] == 1 and r["workflow_started"]
    person = await pg_pool.fetchrow("SELECT name, phone FROM complainants WHERE ref = $1",
                                    s.complainant_ref)
    assert person is not None and tuple(person) == ("张三", "13800138000")


async def test_decision_rating_and_ever_overdue(pg_pool: asyncpg.Pool) -> None:
    s = case()
    late = s.model_copy(update={
        "version": 2, "overdue": True,
        "deadlines": [close(s.deadlines[0]), s.deadlines[1].model_copy(update={"overdue": True})],
    })
    decided = late.model_copy(update={
        "version": 3, "overdue": False, "status": Status.DECIDED,
        "deadlines": [close(d, overdue=d.overdue) for d in late.deadlines],
        "decision": Decision(finding=Finding.PARTIALLY_SUBSTANTIATED,
                             measures=[Measure.ORAL_WARNING, Measure.REMEDY], report="已核实",
                             decided_at=T0 + timedelta(days=9), decided_by=HANDLER),
    })
    for st in (s, late):
        await project(pg_pool, ProjectInput(state=st))
    assert (await row(pg_pool, s.number))["overdue"]
    await project(pg_pool, ProjectInput(state=decided))
    r = await row(pg_pool, s.number)
    assert not r["overdue"] and r["ever_overdue"]
    assert r["finding"] == "partially_substantiated"
    assert r["measures"] == ["oral_warning", "remedy"]
    assert r["decided_at"] == T0 + timedelta(days=9)
    assert r["next_due"] is None


async def test_events_are_written_once_each(pg_pool: asyncpg.Pool) -> None:
    s = case()
    inp = ProjectInput(state=s, events=[event(1), event(2, "accept", note="自办")])
    await project(pg_pool, inp)
    await project(pg_pool, inp)  # the activity retried
    rows = await pg_pool.fetch(
        "SELECT seq, action, actor_id, actor_role, detail FROM case_events WHERE number = $1 "
        "ORDER BY seq", s.number)
    assert [tuple(r) for r in rows] == [
        (1, "register", "intake-01", "intake", {}),
        (2, "accept", "handler-01", "handler", {"note": "自办"}),
    ]


async def test_without_a_pool_it_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    activities = ReadModelActivities(None)
    s = case()
    with caplog.at_level("INFO", logger="complaints.read_model"):
        await ActivityEnvironment().run(activities.project_case, ProjectInput(state=s))
    assert f"project {s.number} v{s.version} status=registered" in caplog.text


async def test_every_deadline_kind_lands_in_its_column(pg_pool: asyncpg.Pool) -> None:
    """A new kind of clock needs its column (domain.clocks) in a migration: this finds out."""
    s = case()
    s.deadlines = [deadline(k, T0 + timedelta(days=i + 1)) for i, k in enumerate(DeadlineKind)]
    await project(pg_pool, ProjectInput(state=s))
    r = await row(pg_pool, s.number)
    for i, kind in enumerate(DeadlineKind):
        assert r[DUE_COLUMNS[kind.value]] == T0 + timedelta(days=i + 1), kind
