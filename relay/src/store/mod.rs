//! Durable storage for inboxes and envelopes: SQLite (one file, one relay
//! instance) or PostgreSQL (several instances behind a load balancer).
//!
//! Both keep the same promise: a submit returns only after the envelope is
//! committed durably, so a `202` is never sent for something a crash could
//! take back. Sequence numbers are per inbox and strictly increasing; an
//! envelope is stored once per inbox however often it is submitted.

mod postgres;
mod sqlite;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Per-inbox limits.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    pub max_messages: i64,
    pub max_bytes: i64,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            max_messages: 10_000,
            max_bytes: 64 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such inbox")]
    NoInbox,
    #[error("the inbox is full")]
    Full,
    #[error("storage failure: {0}")]
    Storage(String),
}

/// What a submit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submitted {
    pub seq: i64,
    pub duplicate: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub seq: i64,
    pub received_at: i64,
    pub envelope: String,
}

/// Write transactions committed (each one a durable flush) and the writes
/// they carried. jobs / commits is the group-commit factor on SQLite; on
/// PostgreSQL every write is its own transaction and the server groups the
/// WAL flushes itself.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
}

/// The dedupe key of an envelope: its id_token and content bytes.
pub fn dedupe_key(id_token: &str, content: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(id_token.as_bytes());
    h.update([0u8]);
    h.update(content);
    h.finalize().into()
}

pub fn credential_hash(credential: &str) -> [u8; 32] {
    Sha256::digest(credential.as_bytes()).into()
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Whether `database` names a PostgreSQL server rather than a SQLite file.
pub fn is_postgres_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// The relay's storage: cheap to clone, shared by all request handlers.
#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Opens a SQLite file (created if missing) at `path`.
    pub fn open_sqlite(path: &std::path::Path, quota: Quota) -> Result<Store, StoreError> {
        Ok(Store::Sqlite(Arc::new(SqliteStore::open(path, quota)?)))
    }

    /// Connects to PostgreSQL (`postgres://…`), creating or upgrading the
    /// schema, with at most `pool_size` connections.
    pub async fn open_postgres(
        url: &str,
        quota: Quota,
        pool_size: usize,
    ) -> Result<Store, StoreError> {
        Ok(Store::Postgres(Arc::new(
            PgStore::open(url, quota, pool_size).await?,
        )))
    }

    /// Opens whichever `database` names: a `postgres://` URL or a file path.
    pub async fn open(database: &str, quota: Quota, pool_size: usize) -> Result<Store, StoreError> {
        if is_postgres_url(database) {
            Store::open_postgres(database, quota, pool_size).await
        } else {
            Store::open_sqlite(std::path::Path::new(database), quota)
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    pub fn quota(&self) -> Quota {
        dispatch!(self, s => s.quota())
    }

    pub fn stats(&self) -> &WriterStats {
        dispatch!(self, s => s.stats())
    }

    pub async fn create_inbox(
        &self,
        id: String,
        credential_hash: [u8; 32],
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.create_inbox(id, credential_hash).await)
    }

    /// Stores an envelope durably (or finds its first copy).
    pub async fn submit(
        &self,
        inbox: String,
        dedupe: [u8; 32],
        envelope: String,
    ) -> Result<Submitted, StoreError> {
        dispatch!(self, s => s.submit(inbox, dedupe, envelope).await)
    }

    /// Deletes the inbox's envelopes up to `up_to`; returns how many.
    pub async fn ack(&self, inbox: String, up_to: i64) -> Result<i64, StoreError> {
        dispatch!(self, s => s.ack(inbox, up_to).await)
    }

    pub async fn delete_inbox(&self, inbox: String) -> Result<(), StoreError> {
        dispatch!(self, s => s.delete_inbox(inbox).await)
    }

    /// Deletes envelopes received before `before` (unix seconds).
    pub async fn expire(&self, before: i64) -> Result<i64, StoreError> {
        dispatch!(self, s => s.expire(before).await)
    }

    /// Whether `credential` opens `inbox` (constant-time compare of hashes).
    pub async fn authorized(&self, inbox: &str, credential: &str) -> Result<bool, StoreError> {
        let stored = dispatch!(self, s => s.credential_hash(inbox).await)?;
        Ok(stored.is_some_and(|s| credential_matches(&s, credential)))
    }

    pub async fn fetch(
        &self,
        inbox: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        dispatch!(self, s => s.fetch(inbox, after, limit).await)
    }

    /// A receiver that changes after every commit that stored envelopes
    /// (on PostgreSQL, also those of other relay instances).
    pub fn commits(&self) -> watch::Receiver<u64> {
        dispatch!(self, s => s.commits())
    }
}

fn credential_matches(stored: &[u8], credential: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(stored.ct_eq(&credential_hash(credential)))
}
