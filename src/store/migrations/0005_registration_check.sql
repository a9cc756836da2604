-- Version 5: when the chain was last seen mapping our inbox (FIB/URL), so a
-- cold start (a background job, an extension) does not pay a chain round
-- trip to check it again before it is due.
ALTER TABLE own_inbox ADD COLUMN checked_at INTEGER;  -- unix seconds
