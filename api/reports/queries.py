"""The SQL of the centers' reports (`center_reports`, migrations/0016_reports.sql)."""

from __future__ import annotations

#: Every center of the register, for the scheduled run (bounded).
SELECT_CENTERS = "SELECT code FROM centers ORDER BY code LIMIT $1"

SELECT_CENTER = "SELECT code, name, level, parent FROM centers WHERE code = $1"

SELECT_CHILDREN = "SELECT code FROM centers WHERE parent = $1 ORDER BY code"

_META = """id, center, parent, period, period_kind, period_start, period_end, generated_at,
           generated_by, sha256, figures_sha256, prev_sha256"""

#: The report of (center, kind, start), if made.
SELECT_EXISTING = f"""
SELECT {_META} FROM center_reports
WHERE center = $1 AND period_kind = $2 AND period_start = $3
"""

#: One report per (center, kind, start): a second writer finds the first one's row.
INSERT_REPORT = f"""
INSERT INTO center_reports (center, parent, period_kind, period, period_start, period_end,
                            generated_at, generated_by, figures, xlsx)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (center, period_kind, period_start) DO NOTHING
RETURNING {_META}
"""

SELECT_REPORT = f"SELECT {_META}, figures FROM center_reports WHERE id = $1"

SELECT_XLSX = "SELECT center, parent, period, sha256, xlsx FROM center_reports WHERE id = $1"

#: The reports $1 may read: its own center's and those delivered to it (its children's),
#: optionally one center ($2), one kind ($3), newest period first.
LIST_VISIBLE = f"""
SELECT {_META} FROM center_reports
WHERE (center = $1 OR parent = $1)
  AND ($2::text IS NULL OR center = $2)
  AND ($3::text IS NULL OR period_kind = $3)
ORDER BY period_start DESC, period_kind, center
LIMIT $4
"""

#: The children's reports of one period (the roll-up).
SELECT_CHILD_REPORTS = """
SELECT id, center, figures->'total' AS total FROM center_reports
WHERE parent = $1 AND period_kind = $2 AND period_start = $3
ORDER BY center
"""

#: The center's rounds drawn in [$2, $3).
SELECT_ROUNDS = """
SELECT round_id, status, drawn FROM inspection_rounds
WHERE center = $1 AND started_at >= $2 AND started_at < $3
ORDER BY started_at
"""

#: Findings submitted in [$2, $3) by the center's rounds, per unit; unresolved: filed and its
#: case not archived (R-40).
SELECT_FINDINGS = """
SELECT f.unit, count(*) AS findings,
       count(*) FILTER (WHERE f.number IS NOT NULL
                        AND c.status IS DISTINCT FROM 'archived') AS unresolved
FROM inspection_findings f
JOIN inspection_rounds r ON r.round_id = f.round_id
LEFT JOIN complaints c ON c.number = f.number
WHERE r.center = $1 AND f.submitted_at >= $2 AND f.submitted_at < $3
GROUP BY f.unit
ORDER BY count(*) DESC, f.unit
"""
