"""Making a center's report of a period: the analysis, the workbook, the archive row, the
delivery to the parent center — and the activities `ReportsWorkflow` calls by name.

The figures come from `api.stats.service.compute_stats`, the function behind `GET /v1/stats`,
for the same center and period (so they are equal by construction); the board from
`api.supervision.service.load_board`. Nothing here copies their SQL.

Idempotent per (center, period): `make_report` returns the existing report when there is one,
and the insert itself is `ON CONFLICT DO NOTHING` on (center, kind, start), so two writers at
once still leave one row. The row and its outbox entry for the parent center are written in one
transaction: the parent is told exactly once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notify import INSERT_NOTIFICATION
from api.reports import queries as q
from api.reports.schemas import (
    Inspections,
    PeriodOut,
    Ranked,
    ReportContent,
    Trend,
    UnitFindings,
)
from api.reports.workbook import headline, workbook
from api.stats.schemas import Figures, GroupBy, StatsGroup
from api.stats.service import Period, compute_stats, unit_names
from api.supervision.service import load_board
from domain.codes import Recipient
from domain.reports import MAX_CENTERS, BuildReportInput, BuiltReport, ReportPeriod, parse_period
from domain.workdays import BEIJING

log = logging.getLogger("complaints.reports")

#: The outbox kind of a report delivered to the parent center (not a case notification).
REPORT_KIND = "center_report"
#: How many units and categories the "most" lists keep; how many board rows the report keeps.
TOP, BOARD_ROWS = 5, 20


class ReportRefused(Exception):
    """The report cannot be made: `field` names what is wrong (the API's 404 / 422)."""

    def __init__(self, field: str, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


@dataclass(frozen=True, slots=True)
class Made:
    """A report's row (without figures and bytes) and whether this call made it."""

    row: dict[str, Any]
    created: bool


def period_out(p: ReportPeriod) -> PeriodOut:
    return PeriodOut(label=p.label, kind=p.kind, period_from=p.first, period_to=p.last)


def _ranked(groups: list[StatsGroup], value: Any) -> list[Ranked]:
    counts = [Ranked(key=g.key, count=value(g.figures)) for g in groups]
    counts = [r for r in counts if r.count > 0]
    return sorted(counts, key=lambda r: (-r.count, r.key))[:TOP]


def trends(current: Figures, previous: Figures) -> list[Trend]:
    """The headline figures (`workbook.headline`) against the previous period."""
    out = []
    prev = dict((code, value) for code, _, value in headline(previous))
    for code, _, value in headline(current):
        before = prev.get(code)
        change = None if value is None or before is None else round(value - before, 4)
        out.append(Trend(figure=code, current=value, previous=before, change=change))
    return out


async def inspections(pool: asyncpg.Pool, center: str, period: Period) -> Inspections:
    """The center's rounds drawn and findings submitted in the period (R-40)."""
    rounds = await pool.fetch(q.SELECT_ROUNDS, center, period.start, period.end)
    findings = await pool.fetch(q.SELECT_FINDINGS, center, period.start, period.end)
    drawn: set[str] = set()
    for r in rounds:
        value = r["drawn"]
        drawn |= set(json.loads(value) if isinstance(value, str) else value or [])
    return Inspections(
        rounds=len(rounds), rounds_closed=sum(1 for r in rounds if r["status"] == "closed"),
        units_drawn=len(drawn), findings=sum(r["findings"] for r in findings),
        units_with_findings=[UnitFindings(unit=r["unit"], findings=r["findings"],
                                          unresolved=r["unresolved"]) for r in findings],
    )


async def analyse(pool: asyncpg.Pool, center: dict[str, Any], p: ReportPeriod,
                  now: datetime) -> ReportContent:
    """The report's content: figures, groups, trends, rankings, the board, inspections."""
    code = center["code"]
    period, before = Period(p.first, p.last), p.previous()

    async def stats(group_by: GroupBy, of: Period = period) -> Any:
        return await compute_stats(pool, center=code, period=of, group_by=group_by, now=now)

    # One after the other: each call already runs its queries side by side.
    by_unit = await stats(GroupBy.UNIT)
    by_category = await stats(GroupBy.CATEGORY)
    by_channel = await stats(GroupBy.CHANNEL)
    by_month = await stats(GroupBy.MONTH) if p.kind != "month" else None
    previous = await stats(GroupBy.NONE, Period(before.first, before.last))
    board = await load_board(pool, center=code, unit=None, page_size=BOARD_ROWS, now=now)
    total = by_unit.total
    return ReportContent(
        center=code, center_name=center["name"], center_level=center["level"],
        parent=center["parent"], period=period_out(p), previous=period_out(before),
        generated_at=now, total=total, previous_total=previous.total,
        by_unit=by_unit.groups, by_category=by_category.groups, by_channel=by_channel.groups,
        by_month=by_month.groups if by_month else [],
        trends=trends(total, previous.total),
        units_most_complaints=_ranked(by_unit.groups, lambda f: f.registered),
        units_most_overdue=_ranked(by_unit.groups, lambda f: f.overdue_deadlines),
        categories_most_complaints=_ranked(by_category.groups, lambda f: f.registered),
        categories_most_overdue=_ranked(by_category.groups, lambda f: f.overdue_deadlines),
        open=by_unit.open, supervision=board,
        inspections=await inspections(pool, code, period),
    )


def delivery(row: dict[str, Any], center_name: str) -> tuple[Any, ...]:
    """The outbox entry (`INSERT_NOTIFICATION`'s parameters) for the parent center's leaders:
    which report, where to read it, its hash. Addressed as role `leader`, unit = the parent
    center's code (the sender mails `<parent>@<domain>`); no case, so `number` names the
    report."""
    data = {"center": row["center"], "center_name": center_name, "period": row["period"],
            "report_id": row["id"], "sha256": row["sha256"], "url": f"/v1/reports/{row['id']}"}
    return (f"center-report:{row['center']}:{row['period']}",
            f"report-{row['center']}-{row['period']}", REPORT_KIND, Recipient.LEADER.value,
            row["parent"], None, None, data, row["generated_at"])


async def make_report(
    pool: asyncpg.Pool, center_code: str, period_text: str, *, generated_by: str,
    now: datetime | None = None,
) -> Made:
    """The report of `center_code` for the period: the existing one, or a new one.

    Args:
        pool: the asyncpg pool (with the JSON codec).
        center_code: a center of the register.
        period_text: `2026-01`, `2026-Q1` or `2026`; it must have ended (Beijing).
        generated_by: `system` or the leader's id.
        now: the report's instant (default: now).

    Raises:
        ReportRefused: unknown center (404), bad or unfinished period (422).
    """
    now = now or datetime.now(UTC)
    try:
        p = parse_period(period_text)
    except ValueError as e:
        raise ReportRefused("period", str(e)) from None
    if p.last >= now.astimezone(BEIJING).date():
        raise ReportRefused("period", f"{p.label} has not ended yet (it ends {p.last}); a "
                            "report covers a whole period")
    existing = await pool.fetchrow(q.SELECT_EXISTING, center_code, p.kind.value, p.first)
    if existing is not None:
        return Made(dict(existing), created=False)
    center = await pool.fetchrow(q.SELECT_CENTER, center_code)
    if center is None:
        raise ReportRefused("center", f"unknown center {center_code!r}", status=404)
    content = await analyse(pool, dict(center), p, now)
    names = await unit_names(pool, center_code)
    data = content.model_dump(mode="json")
    xlsx = workbook(content, names)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(q.INSERT_REPORT, center_code, center["parent"], p.kind.value,
                                  p.label, p.first, p.last, now, generated_by, data, xlsx)
        if row is None:  # another writer made it meanwhile
            existing = await conn.fetchrow(q.SELECT_EXISTING, center_code, p.kind.value, p.first)
            return Made(dict(existing), created=False)
        made = dict(row)
        if made["parent"]:
            await conn.execute(INSERT_NOTIFICATION, *delivery(made, center["name"]))
    log.info("report %s of center %s for %s made (sha256 %s)", made["id"], center_code, p.label,
             made["sha256"])
    return Made(made, created=True)


def built(made: Made) -> BuiltReport:
    r = made.row
    return BuiltReport(id=r["id"], center=r["center"], period=r["period"], sha256=r["sha256"],
                       created=made.created, delivered_to=r["parent"])


class ReportActivities:
    """The activities of `ReportsWorkflow` (workflows/reports.py), registered by worker.py."""

    def __init__(self, pool: asyncpg.Pool | None) -> None:
        self.pool = pool

    @activity.defn(name="list_report_centers")
    async def list_report_centers(self) -> list[str]:
        """Every center of the register (none without a database)."""
        if self.pool is None:
            return []
        return [r["code"] for r in await self.pool.fetch(q.SELECT_CENTERS, MAX_CENTERS)]

    @activity.defn(name="build_center_report")
    async def build_center_report(self, inp: BuildReportInput) -> BuiltReport:
        """Make (once) the center's report of the period and deliver it to the parent."""
        if self.pool is None:
            raise ApplicationError("reports need PostgreSQL", non_retryable=True)
        try:
            made = await make_report(self.pool, inp.center, inp.period,
                                     generated_by=inp.generated_by, now=inp.as_of)
        except ReportRefused as e:
            raise ApplicationError(f"{e.field}: {e.message}", type="invalid_input",
                                   non_retryable=True) from None
        return built(made)

    def all(self) -> list[Any]:
        return [self.list_report_centers, self.build_center_report]

