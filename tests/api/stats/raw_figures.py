"""The oracle of the figures: the raw computation over `case_figures`, `case_deadlines` and
`case_events` as `api/stats` ran it before the rollups of migration 0017 (issue 15), with R-37's
executed measures (`rectified`). tests/api/stats/test_rollups.py checks that the rollups give
exactly these figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from api.stats.schemas import GroupBy, OpenCases, StatsGroup, StatsOut
from api.stats.service import OFFICE_KEY, STAGES, Period, _Acc, fetch, soon_instant
from domain.models import Status

# ------------------------------------------------------------------ the figures

#: Counts are grouped by key only and summed into the totals here (a plain GROUP BY runs in
#: parallel, GROUPING SETS does not); the handling time comes as a histogram, from which
#: the average and the percentile are exact. Only the distinct-case counts need GROUPING SETS.


def _key(month: str, unit: str, row: str = "f") -> str:
    """The group key of a row whose own Beijing month is `month` and whose unit is `unit`."""
    return f"""CASE $5::text
        WHEN 'unit' THEN coalesce({unit}, '')
        WHEN 'category' THEN {row}.category
        WHEN 'channel' THEN {row}.channel
        WHEN 'month' THEN {month}
        ELSE '' END"""


def _unit_filter(unit: str) -> str:
    return f"($4::text IS NULL OR coalesce({unit}, '') = $4)"


def _count_cases(what: str) -> str:
    return f"""
SELECT {_key(f'f.{what}_month', 'f.handling_unit')} AS k, count(*) AS n
FROM case_figures f
WHERE f.center = $1 AND f.{what}_at >= $2 AND f.{what}_at < $3
  AND {_unit_filter('f.handling_unit')}
GROUP BY 1
"""


#: Cases received / accepted in the period (R-39).
COUNT_REGISTERED = _count_cases("received")
COUNT_ACCEPTED = _count_cases("accepted")

#: Concluded cases, resolution (R-37) and the handling time in working days (R-39, R-41) as
#: a histogram: one row per key and number of working days.
CONCLUDED = f"""
SELECT {_key('f.decided_month', 'f.handling_unit')} AS k,
       w_to.ordinal - w_from.ordinal AS wd,
       count(*) AS concluded,
       count(*) FILTER (WHERE f.finding IN ('substantiated', 'partially_substantiated'))
           AS substantiated,
       count(*) FILTER (WHERE f.finding IN ('substantiated', 'partially_substantiated')
                        AND f.with_measures AND f.rectified) AS resolved,
       count(*) FILTER (WHERE f.finding = 'unsubstantiated') AS unsubstantiated
FROM case_figures f
LEFT JOIN workdays w_from ON w_from.day = f.received_day
LEFT JOIN workdays w_to ON w_to.day = f.decided_day
WHERE f.center = $1 AND f.decided_at >= $2 AND f.decided_at < $3
  AND {_unit_filter('f.handling_unit')}
GROUP BY 1, 2
"""

#: On-time clocks per kind (R-36); $6 the kinds, $7 now. On time: met before the end of the
#: due day, 24:00 Beijing (`deadline_end`, migration 0007; domain.workdays.is_late).
ON_TIME = f"""
SELECT {_key('d.settled_month', 'd.unit', 'd')} AS k, d.kind,
       count(*) AS due,
       count(*) FILTER (WHERE d.state = 'met' AND d.closed_at < deadline_end(d.due_at))
           AS on_time
FROM case_deadlines d
WHERE d.center = $1 AND d.settled_at >= $2 AND d.settled_at < $3
  AND d.kind = ANY($6::text[])
  AND (d.state = 'met' OR d.overdue OR (d.state = 'open' AND deadline_end(d.due_at) <= $7))
  AND {_unit_filter('d.unit')}
GROUP BY 1, 2
"""

#: Answered callbacks (R-38), from the events.
SATISFACTION = f"""
SELECT k,
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied', 'dissatisfied'))
           AS answered,
       count(*) FILTER (WHERE rating = 'satisfied') AS satisfied,
       count(*) FILTER (WHERE rating = 'basically_satisfied') AS basically_satisfied,
       count(*) FILTER (WHERE rating = 'dissatisfied') AS dissatisfied
FROM (SELECT {_key('beijing_month(e.at)', 'f.handling_unit')} AS k,
             e.detail->>'rating' AS rating
      FROM case_events e JOIN case_figures f ON f.number = e.number
      WHERE e.action = 'record-satisfaction' AND e.at >= $2 AND e.at < $3
        AND f.center = $1 AND {_unit_filter('f.handling_unit')}) s
GROUP BY 1
"""

#: Overdue clocks, approved extensions and the respondents' replies, from the events. An
#: `overdue` event belongs to the unit that had the case while its clock ran (`case_deadlines.
#: unit`, frozen when the clock was settled: the latest clock of the event's kind started before
#: it, overdue ones first), like the clock's `on_time` figure (issue 15); the other events to
#: the case's handling unit.
EVENT_COUNTS = f"""
SELECT k, GROUPING(k) = 1 AS is_total,
       count(DISTINCT number) FILTER (WHERE stage_overdue) AS overdue_cases,
       count(*) FILTER (WHERE stage_overdue) AS overdue_deadlines,
       count(DISTINCT number) FILTER (WHERE extension) AS extended_cases,
       coalesce(sum(days) FILTER (WHERE extension), 0)::int AS extension_days,
       count(*) FILTER (WHERE reply) AS replies,
       count(*) FILTER (WHERE reply AND late) AS late_replies,
       count(*) FILTER (WHERE reply_overdue) AS replies_overdue
FROM (SELECT {_key('beijing_month(e.at)', 'u.unit')} AS k, e.number,
             e.action = 'overdue' AND e.detail->>'deadline' <> 'document_reply' AS stage_overdue,
             e.action = 'overdue' AND e.detail->>'deadline' = 'document_reply' AS reply_overdue,
             e.action = 'decide-extension' AND e.detail->>'approved' = 'true' AS extension,
             CASE WHEN e.action = 'decide-extension' AND jsonb_typeof(e.detail->'days') = 'number'
                  THEN (e.detail->>'days')::numeric::int END AS days,
             e.action = 'record-investigation'
                 AND e.detail->>'kind' = 'explanation_received' AS reply,
             e.detail->>'answered_late' = 'true' AS late
      FROM case_events e JOIN case_figures f ON f.number = e.number
      LEFT JOIN LATERAL (
          SELECT true AS found, d.unit FROM case_deadlines d
          WHERE e.action = 'overdue' AND d.number = e.number
            AND d.kind = e.detail->>'deadline' AND d.start_at <= e.at
          ORDER BY d.overdue DESC, d.start_at DESC, d.idx DESC
          LIMIT 1) clock ON true
      CROSS JOIN LATERAL (
          SELECT CASE WHEN clock.found THEN clock.unit ELSE f.handling_unit END AS unit) u
      WHERE e.action IN ('overdue', 'decide-extension', 'record-investigation')
        AND e.at >= $2 AND e.at < $3
        AND f.center = $1 AND {_unit_filter('u.unit')}) s
GROUP BY GROUPING SETS ((k), ())
"""


async def raw_stats(pool: asyncpg.Pool, *, center: str, period: Period, group_by: GroupBy,
                    unit: str | None, now: datetime) -> StatsOut:
    """`compute_stats` as it was: every figure straight from the projections."""
    args = (center, period.start, period.end, unit, group_by.value)
    registered = await fetch(pool, COUNT_REGISTERED, *args)
    accepted = await fetch(pool, COUNT_ACCEPTED, *args)
    concluded = await fetch(pool, CONCLUDED, *args)
    on_time = await fetch(pool, ON_TIME, *args, list(STAGES), now)
    satisfaction = await fetch(pool, SATISFACTION, *args)
    events = await fetch(pool, EVENT_COUNTS, *args)
    units = await pool.fetch("SELECT code, active FROM unit_register WHERE center = $1", center)
    total = _Acc()
    groups: dict[str, _Acc] = {}

    def both(row: Any) -> tuple[_Acc, _Acc]:
        return groups.setdefault(row["k"], _Acc()), total

    for name, rows in (("registered", registered), ("accepted", accepted)):
        for r in rows:
            for a in both(r):
                a.add(**{name: r["n"]})
    for r in concluded:
        for a in both(r):
            a.add(concluded=r["concluded"], substantiated=r["substantiated"],
                  resolved=r["resolved"], unsubstantiated=r["unsubstantiated"])
            if r["wd"] is not None:
                a.add_days(r["wd"], r["concluded"])
    for r in satisfaction:
        for a in both(r):
            a.add(**{k: v for k, v in r.items() if k != "k"})
    for r in on_time:
        for a in both(r):
            a.add_stage(r["kind"], r["due"], r["on_time"])
    for r in events:
        target = total if r["is_total"] else groups.setdefault(r["k"], _Acc())
        target.add(**{k: v for k, v in r.items() if k not in ("k", "is_total")})
    keys = set(groups) if group_by != GroupBy.NONE else set()
    if group_by == GroupBy.MONTH:
        keys |= set(period.months())
    if group_by == GroupBy.UNIT and unit is None:
        keys |= {r["code"] for r in units if r["active"]}
    ordered = sorted(keys, key=lambda k: (group_by == GroupBy.UNIT and k == OFFICE_KEY, k))
    return StatsOut(
        period_from=period.first, period_to=period.last, group_by=group_by, unit=unit,
        total=total.figures(),
        groups=[StatsGroup(key=k, figures=groups.get(k, _Acc()).figures()) for k in ordered],
        open=await raw_open(pool, center=center, unit=unit, now=now), generated_at=now,
    )


OPEN_CASES = """
SELECT status,
       CASE WHEN overdue OR deadline_end(next_due) <= $4 THEN 'red'
            WHEN next_due <= $3 THEN 'yellow'
            ELSE 'green' END AS level,
       count(*) AS n
FROM case_figures f
WHERE f.center = $1 AND f.status <> 'archived'
  AND ($2::text IS NULL OR coalesce(f.handling_unit, '') = $2)
GROUP BY 1, 2
"""


async def raw_open(pool: asyncpg.Pool, *, center: str, unit: str | None,
                   now: datetime) -> OpenCases:
    """The open cases now, counted case by case."""
    rows = await fetch(pool, OPEN_CASES, center, unit, soon_instant(now), now)
    by_level = {"red": 0, "yellow": 0, "green": 0}
    by_status: dict[str, dict[str, int]] = {}
    for r in rows:
        by_level[r["level"]] += r["n"]
        by_status.setdefault(r["status"], {"red": 0, "yellow": 0, "green": 0})[r["level"]] = r["n"]
    order = [s.value for s in Status]
    by_status = dict(sorted(by_status.items(), key=lambda kv: order.index(kv[0])
                            if kv[0] in order else len(order)))
    return OpenCases(total=sum(by_level.values()), by_level=by_level, by_status=by_status)


#: The supervision board's counts and order as they were (before the open-case rollup): $1
#: center, $2 soon, $3 now, $4 unit, $5 level, $6 reason.
BOARD = """
SELECT f.number,
       (f.overdue OR coalesce(deadline_end(f.next_due) <= $3, false)) AS red,
       NOT (f.overdue OR coalesce(deadline_end(f.next_due) <= $3, false))
           AND f.next_due <= $2 AS yellow,
       f.supervised
FROM case_figures f
WHERE f.center = $1 AND f.status <> 'archived'
  AND (f.supervised OR f.overdue OR f.next_due <= $2)
  AND ($4::text IS NULL OR coalesce(f.handling_unit, '') = $4)
ORDER BY 2 DESC, (f.next_due <= $2) DESC NULLS LAST, f.next_due ASC NULLS LAST, f.number
"""
