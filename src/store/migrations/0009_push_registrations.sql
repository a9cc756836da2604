-- Version 9: where the relay pushes to wake this wallet (docs/protocol.md
-- §4.4), kept so that an inbox move registers them on the new inbox.
CREATE TABLE push_registrations (
    id         INTEGER PRIMARY KEY,
    identity   TEXT NOT NULL UNIQUE,  -- what makes it one device (its endpoint, or gateway url, app_id and pushkey)
    target     TEXT NOT NULL,         -- the subscription JSON the relay took
    inbox_id   TEXT NOT NULL,         -- the inbox it is registered on
    push_id    TEXT NOT NULL,         -- the relay's id for it there
    created_at INTEGER NOT NULL       -- unix seconds
);

-- How far the notification extension has turned events into notices (one
-- row): each event is shown at most once, whichever process receives it.
CREATE TABLE notify_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    notified INTEGER NOT NULL
);
