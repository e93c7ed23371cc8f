"""The SQL of the public disclosure (R-47): consented concluded cases and unit figures."""

from __future__ import annotations

_DISCLOSED = """
FROM complaints c
JOIN complainants p ON p.ref = c.complainant_ref
LEFT JOIN centers ce ON ce.code = c.center
LEFT JOIN center_units u ON u.unit_code = c.respondent_unit AND u.scope = 'unit'
WHERE c.publish_consent AND c.outcome = 'concluded' AND c.finding IS NOT NULL
  AND c.workflow_started
  AND ($1::text IS NULL OR c.center = $1)
  AND ($2::text IS NULL OR c.respondent_unit = $2)
"""

#: The personal values are read only to be masked; they never leave `disclosure()`.
LIST_DISCLOSURES = (
    """
SELECT c.center, ce.name AS center_name, c.respondent_unit,
       COALESCE(u.unit_name, c.respondent_unit_name) AS respondent_unit_name, c.category,
       c.summary, c.finding, c.measures::text AS measures, c.archived_at, c.respondent_staff,
       p.name, p.phone, p.email, p.address, p.id_number, p.agent::text AS agent
"""
    + _DISCLOSED
    + """
ORDER BY c.archived_at DESC, c.number DESC
LIMIT $3 OFFSET $4
"""
)

COUNT_DISCLOSURES = "SELECT count(*) " + _DISCLOSED

#: Month (Beijing) of every concluded case of the units whose complainant agreed to publication
#: (R-47: a case without consent is not published, not even as a count), with R-36 and R-38
#: counts. On time: neither the handling nor the overall deadline ever went overdue.
UNIT_FIGURES = """
SELECT respondent_unit AS unit_code,
       to_char((archived_at AT TIME ZONE 'UTC') + interval '8 hours', 'YYYY-MM') AS month,
       count(*) AS concluded,
       count(*) FILTER (WHERE NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(COALESCE(state->'deadlines', '[]'::jsonb)) d
           WHERE d->>'kind' IN ('handling', 'overall') AND (d->>'overdue')::boolean
       )) AS on_time,
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied', 'dissatisfied'))
           AS answered,
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied')) AS satisfied
FROM complaints
WHERE outcome = 'concluded' AND workflow_started AND publish_consent AND archived_at >= $2
  AND respondent_unit = ANY($1::text[])
GROUP BY respondent_unit, month
ORDER BY respondent_unit, month DESC
"""

#: Units with consented concluded cases in the period, named as the register names them.
UNITS = """
SELECT c.respondent_unit AS unit_code,
       COALESCE(max(u.unit_name), max(c.respondent_unit_name)) AS unit_name
FROM complaints c
LEFT JOIN center_units u ON u.unit_code = c.respondent_unit AND u.scope = 'unit'
WHERE c.outcome = 'concluded' AND c.workflow_started AND c.publish_consent
  AND c.archived_at >= $1
  AND ($2::text IS NULL OR c.center = $2)
  AND ($3::text IS NULL OR c.respondent_unit = $3)
GROUP BY c.respondent_unit
ORDER BY c.respondent_unit
"""

UNIT_NAME = """
SELECT COALESCE(
    (SELECT unit_name FROM center_units WHERE unit_code = $1 AND scope = 'unit'),
    (SELECT respondent_unit_name FROM complaints
     WHERE respondent_unit = $1 AND outcome = 'concluded' ORDER BY archived_at DESC LIMIT 1))
"""
