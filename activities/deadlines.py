"""Deadline computation as an activity, so each exact due instant is recorded in history and
replay never depends on calendar data that operators may later change (DESIGN.md, Deadlines)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from temporalio import activity

from domain import workdays
from domain.clocks import REMINDED
from domain.models import (
    ComputedDeadline,
    ComputeDeadlinesInput,
    ComputeDeadlinesResult,
    DeadlineSpec,
    LimitUnit,
)


def compute(spec: DeadlineSpec) -> ComputedDeadline:
    """The due instant of one deadline and the instant of its reminder, if any."""
    if spec.unit == LimitUnit.DAYS:  # the 30 days become 30 + N days from the start
        due = workdays.compute_due(spec.start, spec.amount + spec.extra_days, spec.unit.value)
    else:
        due = workdays.compute_due(spec.start, spec.amount, spec.unit.value)
        if spec.extra_days:  # a stage deadline moves by the approved days
            moved = workdays.compute_due(due.due_at, spec.extra_days, LimitUnit.DAYS.value)
            due = workdays.Computed(moved.due_at, due.provisional or moved.provisional)
    remind_at = None
    if spec.kind in REMINDED and spec.unit in (LimitUnit.WORKING_DAYS, LimitUnit.DAYS):
        candidate = workdays.reminder_instant(due.due_at)
        if candidate > spec.start:  # no reminder that would be due before the clock started
            remind_at = candidate
    return ComputedDeadline(
        kind=spec.kind, start=spec.start, due_at=due.due_at, remind_at=remind_at,
        provisional=due.provisional,
    )


_stamp: tuple[tuple[str, float], ...] | None = None


def _reload_if_holiday_files_changed() -> None:
    """Operators add `<year>.toml` while workers run: pick it up without a restart (R-43)."""
    global _stamp
    folder = workdays.holidays_dir()
    stamp = tuple(sorted((p.name, p.stat().st_mtime) for p in folder.glob("*.toml")))
    if _stamp is not None and stamp != _stamp:
        workdays.reload_calendar()
    _stamp = stamp


@activity.defn(name="compute_deadlines")
async def compute_deadlines(inp: ComputeDeadlinesInput) -> ComputeDeadlinesResult:
    _reload_if_holiday_files_changed()
    return ComputeDeadlinesResult(deadlines=[compute(s) for s in inp.specs])


async def recompute_all(client: object) -> int:
    """Signal `recompute-deadlines` to every running case (R-43: one command for all)."""
    from temporalio.client import Client

    assert isinstance(client, Client)
    count = 0
    query = 'WorkflowType="ComplaintWorkflow" AND ExecutionStatus="Running"'
    async for wf in client.list_workflows(query):
        await client.get_workflow_handle(wf.id).signal("recompute-deadlines", {})
        count += 1
    return count


#: Open (not archived) cases with at least one open provisional deadline, and those deadlines
#: (R-43). The read model keeps the last case state in `complaints.state` (jsonb).
COUNT_PROVISIONAL = """
SELECT count(DISTINCT c.number) AS cases, count(*) AS deadlines
FROM complaints c, jsonb_array_elements(coalesce(c.state->'deadlines', '[]'::jsonb)) d
WHERE c.status <> 'archived'
  AND d->>'state' = 'open' AND coalesce((d->>'provisional')::boolean, false)
"""


async def count_provisional(conn: object) -> tuple[int, int]:
    """(open cases, open deadlines) resting on fallback holiday data; `conn` an asyncpg one."""
    row = await conn.fetchrow(COUNT_PROVISIONAL)  # type: ignore[attr-defined]
    return int(row["cases"]), int(row["deadlines"])


async def _provisional_from_database(timeout: float = 10.0) -> tuple[int, int] | str:
    """The counts, or why the database could not be asked (nothing is started for this)."""
    import asyncpg

    from config import get_settings

    settings = get_settings()
    url = settings.database_url
    try:
        if not url:  # the embedded server: attach only if it is already running
            from db_server import _embedded_running, embedded_url

            pgdata = settings.data_dir.resolve() / "pg"
            if not _embedded_running(pgdata):
                return f"the embedded PostgreSQL under {pgdata} is not running"
            url = await asyncio.to_thread(embedded_url, settings.data_dir)
        conn = await asyncpg.connect(url, timeout=timeout)
    except Exception as e:  # noqa: BLE001 - any failure to connect is reported, not raised
        return f"{type(e).__name__}: {e}"
    try:
        return await count_provisional(conn)
    except Exception as e:  # noqa: BLE001 - e.g. the tables do not exist yet
        return f"{type(e).__name__}: {e}"
    finally:
        await conn.close()


def check(today: date, provisional: tuple[int, int] | str) -> tuple[list[str], int]:
    """The lines `check` prints and its exit status (1 when data is missing, R-43)."""
    lines = []
    first = workdays.first_date_without_data(today)
    if first is None:
        lines.append("official holiday data covers every year ahead")
    else:
        lines.append(f"first date without official holiday data: {first.isoformat()} "
                     f"(deadlines reaching it are provisional; add "
                     f"{workdays.holidays_dir() / f'{first.year}.toml'})")
    missing = workdays.missing_years(today)
    if missing:
        lines.append("WARNING: holiday data missing for " + ", ".join(map(str, missing))
                     + " (operators are warned from 1 November for next year)")
    if isinstance(provisional, str):
        lines.append(f"open cases with provisional deadlines: unknown, no database reachable "
                     f"({provisional})")
    else:
        cases, deadlines = provisional
        lines.append(f"open cases with provisional deadlines: {cases} ({deadlines} deadlines)")
    return lines, 1 if missing else 0


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m activities.deadlines",
        description="Deadline maintenance. After adding domain/holidays/<year>.toml, run "
        "`recompute --all` so every open case recomputes its provisional deadlines (R-43).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("recompute", help="signal recompute-deadlines")
    rec.add_argument("--all", action="store_true", required=True, help="every running case")
    sub.add_parser("check", help="name the first date without official holiday data, count "
                   "open cases with provisional deadlines, warn (from 1 November) when this or "
                   "next year's data is missing")
    args = parser.parse_args()

    if args.command == "check":
        lines, status = check(datetime.now(workdays.BEIJING).date(),
                              asyncio.run(_provisional_from_database()))
        print("\n".join(lines))
        raise SystemExit(status)

    async def run() -> int:
        from config import get_settings
        from temporal_client import connect

        return await recompute_all(await connect(get_settings()))

    print(f"recompute-deadlines sent to {asyncio.run(run())} running case(s)")


if __name__ == "__main__":
    _main()
