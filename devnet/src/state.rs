//! The devnet's state in SQLite, its genesis, and its clock of blocks.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use fio_peer::chain::ChainId;
use fio_peer::crypto::{sha256, PublicKey};
use fio_peer::protocol::FioAddress;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One block every 500 ms, as on FIO.
pub const BLOCK_MS: i64 = 500;

/// Handles do not expire (FIP-31); the node reports this fixed time.
pub const HANDLE_EXPIRATION: &str = "2106-02-07T06:28:15";

/// Free transactions a new handle gets.
pub const DEFAULT_BUNDLES: u64 = 100;

/// The local devnet chain id (the one fio.devtools uses).
pub const DEVNET_CHAIN_ID: &str =
    "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE domains (name TEXT PRIMARY KEY);
CREATE TABLE addresses (
    fio_address TEXT PRIMARY KEY,
    owner_key TEXT NOT NULL,
    owner_account TEXT NOT NULL,
    bundles INTEGER NOT NULL
);
CREATE INDEX addresses_owner ON addresses (owner_key);
-- Insertion order (id) is the order get_pub_addresses answers in.
CREATE TABLE pub_addresses (
    id INTEGER PRIMARY KEY,
    fio_address TEXT NOT NULL REFERENCES addresses (fio_address),
    token_code TEXT NOT NULL,
    chain_code TEXT NOT NULL,
    public_address TEXT NOT NULL,
    UNIQUE (fio_address, token_code, chain_code)
);
-- Accepted transaction ids until they expire: the duplicate check.
CREATE TABLE transactions (id TEXT PRIMARY KEY, expiration INTEGER NOT NULL);
";

/// The genesis file: the chain id, the domains anyone may register handles
/// on, and handles that exist from the start with their owner keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// 64 hex digits; the fio.devtools local chain id when absent.
    #[serde(default)]
    pub chain_id: Option<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<GenesisAddress>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAddress {
    pub fio_address: String,
    /// The owner's FIO public key; also mapped as FIO/FIO.
    pub public_key: String,
    #[serde(default)]
    pub bundles: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("genesis: {0}")]
    Genesis(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A block of the devnet's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub num: u32,
    /// The first 4 bytes are the big-endian block number, as on EOSIO.
    pub id: [u8; 32],
    pub time_ms: i64,
}

/// (chain_code, token_code, public_address).
pub type Mapping = (String, String, String);

pub struct Devnet {
    conn: Mutex<Connection>,
    chain_id: ChainId,
    /// When block 1 was made.
    genesis_ms: i64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A FIO handle as the chain reads it: lower-cased, `name@domain`.
pub fn handle(text: &str) -> Option<String> {
    FioAddress::parse(text).map(|a| a.as_str().to_string())
}

/// chain_code: 1–10 of `[A-Za-z0-9$]`.
pub fn valid_chain_code(code: &str) -> bool {
    (1..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'$')
}

/// token_code: as chain_code, or exactly `*`.
pub fn valid_token_code(code: &str) -> bool {
    code == "*" || valid_chain_code(code)
}

/// public_address: 1–128 bytes without a space.
pub fn valid_public_address(address: &str) -> bool {
    (1..=128).contains(&address.len()) && !address.contains(' ')
}

impl Devnet {
    /// Opens the devnet database at `path` (in memory when `None`), applying
    /// `genesis` if the database is new. An existing database keeps its state
    /// and clock; its genesis must be the same one.
    pub fn open(path: Option<&Path>, genesis: &Genesis) -> Result<Devnet, DevnetError> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let genesis_json = serde_json::to_string(genesis).expect("serializes");
        match version {
            0 => {
                let tx = conn.unchecked_transaction()?;
                tx.execute_batch(SCHEMA)?;
                apply_genesis(&tx, genesis)?;
                tx.execute(
                    "INSERT INTO meta VALUES ('genesis', ?1), ('genesis_ms', ?2)",
                    params![genesis_json, now_ms().to_string()],
                )?;
                tx.pragma_update(None, "user_version", 1)?;
                tx.commit()?;
            }
            1 => {
                let stored: String =
                    conn.query_row("SELECT value FROM meta WHERE key = 'genesis'", [], |r| {
                        r.get(0)
                    })?;
                if stored != genesis_json {
                    return Err(DevnetError::Genesis(
                        "the database was created from another genesis file".into(),
                    ));
                }
            }
            v => {
                return Err(DevnetError::Genesis(format!(
                    "the database has schema version {v}, newer than this fio-devnet"
                )))
            }
        }
        let genesis_ms: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'genesis_ms'", [], |r| {
                r.get::<_, String>(0)
            })?
            .parse()
            .map_err(|_| DevnetError::Genesis("corrupt genesis time".into()))?;
        let chain_id = ChainId::parse(genesis.chain_id.as_deref().unwrap_or(DEVNET_CHAIN_ID))
            .map_err(|e| DevnetError::Genesis(format!("chain_id: {e}")))?;
        Ok(Devnet {
            conn: Mutex::new(conn),
            chain_id,
            genesis_ms,
        })
    }

    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Block `num` (≥ 1).
    pub fn block(&self, num: u32) -> Block {
        let mut pre = self.chain_id.0.to_vec();
        pre.extend_from_slice(&num.to_be_bytes());
        let mut id = sha256(&pre);
        id[..4].copy_from_slice(&num.to_be_bytes());
        Block {
            num,
            id,
            time_ms: self.genesis_ms + (num as i64 - 1) * BLOCK_MS,
        }
    }

    /// The newest block.
    pub fn head(&self) -> Block {
        let n = 1 + (now_ms() - self.genesis_ms).max(0) / BLOCK_MS;
        self.block(n.min(u32::MAX as i64) as u32)
    }

    /// The last irreversible block: two behind the head here (a real chain
    /// is a few hundred behind).
    pub fn last_irreversible(&self, head: u32) -> u32 {
        head.saturating_sub(2).max(1)
    }

    /// The block a transaction's TAPOS fields refer to, if it is one of the
    /// last 65,536 blocks and its id prefix matches.
    pub fn tapos_block(
        &self,
        head: u32,
        ref_block_num: u16,
        ref_block_prefix: u32,
    ) -> Option<Block> {
        let low = (head & 0xffff) as u16;
        let back = low.wrapping_sub(ref_block_num) as u32;
        let num = head.checked_sub(back).filter(|n| *n >= 1)?;
        let block = self.block(num);
        let prefix = u32::from_le_bytes(block.id[8..12].try_into().expect("4 bytes"));
        (prefix == ref_block_prefix).then_some(block)
    }

    /// get_pub_address: exact (token, chain) match case-insensitively, else
    /// the chain-level `*` entry. `Ok(None)` when the handle or mapping is
    /// missing.
    pub fn pub_address(
        &self,
        address: &str,
        chain: &str,
        token: &str,
    ) -> Result<Option<String>, rusqlite::Error> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT token_code, chain_code, public_address FROM pub_addresses WHERE fio_address = ?1 ORDER BY id",
        )?;
        let rows: Vec<(String, String, String)> = stmt
            .query_map([address], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let exact = rows
            .iter()
            .find(|(t, c, _)| t.eq_ignore_ascii_case(token) && c.eq_ignore_ascii_case(chain));
        let any = rows
            .iter()
            .find(|(t, c, _)| t == "*" && c.eq_ignore_ascii_case(chain));
        Ok(exact.or(any).map(|(_, _, a)| a.clone()))
    }

    /// All mappings of `address` as (chain, token, public address) in
    /// insertion order; `None` when the handle does not exist.
    pub fn pub_addresses(&self, address: &str) -> Result<Option<Vec<Mapping>>, rusqlite::Error> {
        let conn = self.lock();
        if !exists(&conn, address)? {
            return Ok(None);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT chain_code, token_code, public_address FROM pub_addresses WHERE fio_address = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([address], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(Some(rows))
    }

    /// Handles owned by `key`, with their remaining bundled transactions.
    pub fn names_of(&self, key: &str) -> Result<Vec<(String, u64)>, rusqlite::Error> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT fio_address, bundles FROM addresses WHERE owner_key = ?1 ORDER BY fio_address",
        )?;
        let rows = stmt
            .query_map([key], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

pub(crate) fn exists(conn: &Connection, address: &str) -> Result<bool, rusqlite::Error> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM addresses WHERE fio_address = ?1",
            [address],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Owner account and remaining bundles of a handle.
pub(crate) fn owner(
    conn: &Connection,
    address: &str,
) -> Result<Option<(String, i64)>, rusqlite::Error> {
    conn.query_row(
        "SELECT owner_account, bundles FROM addresses WHERE fio_address = ?1",
        [address],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

pub(crate) fn domain_exists(conn: &Connection, domain: &str) -> Result<bool, rusqlite::Error> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM domains WHERE name = ?1",
            [domain],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Creates a handle owned by `key` with FIO/FIO mapped to it, as regaddress does.
pub(crate) fn insert_address(
    conn: &Connection,
    address: &str,
    key: &PublicKey,
    bundles: u64,
) -> Result<(), rusqlite::Error> {
    let key_text = key.to_fio_string();
    conn.execute(
        "INSERT INTO addresses VALUES (?1, ?2, ?3, ?4)",
        params![address, key_text, key.account_name(), bundles as i64],
    )?;
    conn.execute(
        "INSERT INTO pub_addresses (fio_address, token_code, chain_code, public_address) VALUES (?1, 'FIO', 'FIO', ?2)",
        params![address, key_text],
    )?;
    Ok(())
}

fn apply_genesis(conn: &Connection, genesis: &Genesis) -> Result<(), DevnetError> {
    for domain in &genesis.domains {
        let valid = FioAddress::parse(&format!("a@{domain}")).is_some()
            && domain == &domain.to_ascii_lowercase();
        if !valid {
            return Err(DevnetError::Genesis(format!(
                "{domain:?} is not a FIO domain"
            )));
        }
        conn.execute("INSERT OR IGNORE INTO domains VALUES (?1)", [domain])?;
    }
    for a in &genesis.addresses {
        let address = handle(&a.fio_address).ok_or_else(|| {
            DevnetError::Genesis(format!("{:?} is not a FIO address", a.fio_address))
        })?;
        let key = PublicKey::parse(&a.public_key).map_err(|_| {
            DevnetError::Genesis(format!("{:?} is not a FIO public key", a.public_key))
        })?;
        let domain = address.split_once('@').map(|(_, d)| d).unwrap_or_default();
        conn.execute("INSERT OR IGNORE INTO domains VALUES (?1)", [domain])?;
        if exists(conn, &address)? {
            return Err(DevnetError::Genesis(format!("{address} is listed twice")));
        }
        insert_address(conn, &address, &key, a.bundles.unwrap_or(DEFAULT_BUNDLES))?;
    }
    Ok(())
}
