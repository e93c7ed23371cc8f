-- The units' work queue (api/web/queue.py) lists the rectifications a unit owes (R-37, migration
-- 0015): the open cases whose `state.rectification` waits for that unit's report. Partial, like
-- the other queue indexes of 0013: only the few open rectifications are in it.
CREATE INDEX complaints_rectification_owed_idx
    ON complaints ((state -> 'rectification' ->> 'unit'), next_due)
    WHERE status <> 'archived' AND state -> 'rectification' ->> 'state' = 'open';
