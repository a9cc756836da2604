-- Version 8: the event log, a queue that holds only what waits for the
-- user, and indexes for paging.

-- What happened, in order, so an app that attaches late or restarts reads
-- what it missed (docs/ffi.md "Events"). Written in the transaction of what
-- it reports. Bounded: beyond wallet::events::MAX_EVENTS the oldest go.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- the cursor: never reused
    body        TEXT NOT NULL,                      -- JSON, see wallet::events
    created_at  INTEGER NOT NULL                    -- unix milliseconds
);

-- How far the app has handled the log (one row, written by mark_handled).
CREATE TABLE event_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    handled  INTEGER NOT NULL
);

-- Requests answered before this version no longer wait for the user.
UPDATE queue SET handled = 1
 WHERE handled = 0
   AND message_row IN (SELECT message_row FROM requests WHERE state != 'pending');

-- Paging: what waits, in arrival order; a channel's messages by row.
CREATE INDEX queue_waiting ON queue (message_row) WHERE handled = 0;
CREATE INDEX messages_channel ON messages (channel_id, id);
