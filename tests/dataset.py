"""A small, hand-checkable set of cases for the figures test, written through the real
projection (`activities.read_model.project`), so `case_deadlines` is filled by the trigger.

Each case is projected as the workflow would: first a snapshot from before the referral
(handling unit still empty, early clocks already settled), then the final one with its events.
The expected figures are worked out by hand in tests/api/stats/test_figures.py.

All instants are Beijing time. 2026 holidays used below (chinese_calendar): 1–3 Jan off, Sun
4 Jan a working day; 15–23 Feb off (Spring Festival), Sat 14 Feb and Sat 28 Feb working days;
6 Apr off (Qingming).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from activities.read_model import project
from domain.models import (
    ActionRecord,
    CaseState,
    Category,
    Channel,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Decision,
    Escalation,
    EscalationSource,
    Finding,
    Form,
    Grade,
    LimitUnit,
    Measure,
    Outcome,
    ProjectInput,
    Route,
    Status,
)
from domain.workdays import BEIJING
from tests.actors import HANDLER, SYSTEM

TAX, HOUSING = "tax-bureau", "housing-bureau"

K = DeadlineKind


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def eod(y: int, m: int, d: int) -> datetime:
    """End of a day, as every due instant is (R-41)."""
    return bj(y, m, d, 23, 59, 59)


def dl(kind: DeadlineKind, start: datetime, due: datetime, *, met: datetime | None = None,
       overdue: bool = False, extended: int = 0,
       state: DeadlineState | None = None) -> Deadline:
    st = state or (DeadlineState.MET if met else DeadlineState.OPEN)
    return Deadline(kind=kind, start=start, amount=5, unit=LimitUnit.WORKING_DAYS, due_at=due,
                    state=st, closed_at=met, overdue=overdue, extended_days=extended)


def ev(seq: int, action: str, at: datetime, **detail: Any) -> ActionRecord:
    return ActionRecord(seq=seq, action=action, actor=SYSTEM if action == "overdue" else HANDLER,
                        at=at, status_before=Status.REFERRED, status_after=Status.REFERRED,
                        detail=detail)


@dataclass
class Case:
    """A case as its snapshots: `early` (optional) then `final`, and its events."""

    number: str
    final: CaseState
    early: CaseState | None = None
    events: list[ActionRecord] = field(default_factory=list)


def state(number: str, *, received: datetime, category: Category, channel: Channel,
          status: Status, deadlines: list[Deadline], version: int, unit: str | None = None,
          accepted: datetime | None = None, decided: datetime | None = None,
          finding: Finding | None = None, measures: list[Measure] | None = None,
          outcome: Outcome | None = None, center: str = "default", overdue: bool = False,
          supervised: bool = False, escalations: list[Escalation] | None = None,
          route: Route | None = None) -> CaseState:
    decision = None
    if decided is not None:
        assert finding is not None and measures is not None
        decision = Decision(finding=finding, measures=measures, report="经查", decided_at=decided,
                            decided_by=HANDLER)
    return CaseState(
        number=number, center=center, status=status, outcome=outcome, channel=channel,
        form=Form.WRITTEN, category=category, grade=Grade.BASIC, respondent_unit=unit or TAX,
        respondent_unit_name="某单位", summary="测试 · 某单位",
        complainant_ref=f"cref-{uuid.uuid4().hex}", policy="default", policy_version=1,
        received_at=received, registered_at=received, accepted_at=accepted,
        archived_at=decided if status == Status.ARCHIVED else None, route=route,
        handling_unit=unit, deadlines=deadlines, decision=decision, overdue=overdue,
        supervised=supervised, escalations=escalations or [], version=version,
    )


def cases(tag: str) -> dict[str, Case]:
    """C1..C8; `tag` keeps the numbers unique per test database."""
    n = {c: f"ST-{tag}-{c}" for c in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8")}
    out: dict[str, Case] = {}

    # C1 tax, attitude, hotline: received Mon 5 Jan, referred, decided on time 13 Jan.
    acc1 = dl(K.ACCEPTANCE, bj(2026, 1, 5, 9), eod(2026, 1, 12), met=bj(2026, 1, 6, 10))
    op1 = dl(K.OPINION, bj(2026, 1, 6, 10), eod(2026, 1, 8), met=bj(2026, 1, 7, 9))
    common1 = dict(received=bj(2026, 1, 5, 9), category=Category.ATTITUDE,
                   channel=Channel.HOTLINE, accepted=bj(2026, 1, 6, 10), route=Route.REFERRAL)
    out["C1"] = Case(
        n["C1"],
        early=state(n["C1"], status=Status.OPINION_REVIEW, version=1, **common1, deadlines=[
            acc1, op1, dl(K.OVERALL, bj(2026, 1, 6, 10), eod(2026, 2, 5))]),
        final=state(n["C1"], status=Status.ARCHIVED, version=2, unit=TAX, **common1,
                    outcome=Outcome.CONCLUDED, decided=bj(2026, 1, 13, 16),
                    finding=Finding.SUBSTANTIATED, measures=[Measure.WRITTEN_WARNING],
                    deadlines=[
                        acc1, op1,
                        dl(K.OVERALL, bj(2026, 1, 6, 10), eod(2026, 2, 5), met=bj(2026, 1, 13, 16)),
                        dl(K.HANDLING, bj(2026, 1, 7, 9), eod(2026, 1, 14),
                           met=bj(2026, 1, 13, 16)),
                        dl(K.RETURN_WINDOW, bj(2026, 1, 7, 9), eod(2026, 1, 8),
                           state=DeadlineState.EXPIRED),
                        dl(K.CALLBACK, bj(2026, 1, 14, 9), eod(2026, 1, 21),
                           met=bj(2026, 1, 15, 10)),
                    ]),
        events=[ev(20, "record-satisfaction", bj(2026, 1, 15, 10), rating="satisfied")],
    )

    # C2 tax, inefficiency, web: received Thu 12 Feb, just before the Spring Festival; the
    # handling clock (due Sat 28 Feb, a working day) is missed; decided Mon 2 Mar.
    acc2 = dl(K.ACCEPTANCE, bj(2026, 2, 12, 10), eod(2026, 2, 26), met=bj(2026, 2, 13, 9))
    op2 = dl(K.OPINION, bj(2026, 2, 13, 9), eod(2026, 2, 24), met=bj(2026, 2, 14, 11))
    common2 = dict(received=bj(2026, 2, 12, 10), category=Category.INEFFICIENCY,
                   channel=Channel.WEB, accepted=bj(2026, 2, 13, 9), route=Route.REFERRAL)
    out["C2"] = Case(
        n["C2"],
        early=state(n["C2"], status=Status.OPINION_REVIEW, version=1, **common2, deadlines=[
            acc2, op2, dl(K.OVERALL, bj(2026, 2, 13, 9), eod(2026, 3, 16))]),
        final=state(n["C2"], status=Status.ARCHIVED, version=2, unit=TAX, **common2,
                    outcome=Outcome.CONCLUDED, decided=bj(2026, 3, 2, 10),
                    finding=Finding.PARTIALLY_SUBSTANTIATED, measures=[Measure.NONE],
                    deadlines=[
                        acc2, op2,
                        dl(K.OVERALL, bj(2026, 2, 13, 9), eod(2026, 3, 16), met=bj(2026, 3, 2, 10)),
                        dl(K.HANDLING, bj(2026, 2, 14, 11), eod(2026, 2, 28),
                           met=bj(2026, 3, 2, 10), overdue=True),
                    ]),
        events=[ev(10, "overdue", eod(2026, 2, 28), deadline="handling"),
                ev(20, "record-satisfaction", bj(2026, 3, 4, 15), rating="dissatisfied")],
    )

    # C3 housing, attitude, hotline: extension of 5 days approved, still late; decided 10 Mar,
    # unsubstantiated; the respondent answered one document request late, missed another.
    acc3 = dl(K.ACCEPTANCE, bj(2026, 1, 20, 14), eod(2026, 1, 27), met=bj(2026, 1, 21, 9))
    op3 = dl(K.OPINION, bj(2026, 1, 21, 9), eod(2026, 1, 23), met=bj(2026, 1, 21, 15))
    common3 = dict(received=bj(2026, 1, 20, 14), category=Category.ATTITUDE,
                   channel=Channel.HOTLINE, accepted=bj(2026, 1, 21, 9), route=Route.REFERRAL)
    out["C3"] = Case(
        n["C3"],
        early=state(n["C3"], status=Status.OPINION_REVIEW, version=1, **common3, deadlines=[
            acc3, op3, dl(K.OVERALL, bj(2026, 1, 21, 9), eod(2026, 2, 24))]),
        final=state(n["C3"], status=Status.ARCHIVED, version=2, unit=HOUSING, **common3,
                    outcome=Outcome.CONCLUDED, decided=bj(2026, 3, 10, 11),
                    finding=Finding.UNSUBSTANTIATED, measures=[Measure.NONE],
                    deadlines=[
                        acc3, op3,
                        dl(K.OVERALL, bj(2026, 1, 21, 9), eod(2026, 2, 25), met=bj(2026, 3, 10, 11),
                           overdue=True, extended=5),
                        dl(K.HANDLING, bj(2026, 1, 22, 9), eod(2026, 2, 3), met=bj(2026, 3, 10, 11),
                           overdue=True, extended=5),
                    ]),
        events=[
            ev(10, "overdue", eod(2026, 1, 25), deadline="document_reply"),
            ev(11, "record-investigation", bj(2026, 1, 26, 10), kind="explanation_received",
               answered_late=True),
            ev(12, "decide-extension", bj(2026, 1, 28, 10), approved=True, days=5),
            ev(13, "overdue", eod(2026, 2, 3), deadline="handling", escalated=True),
            ev(14, "record-investigation", bj(2026, 2, 5, 10), kind="explanation_received",
               answered_late=False),
            ev(15, "overdue", eod(2026, 2, 25), deadline="overall", escalated=True),
            ev(16, "callback-expired", bj(2026, 3, 20, 0), rating="no_response"),
        ],
    )

    # C4 self-handled, inefficiency, window: received and accepted Mon 30 Mar; decided at
    # 00:30 on 1 Apr Beijing time (still 31 Mar in UTC): outside the period.
    acc4 = dl(K.ACCEPTANCE, bj(2026, 3, 30, 9), eod(2026, 4, 7), met=bj(2026, 3, 30, 11))
    out["C4"] = Case(
        n["C4"],
        final=state(n["C4"], received=bj(2026, 3, 30, 9), category=Category.INEFFICIENCY,
                    channel=Channel.WINDOW, status=Status.ARCHIVED, version=1,
                    accepted=bj(2026, 3, 30, 11), route=Route.SELF, outcome=Outcome.CONCLUDED,
                    decided=bj(2026, 4, 1, 0, 30), finding=Finding.SUBSTANTIATED,
                    measures=[Measure.ORDER_TO_CORRECT],
                    deadlines=[
                        acc4,
                        dl(K.HANDLING, bj(2026, 3, 30, 11), eod(2026, 4, 7),
                           met=bj(2026, 4, 1, 0, 30)),
                        dl(K.OVERALL, bj(2026, 3, 30, 11), eod(2026, 4, 29),
                           met=bj(2026, 4, 1, 0, 30)),
                    ]),
    )

    # C5 tax, attitude, letter: received Tue 30 Dec 2025 (before the period), decided Tue 6 Jan
    # across New Year (Sun 4 Jan is a working day).
    acc5 = dl(K.ACCEPTANCE, bj(2025, 12, 30, 10), eod(2026, 1, 8), met=bj(2025, 12, 31, 9))
    op5 = dl(K.OPINION, bj(2025, 12, 31, 9), eod(2026, 1, 5), met=bj(2025, 12, 31, 15))
    common5 = dict(received=bj(2025, 12, 30, 10), category=Category.ATTITUDE,
                   channel=Channel.LETTER, accepted=bj(2025, 12, 31, 9), route=Route.REFERRAL)
    out["C5"] = Case(
        n["C5"],
        early=state(n["C5"], status=Status.OPINION_REVIEW, version=1, **common5, deadlines=[
            acc5, op5, dl(K.OVERALL, bj(2025, 12, 31, 9), eod(2026, 1, 30))]),
        final=state(n["C5"], status=Status.ARCHIVED, version=2, unit=TAX, **common5,
                    outcome=Outcome.CONCLUDED, decided=bj(2026, 1, 6, 9),
                    finding=Finding.SUBSTANTIATED,
                    measures=[Measure.ORDER_TO_CORRECT, Measure.ORAL_WARNING],
                    deadlines=[
                        acc5, op5,
                        dl(K.OVERALL, bj(2025, 12, 31, 9), eod(2026, 1, 30), met=bj(2026, 1, 6, 9)),
                        dl(K.HANDLING, bj(2025, 12, 31, 15), eod(2026, 1, 8),
                           met=bj(2026, 1, 6, 9)),
                    ]),
        events=[ev(20, "record-satisfaction", bj(2026, 1, 8, 10),
                   rating="basically_satisfied")],
    )

    # C6 housing, inefficiency, web: still open (referred), the opinion was late, the handling
    # clock is overdue, supervised (overdue and media); the supervisor answered on time.
    acc6 = dl(K.ACCEPTANCE, bj(2026, 3, 2, 9), eod(2026, 3, 9), met=bj(2026, 3, 3, 9))
    op6 = dl(K.OPINION, bj(2026, 3, 3, 9), eod(2026, 3, 5), met=bj(2026, 3, 6, 10), overdue=True)
    common6 = dict(received=bj(2026, 3, 2, 9), category=Category.INEFFICIENCY,
                   channel=Channel.WEB, accepted=bj(2026, 3, 3, 9), route=Route.REFERRAL)
    overdue_esc = Escalation(source=EscalationSource.OVERDUE, reason="拟办意见 overdue",
                             at=eod(2026, 3, 5))
    media_esc = Escalation(source=EscalationSource.MEDIA, reason="媒体报道", at=bj(2026, 3, 8, 9))
    out["C6"] = Case(
        n["C6"],
        early=state(n["C6"], status=Status.OPINION_PENDING, version=1, **common6, overdue=True,
                    supervised=True, escalations=[overdue_esc], deadlines=[
                        acc6, dl(K.OPINION, bj(2026, 3, 3, 9), eod(2026, 3, 5), overdue=True),
                        dl(K.OVERALL, bj(2026, 3, 3, 9), eod(2026, 4, 2)),
                        dl(K.SUPERVISION, bj(2026, 3, 6, 0), eod(2026, 3, 13))]),
        final=state(n["C6"], status=Status.REFERRED, version=2, unit=HOUSING, **common6,
                    overdue=True, supervised=True, escalations=[overdue_esc, media_esc],
                    deadlines=[
                        acc6, op6,
                        dl(K.OVERALL, bj(2026, 3, 3, 9), eod(2026, 4, 2)),
                        dl(K.SUPERVISION, bj(2026, 3, 6, 0), eod(2026, 3, 13),
                           met=bj(2026, 3, 12, 9)),
                        dl(K.HANDLING, bj(2026, 3, 6, 10), eod(2026, 3, 13), overdue=True),
                    ]),
        events=[ev(10, "overdue", eod(2026, 3, 5), deadline="opinion", escalated=True),
                ev(11, "decide-extension", bj(2026, 3, 10, 9), approved=False, days=0),
                ev(12, "overdue", eod(2026, 3, 13), deadline="handling", escalated=True)],
    )
    # The opinion clock of C6 was settled (marked overdue) before the referral: in the early
    # snapshot it is open and overdue, so it stays the complaint office's.

    # C7 office, attitude, hotline: received Mon 2 Feb, not accepted on 3 Feb.
    out["C7"] = Case(
        n["C7"],
        final=state(n["C7"], received=bj(2026, 2, 2, 9), category=Category.ATTITUDE,
                    channel=Channel.HOTLINE, status=Status.ARCHIVED, version=1,
                    outcome=Outcome.NOT_ACCEPTED, deadlines=[
                        dl(K.ACCEPTANCE, bj(2026, 2, 2, 9), eod(2026, 2, 9),
                           met=bj(2026, 2, 3, 10))]),
    )

    # C8: another center's case; never counted here.
    out["C8"] = Case(
        n["C8"],
        final=state(n["C8"], received=bj(2026, 1, 10, 9), category=Category.ATTITUDE,
                    channel=Channel.HOTLINE, status=Status.REFERRED, version=1, unit=TAX,
                    center="elsewhere", accepted=bj(2026, 1, 12, 9), deadlines=[
                        dl(K.ACCEPTANCE, bj(2026, 1, 10, 9), eod(2026, 1, 16),
                           met=bj(2026, 1, 12, 9))]),
        events=[ev(20, "record-satisfaction", bj(2026, 1, 15, 10), rating="dissatisfied")],
    )
    return out


async def load(pool: asyncpg.Pool, tag: str) -> dict[str, Case]:
    """Project every case (early snapshot first) with the real projection."""
    data = cases(tag)
    async with pool.acquire() as conn:
        for c in data.values():
            if c.early is not None:
                c.early.complainant_ref = c.final.complainant_ref
                await project(conn, ProjectInput(state=c.early))
            await project(conn, ProjectInput(state=c.final, events=c.events))
    return data
