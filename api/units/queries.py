"""The SQL of the unit register (`unit_register`)."""

from __future__ import annotations

SELECT_UNITS = """
SELECT center, code, name, active, inspect, note, created_at, updated_at, updated_by
FROM unit_register
WHERE center = $1 AND ($2::boolean IS NULL OR active = $2)
  AND ($3::boolean IS NULL OR inspect = $3)
ORDER BY code
"""

SELECT_UNIT = """
SELECT center, code, name, active, inspect, note, created_at, updated_at, updated_by
FROM unit_register WHERE center = $1 AND code = $2
"""

#: Insert or update; `inserted` tells which (xmax = 0 only for a freshly inserted row).
UPSERT_UNIT = """
INSERT INTO unit_register AS u (center, code, name, active, inspect, note, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (center, code) DO UPDATE SET
    name = EXCLUDED.name, active = EXCLUDED.active, inspect = EXCLUDED.inspect,
    note = EXCLUDED.note, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING center, code, name, active, inspect, note, created_at, updated_at, updated_by,
          (xmax = 0) AS inserted
"""
