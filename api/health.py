"""`/healthz` (liveness) and `/readyz` (readiness: Temporal and PostgreSQL answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import RPCError

from api.deps import ResourcesDep
from api.errors import RETRY_AFTER_SECONDS, ApiError

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    """The process answers."""

    status: str = Field(default="ok", examples=["ok"], description="Always ok.")


class Readiness(BaseModel):
    """Whether the dependencies answer."""

    status: str = Field(description="ready or unavailable.", examples=["ready"])
    checks: dict[str, str] = Field(
        description="Per dependency: ok, or what is wrong.",
        examples=[{"temporal": "ok", "postgres": "ok"}],
    )


#: Readiness must answer fast even when a dependency hangs.
READY_DEADLINE_SECONDS = 2.0


@router.get("/healthz", summary="Liveness")
async def healthz() -> Liveness:
    """The process is up (always 200)."""
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is down (Retry-After)."}},
)
async def readyz(res: ResourcesDep) -> JSONResponse:
    """200 when Temporal and PostgreSQL both answer within 2 s, else 503 saying which is down."""
    deadline = min(READY_DEADLINE_SECONDS, res.settings.temporal_rpc_timeout_seconds)

    async def temporal() -> None:
        client = await res.get_client()
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=deadline)
        )

    async def postgres() -> None:
        pool = await res.get_pool()
        async with pool.acquire(timeout=deadline) as conn:
            await conn.fetchval("SELECT 1", timeout=deadline)

    names = ("temporal", "postgres")
    results = await asyncio.gather(*(_probe(f, deadline) for f in (temporal, postgres)))
    checks = dict(zip(names, results, strict=True))
    ready = all(v == "ok" for v in results)
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    headers = {} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503, headers=headers)


async def _probe(check: Callable[[], Awaitable[None]], deadline: float) -> str:
    try:
        await asyncio.wait_for(check(), deadline + 0.5)
    except TimeoutError:
        return f"unavailable: no answer within {deadline:g} s"
    except ApiError as e:
        return f"unavailable: {e.message}"
    except RPCError as e:
        return f"unavailable: {e.status.name}"
    except Exception as e:  # any failure means "not ready"; say what, not a traceback
        if str(e).startswith("Failed client connect"):
            return "unavailable: cannot connect"
        return f"unavailable: {type(e).__name__}"
    return "ok"
