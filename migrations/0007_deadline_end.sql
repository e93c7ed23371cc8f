-- The 24:00 rule (R-41, R-42; issue 14): a day deadline is the end of its day, 24:00 Beijing
-- time. The stored due instant stays 23:59:59 Beijing (domain.workdays.end_of_day); the first
-- late instant is the next day's 00:00. This is domain.workdays.deadline_end, written once for
-- SQL: every on-time / late comparison reads `at < deadline_end(due_at)` (on time) or
-- `at >= deadline_end(due_at)` (late), never `at <= due_at`.
CREATE FUNCTION deadline_end(due timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN (due AT TIME ZONE 'Asia/Shanghai')::time >= time '23:59:59'
                THEN date_trunc('second', due) + interval '1 second'
                ELSE due END
$$;

-- The read model's per-clock projection (0005): a clock met at 23:59:59.9 on its due day was
-- met on time, so it settles at its closing instant.
CREATE OR REPLACE FUNCTION case_deadlines_upsert(c complaints) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_deadlines AS d (number, idx, center, category, channel, kind, start_at,
                                     due_at, state, overdue, closed_at, extended_days,
                                     provisional, unit, settled_at, settled_month)
    SELECT c.number, e.idx::integer, c.center, c.category, c.channel, e.dl->>'kind',
           (e.dl->>'start')::timestamptz, (e.dl->>'due_at')::timestamptz, e.dl->>'state',
           coalesce((e.dl->>'overdue')::boolean, false), (e.dl->>'closed_at')::timestamptz,
           coalesce((e.dl->>'extended_days')::integer, 0),
           coalesce((e.dl->>'provisional')::boolean, false), c.handling_unit,
           s.settled_at, beijing_month(s.settled_at)
    FROM jsonb_array_elements(coalesce(c.state->'deadlines', '[]'::jsonb))
         WITH ORDINALITY AS e(dl, idx),
         LATERAL (SELECT CASE WHEN e.dl->>'state' = 'met'
                                   AND (e.dl->>'closed_at')::timestamptz
                                       < deadline_end((e.dl->>'due_at')::timestamptz)
                              THEN (e.dl->>'closed_at')::timestamptz
                              ELSE (e.dl->>'due_at')::timestamptz END AS settled_at) s
    ON CONFLICT (number, idx) DO UPDATE SET
        due_at = EXCLUDED.due_at,
        state = EXCLUDED.state,
        overdue = EXCLUDED.overdue,
        closed_at = EXCLUDED.closed_at,
        extended_days = EXCLUDED.extended_days,
        provisional = EXCLUDED.provisional,
        settled_at = EXCLUDED.settled_at,
        settled_month = EXCLUDED.settled_month,
        unit = CASE WHEN d.state = 'open' AND NOT d.overdue THEN EXCLUDED.unit ELSE d.unit END
    WHERE (d.due_at, d.state, d.overdue, d.closed_at, d.extended_days, d.provisional, d.unit)
          IS DISTINCT FROM
          (EXCLUDED.due_at, EXCLUDED.state, EXCLUDED.overdue, EXCLUDED.closed_at,
           EXCLUDED.extended_days, EXCLUDED.provisional,
           CASE WHEN d.state = 'open' AND NOT d.overdue THEN EXCLUDED.unit ELSE d.unit END)
$$;

-- Clocks already met in the last second of their due day.
UPDATE case_deadlines
SET settled_at = closed_at, settled_month = beijing_month(closed_at)
WHERE state = 'met' AND closed_at > due_at AND closed_at < deadline_end(due_at);
