"""`/metrics`: the application's figures for Prometheus (prometheus-client), and the request
middleware that counts and times them.

Three sources, one answer:

- **From PostgreSQL, on scrape** (api/metrics_figures.py; cached `CACHE_SECONDS`, so several
  Prometheus servers or a fast interval cost one query round): open cases by status, overdue
  (red) and yellow cases as the supervision board counts them (R-29, R-30), the outbox backlog
  and the age of its oldest pending row, failed notifications, the reconciler's backlog
  (registered, workflow not started) and its age, the inspection pace per center (R-40).
  PostgreSQL down: `complaints_metrics_database_up 0`, the rest left out.
- **In the request path** (`MetricsMiddleware`): requests by route template (bounded labels,
  never a raw path), intakes and actions by outcome with their latencies, archive
  verifications that found a broken archive.
- **Temporal SDK client metrics** of the API process (requests, failures, latencies), from a
  `MetricBuffer` runtime (`sdk_runtime`) drained into prometheus-client on every scrape: the
  API runs several uvicorn processes on one port, which the SDK's own Prometheus server cannot.

Several uvicorn workers: set `PROMETHEUS_MULTIPROC_DIR` (docker-compose.yml does) and the
counters of every process are summed (prometheus-client's multiprocess mode).
No personal data: labels are route templates, action names, status codes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import Message, Receive, Scope, Send

import logs
from api.asgi import HttpMiddleware
from api.deps import ResourcesDep
from api.metrics_figures import FiguresCache, FiguresCollector

log = logging.getLogger("complaints.metrics")

router = APIRouter(tags=["health"])

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "complaints_http_requests", "HTTP requests answered, by route template.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "complaints_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
INTAKES = Counter(
    "complaints_intakes",
    "Intakes (POST /v1/complaints) by outcome: registered (201), refused (4xx), failed (5xx).",
    ["outcome"],
)
INTAKE_LATENCY = Histogram(
    "complaints_intake_duration_seconds", "Time to answer an intake.", buckets=LATENCY_BUCKETS
)
ACTIONS = Counter(
    "complaints_actions",
    "Handler actions (Workflow Updates) by action and outcome: done (200), refused (4xx), failed (5xx).",
    ["action", "outcome"],
)
ACTION_LATENCY = Histogram(
    "complaints_action_duration_seconds", "Time to answer an action.", ["action"], buckets=LATENCY_BUCKETS
)
VERIFICATIONS = Counter(
    "complaints_archive_verifications",
    "Archive verifications through the API by result: ok, failed (a broken hash, chain link or replay).",
    ["result"],
)

_ACTION = re.compile(r"^/v1/complaints/\{number\}/actions/(?P<action>[a-z0-9-]+)$")
_INTAKE_ROUTE = "/v1/complaints"
_VERIFY_ROUTE = "/v1/archive/{number}/verify"
#: The case a request path names (for the log lines: `logs.case_context`).
_CASE_PATH = re.compile(
    r"^/v1/(?:public/)?(?:complaints|archive)/(?P<number>[A-Za-z0-9][A-Za-z0-9._:-]{0,63})(?:/|$)"
)


def _outcome(status: int, ok: str) -> str:
    return ok if status < 400 else "refused" if status < 500 else "failed"


class MetricsMiddleware(HttpMiddleware):
    """Counts and times every request by route template; sets the log lines' case."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        m = _CASE_PATH.match(path)
        # for this request only (uvicorn writes its access line while the answer is sent)
        case_token = logs.set_case(m["number"] if m else None)
        # The intake's and the verification's answers (small JSON bodies) are read: the
        # intake's for its number (the log lines), the verification's for its result.
        read_body = (method == "POST" and path.rstrip("/") == _INTAKE_ROUTE) or (
            method == "GET" and path.startswith("/v1/archive/") and path.endswith("/verify")
        )
        start = time.perf_counter()
        status = 500
        held: list[Message] = []

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if read_body and status < 300:
                    held.append(message)  # until the body is read
                    return
            elif message["type"] == "http.response.body" and held:
                held.append(message)
                if message.get("more_body"):
                    return
                body = b"".join(h.get("body", b"") for h in held[1:])
                self._read(path, body)
                for h in held:
                    await send(h)
                held.clear()
                return
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            logs.reset_case(case_token)
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed = time.perf_counter() - start
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(elapsed)
            if method == "POST" and route == _INTAKE_ROUTE:
                INTAKES.labels(_outcome(status, "registered")).inc()
                INTAKE_LATENCY.observe(elapsed)
            elif method == "POST" and (a := _ACTION.match(route)):
                ACTIONS.labels(a["action"], _outcome(status, "done")).inc()
                ACTION_LATENCY.labels(a["action"]).observe(elapsed)
            drain_sdk_now_and_then()

    @staticmethod
    def _read(path: str, body: bytes) -> None:
        try:
            doc = json.loads(body)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        if path.endswith("/verify"):
            VERIFICATIONS.labels("ok" if doc.get("ok") is True else "failed").inc()
        elif isinstance(doc.get("number"), str):
            logs.set_case(doc["number"])


# ------------------------------------------------------------------ Temporal SDK metrics

_sdk_buffer: Any = None
#: The request path drains the SDK buffer at most this often (seconds); every scrape drains it.
SDK_DRAIN_SECONDS = 10.0
_sdk_counters: dict[str, Counter] = {}
_sdk_histograms: dict[str, Histogram] = {}
_SDK_NAME = re.compile(r"[^a-zA-Z0-9_]")


def sdk_runtime() -> Any:
    """A Temporal runtime whose metrics go to a buffer this module drains on every scrape, and
    whose core log lines go to Python logging (JSON, logs.py); the API's clients use it
    (`Runtime.set_default` in api/main.py's lifespan)."""
    global _sdk_buffer
    from temporalio.runtime import MetricBuffer, MetricBufferDurationFormat, Runtime, TelemetryConfig

    _sdk_buffer = MetricBuffer(100_000, MetricBufferDurationFormat.SECONDS)
    return Runtime(telemetry=TelemetryConfig(logging=logs.temporal_logging(), metrics=_sdk_buffer))


def drain_sdk(buffer: Any = None) -> int:
    """Move the buffered SDK updates into prometheus-client; returns how many there were.
    Counters keep their names (`temporal_request` -> `temporal_request_total`), durations are
    in seconds; gauges are left out (the API's client has none that matter)."""
    from temporalio.runtime import BUFFERED_METRIC_KIND_COUNTER, BUFFERED_METRIC_KIND_HISTOGRAM

    buffer = buffer or _sdk_buffer
    if buffer is None:
        return 0
    updates = buffer.retrieve_updates()
    for u in updates:
        name = _SDK_NAME.sub("_", u.metric.name)
        labels = {_SDK_NAME.sub("_", k): str(v) for k, v in sorted(u.attributes.items())}
        if u.metric.kind == BUFFERED_METRIC_KIND_COUNTER:
            counter = _sdk_counters.get(name)
            if counter is None:
                counter = _sdk_counters[name] = Counter(name, u.metric.description or name, sorted(labels))
            _child(counter, labels).inc(u.value)
        elif u.metric.kind == BUFFERED_METRIC_KIND_HISTOGRAM:
            hist = _sdk_histograms.get(name)
            if hist is None:
                hist = _sdk_histograms[name] = Histogram(
                    name, u.metric.description or name, sorted(labels), buckets=LATENCY_BUCKETS
                )
            _child(hist, labels).observe(u.value)
    return len(updates)


_last_drain = 0.0


def drain_sdk_now_and_then() -> None:
    """Drain the SDK buffer at most every `SDK_DRAIN_SECONDS`, from the request path: the
    client's metrics come from requests, so the buffer cannot fill while nobody scrapes."""
    global _last_drain
    now = time.monotonic()
    if _sdk_buffer is not None and now - _last_drain >= SDK_DRAIN_SECONDS:
        _last_drain = now
        drain_sdk()


def _child(metric: Any, labels: dict[str, str]) -> Any:
    names = metric._labelnames  # the label set is fixed by the first update of a metric
    return metric.labels(*(labels.get(n, "") for n in names)) if names else metric


# ------------------------------------------------------------------ the endpoint


def _process_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, resources: ResourcesDep) -> Response:
    """Prometheus text format: the process's counters, the SDK's, and the database figures."""
    cache: FiguresCache = request.app.state.metrics_cache
    figures = await cache.get(resources)
    drain_sdk()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))  # type: ignore[arg-type]
    body = _process_metrics() + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install(app: Any) -> None:
    """The middleware, the figures' cache and the `/metrics` route."""
    app.state.metrics_cache = FiguresCache()
    app.add_middleware(MetricsMiddleware)
    app.include_router(router)
