"""The SQL of the figures (R-36..R-39) and of the working-day table they count with.

Every figure query takes $1 center, $2 period start, $3 period end (exclusive), $4 handling
unit ('' = the complaint office) or NULL (all), $5 grouping (`GroupBy` value). They read the
narrow projections `case_figures` (f: one row per started case) and `case_deadlines` (d: one
row per clock), which triggers keep in step with `complaints`.
"""

from __future__ import annotations

# ------------------------------------------------------------------ the working-day table

SELECT_WORKDAY_YEARS = "SELECT year, digest FROM workday_years"
TAKE_WORKDAYS_LOCK = "SELECT pg_advisory_xact_lock($1)"
UPSERT_WORKDAY = """
INSERT INTO workdays (day, working, ordinal) SELECT d, w, 0 FROM unnest($1::date[], $2::bool[]) AS x(d, w)
ON CONFLICT (day) DO UPDATE SET working = EXCLUDED.working
"""
UPSERT_WORKDAY_YEAR = """
INSERT INTO workday_years (year, official, digest) VALUES ($1, $2, $3)
ON CONFLICT (year) DO UPDATE SET official = EXCLUDED.official, digest = EXCLUDED.digest,
                                 filled_at = now()
"""
RENUMBER_WORKDAYS = """
UPDATE workdays w SET ordinal = x.n
FROM (SELECT day, (sum(working::int) OVER (ORDER BY day))::int AS n FROM workdays) x
WHERE w.day = x.day AND w.ordinal <> x.n
"""
MIN_RECEIVED_YEAR = """
SELECT extract(year FROM min(received_at) AT TIME ZONE 'Asia/Shanghai')::int
FROM case_figures WHERE center = $1
"""

#: Key of the advisory lock serialising calendar fills ("workdays" in ASCII).
WORKDAYS_LOCK_KEY = 0x776F726B64617973

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
                        AND f.with_measures) AS resolved,
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

#: Open cases now by status and warning level; $1 center, $2 unit or NULL, $3 "soon"
#: (`domain.workdays.yellow_until`: the latest due instant whose reminder has gone out), $4
#: now. Red: marked overdue or past the end of the nearest due
#: instant (`deadline_end`: 24:00 Beijing for a day deadline).
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

UNIT_NAMES = "SELECT code, name, active FROM unit_register WHERE center = $1"

#: The figure queries are planned for their actual period and grouping every time: a generic
#: plan (which PostgreSQL picks for a prepared statement after five runs) cannot know that a
#: year-long period covers most rows and turns hash joins into nested loops, 5x slower.
CUSTOM_PLAN = "SET LOCAL plan_cache_mode = force_custom_plan"
