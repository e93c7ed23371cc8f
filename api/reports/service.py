"""Reading the centers' reports: who may see which, the list, one report, its workbook, and a
parent center's roll-up of its children.

Who reads (R-46, 报上级): leaders and supervisors of the report's center, and of the center it
was delivered to (its parent when it was made, `center_reports.parent`). A child center never
sees its parent's or a sibling's reports; handling units see none. A report the caller may not
read answers 404, as an unknown one does.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from api.auth import User
from api.errors import ApiError, not_found, validation_error
from api.reports import queries as q
from api.reports.build import ReportRefused, make_report, period_out
from api.reports.schemas import (
    ReportContent,
    ReportDetail,
    ReportOut,
    Rollup,
    RollupRow,
)
from api.stats.schemas import (
    Figures,
    HandlingTime,
    OnTime,
    Resolution,
    RespondentReplies,
    Satisfaction,
)
from api.stats.service import STAGES, ratio
from domain.models import Role
from domain.reports import PeriodKind, ReportPeriod, parse_period

#: Who reads reports: the center's leaders and supervisors (and those of the parent center).
READER_ROLES = (Role.LEADER, Role.SUPERVISOR)
#: Who asks for a report outside the schedule.
MAKER_ROLES = (Role.LEADER,)


def refused(e: ReportRefused, location: str = "body") -> ApiError:
    if e.status == 404:
        return not_found(e.field)
    return validation_error([{"field": e.field, "location": location, "type": "rule",
                              "message": e.message}])


def period_param(text: str, field: str = "period") -> ReportPeriod:
    """A period from a query parameter; 422 naming it when it is not one."""
    try:
        return parse_period(text)
    except ValueError as e:
        raise validation_error([{"field": field, "location": "query", "type": "rule",
                                 "message": str(e)}]) from None


def report_out(row: asyncpg.Record | dict[str, Any]) -> ReportOut:
    r = dict(row)
    return ReportOut(
        id=r["id"], center=r["center"], parent=r["parent"], period=r["period"],
        period_kind=PeriodKind(r["period_kind"]), period_from=r["period_start"],
        period_to=r["period_end"], generated_at=r["generated_at"],
        generated_by=r["generated_by"], sha256=r["sha256"], figures_sha256=r["figures_sha256"],
        prev_sha256=r["prev_sha256"], xlsx_url=f"/v1/reports/{r['id']}.xlsx",
        page_url=f"/v1/reports/{r['id']}.html",
    )


def can_read(user: User, row: asyncpg.Record | dict[str, Any]) -> bool:
    return user.role in READER_ROLES and user.center in (row["center"], row["parent"])


async def list_reports(pool: asyncpg.Pool, user: User, *, center: str | None,
                       kind: PeriodKind | None, limit: int) -> list[ReportOut]:
    """The caller's center's reports and those its children delivered to it."""
    rows = await pool.fetch(q.LIST_VISIBLE, user.center, center, kind.value if kind else None,
                            limit)
    return [report_out(r) for r in rows]


async def get_report(pool: asyncpg.Pool, user: User, report_id: int) -> ReportDetail:
    row = await pool.fetchrow(q.SELECT_REPORT, report_id)
    if row is None or not can_read(user, row):
        raise not_found("report")
    return ReportDetail(**report_out(row).model_dump(),
                        content=ReportContent.model_validate(row["figures"]))


async def get_xlsx(pool: asyncpg.Pool, user: User, report_id: int) -> tuple[str, str, bytes]:
    """(file name, sha256, bytes) of the report's workbook, exactly as archived."""
    row = await pool.fetchrow(q.SELECT_XLSX, report_id)
    if row is None or not can_read(user, row):
        raise not_found("report")
    return f"report-{row['center']}-{row['period']}.xlsx", row["sha256"], bytes(row["xlsx"])


async def create_report(pool: asyncpg.Pool, user: User, period: str) -> tuple[ReportOut, bool]:
    """The caller's center's report of `period`, made now unless it exists."""
    try:
        made = await make_report(pool, user.center, period, generated_by=user.id)
    except ReportRefused as e:
        raise refused(e) from None
    return report_out(made.row), made.created


def add_up(figures: list[Figures]) -> Figures:
    """Several centers' figures as one: counts added, rates from the sums, the average
    handling time weighted by cases, no 90th percentile (not additive)."""

    def total(get: Any) -> int:
        return sum(get(f) for f in figures)

    stages = {k: ratio(total(lambda f, k=k: f.on_time.stages[k].count),
                       total(lambda f, k=k: f.on_time.stages[k].total)) for k in STAGES}
    subst, resolved = total(lambda f: f.resolution.substantiated), total(
        lambda f: f.resolution.resolved)
    answered = total(lambda f: f.satisfaction.answered)
    happy = total(lambda f: f.satisfaction.satisfied + f.satisfaction.basically_satisfied)
    cases = total(lambda f: f.handling_days.cases)
    days = sum((f.handling_days.average or 0) * f.handling_days.cases for f in figures)
    replies, late = total(lambda f: f.respondent_replies.answered), total(
        lambda f: f.respondent_replies.late)
    return Figures(
        registered=total(lambda f: f.registered), accepted=total(lambda f: f.accepted),
        concluded=total(lambda f: f.concluded),
        on_time=OnTime(stages=stages, all=ratio(sum(r.count for r in stages.values()),
                                                sum(r.total for r in stages.values()))),
        resolution=Resolution(substantiated=subst, resolved=resolved,
                              unresolved=total(lambda f: f.resolution.unresolved),
                              unsubstantiated=total(lambda f: f.resolution.unsubstantiated),
                              rate=ratio(resolved, subst).rate),
        satisfaction=Satisfaction(
            answered=answered, satisfied=total(lambda f: f.satisfaction.satisfied),
            basically_satisfied=total(lambda f: f.satisfaction.basically_satisfied),
            dissatisfied=total(lambda f: f.satisfaction.dissatisfied),
            rate=ratio(happy, answered).rate),
        handling_days=HandlingTime(cases=cases, average=round(days / cases, 2) if cases else None,
                                   p90=None),
        overdue_cases=total(lambda f: f.overdue_cases),
        overdue_deadlines=total(lambda f: f.overdue_deadlines),
        extended_cases=total(lambda f: f.extended_cases),
        extension_days=total(lambda f: f.extension_days),
        respondent_replies=RespondentReplies(
            answered=replies, late=late, late_rate=ratio(late, replies).rate,
            overdue=total(lambda f: f.respondent_replies.overdue)),
    )


async def rollup(pool: asyncpg.Pool, user: User, period: ReportPeriod) -> Rollup:
    """The caller's center's children and their reports of `period`, added up."""
    children = [r["code"] for r in await pool.fetch(q.SELECT_CHILDREN, user.center)]
    reports = {r["center"]: r for r in await pool.fetch(q.SELECT_CHILD_REPORTS, user.center,
                                                        period.kind.value, period.first)}
    rows = []
    for code in sorted(set(children) | set(reports)):
        r = reports.get(code)
        rows.append(RollupRow(center=code, report_id=r["id"] if r else None,
                              total=Figures.model_validate(r["total"]) if r else None))
    return Rollup(center=user.center, period=period_out(period), children=rows,
                  missing=[r.center for r in rows if r.report_id is None],
                  total=add_up([r.total for r in rows if r.total is not None]))
