"""`/v1/stats`: R-36..R-39 figures (a stub until the statistics are built)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StaffUser
from api.errors import ApiError
from api.schemas import R401, R403, err_doc

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get(
    "",
    summary="Efficiency figures (not implemented yet)",
    responses={**R401, **R403, 501: err_doc("Not implemented yet.")},
)
async def get_stats(user: StaffUser) -> None:
    """R-36..R-39 figures by unit, category, channel or month: not implemented yet (501)."""
    raise ApiError(501, "not_implemented", "statistics are not implemented yet")
