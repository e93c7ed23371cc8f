"""A case's timeline for a caller: from Temporal (every run of the chain), else from the history
kept in its archive; 404 when the caller's center may not see the case (R-46)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import asyncpg
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from activities.archive import archived_runs
from activities.chain import fetch_chain
from api.centers.service import can_see
from api.errors import ApiError, not_found, temporal_call
from api.timeline.build import build_timeline
from api.timeline.queries import SELECT_ARCHIVED_HISTORY
from api.timeline.reader import bj
from api.timeline.schemas import ArchiveSeal, CaseTimeline

if TYPE_CHECKING:
    from api.auth import User
    from api.complaints.service import CaseService

#: The whole walk over a case's runs gets this many times one Temporal call's deadline.
CHAIN_DEADLINE_FACTOR = 10


async def archived_timeline(
    pool: asyncpg.Pool,
    number: str,
    user: User,
    converter: DataConverter = pydantic_data_converter,
) -> CaseTimeline:
    """The timeline from the history stored in the case's archive (404 if none)."""
    row = await pool.fetchrow(SELECT_ARCHIVED_HISTORY, number)
    if row is None or not can_see(user, row["center"], row["appeal_center"]) or not row["history"]:
        raise not_found()

    def parsed(raw: Any) -> Any:
        return json.loads(raw) if isinstance(raw, str) else raw

    runs = archived_runs({"history": parsed(row["history"]),
                          "previous_runs": parsed(row["previous_runs"])})
    histories = [WorkflowHistory.from_json(number, h) for _, h in runs]
    seal = ArchiveSeal(
        sha256=row["sha256"], prev_sha256=row["prev_sha256"], archived_at=bj(row["archived_at"])
    )
    return await build_timeline(histories, source="archive", converter=converter, archive=seal)


async def case_timeline(cases: CaseService, number: str, user: User) -> CaseTimeline:
    """The timeline of a case of the caller's center, from Temporal, else from its archive.

    No worker is needed: the history is read from the Temporal server, not queried.
    """
    converter = cases.client.data_converter
    try:
        # Each run's history is one call (with its own deadline); the walk is capped in runs.
        chain = await temporal_call(
            fetch_chain(cases.client, number, rpc_timeout=cases.rpc),
            timeout=cases.timeout * CHAIN_DEADLINE_FACTOR,
            what="the workflow history",
        )
    except ApiError as e:
        if e.http_status != 404:
            raise
        return await archived_timeline(cases.pool, number, user, converter)
    if not chain.histories[-1].events:
        return await archived_timeline(cases.pool, number, user, converter)
    timeline = await build_timeline(chain.histories, converter=converter, complete=chain.complete)
    if not can_see(user, timeline.center, timeline.appeal_center):
        raise not_found()
    return timeline
