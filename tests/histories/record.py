"""Record full-case histories for the replay test: `python -m tests.histories.record`.

Run it once when a new workflow shape is added (never to "fix" a failing replay: a failing
replay means the change would break running cases; use `workflow.patched()` instead).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from domain.models import Action, Category, Measure
from tests.conftest import start_time_skipping
from tests.workflows.helpers import (
    COMPLAINANT,
    HANDLER,
    LEADER,
    SUPERVISOR,
    TAX,
    act,
    running_worker,
    start_case,
)

HERE = Path(__file__).parent
#: Prefix of the recorded workflow ids: bump it for each new workflow shape and keep the older
#: files, so the replay test covers cases started under every shape (H: regular activities;
#: H2: patch `local-activities-2026-11`; H3: patch `bounded-case-2026-12`, whose continued
#: case is recorded run by run as `H3-JOINT.run<n>`; H4: patch `local-delivery-2026-12`; H5: patch
#: `rectification-2026-12`, every decision with measures followed up, H5-RECTIFICATION reported,
#: sent back, overdue, reported again and accepted).
PREFIX = "H5"
TQ = "record-histories"


async def referral_no_response(env, c):
    h = await start_case(c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-REFERRAL")
    await act(h, Action.ACCEPT, HANDLER, route="referral")
    await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="转税务局")
    await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
    await act(h, Action.REQUEST_EXTENSION, TAX, days=5, reason="需调取材料")
    await h.signal("decide-extension", {"approved": True, "days": 5})
    await h.signal("escalate", {"reason": "not a source", "source": "aliens"})
    await env.sleep(timedelta(days=20))  # reminders, overdue escalation
    await act(
        h,
        Action.REPORT_RESULT,
        TAX,
        finding="substantiated",
        measures=[Measure.ORDER_TO_CORRECT],
        report="已整改",
    )
    await act(h, Action.GIVE_FEEDBACK, HANDLER, message="成立，已整改", appeal_route="可向上级申诉")
    await env.sleep(timedelta(days=10))  # the callback window runs out: no response; held
    await rectify(h, [Measure.ORDER_TO_CORRECT])
    return h


async def rectify(h, measures, actor=TAX):
    """The responsible unit reports the measures carried out; the handler accepts (R-37)."""
    await act(h, Action.REPORT_RECTIFICATION, actor, measures=measures, report="已落实", evidence=[1])
    await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True)


async def rectification(env, c):
    """整改落实: reported, sent back, overdue on the same clock, reported again, accepted, archived."""
    t = await env.get_current_time()
    h = await start_case(c, TQ, received_at=t, number=f"{PREFIX}-RECTIFICATION")
    await act(h, Action.ACCEPT, HANDLER, route="referral")
    await act(h, Action.SUBMIT_OPINION, HANDLER, handling_unit="tax-bureau", opinion="转税务局")
    await act(h, Action.APPROVE_OPINION, LEADER, approved=True)
    measures = [Measure.WRITTEN_WARNING, Measure.ORDER_TO_CORRECT]
    await act(h, Action.REPORT_RESULT, TAX, finding="substantiated", measures=measures, report="属实")
    await act(h, Action.GIVE_FEEDBACK, HANDLER, message="成立，责令整改", appeal_route="可申诉")
    await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="satisfied")  # archive held
    await act(h, Action.REPORT_RECTIFICATION, TAX, measures=measures, evidence=[1, 2], report="整改报告")
    await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=False, reason="缺少整改后的制度文件")
    await env.sleep(timedelta(days=30))  # reminder, overdue, escalated once
    await act(h, Action.REPORT_RECTIFICATION, TAX, measures=measures, evidence=[3], report="补充制度文件")
    await act(h, Action.REVIEW_RECTIFICATION, HANDLER, accepted=True)
    return h


async def rejected(env, c):
    h = await start_case(c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-REJECTED")
    await act(h, Action.REJECT, HANDLER, reason="不属于受理范围", basis="第三条", guidance="请向法院起诉")
    return h


async def appeal_rehandle(env, c):
    h = await start_case(
        c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-APPEAL", category=Category.RETALIATION
    )
    await act(h, Action.ACCEPT, HANDLER, route="self")
    await act(
        h, Action.REPORT_RESULT, HANDLER, finding="unsubstantiated", measures=[Measure.NONE], report="不成立"
    )
    await act(h, Action.GIVE_FEEDBACK, HANDLER, message="不成立", appeal_route="可申诉")
    await act(h, Action.APPEAL, COMPLAINANT, reason="不服")
    await act(h, Action.RESOLVE_SUPERVISION, SUPERVISOR, action="rehandle")
    await act(
        h,
        Action.REPORT_RESULT,
        HANDLER,
        finding="partially_substantiated",
        measures=[Measure.ORAL_WARNING],
        report="部分成立",
    )
    await rectify(h, [Measure.ORAL_WARNING], actor=HANDLER)
    await act(h, Action.GIVE_FEEDBACK, HANDLER, message="部分成立", appeal_route="可申诉")
    await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="satisfied")
    return h


async def duplicate(env, c):
    p = await start_case(c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-PRIMARY")
    d = await start_case(c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-DUPLICATE")
    await act(d, Action.LINK_DUPLICATE, HANDLER, primary=p.id)
    await act(p, Action.FORWARD, HANDLER, to="市市场监管局", reason="职责")
    return d, p


async def joint_continued(env, c):
    """A joint case with odd signals and many steps: it continues as new on the way."""
    h = await start_case(
        c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-JOINT", history_budget=150
    )
    await h.signal("escalate", args=[{"reason": "a"}, {"reason": "b"}])
    await h.signal("escalate", {"reason": "x", "sorce": "media"})
    await act(h, Action.ACCEPT, HANDLER, route="joint", units=["tax-bureau", "housing-bureau"])
    for i in range(40):
        await act(h, Action.RECORD_INVESTIGATION, TAX, kind="site_visit", note=f"第{i}次现场核查")
        # The time-skipping test server loses an Update that races a continue-as-new (a real
        # server hands it to the new run): give each run's end a moment.
        await asyncio.sleep(0.3)
    await act(h, Action.REPORT_RESULT, TAX, finding="substantiated", measures=[Measure.WRITTEN_WARNING],
              report="税务局部分属实")
    await act(h, Action.REQUEST_EXTENSION, HANDLER, days=5, reason="等待住建局")
    await h.signal("decide-extension", {"approved": True, "days": 5})
    await env.sleep(timedelta(days=10))  # overdue once, escalated once
    await act(h, Action.REPORT_RESULT, HANDLER, finding="partially_substantiated",
              measures=[Measure.ORDER_TO_CORRECT], report="综合意见")
    await act(h, Action.GIVE_FEEDBACK, HANDLER, message="部分成立", appeal_route="可申诉")
    await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="basically_satisfied")
    await rectify(h, [Measure.ORDER_TO_CORRECT])  # by the unit complained about
    return h


async def runs(c, h):
    """Every run of the workflow, oldest first: (suffix, history)."""
    out, run_id = [], None
    while True:
        history = await c.get_workflow_handle(h.id, run_id=run_id).fetch_history()
        out.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            break
    out.reverse()
    if len(out) == 1:
        return [("", out[0])]
    return [(f".run{i}", x) for i, x in enumerate(out, 1)]


async def main() -> None:
    env = await start_time_skipping()
    async with running_worker(env.client, TQ):
        handles = [
            await referral_no_response(env, env.client),
            await rejected(env, env.client),
            await appeal_rehandle(env, env.client),
            *(await duplicate(env, env.client)),
            await joint_continued(env, env.client),
            await rectification(env, env.client),
        ]
        for h in handles:
            await h.result()
            for suffix, history in await runs(env.client, h):
                (HERE / f"{h.id}{suffix}.json").write_text(history.to_json(), encoding="utf-8")
                print("recorded", h.id + suffix, len(history.events), "events")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
