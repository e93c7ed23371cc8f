"""Request body limit as a pure ASGI middleware (413 above `settings.max_body_bytes`)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.errors import error_body


@dataclass(frozen=True, slots=True)
class RouteLimit:
    """Another limit, with its own message, for the paths `pattern` matches (file uploads)."""

    pattern: re.Pattern[str]
    max_bytes: int
    message: str


class BodyLimitMiddleware(HttpMiddleware):
    """Refuse bodies larger than `max_bytes` (or the path's `RouteLimit`) with 413.

    A declared `Content-Length` above the limit is refused before the app runs; a body sent
    without one (chunked) is counted as it streams, and the read that crosses the limit raises
    a 413 `HTTPException`, which FastAPI lets through to the error handlers.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, route_limits: Sequence[RouteLimit] = ()
    ) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.route_limits = tuple(route_limits)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        max_bytes, message = self._limit(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > max_bytes:
            await self._refuse(send, message)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message_in = await receive()
            if message_in["type"] == "http.request":
                seen += len(message_in.get("body", b""))
                if seen > max_bytes:
                    raise HTTPException(413, message)
            return message_in

        await self.app(scope, counting_receive, send)

    def _limit(self, path: str) -> tuple[int, str]:
        for r in self.route_limits:
            if r.pattern.match(path):
                return r.max_bytes, r.message
        return self.max_bytes, f"the request body is larger than {self.max_bytes} bytes"

    async def _refuse(self, send: Send, message: str) -> None:
        body = json.dumps(error_body("payload_too_large", message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
