"""The OpenAPI document, completed in one place with the answers every route can give.

Routes document their own answers; the shared edge adds what it may answer to any of them:

- 400 `bad_request`: a body that cannot be parsed (malformed JSON, broken multipart, too many
  form parts), on every operation that takes a body;
- 413 `payload_too_large` (`BodyLimitMiddleware`), on every operation that takes a body;
- 422 `validation_error`, on every operation with parameters or a body;
- a redirect (3xx) without a body;
- every error answer (4xx, 5xx) as `application/json` with the error model, also on the pages
  (`text/html`), whose parameter errors and outages are JSON like the rest of the API, while
  their own refusals (login form, invalid period) are pages: both are documented there.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import ErrorResponse

_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}

#: status -> description, added where a route does not document it.
BODY_ERRORS = {
    "400": "The body cannot be parsed (malformed JSON or multipart, too many form parts).",
    "413": "The body is larger than the limit (payload_too_large).",
}
INPUT_ERRORS = {"422": "Invalid body or parameters, with field-level messages."}

_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the shared answers to every operation of `doc` (in place); returns it."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorResponse" not in schemas:  # pragma: no cover - every app documents some error
        schemas.update(ErrorResponse.model_json_schema(ref_template="#/components/schemas/"
                                                       "{model}")["$defs"])
    for item in doc.get("paths", {}).values():
        for method, op in item.items():
            if method not in _METHODS:
                continue
            responses = op.setdefault("responses", {})
            extra: dict[str, str] = {}
            if "requestBody" in op:
                extra |= BODY_ERRORS | INPUT_ERRORS
            if op.get("parameters"):
                extra |= INPUT_ERRORS
            for status, description in extra.items():
                responses.setdefault(status, {"description": description})
            pages = any("text/html" in (a.get("content") or {})
                        for st, a in responses.items() if st[:1] in ("2", "3"))
            for status, answer in responses.items():
                if status[:1] == "3":  # the app's redirects (RedirectResponse) have no body
                    answer.pop("content", None)
                elif status[:1] in ("4", "5"):
                    content = answer.setdefault("content", {})
                    content.setdefault("application/json", {"schema": _ERROR_REF})
                    if pages:  # a page answers its own refusals with the page (login form)
                        content.setdefault("text/html", {"schema": {"type": "string"}})
    return doc


def install(app: FastAPI) -> None:
    """Serve the completed document at `/openapi.json` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version,
                description=app.description, routes=app.routes, tags=app.openapi_tags,
                servers=app.servers, separate_input_output_schemas=app.separate_input_output_schemas,
            ))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
