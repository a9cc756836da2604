-- Version 2: requests with their status, and the user's queue.

-- Funds, public-address and channel requests in both directions, keyed by
-- the request message's row (found by message id through messages' index).
CREATE TABLE requests (
    message_row INTEGER PRIMARY KEY REFERENCES messages(id),
    kind        TEXT NOT NULL CHECK (kind IN ('channel', 'funds', 'pub_address')),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected', 'cancelled', 'paid')),
    answer_row  INTEGER REFERENCES messages(id),
    updated_at  INTEGER NOT NULL
);

-- What the user has to look at, in arrival order.
-- One item per message, keyed by the message's row (no extra index to keep).
CREATE TABLE queue (
    message_row INTEGER PRIMARY KEY REFERENCES messages(id),
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    action      TEXT NOT NULL,
    handled     INTEGER NOT NULL DEFAULT 0 CHECK (handled IN (0, 1)),
    created_at  INTEGER NOT NULL
);
