"""`SealWorkflow`: one round of sealing the archive's and the access log's chain heads with an
RFC 3161 trusted timestamp (可信时间戳, issue 13, R-35).

Started by the Temporal Schedule `chain-seals` (scripts/schedules.py) every
`seal_interval_minutes`; one activity, `seal_chain_heads` (activities/seal.py), does the work:
reads the heads, asks the timestamping authority, keeps the token in PostgreSQL and copies it
out. The workflow only retries it; its result (the sealed hashes, never personal data) stays in
the history.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

#: The authority may be slow or down for a while: retry for about an hour, then the next
#: scheduled round seals whatever this one could not.
SEAL_ACTIVITY: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=2),
    "schedule_to_close_timeout": timedelta(hours=1),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5),
                                maximum_interval=timedelta(minutes=5)),
}


@workflow.defn(name="SealWorkflow")
class SealWorkflow:
    @workflow.run
    async def run(self) -> Any:
        """Seal once; returns what the activity sealed (JSON)."""
        return await workflow.execute_activity("seal_chain_heads", **SEAL_ACTIVITY)
