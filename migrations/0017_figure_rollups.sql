-- Figure rollups (issue 15, "figures at province scale"): `GET /v1/stats` and the dashboard
-- read per-day and per-month sums instead of scanning every case, clock and event of the
-- period. What each figure counts is unchanged (docs/figures.md); the raw computation per case
-- is written once, below (`figure_*_rows`), and the rollups are its sums.
--
-- Shape: `figure_cases` (the case and event counts), `figure_clocks` (per clock kind) and
-- `figure_days` (the handling-time histogram in working days), each keyed by center, grain
-- ('d' a Beijing day, 'm' the month starting on `day`, 'u' the month for all categories and
-- channels: '*'), day, unit ('' = the complaint office), category and channel; `figure_open` the open cases now. The distinct-case counts
-- (overdue_cases, extended_cases) stay exact: a case's first flagged day counts in `*_first_*`,
-- its later flagged days (rare) are rows of `figure_repeats` with the previous flagged day, so a
-- query counts a case once per group.
--
-- Kept in the same transaction as every write of the projections: the first change of a case in
-- a transaction (case_figures, case_deadlines, case_events) subtracts the case's contribution as
-- it was (into the `*_pending` tables) and marks it dirty; at commit a deferred trigger adds the
-- case's contribution as it is and applies the difference in key order (no deadlocks between
-- projections). The working-day histogram depends on the `workdays` table: api/stats/calendar.py
-- rebuilds `figure_days` when it refills the calendar (`figure_rebuild('days')`), under the
-- calendar's advisory lock, which the triggers take shared.
--
-- Bulk loads (a restore, the benchmark) may `SET LOCAL complaints.figure_rollups = 'off'` and
-- call `SELECT figure_rebuild('all')` at the end.

-- R-37 counts only executed measures: migration 0015 (rectification follow-up) adds this column
-- and fills it; here only so that this migration never depends on it.
ALTER TABLE case_figures ADD COLUMN IF NOT EXISTS rectified boolean NOT NULL DEFAULT false;

-- ------------------------------------------------------------------ the rollups

CREATE TABLE figure_cases (
    center              text NOT NULL,
    grain               text NOT NULL CHECK (grain IN ('d', 'm', 'u')),
    day                 date NOT NULL,
    unit                text NOT NULL,
    category            text NOT NULL,
    channel             text NOT NULL,
    registered          integer NOT NULL DEFAULT 0,
    accepted            integer NOT NULL DEFAULT 0,
    concluded           integer NOT NULL DEFAULT 0,
    substantiated       integer NOT NULL DEFAULT 0,
    resolved            integer NOT NULL DEFAULT 0,
    unsubstantiated     integer NOT NULL DEFAULT 0,
    callbacks           integer NOT NULL DEFAULT 0,  -- record-satisfaction events (any rating)
    answered            integer NOT NULL DEFAULT 0,
    satisfied           integer NOT NULL DEFAULT 0,
    basically_satisfied integer NOT NULL DEFAULT 0,
    dissatisfied        integer NOT NULL DEFAULT 0,
    events              integer NOT NULL DEFAULT 0,  -- overdue, extensions, investigation steps
    overdue_deadlines   integer NOT NULL DEFAULT 0,
    extension_days      integer NOT NULL DEFAULT 0,
    replies             integer NOT NULL DEFAULT 0,
    late_replies        integer NOT NULL DEFAULT 0,
    replies_overdue     integer NOT NULL DEFAULT 0,
    overdue_first_any   integer NOT NULL DEFAULT 0,  -- first overdue day of a case
    overdue_first_unit  integer NOT NULL DEFAULT 0,  -- first overdue day of a case with this unit
    extended_first_any  integer NOT NULL DEFAULT 0,
    extended_first_unit integer NOT NULL DEFAULT 0,
    PRIMARY KEY (center, grain, day, unit, category, channel)
);

CREATE TABLE figure_clocks (
    center        text NOT NULL,
    grain         text NOT NULL CHECK (grain IN ('d', 'm', 'u')),
    day           date NOT NULL,                 -- of the settling instant
    unit          text NOT NULL,
    category      text NOT NULL,
    channel       text NOT NULL,
    kind          text NOT NULL,
    due           integer NOT NULL DEFAULT 0,    -- met, or marked overdue
    on_time       integer NOT NULL DEFAULT 0,
    open_unmarked integer NOT NULL DEFAULT 0,    -- open, not marked: due once past its end
    PRIMARY KEY (center, grain, day, unit, category, channel, kind)
);

CREATE TABLE figure_days (
    center   text NOT NULL,
    grain    text NOT NULL CHECK (grain IN ('d', 'm', 'u')),
    day      date NOT NULL,                      -- of the decision
    unit     text NOT NULL,
    category text NOT NULL,
    channel  text NOT NULL,
    wd       integer NOT NULL,                   -- working days from receipt to decision
    cases    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (center, grain, day, unit, category, channel, wd)
);

-- The open cases now, for the open-case figures, the board's counts and the dashboard: per
-- status, overdue mark, supervision and the Beijing day of the nearest due instant ('infinity':
-- none). A query reads the days around now (today, the last day reminded) exactly from
-- `case_figures`, every other day from here.
CREATE TABLE figure_open (
    center     text NOT NULL,
    unit       text NOT NULL,
    status     text NOT NULL,
    overdue    boolean NOT NULL,
    supervised boolean NOT NULL,
    day        date NOT NULL,
    cases      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (center, unit, status, overdue, supervised, day)
);

-- The supervised open cases, for the board's page past the red and yellow ones.
CREATE INDEX case_figures_supervised_idx ON case_figures (center, next_due)
    WHERE status <> 'archived' AND supervised;

-- A case's flagged days after its first (per case, and per case and unit).
CREATE TABLE figure_repeats (
    number    text NOT NULL,
    what      text NOT NULL CHECK (what IN ('overdue', 'extended')),
    day       date NOT NULL,
    unit      text NOT NULL,
    center    text NOT NULL,
    category  text NOT NULL,
    channel   text NOT NULL,
    rep       boolean NOT NULL,                  -- this row stands for the case's day (any unit)
    prev_any  date,                              -- the case's previous flagged day (rep rows)
    prev_unit date,                              -- the case's previous flagged day with this unit
    PRIMARY KEY (number, what, day, unit)
);
CREATE INDEX figure_repeats_day_idx ON figure_repeats (center, day);

-- Within a transaction only: the cases changed and the differences not yet applied.
-- A pending row is one fact of one case, on its day (the month rows are added when applied).
CREATE UNLOGGED TABLE figure_dirty (number text PRIMARY KEY);
CREATE UNLOGGED TABLE figure_cases_pending (
    number text, center text, day date, unit text, category text, channel text,
    registered integer, accepted integer, concluded integer, substantiated integer,
    resolved integer, unsubstantiated integer, callbacks integer, answered integer,
    satisfied integer, basically_satisfied integer, dissatisfied integer, events integer,
    overdue_deadlines integer, extension_days integer, replies integer, late_replies integer,
    replies_overdue integer, overdue_first_any integer, overdue_first_unit integer,
    extended_first_any integer, extended_first_unit integer
);
CREATE UNLOGGED TABLE figure_clocks_pending (
    number text, center text, day date, unit text, category text, channel text, kind text,
    due integer, on_time integer, open_unmarked integer
);
CREATE UNLOGGED TABLE figure_open_pending (
    number text, center text, unit text, status text, overdue boolean, supervised boolean,
    day date, cases integer
);
CREATE UNLOGGED TABLE figure_days_pending (
    number text, center text, day date, unit text, category text, channel text, wd integer,
    cases integer
);

-- ------------------------------------------------------------------ the raw computation
-- Each function gives the contribution of the cases `nums`, one row per
-- fact, as the figure queries of api/stats/queries.py (before issue 15) counted it.

-- The events that count, with the unit each belongs to: an `overdue` event to the unit that had
-- the case while its clock ran (the latest clock of its kind started before it, overdue ones
-- first), the others to the case's handling unit.
CREATE FUNCTION figure_event_rows(nums text[])
RETURNS TABLE (number text, center text, category text, channel text, day date, unit text,
               action text, detail jsonb)
LANGUAGE sql STABLE AS $$
    SELECT f.number, f.center, f.category, f.channel, (e.at AT TIME ZONE 'Asia/Shanghai')::date,
           coalesce(CASE WHEN clock.found THEN clock.unit ELSE f.handling_unit END, ''),
           e.action, e.detail
    FROM case_figures f
    JOIN case_events e ON e.number = f.number
    LEFT JOIN LATERAL (
        SELECT true AS found, d.unit FROM case_deadlines d
        WHERE e.action = 'overdue' AND d.number = e.number
          AND d.kind = e.detail->>'deadline' AND d.start_at <= e.at
        ORDER BY d.overdue DESC, d.start_at DESC, d.idx DESC
        LIMIT 1) clock ON true
    WHERE f.number = ANY(nums)
      AND e.action IN ('overdue', 'decide-extension', 'record-investigation',
                       'record-satisfaction')
$$;

-- The flagged days of each case: stage clocks overdue, extensions approved; `rep` picks one row
-- per case and day, `prev_any` / `prev_unit` the previous flagged day (of the case / of the case
-- with the same unit).
CREATE FUNCTION figure_flag_rows(nums text[])
RETURNS TABLE (number text, what text, day date, unit text, center text, category text,
               channel text, rep boolean, prev_any date, prev_unit date)
LANGUAGE sql STABLE AS $$
    SELECT number, what, day, unit, center, category, channel, rep,
           CASE WHEN rep THEN lag(day) OVER (PARTITION BY number, what, rep ORDER BY day) END,
           prev_unit
    FROM (
        SELECT fl.*,
               lag(day) OVER (PARTITION BY number, what, unit ORDER BY day) AS prev_unit,
               row_number() OVER (PARTITION BY number, what, day ORDER BY unit) = 1 AS rep
        FROM (
            SELECT DISTINCT number, center, category, channel, day, unit,
                   CASE WHEN action = 'overdue' THEN 'overdue' ELSE 'extended' END AS what
            FROM figure_event_rows(nums)
            WHERE (action = 'overdue' AND detail->>'deadline' <> 'document_reply')
               OR (action = 'decide-extension' AND detail->>'approved' = 'true')
        ) fl
    ) fu
$$;

CREATE FUNCTION figure_case_rows(nums text[]) RETURNS SETOF figure_cases_pending
LANGUAGE sql STABLE AS $$
    -- registered, accepted, concluded: the case's own instants, its handling unit
    SELECT f.number, f.center, x.day, coalesce(f.handling_unit, ''), f.category, f.channel,
           x.registered, x.accepted, x.concluded, x.substantiated, x.resolved,
           x.unsubstantiated, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM case_figures f
    CROSS JOIN LATERAL (VALUES
        (f.received_day, 1, 0, 0, 0, 0, 0),
        ((f.accepted_at AT TIME ZONE 'Asia/Shanghai')::date, 0, 1, 0, 0, 0, 0),
        (f.decided_day, 0, 0, 1,
         (f.finding IN ('substantiated', 'partially_substantiated'))::int,
         (f.finding IN ('substantiated', 'partially_substantiated') AND f.with_measures
          AND f.rectified)::int,
         (f.finding = 'unsubstantiated')::int)
    ) x(day, registered, accepted, concluded, substantiated, resolved, unsubstantiated)
    WHERE f.number = ANY(nums) AND x.day IS NOT NULL
    UNION ALL
    -- the events
    SELECT number, center, day, unit, category, channel, 0, 0, 0, 0, 0, 0,
           (action = 'record-satisfaction')::int,
           coalesce(action = 'record-satisfaction' AND detail->>'rating'
                    IN ('satisfied', 'basically_satisfied', 'dissatisfied'), false)::int,
           coalesce(action = 'record-satisfaction' AND detail->>'rating' = 'satisfied',
                    false)::int,
           coalesce(action = 'record-satisfaction' AND detail->>'rating' = 'basically_satisfied',
                    false)::int,
           coalesce(action = 'record-satisfaction' AND detail->>'rating' = 'dissatisfied',
                    false)::int,
           (action <> 'record-satisfaction')::int,
           coalesce(action = 'overdue' AND detail->>'deadline' <> 'document_reply', false)::int,
           coalesce(CASE WHEN action = 'decide-extension' AND detail->>'approved' = 'true'
                              AND jsonb_typeof(detail->'days') = 'number'
                         THEN (detail->>'days')::numeric::int END, 0),
           coalesce(action = 'record-investigation'
                    AND detail->>'kind' = 'explanation_received', false)::int,
           coalesce(action = 'record-investigation' AND detail->>'kind' = 'explanation_received'
                    AND detail->>'answered_late' = 'true', false)::int,
           coalesce(action = 'overdue' AND detail->>'deadline' = 'document_reply', false)::int,
           0, 0, 0, 0
    FROM figure_event_rows(nums)
    UNION ALL
    -- the first flagged days
    SELECT number, center, day, unit, category, channel, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           0, 0, 0, 0, 0,
           (what = 'overdue' AND rep AND prev_any IS NULL)::int,
           (what = 'overdue' AND prev_unit IS NULL)::int,
           (what = 'extended' AND rep AND prev_any IS NULL)::int,
           (what = 'extended' AND prev_unit IS NULL)::int
    FROM figure_flag_rows(nums)
    WHERE (rep AND prev_any IS NULL) OR prev_unit IS NULL
$$;

-- Every clock that is met, marked overdue or still open, on the day of its settling instant.
CREATE FUNCTION figure_clock_rows(nums text[]) RETURNS SETOF figure_clocks_pending
LANGUAGE sql STABLE AS $$
    SELECT d.number, d.center, (d.settled_at AT TIME ZONE 'Asia/Shanghai')::date,
           coalesce(d.unit, ''), d.category, d.channel, d.kind,
           (d.state = 'met' OR d.overdue)::int,
           coalesce(d.state = 'met' AND d.closed_at < deadline_end(d.due_at), false)::int,
           (d.state = 'open' AND NOT d.overdue)::int
    FROM case_deadlines d
    WHERE d.number = ANY(nums)
      AND (d.state IN ('met', 'open') OR d.overdue)
$$;

-- The concluded cases whose working days the calendar knows.
CREATE FUNCTION figure_day_rows(nums text[]) RETURNS SETOF figure_days_pending
LANGUAGE sql STABLE AS $$
    SELECT f.number, f.center, f.decided_day, coalesce(f.handling_unit, ''), f.category,
           f.channel, w_to.ordinal - w_from.ordinal, 1
    FROM case_figures f
    JOIN workdays w_from ON w_from.day = f.received_day
    JOIN workdays w_to ON w_to.day = f.decided_day
    WHERE f.number = ANY(nums) AND f.decided_at IS NOT NULL
$$;

-- The case, while open.
CREATE FUNCTION figure_open_rows(nums text[]) RETURNS SETOF figure_open_pending
LANGUAGE sql STABLE AS $$
    SELECT f.number, f.center, coalesce(f.handling_unit, ''), f.status, f.overdue, f.supervised,
           coalesce((f.next_due AT TIME ZONE 'Asia/Shanghai')::date, 'infinity'::date), 1
    FROM case_figures f
    WHERE f.number = ANY(nums) AND f.status <> 'archived'
$$;

-- The same computation over every case, for rebuilds (`*_rows_all()`): made from the functions
-- above, so that it is written once; a plan over all rows (scans and hash joins), where an
-- array of every case number would be matched row by row.
DO $$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY['figure_event_rows', 'figure_flag_rows', 'figure_case_rows',
                              'figure_clock_rows', 'figure_day_rows', 'figure_open_rows'] LOOP
        EXECUTE replace(replace(replace(
            pg_get_functiondef(format('%s(text[])', fn)::regprocedure),
            format('%s(nums text[])', fn), format('%s_all()', fn)),
            '= ANY(nums)', 'IS NOT NULL'),
            '_rows(nums)', '_rows_all()');
    END LOOP;
END $$;

-- ------------------------------------------------------------------ keeping them in step

-- Add `sign` × the contribution of the cases `nums` of the rollups `scope` ('all', 'days') to
-- the pending differences. Static SQL: a projection's transaction reuses the plans (one case,
-- the primary keys); a rebuild passes every case.
CREATE FUNCTION figure_pend(nums text[], sign integer, scope text DEFAULT 'all')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF scope = 'all' THEN
        INSERT INTO figure_cases_pending
        SELECT number, center, day, unit, category, channel,
               sign * registered, sign * accepted, sign * concluded, sign * substantiated,
               sign * resolved, sign * unsubstantiated, sign * callbacks, sign * answered,
               sign * satisfied, sign * basically_satisfied, sign * dissatisfied, sign * events,
               sign * overdue_deadlines, sign * extension_days, sign * replies,
               sign * late_replies, sign * replies_overdue, sign * overdue_first_any,
               sign * overdue_first_unit, sign * extended_first_any, sign * extended_first_unit
        FROM figure_case_rows(nums);
        INSERT INTO figure_clocks_pending
        SELECT number, center, day, unit, category, channel, kind, sign * due, sign * on_time,
               sign * open_unmarked
        FROM figure_clock_rows(nums);
        INSERT INTO figure_open_pending
        SELECT number, center, unit, status, overdue, supervised, day, sign * cases
        FROM figure_open_rows(nums);
    END IF;
    INSERT INTO figure_days_pending
    SELECT number, center, day, unit, category, channel, wd, sign * cases
    FROM figure_day_rows(nums);
END $$;

-- Apply every pending difference of this transaction to the rollups (day and month rows) in
-- key order: only the keys whose sums change; a row left at zero is removed (by its key).
CREATE FUNCTION figure_apply(scope text DEFAULT 'all') RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    x record;
BEGIN
    IF scope = 'all' THEN
        FOR x IN
            INSERT INTO figure_cases AS r
            SELECT center, g.grain, g.day, unit, g.category, g.channel,
               sum(registered), sum(accepted), sum(concluded), sum(substantiated), sum(resolved),
               sum(unsubstantiated), sum(callbacks), sum(answered), sum(satisfied),
               sum(basically_satisfied), sum(dissatisfied), sum(events), sum(overdue_deadlines),
               sum(extension_days), sum(replies), sum(late_replies), sum(replies_overdue),
               sum(overdue_first_any), sum(overdue_first_unit), sum(extended_first_any),
               sum(extended_first_unit)
            FROM figure_cases_pending p
            CROSS JOIN LATERAL (VALUES
                ('d', p.day, p.category, p.channel),
                ('m', date_trunc('month', p.day)::date, p.category, p.channel),
                ('u', date_trunc('month', p.day)::date, '*', '*')) g(grain, day, category, channel)
            GROUP BY center, g.grain, g.day, unit, g.category, g.channel
            HAVING sum(registered) <> 0 OR sum(accepted) <> 0 OR sum(concluded) <> 0 OR
                       sum(substantiated) <> 0 OR sum(resolved) <> 0 OR
                       sum(unsubstantiated) <> 0 OR sum(callbacks) <> 0 OR sum(answered) <> 0 OR
                       sum(satisfied) <> 0 OR sum(basically_satisfied) <> 0 OR
                       sum(dissatisfied) <> 0 OR sum(events) <> 0 OR
                       sum(overdue_deadlines) <> 0 OR sum(extension_days) <> 0 OR
                       sum(replies) <> 0 OR sum(late_replies) <> 0 OR
                       sum(replies_overdue) <> 0 OR sum(overdue_first_any) <> 0 OR
                       sum(overdue_first_unit) <> 0 OR sum(extended_first_any) <> 0 OR
                       sum(extended_first_unit) <> 0
            ORDER BY center, g.grain, g.day, unit, g.category, g.channel
            ON CONFLICT (center, grain, day, unit, category, channel) DO UPDATE SET
                registered = r.registered + EXCLUDED.registered,
                accepted = r.accepted + EXCLUDED.accepted,
                concluded = r.concluded + EXCLUDED.concluded,
                substantiated = r.substantiated + EXCLUDED.substantiated,
                resolved = r.resolved + EXCLUDED.resolved,
                unsubstantiated = r.unsubstantiated + EXCLUDED.unsubstantiated,
                callbacks = r.callbacks + EXCLUDED.callbacks,
                answered = r.answered + EXCLUDED.answered,
                satisfied = r.satisfied + EXCLUDED.satisfied,
                basically_satisfied = r.basically_satisfied + EXCLUDED.basically_satisfied,
                dissatisfied = r.dissatisfied + EXCLUDED.dissatisfied,
                events = r.events + EXCLUDED.events,
                overdue_deadlines = r.overdue_deadlines + EXCLUDED.overdue_deadlines,
                extension_days = r.extension_days + EXCLUDED.extension_days,
                replies = r.replies + EXCLUDED.replies,
                late_replies = r.late_replies + EXCLUDED.late_replies,
                replies_overdue = r.replies_overdue + EXCLUDED.replies_overdue,
                overdue_first_any = r.overdue_first_any + EXCLUDED.overdue_first_any,
                overdue_first_unit = r.overdue_first_unit + EXCLUDED.overdue_first_unit,
                extended_first_any = r.extended_first_any + EXCLUDED.extended_first_any,
                extended_first_unit = r.extended_first_unit + EXCLUDED.extended_first_unit
            RETURNING r.center, r.grain, r.day, r.unit, r.category, r.channel,
                      r.registered + r.accepted + r.concluded + r.callbacks + r.events
                      + r.overdue_first_any + r.overdue_first_unit + r.extended_first_any
                      + r.extended_first_unit AS presence
        LOOP
            IF x.presence = 0 THEN
                DELETE FROM figure_cases
                WHERE center = x.center AND grain = x.grain AND day = x.day AND unit = x.unit AND
                  category = x.category AND channel = x.channel;
            END IF;
        END LOOP;
        DELETE FROM figure_cases_pending;

        FOR x IN
            INSERT INTO figure_clocks AS r
            SELECT center, g.grain, g.day, unit, g.category, g.channel, kind,
               sum(due), sum(on_time), sum(open_unmarked)
            FROM figure_clocks_pending p
            CROSS JOIN LATERAL (VALUES
                ('d', p.day, p.category, p.channel),
                ('m', date_trunc('month', p.day)::date, p.category, p.channel),
                ('u', date_trunc('month', p.day)::date, '*', '*')) g(grain, day, category, channel)
            GROUP BY center, g.grain, g.day, unit, g.category, g.channel, kind
            HAVING sum(due) <> 0 OR sum(on_time) <> 0 OR sum(open_unmarked) <> 0
            ORDER BY center, g.grain, g.day, unit, g.category, g.channel, kind
            ON CONFLICT (center, grain, day, unit, category, channel, kind) DO UPDATE SET
                due = r.due + EXCLUDED.due,
                on_time = r.on_time + EXCLUDED.on_time,
                open_unmarked = r.open_unmarked + EXCLUDED.open_unmarked
            RETURNING r.center, r.grain, r.day, r.unit, r.category, r.channel, r.kind,
                      r.due + r.on_time + r.open_unmarked AS presence
        LOOP
            IF x.presence = 0 THEN
                DELETE FROM figure_clocks
                WHERE center = x.center AND grain = x.grain AND day = x.day AND unit = x.unit AND
                  category = x.category AND channel = x.channel AND kind = x.kind;
            END IF;
        END LOOP;
        DELETE FROM figure_clocks_pending;

        FOR x IN
            INSERT INTO figure_open AS r
            SELECT center, unit, status, overdue, supervised, day,
               sum(cases)
            FROM figure_open_pending p
            GROUP BY center, unit, status, overdue, supervised, day
            HAVING sum(cases) <> 0
            ORDER BY center, unit, status, overdue, supervised, day
            ON CONFLICT (center, unit, status, overdue, supervised, day) DO UPDATE SET
                cases = r.cases + EXCLUDED.cases
            RETURNING r.center, r.unit, r.status, r.overdue, r.supervised, r.day, r.cases AS presence
        LOOP
            IF x.presence = 0 THEN
                DELETE FROM figure_open
                WHERE center = x.center AND unit = x.unit AND status = x.status AND
                  overdue = x.overdue AND supervised = x.supervised AND day = x.day;
            END IF;
        END LOOP;
        DELETE FROM figure_open_pending;
    END IF;

    FOR x IN
        INSERT INTO figure_days AS r
        SELECT center, g.grain, g.day, unit, g.category, g.channel, wd,
           sum(cases)
        FROM figure_days_pending p
        CROSS JOIN LATERAL (VALUES
            ('d', p.day, p.category, p.channel),
            ('m', date_trunc('month', p.day)::date, p.category, p.channel),
            ('u', date_trunc('month', p.day)::date, '*', '*')) g(grain, day, category, channel)
        GROUP BY center, g.grain, g.day, unit, g.category, g.channel, wd
        HAVING sum(cases) <> 0
        ORDER BY center, g.grain, g.day, unit, g.category, g.channel, wd
        ON CONFLICT (center, grain, day, unit, category, channel, wd) DO UPDATE SET
            cases = r.cases + EXCLUDED.cases
        RETURNING r.center, r.grain, r.day, r.unit, r.category, r.channel, r.wd,
                  r.cases AS presence
    LOOP
        IF x.presence = 0 THEN
            DELETE FROM figure_days
            WHERE center = x.center AND grain = x.grain AND day = x.day AND unit = x.unit AND
              category = x.category AND channel = x.channel AND wd = x.wd;
        END IF;
    END LOOP;
    DELETE FROM figure_days_pending;

END $$;

-- The same over every case straight from `*_rows_all()` (rebuilds): no pending rows.
DO $$
BEGIN
    EXECUTE replace(replace(replace(replace(replace(
        pg_get_functiondef('figure_apply(text)'::regprocedure),
        'FUNCTION public.figure_apply(', 'FUNCTION public.figure_apply_all('),
        'FROM figure_cases_pending p', 'FROM figure_case_rows_all() p'),
        'FROM figure_clocks_pending p', 'FROM figure_clock_rows_all() p'),
        'FROM figure_days_pending p', 'FROM figure_day_rows_all() p'),
        'FROM figure_open_pending p', 'FROM figure_open_rows_all() p');
END $$;

-- The repeats of the cases `nums`, replaced.
CREATE FUNCTION figure_repeats_refresh(nums text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM figure_repeats WHERE number = ANY(nums);
    INSERT INTO figure_repeats (number, what, day, unit, center, category, channel, rep,
                                prev_any, prev_unit)
    SELECT number, what, day, unit, center, category, channel, rep, prev_any, prev_unit
    FROM figure_flag_rows(nums)
    WHERE (rep AND prev_any IS NOT NULL) OR prev_unit IS NOT NULL;
END $$;

-- One case at a time: the plans cached for the session (index lookups by case number) beat
-- planning these statements for every projection.
ALTER FUNCTION figure_pend(text[], integer, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION figure_repeats_refresh(text[]) SET plan_cache_mode = force_generic_plan;

-- Recompute the rollups from scratch: 'all', or 'days' (after the calendar changed).
CREATE FUNCTION figure_rebuild(scope text DEFAULT 'all') RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM figure_days;
    IF scope = 'all' THEN
        DELETE FROM figure_cases;
        DELETE FROM figure_clocks;
        DELETE FROM figure_open;
        DELETE FROM figure_repeats;
        INSERT INTO figure_repeats (number, what, day, unit, center, category, channel, rep,
                                    prev_any, prev_unit)
        SELECT number, what, day, unit, center, category, channel, rep, prev_any, prev_unit
        FROM figure_flag_rows_all()
        WHERE (rep AND prev_any IS NOT NULL) OR prev_unit IS NOT NULL;
    END IF;
    PERFORM figure_apply_all(scope);
END $$;

-- The key of the calendar's advisory lock (api/stats/queries.py WORKDAYS_LOCK_KEY, "workdays").
CREATE FUNCTION figure_calendar_lock_key() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT x'776F726B64617973'::bigint
$$;

-- BEFORE each change of a case's projection rows: the first in the transaction subtracts the
-- case's contribution as it was and marks the case dirty.
CREATE FUNCTION figure_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        n := OLD.number;
    ELSE
        n := NEW.number;
    END IF;
    IF coalesce(current_setting('complaints.figure_rollups', true), '') <> 'off' THEN
        INSERT INTO figure_dirty (number) VALUES (n) ON CONFLICT DO NOTHING;
        IF FOUND THEN
            PERFORM pg_advisory_xact_lock_shared(figure_calendar_lock_key());
            PERFORM figure_pend(ARRAY[n], -1);
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

-- At commit: add the case's contribution as it is now and apply the difference.
CREATE FUNCTION figure_flush() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM figure_pend(ARRAY[NEW.number], 1);
    PERFORM figure_apply();
    PERFORM figure_repeats_refresh(ARRAY[NEW.number]);
    DELETE FROM figure_dirty WHERE number = NEW.number;
    RETURN NULL;
END $$;

CREATE TRIGGER case_figures_rollup BEFORE INSERT OR UPDATE OR DELETE ON case_figures
    FOR EACH ROW EXECUTE FUNCTION figure_touch();
CREATE TRIGGER case_deadlines_rollup BEFORE INSERT OR UPDATE OR DELETE ON case_deadlines
    FOR EACH ROW EXECUTE FUNCTION figure_touch();
CREATE TRIGGER case_events_rollup BEFORE INSERT OR UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION figure_touch();
CREATE CONSTRAINT TRIGGER figure_dirty_flush AFTER INSERT ON figure_dirty
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figure_flush();

-- The cases projected so far.
SELECT figure_rebuild('all');
