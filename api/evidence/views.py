"""`/v1/complaints/{number}/evidence`: upload, list, download and share evidence files (R-03,
R-21, R-32). The rules are in `service.py`, the file types and the store in `files.py`."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from api.auth import User
from api.deps import (
    Cases,
    ComplaintNumber,
    LeaderUser,
    PoolDep,
    SettingsDep,
    StaffUser,
    require,
)
from api.errors import R401, R403, R404, R409, R422, R503, ApiError, Responses, err_doc, validation_error
from api.evidence import files, service
from api.evidence.schemas import EvidenceItem, EvidenceList, ShareBody
from api.middleware import RouteLimit
from config import Settings
from domain.base import NO_CONTROL_PATTERN, control_character_in
from domain.models import Role

router = APIRouter(prefix="/v1/complaints", tags=["evidence"])

#: The upload path, which has its own body limit (`body_limits`).
UPLOAD_PATH = re.compile(r"^/v1/complaints/[^/]+/evidence/?$")

UploaderUser = Annotated[User, Depends(require(Role.INTAKE, Role.HANDLER, Role.UNIT))]

EvidenceId = Annotated[int, Path(ge=1, le=2**62, description="Evidence id.", examples=[7])]

DESCRIPTION_MAX = 2000
SUMMARY_MAX = 500

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file"],
            "additionalProperties": False,
            "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": f"The file: {files.ACCEPTED}. The type is read from the "
                         "content; a name or content type naming another type is refused."},
                "description": {"type": "string", "maxLength": DESCRIPTION_MAX,
                                "pattern": NO_CONTROL_PATTERN,
                                "description": "What it is; complaint office only (may be "
                                "personal)."},
                "summary": {"type": "string", "maxLength": SUMMARY_MAX,
                            "pattern": NO_CONTROL_PATTERN,
                            "description": "Non-personal summary, what a handling unit sees "
                            "(R-32); default: the type and size."},
                "provided_by": {"type": "string", "enum": list(service.PROVIDERS),
                                "default": "complainant",
                                "description": "Who provided it; a handling unit always "
                                "uploads as `unit`."},
            },
        }}},
    }
}

#: The fields of the upload form; any other is refused.
FORM_FIELDS = tuple(UPLOAD_BODY["requestBody"]["content"]["multipart/form-data"]["schema"]
                    ["properties"])

_UPLOAD_ERRORS: Responses = {
    **R401, **R403, **R404, **R409, **R422, **R503,
    200: {"model": EvidenceItem, "description": "The same file was already attached."},
    413: err_doc("The file (file_too_large, payload_too_large) or the case's evidence "
                 "(case_evidence_full) is over the limit."),
    415: err_doc("The content is no accepted type (unsupported_file_type), or the name or "
                 "declared type names another type than the content (file_type_mismatch)."),
}


def body_limits(settings: Settings) -> list[RouteLimit]:
    """The upload route's own body limit, for `BodyLimitMiddleware` (api/main.py)."""
    max_bytes, message = files.body_limit(settings.evidence_max_file_bytes)
    return [RouteLimit(UPLOAD_PATH, max_bytes, message)]


def _text(form: Any, name: str, max_length: int, problems: list[dict[str, Any]]) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append({"field": name, "location": "body", "type": "string_type",
                         "message": "must be a text field, not a file"})
        return ""
    if len(value) > max_length:
        problems.append({"field": name, "location": "body", "type": "string_too_long",
                         "message": f"at most {max_length} characters"})
    if control_character_in(value):
        problems.append({"field": name, "location": "body", "type": "value_error",
                         "message": "control characters are not allowed"})
    return value.strip()


@router.post(
    "/{number}/evidence",
    status_code=201,
    summary="Upload an evidence file",
    response_model=EvidenceItem,
    responses=_UPLOAD_ERRORS,
    openapi_extra=UPLOAD_BODY,
)
async def upload_evidence(
    number: ComplaintNumber,
    request: Request,
    response: Response,
    user: UploaderUser,
    pool: PoolDep,
    settings: SettingsDep,
    cases: Cases,
) -> EvidenceItem:
    """证据材料 Attach a photo, recording, PDF or office document to the case (multipart).

    Intake and handlers upload what the complainant or the office provides; a handling unit
    uploads for the case referred to it. Limits per file and per case; the type is read from
    the content; the SHA-256 is recorded. 201 with the file, or 200 if the same file was
    already attached.
    """
    # Who and which case before the body is read; the workflow says whether it is archived.
    case = await service.case_for(pool, number, user, query=cases.query, fresh=True)
    form = await request.form(max_files=1, max_fields=3, max_part_size=16 * 1024)
    try:
        problems: list[dict[str, Any]] = [
            {"field": name, "location": "body", "type": "extra_forbidden",
             "message": "unknown field; the fields are " + ", ".join(FORM_FIELDS)}
            for name in sorted(set(form.keys()) - set(FORM_FIELDS))]
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            problems.append({"field": "file", "location": "body", "type": "missing",
                             "message": "a file is required (multipart field `file`)"})
        description = _text(form, "description", DESCRIPTION_MAX, problems)
        summary = _text(form, "summary", SUMMARY_MAX, problems)
        provided_by = _text(form, "provided_by", 20, problems) or (
            "unit" if user.role == Role.UNIT else "complainant")
        if provided_by not in service.PROVIDERS:
            problems.append({"field": "provided_by", "location": "body", "type": "enum",
                             "message": "one of " + ", ".join(service.PROVIDERS)})
        elif user.role == Role.UNIT and provided_by != "unit":
            problems.append({"field": "provided_by", "location": "body", "type": "rule",
                             "message": "a handling unit uploads its own material: 'unit'"})
        if problems:
            raise validation_error(problems)
        assert isinstance(upload, UploadFile)
        await service.check_summary(pool, case.number, summary)
        store = files.EvidenceStore(settings.evidence_dir)
        try:
            item = await asyncio.to_thread(
                store.ingest, upload.file, max_bytes=settings.evidence_max_file_bytes,
                filename=upload.filename or "", declared=upload.content_type,
            )
        except files.Refused as e:
            raise e.error from None
        try:
            async with pool.acquire() as conn, conn.transaction():
                row, created = await service.insert(
                    conn, store, item, case=case, user=user, provided_by=provided_by,
                    filename=files.clean_filename(upload.filename, item.type),
                    description=description, summary=summary,
                    max_case_bytes=settings.evidence_max_case_bytes,
                )
        finally:
            store.discard(item)  # a no-op once the file is in its place
    finally:
        await form.close()
    if not created:
        response.status_code = 200
    return service.item_view(row, user)


@router.get(
    "/{number}/evidence",
    summary="Evidence files of a case",
    responses={**R401, **R403, **R404, **R503},
)
async def list_evidence(
    number: ComplaintNumber, user: StaffUser, pool: PoolDep, settings: SettingsDep, cases: Cases
) -> EvidenceList:
    """The files of the case: everything for the complaint office; for a handling unit, the
    summary of each file and only the files shared with it to download (R-32)."""
    case = await service.case_for(pool, number, user, query=cases.query)
    return await service.list_files(pool, case, user, limit_bytes=settings.evidence_max_case_bytes)


@router.get(
    "/{number}/evidence/{evidence_id}",
    summary="Download an evidence file",
    response_class=FileResponse,
    responses={
        200: {"description": "The file, with its content type (read from the content).",
              "content": {media: {"schema": {"type": "string", "format": "binary"}}
                          for media in ["application/octet-stream",
                                        *sorted({t.content_type for t in files.TYPES.values()})]}},
        **R401, **R403, **R404, **R503,
    },
)
async def download_evidence(
    number: ComplaintNumber, evidence_id: EvidenceId, user: StaffUser, pool: PoolDep,
    settings: SettingsDep, cases: Cases,
) -> FileResponse:
    """The file itself; every download is logged. A handling unit gets only files a leader
    shared with it and its own uploads; any other file is a 404 to it (R-32)."""
    case = await service.case_for(pool, number, user, query=cases.query)
    row = await service.downloadable(pool, case, evidence_id, user)
    path = files.EvidenceStore(settings.evidence_dir).path(row["sha256"])
    if not path.is_file():
        raise ApiError(500, "evidence_missing",
                       f"evidence file {evidence_id} is missing from the evidence store")
    await service.log_download(pool, case, row, user)
    return FileResponse(
        path, media_type=row["content_type"], filename=service.download_name(row, user),
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
            "X-Evidence-SHA256": row["sha256"],
        },
    )


@router.post(
    "/{number}/evidence/{evidence_id}/share",
    summary="Share an evidence file with the handling unit",
    responses={**R401, **R403, **R404, **R409, **R422, **R503},
)
async def share_evidence(
    number: ComplaintNumber, evidence_id: EvidenceId, body: ShareBody, user: LeaderUser,
    pool: PoolDep, cases: Cases,
) -> EvidenceItem:
    """领导审批 A leader approves (or withdraws) giving the handling unit the file itself rather
    than its summary (R-32: materials go to the unit only with approval)."""
    case = await service.case_for(pool, number, user, query=cases.query, fresh=True)
    return await service.share(pool, case, evidence_id, body, user)
