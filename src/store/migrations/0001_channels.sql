-- fio-peer wallet schema, version 1: identity, channels, messages.

-- The wallet's own identity and automation settings (one row).
CREATE TABLE identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fio_address TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    automation  TEXT NOT NULL,         -- JSON, see wallet::Automation
    inbox_type  TEXT,                  -- our inbox, sent as return_address
    inbox       TEXT
);

-- One channel per (our FIO address, peer FIO address).
CREATE TABLE channels (
    id                 INTEGER PRIMARY KEY,
    own_address        TEXT NOT NULL,
    peer_address       TEXT NOT NULL,
    peer_key           BLOB NOT NULL,  -- 65-byte SEC1, pinned when the channel was requested
    state              TEXT NOT NULL CHECK (state IN ('requested', 'open', 'closed')),
    initiator          TEXT NOT NULL CHECK (initiator IN ('us', 'peer')),
    our_token          TEXT UNIQUE,    -- we issued it; the peer sends with it
    our_previous_token TEXT UNIQUE,    -- still accepted until the next rotation (messages in flight)
    peer_token         TEXT,           -- the peer issued it; we send with it
    peer_inbox_type    TEXT,
    peer_inbox         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (own_address, peer_address)
);

-- Every message in both directions, in plain text as FIP-24 says.
-- UNIQUE(channel, direction, message_id) is the replay guard: it is written
-- in the same transaction as the message's effects.
CREATE TABLE messages (
    id                    INTEGER PRIMARY KEY,
    channel_id            INTEGER NOT NULL REFERENCES channels(id),
    direction             TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    message_id            TEXT NOT NULL,
    action                TEXT NOT NULL,
    referenced_message_id TEXT,
    data                  TEXT NOT NULL,   -- the exact signed data text
    signature             TEXT NOT NULL,
    envelope              TEXT,            -- out: the envelope to deliver
    peer_status           TEXT,            -- out: what the peer's status reply said
    created_at            INTEGER NOT NULL,
    UNIQUE (channel_id, direction, message_id)   -- also serves per-channel history
);
