"""Access codes never reach a log (issue 13, R-06).

The code travels in the `X-Access-Code` header, which uvicorn does not log; a client that still
puts it into the URL (`?code=…`) is refused with 422 (`api.public.views.no_code_in_url`), but
the request line with the query string would already be in uvicorn's access log. This filter,
installed by `api.main.create_app` on uvicorn's loggers (so in every way the API is run: the
`uvicorn api.main:app` command of `make run` / scripts/run_stack.py and of docker-compose, with
any number of workers, with or without `--log-config`: uvicorn configures logging before it
imports the app, and a logger keeps its filters when logging is configured again), rewrites
the value of any `code`, `access_code` or `x-access-code` query parameter in a record's message
and arguments to `[redacted]`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: `?code=…` / `&access_code=…` (any case; also percent-encoded `=`) up to the next separator.
CODE_PARAM = re.compile(
    r"(?i)((?:^|[?&;\s])(?:code|access_code|access-code|x-access-code)(?:=|%3D))[^&;#\s\"']*"
)
REDACTED = "[redacted]"

#: The loggers uvicorn writes request lines and request errors to.
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn")


def redact(text: str) -> str:
    return CODE_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class AccessCodeFilter(logging.Filter):
    """Rewrites access codes out of a record (never drops the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


def install() -> None:
    """Put the filter on uvicorn's loggers (once; idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, AccessCodeFilter) for f in logger.filters):
            logger.addFilter(AccessCodeFilter())
