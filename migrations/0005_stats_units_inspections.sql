-- Efficiency figures (R-36..R-39), the supervision board, the unit register and inspection
-- rounds (R-40). What each figure counts is written in docs/figures.md and next to each field
-- of `GET /v1/stats` (api/stats.py).

-- 1. Two narrow projections of `complaints`, kept in step by triggers on every write of the
--    read model, so the figures scan a few megabytes instead of the wide read-model rows (and
--    never unnest `state` at query time).

-- 1a. One row per started case: what the case-level figures count and group by.
CREATE TABLE case_figures (
    number         text PRIMARY KEY REFERENCES complaints(number) ON DELETE CASCADE,
    center         text NOT NULL,
    status         text NOT NULL,
    grade          text NOT NULL,
    handling_unit  text,
    category       text NOT NULL,
    channel        text NOT NULL,
    received_at    timestamptz NOT NULL,
    accepted_at    timestamptz,
    decided_at     timestamptz,
    -- Beijing dates and months, computed once here rather than for every row of every query.
    received_day   date NOT NULL,
    decided_day    date,
    received_month text NOT NULL,               -- YYYY-MM
    accepted_month text,
    decided_month  text,
    finding        text,
    with_measures  boolean NOT NULL,            -- a measure other than `none` (R-37)
    overdue        boolean NOT NULL,
    supervised     boolean NOT NULL,
    next_due       timestamptz
);
CREATE INDEX case_figures_received_idx ON case_figures (center, received_at);
CREATE INDEX case_figures_accepted_idx ON case_figures (center, accepted_at)
    WHERE accepted_at IS NOT NULL;
CREATE INDEX case_figures_decided_idx ON case_figures (center, decided_at)
    WHERE decided_at IS NOT NULL;
-- The open cases, for the supervision board and the open-case figures.
CREATE INDEX case_figures_open_idx ON case_figures (center, next_due) WHERE status <> 'archived';

-- The Beijing month (YYYY-MM) of an instant.
CREATE FUNCTION beijing_month(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')
$$;

CREATE FUNCTION case_figures_upsert(c complaints) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_figures AS f (number, center, status, grade, handling_unit, category,
                                   channel, received_at, accepted_at, decided_at, received_day,
                                   decided_day, received_month, accepted_month, decided_month,
                                   finding, with_measures, overdue, supervised, next_due)
    VALUES (c.number, c.center, c.status, c.grade, c.handling_unit, c.category, c.channel,
            c.received_at, c.accepted_at, c.decided_at,
            (c.received_at AT TIME ZONE 'Asia/Shanghai')::date,
            (c.decided_at AT TIME ZONE 'Asia/Shanghai')::date,
            beijing_month(c.received_at), beijing_month(c.accepted_at),
            beijing_month(c.decided_at), c.finding,
            coalesce(jsonb_typeof(c.measures) = 'array' AND c.measures - 'none' <> '[]'::jsonb,
                     false),
            c.overdue, c.supervised, c.next_due)
    ON CONFLICT (number) DO UPDATE SET
        status = EXCLUDED.status, grade = EXCLUDED.grade, handling_unit = EXCLUDED.handling_unit,
        accepted_at = EXCLUDED.accepted_at, decided_at = EXCLUDED.decided_at,
        decided_day = EXCLUDED.decided_day, accepted_month = EXCLUDED.accepted_month,
        decided_month = EXCLUDED.decided_month, finding = EXCLUDED.finding,
        with_measures = EXCLUDED.with_measures, overdue = EXCLUDED.overdue,
        supervised = EXCLUDED.supervised, next_due = EXCLUDED.next_due
    WHERE (f.status, f.grade, f.handling_unit, f.accepted_at, f.decided_at, f.finding,
           f.with_measures, f.overdue, f.supervised, f.next_due)
          IS DISTINCT FROM
          (EXCLUDED.status, EXCLUDED.grade, EXCLUDED.handling_unit, EXCLUDED.accepted_at,
           EXCLUDED.decided_at, EXCLUDED.finding, EXCLUDED.with_measures, EXCLUDED.overdue,
           EXCLUDED.supervised, EXCLUDED.next_due)
$$;

-- 1b. Every clock of every case, one row each. The list `state.deadlines` only ever grows (a
--     clock is closed or cancelled in place, a restarted clock is a new entry), so a row is
--     keyed by its position in it.
CREATE TABLE case_deadlines (
    number        text NOT NULL REFERENCES complaints(number) ON DELETE CASCADE,
    idx           integer NOT NULL,             -- 1-based position in state.deadlines
    center        text NOT NULL,                -- the case's, which never change:
    category      text NOT NULL,
    channel       text NOT NULL,
    kind          text NOT NULL,                -- domain.models.DeadlineKind
    start_at      timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,         -- after approved extensions
    state         text NOT NULL,                -- open | met | cancelled | expired
    overdue       boolean NOT NULL,             -- the workflow marked it overdue (R-30)
    closed_at     timestamptz,
    extended_days integer NOT NULL DEFAULT 0,
    provisional   boolean NOT NULL DEFAULT false,
    -- The handling unit of the case while the clock ran, frozen once the clock is settled (met,
    -- or marked overdue): a referral's handling clock stays the unit's even after a return.
    unit          text,
    -- When the clock was decided: the closing instant if met on time, else the due instant
    -- (a missed clock counts in the period in which it fell due); and its Beijing month.
    settled_at    timestamptz NOT NULL,
    settled_month text NOT NULL,
    PRIMARY KEY (number, idx)
);
CREATE INDEX case_deadlines_settled_idx ON case_deadlines (center, settled_at);

CREATE FUNCTION case_deadlines_upsert(c complaints) RETURNS void LANGUAGE sql AS $$
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
                                       <= (e.dl->>'due_at')::timestamptz
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

CREATE FUNCTION case_projections_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.workflow_started THEN
        PERFORM case_figures_upsert(NEW);
    END IF;
    IF NEW.state IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state) THEN
        PERFORM case_deadlines_upsert(NEW);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER complaints_projections AFTER INSERT OR UPDATE ON complaints
    FOR EACH ROW EXECUTE FUNCTION case_projections_sync();

SELECT case_figures_upsert(c) FROM complaints c WHERE c.workflow_started;
SELECT case_deadlines_upsert(c) FROM complaints c WHERE c.state IS NOT NULL;

-- 2. The working-day calendar (R-41) for SQL: one row per day, filled from domain.workdays by
--    api/stats.py (`ensure_workdays`) for every year the figures touch, refilled when the
--    holiday data of a year changes (R-43). `ordinal` counts working days from the first day
--    in the table up to and including `day`, so "working days after a, up to and including b"
--    is ordinal(b) - ordinal(a).
CREATE TABLE workdays (
    day      date PRIMARY KEY,
    working  boolean NOT NULL,
    ordinal  integer NOT NULL
);

CREATE TABLE workday_years (
    year      integer PRIMARY KEY,
    official  boolean NOT NULL,                 -- false: Monday-Friday fallback (R-43)
    digest    text NOT NULL,                    -- sha256 of the year's days off, to notice new data
    filled_at timestamptz NOT NULL DEFAULT now()
);

-- 3. The unit register (被督查单位名录): the units inspection rounds draw from (R-40) and the
--    names the figures show. Seeded from the jurisdiction register of 0004 (scope 'unit').
CREATE TABLE unit_register (
    center      text NOT NULL,
    code        text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name        text NOT NULL,
    active      boolean NOT NULL DEFAULT true,  -- false: kept for history, never drawn
    inspect     boolean NOT NULL DEFAULT true,  -- false: not subject to inspection rounds
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text,
    PRIMARY KEY (center, code)
);

INSERT INTO unit_register (center, code, name, updated_by)
SELECT center, unit_code, unit_name, 'migration' FROM center_units WHERE scope = 'unit'
ON CONFLICT DO NOTHING;

-- 4. Inspection rounds (明查暗访, R-40): the draw (seed and lists, also in the workflow history)
--    and the findings. A finding's facts stay here; Temporal sees only its non-personal summary.
CREATE TABLE inspection_rounds (
    round_id            text PRIMARY KEY,       -- the InspectionRoundWorkflow's id
    center              text NOT NULL,
    started_at          timestamptz NOT NULL,
    closes_at           timestamptz NOT NULL,
    seed                bigint NOT NULL,
    proportion_percent  integer NOT NULL,
    min_units           integer NOT NULL,
    register_units      jsonb NOT NULL,         -- unit codes drawn from
    previous_round      text,
    mandatory           jsonb NOT NULL,         -- units with findings in the previous round
    drawn               jsonb NOT NULL,         -- the units to inspect (mandatory included)
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_at           timestamptz,
    closed_by           text,
    units_with_findings jsonb
);
CREATE INDEX inspection_rounds_center_idx ON inspection_rounds (center, started_at DESC);

CREATE TABLE inspection_findings (
    id               text PRIMARY KEY,
    round_id         text NOT NULL REFERENCES inspection_rounds(round_id),
    unit             text NOT NULL,
    category         text NOT NULL,
    grade            text NOT NULL,
    summary          text NOT NULL,
    facts            text NOT NULL,
    evidence         jsonb NOT NULL DEFAULT '[]',
    respondent_staff text,
    submitted_by     text NOT NULL,
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    number           text,                      -- the complaint it became (channel inspection)
    filed_at         timestamptz
);
CREATE INDEX inspection_findings_round_idx ON inspection_findings (round_id, submitted_at);
