-- R-21: the respondent's reply to a request for documents has its own clock.
ALTER TABLE complaints ADD COLUMN document_reply_due timestamptz;
