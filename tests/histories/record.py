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
#: H2: patch `local-activities-2026-11`).
PREFIX = "H2"
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
    return h  # callback window runs out: no response


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
    await act(h, Action.GIVE_FEEDBACK, HANDLER, message="部分成立", appeal_route="可申诉")
    await act(h, Action.RECORD_SATISFACTION, COMPLAINANT, rating="satisfied")
    return h


async def duplicate(env, c):
    p = await start_case(c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-PRIMARY")
    d = await start_case(c, TQ, received_at=await env.get_current_time(), number=f"{PREFIX}-DUPLICATE")
    await act(d, Action.LINK_DUPLICATE, HANDLER, primary=p.id)
    await act(p, Action.FORWARD, HANDLER, to="市市场监管局", reason="职责")
    return d, p


async def main() -> None:
    env = await start_time_skipping()
    async with running_worker(env.client, TQ):
        handles = [
            await referral_no_response(env, env.client),
            await rejected(env, env.client),
            await appeal_rehandle(env, env.client),
            *(await duplicate(env, env.client)),
        ]
        for h in handles:
            await h.result()
            history = await h.fetch_history()
            (HERE / f"{h.id}.json").write_text(history.to_json(), encoding="utf-8")
            print("recorded", h.id, len(history.events), "events")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
