"""History bytes and events per action over a 30-action case, against a do-nothing baseline.

    python -m bench.history [--investigations 20] [--cases 1]

A case's history is what Temporal stores, replays and caps (50 MB or 51,200 events, then it
terminates the workflow): each action must cost the history about the same whatever the case
already holds. On a Temporal dev server of its own (SQLite, a temporary directory) with the real
workflow and log-only activities in this process (PostgreSQL does not change the history), it
drives one referral case through 30 actions:

    accept (referral) → submit-opinion → approve-opinion → escalate (signal, leader)
    → request-extension (unit) → decide-extension (signal, leader)
    → record-investigation × N (the unit; a document request and its answer among them)
    → resolve-supervision (uphold) → report-result → give-feedback → record-satisfaction

and after each action, once the case has settled (its workflow tasks and activities done),
measures the history: events and bytes over every run of the case (continue-as-new starts a
run with the case carried in its input; the bytes of all runs count). The baseline, in the same
run on the same server: `BenchUpdates`, a workflow that receives the same messages with the same
payloads (each as an Update) and does nothing with them.

Printed: per action the events and bytes it added (case and baseline), then the mean bytes per
action over the first 10 and the last 10 actions (flat when the ratio is about 1), and the
totals.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from bench.common import header
from bench.stack import DevServer
from domain.models import (
    AcceptInput,
    Actor,
    ApproveOpinionInput,
    Category,
    Channel,
    ComplaintInput,
    DecideExtensionInput,
    EscalateInput,
    EscalationSource,
    Finding,
    Form,
    GiveFeedbackInput,
    Grade,
    InvestigationKind,
    Measure,
    Rating,
    RecordInvestigationInput,
    RecordSatisfactionInput,
    ReportResultInput,
    RequestExtensionInput,
    ResolveSupervisionInput,
    Role,
    Route,
    SubmitOpinionInput,
    SupervisionChoice,
)

HANDLER = Actor(id="handler-01", role=Role.HANDLER)
LEADER = Actor(id="leader-01", role=Role.LEADER)
SUPERVISOR = Actor(id="supervisor-01", role=Role.SUPERVISOR)
TAX = Actor(id="tax-01", role=Role.UNIT, unit="tax-bureau")
INTAKE = Actor(id="intake-01", role=Role.INTAKE)

#: A realistic investigation note (~300 characters of Chinese text).
NOTE = "调取窗口监控录像，询问当班工作人员及现场群众，核实投诉人所述情况基本属实。" * 8


@dataclass
class Step:
    name: str
    kind: str  # "update" | "signal"
    payload: Any
    #: For a signal: when the case shows it was applied (the handler ran).
    applied: Callable[[dict[str, Any]], bool] | None = None


def steps(investigations: int) -> list[Step]:
    kinds = [InvestigationKind.REQUEST_DOCUMENTS, InvestigationKind.EXPLANATION_RECEIVED] + [
        k for k in InvestigationKind if k not in (InvestigationKind.REQUEST_DOCUMENTS,
                                                  InvestigationKind.EXPLANATION_RECEIVED)]
    out = [
        Step("accept", "update", AcceptInput(route=Route.REFERRAL, actor=HANDLER)),
        Step("submit-opinion", "update", SubmitOpinionInput(
            handling_unit="tax-bureau", opinion="转某区税务局调查处理，十个工作日内报送结果。",
            actor=HANDLER)),
        Step("approve-opinion", "update", ApproveOpinionInput(approved=True, actor=LEADER)),
        Step("escalate", "signal", EscalateInput(reason="领导批示：媒体关注，从快办理。",
                                                 source=EscalationSource.LEADER, actor=LEADER),
             lambda s: bool(s.get("escalations"))),
        Step("request-extension", "update", RequestExtensionInput(
            days=5, reason="需调取三个月的监控录像并约谈多名工作人员。", actor=TAX)),
        Step("decide-extension", "signal", DecideExtensionInput(approved=True, days=5,
                                                                comment="同意", actor=LEADER),
             lambda s: s.get("extended_days", 0) > 0),
    ]
    for i in range(investigations):
        out.append(Step("record-investigation", "update", RecordInvestigationInput(
            kind=kinds[i % len(kinds)], note=f"第{i + 1}次：{NOTE}", party="某区税务局",
            actor=TAX)))
    out += [
        Step("resolve-supervision", "update", ResolveSupervisionInput(
            action=SupervisionChoice.UPHOLD, comment="督办意见已落实", actor=SUPERVISOR)),
        Step("report-result", "update", ReportResultInput(
            finding=Finding.SUBSTANTIATED, measures=[Measure.WRITTEN_WARNING],
            remedy="向投诉人赔礼道歉并当场办理。", responsible="对当班人员批评教育。",
            report="经调查，投诉反映情况属实。" * 10, actor=TAX)),
        Step("give-feedback", "update", GiveFeedbackInput(
            message="经调查，您反映的问题属实，已责令改正。", appeal_route="可向上级投诉中心申诉。",
            actor=HANDLER)),
        Step("record-satisfaction", "update", RecordSatisfactionInput(
            rating=Rating.SATISFIED, actor=HANDLER)),
    ]
    return out


def start_input() -> ComplaintInput:
    number = f"TS-HIST-{uuid.uuid4().hex[:10]}"
    return ComplaintInput(
        number=number, complainant_ref=f"cref-{uuid.uuid4().hex}", channel=Channel.HOTLINE,
        form=Form.WRITTEN, category=Category.ATTITUDE, grade=Grade.BASIC,
        respondent_unit="tax-bureau", respondent_unit_name="某区税务局",
        summary="窗口服务态度差 · 某区税务局", received_at=datetime.now(UTC),
        registered_by=INTAKE,
    )


async def figures(client: Client, workflow_id: str) -> tuple[int, int, int]:
    """(events, bytes, runs) over every run of the workflow id."""
    events = size = runs = 0
    async for w in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        runs += 1
        history = await client.get_workflow_handle(workflow_id, run_id=w.run_id).fetch_history()
        events += len(history.events)
        size += sum(e.ByteSize() for e in history.events)
    return events, size, runs


async def settle(handle: WorkflowHandle[Any, Any], timeout: float = 30.0) -> None:
    """Until the workflow has no pending workflow task nor activity and its history stopped
    growing (the outbox and read-model activities run after an Update answers)."""
    t0 = time.monotonic()
    last = -1
    while time.monotonic() - t0 < timeout:
        desc = await handle.describe()
        raw = desc.raw_description
        n = raw.workflow_execution_info.history_length
        busy = bool(raw.pending_activities) or raw.HasField("pending_workflow_task")
        if not busy and n == last:
            return
        last = n
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{handle.id} did not settle within {timeout:g} s")


async def current_run_number(client: Client, workflow_id: str) -> int:
    """How many runs the case has had (its `runs` in the state; 1 before issue 11)."""
    s = await client.get_workflow_handle(workflow_id).query("state")
    return int(s.get("runs", 1)) if isinstance(s, dict) else 1


async def visible(client: Client, workflow_id: str, runs: int, timeout: float = 10.0) -> None:
    """Until visibility lists at least `runs` runs of the workflow id (it lags a little)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        n = len([w async for w in client.list_workflows(f'WorkflowId = "{workflow_id}"')])
        if n >= runs:
            return
        await asyncio.sleep(0.1)


async def run_case(client: Client, task_queue: str, plan: list[Step]) -> list[tuple[int, int]]:
    """Drive one case through `plan`; the cumulative (events, bytes) after each step (index
    0: after registration)."""
    inp = start_input()
    await client.start_workflow("ComplaintWorkflow", inp, id=inp.number, task_queue=task_queue)
    handle = client.get_workflow_handle(inp.number)
    out = []
    await settle(handle)
    out.append((await figures(client, inp.number))[:2])
    for step in plan:
        handle = client.get_workflow_handle(inp.number)  # the newest run
        if step.kind == "update":
            await handle.execute_update(step.name, step.payload)
        else:
            await handle.signal(step.name, step.payload)
            t0 = time.monotonic()
            while step.applied is not None and not step.applied(
                    await handle.query("state")) and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.05)
        await settle(client.get_workflow_handle(inp.number))
        runs = await current_run_number(client, inp.number)
        await visible(client, inp.number, runs)
        events, size, runs = await figures(client, inp.number)
        out.append((events, size))
    final = await client.get_workflow_handle(inp.number).result()
    status = final.get("status") if isinstance(final, dict) else getattr(final, "status", None)
    print(f"   case {inp.number}: {len(plan)} actions, final status {status}, "
          f"runs {runs}")
    return out


async def run_baseline(client: Client, task_queue: str, plan: list[Step]) -> list[tuple[int, int]]:
    inp = start_input()
    wid = f"bench-updates-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow("BenchUpdates", inp, id=wid, task_queue=task_queue)
    out = []
    await settle(handle)
    out.append((await figures(client, wid))[:2])
    for step in plan:
        await handle.execute_update(step.name, step.payload)
        await settle(handle)
        out.append((await figures(client, wid))[:2])
    await handle.signal("finish")
    await handle.result()
    return out


def deltas(cum: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(b[0] - a[0], b[1] - a[1]) for a, b in zip(cum, cum[1:], strict=False)]


def report(plan: list[Step], case: list[list[tuple[int, int]]],
           base: list[list[tuple[int, int]]]) -> None:
    # The median over the cases of each action's cost.
    def med(runs: list[list[tuple[int, int]]]) -> list[tuple[float, float]]:
        per = [deltas(r) for r in runs]
        return [(statistics.median(p[i][0] for p in per), statistics.median(p[i][1] for p in per))
                for i in range(len(plan))]

    c, b = med(case), med(base)
    reg = statistics.median(r[0][1] for r in case), statistics.median(r[0][0] for r in case)
    print(f"   registration: case {reg[1]:.0f} events, {reg[0] / 1024:.1f} KB; baseline start "
          f"{statistics.median(r[0][1] for r in base) / 1024:.1f} KB")
    print("    #  action                 case events  case bytes   base events  base bytes")
    for i, step in enumerate(plan):
        print(f"   {i + 1:2d}  {step.name:22s} {c[i][0]:11.0f} {c[i][1]:11.0f}   "
              f"{b[i][0]:11.0f} {b[i][1]:11.0f}")
    n = len(plan)
    k = min(10, n // 2)
    first = statistics.fmean(x[1] for x in c[:k])
    last = statistics.fmean(x[1] for x in c[-k:])
    # The investigation steps are the same action repeated: the cleanest flatness measure.
    inv = [x[1] for s, x in zip(plan, c, strict=True) if s.name == "record-investigation"]
    bfirst = statistics.fmean(x[1] for x in b[:k])
    blast = statistics.fmean(x[1] for x in b[-k:])
    total_c = sum(x[1] for x in c)
    total_b = sum(x[1] for x in b)
    ev_c = sum(x[0] for x in c)
    ev_b = sum(x[0] for x in b)
    print(f"   per action, first {k} vs last {k}: case {first / 1024:.1f} → {last / 1024:.1f} KB "
          f"(×{last / first:.2f}); baseline {bfirst / 1024:.2f} → {blast / 1024:.2f} KB "
          f"(×{blast / bfirst:.2f})")
    if len(inv) >= 4:
        h = len(inv) // 2
        a, z = statistics.fmean(inv[:h]), statistics.fmean(inv[h:])
        print(f"   record-investigation, first {h} vs last {len(inv) - h}: {a / 1024:.1f} → "
              f"{z / 1024:.1f} KB (×{z / a:.2f})")
    # The last action archives the case: the archive activity's input and the workflow's
    # result carry the final case once each. Without it:
    before_archive = statistics.fmean(x[1] for x in c[-k - 1:-1])
    print(f"   per action, first {k} vs the {k} before the archiving one: {first / 1024:.1f} → "
          f"{before_archive / 1024:.1f} KB (×{before_archive / first:.2f}); the archiving "
          f"action itself: {c[-1][1] / 1024:.1f} KB")
    print(f"   HISTORY per action: case {total_c / n / 1024:.1f} KB and {ev_c / n:.1f} events; "
          f"baseline {total_b / n / 1024:.2f} KB and {ev_b / n:.1f} events; "
          f"ratio {total_c / total_b:.1f}× bytes, {ev_c / ev_b:.1f}× events")
    print(f"   whole case: {(total_c + reg[0]) / 1024:.0f} KB, {ev_c + reg[1]:.0f} events "
          f"(all runs)")


async def measure(server: DevServer, investigations: int, cases: int) -> None:
    from activities import build_activities
    from bench.noop_worker import BenchUpdates
    from workflows.complaint import ComplaintWorkflow

    client = await server.client()
    tq = f"bench-history-{uuid.uuid4().hex[:6]}"
    plan = steps(investigations)
    async with (
        Worker(client, task_queue=tq, workflows=[ComplaintWorkflow],
               activities=build_activities(None, client)),
        Worker(client, task_queue=tq + "-base", workflows=[BenchUpdates]),
    ):
        case_runs, base_runs = [], []
        for _ in range(cases):  # alternating, so that other users' load hits both alike
            base_runs.append(await run_baseline(client, tq + "-base", plan))
            case_runs.append(await run_case(client, tq, plan))
    report(plan, case_runs, base_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--investigations", type=int, default=20,
                        help="record-investigation steps (the case has 10 more actions)")
    parser.add_argument("--cases", type=int, default=1, help="cases (and baselines) measured")
    args = parser.parse_args()
    header(f"bench.history: history per action, {args.investigations + 10}-action case")
    root = Path(tempfile.mkdtemp(prefix="complaints-history-"))
    server = DevServer(root / "temporal.db", root / "temporal.log")
    try:
        server.start()
        asyncio.run(measure(server, args.investigations, args.cases))
    finally:
        server.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    header("bench.history done")


if __name__ == "__main__":
    main()
