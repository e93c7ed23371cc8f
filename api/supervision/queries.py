"""The SQL of the supervision board (R-29, R-30)."""

from __future__ import annotations

#: R-40 pace: $1 center, $2 start of the Beijing year, $3 now. Rounds drawn this year, active
#: units of the register (inspected or not) and those no round drew this year.
INSPECTION_PACE = """
WITH rounds AS (
    SELECT drawn FROM inspection_rounds
    WHERE center = $1 AND started_at >= $2 AND started_at <= $3
), seen AS (
    SELECT DISTINCT jsonb_array_elements_text(drawn) AS unit FROM rounds
)
SELECT (SELECT count(*) FROM rounds) AS rounds,
       count(*) AS units,
       count(*) FILTER (WHERE u.code NOT IN (SELECT unit FROM seen)) AS units_not_inspected
FROM unit_register u WHERE u.center = $1 AND u.active
"""

# The board filters and sorts the open cases in the narrow `case_figures` projection and reads
# the wide read-model row (its escalations and clocks) only for the cases on the page; its
# counts come from the open-case rollup `figure_open` (migration 0017) and the days around now.
# Parameters: $1 center, $2 "soon" (`domain.workdays.yellow_until`: the latest due instant whose
# reminder has gone out), $3 now, $4 unit or NULL;
# the filtered queries add $5 level, $6 reason; the page $7 limit, $8 offset.
_BOARD_FILTER = """
FROM case_figures f
WHERE f.center = $1 AND f.status <> 'archived'
  AND (f.supervised OR f.overdue OR f.next_due <= $2)
  AND ($4::text IS NULL OR coalesce(f.handling_unit, '') = $4)
"""

#: red: marked overdue, or past the end of its nearest due instant (the mark lags if a worker is
#: down); `deadline_end` (migration 0007) is `domain.workdays.deadline_end`: 24:00 Beijing. A
#: case without a due instant is red only when marked.
_RED = "(f.overdue OR coalesce(deadline_end(f.next_due) <= $3, false))"

_LEVEL_FILTER = f"""
  AND ($5::text IS NULL
       OR ($5 = 'red' AND {_RED})
       OR ($5 = 'yellow' AND NOT {_RED} AND f.next_due <= $2)
       OR ($5 = 'none' AND NOT {_RED} AND (f.next_due IS NULL OR f.next_due > $2)))
  AND ($6::text IS NULL OR ($6 = 'overdue' AND f.overdue) OR ($6 = 'major' AND f.grade = 'major')
       OR EXISTS (SELECT 1 FROM complaints c,
                         jsonb_array_elements(coalesce(c.state->'escalations', '[]')) e
                  WHERE c.number = f.number AND e->>'source' = $6
                    AND e->>'resolved_at' IS NULL))
"""

# The days read exactly around now: from today to the day of "soon" (Beijing); the rollup has
# the others, where a day before today is past its end and a day after is not yet reminded.
_TODAY = "($3::timestamptz AT TIME ZONE 'Asia/Shanghai')::date"
_SOON_DAY = "($2::timestamptz AT TIME ZONE 'Asia/Shanghai')::date"
_LAST_EXACT = f"greatest({_TODAY}, {_SOON_DAY})"

BOARD_COUNTS = f"""
SELECT coalesce(sum(n) FILTER (WHERE board), 0)::int AS total,
       coalesce(sum(n) FILTER (WHERE board AND red), 0)::int AS red,
       coalesce(sum(n) FILTER (WHERE board AND yellow), 0)::int AS yellow,
       coalesce(sum(n) FILTER (WHERE board AND supervised), 0)::int AS supervised
FROM (
    SELECT r.cases AS n, r.supervised,
           r.overdue OR r.day < {_TODAY} AS red,
           NOT (r.overdue OR r.day < {_TODAY}) AND r.day <= {_SOON_DAY} AS yellow,
           r.supervised OR r.overdue OR r.day <= {_SOON_DAY} AS board
    FROM figure_open r
    WHERE r.center = $1 AND ($4::text IS NULL OR r.unit = $4)
      AND (r.day < {_TODAY} OR r.day > {_LAST_EXACT})
    UNION ALL
    SELECT 1, f.supervised, {_RED}, NOT {_RED} AND f.next_due <= $2, true
    {_BOARD_FILTER}
      AND f.next_due >= {_TODAY}::timestamp AT TIME ZONE 'Asia/Shanghai'
      AND f.next_due < ({_LAST_EXACT} + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
) s
"""

#: Without a level or reason the count is the board's total (from the rollup).
BOARD_COUNT_FILTERED = f"""
SELECT CASE WHEN $5::text IS NULL AND $6::text IS NULL
            THEN (SELECT total FROM ({BOARD_COUNTS}) t)
            ELSE (SELECT count(*)::int {_BOARD_FILTER}{_LEVEL_FILTER}) END
"""


def _segment(seg: int, where: str) -> str:
    """One stretch of the board's order, walked along the open-case index (center, next_due)."""
    return f"""(SELECT f.number, {seg} AS seg, f.next_due
      {_BOARD_FILTER}{_LEVEL_FILTER}
      AND {where}
      ORDER BY f.next_due, f.number LIMIT $7::int + $8::int)"""


#: The page: red (by due instant), then yellow (reminded; not past, so due after now less the
#: last second), then the later ones, then those without a due instant (these two only
#: supervised: the board's own filter; index `case_figures_supervised_idx`) — each stretch read
#: in index order and cut at the page's end.
BOARD_PAGE = f"""
SELECT c.number, c.status, c.category, c.grade, c.handling_unit, c.respondent_unit, c.summary,
       c.next_due, c.supervision_due, c.overdue, c.supervised,
       c.state->'escalations' AS escalations, c.state->'deadlines' AS deadlines
FROM (SELECT number, seg, next_due
      FROM ({_segment(0, _RED)}
            UNION ALL
            {_segment(1, f"NOT {_RED} AND f.next_due <= $2 AND f.next_due > $3 - interval '1 second'")}
            UNION ALL
            {_segment(2, f"f.supervised AND NOT {_RED} AND f.next_due > $2")}
            UNION ALL
            {_segment(3, f"f.supervised AND NOT {_RED} AND f.next_due IS NULL")}) u
      ORDER BY seg, next_due NULLS LAST, number
      LIMIT $7 OFFSET $8) page
JOIN complaints c ON c.number = page.number
ORDER BY page.seg, page.next_due NULLS LAST, page.number
"""
