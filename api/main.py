"""The FastAPI app: `uvicorn api.main:app`, or `create_app(settings, pool=..., temporal_client=..)`.

The lifespan opens the PostgreSQL pool (`db.create_pool`) and a Temporal client with the
pydantic data converter, unless they were given. Neither being down stops the app from
starting: requests that need them answer 503 with Retry-After, and `/readyz` says which.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.runtime import Runtime

from api import errors, health, metrics, openapi
from api.archive import views as archive
from api.audit import views as audit
from api.centers import views as centers
from api.complaints import views as complaints
from api.dashboard import views as dashboard
from api.deps import Resources
from api.disclosure import views as disclosure
from api.evidence import views as evidence
from api.inspections import views as inspections
from api.middleware import BodyLimitMiddleware
from api.public import logfilter
from api.public import views as public
from api.reports import views as reports
from api.stats import views as stats
from api.supervision import views as supervision
from api.units import views as units
from api.web import views as web
from config import Settings, get_settings

log = logging.getLogger("complaints.api")

DESCRIPTION = """
行政效能投诉 — administrative-efficiency complaints. Each complaint is one Temporal workflow;
this API registers complaints, shows them, and turns handlers' actions into Workflow Updates.

**Authentication.** `Authorization: Bearer <token>`; tokens come from the token file. The dev
file ships `dev-intake`, `dev-handler`, `dev-leader`, `dev-supervisor`, `dev-auditor`,
`dev-unit-tax` (unit `tax-bureau`) and `dev-unit-housing` (unit `housing-bureau`). The public
paths take the complaint's access code instead.

**Errors** are always `{"error": {"code": "...", "message": "...", ...}}`: 401 no or unknown
token, 403 role not allowed, 404 unknown complaint, 409 not allowed in the current status (with
`status` and `allowed_actions`), 413 body too large, 422 invalid input (with `fields`), 503 a
dependency is down (with `Retry-After`).

**Confidentiality (R-32, R-33).** The complainant's identity lives only in PostgreSQL; handlers,
leaders, supervisors and auditors see it (every read is logged); handling units never do.

**A referral case**: `POST /v1/complaints` → `accept` (route `referral`) → `submit-opinion` →
`approve-opinion` (leader) → `report-result` (the unit) → `give-feedback` → `record-satisfaction`
→ archived.
"""

TAGS = [
    {"name": "complaints", "description": "Register, find and read cases."},
    {"name": "actions", "description": "Handler actions: each one is a Workflow Update."},
    {"name": "signals", "description": "Leader and supervisor decisions, sent as Signals."},
    {"name": "public", "description": "For the complainant, with the access code."},
    {"name": "stats", "description": "Efficiency figures (R-36..R-39)."},
    {"name": "health", "description": "Liveness and readiness."},
    {"name": "evidence", "description": "Evidence files of a case (R-03, R-32): upload, list, "
                                        "download (logged), share with the handling unit."},
    {"name": "centers", "description": "Complaint centers by level and where a complaint goes "
                                       "(R-46)."},
    {"name": "disclosure", "description": "Published results and unit figures (R-47)."},
    {"name": "archive", "description": "Archived case files (R-35): read (logged), verify, "
                                       "timeline from the archived history."},
    {"name": "audit", "description": "The access log: who read personal data, when, which case."},
    {"name": "supervision", "description": "督办台账 The supervision board: supervised and overdue "
                                           "cases, why, and their warning level (R-29, R-30)."},
    {"name": "units", "description": "单位名录 The unit register inspections draw from (R-40)."},
    {"name": "inspections", "description": "明查暗访 Inspection rounds: the draw, findings, closing "
                                           "(R-40)."},
    {"name": "dashboard", "description": "The leaders' dashboard page (server-rendered charts)."},
    {"name": "reports", "description": "分析汇总报上级 Each center's monthly, quarterly and yearly "
                                       "report to its parent center: JSON, workbook, printable page, "
                                       "roll-up."},
]


def create_app(
    settings: Settings | None = None,
    *,
    pool: asyncpg.Pool | None = None,
    temporal_client: Client | None = None,
) -> FastAPI:
    """Build the app.

    Args:
        settings: defaults to `config.get_settings()`.
        pool: an open asyncpg pool; when None, the app opens (and later closes) its own.
        temporal_client: a connected client using the pydantic data converter; when None, the
            app connects lazily to `settings.temporal_address`.
    """
    settings = settings or get_settings()
    resources = Resources(settings, pool=pool, client=temporal_client)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if temporal_client is None:  # the SDK's client metrics, served at /metrics (api/metrics.py)
            Runtime.set_default(metrics.sdk_runtime(), error_if_already_set=False)
        await resources.get_client()
        try:
            await resources.get_pool(timeout=None)  # the embedded server may need an initdb
        except errors.ApiError:
            log.warning("starting without PostgreSQL; it is retried on each request")
        yield
        await resources.close()

    app = FastAPI(
        title="Complaints API (行政效能投诉)",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.resources = resources
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       route_limits=evidence.body_limits(settings) + web.body_limits(settings))
    metrics.install(app)  # outermost: counts the 413s too
    for module in (complaints, public, stats, health, archive, audit, evidence, centers,
                   disclosure, supervision, units, inspections, dashboard, reports, web):
        app.include_router(module.router)
    app.mount("/static", web.static_files(), name="static")  # the workbench's htmx and CSS
    app.include_router(public.staff_router)  # reissue a lost access code (issue 13)
    logfilter.install()  # access codes never in uvicorn's logs (api/public/logfilter.py)
    openapi.install(app)
    return app


app = create_app()
