"""`worker.py` is SIGKILLed while many cases register and act at once (issue 11).

Unlike `test_worker_killed.py`, which kills the worker between two steps of one case, this kills
it in the middle of a burst: workflow tasks, the deadline local activities, the outbox and
read-model activities and the outbox sender are all in flight. A new worker takes over: every
case reaches its status, every action is applied once (the client retries with its
`Idempotency-Key`), every outbox entry exists once, nothing is delivered twice, and the read
model catches up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from domain.models import CaseState
from tests.faults.conftest import (
    RPC_TIMEOUT,
    SLACK,
    api,
    auth,
    ended,
    eventually,
    fault_settings,
    history_figures,
    intake_body,
    temporal_address,
    worker_child,
)
from tests.faults.test_worker_killed import delivered_keys

#: Cases registered before the burst (then accepted in it), and cases registered in it.
OPEN, NEW = 24, 12


async def test_worker_sigkilled_mid_burst_every_case_and_note_once(
    dev_env: WorkflowEnvironment, faults_db: tuple[str, asyncpg.Pool], task_queue: str,
    tmp_path: Path,
) -> None:
    url, pool = faults_db
    address = temporal_address(dev_env)
    first = worker_child(tmp_path, address=address, url=url, task_queue=task_queue,
                         name="worker-1")
    second = worker_child(tmp_path, address=address, url=url, task_queue=task_queue,
                          name="worker-2")
    with ended(first, second):
        first.start()
        async with api(fault_settings(url, task_queue), pool, dev_env.client) as http:

            async def register() -> httpx.Response:
                return await http.post("/v1/complaints", headers=auth("intake"),
                                       json=intake_body())

            answers = await asyncio.gather(*(register() for _ in range(OPEN)))
            assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
            numbers = [r.json()["number"] for r in answers]
            await eventually(
                lambda: pool.fetchval("SELECT count(*) FROM complaints WHERE number = ANY($1)"
                                      " AND version > 0", numbers),
                lambda n: n == OPEN, timeout=60, what="the cases projected before the burst")

            keys = {n: f"accept-{n}-{uuid.uuid4().hex[:8]}" for n in numbers}

            async def accept(number: str) -> httpx.Response:
                return await http.post(f"/v1/complaints/{number}/actions/accept",
                                       headers={**auth("handler"), "Idempotency-Key": keys[number]},
                                       json={"route": "self"})

            # The burst: accepts on every open case and new intakes, all at once ...
            accepts = [asyncio.create_task(accept(n)) for n in numbers]
            intakes = [asyncio.create_task(register()) for _ in range(NEW)]
            # ... and the worker dies as soon as the first of them has written its outbox.
            await eventually(
                lambda: pool.fetchval("SELECT count(*) FROM notifications WHERE kind = 'accepted'"
                                      " AND number = ANY($1)", numbers),
                lambda n: n >= 1, timeout=20, what="the burst under way")
            first.kill()
            done_before_kill = await pool.fetchval(
                "SELECT count(*) FROM complaints WHERE number = ANY($1) AND status = $2",
                numbers, "investigating")
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            accepted = await asyncio.gather(*accepts)
            registered = await asyncio.gather(*intakes)
            # Whatever could not finish answered within the API's deadline, and said so.
            assert loop.time() - t0 < 2 * (RPC_TIMEOUT + SLACK) + 5
            for r in accepted:
                assert r.status_code in (200, 503, 504), r.text
            for r in registered:
                assert r.status_code in (201, 503), r.text
            new_numbers = [r.json()["number"] for r in registered if r.status_code == 201]
            assert new_numbers, "no intake answered during the burst"

            second.start()

            # The clients retry the actions that did not answer, with the same key.
            async def retried(number: str) -> httpx.Response:
                return await eventually(lambda: accept(number), lambda r: r.status_code == 200,
                                        timeout=60, what=f"accept {number} after the restart")

            again = await asyncio.gather(*(retried(n) for n, r in zip(numbers, accepted,
                                                                       strict=True)
                                           if r.status_code != 200))
            assert all(r.json()["status"] == "investigating" for r in again)

            # Every case reached its status in the workflow, with each action once.
            for number in numbers + new_numbers:
                h = dev_env.client.get_workflow_handle(number)
                s = await eventually(lambda h=h: h.query("state", result_type=CaseState),
                                     lambda s: bool(s.actions), timeout=30,
                                     what=f"{number} registered")
                want = "investigating" if number in numbers else "registered"
                assert s.status.value == want, (number, s.status)
                counted = Counter(a.action for a in s.actions)
                assert counted == ({"register": 1, "accept": 1} if number in numbers
                                   else {"register": 1}), (number, counted)
                _, _, failures = await history_figures(h)
                assert not failures, (number, failures)

            # The read model catches up: every case with its status and its events once.
            everyone = numbers + new_numbers
            rows = await eventually(
                lambda: pool.fetch("SELECT number, status FROM complaints"
                                   " WHERE number = ANY($1) AND version > 0", everyone),
                lambda rows: {r["number"]: r["status"] for r in rows} == {
                    n: ("investigating" if n in numbers else "registered") for n in everyone},
                timeout=60, what="the read model caught up")
            assert len(rows) == len(everyone)
            expected_events = Counter({"register": len(everyone), "accept": len(numbers)})

            async def case_events() -> list[asyncpg.Record]:
                return await pool.fetch(
                    "SELECT number, action, count(*) AS n FROM case_events"
                    " WHERE number = ANY($1) GROUP BY number, action", everyone)

            try:
                events = await eventually(
                    case_events, lambda ev: Counter(e["action"] for e in ev) == expected_events,
                    timeout=30, what="every action in case_events")
            except AssertionError:
                rows = await pool.fetch("SELECT number, seq, action, at FROM case_events"
                                        " WHERE number = ANY($1) ORDER BY number, seq", numbers)
                have = {r["number"] for r in rows if r["action"] == "accept"}
                missing = [n for n in numbers if n not in have]
                detail = []
                for n in missing[:3]:
                    s = await dev_env.client.get_workflow_handle(n).query(
                        "state", result_type=CaseState)
                    detail.append((n, [(a.seq, a.action) for a in s.actions],
                                   [(r["seq"], r["action"]) for r in rows if r["number"] == n]))
                raise AssertionError(f"accept missing in case_events for {len(missing)} cases: "
                                     f"{detail}") from None
            assert all(e["n"] == 1 for e in events), [dict(e) for e in events if e["n"] != 1]

            # Every outbox entry exactly once: one acknowledgement per case, one acceptance per
            # accepted case (a second row with another key would be a duplicate).
            def outbox_complete(rows: list[asyncpg.Record]) -> bool:
                return Counter((r["number"], r["kind"]) for r in rows) == Counter(
                    [(n, "acknowledgement") for n in everyone]
                    + [(n, "accepted") for n in numbers])

            notes = await eventually(
                lambda: pool.fetch("SELECT number, kind, key FROM notifications"
                                   " WHERE number = ANY($1)", everyone),
                outbox_complete, timeout=60, what="the outbox complete, each entry once")
            assert len({n["key"] for n in notes}) == len(notes)
        second.stop()
    # Nothing went out twice (a row the dead sender had claimed waits for its lease to end).
    sent = delivered_keys(first.log, second.log)
    assert sent, "no 'deliver <key> to' line in the workers' logs"
    assert max(sent.values()) == 1, {k: v for k, v in sent.items() if v > 1}
    print(f"accepted before the kill: {done_before_kill}/{OPEN}; answered 200 in the burst: "
          f"{sum(r.status_code == 200 for r in accepted)}; intakes 201: {len(new_numbers)}/{NEW}")
