"""The timeline's SQL: the history kept in a case's archive."""

#: The archived history of a case whose workflow Temporal no longer holds (retention).
SELECT_ARCHIVED_HISTORY = """
SELECT document->'history' AS history, document->'previous_runs' AS previous_runs,
       document->'case'->>'center' AS center,
       document->'case'->>'appeal_center' AS appeal_center, sha256, prev_sha256, archived_at
FROM archives WHERE number = $1
"""
