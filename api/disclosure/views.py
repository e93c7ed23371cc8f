"""The public disclosure (投诉信息公开, R-47, R-06): `GET /public/disclosures` (the page),
`GET /v1/public/disclosures` and `GET /v1/public/units/{unit}/figures` (JSON, codes only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from api.deps import PoolDep, SettingsDep
from api.disclosure import service
from api.disclosure.page import CSP, render_page
from api.disclosure.schemas import DisclosuresPublic, UnitFigures
from api.errors import R422, R503
from domain.workdays import BEIJING

router = APIRouter(tags=["disclosure"])

CenterQuery = Annotated[
    str | None, Query(max_length=64, description="Only this center.", examples=["default"])
]
UnitQuery = Annotated[
    str | None, Query(max_length=64, description="Only this unit.", examples=["tax-bureau"])
]


@router.get(
    "/v1/public/disclosures", summary="Published results (JSON)", responses={**R422, **R503},
    tags=["public"],
)
async def get_disclosures(
    pool: PoolDep,
    center: CenterQuery = None,
    unit: UnitQuery = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="Rows per page (≤ 100).")] = 20,
) -> DisclosuresPublic:
    """投诉信息公开 Concluded cases whose complainant agreed to publication (R-47): anonymised
    summary, finding and measures, by unit; no personal data. No token needed."""
    data, count = await service.list_disclosures(pool, center=center, unit=unit, limit=page_size,
                                         offset=(page - 1) * page_size)
    return DisclosuresPublic(data=data, count=count, page=page, page_size=page_size)


@router.get(
    "/v1/public/units/{unit}/figures", summary="A unit's monthly figures",
    responses={**R422, **R503}, tags=["public"],
)
async def get_unit_figures(
    unit: Annotated[str, Path(max_length=64, description="Unit code.", examples=["tax-bureau"])],
    pool: PoolDep,
    settings: SettingsDep,
) -> UnitFigures:
    """On-time rate (R-36) and satisfaction rate (R-38) of the cases about a unit, by month, for
    the last 12 months; aggregates only, rates from `min_cases` cases a month."""
    return await service.unit_figures(pool, unit, now=datetime.now(BEIJING),
                                      minimum=settings.disclosure_min_cases)


@router.get(
    "/public/disclosures",
    summary="Published results (page)",
    response_class=HTMLResponse,
    responses={200: {"description": "The page (HTML, Chinese).",
                     "content": {"text/html": {"schema": {"type": "string"}}}},
               **R422, **R503},
    tags=["public"],
)
async def disclosures_page(
    pool: PoolDep, settings: SettingsDep, center: CenterQuery = None, unit: UnitQuery = None
) -> HTMLResponse:
    """效能投诉办理结果公开: the public page — each unit's monthly figures and the concluded
    cases published with consent, anonymised. Server-rendered, no scripts, no external files."""
    now = datetime.now(BEIJING)
    minimum = settings.disclosure_min_cases
    units, cases, figs = await service.page_data(pool, center=center, unit=unit, now=now,
                                                 minimum=minimum)
    page = render_page(units, cases, figs, minimum=minimum, now=now)
    return HTMLResponse(page, headers={
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=300",
    })
