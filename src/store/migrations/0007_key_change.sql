-- Version 7: a peer's key change is surfaced. Requests gain the state
-- 'voided' (settled by the wallet itself, with the reason), and a queue
-- item can carry the key a peer had before the change it reports.

-- SQLite cannot change a CHECK constraint: the table is rebuilt, in the
-- migration's transaction. Nothing references requests.
CREATE TABLE requests_v7 (
    message_row INTEGER PRIMARY KEY REFERENCES messages(id),
    kind        TEXT NOT NULL CHECK (kind IN ('channel', 'funds', 'pub_address')),
    state       TEXT NOT NULL
                CHECK (state IN ('pending', 'accepted', 'rejected', 'cancelled', 'paid', 'voided')),
    answer_row  INTEGER REFERENCES messages(id),
    updated_at  INTEGER NOT NULL,
    reason      TEXT               -- why the wallet voided it
);
INSERT INTO requests_v7 (message_row, kind, state, answer_row, updated_at)
    SELECT message_row, kind, state, answer_row, updated_at FROM requests;
DROP TABLE requests;
ALTER TABLE requests_v7 RENAME TO requests;

ALTER TABLE queue ADD COLUMN previous_key BLOB;  -- 65-byte SEC1: the peer's key before a change
