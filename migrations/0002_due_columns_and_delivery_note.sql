-- The read model keeps every open due instant, one column per deadline kind; 0001 lacked two.
ALTER TABLE complaints
    ADD COLUMN acknowledgement_due timestamptz,  -- R-05 (24 hours)
    ADD COLUMN return_due          timestamptz;  -- R-44 return window of a referral

-- The sender's remark on a delivery that needed no channel (e.g. an anonymous complainant).
ALTER TABLE notifications ADD COLUMN note text;

-- Failed deliveries are what operators look at.
CREATE INDEX notifications_failed_idx ON notifications (created_at) WHERE status = 'failed';
