"""`/v1/reports`: each center's reports to the level above (分析汇总，报上级).

Made monthly for every center by `ReportsWorkflow` (the Schedule `center-reports`) — the month,
and the quarter and the year when they end — or now by a leader (`POST`); archived append-only
with their hash and delivered to the parent center through the outbox.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.auth import User
from api.deps import PoolDep, ResourcesDep, require
from api.errors import R401, R403, R404, R422, R503, ApiError
from api.reports import page, service
from api.reports.schemas import ReportCreate, ReportDetail, ReportOut, ReportsPublic, Rollup
from api.stats.service import unit_names
from api.web import session
from domain.reports import PERIOD_PATTERN, PeriodKind

router = APIRouter(prefix="/v1/reports", tags=["reports"])

ReaderUser = Annotated[User, Depends(require(*service.READER_ROLES))]
MakerUser = Annotated[User, Depends(require(*service.MAKER_ROLES))]
ReportId = Annotated[int, Path(ge=1, le=2**62, description="The report's id.", examples=[7])]
PeriodQuery = Annotated[str, Query(min_length=4, max_length=7, pattern=PERIOD_PATTERN,
                                   description="`2026-01`, `2026-Q1` or `2026`.",
                                   examples=["2026-01"])]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READ_ERRORS = {**R401, **R403, **R404, **R422, **R503}


@router.get("", summary="Reports of this center and of its children",
            responses={**R401, **R403, **R422, **R503})
async def list_reports(
    user: ReaderUser, pool: PoolDep,
    center: Annotated[str | None, Query(max_length=64, description="Only this center (this "
                                        "one or a child).")] = None,
    kind: Annotated[PeriodKind | None, Query(description="Only months, quarters or "
                                             "years.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Newest period first.")] = 100,
) -> ReportsPublic:
    """The caller's center's reports and those its child centers delivered to it; leader,
    supervisor."""
    data = await service.list_reports(pool, user, center=center, kind=kind, limit=limit)
    return ReportsPublic(data=data, count=len(data))


@router.get("/rollup", summary="Roll-up of the child centers' reports of a period",
            responses={**R401, **R403, **R422, **R503})
async def rollup(user: ReaderUser, pool: PoolDep, period: PeriodQuery) -> Rollup:
    """Every child center of the register with its report of the period (or listed as
    missing), and their figures added up; leader, supervisor."""
    return await service.rollup(pool, user, service.period_param(period))


@router.post("", status_code=201, summary="Make this center's report of an ended period now",
             responses={200: {"model": ReportOut, "description": "It existed: the same "
                              "report."}, **R401, **R403, **R422, **R503})
async def create_report(body: ReportCreate, user: MakerUser, pool: PoolDep) -> Any:
    """The report of a month, quarter or year that has ended, made now (201) and delivered to
    the parent center; once made, the same report is returned (200). Leader."""
    out, created = await service.create_report(pool, user, body.period)
    if not created:
        return JSONResponse(out.model_dump(mode="json"), status_code=200)
    return out


async def page_user(request: Request, res: ResourcesDep) -> User:
    """A bearer token, or the workbench's signed-in session (a browser prints the page)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    user = (res.tokens.lookup(token) if token
            else session.user_of(res, session.load(request, res)))
    if user is None:
        raise ApiError(401, "unauthorized", "sign in at / or send a bearer token",
                       headers={"WWW-Authenticate": "Bearer"})
    if user.role not in service.READER_ROLES:
        raise ApiError(403, "forbidden", "leaders and supervisors read reports")
    return user


@router.get("/{report_id:int}.xlsx", summary="The report's workbook", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The archived bytes; "
                             "`ETag` is their SHA-256."}, **READ_ERRORS})
async def get_xlsx(
    report_id: ReportId, user: Annotated[User, Depends(page_user)], pool: PoolDep,
) -> Response:
    """The `.xlsx` exactly as archived; bearer token or the workbench's sign-in (its 上报报告
    page links here); leader, supervisor (of the center or its parent)."""
    name, sha256, data = await service.get_xlsx(pool, user, report_id)
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "ETag": f'"{sha256}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/{report_id:int}.html", summary="The report as a printable page",
            response_class=HTMLResponse, responses=READ_ERRORS)
async def get_page(
    report_id: ReportId, user: Annotated[User, Depends(page_user)], pool: PoolDep,
) -> HTMLResponse:
    """A4 printable page of the report; bearer token or the workbench's sign-in; leader,
    supervisor (of the center or its parent)."""
    detail = await service.get_report(pool, user, report_id)
    names = await unit_names(pool, detail.center)
    return HTMLResponse(page.render(detail, names), headers={
        "Content-Security-Policy": page.CSP, "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff"})


@router.get("/{report_id:int}", summary="One report", responses=READ_ERRORS)
async def get_report(report_id: ReportId, user: ReaderUser, pool: PoolDep) -> ReportDetail:
    """The report with its content (figures equal to `/v1/stats` for the center and period,
    trends, rankings, supervisions, inspections); leader, supervisor (of the center or its
    parent)."""
    return await service.get_report(pool, user, report_id)
