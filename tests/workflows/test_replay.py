"""Replay every recorded history against the current workflow code (tests/histories/).

A failure here means a change would break cases that are already running: guard the change
with `workflow.patched()` instead of re-recording.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.complaint import ComplaintWorkflow

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


@pytest_asyncio.fixture(scope="module")
async def replay_failures() -> dict[str, Exception | None]:
    """Every history replayed by one replayer (one worker, not one per history: a third of the
    CPU); history file name -> the replay failure, or None."""

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in HISTORIES:
            yield WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))

    replayer = Replayer(workflows=[ComplaintWorkflow], data_converter=pydantic_data_converter)
    failures: dict[str, Exception | None] = {}
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            failures[result.history.workflow_id] = result.replay_failure
    return failures


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 5


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_recorded_history_replays_on_todays_workflow(
    path: Path, replay_failures: dict[str, Exception | None]
) -> None:
    failure = replay_failures[path.stem]
    assert failure is None, f"{path.name} no longer replays: {failure!r}"
