"""The case file's on-time mark follows the 24:00 rule (R-41): an acceptance at 23:59:59.9 on the
due day is on time in the timeline, as it is in the workflow and the figures."""

from __future__ import annotations

from datetime import timedelta

from domain.models import Action
from tests.workflows.helpers import HANDLER, act, running_worker, start_case, state


async def test_acceptance_in_the_last_second_of_the_due_day_reads_on_time(client, task_queue, env):
    from api.timeline.build import build_timeline  # the API's own assembly, as auditors read it

    async with running_worker(client, task_queue):
        h = await start_case(client, task_queue, received_at=await env.get_current_time())
        acceptance = next(d for d in (await state(h)).deadlines if d.kind.value == "acceptance")
        await env.sleep(acceptance.due_at - await env.get_current_time() + timedelta(milliseconds=900))
        await act(h, Action.ACCEPT, HANDLER, route="self")
        await env.sleep(timedelta(seconds=1))
        timeline = await build_timeline(await h.fetch_history())
        accept = next(e for e in timeline.entries if e.what == "accept")
        [change] = [d for d in accept.deadlines if d.kind == "acceptance"]
        assert (change.change, change.on_time) == ("met", True)
