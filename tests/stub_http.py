"""A test's stand-in for an outside HTTP service (the identity provider's JWKS and token
endpoint, a time-stamping authority, an SMS gateway, the API's health endpoint): a server on
127.0.0.1 in a daemon thread whose every answer comes from one function of the request.

    with StubServer(lambda request: (200, "application/json", b"{}"), "GET") as server:
        server.url("/certs")  # http://127.0.0.1:<port>/certs
    # closed: the port refuses connections from now on
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class StubRequest:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


#: A request -> (status, content type, body).
Answer = Callable[[StubRequest], tuple[int, str, bytes]]


class StubServer:
    """Answers the requests of `methods` (others get http.server's 501) with `answer`."""

    def __init__(self, answer: Answer, *methods: str) -> None:
        def respond(handler: BaseHTTPRequestHandler) -> None:
            size = int(handler.headers.get("Content-Length", "0"))
            request = StubRequest(handler.command, handler.path, handler.rfile.read(size),
                                  dict(handler.headers))
            status, content_type, body = answer(request)
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        def quiet(handler: BaseHTTPRequestHandler, *args: object) -> None:
            pass

        handler = type("Handler", (BaseHTTPRequestHandler,),
                       {"log_message": quiet, **{f"do_{m}": respond for m in methods}})
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def port(self) -> int:
        return int(self.http.server_address[1])

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
