-- Intake never loses a complaint (issue 11, DESIGN.md "Durable, bounded, tamper-evident").
-- The registration is durable in PostgreSQL first; the workflow start is tried once while the
-- API answers, and the reconciler (activities/reconciler.py) retries it until it happens.

ALTER TABLE complaints
    -- Who registered the case (the start input's `registered_by`, an Actor: id, role, unit), so
    -- the reconciler starts the workflow with the same input the API would have sent.
    ADD COLUMN registered_by    jsonb,
    -- Starts tried for a row whose workflow has not started yet, the last failure, and the
    -- earliest instant of the next try (a lease while a reconciler tries, then a backoff).
    ADD COLUMN start_attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN last_start_error text,
    ADD COLUMN next_start_at    timestamptz;

-- The reconciler's backlog: registered but not started, oldest first (normally empty).
CREATE INDEX complaints_unstarted_idx ON complaints (registered_at) WHERE NOT workflow_started;
