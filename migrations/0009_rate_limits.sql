-- Issue 13 (part B): the sliding windows of the API's limits, shared by every API replica
-- (api/ratelimit.py). One row per counted event: a wrong access code (scope `code-case` keyed
-- by complaint number, `code-client` keyed by the client's address) or an action or signal
-- (`act-actor`, `act-case`, `act-actor-case`). A key is over its limit while it has `limit`
-- live rows (expires_at in the future); nothing is counted while a key is over, so a key never
-- holds more than its limit, and expired rows are pruned (by the API, at most every few
-- seconds per process). No personal data: numbers, client addresses and staff ids only.
-- UNLOGGED: counting costs no WAL and no fsync at commit (bench/ratelimit.py); after a crash
-- of PostgreSQL the windows start empty, which only forgives the guesses of the last minutes.
CREATE UNLOGGED TABLE rate_events (
    id          bigserial PRIMARY KEY,
    scope       text NOT NULL,
    key         text NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX rate_events_key_idx ON rate_events (scope, key, expires_at);
CREATE INDEX rate_events_expiry_idx ON rate_events (expires_at);

-- One call per request, atomic across replicas: the keys are locked (transaction advisory
-- locks, class 0x72617465 'rate', in a fixed order), each key's live rows counted; if any key
-- is at its limit the answer is the seconds until it frees a slot and nothing is recorded;
-- else (when `record`) one row per key is added. 0 means allowed.
CREATE FUNCTION rate_hit(scopes text[], keys text[], limits integer[],
                         windows double precision[], record boolean)
    RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    live bigint;
    frees timestamptz;
    wait double precision := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(1918989413, h)
    FROM (SELECT DISTINCT hashtext(s || ':' || k) AS h
          FROM unnest(scopes, keys) AS u(s, k) ORDER BY 1) AS locks;
    FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
        DELETE FROM rate_events
        WHERE scope = scopes[i] AND key = keys[i] AND expires_at <= clock_timestamp();
        SELECT count(*) INTO live FROM rate_events WHERE scope = scopes[i] AND key = keys[i];
        IF live >= limits[i] THEN
            SELECT expires_at INTO frees FROM rate_events
            WHERE scope = scopes[i] AND key = keys[i]
            ORDER BY expires_at OFFSET live - limits[i] LIMIT 1;
            wait := greatest(wait, extract(epoch FROM frees - clock_timestamp()), 0.001);
        END IF;
    END LOOP;
    IF wait > 0 OR NOT record THEN
        RETURN wait;
    END IF;
    INSERT INTO rate_events (scope, key, expires_at)
    SELECT s, k, clock_timestamp() + w * interval '1 second'
    FROM unnest(scopes, keys, windows) AS u(s, k, w);
    RETURN 0;
END $$;

-- Give back one counted event of each key (an access code that turned out right).
CREATE FUNCTION rate_refund(scopes text[], keys text[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM rate_events WHERE id IN (
        SELECT (SELECT max(id) FROM rate_events r WHERE r.scope = u.s AND r.key = u.k)
        FROM unnest(scopes, keys) AS u(s, k));
$$;
