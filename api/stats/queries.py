"""The SQL of the figures (R-36..R-39) and of the working-day table they count with.

The figures read the rollups of migration 0017, kept by triggers equal to the raw computation
over the narrow projections `case_figures` (one row per started case), `case_deadlines` (one
row per clock) and `case_events`; the open cases are counted in `case_figures` itself.
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
#: The handling-time rollup counts working days with the ordinals: recounted after a fill.
REBUILD_HANDLING_DAYS = "SELECT figure_rebuild('days')"
MIN_RECEIVED_YEAR = """
SELECT extract(year FROM min(received_at) AT TIME ZONE 'Asia/Shanghai')::int
FROM case_figures WHERE center = $1
"""

#: Key of the advisory lock serialising calendar fills ("workdays" in ASCII).
WORKDAYS_LOCK_KEY = 0x776F726B64617973

# ------------------------------------------------------------------ the figures
#
# The figures read the rollups of migration 0017 (`figure_cases`, `figure_clocks`, `figure_days`,
# `figure_repeats`), which triggers keep equal to the raw computation over `case_figures`,
# `case_deadlines` and `case_events` in the same transaction as every projection. A period is
# read as whole months (months before the current Beijing month: grain 'u', all categories and
# channels together, or 'm' when grouped by one of them) plus single days (grain 'd') at its
# edges. Parameters of every rollup query: $1 center, $2 handling unit
# ('' = the complaint office) or NULL (all), $3 grouping (`GroupBy` value), $4..$5 the first and
# last month read as months, $6..$7 and $8..$9 the day ranges read as days (empty when
# reversed).


def _key(row: str = "r", unit: str = "r.unit", month: str = "to_char(r.day, 'YYYY-MM')") -> str:
    """The group key of a row whose unit is `unit` and whose Beijing month is `month`."""
    return f"""CASE $3::text
        WHEN 'unit' THEN {unit}
        WHEN 'category' THEN {row}.category
        WHEN 'channel' THEN {row}.channel
        WHEN 'month' THEN {month}
        ELSE '' END"""


_PERIOD = """r.center = $1 AND ($2::text IS NULL OR r.unit = $2)
  AND ((r.grain = CASE WHEN $3 IN ('category', 'channel') THEN 'm' ELSE 'u' END
        AND r.day BETWEEN $4 AND $5)
       OR (r.grain = 'd' AND (r.day BETWEEN $6 AND $7 OR r.day BETWEEN $8 AND $9)))"""

#: The case and event counts per group (R-37..R-39): a group is listed when any case or event
#: of the period falls in it. `*_first_*`: the cases' first flagged days (see REPEATS).
CASE_COUNTS = f"""
SELECT {_key()} AS k,
       sum(registered)::int AS registered, sum(accepted)::int AS accepted,
       sum(concluded)::int AS concluded, sum(substantiated)::int AS substantiated,
       sum(resolved)::int AS resolved, sum(unsubstantiated)::int AS unsubstantiated,
       sum(answered)::int AS answered, sum(satisfied)::int AS satisfied,
       sum(basically_satisfied)::int AS basically_satisfied,
       sum(dissatisfied)::int AS dissatisfied,
       sum(overdue_deadlines)::int AS overdue_deadlines,
       sum(extension_days)::int AS extension_days, sum(replies)::int AS replies,
       sum(late_replies)::int AS late_replies, sum(replies_overdue)::int AS replies_overdue,
       sum(overdue_first_any)::int AS overdue_first_any,
       sum(overdue_first_unit)::int AS overdue_first_unit,
       sum(extended_first_any)::int AS extended_first_any,
       sum(extended_first_unit)::int AS extended_first_unit
FROM figure_cases r
WHERE {_PERIOD}
GROUP BY 1
HAVING sum(registered + accepted + concluded + callbacks + events) > 0
"""

#: On-time clocks per kind (R-36); $10 the kinds, $11 the Beijing day of now. On time: met
#: before the end of the due day, 24:00 Beijing (`deadline_end`, migration 0007). An open clock
#: not (yet) marked overdue counts as missed once its due day is over; the clocks due today are
#: TODAY_CLOCKS.
ON_TIME = f"""
SELECT {_key()} AS k, r.kind,
       sum(due + CASE WHEN r.day < $11 THEN open_unmarked ELSE 0 END)::int AS due,
       sum(on_time)::int AS on_time
FROM figure_clocks r
WHERE {_PERIOD} AND r.kind = ANY($10::text[])
GROUP BY 1, 2
HAVING sum(due + CASE WHEN r.day < $11 THEN open_unmarked ELSE 0 END) > 0
"""

#: The open clocks due today that are past their end by now, not yet marked overdue: $1 center,
#: $2 unit, $3 grouping, $4 start of today (Beijing), $5 end of today, $6 kinds, $7 now.
TODAY_CLOCKS = f"""
SELECT {_key("d", "coalesce(d.unit, '')", "d.settled_month")} AS k, d.kind,
       count(*)::int AS due
FROM case_deadlines d
WHERE d.center = $1 AND d.settled_at >= $4 AND d.settled_at < $5
  AND d.kind = ANY($6::text[]) AND d.state = 'open' AND NOT d.overdue
  AND deadline_end(d.due_at) <= $7
  AND ($2::text IS NULL OR coalesce(d.unit, '') = $2)
GROUP BY 1, 2
"""

#: The handling time (R-39, R-41) as a histogram: concluded cases per key and working days.
HANDLING_DAYS = f"""
SELECT {_key()} AS k, wd, sum(cases)::int AS cases
FROM figure_days r
WHERE {_PERIOD}
GROUP BY 1, 2
"""

#: The distinct-case counts, exact: a case counts once per group, on its first flagged day in
#: the group within the period. First flagged days of a case are summed in CASE_COUNTS; a later
#: one (a row here) counts when the case's previous flagged day lies before the period (or, by
#: month, before the month): `prev_any` per case (totals, category, channel, month), `prev_unit`
#: per case and unit (by unit, or limited to one unit). $4, $5 the period's first and last day.
REPEATS = f"""
SELECT k, what,
       count(*) FILTER (WHERE rep AND prev_any < bound)::int AS any_group,
       count(*) FILTER (WHERE rep AND prev_any < $4)::int AS any_total,
       count(*) FILTER (WHERE prev_unit < bound)::int AS unit_group,
       count(*) FILTER (WHERE prev_unit < $4)::int AS unit_total
FROM (SELECT {_key()} AS k, r.what, r.rep, r.prev_any, r.prev_unit,
             CASE WHEN $3 = 'month' THEN greatest($4, date_trunc('month', r.day)::date)
                  ELSE $4 END AS bound
      FROM figure_repeats r
      WHERE r.center = $1 AND r.day BETWEEN $4 AND $5
        AND ($2::text IS NULL OR r.unit = $2)) s
GROUP BY 1, 2
"""

#: The days read exactly from `case_figures` around now (from today to the Beijing day of "soon",
#: the last due instant reminded; a few days at most): $3 soon, $4 now. Every other day of the
#: open cases comes from the rollup `figure_open`, where a day before today is past its end
#: (red) and a day after these is neither past nor reminded.
TODAY = "($4::timestamptz AT TIME ZONE 'Asia/Shanghai')::date"
LAST_EXACT = f"greatest({TODAY}, ($3::timestamptz AT TIME ZONE 'Asia/Shanghai')::date)"
EXACT_DAYS = f"""f.next_due >= {TODAY}::timestamp AT TIME ZONE 'Asia/Shanghai'
  AND f.next_due < ({LAST_EXACT} + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'"""
ROLLED_DAYS = f"(r.day < {TODAY} OR r.day > {LAST_EXACT})"

#: Open cases now by status and warning level; $1 center, $2 unit or NULL, $3 "soon"
#: (`domain.workdays.yellow_until`: the latest due instant whose reminder has gone out), $4
#: now. Red: marked overdue or past the end of the nearest due instant (`deadline_end`: 24:00
#: Beijing for a day deadline); yellow: reminded.
OPEN_CASES = f"""
SELECT status, level, sum(n)::int AS n
FROM (
    SELECT r.status,
           CASE WHEN r.overdue OR r.day < {TODAY} THEN 'red'
                WHEN r.day <= ($3::timestamptz AT TIME ZONE 'Asia/Shanghai')::date THEN 'yellow'
                ELSE 'green' END AS level,
           r.cases AS n
    FROM figure_open r
    WHERE r.center = $1 AND ($2::text IS NULL OR r.unit = $2) AND {ROLLED_DAYS}
    UNION ALL
    SELECT f.status,
           CASE WHEN f.overdue OR deadline_end(f.next_due) <= $4 THEN 'red'
                WHEN f.next_due <= $3 THEN 'yellow'
                ELSE 'green' END,
           1
    FROM case_figures f
    WHERE f.center = $1 AND f.status <> 'archived'
      AND ($2::text IS NULL OR coalesce(f.handling_unit, '') = $2) AND {EXACT_DAYS}
) s
GROUP BY 1, 2
"""

UNIT_NAMES = "SELECT code, name, active FROM unit_register WHERE center = $1"

#: The figure queries are planned for their actual period and grouping every time: a generic
#: plan (which PostgreSQL picks for a prepared statement after five runs) cannot know that a
#: year-long period covers most rows and turns hash joins into nested loops, 5x slower.
CUSTOM_PLAN = "SET LOCAL plan_cache_mode = force_custom_plan"
