-- The complainant's own words (issue 13, R-32, R-33): an appeal reason or a callback comment is
-- kept here as given; the workflow and the handling unit get it redacted of personal data
-- (`domain/personal_data.py`). Personal data: read only with the case file (logged).
CREATE TABLE complainant_texts (
    id          bigserial PRIMARY KEY,
    number      text NOT NULL REFERENCES complaints(number),
    action      text NOT NULL,                -- appeal, record-satisfaction
    field       text NOT NULL,                -- reason, comment
    text        text NOT NULL CHECK (length(text) <= 8000),
    actor_id    text NOT NULL,                -- complainant, or the handler at the callback
    actor_role  text NOT NULL,
    key         text,                         -- sha256 of the Idempotency-Key, if any
    at          timestamptz NOT NULL DEFAULT now()
);

-- A retried action (same key) writes its words once; NULL keys never collide.
CREATE UNIQUE INDEX complainant_texts_once ON complainant_texts (number, action, field, key);
CREATE INDEX complainant_texts_number ON complainant_texts (number);
