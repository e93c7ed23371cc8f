"""整改落实 in the read model (issue 15, R-37): `complaints.rectification_due`,
`complaints.rectified_at` and `case_figures.rectified`, against a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import ActivityEnvironment

from activities.read_model import ReadModelActivities
from domain.models import (
    DeadlineKind,
    Decision,
    Finding,
    Measure,
    ProjectInput,
    Rectification,
    RectificationReport,
    RectificationState,
    Status,
)
from tests.activities.pg_cases import HANDLER, T0, case, close, deadline
from tests.actors import TAX

DECIDED = T0 + timedelta(days=6)
DUE = T0 + timedelta(days=27)
ACCEPTED = T0 + timedelta(days=20)


async def project(pool: asyncpg.Pool, inp: ProjectInput) -> None:
    await ActivityEnvironment().run(ReadModelActivities(pool).project_case, inp)


async def figures(pool: asyncpg.Pool, number: str) -> tuple[object, ...]:
    c = await pool.fetchrow(
        "SELECT rectification_due, rectified_at FROM complaints WHERE number = $1", number)
    f = await pool.fetchrow(
        "SELECT with_measures, rectified FROM case_figures WHERE number = $1", number)
    assert c is not None and f is not None
    return c["rectification_due"], c["rectified_at"], f["with_measures"], f["rectified"]


async def test_case_figures_rectified_only_once_the_handler_accepted(pg_pool: asyncpg.Pool) -> None:
    decision = Decision(finding=Finding.SUBSTANTIATED, measures=[Measure.ORDER_TO_CORRECT],
                        report="属实", decided_at=DECIDED, decided_by=HANDLER)
    clock = deadline(DeadlineKind.RECTIFICATION, DUE)
    rect = Rectification(unit="tax-bureau", measures=[Measure.ORDER_TO_CORRECT], opened_at=DECIDED)
    opened = case(version=2, status=Status.DECIDED, decision=decision, rectification=rect,
                  deadlines=[clock])
    await project(pg_pool, ProjectInput(state=opened))
    assert await figures(pg_pool, opened.number) == (DUE, None, True, False)
    # Self-handled (no handling unit): the clock is the unit's that must rectify.
    assert await pg_pool.fetchval(
        "SELECT unit FROM case_deadlines WHERE number = $1 AND kind = 'rectification'",
        opened.number) == "tax-bureau"

    report = RectificationReport(seq=1, at=ACCEPTED - timedelta(days=1), by=TAX,
                                 measures=[Measure.ORDER_TO_CORRECT], report="已整改")
    reported = opened.model_copy(update={
        "version": 3, "deadlines": [close(clock)],
        "rectification": rect.model_copy(update={"state": RectificationState.REPORTED,
                                                 "reports": [report], "reports_total": 1}),
    })
    await project(pg_pool, ProjectInput(state=reported))
    assert await figures(pg_pool, opened.number) == (None, None, True, False)

    accepted = reported.model_copy(update={
        "version": 4,
        "rectification": reported.rectification.model_copy(update={
            "state": RectificationState.ACCEPTED, "accepted_at": ACCEPTED, "accepted_by": HANDLER}),
    })
    await project(pg_pool, ProjectInput(state=accepted))
    assert await figures(pg_pool, opened.number) == (None, ACCEPTED, True, True)


async def test_a_case_decided_without_a_rectification_is_not_rectified(pg_pool: asyncpg.Pool) -> None:
    """Decided before the rectification patch (no `state.rectification`): nothing says its
    measures were carried out, so R-37 does not count them (migration 0015)."""
    decision = Decision(finding=Finding.SUBSTANTIATED, measures=[Measure.WRITTEN_WARNING],
                        report="属实", decided_at=DECIDED, decided_by=HANDLER)
    legacy = case(version=2, status=Status.ARCHIVED, decision=decision, archived_at=ACCEPTED)
    await project(pg_pool, ProjectInput(state=legacy))
    assert await figures(pg_pool, legacy.number) == (None, None, True, False)
