"""Builders shared by the PostgreSQL activity tests: case states, notifications, API-made rows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from domain.models import (
    ActionRecord,
    CaseState,
    Category,
    Channel,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Form,
    Grade,
    LimitUnit,
    Notification,
    NotificationKind,
    Recipient,
    Status,
)
from tests.actors import HANDLER, INTAKE

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 27, 9, 30, tzinfo=BEIJING)


def new_number() -> str:
    return f"TS-PG-{uuid.uuid4().hex[:10]}"


def deadline(kind: DeadlineKind, due: datetime, **extra: Any) -> Deadline:
    return Deadline(kind=kind, start=T0, amount=5, unit=LimitUnit.WORKING_DAYS, due_at=due, **extra)


def case(number: str | None = None, *, version: int = 1, status: Status = Status.REGISTERED,
         **extra: Any) -> CaseState:
    """A registered case with acknowledgement and acceptance clocks open."""
    fields: dict[str, Any] = {
        "number": number or new_number(),
        "status": status,
        "channel": Channel.HOTLINE,
        "form": Form.WRITTEN,
        "category": Category.ATTITUDE,
        "grade": Grade.BASIC,
        "respondent_unit": "tax-bureau",
        "respondent_unit_name": "某区税务局",
        "summary": "窗口服务态度 · 某区税务局",
        "complainant_ref": f"cref-{uuid.uuid4().hex}",
        "policy": "default",
        "policy_version": 1,
        "received_at": T0,
        "registered_at": T0,
        "deadlines": [
            deadline(DeadlineKind.ACKNOWLEDGEMENT, T0 + timedelta(hours=24)),
            deadline(DeadlineKind.ACCEPTANCE, T0 + timedelta(days=7)),
        ],
        "version": version,
    }
    fields.update(extra)
    return CaseState(**fields)


def event(seq: int, action: str = "register", *, before: Status = Status.REGISTERED,
          after: Status = Status.REGISTERED, **detail: Any) -> ActionRecord:
    return ActionRecord(seq=seq, action=action, actor=INTAKE if seq == 1 else HANDLER,
                        at=T0 + timedelta(minutes=seq), status_before=before, status_after=after,
                        detail=detail)


def close(d: Deadline, *, overdue: bool = False) -> Deadline:
    return d.model_copy(update={"state": DeadlineState.MET, "closed_at": d.due_at,
                                "overdue": overdue})


def note(number: str, seq: int, *, recipient: Recipient = Recipient.COMPLAINANT,
         complainant_ref: str | None = None, unit: str | None = None,
         kind: NotificationKind = NotificationKind.ACKNOWLEDGEMENT, **data: Any) -> Notification:
    return Notification(
        key=f"{number}:{seq}", number=number, kind=kind, recipient=recipient, unit=unit,
        complainant_ref=complainant_ref if recipient == Recipient.COMPLAINANT else None,
        data=data, created_at=T0 + timedelta(seconds=seq),
    )


INSERT_COMPLAINANT = """
INSERT INTO complainants (ref, name, phone, email, address, id_number, anonymous)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
INSERT_REGISTERED = """
INSERT INTO complaints (number, complainant_ref, access_code_hash, status, channel, form, category,
                        grade, respondent_unit, respondent_unit_name, respondent_staff, facts,
                        evidence, summary, policy, policy_version, received_at)
VALUES ($1, $2, 'hash-of-code', 'registered', 'hotline', 'written', 'attitude', 'basic',
        'tax-bureau', '某区税务局', '李四', $3, $4, '窗口服务态度', 'default', 1, $5)
"""


async def add_complainant(pool: asyncpg.Pool, ref: str, *, name: str | None = "张三",
                          phone: str | None = "13800138000", email: str | None = None,
                          anonymous: bool = False) -> None:
    """A complainant row as intake writes it (personal data, PostgreSQL only)."""
    await pool.execute(INSERT_COMPLAINANT, ref, name, phone, email,
                       "某区某街道1号" if name else None, None, anonymous)


async def register_like_the_api(pool: asyncpg.Pool, s: CaseState, *,
                                facts: str = "窗口工作人员态度粗暴，材料齐全却拒绝受理。") -> None:
    """The rows intake writes before starting the workflow."""
    await add_complainant(pool, s.complainant_ref)
    await pool.execute(INSERT_REGISTERED, s.number, s.complainant_ref, facts, ["现场录音一段"],
                       s.received_at)
