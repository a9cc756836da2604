//! Durable storage for inboxes and envelopes: SQLite (one file, one relay
//! instance) or PostgreSQL (several instances behind a load balancer).
//!
//! Both keep the same promise: a submit returns only after the envelope is
//! committed durably, so a `202` is never sent for something a crash could
//! take back. Sequence numbers are per inbox and strictly increasing; an
//! envelope is stored once per inbox however often it is submitted.

mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, Weak};

use sha2::{Digest, Sha256};
use tokio::sync::Notify;

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
    #[error("the inbox has as many push subscriptions as it may")]
    TooManySubscriptions,
    #[error("storage failure: {0}")]
    Storage(String),
}

/// A push subscription as its owner lists it.
#[derive(Clone, PartialEq, Eq)]
pub struct PushRow {
    pub push_id: String,
    /// The stored subscription JSON (`push::PushTarget::to_json`).
    pub target: String,
    pub created_at: i64,
}

/// A push a worker has claimed: send it, then settle it with the same
/// `lease` (the claim is void once the lease has passed, or the device
/// registered again meanwhile).
#[derive(Clone, PartialEq, Eq)]
pub struct PushJob {
    pub push_id: String,
    pub inbox_id: String,
    pub target: String,
    /// The inbox's newest seq: what the push announces.
    pub seq: i64,
    /// Envelopes the inbox holds unacknowledged (a gateway's unread count).
    pub unread: i64,
    /// Failed tries of this subscription since its last delivered push.
    pub attempts: i64,
    /// Until when (unix ms, the store's clock) this claim holds.
    pub lease: i64,
}

// The targets hold a device's keys and its endpoint (a capability): never
// printed.
impl std::fmt::Debug for PushRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushRow")
            .field("push_id", &self.push_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PushJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushJob")
            .field("push_id", &self.push_id)
            .field("seq", &self.seq)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How a claimed push ended. Times are relative: the store measures them
/// on its own clock (PostgreSQL's, shared by every instance), so instances
/// whose clocks differ still agree on windows and leases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushSettle {
    /// Delivered (or given up): `seq` is announced; the next push may
    /// leave `window_ms` from now (the coalescing window).
    Done { seq: i64, window_ms: i64 },
    /// Failed for now: try again `after_ms` from now.
    Retry { after_ms: i64 },
    /// The push service says the subscription is gone: delete it.
    Gone,
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

/// The dedupe key of an envelope: its id_token and content bytes (one
/// definition with the submit check, in the core).
pub use fio_peer::protocol::dedupe_key;

pub fn credential_hash(credential: &str) -> [u8; 32] {
    Sha256::digest(credential.as_bytes()).into()
}

/// Unix time in milliseconds (push scheduling).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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

    /// Deletes the inboxes nobody fetched from since `before` (unix
    /// seconds; one never fetched from counts from its creation), with
    /// their envelopes; returns how many.
    pub async fn expire_idle(&self, before: i64) -> Result<i64, StoreError> {
        dispatch!(self, s => s.expire_idle(before).await)
    }

    /// Records a fetch from `inbox` now, at most once per TOUCH_EVERY per
    /// inbox and process (a fetch is a read; this keeps it from becoming
    /// a write each time).
    pub async fn touch(&self, inbox: &str) -> Result<(), StoreError> {
        let now = now();
        let due = {
            let touches = match self {
                Store::Sqlite(s) => s.touches(),
                Store::Postgres(s) => s.touches(),
            };
            let mut t = touches.lock().unwrap_or_else(|e| e.into_inner());
            let due = t.get(inbox).is_none_or(|&at| now - at >= TOUCH_EVERY);
            if due {
                if t.len() >= 4096 && t.len().is_power_of_two() {
                    t.retain(|_, at| now - *at < TOUCH_EVERY);
                }
                t.insert(inbox.to_string(), now);
            }
            due
        };
        if !due {
            return Ok(());
        }
        dispatch!(self, s => s.touch(inbox.to_string(), now).await)
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

    /// The relay's VAPID private key: `generated` is stored if there is
    /// none yet, and whichever is stored (by any instance) comes back.
    pub async fn push_key(&self, generated: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        dispatch!(self, s => s.push_key(generated).await)
    }

    /// Registers a push target on `inbox`; one with the same `identity`
    /// (a hash of what makes it the same device) is replaced and keeps its
    /// push_id. At most `max` per inbox.
    pub async fn push_add(
        &self,
        inbox: String,
        push_id: String,
        identity: [u8; 32],
        target: String,
        max: i64,
    ) -> Result<String, StoreError> {
        dispatch!(self, s => s.push_add(inbox, push_id, identity, target, max).await)
    }

    pub async fn push_list(&self, inbox: &str) -> Result<Vec<PushRow>, StoreError> {
        dispatch!(self, s => s.push_list(inbox).await)
    }

    /// Deletes one of `inbox`'s subscriptions; false if it has no such one.
    pub async fn push_remove(&self, inbox: String, push_id: String) -> Result<bool, StoreError> {
        dispatch!(self, s => s.push_remove(inbox, push_id).await)
    }

    /// Claims up to `limit` subscriptions with something new to announce
    /// that are due now, each for `lease_ms`. Instances sharing a
    /// PostgreSQL database never claim the same one.
    pub async fn push_claim(&self, lease_ms: i64, limit: i64) -> Result<Vec<PushJob>, StoreError> {
        dispatch!(self, s => s.push_claim(lease_ms, limit).await)
    }

    /// Records how a claimed push ended (nothing if its lease was lost).
    pub async fn push_settle(
        &self,
        push_id: String,
        lease: i64,
        settle: PushSettle,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.push_settle(push_id, lease, settle).await)
    }

    /// In how many ms the next push is due (≤ 0: now), if one waits.
    pub async fn push_next_due(&self) -> Result<Option<i64>, StoreError> {
        dispatch!(self, s => s.push_next_due().await)
    }

    /// The long polls waiting on each inbox, woken after a commit stored
    /// envelopes in their inbox (on PostgreSQL, also by other instances).
    pub fn waiters(&self) -> &Arc<Waiters> {
        dispatch!(self, s => s.waiters())
    }
}

/// How often a fetch is recorded per inbox (seconds): idle expiry counts
/// in days, so an hour's precision is plenty.
pub const TOUCH_EVERY: i64 = 3600;

/// When each inbox's last fetch was recorded by this process.
pub(crate) type Touches = Mutex<HashMap<String, i64>>;

/// Who waits for new envelopes in which inbox. A commit wakes the long
/// polls of the inboxes it stored into, and no others: waking every poll
/// on every submit made the relay's work grow with polls × submits.
#[derive(Default)]
pub struct Waiters(Mutex<HashMap<String, Weak<Notify>>>);

impl Waiters {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<Notify>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a long poll on `inbox` waits on; shared by the inbox's polls
    /// and forgotten when the last one ends.
    pub fn watch(&self, inbox: &str) -> Arc<Notify> {
        let mut map = self.map();
        if let Some(n) = map.get(inbox).and_then(Weak::upgrade) {
            return n;
        }
        // Inboxes nobody waits on any more go before the map doubles.
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let n = Arc::new(Notify::new());
        map.insert(inbox.to_string(), Arc::downgrade(&n));
        n
    }

    /// Wakes the polls waiting on `inbox`.
    pub fn wake(&self, inbox: &str) {
        let waiting = self.map().get(inbox).and_then(Weak::upgrade);
        if let Some(n) = waiting {
            n.notify_waiters();
        }
    }

    /// Wakes every poll (a notice that does not say which inbox changed).
    pub fn wake_all(&self) {
        let all: Vec<_> = self.map().values().filter_map(Weak::upgrade).collect();
        for n in all {
            n.notify_waiters();
        }
    }
}

fn credential_matches(stored: &[u8], credential: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(stored.ct_eq(&credential_hash(credential)))
}
