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
# the wide read-model row (its escalations and clocks) only for the cases on the page.
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
#: down); `deadline_end` (migration 0007) is `domain.workdays.deadline_end`: 24:00 Beijing.
_RED = "(f.overdue OR deadline_end(f.next_due) <= $3)"

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

BOARD_COUNTS = f"""
SELECT count(*) AS total,
       count(*) FILTER (WHERE {_RED}) AS red,
       count(*) FILTER (WHERE NOT {_RED} AND f.next_due <= $2) AS yellow,
       count(*) FILTER (WHERE f.supervised) AS supervised
{_BOARD_FILTER}"""

BOARD_COUNT_FILTERED = f"SELECT count(*) {_BOARD_FILTER}{_LEVEL_FILTER}"


def _order(row: str) -> str:
    red = _RED.replace("f.", f"{row}.")
    return (f"{red} DESC, ({row}.next_due <= $2) DESC NULLS LAST, {row}.next_due ASC NULLS LAST,"
            f" {row}.number")


BOARD_PAGE = f"""
SELECT c.number, c.status, c.category, c.grade, c.handling_unit, c.respondent_unit, c.summary,
       c.next_due, c.supervision_due, c.overdue, c.supervised,
       c.state->'escalations' AS escalations, c.state->'deadlines' AS deadlines
FROM (SELECT f.number
      {_BOARD_FILTER}{_LEVEL_FILTER}
      ORDER BY {_order("f")}
      LIMIT $7 OFFSET $8) page
JOIN complaints c ON c.number = page.number
ORDER BY {_order("c")}
"""
