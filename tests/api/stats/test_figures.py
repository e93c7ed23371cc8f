"""`GET /v1/stats` against tests/dataset.py, every figure worked out by hand below.

Period 2026-01-01 .. 2026-03-31 (Beijing). The cases (see dataset.py for every instant):

| case | unit    | category     | channel | received   | accepted   | decided     | finding, measures   |
|------|---------|--------------|---------|------------|------------|-------------|---------------------|
| C1   | tax     | attitude     | hotline | 01-05      | 01-06      | 01-13       | substantiated, 1 ✓  |
| C2   | tax     | inefficiency | web     | 02-12      | 02-13      | 03-02       | partially, none     |
| C3   | housing | attitude     | hotline | 01-20      | 01-21      | 03-10       | unsubstantiated     |
| C4   | office  | inefficiency | window  | 03-30      | 03-30      | 04-01 00:30 | (after the period)  |
| C5   | tax     | attitude     | letter  | 2025-12-30 | 2025-12-31 | 01-06       | substantiated, 2    |
| C6   | housing | inefficiency | web     | 03-02      | 03-03      | open: referred, overdue, supervised |
| C7   | office  | attitude     | hotline | 02-02      | —          | not accepted                      |
| C8   | another center's case: never counted                                                  |

✓ = the measures were carried out (rectification accepted, R-37); the test marks C1 so.

Clocks settled in the period (kind: case month unit on-time?):
acceptance: C1 Jan office ✓, C2 Feb office ✓, C3 Jan office ✓, C4 Mar office ✓,
            C6 Mar office ✓, C7 Feb office ✓                       → 6/6
opinion:    C1 Jan office ✓, C2 Feb office ✓, C3 Jan office ✓, C6 Mar office ✗ → 3/4
handling:   C1 Jan tax ✓, C2 Feb tax ✗ (due Sat 28 Feb, met 2 Mar), C3 Feb housing ✗ (due 3 Feb
            after the 5-day extension), C5 Jan tax ✓, C6 Mar housing ✗ (open, overdue) → 2/5
supervision: C6 Mar housing ✓                                       → 1/1
overall:    C1 Jan tax ✓, C2 Mar tax ✓ (met 2 Mar), C3 Feb housing ✗ (due 25 Feb), C5 Jan tax ✓
                                                                    → 3/4
all: 15/20. (C4's handling and overall were met at 00:30 on 1 Apr Beijing = 31 Mar UTC: April;
C5's acceptance and opinion were met in December 2025; C6's overall is due 2 Apr.)

Handling time (working days after the day of receipt up to the day of the decision):
C1 5 Jan → 13 Jan: 6, 7, 8, 9, 12, 13 = 6.
C2 12 Feb → 2 Mar: 13, Sat 14 (调休), [15–23 Spring Festival], 24, 25, 26, 27, Sat 28 (调休),
   2 Mar = 8 (Monday–Friday counting would say 12).
C3 20 Jan → 10 Mar: 21–23 (3), 26–30 (5), 2–6 Feb (5), 9–13 (5), Sat 14 (1), 24–27 (4),
   Sat 28 (1), 2–6 Mar (5), 9–10 (2) = 31.
C5 30 Dec → 6 Jan: 31 Dec, [1–3 Jan New Year], Sun 4 Jan (调休), 5, 6 = 4.
Average 49/4 = 12.25; 90th percentile (nearest rank) of [4, 6, 8, 31] = 31.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio

from api.dashboard.page import group_label
from api.main import create_app
from api.stats.schemas import GroupBy
from config import Settings
from tests.dataset import load

PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(pg_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    data = await load(pg_pool, uuid.uuid4().hex[:8])
    # C1's measure was carried out (the handler accepted the unit's rectification); C5's
    # two measures were decided but nothing says they were carried out.
    await pg_pool.execute("UPDATE case_figures SET rectified = true WHERE number = $1",
                          data["C1"].number)
    app = create_app(Settings(), pool=pg_pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield client


async def stats(http: httpx.AsyncClient, token: str = "dev-leader", **params: str) -> Any:
    r = await http.get("/v1/stats", params={**PERIOD, **params}, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def ratio(x: dict[str, Any]) -> tuple[int, int, float | None]:
    return x["count"], x["total"], x["rate"]


def stages(f: dict[str, Any]) -> dict[str, tuple[int, int, float | None]]:
    return {k: ratio(v) for k, v in f["on_time"]["stages"].items()}


def groups(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["key"]: g["figures"] for g in body["groups"]}


async def test_totals_of_every_figure(http: httpx.AsyncClient) -> None:
    t = (await stats(http))["total"]
    assert (t["registered"], t["accepted"], t["concluded"]) == (6, 5, 4)
    assert stages(t) == {
        "acceptance": (6, 6, 1.0), "opinion": (3, 4, 0.75), "handling": (2, 5, 0.4),
        "supervision": (1, 1, 1.0), "overall": (3, 4, 0.75),
    }
    assert ratio(t["on_time"]["all"]) == (15, 20, 0.75)
    # C1, C5 substantiated with measures, C2 partially with `none`; C3 unsubstantiated.
    # Only C1's measure was carried out (rectification accepted): C5's decided measures and C2's
    # `none` leave them unresolved.
    assert t["resolution"] == {"substantiated": 3, "resolved": 1, "unresolved": 2,
                               "unsubstantiated": 1, "rate": 0.3333}
    # R-38: C1 satisfied, C5 basically satisfied, C2 dissatisfied; C3's expired callback is no
    # answer; C8 is another center's.
    assert t["satisfaction"] == {"answered": 3, "satisfied": 1, "basically_satisfied": 1,
                                 "dissatisfied": 1, "rate": 0.6667}
    assert t["handling_days"] == {"cases": 4, "average": 12.25, "p90": 31}
    # Stage clocks overdue: C2 handling, C3 handling and overall, C6 opinion and handling.
    assert (t["overdue_cases"], t["overdue_deadlines"]) == (3, 5)
    # C3's 5 days approved; C6's refusal does not count.
    assert (t["extended_cases"], t["extension_days"]) == (1, 5)
    # C3: one reply late (26 Jan), one in time (5 Feb); one reply clock missed (25 Jan).
    assert t["respondent_replies"] == {"answered": 2, "late": 1, "late_rate": 0.5, "overdue": 1}


async def test_grouped_by_unit(http: httpx.AsyncClient) -> None:
    body = await stats(http, group_by="unit")
    g = groups(body)
    # The register's active units are listed even without figures; the office comes last.
    assert [x["key"] for x in body["groups"]] == [
        "district-gov", "housing-bureau", "tax-bureau", ""]
    # Codes only: the dashboard names the groups (the register's names, the office).
    assert all("label" not in x for x in body["groups"])
    names = {"tax-bureau": "市税务局"}
    assert group_label(GroupBy.UNIT, "tax-bureau", names) == "市税务局"
    assert group_label(GroupBy.UNIT, "", names).startswith("投诉中心自办")
    tax, housing, office, idle = g["tax-bureau"], g["housing-bureau"], g[""], g["district-gov"]
    assert [(x["registered"], x["accepted"], x["concluded"]) for x in (tax, housing, office, idle)] \
        == [(2, 2, 3), (2, 2, 1), (2, 1, 0), (0, 0, 0)]
    assert stages(office) == {"acceptance": (6, 6, 1.0), "opinion": (3, 4, 0.75),
                              "handling": (0, 0, None), "supervision": (0, 0, None),
                              "overall": (0, 0, None)}
    assert ratio(office["on_time"]["all"]) == (9, 10, 0.9)
    assert stages(tax)["handling"] == (2, 3, 0.6667) and stages(tax)["overall"] == (3, 3, 1.0)
    assert ratio(tax["on_time"]["all"]) == (5, 6, 0.8333)
    assert (stages(housing)["handling"], stages(housing)["supervision"],
            stages(housing)["overall"]) == ((0, 2, 0.0), (1, 1, 1.0), (0, 1, 0.0))
    assert ratio(housing["on_time"]["all"]) == (1, 4, 0.25)
    assert tax["resolution"]["rate"] == 0.3333 and housing["resolution"]["rate"] is None
    assert housing["resolution"]["unsubstantiated"] == 1
    assert (tax["satisfaction"]["answered"], tax["satisfaction"]["rate"]) == (3, 0.6667)
    assert housing["satisfaction"]["rate"] is None
    assert tax["handling_days"] == {"cases": 3, "average": 6.0, "p90": 8}
    assert housing["handling_days"] == {"cases": 1, "average": 31.0, "p90": 31}
    assert (tax["overdue_cases"], tax["overdue_deadlines"]) == (1, 1)
    # An overdue clock is the unit's that had the case while it ran (issue 15): C6's late
    # opinion is the office's (as under on_time), its late handling the housing bureau's.
    assert (housing["overdue_cases"], housing["overdue_deadlines"]) == (2, 3)
    assert (office["overdue_cases"], office["overdue_deadlines"]) == (1, 1)
    r = await http.get("/v1/stats", params={**PERIOD, "unit": ""}, headers=auth("dev-leader"))
    assert (r.json()["total"]["overdue_cases"], r.json()["total"]["overdue_deadlines"]) == (1, 1)
    assert housing["extended_cases"] == 1 and tax["extended_cases"] == 0
    assert idle["on_time"]["all"] == {"total": 0, "count": 0, "rate": None}


async def test_grouped_by_month_in_beijing_time(http: httpx.AsyncClient) -> None:
    body = await stats(http, group_by="month")
    assert [x["key"] for x in body["groups"]] == ["2026-01", "2026-02", "2026-03"]
    assert [group_label(GroupBy.MONTH, x["key"], {}) for x in body["groups"]] == [
        "2026年1月", "2026年2月", "2026年3月"]
    jan, feb, mar = (groups(body)[k] for k in ("2026-01", "2026-02", "2026-03"))
    assert [(m["registered"], m["accepted"], m["concluded"]) for m in (jan, feb, mar)] == [
        (2, 2, 2), (2, 1, 0), (2, 2, 2)]
    assert [ratio(m["on_time"]["all"]) for m in (jan, feb, mar)] == [
        (8, 8, 1.0), (3, 6, 0.5), (4, 6, 0.6667)]
    assert stages(feb)["handling"] == (0, 2, 0.0) and stages(mar)["overall"] == (1, 1, 1.0)
    assert [m["handling_days"] for m in (jan, feb, mar)] == [
        {"cases": 2, "average": 5.0, "p90": 6},
        {"cases": 0, "average": None, "p90": None},
        {"cases": 2, "average": 19.5, "p90": 31}]
    assert [m["satisfaction"]["rate"] for m in (jan, feb, mar)] == [1.0, None, 0.0]
    assert [(m["overdue_cases"], m["overdue_deadlines"]) for m in (jan, feb, mar)] == [
        (0, 0), (2, 3), (1, 2)]
    assert [m["respondent_replies"]["answered"] for m in (jan, feb, mar)] == [1, 1, 0]
    # C4, decided at 00:30 on 1 April Beijing time, is in no month of the period.
    april = await stats(http, **{"from": "2026-04-01", "to": "2026-04-30"})
    assert april["total"]["concluded"] == 1
    assert stages(april["total"])["handling"] == (1, 1, 1.0)


async def test_grouped_by_category_and_channel(http: httpx.AsyncClient) -> None:
    cat = groups(await stats(http, group_by="category"))
    assert set(cat) == {"attitude", "inefficiency"}
    assert (cat["attitude"]["registered"], cat["attitude"]["concluded"]) == (3, 3)
    assert (cat["inefficiency"]["registered"], cat["inefficiency"]["concluded"]) == (3, 1)
    assert ratio(cat["attitude"]["on_time"]["all"]) == (9, 11, 0.8182)
    assert ratio(cat["inefficiency"]["on_time"]["all"]) == (6, 9, 0.6667)
    assert cat["attitude"]["handling_days"] == {"cases": 3, "average": 13.67, "p90": 31}
    ch = groups(await stats(http, group_by="channel"))
    assert {k: v["registered"] for k, v in ch.items()} == {
        "hotline": 3, "web": 2, "window": 1, "letter": 0}
    assert ch["letter"]["concluded"] == 1  # C5: received in 2025, decided in January
    assert ch["letter"]["satisfaction"]["basically_satisfied"] == 1
    assert ch["web"]["satisfaction"] == {"answered": 1, "satisfied": 0,
                                         "basically_satisfied": 0, "dissatisfied": 1, "rate": 0.0}


async def test_open_cases_by_status_and_level(http: httpx.AsyncClient) -> None:
    body = await stats(http)
    assert body["open"] == {"total": 1, "by_level": {"red": 1, "yellow": 0, "green": 0},
                            "by_status": {"referred": {"red": 1, "yellow": 0, "green": 0}}}


async def test_a_unit_sees_only_its_own_figures(http: httpx.AsyncClient) -> None:
    body = await stats(http, token="dev-unit-tax", group_by="unit")
    assert body["unit"] == "tax-bureau"
    assert [g["key"] for g in body["groups"]] == ["tax-bureau"]
    t = body["total"]
    assert (t["registered"], t["concluded"]) == (2, 3)
    assert ratio(t["on_time"]["all"]) == (5, 6, 0.8333)
    assert body["open"]["total"] == 0  # C6, the open case, is the housing bureau's
    r = await http.get("/v1/stats", params={**PERIOD, "unit": "housing-bureau"},
                       headers=auth("dev-unit-tax"))
    assert r.status_code == 403
    # Leaders may look at one unit.
    housing = await stats(http, unit="housing-bureau")
    assert (housing["total"]["registered"], housing["open"]["total"]) == (2, 1)


async def test_roles_and_bad_periods_are_refused(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/stats")).status_code == 401
    assert (await http.get("/v1/stats", headers=auth("dev-intake"))).status_code == 403
    for token in ("dev-handler", "dev-supervisor", "dev-auditor"):
        assert (await http.get("/v1/stats", params=PERIOD, headers=auth(token))).status_code == 200
    bad = [{"from": "2026-03-01", "to": "2026-02-01"}, {"from": "1999-12-31", "to": "2026-01-01"},
           {"from": "2026-01-01", "to": "9999-12-31"}, {"group_by": "weekday"},
           {"from": "2026-02-30"}]
    for params in bad:
        r = await http.get("/v1/stats", params=params, headers=auth("dev-leader"))
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == "validation_error"


async def test_working_day_calendar_is_filled_from_the_official_data(
    pg_pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    await stats(http)
    rows = await pg_pool.fetch(
        "SELECT day, working FROM workdays WHERE day IN ('2026-01-04', '2026-02-16', "
        "'2026-02-28', '2026-04-06') ORDER BY day")
    assert [(str(r["day"]), r["working"]) for r in rows] == [
        ("2026-01-04", True), ("2026-02-16", False), ("2026-02-28", True), ("2026-04-06", False)]
    years = await pg_pool.fetch("SELECT year, official FROM workday_years ORDER BY year")
    assert [r["year"] for r in years] == list(range(years[0]["year"], years[-1]["year"] + 1))
    assert {r["year"]: r["official"] for r in years}[2026] is True
