"""Access codes (issue 13, R-06): in the `X-Access-Code` header, never in a URL or a log;
wrong codes throttled per case and per client (429 with Retry-After, state in PostgreSQL);
a lost code reissued by the center. Also the limits of actions and signals per account and
case (api/ratelimit.py). On the real stack (tests/stack.py), and the server's own access log
from `uvicorn api.main:app` run as `make run` and docker-compose run it."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from api import ratelimit
from config import ROOT
from tests.fixtures_dev import free_port
from tests.fixtures_pg import database_url_for
from tests.stack import Stack, auth, running_stack

WRONG = "WRONG234"


def url(number: str, path: str = "") -> str:
    return f"/v1/public/complaints/{number}{path}"


@asynccontextmanager
async def client_at(stack: Stack, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app as seen from another client address (the throttle counts per address)."""
    transport = httpx.ASGITransport(app=stack.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def code(value: str) -> dict[str, str]:
    return {"X-Access-Code": value}


def retry_after(r: httpx.Response) -> int:
    return int(r.headers["Retry-After"])


def window_left(window: float, elapsed: float) -> range:
    """The whole seconds a 429 may say when the first counted request of a `window` was made
    within the last `elapsed` seconds (rounded up, as `ratelimit.too_many` does)."""
    return range(max(1, math.floor(window - elapsed)), math.ceil(window) + 1)


async def rows(stack: Stack, scope: str, key: str) -> int:
    n = await stack.pool.fetchval(
        "SELECT count(*) FROM rate_events WHERE scope = $1 AND key = $2", scope, key)
    return int(n)


async def test_the_code_travels_in_a_header_and_a_code_in_the_url_is_refused(
    stack: Stack,
) -> None:
    case = await stack.register()
    n, right = case["number"], case["access_code"]
    async with client_at(stack, "198.51.100.1") as http:
        ok = await http.get(url(n), headers=code(right))
        assert ok.status_code == 200 and ok.json()["number"] == n
        for r in (await http.get(url(n), params={"code": right}),
                  await http.get(url(n), params={"access_code": right}, headers=code(right)),
                  await http.post(url(n, "/appeal"), params={"code": right},
                                  json={"reason": "不服"})):
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert "X-Access-Code" in error["message"] and right not in r.text
            assert error["fields"][0]["location"] == "query"
    # Refused before anything was looked up or counted.
    assert await rows(stack, "code-client", "198.51.100.1") == 0


async def test_a_thousand_wrong_codes_are_throttled_and_a_reissued_code_opens_the_case(
    stack: Stack,
) -> None:
    s = stack.settings
    case = await stack.register()
    n, old = case["number"], case["access_code"]
    async with client_at(stack, "203.0.113.7") as attacker:
        answers: list[httpx.Response] = []
        started = time.monotonic()
        for start in range(0, 1000, 50):  # 50 at a time, as a script would
            answers += await asyncio.gather(*(
                attacker.get(url(n), headers=code(f"{i:08d}")) for i in range(start, start + 50)
            ))
    elapsed = time.monotonic() - started
    statuses = Counter(r.status_code for r in answers)
    # Exactly the limit of wrong codes was compared, concurrency or not; the rest is 429.
    assert statuses == {404: s.code_failures_per_case, 429: 1000 - s.code_failures_per_case}
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.json()["error"]["code"] == "too_many_requests"
    # Retry when the first counted guess leaves the window: the window less the burst so far.
    assert retry_after(limited) in window_left(s.code_window_seconds, elapsed)
    # Bounded: the case's window holds its limit of rows, no more.
    assert await rows(stack, "code-case", n) == s.code_failures_per_case

    # While the case is throttled even its right code waits (from any client) ...
    async with client_at(stack, "192.0.2.55") as complainant:
        assert (await complainant.get(url(n), headers=code(old))).status_code == 429
        # ... so the complainant asks the center, which reissues the code.
        for who in ("tax", "leader", "auditor"):
            r = await stack.http.post(f"/v1/complaints/{n}/access-code", headers=auth(who))
            assert r.status_code == 403, (who, r.text)
        r = await stack.http.post(f"/v1/complaints/{n}/access-code", headers=auth("intake"))
        assert r.status_code == 200, r.text
        new = r.json()["access_code"]
        assert r.json()["number"] == n and new != old and len(new) == 8
        opened = await complainant.get(url(n), headers=code(new))
        assert opened.status_code == 200 and opened.json()["number"] == n
        assert (await complainant.get(url(n), headers=code(old))).status_code == 404
    logged = await stack.pool.fetch(
        "SELECT actor_id, actor_role FROM access_log WHERE number = $1 AND what = $2",
        n, "reissue-access-code")
    assert [(x["actor_id"], x["actor_role"]) for x in logged] == [("intake-01", "intake")]
    unknown = await stack.http.post("/v1/complaints/TS-20990101-99999/access-code",
                                    headers=auth("handler"))
    assert unknown.status_code == 404


async def test_one_client_guessing_across_cases_is_throttled(stack: Stack) -> None:
    s = stack.settings
    async with client_at(stack, "203.0.113.99") as http:
        started = time.monotonic()
        answers = [await http.get(url(f"TS-20990101-{i:05d}"), headers=code(WRONG))
                   for i in range(s.code_failures_per_client + 5)]
        elapsed = time.monotonic() - started
    statuses = [r.status_code for r in answers]
    assert statuses == [404] * s.code_failures_per_client + [429] * 5
    assert retry_after(answers[-1]) in window_left(s.code_window_seconds, elapsed)


async def test_an_account_flooding_actions_and_signals_gets_429(
    pg_pool: asyncpg.Pool, env: WorkflowEnvironment
) -> None:
    limits = {"actions_per_actor_case": 5, "actions_per_case": 8, "actions_per_actor": 12,
              "action_window_seconds": 60.0}
    async with running_stack(pg_pool, env, prefix="limits", **limits) as stack:
        a, b, c = [(await stack.register())["number"] for _ in range(3)]
        # One account on one case: invalid bodies count too (a flood is a flood).
        started = time.monotonic()
        flood = [await stack.act(a, "accept", "handler") for _ in range(6)]
        elapsed = time.monotonic() - started
        assert [r.status_code for r in flood] == [422] * 5 + [429]
        assert flood[-1].json()["error"]["code"] == "too_many_requests"
        assert retry_after(flood[-1]) in window_left(limits["action_window_seconds"], elapsed)
        valid = await stack.act(a, "accept", "handler", route="self")
        assert valid.status_code == 429  # refused before Temporal is asked
        assert (await stack.view(a))["status"] == "registered"
        # All accounts on one case: 8 a window; signals count like actions.
        signals = [await stack.http.post(f"/v1/complaints/{a}/signals/escalate", json={},
                                         headers=auth("supervisor")) for _ in range(4)]
        assert [r.status_code for r in signals] == [422, 422, 422, 429]
        # Another case is open to the same account, until the account's own limit.
        assert (await stack.act(b, "accept", "handler", route="self")).status_code == 200
        more = ([await stack.act(b, "accept", "handler", route="self") for _ in range(4)]
                + [await stack.act(c, "accept", "handler") for _ in range(3)])
        assert [r.status_code for r in more] == [409] * 4 + [422, 422, 429]
        leader = await stack.act(c, "accept", "leader", route="self")
        assert leader.status_code == 403  # the other accounts: as before


async def test_the_window_slides(stack: Stack) -> None:
    limit = [ratelimit.Limit("test", "slide", 2, 2.0)]
    assert await ratelimit.hit(stack.pool, limit) == 0.0
    await asyncio.sleep(1.0)
    assert await ratelimit.hit(stack.pool, limit) == 0.0
    wait = await ratelimit.hit(stack.pool, limit)  # full: until the first hit leaves the window
    assert 0.5 < wait <= 1.0
    await asyncio.sleep(wait + 0.05)
    assert await ratelimit.hit(stack.pool, limit) == 0.0
    # The first hit expired and was pruned; the second is still live (~1 s left), the new one too.
    assert await rows(stack, "test", "slide") == 2


async def test_the_code_never_reaches_the_server_log(
    stack: Stack, pg_admin_url: str, env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """`uvicorn api.main:app` as scripts/run_stack.py and docker-compose run it, on this
    module's database and Temporal server: its own output never holds a code."""
    case = await stack.register()
    n, right = case["number"], case["access_code"]
    database = await stack.pool.fetchval("SELECT current_database()")
    port = free_port()
    env_vars = {
        **os.environ,
        "COMPLAINTS_DATABASE_URL": database_url_for(pg_admin_url, database),
        "COMPLAINTS_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "COMPLAINTS_TASK_QUEUE": stack.settings.task_queue,
        "COMPLAINTS_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }
    out = tmp_path / "server.log"
    with out.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=ROOT, env=env_vars, stdout=sink, stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                for _ in range(300):
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert server.poll() is None, out.read_text()
                    await asyncio.sleep(0.1)
                answers = [
                    await http.get(url(n), headers=code(right)),
                    await http.get(url(n), headers=code(WRONG)),
                    await http.get(url(n), params={"code": right}),
                    await http.get(f"{url(n)}?x=1&Code={right}"),
                    await http.post(url(n, "/satisfaction"), params={"access_code": right},
                                    json={"rating": "satisfied"}),
                ]
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert [r.status_code for r in answers] == [200, 404, 422, 422, 422], [
        r.text for r in answers]
    log = out.read_text(encoding="utf-8", errors="replace")
    assert log.count(f"/v1/public/complaints/{n}") >= 5, log  # the access log is on
    for secret in (right, right.lower(), WRONG):
        assert secret not in log, log
