-- Issue 13: seals of the chain heads — RFC 3161 trusted timestamps (可信时间戳) made on a
-- Temporal Schedule (workflows/seal.py, activities/seal.py).
--
-- `message` is the exact text timestamped (canonical JSON: every archive appended since the
-- previous seal with its hash, the archive chain's head, the access log's head, the previous
-- seal's hash); `token` the authority's DER TimeStampResp over SHA-256(message). Each seal is
-- also copied out of PostgreSQL (settings.seal_dir) for offline checks. Append-only: the app
-- role may SELECT and INSERT (db.grant_app); UPDATE, DELETE and TRUNCATE are refused to all.

CREATE TABLE archive_seals (
    id                 bigserial PRIMARY KEY,
    sealed_at          timestamptz NOT NULL DEFAULT now(),
    archive_id         bigint,              -- the archive chain's head sealed (NULL: empty)
    archive_sha256     text,
    access_log_id      bigint,              -- the access log's head sealed
    access_log_sha256  text,
    message            text NOT NULL,
    message_sha256     text NOT NULL,
    token              bytea NOT NULL,
    tsa_url            text NOT NULL
);

CREATE FUNCTION archive_seals_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'seals are immutable (R-35): % refused', TG_OP;
END $$;
CREATE TRIGGER archive_seals_no_update BEFORE UPDATE OR DELETE ON archive_seals
    FOR EACH ROW EXECUTE FUNCTION archive_seals_immutable();
CREATE TRIGGER archive_seals_no_truncate BEFORE TRUNCATE ON archive_seals
    FOR EACH STATEMENT EXECUTE FUNCTION archive_seals_immutable();
