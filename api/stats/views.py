"""`/v1/stats`: the efficiency figures (R-36..R-39) for a period, grouped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PoolDep
from api.errors import R401, R403, R422, R503
from api.stats.params import DateFrom, DateTo, FiguresUser, UnitQuery
from api.stats.schemas import GroupBy, StatsOut
from api.stats.service import compute_stats, period_of, scope_unit
from domain.workdays import BEIJING

router = APIRouter(prefix="/v1/stats", tags=["stats"])

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
  substantiated, the share whose measures were carried out: a measure other than `none`, and
  the responsible unit's rectification accepted by the handler.
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

Codes only: group keys are unit codes, categories, channels and months; `GET /v1/units` names
the units, and the dashboard (`/dashboard`) shows the figures with their labels.
"""


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
