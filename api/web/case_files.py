"""Evidence on the case page: upload (also with the intake record), download, and a leader's
sharing of a file with the handling unit — all through the evidence service, as the API."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.complaints.service import NUMBER_RE, CaseService
from api.errors import ApiError
from api.evidence import files as evidence_files
from api.evidence import service as evidence
from api.evidence.schemas import ShareBody
from api.web import forms
from api.web.case import case_page_response
from api.web.page import UPLOAD_ROLES, Page, PostedForm, SignedIn, only, page_router
from domain.models import Role

router = page_router()


async def attach(page: Page, cases: CaseService, number: str, upload: UploadFile,
                  summary: str, description: str) -> None:
    """Attach a file through the evidence service (type from the content, limits, SHA-256,
    the summary checked for personal data), as `POST /v1/complaints/{n}/evidence` does."""
    assert page.user is not None
    user, settings = page.user, page.res.settings
    case = await evidence.case_for(cases.pool, number, user, query=cases.query, fresh=True)
    await evidence.check_summary(cases.pool, number, summary)
    store = evidence_files.EvidenceStore(settings.evidence_dir)
    try:
        item = await asyncio.to_thread(
            store.ingest, upload.file, max_bytes=settings.evidence_max_file_bytes,
            filename=upload.filename or "", declared=upload.content_type)
    except evidence_files.Refused as e:
        raise e.error from None
    try:
        async with cases.pool.acquire() as conn, conn.transaction():
            await evidence.insert(
                conn, store, item, case=case, user=user,
                provided_by="unit" if user.role == Role.UNIT else "complainant",
                filename=evidence_files.clean_filename(upload.filename, item.type),
                description=description, summary=summary,
                max_case_bytes=settings.evidence_max_case_bytes)
    finally:
        store.discard(item)


def upload_of(form: Any, name: str) -> UploadFile | None:
    f = form.get(name)
    return f if isinstance(f, UploadFile) and (f.filename or f.size) else None


@router.post("/cases/{number}/evidence",
             dependencies=[only(UPLOAD_ROLES, "无权上传", "您的角色不能上传证据。")])
async def case_evidence(page: SignedIn, form: PostedForm, number: str) -> Response:
    upload = upload_of(form, "file")
    field = "evidence-upload"
    if upload is None:
        return await case_page_response(page, number, status=422, errors={field: {"file": "请选择文件"}})
    summary = str(form.get("summary") or "").strip()[:500]
    description = str(form.get("description") or "").strip()[:2000]
    try:
        await attach(page, await page.cases(), number, upload, summary, description)
    except ApiError as e:
        return await case_page_response(page, number, status=e.http_status,
                                errors={field: forms.api_errors(e, ["file", "summary"])})
    finally:
        await form.close()
    return page.redirect(f"/cases/{number}?done=evidence")


@router.get("/cases/{number}/evidence/{evidence_id}")
async def evidence_download(page: SignedIn, number: str, evidence_id: int) -> Response:
    """The file itself, for whoever may download it (R-32: the office; a unit its own uploads
    and what a leader shared), the download written to the access log, as the API does."""
    if not NUMBER_RE.match(number) or not 1 <= evidence_id <= 2**62:
        return await page.render("message.html", 404, title="未找到", message="未找到该文件。")
    try:
        cases = await page.cases()
        ref = await evidence.case_for(cases.pool, number, page.user, query=cases.query)
        row = await evidence.downloadable(cases.pool, ref, evidence_id, page.user)
        path = evidence_files.EvidenceStore(page.res.settings.evidence_dir).path(row["sha256"])
        if not path.is_file():
            return await page.render("message.html", 500, title="文件缺失",
                                     message="证据文件不在存储中，请联系管理员。")
        await evidence.log_download(cases.pool, ref, row, page.user)
    except ApiError as e:
        if e.http_status == 404:
            return await page.render("message.html", 404, title="未找到",
                                     message="未找到该文件，或您无权下载。")
        return await page.failed(e)
    return FileResponse(path, media_type=row["content_type"],
                        filename=evidence.download_name(row, page.user),
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.post("/cases/{number}/evidence/{evidence_id}/share")
async def evidence_share(page: SignedIn, form: PostedForm, number: str, evidence_id: int
                         ) -> Response:
    """领导审批 A leader gives the handling unit the file itself (or takes it back), R-32."""
    if page.user.role != Role.LEADER:
        return await page.render("message.html", 403, title="无权操作",
                                 message="只有领导可以批准向承办单位提供证据文件。")
    try:
        body = ShareBody.model_validate({"shared": form.get("shared") == "true",
                                         "note": str(form.get("note") or "")[:2000]})
        cases = await page.cases()
        ref = await evidence.case_for(cases.pool, number, page.user, query=cases.query,
                                      fresh=True)
        await evidence.share(cases.pool, ref, evidence_id, body, page.user)
    except ValidationError as e:
        return await case_page_response(page, number, status=422,
                                errors={"evidence-upload": forms.pydantic_errors(e)})
    except ApiError as e:
        return await case_page_response(page, number, status=e.http_status,
                                errors={"evidence-upload": forms.api_errors(e, [])})
    return page.redirect(f"/cases/{number}?done=share")
