"""The SQL of the centers register, routing at intake and forwarding to another center (R-12,
R-46); the register is `centers` and `center_units` (migrations/0004_evidence_centers_disclosure.sql)."""

from __future__ import annotations

from activities.intake import START_COLUMNS

_CENTER_COLUMNS = "code, name, level, parent, policy"

SELECT_CENTER = f"SELECT {_CENTER_COLUMNS} FROM centers WHERE code = $1"

SELECT_CENTERS = f"""
SELECT {_CENTER_COLUMNS} FROM centers
ORDER BY array_position(ARRAY['province', 'city', 'district', 'department'], level), code
"""

SELECT_CENTER_UNITS = """
SELECT unit_code, scope, unit_name FROM center_units WHERE center = $1 ORDER BY unit_code, scope
"""

SELECT_CHILDREN = "SELECT code FROM centers WHERE parent = $1 ORDER BY code"

#: The center for a respondent unit: a `staff` row first when the complaint is about staff.
ROUTE_UNIT = """
SELECT center, scope FROM center_units
WHERE unit_code = $1 AND scope = ANY($2::text[])
ORDER BY (scope = 'staff') DESC
LIMIT 1
"""

SELECT_FORWARD_LINK = """
SELECT l.to_number, c.workflow_started
FROM case_links l JOIN complaints c ON c.number = l.to_number
WHERE l.from_number = $1 AND l.kind = 'forward'
"""

LOCK_COMPLAINT = "SELECT number FROM complaints WHERE number = $1 FOR UPDATE"

#: R-12: the linked case at the other center is a copy of the PostgreSQL rows (the same
#: complainant row and access code, facts, evidence list, consent), under a new number.
COPY_FORWARDED = f"""
INSERT INTO complaints (
    number, center, complainant_ref, access_code_hash, status, channel, form, category, grade,
    respondent_unit, respondent_unit_name, respondent_staff, facts, evidence, summary,
    policy, policy_version, received_at, publish_consent, origin_case)
SELECT $2, $3, complainant_ref, access_code_hash, 'registered', channel, form, category, grade,
       respondent_unit, respondent_unit_name, respondent_staff, facts, evidence, summary,
       $4, $5, $6, publish_consent, number
FROM complaints WHERE number = $1
RETURNING {START_COLUMNS}
"""

#: The evidence files go with the case (the bytes are shared: they are stored by hash); the
#: other center's leader decides anew what its handling unit may see.
COPY_EVIDENCE = """
INSERT INTO evidence (number, provided_by, filename, description, summary, kind, content_type,
                      size, sha256, uploaded_by, uploaded_role, uploaded_unit, uploaded_at)
SELECT $2, provided_by, filename, description, summary, kind, content_type,
       size, sha256, uploaded_by, uploaded_role, uploaded_unit, uploaded_at
FROM evidence WHERE number = $1 ORDER BY id
"""

INSERT_FORWARD_LINK = """
INSERT INTO case_links (from_number, kind, to_number, from_center, to_center, created_by)
VALUES ($1, 'forward', $2, $3, $4, $5)
"""

SELECT_START_ROW = f"SELECT {START_COLUMNS} FROM complaints WHERE number = $1"
