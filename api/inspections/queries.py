"""The SQL of inspection rounds and findings (`inspection_rounds`, `inspection_findings`)."""

from __future__ import annotations

_ROUND_COLUMNS = """
    round_id, center, status, started_at, closes_at, seed, proportion_percent, min_units,
    register_units::text AS register_units, previous_round, mandatory::text AS mandatory,
    drawn::text AS drawn, closed_at, closed_by, units_with_findings::text AS units_with_findings,
    random_quota, random_units::text AS random_units, uncovered::text AS uncovered,
    exempted::text AS exempted, not_in_register::text AS not_in_register, scheduled_at, plan_seed
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

#: Is the unit in the center's register (active)?
SELECT_UNIT_ACTIVE = "SELECT active FROM unit_register WHERE center = $1 AND code = $2"

#: Does the unit have findings not yet resolved (its case not archived), in any round?
HAS_UNRESOLVED = """
SELECT EXISTS (
    SELECT 1 FROM inspection_findings f
    JOIN inspection_rounds r ON r.round_id = f.round_id
    LEFT JOIN complaints c ON c.number = f.number
    WHERE r.center = $1 AND f.unit = $2 AND f.number IS NOT NULL
      AND c.status IS DISTINCT FROM 'archived')
"""

INSERT_EXEMPTION = """
INSERT INTO inspection_exemptions (center, unit, reason, granted_by, valid_until)
VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))
RETURNING id, center, unit, reason, granted_by, granted_at, valid_until, revoked_at, revoked_by
"""

SELECT_EXEMPTIONS = """
SELECT id, center, unit, reason, granted_by, granted_at, valid_until, revoked_at, revoked_by
FROM inspection_exemptions WHERE center = $1
ORDER BY granted_at DESC, id DESC LIMIT $2
"""

REVOKE_EXEMPTION = """
UPDATE inspection_exemptions SET revoked_at = now(), revoked_by = $3
WHERE id = $1 AND center = $2 AND revoked_at IS NULL
RETURNING id, center, unit, reason, granted_by, granted_at, valid_until, revoked_at, revoked_by
"""
