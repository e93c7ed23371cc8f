"""`/v1/supervision`: the supervision board (督办台账, R-29, R-30)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PoolDep
from api.errors import R401, R403, R422, R503
from api.stats.params import FiguresUser, UnitQuery
from api.stats.service import scope_unit
from api.supervision.schemas import Board, Level, Reason
from api.supervision.service import load_board

router = APIRouter(prefix="/v1/supervision", tags=["supervision"])


@router.get(
    "",
    summary="Supervision board (督办台账)",
    responses={**R401, **R403, **R422, **R503},
)
async def get_board(
    user: FiguresUser,
    pool: PoolDep,
    unit: UnitQuery = None,
    level: Annotated[Level | None, Query(description="Only this warning level.")] = None,
    reason: Annotated[Reason | None, Query(description="Only cases supervised for this "
                                           "reason.")] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="Rows per page.")] = 50,
) -> Board:
    """Open cases that are supervised, overdue or yellow (reminded), most urgent first.

    Red (overdue) first, longest overdue first; then yellow (from the reminder instant, R-30); then
    the other supervised cases by their next due instant. Each row says why the case is
    supervised (overdue, major, leader, media, hot issue, appeal, manual escalation), how many
    working days it is overdue and the supervisor's response deadline. Handler, leader,
    supervisor, auditor; a handling unit sees its own cases only.
    """
    return await load_board(
        pool, center=user.center, unit=scope_unit(user, unit), level=level, reason=reason,
        page=page, page_size=page_size,
    )
