"""Reports to the level above (分析汇总，报上级): the periods a center reports on and the messages
of `ReportsWorkflow`.

Pure: no Temporal, no I/O. The workflow (`workflows/reports.py`), the report-building activity
and the API (`api/reports/`) all use these.

A period is a Beijing calendar month (`2026-01`), quarter (`2026-Q1`) or year (`2026`), both
ends inclusive, as `GET /v1/stats` takes them (`from`, `to`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

#: How many centers one scheduled run reports on at most (the register is small; bounded).
MAX_CENTERS = 1000


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_PATTERNS = (
    (PeriodKind.MONTH, re.compile(r"^([0-9]{4})-([0-9]{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^([0-9]{4})-[Qq]([1-4])$")),
    (PeriodKind.YEAR, re.compile(r"^([0-9]{4})$")),
)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
#: What a period looks like (the API's schema states it; `parse_period` checks the rest).
PERIOD_PATTERN = r"^[0-9]{4}(-([0-9]{2}|[Qq][1-4]))?$"


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A month, quarter or year: Beijing dates `first`..`last`, inclusive."""

    kind: PeriodKind
    first: date
    last: date

    @property
    def label(self) -> str:
        """`2026-01`, `2026-Q1` or `2026`: what `parse_period` reads."""
        if self.kind == PeriodKind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return str(self.first.year)

    def previous(self) -> ReportPeriod:
        """The period of the same kind just before (the trend's base)."""
        return period_containing(self.kind, self.first - timedelta(days=1))


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)


def period_containing(kind: PeriodKind, day: date) -> ReportPeriod:
    """The period of `kind` that holds `day`."""
    if kind == PeriodKind.MONTH:
        return ReportPeriod(kind, day.replace(day=1), _month_end(day.year, day.month))
    if kind == PeriodKind.QUARTER:
        start = (day.month - 1) // 3 * 3 + 1
        return ReportPeriod(kind, date(day.year, start, 1), _month_end(day.year, start + 2))
    return ReportPeriod(kind, date(day.year, 1, 1), date(day.year, 12, 31))


def parse_period(text: str) -> ReportPeriod:
    """`2026-01`, `2026-Q1` or `2026` as a period.

    Raises:
        ValueError: with a message for people, when the text is none of these.
    """
    for kind, pattern in _PATTERNS:
        m = pattern.match(text.strip()) if isinstance(text, str) else None
        if m is None:
            continue
        year = int(m.group(1))
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise ValueError(f"the year must lie between {EARLIEST_YEAR} and {LATEST_YEAR}")
        if kind == PeriodKind.MONTH:
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError("the month must be 01..12")
            return period_containing(kind, date(year, month, 1))
        if kind == PeriodKind.QUARTER:
            return period_containing(kind, date(year, (int(m.group(2)) - 1) * 3 + 1, 1))
        return period_containing(kind, date(year, 1, 1))
    raise ValueError("a period is a month `YYYY-MM`, a quarter `YYYY-Qn` or a year `YYYY`")


def periods_ended_before(day: date) -> list[ReportPeriod]:
    """What the monthly run on `day` reports: the month before `day`'s month, and the quarter
    and the year when that month ends one (a run in January reports December, Q4 and the
    year)."""
    last_month = period_containing(PeriodKind.MONTH, day.replace(day=1) - timedelta(days=1))
    out = [last_month]
    for kind in (PeriodKind.QUARTER, PeriodKind.YEAR):
        p = period_containing(kind, last_month.first)
        if p.last == last_month.last:
            out.append(p)
    return out


# ------------------------------------------------------------------ messages


class Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportsInput(Msg):
    """The schedule's input (all defaults): the periods ended before the run's day, every
    center of the register."""

    periods: list[str] = Field(default_factory=list, max_length=24,
                               description="Periods to report (`2026-01`, `2026-Q1`, `2026`); "
                               "empty: those ended before the run (`periods_ended_before`).")
    centers: list[str] = Field(default_factory=list, max_length=MAX_CENTERS,
                               description="Only these centers; empty: every center.")


class BuildReportInput(Msg):
    """One center's report of one period (activity `build_center_report`)."""

    center: str
    period: str = Field(description="`2026-01`, `2026-Q1` or `2026`.")
    generated_by: str = Field(default="system", description="Who asked: `system` (the "
                              "schedule) or a leader's id.")
    as_of: datetime | None = Field(default=None, description="The report's instant (the run's "
                                   "workflow time): what has ended, what is open; None: now.")


class BuiltReport(Msg):
    """What the history keeps of a report: ids and its hash, no figures."""

    id: int
    center: str
    period: str
    sha256: str
    created: bool = Field(description="False: the period's report existed already (a second "
                          "run does not duplicate it).")
    delivered_to: str | None = Field(default=None, description="The parent center the report "
                                     "was put in the outbox for.")


class ReportsResult(Msg):
    as_of: datetime | None = Field(default=None, description="The run's instant: every report "
                                   "of the run is made as of it.")
    periods: list[str]
    centers: int
    created: int
    existing: int
    reports: list[BuiltReport] = Field(default_factory=list, description="At most the first "
                                       "200 (the rest are in PostgreSQL).")
