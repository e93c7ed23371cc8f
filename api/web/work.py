"""待办 The work queue of the signed-in role, the supervision board and the reports to the level
above."""

from __future__ import annotations

from fastapi.responses import Response

from api.centers.service import list_centers
from api.errors import ApiError
from api.reports.service import READER_ROLES, list_reports
from api.stats.service import FIGURE_ROLES
from api.supervision.service import load_board
from api.web import queue
from api.web.page import Viewing, only, page_router, utcnow

router = page_router()


@router.get("/")
async def work_queue(page: Viewing, status: str = "", q: str = "", level: str = "",
                     page_no: int = 1) -> Response:
    user = page.user
    allowed_statuses = queue.ROLE_STATUSES[user.role] if user.role in queue.ROLE_STATUSES else []
    f = queue.QueueFilter(
        status=status if status in {s.value for s in allowed_statuses} else None,
        q=q.strip()[:100] or None,
        level=level if level in ("red", "yellow", "green") else None,
    )
    page_no = min(max(page_no, 1), queue.LIST_CAP // queue.PAGE_SIZE + 1)
    try:
        rows, total = await queue.load_queue(await page.res.get_pool(), user, f, now=utcnow(),
                                             page=page_no)
    except ApiError as e:
        return await page.failed(e)
    return await page.render(
        "queue.html", rows=rows, total=total, f=f, statuses=allowed_statuses,
        page_no=page_no, pages=max(1, -(-total // queue.PAGE_SIZE)),
    )


@router.get("/board", dependencies=[only(FIGURE_ROLES, "无权查看",
                                          "督办台账供投诉中心、领导、督办、审计及承办单位查看。")])
async def board(page: Viewing, page_no: int = 1) -> Response:
    """督办台账 The supervision board (`api.supervision.service.load_board`, as
    `GET /v1/supervision`): supervised and overdue cases, most urgent first."""
    page_no = min(max(page_no, 1), 1000)
    try:
        b = await load_board(await page.res.get_pool(), center=page.user.center,
                             unit=page.user.unit, page=page_no, page_size=50, now=utcnow())
    except ApiError as e:
        return await page.failed(e)
    return await page.render("board.html", board=b, page_no=page_no,
                             pages=max(1, -(-b.count // 50)))


@router.get("/reports", dependencies=[only(READER_ROLES, "无权查看",
                                            "上报报告供投诉中心领导和督办人员查看。")])
async def reports(page: Viewing) -> Response:
    """上报报告 This center's reports to the level above and those its child centers sent it
    (`api.reports.service.list_reports`, as `GET /v1/reports`), newest period first, each with
    its printable page and its workbook."""
    try:
        pool = await page.res.get_pool()
        rows = await list_reports(pool, page.user, center=None, kind=None, limit=100)
        names = {c.code: c.name for c in await list_centers(pool)}
    except ApiError as e:
        return await page.failed(e)
    return await page.render("reports.html", rows=rows, names=names)
