"""The readable timeline of a case from its workflow history: one run's, or every run's of a
case that continued as new (`build_timeline`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from activities.chain import CaseRecord
from api.timeline.assemble import Assembler
from api.timeline.reader import HistoryReader, RunRead, bj
from api.timeline.schemas import ArchiveSeal, ChainTimeline, TimelineRun
from domain.models import Category, Grade, Outcome, Status


def gather(reads: Sequence[RunRead]) -> CaseRecord:
    """The case record over every run read: every snapshot, every list of projected records
    and the clocks every (small) Update result says it changed."""
    record = CaseRecord()
    for r in reads:
        for snap in r.snapshots:
            record.add_snapshot(snap)
        for events in r.records:
            record.add_records(events, whole=True)
        for res in r.results:
            record.add_deadlines(res.get("deadlines") or [], res["version"])
            record.add_records(res.get("records") or [])  # seen at once, before the projection
    return record


async def build_timeline(
    history: WorkflowHistory | Sequence[WorkflowHistory],
    *,
    source: str = "temporal",
    converter: DataConverter = pydantic_data_converter,
    archive: ArchiveSeal | None = None,
    complete: bool = True,
) -> ChainTimeline:
    """The readable timeline of one case from its workflow history: one run's, or every run's
    of a case that continued as new (oldest first, as `fetch_chain` gives them).

    Args:
        history: the history, fetched (`handle.fetch_history()`) or from an archive
            (`WorkflowHistory.from_json`); or the histories of the case's runs, oldest first.
        source: `temporal` or `archive`, shown on the timeline.
        converter: the data converter the workflow's payloads were written with.
        archive: the archive's hash, when known from the archive row.
        complete: False when earlier runs could not be read (shown on the timeline).
    """
    histories = [history] if isinstance(history, WorkflowHistory) else list(history)
    if not histories:
        raise ValueError("no history")
    reader = HistoryReader(converter)
    reads = [await reader.read(h.events, run=i) for i, h in enumerate(histories, start=1)]
    record = gather(reads)
    entries = Assembler(reads, record).build()
    first, last = reads[0], reads[-1]
    snap, start = record.newest or {}, first.start
    # The bounded case answers Updates with a small result: it may be newer than any snapshot.
    newer = [x for r in reads for x in r.results if x["version"] > snap.get("version", -1)]
    head = max(newer, key=lambda x: x["version"]) if newer else {}

    def pick(name: str, default: Any = None) -> Any:
        return head.get(name, snap.get(name, start.get(name, default)))

    status = Status(pick("status", Status.REGISTERED.value))
    category = Category(pick("category", Category.OTHER.value))
    found = next((r.archive for r in reversed(reads) if r.archive and r.archive.get("sha256")), None)
    if archive is None and found:
        archive = ArchiveSeal(
            sha256=found["sha256"], prev_sha256=found.get("prev_sha256"), archived_at=bj(found["archived_at"])
        )
    outcome = pick("outcome")
    runs = [
        TimelineRun(
            run=r.run,
            run_id=r.run_id,
            continued_from=r.continued_from,
            history_events=r.events,
            started_at=bj(r.started_at) if r.started_at else None,
            closed_at=bj(r.closed_at) if r.closed_at else None,
            ended=r.ended,
        )
        for r in reads
    ]
    return ChainTimeline(
        number=str(pick("number", histories[-1].workflow_id)),
        status=status,
        center=str(pick("center", "default")),
        appeal_center=snap.get("appeal_center"),
        outcome=Outcome(outcome) if outcome else None,
        category=category,
        grade=Grade(pick("grade", Grade.BASIC.value)),
        respondent_unit=str(pick("respondent_unit", "")),
        handling_unit=snap.get("handling_unit"),
        source=source,
        workflow_id=histories[-1].workflow_id,
        run_id=last.run_id,
        history_events=sum(r.events for r in reads),
        started_at=bj(first.started_at) if first.started_at else None,
        closed_at=bj(last.closed_at) if last.closed_at and last.ended != "continued-as-new" else None,
        archive=archive,
        generated_at=bj(datetime.now(UTC)),
        entries=entries,
        runs=runs,
        runs_complete=complete and first.continued_from is None,
    )
