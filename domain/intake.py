"""The intake record and its rules (R-02..R-04, R-10, R-32..R-34): what a registration holds and
what it must satisfy beyond field types. Pure: the API's intake and the inspection round's
findings both register through these.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field

from domain.base import Model
from domain.codes import Category, Channel, Form, Grade
from domain.labels import label
from domain.workdays import BEIJING


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


# --- intake ---------------------------------------------------------------------------------


class AgentIn(Model):
    """The person lodging the complaint on the complainant's behalf (委托代理人, R-04)."""

    name: str = Field(min_length=1, max_length=100, description="Agent's name.", examples=["王五"])
    phone: str | None = Field(
        default=None, pattern=r"^[0-9+()\- ]{5,30}$", description="Agent's phone.",
        examples=["13900139000"],
    )
    relation: str | None = Field(
        default=None, max_length=100, description="Relation to the complainant.", examples=["亲属"]
    )


class ComplainantIn(Model):
    """Who complains (R-03, R-04). Stored only in PostgreSQL; never sent to Temporal (R-33)."""

    model_config = _examples(
        {"name": "张三", "phone": "13800138000", "address": "某区某街道1号", "anonymous": False,
         "agent": None},
        {"anonymous": True},
    )

    name: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="Name; required unless anonymous, absent when anonymous.", examples=["张三"],
    )
    phone: str | None = Field(
        default=None, pattern=r"^[0-9+()\- ]{5,30}$",
        description="Contact phone; required unless anonymous, absent when anonymous.",
        examples=["13800138000"],
    )
    address: str | None = Field(
        default=None, max_length=500, description="Address or work unit; absent when anonymous.",
        examples=["某区某街道1号"],
    )
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$",
        description="Optional e-mail for progress notices.", examples=["zhangsan@example.com"],
    )
    id_number: str | None = Field(
        default=None, pattern=r"^[0-9A-Za-z]{6,30}$",
        description="Optional identity document number; absent when anonymous.",
        examples=["110101199003074512"],
    )
    anonymous: bool = Field(default=False, description="匿名 Anonymous complaint (R-04).")
    agent: AgentIn | None = Field(default=None, description="Entrusted agent, if any (R-04).")


class RespondentIn(Model):
    """The unit (and staff, if known) complained about (被投诉单位, R-03)."""

    unit_code: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Unit code.", examples=["tax-bureau"],
    )
    unit_name: str = Field(
        min_length=1, max_length=200, description="Unit name.", examples=["某区税务局"]
    )
    staff_name: str | None = Field(
        default=None, max_length=100,
        description="Staff complained about, if known; kept in PostgreSQL only.", examples=["李四"],
    )
    subject: Literal["unit", "staff"] = Field(
        default="unit",
        description="What the complaint is about (R-46): `unit` the unit itself (its service, "
        "decisions), or `staff` its own staff incl. hired and seconded staff. Intake sends it to "
        "the center with jurisdiction: a department's own center for its staff, else the center "
        "of the unit's level (GET /v1/centers/routing shows where).",
        examples=["unit"],
    )


INTAKE_EXAMPLE: dict[str, Any] = {
    "channel": "hotline",
    "form": "oral",
    "category": "attitude",
    "grade": "basic",
    "complainant": {"name": "张三", "phone": "13800138000", "address": "某区某街道1号",
                    "anonymous": False, "agent": None},
    "respondent": {"unit_code": "tax-bureau", "unit_name": "某区税务局", "staff_name": "李四"},
    "facts": "窗口工作人员态度粗暴，材料齐全却拒绝受理。",
    "evidence": ["现场录音一段"],
    "received_at": "2026-11-27T09:30:00+08:00",
}


class ComplaintCreate(Model):
    """Registration of a complaint (登记, R-03)."""

    model_config = _examples(INTAKE_EXAMPLE)

    channel: Channel = Field(description="R-01 intake channel.", examples=["hotline"])
    form: Form = Field(
        description="R-02 oral or written; a major complaint must be written.", examples=["oral"]
    )
    category: Category = Field(description="R-07 category.", examples=["attitude"])
    grade: Grade = Field(
        default=Grade.BASIC, description="R-08 grade; `retaliation` is always major (R-34).",
        examples=["basic"],
    )
    complainant: ComplainantIn = Field(description="Who complains (personal data).")
    respondent: RespondentIn = Field(description="Who is complained about.")
    facts: str = Field(
        min_length=1, max_length=20000, description="事实和理由 Facts and reasons, as told.",
        examples=["窗口工作人员态度粗暴，材料齐全却拒绝受理。"],
    )
    evidence: list[str] = Field(
        default_factory=list, max_length=100, description="证据材料 Evidence list (R-03).",
        examples=[["现场录音一段"]],
    )
    received_at: datetime | None = Field(
        default=None,
        description="When the complaint was received; default now. Naive times are Beijing time.",
        examples=["2026-11-27T09:30:00+08:00"],
    )
    summary: str | None = Field(
        default=None, max_length=500,
        description="Non-personal short summary, the only text a handling unit sees (R-32); "
        "default '<category label> · <unit name>'. Never put names or phone numbers here.",
        examples=["窗口服务态度粗暴 · 某区税务局"],
    )
    publish_consent: bool = Field(
        default=False,
        description="The complainant agrees that the concluded case is published, anonymised "
        "(summary, finding, measures; never who complained), on the public disclosure page "
        "(R-47, R-33).",
        examples=[False],
    )


def format_number(seq: int, now: datetime) -> str:
    """`TS-YYYYMMDD-NNNNN`, dated in Beijing."""
    return f"TS-{now.astimezone(BEIJING):%Y%m%d}-{seq:05d}"


def effective_grade(body: ComplaintCreate) -> Grade:
    """R-34: a complaint of retaliation is always major."""
    return Grade.MAJOR if body.category == Category.RETALIATION else body.grade


def intake_problems(
    body: ComplaintCreate, now: datetime, *, max_age_days: int = 30
) -> list[dict[str, Any]]:
    """The registration rules beyond field types (R-02, R-03, R-04, R-10, R-32), as 422 fields."""
    problems: list[dict[str, Any]] = []

    def bad(field: str, message: str) -> None:
        problems.append({"field": field, "location": "body", "message": message, "type": "rule"})

    c = body.complainant
    if c.anonymous:
        for name in ("name", "phone", "address", "id_number"):
            if getattr(c, name) is not None:
                bad(f"complainant.{name}", "must be absent for an anonymous complaint (R-04)")
    else:
        for name in ("name", "phone"):
            if getattr(c, name) is None:
                bad(f"complainant.{name}", "required unless the complaint is anonymous (R-03)")
    if effective_grade(body) == Grade.MAJOR and body.form == Form.ORAL:
        why = " (retaliation is always major, R-34)" if body.grade != Grade.MAJOR else ""
        bad("form", f"a major complaint must be written, not oral (R-02){why}")
    if body.summary:
        for name in ("name", "phone", "id_number"):
            value = getattr(c, name)
            if value and value in body.summary:
                bad("summary", f"must not contain the complainant's {name} (R-32, R-33)")
    received = received_at(body, now)
    if received > now + timedelta(minutes=5):
        bad("received_at", "must not be in the future")
    elif received < now - timedelta(days=max_age_days):
        # the acceptance clock counts from registration; a complaint dated long ago (1970,
        # 1900) is a typing error, not a case that is overdue the moment it is registered.
        bad("received_at", f"must not be more than {max_age_days} days before registration "
                           "(R-10; setting received_at_max_age_days)")
    return problems


def received_at(body: ComplaintCreate, now: datetime) -> datetime:
    """When it was received: as given (naive = Beijing time), or now."""
    if body.received_at is None:
        return now
    if body.received_at.tzinfo is None:
        return body.received_at.replace(tzinfo=BEIJING)
    return body.received_at


def request_hash(body: ComplaintCreate) -> str:
    """Fingerprint of an intake body, to tell a retry from a different request."""
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def default_summary(body: ComplaintCreate) -> str:
    return f"{label(body.category)} · {body.respondent.unit_name}"
