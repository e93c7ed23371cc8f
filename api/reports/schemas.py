"""The model family of `/v1/reports`: a center's report to the level above (分析汇总，报上级).

`ReportContent` is what is archived (`center_reports.figures`) and what the JSON, the printable
page and the workbook show. Its `total` and groups are `GET /v1/stats`'s own models, computed by
the same function for the same center and period (codes only; the page and the workbook name
them).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.stats.schemas import Figures, OpenCases, StatsGroup
from api.supervision.schemas import Board
from domain.reports import PERIOD_PATTERN, PeriodKind


class PeriodOut(BaseModel):
    label: str = Field(description="`2026-01`, `2026-Q1` or `2026`.", examples=["2026-01"])
    kind: PeriodKind
    period_from: date = Field(description="First day (Beijing), inclusive.")
    period_to: date = Field(description="Last day (Beijing), inclusive.")


class Trend(BaseModel):
    """One headline figure against the previous period of the same kind."""

    figure: str = Field(description="The figure's code (see `figure_rows`).",
                        examples=["registered"])
    current: int | float | None
    previous: int | float | None
    change: int | float | None = Field(description="current - previous (rates in points of 0..1); "
                                 "null when either is null.")


class Ranked(BaseModel):
    """A unit or a category with its count (most first)."""

    key: str = Field(description="Unit code ('' = the complaint office) or category.",
                     examples=["tax-bureau"])
    count: int = Field(examples=[12])


class UnitFindings(BaseModel):
    unit: str = Field(examples=["tax-bureau"])
    findings: int = Field(description="Findings submitted in the period.", examples=[2])
    unresolved: int = Field(description="Of those, filed cases not yet archived.", examples=[1])


class Inspections(BaseModel):
    """明查暗访 in the period (R-40)."""

    rounds: int = Field(description="Rounds of the center drawn in the period.", examples=[1])
    rounds_closed: int = Field(examples=[1])
    units_drawn: int = Field(description="Distinct units those rounds drew.", examples=[4])
    findings: int = Field(description="Findings submitted in the period.", examples=[2])
    units_with_findings: list[UnitFindings] = Field(default_factory=list)


class ReportContent(BaseModel):
    """The analysis of one center's period (what is archived and delivered)."""

    center: str = Field(examples=["district"])
    center_name: str = Field(examples=["区效能投诉中心"])
    center_level: str = Field(examples=["district"])
    parent: str | None = Field(description="The center reported to.", examples=["default"])
    period: PeriodOut
    previous: PeriodOut = Field(description="The period the trends compare with.")
    generated_at: datetime
    total: Figures = Field(description="Equal to `GET /v1/stats?from=..&to=..` `total`.")
    previous_total: Figures = Field(description="The previous period's figures.")
    by_unit: list[StatsGroup] = Field(description="`/v1/stats?group_by=unit` groups.")
    by_category: list[StatsGroup] = Field(description="`/v1/stats?group_by=category` groups.")
    by_channel: list[StatsGroup] = Field(description="`/v1/stats?group_by=channel` groups.")
    by_month: list[StatsGroup] = Field(description="`/v1/stats?group_by=month` groups "
                                       "(quarter and year reports; empty for a month).")
    trends: list[Trend]
    units_most_complaints: list[Ranked] = Field(description="Units by cases registered, at "
                                                "most 5, those with none left out.")
    units_most_overdue: list[Ranked] = Field(description="Units by stage clocks overdue.")
    categories_most_complaints: list[Ranked]
    categories_most_overdue: list[Ranked]
    open: OpenCases = Field(description="Open cases when the report was made.")
    supervision: Board = Field(description="The supervision board when the report was made "
                                           "(the first 20, most urgent first; R-29, R-30).")
    inspections: Inspections


class ReportOut(BaseModel):
    """A report's record (without its content)."""

    id: int = Field(examples=[7])
    center: str = Field(examples=["district"])
    parent: str | None = Field(examples=["default"])
    period: str = Field(examples=["2026-01"])
    period_kind: PeriodKind
    period_from: date
    period_to: date
    generated_at: datetime
    generated_by: str = Field(description="`system` (the schedule) or the leader who asked.",
                              examples=["system"])
    sha256: str = Field(description="SHA-256 (hex) of the workbook's bytes, made by PostgreSQL "
                        "from the stored bytes.")
    figures_sha256: str = Field(description="SHA-256 (hex) of the stored content "
                                "(`figures::text`).")
    prev_sha256: str | None = Field(description="The center's previous report's `sha256`.")
    xlsx_url: str = Field(examples=["/v1/reports/7.xlsx"])
    page_url: str = Field(examples=["/v1/reports/7.html"])


class ReportDetail(ReportOut):
    content: ReportContent


class ReportsPublic(BaseModel):
    data: list[ReportOut] = Field(description="Newest period first.")
    count: int


class ReportCreate(BaseModel):
    """Make the caller's center's report of an ended period now (once: a second request
    returns the same report)."""

    period: str = Field(min_length=4, max_length=7, pattern=PERIOD_PATTERN,
                        description="`2026-01`, `2026-Q1` or `2026` (years 2000..2099); the "
                        "period must have ended (Beijing).", examples=["2026-01"])


class RollupRow(BaseModel):
    center: str
    report_id: int | None = Field(description="Null: the center has not reported the period.")
    total: Figures | None


class Rollup(BaseModel):
    """A parent center's view of its children's reports of one period, summed."""

    center: str = Field(examples=["default"])
    period: PeriodOut
    children: list[RollupRow] = Field(description="Every child center of the register.")
    missing: list[str] = Field(description="Children without a report of the period.")
    total: Figures = Field(description="The reported children's figures added up: counts are "
                           "sums, rates recomputed from the sums, the average handling time "
                           "weighted by cases; the 90th percentile is not additive (null).")
