-- Inspection rounds the regulations would recognise (issue 15, R-40).
--
-- 1. A leader's exemption of a unit with unresolved findings from the draws: only with a reason,
--    for a limited time; every round it applies to lists it (inspection_rounds.exempted). Setting
--    `inspect: false` in the register no longer removes such a unit from a draw by itself.
CREATE TABLE inspection_exemptions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    center      text NOT NULL,
    unit        text NOT NULL,
    reason      text NOT NULL CHECK (length(btrim(reason)) >= 4),
    granted_by  text NOT NULL,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    valid_until timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_by  text,
    CHECK (valid_until > granted_at)
);
CREATE INDEX inspection_exemptions_center_idx ON inspection_exemptions (center, unit, granted_at DESC);

-- 2. The draw as it is now made: the units with unresolved findings of every round (mandatory),
--    the random quota drawn in addition, the units not yet inspected this year, the exemptions
--    and the unannounced instant the round was planned for (seeded; NULL for a round by hand).
ALTER TABLE inspection_rounds
    ADD COLUMN random_quota    integer,
    ADD COLUMN random_units    jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN uncovered       jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN exempted        jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN not_in_register jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN scheduled_at    timestamptz,
    ADD COLUMN plan_seed       bigint;

-- The unresolved findings of a center are looked up through their cases.
CREATE INDEX inspection_findings_number_idx ON inspection_findings (number) WHERE number IS NOT NULL;
