//! The devnet's state in SQLite, its genesis, and its clock of blocks.

use std::collections::BTreeMap;
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

/// Version 2: fees and balances, expiry, and FIP-3's state.
const SCHEMA_2: &str = "
ALTER TABLE domains ADD COLUMN expiration INTEGER;
-- privacy: 0 public, 1 private (FIP-3 Backwards compatibility).
ALTER TABLE addresses ADD COLUMN privacy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE addresses ADD COLUMN expiration INTEGER;
CREATE TABLE accounts (account TEXT PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE fees (endpoint TEXT PRIMARY KEY, fee INTEGER NOT NULL);
CREATE TABLE friends (
    id INTEGER PRIMARY KEY,
    owner_account TEXT NOT NULL,
    fio_public_key_hash TEXT NOT NULL,
    content TEXT NOT NULL,
    UNIQUE (owner_account, fio_public_key_hash)
);
CREATE INDEX friends_hash ON friends (fio_public_key_hash);
-- key_id never repeats, so a grant of a replaced NBPA opens nothing new.
CREATE TABLE priv_nbpas (
    key_id INTEGER PRIMARY KEY AUTOINCREMENT,
    fio_address TEXT NOT NULL REFERENCES addresses (fio_address),
    chain_code TEXT NOT NULL,
    token_code TEXT NOT NULL,
    public_key_address_level TEXT NOT NULL,
    public_key_chain_level TEXT NOT NULL,
    public_key_nbpa_level TEXT NOT NULL,
    UNIQUE (fio_address, chain_code, token_code)
);
CREATE TABLE priv_grants (
    owner_account TEXT NOT NULL,
    fio_public_key_hash TEXT NOT NULL,
    level TEXT NOT NULL,
    level_index TEXT NOT NULL,
    decrypt_key TEXT NOT NULL,
    PRIMARY KEY (owner_account, fio_public_key_hash, level, level_index)
);
CREATE TABLE priv_requests (
    fio_request_id INTEGER PRIMARY KEY AUTOINCREMENT,
    payee_fio_address TEXT NOT NULL,
    payee_fio_public_key TEXT NOT NULL,
    lookup_index_for_payer TEXT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX priv_requests_payer ON priv_requests (lookup_index_for_payer);
CREATE INDEX priv_requests_payee ON priv_requests (payee_fio_public_key);
CREATE TABLE priv_actions (
    id INTEGER PRIMARY KEY,
    payer_fio_address TEXT NOT NULL,
    payer_fio_public_key TEXT NOT NULL,
    lookup_index_for_payee TEXT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX priv_actions_payee ON priv_actions (lookup_index_for_payee);
";

/// The fee of each endpoint in SUFs when the genesis names none. The
/// fio.address endpoints are free so development needs no balances; the
/// FIP-3 endpoints cost what FIO charges for comparable actions.
pub const DEFAULT_FEES: &[(&str, u64)] = &[
    ("add_pub_address", 0),
    ("remove_pub_address", 0),
    ("register_fio_address", 0),
    ("priv_add_friend", 400_000_000),
    ("priv_remove_friend", 400_000_000),
    ("priv_add_pub_address", 400_000_000),
    ("priv_grant_pub_address_access", 400_000_000),
    ("priv_new_funds_request", 800_000_000),
    ("priv_record_send_action", 800_000_000),
    ("set_fio_address_privacy", 400_000_000),
];

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
    /// Token balances in SUFs by FIO public key (absent: 0).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub balances: BTreeMap<String, u64>,
    /// Fees in SUFs by endpoint, over [`DEFAULT_FEES`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fees: BTreeMap<String, u64>,
    /// Expiration of domains (chain time, `YYYY-MM-DDTHH:MM:SS`); others never expire.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub domain_expirations: BTreeMap<String, String>,
}

impl Genesis {
    /// A genesis with `name@domain` for each party (100 bundles, owned by
    /// its key) and `balance` SUFs per key: the usual start of a demo or test.
    pub fn with_parties(domain: &str, parties: &[(&str, &PublicKey)], balance: u64) -> Genesis {
        Genesis {
            domains: vec![domain.to_string()],
            addresses: parties
                .iter()
                .map(|(name, key)| GenesisAddress {
                    fio_address: format!("{name}@{domain}"),
                    public_key: key.to_fio_string(),
                    bundles: Some(DEFAULT_BUNDLES),
                    expiration: None,
                })
                .collect(),
            balances: parties
                .iter()
                .map(|(_, key)| (key.to_fio_string(), balance))
                .collect(),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAddress {
    pub fio_address: String,
    /// The owner's FIO public key; also mapped as FIO/FIO.
    pub public_key: String,
    #[serde(default)]
    pub bundles: Option<u64>,
    /// Chain time the handle expired or expires; never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
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
                tx.execute_batch(SCHEMA_2)?;
                apply_genesis(&tx, genesis)?;
                tx.execute(
                    "INSERT INTO meta VALUES ('genesis', ?1), ('genesis_ms', ?2)",
                    params![genesis_json, now_ms().to_string()],
                )?;
                tx.pragma_update(None, "user_version", 2)?;
                tx.commit()?;
            }
            1 | 2 => {
                let stored: String =
                    conn.query_row("SELECT value FROM meta WHERE key = 'genesis'", [], |r| {
                        r.get(0)
                    })?;
                if stored != genesis_json {
                    return Err(DevnetError::Genesis(
                        "the database was created from another genesis file".into(),
                    ));
                }
                if version == 1 {
                    // A version-1 genesis had none of the new fields.
                    let tx = conn.unchecked_transaction()?;
                    tx.execute_batch(SCHEMA_2)?;
                    set_fees(&tx, genesis)?;
                    tx.pragma_update(None, "user_version", 2)?;
                    tx.commit()?;
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

    /// The fee `end_point` costs `fio_address` now (`None`: no such
    /// endpoint). Bundle-eligible endpoints are free while it has bundles.
    pub fn fee(&self, end_point: &str, fio_address: &str) -> Result<Option<u64>, rusqlite::Error> {
        const BUNDLED: &[&str] = &[
            "add_pub_address",
            "remove_pub_address",
            "priv_add_pub_address",
            "priv_new_funds_request",
            "priv_record_send_action",
            "set_fio_address_privacy",
        ];
        let conn = self.lock();
        let fee: Option<i64> = conn
            .query_row(
                "SELECT fee FROM fees WHERE endpoint = ?1",
                [end_point],
                |r| r.get(0),
            )
            .optional()?;
        let Some(fee) = fee else { return Ok(None) };
        if BUNDLED.contains(&end_point) {
            if let Some(address) = handle(fio_address) {
                if owner(&conn, &address)?.is_some_and(|(_, bundles)| bundles > 0) {
                    return Ok(Some(0));
                }
            }
        }
        Ok(Some(fee as u64))
    }

    /// The balance of `account` in SUFs.
    pub fn balance(&self, account: &str) -> Result<u64, rusqlite::Error> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT balance FROM accounts WHERE account = ?1",
                [account],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0) as u64)
    }

    /// Whether `address` elected FIP-3's private mode.
    pub fn is_private(&self, address: &str) -> Result<bool, rusqlite::Error> {
        is_private(&self.lock(), address)
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

/// What the contracts check of a handle.
pub(crate) struct HandleRow {
    pub owner_account: String,
    pub private: bool,
    /// Seconds since the epoch; `None` never expires.
    pub expiration: Option<i64>,
    pub domain_expiration: Option<i64>,
}

pub(crate) fn handle_row(
    conn: &Connection,
    address: &str,
) -> Result<Option<HandleRow>, rusqlite::Error> {
    conn.query_row(
        "SELECT a.owner_account, a.privacy, a.expiration, d.expiration
         FROM addresses a LEFT JOIN domains d ON d.name = substr(a.fio_address, instr(a.fio_address, '@') + 1)
         WHERE a.fio_address = ?1",
        [address],
        |r| {
            Ok(HandleRow {
                owner_account: r.get(0)?,
                private: r.get::<_, i64>(1)? != 0,
                expiration: r.get(2)?,
                domain_expiration: r.get(3)?,
            })
        },
    )
    .optional()
}

/// Whether `address` elected FIP-3's private mode.
pub(crate) fn is_private(conn: &Connection, address: &str) -> Result<bool, rusqlite::Error> {
    Ok(handle_row(conn, address)?.is_some_and(|h| h.private))
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
        "INSERT INTO addresses (fio_address, owner_key, owner_account, bundles) VALUES (?1, ?2, ?3, ?4)",
        params![address, key_text, key.account_name(), bundles as i64],
    )?;
    conn.execute(
        "INSERT INTO pub_addresses (fio_address, token_code, chain_code, public_address) VALUES (?1, 'FIO', 'FIO', ?2)",
        params![address, key_text],
    )?;
    Ok(())
}

/// A genesis amount as SQLite stores it (i64).
fn amount(what: &str, value: u64) -> Result<i64, DevnetError> {
    i64::try_from(value)
        .map_err(|_| DevnetError::Genesis(format!("{what}: {value} is above {}", i64::MAX)))
}

fn set_fees(conn: &Connection, genesis: &Genesis) -> Result<(), DevnetError> {
    for (endpoint, fee) in DEFAULT_FEES {
        conn.execute(
            "INSERT INTO fees VALUES (?1, ?2)",
            params![endpoint, *fee as i64],
        )?;
    }
    for (endpoint, fee) in &genesis.fees {
        if !DEFAULT_FEES.iter().any(|(e, _)| e == endpoint) {
            return Err(DevnetError::Genesis(format!(
                "fees: {endpoint:?} is not an endpoint with a fee"
            )));
        }
        conn.execute(
            "UPDATE fees SET fee = ?2 WHERE endpoint = ?1",
            params![endpoint, amount(endpoint, *fee)?],
        )?;
    }
    Ok(())
}

fn genesis_time(what: &str, text: &str) -> Result<i64, DevnetError> {
    fio_peer::chain::parse_chain_time(text)
        .map(i64::from)
        .map_err(|e| DevnetError::Genesis(format!("{what}: {e}")))
}

fn apply_genesis(conn: &Connection, genesis: &Genesis) -> Result<(), DevnetError> {
    set_fees(conn, genesis)?;
    for (key, balance) in &genesis.balances {
        let key = PublicKey::parse(key).map_err(|_| {
            DevnetError::Genesis(format!("balances: {key:?} is not a FIO public key"))
        })?;
        conn.execute(
            "INSERT INTO accounts VALUES (?1, ?2)",
            params![key.account_name(), amount("balances", *balance)?],
        )?;
    }
    for domain in &genesis.domains {
        let valid = FioAddress::parse(&format!("a@{domain}")).is_some()
            && domain == &domain.to_ascii_lowercase();
        if !valid {
            return Err(DevnetError::Genesis(format!(
                "{domain:?} is not a FIO domain"
            )));
        }
        conn.execute("INSERT OR IGNORE INTO domains (name) VALUES (?1)", [domain])?;
    }
    for a in &genesis.addresses {
        let address = handle(&a.fio_address).ok_or_else(|| {
            DevnetError::Genesis(format!("{:?} is not a FIO address", a.fio_address))
        })?;
        let key = PublicKey::parse(&a.public_key).map_err(|_| {
            DevnetError::Genesis(format!("{:?} is not a FIO public key", a.public_key))
        })?;
        let domain = address.split_once('@').map(|(_, d)| d).unwrap_or_default();
        conn.execute("INSERT OR IGNORE INTO domains (name) VALUES (?1)", [domain])?;
        if exists(conn, &address)? {
            return Err(DevnetError::Genesis(format!("{address} is listed twice")));
        }
        let bundles = a.bundles.unwrap_or(DEFAULT_BUNDLES);
        amount("bundles", bundles)?;
        insert_address(conn, &address, &key, bundles)?;
        if let Some(expiration) = &a.expiration {
            conn.execute(
                "UPDATE addresses SET expiration = ?2 WHERE fio_address = ?1",
                params![address, genesis_time(&address, expiration)?],
            )?;
        }
    }
    for (domain, expiration) in &genesis.domain_expirations {
        let updated = conn.execute(
            "UPDATE domains SET expiration = ?2 WHERE name = ?1",
            params![domain, genesis_time(domain, expiration)?],
        )?;
        if updated == 0 {
            return Err(DevnetError::Genesis(format!(
                "domain_expirations: {domain:?} is not a domain of the genesis"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_database_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite");
        let key = fio_peer::crypto::PrivateKey::generate();
        let genesis = Genesis {
            domains: vec!["devnet".into()],
            addresses: vec![GenesisAddress {
                fio_address: "alice@devnet".into(),
                public_key: key.public_key().to_fio_string(),
                ..Default::default()
            }],
            ..Default::default()
        };
        {
            // What fio-devnet wrote before FIP-3: schema 1 only.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO meta VALUES ('genesis', ?1), ('genesis_ms', '1700000000000')",
                [serde_json::to_string(&genesis).unwrap()],
            )
            .unwrap();
            conn.execute("INSERT INTO domains VALUES ('devnet')", [])
                .unwrap();
            conn.execute(
                "INSERT INTO addresses VALUES ('alice@devnet', ?1, ?2, 5)",
                params![
                    key.public_key().to_fio_string(),
                    key.public_key().account_name()
                ],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let devnet = Devnet::open(Some(&path), &genesis).unwrap();
        let conn = devnet.lock();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
        let row = handle_row(&conn, "alice@devnet").unwrap().unwrap();
        assert!(!row.private && row.expiration.is_none());
        let fee: i64 = conn
            .query_row(
                "SELECT fee FROM fees WHERE endpoint = 'priv_add_friend'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(fee, 400_000_000);
        drop(conn);
        // Opening again leaves it at version 2.
        drop(devnet);
        Devnet::open(Some(&path), &genesis).unwrap();
    }
}
