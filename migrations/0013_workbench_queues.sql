-- The workbench's queues and duplicate suggestions (api/web): the open cases by status in due
-- order, with what a queue filters and searches on (index-only scans for the counts in the
-- navigation, the page's numbers and the search over summary and unit name); the joint cases
-- of a unit (R-15); the open cases against a unit (R-45); the leader's pending extension
-- requests. Partial: archived cases, the large majority, are never in a queue.
CREATE INDEX complaints_open_queue_idx ON complaints (status, next_due)
    INCLUDE (number, center, appeal_center, workflow_started, overdue, supervised, handling_unit,
             summary, respondent_unit_name)
    WHERE status <> 'archived';
CREATE INDEX complaints_joint_units_idx ON complaints USING gin ((state -> 'joint_units'))
    WHERE status = 'investigating';
CREATE INDEX complaints_open_respondent_idx ON complaints (center, respondent_unit, registered_at DESC)
    WHERE status <> 'archived';
CREATE INDEX complaints_extension_pending_idx ON complaints (next_due)
    INCLUDE (number, center, appeal_center, workflow_started, overdue, status)
    WHERE status <> 'archived'
      AND state @? '$.extensions[*] ? (@.decided_at == null && @.lapsed == false)';
