-- Issue 15: reports to the level above (分析汇总，报上级). Each center's report of a month,
-- quarter or year: the R-36..R-39 figures with trends, the units and categories with most
-- complaints and most overdue stages, open supervisions and inspection findings (`figures`,
-- what the JSON and the printable page show) and the `.xlsx` workbook made from them.
--
-- One report per (center, period kind, period start): the scheduled run and a leader's request
-- find the same row (api/reports/build.py). Append-only, like the archive: the app role may
-- SELECT and INSERT (db.APPEND_ONLY); these triggers refuse UPDATE, DELETE and TRUNCATE to the
-- owner too. `sha256` is the SHA-256 of the stored workbook bytes and `figures_sha256` of the
-- figures as PostgreSQL prints the stored jsonb (`figures::text`), both made here; each
-- report carries the hash of its center's report before it (`prev_sha256`), so a removed or
-- rewritten report breaks its center's chain.

CREATE TABLE center_reports (
    id              bigserial PRIMARY KEY,
    center          text NOT NULL,
    parent          text,                    -- the center reported to (the register's parent)
    period_kind     text NOT NULL CHECK (period_kind IN ('month', 'quarter', 'year')),
    period          text NOT NULL,           -- 2026-01, 2026-Q1, 2026
    period_start    date NOT NULL,
    period_end      date NOT NULL,           -- inclusive
    generated_at    timestamptz NOT NULL DEFAULT now(),
    generated_by    text NOT NULL,           -- `system` (the schedule) or a leader's id
    figures         jsonb NOT NULL,
    xlsx            bytea NOT NULL,
    sha256          text NOT NULL DEFAULT '',
    figures_sha256  text NOT NULL DEFAULT '',
    prev_sha256     text,
    CHECK (period_end >= period_start),
    UNIQUE (center, period_kind, period_start)
);
CREATE INDEX center_reports_parent_idx ON center_reports (parent, period_start DESC)
    WHERE parent IS NOT NULL;
CREATE INDEX center_reports_center_idx ON center_reports (center, period_start DESC);

-- The hashes, from the stored values; one appender per center at a time (the chain's order is
-- the id order).
CREATE FUNCTION center_reports_seal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('center_reports:' || NEW.center));
    NEW.sha256 := encode(sha256(NEW.xlsx), 'hex');
    NEW.figures_sha256 := encode(sha256(convert_to(NEW.figures::text, 'UTF8')), 'hex');
    SELECT sha256 INTO NEW.prev_sha256 FROM center_reports
     WHERE center = NEW.center ORDER BY id DESC LIMIT 1;
    RETURN NEW;
END $$;
CREATE TRIGGER center_reports_seal BEFORE INSERT ON center_reports
    FOR EACH ROW EXECUTE FUNCTION center_reports_seal();

CREATE FUNCTION center_reports_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'center reports are append-only (分析汇总报上级): % refused', TG_OP;
END $$;
CREATE TRIGGER center_reports_no_update BEFORE UPDATE OR DELETE ON center_reports
    FOR EACH ROW EXECUTE FUNCTION center_reports_immutable();
CREATE TRIGGER center_reports_no_truncate BEFORE TRUNCATE ON center_reports
    FOR EACH STATEMENT EXECUTE FUNCTION center_reports_immutable();
