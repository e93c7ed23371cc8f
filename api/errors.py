"""Every failure translated to HTTP in one place: `{"error": {"code", "message", ...}}`.

- 401 `unauthorized`: no or unknown token.
- 403 `forbidden`: the role may not do this (`lifecycle.NotAllowed("forbidden")`, or an Update
  refused with that type).
- 404 `not_found`: unknown complaint, wrong access code, unknown route.
- 409 `invalid_status`, `invalid_state`: the action is not allowed now (with `status` and the
  caller's `allowed_actions`).
- 413 `payload_too_large`: body over `settings.max_body_bytes`.
- 422 `validation_error`, `invalid_body`: invalid body or parameters (field-level messages).
- 503 + `Retry-After` `temporal_unavailable`, `temporal_timeout`, `database_unavailable`:
  Temporal, the worker or PostgreSQL down or too slow.
- 500 `internal_error`: a bug (generic message; the details go to the log).

Also the error models and the reusable `responses=` entries (`R401` ... `R503`, `err_doc`) that
every feature's routes put into the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, TemporalError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.asgi import HttpMiddleware
from domain.lifecycle import NotAllowed

log = logging.getLogger("complaints.api")

T = TypeVar("T")

RETRY_AFTER_SECONDS = 5

#: `lifecycle.NotAllowed.code` (also an Update's `ApplicationError.type`) -> HTTP status.
NOT_ALLOWED_STATUS: dict[str, int] = {
    "forbidden": 403,
    "invalid_status": 409,
    "invalid_state": 409,
    "invalid_body": 422,
}

#: gRPC statuses that mean "Temporal is down, overloaded or too slow": try again later.
_TRANSIENT_RPC = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.UNKNOWN,
    }
)

#: asyncpg errors that mean "PostgreSQL is down or out of connections", not "the SQL is wrong".
DB_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    OSError,  # ConnectionRefusedError, TimeoutError from pool.acquire, ...
)


# --- the error shape and its OpenAPI entries -------------------------------------------------


class FieldProblem(BaseModel):
    """One invalid field of a 422 answer."""

    field: str = Field(description="Dotted path of the field.", examples=["complainant.name"])
    location: str | None = Field(
        default=None, description="body, query, path or header.", examples=["body"]
    )
    message: str = Field(description="What is wrong.", examples=["Field required"])
    type: str | None = Field(
        default=None, description="Machine-readable kind.", examples=["missing"]
    )


class ErrorDetail(BaseModel):
    """What went wrong; more keys may follow (`status`, `allowed_actions`, `fields`, ...)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(
        description="Stable machine-readable code: unauthorized, forbidden, not_found, "
        "unknown_action, invalid_status, invalid_state, invalid_body, validation_error, "
        "idempotency_conflict, payload_too_large, temporal_unavailable, temporal_timeout, "
        "database_unavailable, not_implemented, internal_error.",
        examples=["invalid_status"],
    )
    message: str = Field(
        description="For people.",
        examples=["'approve-opinion' is not allowed in status 'registered' for role 'leader'"],
    )
    status: str | None = Field(default=None, description="409: the case's current status.")
    allowed_actions: list[str] | None = Field(
        default=None, description="409: what the caller may do now."
    )
    fields: list[FieldProblem] | None = Field(default=None, description="422: per-field messages.")


class ErrorResponse(BaseModel):
    """The one error shape: `{"error": {"code": "...", "message": "...", ...}}`."""

    error: ErrorDetail


def err_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


#: FastAPI's `responses=`: status -> {"model", "description"}.
Responses = dict[int | str, dict[str, Any]]

#: Reusable `responses=` entries for the OpenAPI document.
R401: Responses = {401: err_doc("No or unknown bearer token.")}
R403: Responses = {403: err_doc("The caller's role may not do this.")}
R404: Responses = {404: err_doc("Unknown complaint (or one the caller may not see).")}
R409: Responses = {
    409: err_doc("Not allowed in the case's current status; lists status and allowed actions.")
}
R422: Responses = {422: err_doc("Invalid body or parameters, with field-level messages.")}
R503: Responses = {503: err_doc("Temporal or PostgreSQL is down or too slow; see Retry-After.")}
STAFF_ERRORS: Responses = {**R401, **R403, **R404, **R503}



class ApiError(Exception):
    """An answer other than success, raised anywhere and rendered by `install`'s handlers."""

    def __init__(
        self,
        http_status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"error": {"code": code, "message": message, **extra}}


def render(e: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(e.code, e.message, **e.extra), status_code=e.http_status, headers=e.headers
    )


def unavailable(code: str, message: str, **extra: Any) -> ApiError:
    """A 503 with `Retry-After`: a dependency is down; the request may be retried."""
    return ApiError(
        503, code, message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, **extra
    )


def not_found(what: str = "complaint") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def from_not_allowed(
    e: NotAllowed, *, status: str | None = None, allowed: Sequence[str] | None = None
) -> ApiError:
    """A rule refusal; a 409 lists the case's status and the caller's allowed actions."""
    http = NOT_ALLOWED_STATUS.get(e.code, 409)
    extra: dict[str, Any] = {}
    if http == 409 and status is not None:
        extra["status"] = status
    if http == 409 and allowed is not None:
        extra["allowed_actions"] = list(allowed)
    return ApiError(http, e.code, e.message, **extra)


def from_temporal(e: TemporalError) -> ApiError:
    """Translate an error raised by the Temporal client."""
    if isinstance(e, WorkflowUpdateFailedError):
        cause = e.cause
        if isinstance(cause, ApplicationError) and cause.type in NOT_ALLOWED_STATUS:
            return ApiError(NOT_ALLOWED_STATUS[cause.type], cause.type, cause.message)
        return ApiError(409, "action_failed", f"the workflow refused the action: {cause}")
    if isinstance(e, RPCTimeoutOrCancelledError):
        return unavailable(
            "temporal_timeout",
            "Temporal did not confirm in time (is the worker running?); the action may still "
            "be applied: check the case before retrying, or retry with the same Idempotency-Key",
        )
    if isinstance(e, WorkflowAlreadyStartedError):
        return ApiError(409, "already_exists", "a case with this number already exists")
    if isinstance(e, WorkflowQueryRejectedError):
        return ApiError(409, "invalid_state", "the case cannot be queried in its current state")
    if isinstance(e, WorkflowQueryFailedError):
        return unavailable("case_not_ready", f"the case could not answer: {e.message}")
    if isinstance(e, RPCError):
        if e.status == RPCStatusCode.NOT_FOUND:
            return not_found()
        if e.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            # A query or update waits for a worker to run the workflow: no answer in time
            # usually means no worker is running.
            return unavailable(
                "temporal_timeout",
                f"Temporal did not answer in time ({e.status.name}; is the worker running?); "
                "an action may still be applied: check the case before retrying",
            )
        if e.status in _TRANSIENT_RPC:
            return unavailable(
                "temporal_unavailable", f"Temporal is unavailable ({e.status.name}): {e.message}"
            )
        return ApiError(502, "temporal_error", f"Temporal refused the call ({e.status.name})")
    return unavailable("temporal_unavailable", f"Temporal call failed: {type(e).__name__}")


async def temporal_call(call: Awaitable[T], *, timeout: float, what: str) -> T:
    """Await a Temporal client call with a hard deadline, so no request ever hangs.

    Args:
        call: the client call (already given its own `rpc_timeout`).
        timeout: seconds; `settings.temporal_rpc_timeout_seconds`.
        what: for the message, e.g. "the 'accept' update".
    """
    try:
        return await asyncio.wait_for(call, timeout)
    except TimeoutError:
        raise unavailable(
            "temporal_timeout",
            f"Temporal did not answer {what} within {timeout:g} s (is the worker running?); "
            "an action may still be applied: check the case before retrying",
        ) from None
    except RuntimeError as e:
        # A lazily connected client reports an unreachable server as a plain RuntimeError.
        if str(e).startswith("Failed client connect"):
            raise unavailable(
                "temporal_unavailable", "Temporal cannot be reached; try again later"
            ) from e
        raise
    except TemporalError as e:
        raise from_temporal(e) from e


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(x) for x in err.get("loc", ())]
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else None
        field = ".".join(loc[1:] if where else loc) or (where or "body")
        out.append(
            {"field": field, "location": where, "message": err.get("msg", ""),
             "type": err.get("type")}
        )
    return out


def validation_error(fields: list[dict[str, Any]], message: str | None = None) -> ApiError:
    """A 422 with field-level messages: `[{"field", "location", "message", "type"}]`."""
    text = message or "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return ApiError(422, "validation_error", text, fields=fields)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def allowed_methods(request: Request) -> list[str]:
    """Every method served at the request's path, for a 405's `Allow` (Starlette's own header
    names only the first route that matched the path, not its siblings): the methods the
    OpenAPI document lists for the path, and HEAD wherever GET is served."""
    methods: set[str] = set()
    for path, item in request.app.openapi().get("paths", {}).items():
        if _path_regex(path).match(request.url.path):
            methods |= {m.upper() for m in item if m in _HTTP_METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


@functools.cache
def _path_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def install(app: FastAPI) -> None:
    """Register the handlers, and the catch-all that turns a bug into a logged, generic 500."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return render(e)

    @app.exception_handler(NotAllowed)
    async def _rules(_: Request, e: NotAllowed) -> JSONResponse:
        return render(from_not_allowed(e))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return render(validation_error(_field_errors(e.errors())))

    @app.exception_handler(ValidationError)
    async def _invalid_later(_: Request, e: ValidationError) -> JSONResponse:
        # A model validated after the request's own parsing (a domain input built from it).
        return render(validation_error(_field_errors(e.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(e.status_code, "http_error")
        message = e.detail if isinstance(e.detail, str) else code.replace("_", " ")
        headers = dict(e.headers or {})
        if e.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return render(ApiError(e.status_code, code, message, headers=headers))

    @app.exception_handler(TemporalError)
    async def _temporal(_: Request, e: TemporalError) -> JSONResponse:
        return render(from_temporal(e))

    @app.exception_handler(asyncpg.exceptions.DataError)
    async def _bad_data(_: Request, e: Exception) -> JSONResponse:
        # Input PostgreSQL cannot store (e.g. U+0000 in a query string): the caller's mistake.
        log.info("refused data: %s: %s", type(e).__name__, e)
        return render(ApiError(422, "validation_error", "a value cannot be stored or searched: "
                                                        "remove control characters"))

    for exc in DB_DOWN:

        @app.exception_handler(exc)
        async def _db(_: Request, e: Exception) -> JSONResponse:
            log.warning("database unavailable: %s: %s", type(e).__name__, e)
            return render(unavailable("database_unavailable", "the database is unavailable"))

    app.add_middleware(CatchAllMiddleware)


class CatchAllMiddleware(HttpMiddleware):
    """Pure ASGI: an unhandled exception becomes a logged 500 with a generic message.

    Starlette's own handler for `Exception` re-raises after answering; this one does not, and
    it never says more than an incident id (the traceback goes to the log).
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("unhandled error, incident %s: %s %s", incident, scope.get("method"),
                          scope.get("path"))
            if started:
                raise
            response = JSONResponse(
                error_body("internal_error", f"an unexpected error occurred (incident {incident})"),
                status_code=500,
            )
            await response(scope, receive, send)
