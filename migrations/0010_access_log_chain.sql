-- Issue 13: the access log is a hash chain, append-only even for its owner (R-32, R-35).
--
-- Each row carries the SHA-256 of its own text and of the row before it: a deleted or rewritten
-- row breaks the chain, and the chain head is sealed with a trusted timestamp outside
-- PostgreSQL (0011, activities/seal.py). The hash is made here, in a trigger, so every writer
-- (API, worker) chains alike; `activities/archive_anchor.py` recomputes it the same way.
-- The app role may only SELECT and INSERT (db.grant_app); these triggers refuse UPDATE, DELETE
-- and TRUNCATE to the owner too (a superuser can disable them: the chain and the seal show it).

ALTER TABLE access_log
    ADD COLUMN prev_sha256 text,
    ADD COLUMN sha256      text;

-- The exact text hashed: every field, strings prefixed by their length (no separator can be
-- forged inside a field), the instant in microseconds since the epoch.
CREATE FUNCTION access_log_text(
    p_id bigint, p_at timestamptz, p_actor_id text, p_actor_role text, p_number text,
    p_what text, p_prev text
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format('access_log/1|%s|%s|%s:%s|%s:%s|%s:%s|%s:%s|%s',
                  p_id, (extract(epoch FROM p_at) * 1000000)::bigint,
                  length(p_actor_id), p_actor_id, length(p_actor_role), p_actor_role,
                  length(p_number), p_number, length(p_what), p_what, coalesce(p_prev, '-'))
$$;

CREATE FUNCTION access_log_hash(p_text text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(p_text, 'UTF8')), 'hex')
$$;

-- One appender at a time (the key is "acclog" in ASCII); the id is drawn under the lock, so the
-- chain order is the id order.
CREATE FUNCTION access_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev text;
BEGIN
    PERFORM pg_advisory_xact_lock(x'6163636c6f67'::bigint);
    NEW.id := nextval(pg_get_serial_sequence('access_log', 'id'));
    NEW.at := coalesce(NEW.at, now());
    SELECT sha256 INTO prev FROM access_log ORDER BY id DESC LIMIT 1;
    NEW.prev_sha256 := prev;
    NEW.sha256 := access_log_hash(access_log_text(NEW.id, NEW.at, NEW.actor_id, NEW.actor_role,
                                                  NEW.number, NEW.what, prev));
    RETURN NEW;
END $$;

-- The rows written before this migration join the chain in id order.
DO $$
DECLARE
    r record;
    prev text;
BEGIN
    FOR r IN SELECT * FROM access_log ORDER BY id LOOP
        UPDATE access_log SET prev_sha256 = prev,
               sha256 = access_log_hash(access_log_text(r.id, r.at, r.actor_id, r.actor_role,
                                                        r.number, r.what, prev))
         WHERE id = r.id
        RETURNING sha256 INTO prev;
    END LOOP;
END $$;

ALTER TABLE access_log ALTER COLUMN sha256 SET NOT NULL;

CREATE TRIGGER access_log_chain BEFORE INSERT ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_chain();

CREATE FUNCTION access_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only (R-32): % refused', TG_OP;
END $$;
CREATE TRIGGER access_log_no_update BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_immutable();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_immutable();
