"""The SQL of the evidence files (table `evidence`)."""

from __future__ import annotations

_COLUMNS = """
    id, number, provided_by, filename, description, summary, kind, content_type, size, sha256,
    uploaded_by, uploaded_role, uploaded_unit, uploaded_at, shared, shared_by, shared_at,
    share_note
"""

SELECT_CASE = """
SELECT number, center, appeal_center, status, handling_unit, workflow_started
FROM complaints WHERE number = $1
"""
LOCK_CASE = "SELECT status FROM complaints WHERE number = $1 FOR UPDATE"
CASE_BYTES = "SELECT COALESCE(sum(size), 0)::bigint FROM evidence WHERE number = $1"
SELECT_SAME = f"SELECT {_COLUMNS} FROM evidence WHERE number = $1 AND sha256 = $2 ORDER BY id"
INSERT_EVIDENCE = f"""
INSERT INTO evidence (number, provided_by, filename, description, summary, kind, content_type,
                      size, sha256, uploaded_by, uploaded_role, uploaded_unit)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING {_COLUMNS}
"""
LIST_EVIDENCE = f"SELECT {_COLUMNS} FROM evidence WHERE number = $1 ORDER BY id"
SELECT_EVIDENCE = f"SELECT {_COLUMNS} FROM evidence WHERE number = $1 AND id = $2"
SHARE_EVIDENCE = f"""
UPDATE evidence SET shared = $3, shared_by = $4, shared_at = now(), share_note = $5
WHERE number = $1 AND id = $2
RETURNING {_COLUMNS}
"""
