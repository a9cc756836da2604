-- Version 4: FIP-3 friending. The chain holds the friend list (encrypted to
-- ourselves), our private NBPAs and what we granted; these tables are the
-- wallet's working copy, and the friend list can be rebuilt from the chain.

-- Friends by public key (FIP-3 friendship is between keys, not addresses).
CREATE TABLE friends (
    id            INTEGER PRIMARY KEY,  -- the order friends were added in
    public_key    TEXT NOT NULL UNIQUE, -- FIO… form
    fio_address   TEXT NOT NULL,        -- '' when unknown
    look_up_index TEXT NOT NULL,        -- hashA of the friend on our list
    added_at      INTEGER NOT NULL      -- unix seconds
);

-- Our NBPAs placed with privaddadr, and the key id the chain gave each.
-- Codes are in upper case.
CREATE TABLE own_nbpas (
    chain_code     TEXT NOT NULL,
    token_code     TEXT NOT NULL,
    public_address TEXT NOT NULL,
    key_id         INTEGER,             -- NULL: accepted, id not answered (409)
    placed_at      INTEGER NOT NULL,
    PRIMARY KEY (chain_code, token_code)
);

-- What we granted to whom (privganbpa), so a wallet can show who sees what.
CREATE TABLE nbpa_grants (
    friend_key  TEXT NOT NULL REFERENCES friends (public_key) ON DELETE CASCADE,
    level       TEXT NOT NULL CHECK (level IN ('address', 'chain', 'nbpa')),
    level_index TEXT NOT NULL,
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (friend_key, level, level_index)
);
