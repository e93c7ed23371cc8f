"""The SQL of inspection rounds and findings (`inspection_rounds`, `inspection_findings`)."""

from __future__ import annotations

_ROUND_COLUMNS = """
    round_id, center, status, started_at, closes_at, seed, proportion_percent, min_units,
    register_units::text AS register_units, previous_round, mandatory::text AS mandatory,
    drawn::text AS drawn, closed_at, closed_by, units_with_findings::text AS units_with_findings
"""

SELECT_ROUNDS = f"""
SELECT {_ROUND_COLUMNS} FROM inspection_rounds
WHERE center = $1 AND ($2::text IS NULL OR status = $2)
ORDER BY started_at DESC, round_id DESC
LIMIT $3
"""

SELECT_ROUND = f"SELECT {_ROUND_COLUMNS} FROM inspection_rounds WHERE round_id = $1"

SELECT_FINDINGS = """
SELECT id AS finding_id, round_id, unit, category, grade, summary, submitted_by, submitted_at,
       number
FROM inspection_findings WHERE round_id = $1 ORDER BY submitted_at, id
"""

INSERT_FINDING = """
INSERT INTO inspection_findings (id, round_id, unit, category, grade, summary, facts, evidence,
                                 respondent_staff, submitted_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10)
ON CONFLICT (id) DO NOTHING
"""

SELECT_FINDING = """
SELECT id AS finding_id, round_id, unit, category, grade, summary, submitted_by, submitted_at,
       number, facts
FROM inspection_findings WHERE id = $1
"""

DELETE_UNFILED_FINDING = "DELETE FROM inspection_findings WHERE id = $1 AND number IS NULL"
