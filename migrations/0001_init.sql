-- The read model, personal data, events, outbox, archive and intake idempotency.
-- Personal data (R-33) lives only in `complainants`; Temporal holds just `complainant_ref`.

CREATE TABLE complainants (
    ref            text PRIMARY KEY,              -- opaque key carried by the workflow
    name           text,                          -- NULL when anonymous (R-04)
    phone          text,
    email          text,
    address        text,
    id_number      text,
    anonymous      boolean NOT NULL DEFAULT false,
    agent          jsonb,                         -- entrusted agent (R-04), personal too
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE complaints (
    number              text PRIMARY KEY,
    center              text NOT NULL DEFAULT 'default',
    complainant_ref     text NOT NULL REFERENCES complainants(ref),
    access_code_hash    text NOT NULL,            -- sha256 hex of the access code (R-06)
    status              text NOT NULL,
    outcome             text,
    channel             text NOT NULL,
    form                text NOT NULL,
    category            text NOT NULL,
    grade               text NOT NULL,
    respondent_unit     text NOT NULL,
    respondent_unit_name text NOT NULL DEFAULT '',
    respondent_staff    text,                     -- the respondent's staff name, never sent to Temporal
    facts               text NOT NULL,            -- the original facts and reasons (R-03, R-32)
    evidence            jsonb NOT NULL DEFAULT '[]',
    summary             text NOT NULL DEFAULT '',
    route               text,
    handling_unit       text,
    policy              text NOT NULL,
    policy_version      integer NOT NULL,
    received_at         timestamptz NOT NULL,
    registered_at       timestamptz NOT NULL DEFAULT now(),
    accepted_at         timestamptz,
    decided_at          timestamptz,
    archived_at         timestamptz,
    acceptance_due      timestamptz,
    opinion_due         timestamptz,
    handling_due        timestamptz,
    overall_due         timestamptz,
    callback_due        timestamptz,
    supervision_due     timestamptz,
    next_due            timestamptz,
    overdue             boolean NOT NULL DEFAULT false,
    ever_overdue        boolean NOT NULL DEFAULT false,
    supervised          boolean NOT NULL DEFAULT false,
    extended_days       integer NOT NULL DEFAULT 0,
    returns             integer NOT NULL DEFAULT 0,
    finding             text,
    measures            jsonb,
    rating              text,
    state               jsonb,                    -- the last projected CaseState (non-personal)
    version             integer NOT NULL DEFAULT 0,
    workflow_started    boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX complaints_status_idx ON complaints (status);
CREATE INDEX complaints_handling_unit_idx ON complaints (handling_unit, status);
CREATE INDEX complaints_category_idx ON complaints (category);
CREATE INDEX complaints_channel_idx ON complaints (channel);
CREATE INDEX complaints_registered_idx ON complaints (registered_at);
CREATE INDEX complaints_overdue_idx ON complaints (overdue) WHERE overdue;
CREATE INDEX complaints_supervised_idx ON complaints (supervised) WHERE supervised;
CREATE INDEX complaints_center_idx ON complaints (center, registered_at DESC);

CREATE TABLE case_events (
    number         text NOT NULL REFERENCES complaints(number),
    seq            integer NOT NULL,
    action         text NOT NULL,
    actor_id       text NOT NULL,
    actor_role     text NOT NULL,
    actor_unit     text,
    at             timestamptz NOT NULL,
    status_before  text NOT NULL,
    status_after   text NOT NULL,
    detail         jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (number, seq)
);
CREATE INDEX case_events_action_idx ON case_events (action, at);

CREATE TABLE notifications (
    id             bigserial PRIMARY KEY,
    key            text NOT NULL UNIQUE,          -- idempotency: "<number>:<seq>"
    number         text NOT NULL,
    kind           text NOT NULL,
    recipient      text NOT NULL,                 -- complainant | unit | handler | leader | supervisor
    unit           text,
    complainant_ref text,
    about_case     text,
    data           jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    channel        text
);
CREATE INDEX notifications_number_idx ON notifications (number, id);
CREATE INDEX notifications_pending_idx ON notifications (next_attempt_at) WHERE status = 'pending';

CREATE TABLE archives (
    id             bigserial PRIMARY KEY,
    number         text NOT NULL UNIQUE,
    archived_at    timestamptz NOT NULL DEFAULT now(),
    document       jsonb NOT NULL,                -- the whole case file incl. Temporal history
    canonical      text NOT NULL,                 -- the exact text hashed
    sha256         text NOT NULL,
    prev_sha256    text                           -- the previous archive's hash: a chain (R-35)
);

-- R-35: archive rows can be inserted, never updated or deleted.
CREATE FUNCTION archives_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'archives are immutable (R-35): % refused', TG_OP;
END $$;
CREATE TRIGGER archives_no_update BEFORE UPDATE OR DELETE ON archives
    FOR EACH ROW EXECUTE FUNCTION archives_immutable();
CREATE TRIGGER archives_no_truncate BEFORE TRUNCATE ON archives
    FOR EACH STATEMENT EXECUTE FUNCTION archives_immutable();

CREATE TABLE intake_keys (
    key            text PRIMARY KEY,              -- the Idempotency-Key header; a retry gets the
                                                  -- same number and a fresh access code (never stored in clear)
    number         text NOT NULL,
    request_hash   text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE access_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_id       text NOT NULL,
    actor_role     text NOT NULL,
    number         text NOT NULL,
    what           text NOT NULL
);
CREATE INDEX access_log_number_idx ON access_log (number, at);

CREATE SEQUENCE complaint_number_seq;
