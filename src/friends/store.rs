//! The wallet's FIP-3 tables (migration 0004): friends, our placed NBPAs,
//! and the grants we made.

use rusqlite::{params, Connection, OptionalExtension};

use crate::crypto::PublicKey;

/// A friend on our list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Friend {
    pub public_key: PublicKey,
    /// Empty when only the key is known.
    pub fio_address: String,
    /// The friend's look-up index on our list (FIP-3 `fio_public_key_hash`).
    pub look_up_index: String,
    /// Unix seconds.
    pub added_at: i64,
}

/// One of our NBPAs as placed on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedNbpa {
    pub chain_code: String,
    pub token_code: String,
    pub public_address: String,
    /// The chain's id of this NBPA (what an NBPA-level grant names);
    /// `None` when the chain accepted it without telling (a 409 answer).
    pub key_id: Option<u64>,
}

fn friend(r: &rusqlite::Row<'_>) -> rusqlite::Result<Friend> {
    let key: String = r.get(0)?;
    let public_key = PublicKey::parse(&key).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Friend {
        public_key,
        fio_address: r.get(1)?,
        look_up_index: r.get(2)?,
        added_at: r.get(3)?,
    })
}

const FRIEND_COLUMNS: &str = "public_key, fio_address, look_up_index, added_at";

/// Adds or refreshes a friend; a known address is not replaced by ''.
pub(crate) fn upsert_friend(conn: &Connection, f: &Friend) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO friends (public_key, fio_address, look_up_index, added_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (public_key) DO UPDATE SET
           fio_address = CASE WHEN excluded.fio_address = '' THEN fio_address ELSE excluded.fio_address END,
           look_up_index = excluded.look_up_index",
        params![
            f.public_key.to_fio_string(),
            f.fio_address,
            f.look_up_index,
            f.added_at
        ],
    )?;
    Ok(())
}

pub(crate) fn delete_friend(conn: &Connection, key: &PublicKey) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM friends WHERE public_key = ?1",
        [key.to_fio_string()],
    )? > 0)
}

/// The friend with this FIO key (`FIO…`) or FIO address.
pub(crate) fn find_friend(
    conn: &Connection,
    key_or_address: &str,
) -> rusqlite::Result<Option<Friend>> {
    let lower = key_or_address.to_ascii_lowercase();
    conn.query_row(
        &format!("SELECT {FRIEND_COLUMNS} FROM friends WHERE public_key = ?1 OR (fio_address = ?2 AND ?2 != '') ORDER BY id LIMIT 1"),
        params![key_or_address, lower],
        friend,
    )
    .optional()
}

pub(crate) fn friends(conn: &Connection, limit: u32, offset: u32) -> rusqlite::Result<Vec<Friend>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FRIEND_COLUMNS} FROM friends ORDER BY id LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt
        .query_map(params![limit, offset], friend)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(crate) fn all_friends(conn: &Connection) -> rusqlite::Result<Vec<Friend>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {FRIEND_COLUMNS} FROM friends ORDER BY id"))?;
    let rows = stmt.query_map([], friend)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(crate) fn friend_count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT count(*) FROM friends", [], |r| {
        r.get::<_, i64>(0).map(|n| n as u64)
    })
}

pub(crate) fn upsert_nbpa(conn: &Connection, n: &PlacedNbpa, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO own_nbpas VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (chain_code, token_code) DO UPDATE SET public_address = excluded.public_address, key_id = excluded.key_id, placed_at = excluded.placed_at",
        params![
            n.chain_code,
            n.token_code,
            n.public_address,
            n.key_id.map(|k| k as i64),
            now
        ],
    )?;
    Ok(())
}

fn nbpa(r: &rusqlite::Row<'_>) -> rusqlite::Result<PlacedNbpa> {
    Ok(PlacedNbpa {
        chain_code: r.get(0)?,
        token_code: r.get(1)?,
        public_address: r.get(2)?,
        key_id: r.get::<_, Option<i64>>(3)?.map(|k| k as u64),
    })
}

pub(crate) fn own_nbpa(
    conn: &Connection,
    chain_code: &str,
    token_code: &str,
) -> rusqlite::Result<Option<PlacedNbpa>> {
    conn.query_row(
        "SELECT chain_code, token_code, public_address, key_id FROM own_nbpas WHERE chain_code = ?1 AND token_code = ?2",
        params![chain_code, token_code],
        nbpa,
    )
    .optional()
}

pub(crate) fn own_nbpas(conn: &Connection) -> rusqlite::Result<Vec<PlacedNbpa>> {
    let mut stmt = conn.prepare_cached(
        "SELECT chain_code, token_code, public_address, key_id FROM own_nbpas ORDER BY chain_code, token_code",
    )?;
    let rows = stmt.query_map([], nbpa)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(crate) fn record_grant(
    conn: &Connection,
    friend: &PublicKey,
    level: &str,
    level_index: &str,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO nbpa_grants VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (friend_key, level, level_index) DO UPDATE SET granted_at = excluded.granted_at",
        params![friend.to_fio_string(), level, level_index, now],
    )?;
    Ok(())
}

/// (level, level_index) of what we granted `friend`.
pub(crate) fn grants_of(
    conn: &Connection,
    friend: &PublicKey,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT level, level_index FROM nbpa_grants WHERE friend_key = ?1 ORDER BY level, level_index",
    )?;
    let rows = stmt
        .query_map([friend.to_fio_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
