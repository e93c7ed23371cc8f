"""`/v1/stats`: the efficiency figures (R-36..R-39) for a period, grouped (api/stats.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import User
from api.deps import PoolDep, require
from api.errors import ApiError, validation_error
from api.schemas import R401, R403, R422, R503
from api.stats import BEIJING, MAX_PERIOD_DAYS, GroupBy, Period, StatsOut, compute_stats
from domain.models import Role

router = APIRouter(prefix="/v1/stats", tags=["stats"])

#: The dates a period may use (the working-day calendar is filled for the years touched).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)

#: Who sees the figures: the office's staff, and each handling unit its own (R-39).
FIGURE_ROLES = (Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR, Role.UNIT)
FiguresUser = Annotated[User, Depends(require(*FIGURE_ROLES))]

DESCRIPTION = """
效能评估 Efficiency figures for a period (Beijing dates, both inclusive; default this year up to
today), in total and grouped by `unit` (handling unit), `category`, `channel` or `month`.

Each figure counts what happened in the period, dated by its own instant:

- **registered**: cases received in the period; **accepted**: accepted in the period;
  **concluded** (办结): the decision (report-result) made in the period.
- **on_time** (按时办结率, R-36), per clock kind `acceptance`, `opinion`, `handling`,
  `supervision` and `overall` (the 30-day limit: the case-level rate), and `all` kinds
  together: clocks met or missed whose settling instant (closing instant when met on time, else
  the due instant) is in the period; on time = closed as met no later than the due instant
  (after approved extensions). Cancelled clocks that never fell due do not count.
- **resolution** (问题解决率, R-37): of the concluded cases found substantiated or partially
  substantiated, the share whose reported result carries a measure other than `none`.
- **satisfaction** (满意率, R-38): (satisfied + basically satisfied) / callbacks answered in the
  period; no answer (`no_response`) is not an answer.
- **handling_days**: working days from receipt to decision, counted like a limit (R-41: the
  working days after the day of receipt up to and including the day of the decision, with the
  published holidays and 调休 working weekends); average and 90th percentile (nearest rank).
- **overdue_cases** / **overdue_deadlines**: cases / stage clocks that fell overdue in the
  period (R-30); **extended_cases** / **extension_days**: extensions approved in the period
  (R-18); **respondent_replies**: replies to document requests received (and how many late) and
  reply clocks missed.
- **open**: the open cases now by status and warning level (red overdue, yellow due within one
  working day, green the rest); not bound to the period.

Grouped by unit, a case belongs to its handling unit (key `""` = the complaint office), and a
clock to the unit that had the case while the clock ran. A handling unit sees only its own
figures. The full definitions: docs/figures.md.
"""


def period_of(date_from: date | None, date_to: date | None, *, today: date) -> Period:
    """The requested period; 422 if it is reversed or longer than MAX_PERIOD_DAYS."""
    last = date_to or today
    first = date_from or date(last.year, 1, 1)
    problems = []
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST <= day <= LATEST:
            problems.append({"field": name, "location": "query", "type": "rule",
                             "message": f"must lie between {EARLIEST} and {LATEST}"})
    if problems:
        raise validation_error(problems)
    if first > last:
        problems.append({"field": "from", "location": "query", "type": "rule",
                         "message": "must not be after `to`"})
    elif (last - first).days > MAX_PERIOD_DAYS:
        problems.append({"field": "to", "location": "query", "type": "rule",
                         "message": f"a period covers at most {MAX_PERIOD_DAYS} days"})
    if problems:
        raise validation_error(problems)
    return Period(first, last)


def scope_unit(user: User, unit: str | None) -> str | None:
    """The unit the figures are limited to: a unit user's own, whatever it asked for."""
    if user.role == Role.UNIT:
        if unit not in (None, user.unit):
            raise ApiError(403, "forbidden", "a handling unit sees only its own figures")
        return user.unit
    return unit


DateFrom = Annotated[date | None, Query(alias="from", description="First day (Beijing), "
                                        "inclusive; default 1 January of `to`'s year.",
                                        examples=["2026-01-01"])]
DateTo = Annotated[date | None, Query(alias="to", description="Last day (Beijing), inclusive; "
                                      "default today.", examples=["2026-11-30"])]
UnitQuery = Annotated[str | None, Query(max_length=64, description="Only this handling unit "
                                        "(`\"\"` = the complaint office itself).",
                                        examples=["tax-bureau"])]


@router.get(
    "",
    summary="Efficiency figures (R-36..R-39)",
    description=DESCRIPTION,
    responses={**R401, **R403, **R422, **R503},
)
async def get_stats(
    user: FiguresUser,
    pool: PoolDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    group_by: Annotated[GroupBy, Query(description="Split by handling unit, category, channel "
                                       "or month (Beijing).")] = GroupBy.NONE,
    unit: UnitQuery = None,
) -> StatsOut:
    """Figures for a period, grouped; handler, leader, supervisor, auditor, a unit (its own)."""
    now = datetime.now(UTC)
    period = period_of(date_from, date_to, today=now.astimezone(BEIJING).date())
    return await compute_stats(
        pool, center=user.center, period=period, group_by=group_by,
        unit=scope_unit(user, unit), now=now,
    )
