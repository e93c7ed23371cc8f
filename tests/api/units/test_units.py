"""`/v1/units`: the unit register the rounds draw from — list, read, add, change, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest_asyncio

from api.main import create_app
from config import Settings


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer dev-{who}"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(pg_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(), pool=pg_pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield client


async def test_register_is_seeded_from_the_jurisdiction_units_of_the_center(
    http: httpx.AsyncClient,
) -> None:
    r = await http.get("/v1/units", headers=auth("intake"))
    assert r.status_code == 200, r.text
    units = {u["code"]: u for u in r.json()["data"]}
    assert {"tax-bureau", "housing-bureau", "district-gov"} <= set(units)
    assert "town-gov" not in units  # the district center's unit, not this center's
    assert units["tax-bureau"]["name"] == "市税务局" and units["tax-bureau"]["active"]


async def test_add_change_and_filter_units(http: httpx.AsyncClient) -> None:
    body = {"name": "市市场监督管理局", "note": "2026年新增"}
    r = await http.put("/v1/units/market-bureau", json=body, headers=auth("handler"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["code"], made["name"], made["active"], made["inspect"], made["updated_by"]) == (
        "market-bureau", "市市场监督管理局", True, True, "handler-01")
    r = await http.put("/v1/units/market-bureau", json={**body, "inspect": False},
                       headers=auth("leader"))
    assert r.status_code == 200 and r.json()["inspect"] is False
    assert r.json()["updated_by"] == "leader-01" and r.json()["created_at"] == made["created_at"]
    r = await http.get("/v1/units", params={"inspect": "false"}, headers=auth("auditor"))
    assert [u["code"] for u in r.json()["data"]] == ["market-bureau"]
    r = await http.put("/v1/units/market-bureau", json={**body, "active": False},
                       headers=auth("leader"))
    r = await http.get("/v1/units", params={"active": "true"}, headers=auth("auditor"))
    assert "market-bureau" not in [u["code"] for u in r.json()["data"]]
    r = await http.get("/v1/units/market-bureau", headers=auth("supervisor"))
    assert r.status_code == 200 and r.json()["active"] is False


async def test_unit_register_refuses_other_roles_bad_input_and_unknown_units(http: httpx.AsyncClient) -> None:
    ok = {"name": "某局"}
    assert (await http.put("/v1/units/x-bureau", json=ok, headers=auth("supervisor"))
            ).status_code == 403
    assert (await http.put("/v1/units/x-bureau", json=ok, headers=auth("unit-tax"))
            ).status_code == 403
    assert (await http.put("/v1/units/x-bureau", json=ok)).status_code == 401
    assert (await http.put("/v1/units/-bad code", json=ok, headers=auth("handler"))
            ).status_code == 422
    assert (await http.put("/v1/units/x-bureau", json={"name": ""}, headers=auth("handler"))
            ).status_code == 422
    assert (await http.put("/v1/units/x-bureau", json={**ok, "extra": 1},
                           headers=auth("handler"))).status_code == 422
    r = await http.get("/v1/units/no-such-unit", headers=auth("handler"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
