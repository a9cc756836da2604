//! The SQLite backend: one file, one relay instance.
//!
//! One writer thread owns the write connection and commits in groups: it
//! takes every job waiting in its queue, runs them in one transaction, and
//! answers them only after the COMMIT (`synchronous=FULL`) returned. So a
//! `202` always follows a durable commit, and one fsync serves many submits.
//! Reads use their own connection (WAL lets them run beside the writer).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::{now, Quota, StoreError, StoredMessage, Submitted, WriterStats};

/// The schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 3;

/// Version 1. The layout keeps a commit's writes few and close together,
/// since with `synchronous=FULL` every page a commit dirties is written to
/// the WAL and fsynced: envelopes go into a rowid table in arrival order (so
/// a group of submits fills the same few pages), and the per-inbox indexes
/// hold small integer keys. Pages are 1 KiB for the same reason: an index
/// insert dirties one small page, not a 4 KiB one.
const SCHEMA_V1: &str = "
CREATE TABLE inboxes (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT NOT NULL UNIQUE,      -- 32 hex, public (on chain)
    credential_hash BLOB NOT NULL,             -- SHA-256 of the credential
    next_seq        INTEGER NOT NULL DEFAULT 1,
    count           INTEGER NOT NULL DEFAULT 0,
    bytes           INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,           -- arrival order
    inbox       INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    dedupe      BLOB NOT NULL,                 -- SHA-256(id_token ‖ 0 ‖ content)
    envelope    TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_by_seq ON messages (inbox, seq);
CREATE UNIQUE INDEX messages_by_dedupe ON messages (inbox, dedupe);
CREATE INDEX messages_by_age ON messages (received_at);
";

/// Version 2: when an inbox was last fetched from (NULL: never; its
/// creation counts), for the expiry of idle inboxes.
const SCHEMA_V2: &str = "
ALTER TABLE inboxes ADD COLUMN fetched_at INTEGER;
";

/// Version 3: push (docs/protocol.md §4.4). The relay's VAPID key, and
/// each inbox's subscriptions with their schedule: a submit raises
/// `pending_seq`; a push is due when it is above `sent_seq` and `due_at`
/// (unix ms: the coalescing window, a retry's backoff, or a claim's lease
/// while `leased`) has come.
const SCHEMA_V3: &str = "
CREATE TABLE push_keys (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    vapid BLOB NOT NULL
);
CREATE TABLE push_subscriptions (
    id          INTEGER PRIMARY KEY,
    push_id     TEXT NOT NULL UNIQUE,
    inbox       INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    identity    BLOB NOT NULL,                 -- SHA-256 of what makes it one device
    target      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    pending_seq INTEGER NOT NULL DEFAULT 0,
    sent_seq    INTEGER NOT NULL DEFAULT 0,
    due_at      INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    leased      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (inbox, identity)
);
CREATE INDEX push_waiting ON push_subscriptions (due_at) WHERE pending_seq > sent_seq;
";

/// Page size of a new database file (set before anything is written).
const PAGE_SIZE: i64 = 1024;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

enum Job {
    Create {
        id: String,
        credential_hash: [u8; 32],
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Submit {
        inbox: String,
        dedupe: [u8; 32],
        envelope: String,
        reply: oneshot::Sender<Result<Submitted, StoreError>>,
    },
    Ack {
        inbox: String,
        up_to: i64,
        reply: oneshot::Sender<Result<i64, StoreError>>,
    },
    Delete {
        inbox: String,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Expire {
        before: i64,
        reply: oneshot::Sender<Result<i64, StoreError>>,
    },
    ExpireIdle {
        before: i64,
        reply: oneshot::Sender<Result<i64, StoreError>>,
    },
    Touch {
        inbox: String,
        at: i64,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Any other write, run in the group's transaction (push bookkeeping);
    /// given the error instead when the transaction could not begin.
    Call(Work),
}

/// A write job as a closure: it runs on the transaction (or learns why it
/// cannot) and returns its answer, sent once the commit's fate is known.
type Work = Box<dyn FnOnce(Result<&Connection, &str>) -> PendingAnswer + Send>;

/// The writer's page cache, in KiB.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// How often the checkpoint thread copies committed WAL pages back.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Readers: WAL lets them run beside the writer; several so that fetches
/// and credential checks do not queue behind one another.
const READERS: usize = 4;

pub struct SqliteStore {
    /// Dropped with the store, which ends the checkpoint thread.
    _stop_checkpoints: mpsc::Sender<()>,
    stats: Arc<WriterStats>,
    jobs: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Bumped after every commit that added envelopes: long polls wait on it.
    waiters: Arc<super::Waiters>,
    quota: Quota,
    touches: super::Touches,
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    // Only takes effect on a new, empty file.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // After a checkpoint has emptied the WAL, shrink its file to this size.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Checkpoints in PASSIVE mode, which never blocks the writer or readers:
/// the WAL's committed pages go back into the database file, so the WAL can
/// start over. Ends when the store is dropped.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
    // A last full checkpoint, so a cleanly stopped relay leaves a small WAL.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// Creates the schema in a new file, and refuses a file a newer build wrote.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Storage(format!(
            "the database has schema version {version}; this fio-inbox knows up to {SCHEMA_VERSION}"
        )));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)?;
    }
    if version < 3 {
        tx.execute_batch(SCHEMA_V3)?;
    }
    // One instance per file: a claim left by a process that died is void.
    tx.execute(
        "UPDATE push_subscriptions SET leased = 0, due_at = 0 WHERE leased = 1",
        [],
    )?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating) the database at `path` and starts the writer thread.
    pub fn open(path: &Path, quota: Quota) -> Result<SqliteStore, StoreError> {
        let mut writer = open(path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let waiters = Arc::new(super::Waiters::default());
        let notify = waiters.clone();
        let stats = Arc::new(WriterStats::default());
        let writer_stats = stats.clone();
        // The writer holds the pages it touches in a large cache, and leaves
        // checkpointing to its own thread: copying WAL pages back into the
        // database (and its fsync) then runs beside commits, not inside them.
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = open(path)?;
        let (stop_checkpoints, stopped) = mpsc::channel::<()>();
        thread::Builder::new()
            .name("fio-inbox-writer".into())
            .spawn(move || write_loop(writer, queue, notify, quota, &writer_stats))
            .map_err(|e| StoreError::Storage(e.to_string()))?;
        thread::Builder::new()
            .name("fio-inbox-ckpt".into())
            .spawn(move || checkpoint_loop(checkpointer, stopped))
            .map_err(|e| StoreError::Storage(e.to_string()))?;
        Ok(SqliteStore {
            _stop_checkpoints: stop_checkpoints,
            stats,
            jobs,
            readers,
            next_reader: AtomicUsize::new(0),
            waiters,
            quota,
            touches: Default::default(),
        })
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    async fn run<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Job,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(job(tx))
            .map_err(|_| StoreError::Storage("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Storage("the writer has stopped".into()))?
    }

    pub async fn create_inbox(
        &self,
        id: String,
        credential_hash: [u8; 32],
    ) -> Result<(), StoreError> {
        self.run(|reply| Job::Create {
            id,
            credential_hash,
            reply,
        })
        .await
    }

    /// Stores an envelope durably (or finds its first copy).
    pub async fn submit(
        &self,
        inbox: String,
        dedupe: [u8; 32],
        envelope: String,
    ) -> Result<Submitted, StoreError> {
        self.run(|reply| Job::Submit {
            inbox,
            dedupe,
            envelope,
            reply,
        })
        .await
    }

    pub async fn ack(&self, inbox: String, up_to: i64) -> Result<i64, StoreError> {
        self.run(|reply| Job::Ack {
            inbox,
            up_to,
            reply,
        })
        .await
    }

    pub async fn delete_inbox(&self, inbox: String) -> Result<(), StoreError> {
        self.run(|reply| Job::Delete { inbox, reply }).await
    }

    /// Deletes envelopes received before `before` (unix seconds).
    pub async fn expire(&self, before: i64) -> Result<i64, StoreError> {
        self.run(|reply| Job::Expire { before, reply }).await
    }

    /// Deletes the inboxes last fetched from (or, never fetched, created)
    /// before `before`, with their envelopes; returns how many.
    pub async fn expire_idle(&self, before: i64) -> Result<i64, StoreError> {
        self.run(|reply| Job::ExpireIdle { before, reply }).await
    }

    /// Records that `inbox` was fetched from at `at`.
    pub async fn touch(&self, inbox: String, at: i64) -> Result<(), StoreError> {
        self.run(|reply| Job::Touch { inbox, at, reply }).await
    }

    /// Runs `f` in the writer's next group transaction.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.run(|reply| {
            Job::Call(Box::new(move |conn| {
                let r = match conn {
                    Ok(c) => f(c),
                    Err(msg) => Err(StoreError::Storage(msg.to_string())),
                };
                answer(reply, r)
            }))
        })
        .await
    }

    pub async fn push_key(&self, generated: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO push_keys (id, vapid) VALUES (1, ?1)",
                params![generated],
            )?;
            Ok(c.query_row("SELECT vapid FROM push_keys WHERE id = 1", [], |r| r.get(0))?)
        })
        .await
    }

    pub async fn push_add(
        &self,
        inbox: String,
        push_id: String,
        identity: [u8; 32],
        target: String,
        max: i64,
    ) -> Result<String, StoreError> {
        self.call(move |c| {
            let key: i64 = c
                .prepare_cached("SELECT id FROM inboxes WHERE public_id = ?1")?
                .query_row(params![inbox], |r| r.get(0))
                .optional()?
                .ok_or(StoreError::NoInbox)?;
            let existing: Option<String> = c
                .prepare_cached(
                    // New keys void a push in flight (encrypted to the old
                    // ones): its settle finds no lease, and the state goes
                    // out again at once.
                    "UPDATE push_subscriptions SET target = ?3, leased = 0, due_at = 0
                      WHERE inbox = ?1 AND identity = ?2 RETURNING push_id",
                )?
                .query_row(params![key, &identity[..], target], |r| r.get(0))
                .optional()?;
            if let Some(id) = existing {
                return Ok(id);
            }
            let count: i64 = c.query_row(
                "SELECT COUNT(*) FROM push_subscriptions WHERE inbox = ?1",
                params![key],
                |r| r.get(0),
            )?;
            if count >= max {
                return Err(StoreError::TooManySubscriptions);
            }
            c.execute(
                "INSERT INTO push_subscriptions (push_id, inbox, identity, target, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![push_id, key, &identity[..], target, now()],
            )?;
            Ok(push_id)
        })
        .await
    }

    pub async fn push_list(&self, inbox: &str) -> Result<Vec<super::PushRow>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT s.push_id, s.target, s.created_at FROM inboxes i JOIN push_subscriptions s ON s.inbox = i.id
             WHERE i.public_id = ?1 ORDER BY s.id",
        )?;
        let rows = stmt.query_map(params![inbox], |r| {
            Ok(super::PushRow {
                push_id: r.get(0)?,
                target: r.get(1)?,
                created_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub async fn push_remove(&self, inbox: String, push_id: String) -> Result<bool, StoreError> {
        self.call(move |c| {
            let n = c.execute(
                "DELETE FROM push_subscriptions WHERE push_id = ?2
                   AND inbox = (SELECT id FROM inboxes WHERE public_id = ?1)",
                params![inbox, push_id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    pub async fn push_claim(
        &self,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<super::PushJob>, StoreError> {
        self.call(move |c| {
            let now = super::now_ms();
            let lease = now + lease_ms;
            let mut jobs = Vec::new();
            {
                let mut stmt = c.prepare_cached(
                    "SELECT s.id, s.push_id, i.public_id, s.target, s.pending_seq, i.count, s.attempts
                       FROM push_subscriptions s JOIN inboxes i ON i.id = s.inbox
                      WHERE s.pending_seq > s.sent_seq AND s.due_at <= ?1
                      ORDER BY s.due_at LIMIT ?2",
                )?;
                let mut rows = stmt.query(params![now, limit])?;
                while let Some(r) = rows.next()? {
                    jobs.push((
                        r.get::<_, i64>(0)?,
                        super::PushJob {
                            push_id: r.get(1)?,
                            inbox_id: r.get(2)?,
                            target: r.get(3)?,
                            seq: r.get(4)?,
                            unread: r.get(5)?,
                            attempts: r.get(6)?,
                            lease,
                        },
                    ));
                }
            }
            let mut claim = c.prepare_cached(
                "UPDATE push_subscriptions SET due_at = ?2, leased = 1 WHERE id = ?1",
            )?;
            for (id, _) in &jobs {
                claim.execute(params![id, lease])?;
            }
            Ok(jobs.into_iter().map(|(_, j)| j).collect())
        })
        .await
    }

    pub async fn push_settle(
        &self,
        push_id: String,
        lease: i64,
        settle: super::PushSettle,
    ) -> Result<(), StoreError> {
        use super::PushSettle;
        self.call(move |c| {
            let owned = "push_id = ?1 AND leased = 1 AND due_at = ?2";
            let now = super::now_ms();
            match settle {
                PushSettle::Done { seq, window_ms } => c.execute(
                    &format!("UPDATE push_subscriptions SET sent_seq = MAX(sent_seq, ?3), attempts = 0, due_at = ?4, leased = 0 WHERE {owned}"),
                    params![push_id, lease, seq, now + window_ms],
                ),
                PushSettle::Retry { after_ms } => c.execute(
                    &format!("UPDATE push_subscriptions SET attempts = attempts + 1, due_at = ?3, leased = 0 WHERE {owned}"),
                    params![push_id, lease, now + after_ms],
                ),
                PushSettle::Gone => c.execute(
                    &format!("DELETE FROM push_subscriptions WHERE {owned}"),
                    params![push_id, lease],
                ),
            }?;
            Ok(())
        })
        .await
    }

    pub async fn push_next_due(&self) -> Result<Option<i64>, StoreError> {
        let due: Option<i64> = self
            .reader()
            .prepare_cached(
                "SELECT MIN(due_at) FROM push_subscriptions WHERE pending_seq > sent_seq",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(due.map(|d| d - super::now_ms()))
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn credential_hash(&self, inbox: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .reader()
            .prepare_cached("SELECT credential_hash FROM inboxes WHERE public_id = ?1")?
            .query_row(params![inbox], |r| r.get(0))
            .optional()?)
    }

    pub async fn fetch(
        &self,
        inbox: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT m.seq, m.received_at, m.envelope FROM inboxes i JOIN messages m ON m.inbox = i.id
             WHERE i.public_id = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![inbox, after, limit], |r| {
            Ok(StoredMessage {
                seq: r.get(0)?,
                received_at: r.get(1)?,
                envelope: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn waiters(&self) -> &Arc<super::Waiters> {
        &self.waiters
    }

    pub(crate) fn touches(&self) -> &super::Touches {
        &self.touches
    }
}

/// A job's answer, held until the commit's fate is known (None = committed).
type PendingAnswer = Box<dyn FnOnce(Option<&str>)>;

/// The writer thread: group commit.
fn write_loop(
    mut conn: Connection,
    queue: mpsc::Receiver<Job>,
    waiters: Arc<super::Waiters>,
    quota: Quota,
    stats: &WriterStats,
) {
    const MAX_GROUP: usize = 1024;
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                fail_all(group, &e.to_string());
                continue;
            }
        };
        // Run every job; keep its answer until the commit is durable.
        let mut answers: Vec<PendingAnswer> = Vec::with_capacity(group.len());
        // The inboxes this commit stores into: their polls are woken.
        let mut stored: Vec<String> = Vec::new();
        for job in group {
            match job {
                Job::Create {
                    id,
                    credential_hash,
                    reply,
                } => {
                    let r = tx
                        .execute("INSERT INTO inboxes (public_id, credential_hash, created_at) VALUES (?1, ?2, ?3)", params![id, &credential_hash[..], now()])
                        .map(|_| ())
                        .map_err(StoreError::from);
                    answers.push(answer(reply, r));
                }
                Job::Submit {
                    inbox,
                    dedupe,
                    envelope,
                    reply,
                } => {
                    let r = submit(&tx, &inbox, &dedupe, &envelope, quota);
                    if matches!(
                        r,
                        Ok(Submitted {
                            duplicate: false,
                            ..
                        })
                    ) {
                        stored.push(inbox);
                    }
                    answers.push(answer(reply, r));
                }
                Job::Ack {
                    inbox,
                    up_to,
                    reply,
                } => {
                    let r = ack(&tx, &inbox, up_to);
                    answers.push(answer(reply, r));
                }
                Job::Delete { inbox, reply } => {
                    let r = tx
                        .execute("DELETE FROM inboxes WHERE public_id = ?1", params![inbox])
                        .map(|_| ())
                        .map_err(StoreError::from);
                    answers.push(answer(reply, r));
                }
                Job::Expire { before, reply } => {
                    let r = expire(&tx, before);
                    answers.push(answer(reply, r));
                }
                Job::ExpireIdle { before, reply } => {
                    let r = tx
                        .execute(
                            "DELETE FROM inboxes WHERE COALESCE(fetched_at, created_at) < ?1",
                            params![before],
                        )
                        .map(|n| n as i64)
                        .map_err(StoreError::from);
                    answers.push(answer(reply, r));
                }
                Job::Touch { inbox, at, reply } => {
                    let r = tx
                        .execute(
                            "UPDATE inboxes SET fetched_at = ?2 WHERE public_id = ?1",
                            params![inbox, at],
                        )
                        .map(|_| ())
                        .map_err(StoreError::from);
                    answers.push(answer(reply, r));
                }
                Job::Call(work) => answers.push(work(Ok(&tx))),
            }
        }
        let jobs = answers.len() as u64;
        match tx.commit() {
            Ok(()) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.jobs.fetch_add(jobs, Ordering::Relaxed);
                for a in answers {
                    a(None);
                }
                for inbox in &stored {
                    waiters.wake(inbox);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for a in answers {
                    a(Some(&msg));
                }
            }
        }
    }
}

/// Wraps a job's result so it is sent only once the commit's fate is known:
/// a failed commit turns every result into a storage error.
fn answer<T: Send + 'static>(
    reply: oneshot::Sender<Result<T, StoreError>>,
    result: Result<T, StoreError>,
) -> PendingAnswer {
    Box::new(move |commit_error: Option<&str>| {
        let result = match commit_error {
            None => result,
            Some(e) => Err(StoreError::Storage(e.to_string())),
        };
        let _ = reply.send(result);
    })
}

fn fail_all(group: Vec<Job>, msg: &str) {
    let err = || StoreError::Storage(msg.to_string());
    for job in group {
        let _ = match job {
            Job::Create { reply, .. } => reply.send(Err(err())).map_err(|_| ()),
            Job::Submit { reply, .. } => reply.send(Err(err())).map_err(|_| ()),
            Job::Ack { reply, .. } => reply.send(Err(err())).map_err(|_| ()),
            Job::Delete { reply, .. } => reply.send(Err(err())).map_err(|_| ()),
            Job::Expire { reply, .. } | Job::ExpireIdle { reply, .. } => {
                reply.send(Err(err())).map_err(|_| ())
            }
            Job::Touch { reply, .. } => reply.send(Err(err())).map_err(|_| ()),
            Job::Call(work) => {
                work(Err(msg))(None);
                Ok(())
            }
        };
    }
}

fn submit(
    conn: &Connection,
    inbox: &str,
    dedupe: &[u8; 32],
    envelope: &str,
    quota: Quota,
) -> Result<Submitted, StoreError> {
    let Some((key, next_seq, count, bytes)) = conn
        .prepare_cached("SELECT id, next_seq, count, bytes FROM inboxes WHERE public_id = ?1")?
        .query_row(params![inbox], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()?
    else {
        return Err(StoreError::NoInbox);
    };
    if let Some(seq) = conn
        .prepare_cached("SELECT seq FROM messages WHERE inbox = ?1 AND dedupe = ?2")?
        .query_row(params![key, &dedupe[..]], |r| r.get(0))
        .optional()?
    {
        return Ok(Submitted {
            seq,
            duplicate: true,
        });
    }
    if count + 1 > quota.max_messages || bytes + envelope.len() as i64 > quota.max_bytes {
        return Err(StoreError::Full);
    }
    conn.prepare_cached("INSERT INTO messages (inbox, seq, dedupe, envelope, received_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![key, next_seq, &dedupe[..], envelope, now()])?;
    conn.prepare_cached("UPDATE inboxes SET next_seq = next_seq + 1, count = count + 1, bytes = bytes + ?2 WHERE id = ?1")?
        .execute(params![key, envelope.len() as i64])?;
    // The inbox's push subscriptions now have this seq to announce.
    // A new state gets every try again.
    conn.prepare_cached(
        "UPDATE push_subscriptions SET pending_seq = ?2, attempts = 0 WHERE inbox = ?1",
    )?
    .execute(params![key, next_seq])?;
    Ok(Submitted {
        seq: next_seq,
        duplicate: false,
    })
}

fn ack(conn: &Connection, inbox: &str, up_to: i64) -> Result<i64, StoreError> {
    let Some(key) = conn
        .prepare_cached("SELECT id FROM inboxes WHERE public_id = ?1")?
        .query_row(params![inbox], |r| r.get::<_, i64>(0))
        .optional()?
    else {
        return Err(StoreError::NoInbox);
    };
    // One pass: delete and learn the sizes of what went.
    let (mut n, mut b) = (0i64, 0i64);
    let mut stmt = conn.prepare_cached(
        "DELETE FROM messages WHERE inbox = ?1 AND seq <= ?2 RETURNING LENGTH(envelope)",
    )?;
    let mut rows = stmt.query(params![key, up_to])?;
    while let Some(row) = rows.next()? {
        n += 1;
        b += row.get::<_, i64>(0)?;
    }
    drop(rows);
    if n > 0 {
        conn.prepare_cached(
            "UPDATE inboxes SET count = count - ?2, bytes = bytes - ?3 WHERE id = ?1",
        )?
        .execute(params![key, n, b])?;
    }
    Ok(n)
}

fn expire(conn: &Connection, before: i64) -> Result<i64, StoreError> {
    // One pass over the expired rows, then one update per inbox touched.
    let mut gone: std::collections::HashMap<i64, (i64, i64)> = std::collections::HashMap::new();
    let mut stmt = conn
        .prepare("DELETE FROM messages WHERE received_at < ?1 RETURNING inbox, LENGTH(envelope)")?;
    let mut rows = stmt.query(params![before])?;
    while let Some(row) = rows.next()? {
        let entry = gone.entry(row.get(0)?).or_default();
        entry.0 += 1;
        entry.1 += row.get::<_, i64>(1)?;
    }
    drop(rows);
    let mut update = conn.prepare_cached(
        "UPDATE inboxes SET count = count - ?2, bytes = bytes - ?3 WHERE id = ?1",
    )?;
    for (inbox, (n, b)) in &gone {
        update.execute(params![inbox, n, b])?;
    }
    Ok(gone.values().map(|(n, _)| n).sum())
}
