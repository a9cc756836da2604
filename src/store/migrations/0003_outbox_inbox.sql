-- Version 3: the outbox (envelopes waiting to be delivered) and our own
-- inbox on a relay.

-- One row per outgoing message, written in the same transaction as the
-- message, so nothing sent is lost before it is delivered.
CREATE TABLE outbox (
    message_row     INTEGER PRIMARY KEY REFERENCES messages(id),
    to_type         TEXT,               -- where to deliver when it is not the
    to_address      TEXT,               --   channel's peer inbox (a return address)
    use_chain       INTEGER NOT NULL DEFAULT 0 CHECK (use_chain IN (0, 1)),
                                        -- 1: the known inbox failed; ask the chain
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,   -- unix milliseconds
    last_error      TEXT,
    delivered_at    INTEGER,            -- unix seconds
    delivered_seq   INTEGER             -- the relay's seq from its 202
);
-- Pending rows in row order: the delivery scan.
CREATE INDEX outbox_pending ON outbox (message_row) WHERE state = 'pending';

-- Our inbox: created on a relay, its URL registered on chain as FIB/URL.
CREATE TABLE own_inbox (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    relay          TEXT NOT NULL,       -- relay base URL it was created on
    inbox_id       TEXT NOT NULL,
    credential     TEXT NOT NULL,       -- bearer secret for fetch and ack
    inbox_url      TEXT NOT NULL,       -- what senders post to (FIB/URL)
    registered_at  INTEGER,             -- unix seconds of the last addaddress
    registered_tx  TEXT
);

-- Inboxes we moved away from: still fetched, so what peers sent there
-- before they learnt the new location is not lost.
CREATE TABLE previous_inbox (
    inbox_id     TEXT PRIMARY KEY,
    relay        TEXT NOT NULL,
    credential   TEXT NOT NULL,
    inbox_url    TEXT NOT NULL,
    replaced_at  INTEGER NOT NULL       -- unix seconds
);

-- Envelopes fetched whose sender's key could not be looked up yet (the
-- chain was unreachable). Held here, in the transaction of their batch, so
-- the relay can be acknowledged; received again by later syncs.
CREATE TABLE held_envelopes (
    id          INTEGER PRIMARY KEY,
    digest      BLOB NOT NULL UNIQUE,   -- sha256 of the envelope: held once
    envelope    TEXT NOT NULL,
    held_at     INTEGER NOT NULL,       -- unix seconds
    tried_at    INTEGER NOT NULL,       -- unix seconds of the last attempt:
                                        --   least recently tried go first
    attempts    INTEGER NOT NULL DEFAULT 1,
    last_error  TEXT
);
CREATE INDEX held_envelopes_tried ON held_envelopes (tried_at, id);
