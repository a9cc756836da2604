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
use tokio::sync::{oneshot, watch};

use super::{now, Quota, StoreError, StoredMessage, Submitted, WriterStats};

/// The schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// Version 1.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS inboxes (
    id              TEXT PRIMARY KEY,          -- 32 hex, public (on chain)
    credential_hash BLOB NOT NULL,             -- SHA-256 of the credential
    next_seq        INTEGER NOT NULL DEFAULT 1,
    count           INTEGER NOT NULL DEFAULT 0,
    bytes           INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    inbox_id    TEXT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    dedupe      BLOB NOT NULL,                 -- SHA-256(id_token ‖ 0 ‖ content)
    envelope    TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (inbox_id, seq),
    UNIQUE (inbox_id, dedupe)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_age ON messages (received_at);
";

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
}

/// Readers: WAL lets them run beside the writer; several so that fetches
/// and credential checks do not queue behind one another.
const READERS: usize = 4;

pub struct SqliteStore {
    stats: Arc<WriterStats>,
    jobs: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Bumped after every commit that added envelopes: long polls wait on it.
    commits: watch::Receiver<u64>,
    quota: Quota,
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
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
        let (notify, commits) = watch::channel(0u64);
        let stats = Arc::new(WriterStats::default());
        let writer_stats = stats.clone();
        thread::Builder::new()
            .name("fio-inbox-writer".into())
            .spawn(move || write_loop(writer, queue, notify, quota, &writer_stats))
            .map_err(|e| StoreError::Storage(e.to_string()))?;
        Ok(SqliteStore {
            stats,
            jobs,
            readers,
            next_reader: AtomicUsize::new(0),
            commits,
            quota,
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

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn credential_hash(&self, inbox: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .reader()
            .prepare_cached("SELECT credential_hash FROM inboxes WHERE id = ?1")?
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
            "SELECT seq, received_at, envelope FROM messages WHERE inbox_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
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

    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }
}

/// A job's answer, held until the commit's fate is known (None = committed).
type PendingAnswer = Box<dyn FnOnce(Option<&str>)>;

/// The writer thread: group commit.
fn write_loop(
    mut conn: Connection,
    queue: mpsc::Receiver<Job>,
    notify: watch::Sender<u64>,
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
        let mut stored = false;
        for job in group {
            match job {
                Job::Create {
                    id,
                    credential_hash,
                    reply,
                } => {
                    let r = tx
                        .execute("INSERT INTO inboxes (id, credential_hash, created_at) VALUES (?1, ?2, ?3)", params![id, &credential_hash[..], now()])
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
                    stored |= matches!(
                        r,
                        Ok(Submitted {
                            duplicate: false,
                            ..
                        })
                    );
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
                        .execute("DELETE FROM inboxes WHERE id = ?1", params![inbox])
                        .map(|_| ())
                        .map_err(StoreError::from);
                    answers.push(answer(reply, r));
                }
                Job::Expire { before, reply } => {
                    let r = expire(&tx, before);
                    answers.push(answer(reply, r));
                }
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
                if stored {
                    notify.send_modify(|v| *v += 1);
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
            Job::Expire { reply, .. } => reply.send(Err(err())).map_err(|_| ()),
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
    let Some((next_seq, count, bytes)) = conn
        .prepare_cached("SELECT next_seq, count, bytes FROM inboxes WHERE id = ?1")?
        .query_row(params![inbox], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?
    else {
        return Err(StoreError::NoInbox);
    };
    if let Some(seq) = conn
        .prepare_cached("SELECT seq FROM messages WHERE inbox_id = ?1 AND dedupe = ?2")?
        .query_row(params![inbox, &dedupe[..]], |r| r.get(0))
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
    conn.prepare_cached("INSERT INTO messages (inbox_id, seq, dedupe, envelope, received_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![inbox, next_seq, &dedupe[..], envelope, now()])?;
    conn.prepare_cached("UPDATE inboxes SET next_seq = next_seq + 1, count = count + 1, bytes = bytes + ?2 WHERE id = ?1")?
        .execute(params![inbox, envelope.len() as i64])?;
    Ok(Submitted {
        seq: next_seq,
        duplicate: false,
    })
}

fn ack(conn: &Connection, inbox: &str, up_to: i64) -> Result<i64, StoreError> {
    let (n, b): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(envelope)), 0) FROM messages WHERE inbox_id = ?1 AND seq <= ?2",
        params![inbox, up_to],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    conn.execute(
        "DELETE FROM messages WHERE inbox_id = ?1 AND seq <= ?2",
        params![inbox, up_to],
    )?;
    conn.execute(
        "UPDATE inboxes SET count = count - ?2, bytes = bytes - ?3 WHERE id = ?1",
        params![inbox, n, b],
    )?;
    Ok(n)
}

fn expire(conn: &Connection, before: i64) -> Result<i64, StoreError> {
    conn.execute(
        "UPDATE inboxes SET count = count - (SELECT COUNT(*) FROM messages m WHERE m.inbox_id = inboxes.id AND m.received_at < ?1),
                            bytes = bytes - (SELECT COALESCE(SUM(LENGTH(envelope)), 0) FROM messages m WHERE m.inbox_id = inboxes.id AND m.received_at < ?1)",
        params![before],
    )?;
    Ok(conn.execute(
        "DELETE FROM messages WHERE received_at < ?1",
        params![before],
    )? as i64)
}
