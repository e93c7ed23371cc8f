-- 整改落实 (issue 15, R-37): a decision with measures opens the responsible unit's rectification
-- on its own clock; the resolution rate counts a case's measures as carried out only once the
-- handler accepted the unit's report (`state.rectification`, workflows/complaint/rectify.py).

-- The rectification clock's open due instant (domain.clocks.CLOCKS[RECTIFICATION].column).
ALTER TABLE complaints ADD COLUMN IF NOT EXISTS rectification_due timestamptz;
-- When the handler accepted the rectification (activities.read_model.rectified_at).
ALTER TABLE complaints ADD COLUMN IF NOT EXISTS rectified_at timestamptz;

-- The figures' projection: `rectified` is true once the rectification was accepted.
ALTER TABLE case_figures ADD COLUMN IF NOT EXISTS rectified boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION case_figures_upsert(c complaints) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_figures AS f (number, center, status, grade, handling_unit, category,
                                   channel, received_at, accepted_at, decided_at, received_day,
                                   decided_day, received_month, accepted_month, decided_month,
                                   finding, with_measures, overdue, supervised, next_due,
                                   rectified)
    VALUES (c.number, c.center, c.status, c.grade, c.handling_unit, c.category, c.channel,
            c.received_at, c.accepted_at, c.decided_at,
            (c.received_at AT TIME ZONE 'Asia/Shanghai')::date,
            (c.decided_at AT TIME ZONE 'Asia/Shanghai')::date,
            beijing_month(c.received_at), beijing_month(c.accepted_at),
            beijing_month(c.decided_at), c.finding,
            coalesce(jsonb_typeof(c.measures) = 'array' AND c.measures - 'none' <> '[]'::jsonb,
                     false),
            c.overdue, c.supervised, c.next_due, c.rectified_at IS NOT NULL)
    ON CONFLICT (number) DO UPDATE SET
        status = EXCLUDED.status, grade = EXCLUDED.grade, handling_unit = EXCLUDED.handling_unit,
        accepted_at = EXCLUDED.accepted_at, decided_at = EXCLUDED.decided_at,
        decided_day = EXCLUDED.decided_day, accepted_month = EXCLUDED.accepted_month,
        decided_month = EXCLUDED.decided_month, finding = EXCLUDED.finding,
        with_measures = EXCLUDED.with_measures, overdue = EXCLUDED.overdue,
        supervised = EXCLUDED.supervised, next_due = EXCLUDED.next_due,
        rectified = EXCLUDED.rectified
    WHERE (f.status, f.grade, f.handling_unit, f.accepted_at, f.decided_at, f.finding,
           f.with_measures, f.overdue, f.supervised, f.next_due, f.rectified)
          IS DISTINCT FROM
          (EXCLUDED.status, EXCLUDED.grade, EXCLUDED.handling_unit, EXCLUDED.accepted_at,
           EXCLUDED.decided_at, EXCLUDED.finding, EXCLUDED.with_measures, EXCLUDED.overdue,
           EXCLUDED.supervised, EXCLUDED.next_due, EXCLUDED.rectified)
$$;

-- The clocks' projection (0007): the rectification clock belongs to the unit that must rectify
-- (`state.rectification.unit`: the unit complained about when the office handled the case
-- itself), not to the handling unit, which a self-handled case does not have.
CREATE OR REPLACE FUNCTION case_deadlines_upsert(c complaints) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_deadlines AS d (number, idx, center, category, channel, kind, start_at,
                                     due_at, state, overdue, closed_at, extended_days,
                                     provisional, unit, settled_at, settled_month)
    SELECT c.number, e.idx::integer, c.center, c.category, c.channel, e.dl->>'kind',
           (e.dl->>'start')::timestamptz, (e.dl->>'due_at')::timestamptz, e.dl->>'state',
           coalesce((e.dl->>'overdue')::boolean, false), (e.dl->>'closed_at')::timestamptz,
           coalesce((e.dl->>'extended_days')::integer, 0),
           coalesce((e.dl->>'provisional')::boolean, false),
           CASE WHEN e.dl->>'kind' = 'rectification'
                THEN coalesce(c.state->'rectification'->>'unit', c.handling_unit)
                ELSE c.handling_unit END,
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

-- Backfill. A case decided before the rectification patch has no `state.rectification`:
-- nothing ever recorded that its measures were carried out, so it stays `rectified = false`
-- (R-37 counts executed measures only; docs/figures.md). A case whose rectification was
-- already accepted gets its instant from its state.
UPDATE complaints
   SET rectified_at = (state->'rectification'->>'accepted_at')::timestamptz
 WHERE rectified_at IS NULL
   AND state->'rectification'->>'state' = 'accepted'
   AND state->'rectification'->>'accepted_at' IS NOT NULL;
SELECT case_figures_upsert(c) FROM complaints c WHERE c.workflow_started;
