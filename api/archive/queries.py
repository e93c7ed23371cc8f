"""The SQL of the archive (R-35): the hash-chained case files of `archives`."""

from __future__ import annotations

_FILTER = """
FROM archives
WHERE (document->'case'->>'center' = $1 OR document->'case'->>'appeal_center' = $1)
  AND ($2::text IS NULL OR number LIKE $2 || '%')
"""
COUNT_ARCHIVES = "SELECT count(*) " + _FILTER
LIST_ARCHIVES = (
    """
SELECT id, number, archived_at, document->'case'->>'outcome' AS outcome,
       document->'case'->>'category' AS category, sha256, prev_sha256
"""
    + _FILTER
    + "ORDER BY id DESC LIMIT $3 OFFSET $4"
)
#: The case file as stored (text, so any JSON codec of the pool gives the same document).
SELECT_CASE_FILE = """
SELECT id, number, archived_at, sha256, prev_sha256, document::text AS document,
       document->'case'->>'center' AS center, document->'case'->>'appeal_center' AS appeal_center
FROM archives WHERE number = $1
"""
SELECT_CENTERS = """
SELECT document->'case'->>'center' AS center, document->'case'->>'appeal_center' AS appeal_center
FROM archives WHERE number = $1
"""
SELECT_POSITION = "SELECT id FROM archives WHERE number = $1"
