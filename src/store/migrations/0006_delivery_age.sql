-- Version 6: when a delivery was queued (or put back by the user), so a
-- delivery that keeps failing gives up after an age as well as after a
-- number of attempts. Rows from before take their message's time.
ALTER TABLE outbox ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0;  -- unix milliseconds
UPDATE outbox SET queued_at = (SELECT created_at * 1000 FROM messages WHERE messages.id = outbox.message_row);
