//! The PostgreSQL backend: several relay instances may share one database.
//!
//! Every write is one statement in its own transaction, committed with
//! `synchronous_commit = on` (set on every connection, whatever the server's
//! default), so the commit has reached the server's WAL on disk before we
//! answer. Concurrent commits share WAL flushes inside PostgreSQL.
//!
//! Sequence numbers come from the inbox row, which a submit locks
//! (`SELECT … FOR UPDATE`) before its dedupe check, so submits to one inbox
//! are serialized across instances and a duplicate is always seen.
//!
//! Long polls on this instance are woken directly after a commit; those on
//! other instances by `NOTIFY fio_inbox`. The notification is not sent from
//! the submit's own transaction, because PostgreSQL serializes the commits
//! of notifying transactions (one fsync each, no group commit): a task sends
//! one NOTIFY for all commits of the last few milliseconds instead.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{now, Quota, StoreError, StoredMessage, Submitted, WriterStats};

/// The schema version this build writes (table `fio_inbox_schema`).
const SCHEMA_VERSION: i32 = 3;

/// Taken while migrating, so instances starting together do not race.
const MIGRATION_LOCK: i64 = 0x6669_6f5f_696e_6278; // "fio_inbx"

const SCHEMA_V1: &str = r#"
CREATE TABLE inboxes (
    id              text PRIMARY KEY,
    credential_hash bytea NOT NULL,
    next_seq        bigint NOT NULL DEFAULT 1,
    count           bigint NOT NULL DEFAULT 0,
    bytes           bigint NOT NULL DEFAULT 0,
    created_at      bigint NOT NULL
);
CREATE TABLE messages (
    inbox_id    text NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    dedupe      bytea NOT NULL,
    envelope    text NOT NULL,
    received_at bigint NOT NULL,
    PRIMARY KEY (inbox_id, seq),
    UNIQUE (inbox_id, dedupe)
);
CREATE INDEX messages_by_age ON messages (received_at);

-- One round trip per submit. The row lock on the inbox comes first, so the
-- dedupe check below sees every earlier submit to this inbox (READ COMMITTED
-- takes a new snapshot per statement).
CREATE FUNCTION fio_inbox_submit(p_inbox text, p_dedupe bytea, p_envelope text,
                                 p_now bigint, p_max_count bigint, p_max_bytes bigint,
                                 OUT o_seq bigint, OUT o_outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_next bigint; v_count bigint; v_bytes bigint;
BEGIN
    SELECT next_seq, count, bytes INTO v_next, v_count, v_bytes
      FROM inboxes WHERE id = p_inbox FOR UPDATE;
    IF NOT FOUND THEN
        o_outcome := 'no_inbox'; RETURN;
    END IF;
    SELECT seq INTO o_seq FROM messages WHERE inbox_id = p_inbox AND dedupe = p_dedupe;
    IF FOUND THEN
        o_outcome := 'duplicate'; RETURN;
    END IF;
    IF v_count + 1 > p_max_count OR v_bytes + octet_length(p_envelope) > p_max_bytes THEN
        o_outcome := 'full'; RETURN;
    END IF;
    INSERT INTO messages (inbox_id, seq, dedupe, envelope, received_at)
        VALUES (p_inbox, v_next, p_dedupe, p_envelope, p_now);
    UPDATE inboxes SET next_seq = v_next + 1, count = v_count + 1,
                       bytes = v_bytes + octet_length(p_envelope)
     WHERE id = p_inbox;
    o_seq := v_next; o_outcome := 'stored';
END
$$;
"#;

/// Version 2: when an inbox was last fetched from (NULL: never).
const SCHEMA_V2: &str = "ALTER TABLE inboxes ADD COLUMN fetched_at bigint;";

/// Version 3: push (docs/protocol.md §4.4), as in the SQLite schema; the
/// submit function also raises the inbox's subscriptions' `pending_seq`.
/// A claim sets `leased` and puts `due_at` at the lease's end, so a claim
/// an instance took and never settled (it died) is taken again after it.
const SCHEMA_V3: &str = r#"
CREATE TABLE push_keys (
    id    integer PRIMARY KEY CHECK (id = 1),
    vapid bytea NOT NULL
);
CREATE TABLE push_subscriptions (
    push_id     text PRIMARY KEY,
    n           bigint GENERATED ALWAYS AS IDENTITY,  -- registration order
    inbox_id    text NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    identity    bytea NOT NULL,
    target      text NOT NULL,
    created_at  bigint NOT NULL,
    pending_seq bigint NOT NULL DEFAULT 0,
    sent_seq    bigint NOT NULL DEFAULT 0,
    due_at      bigint NOT NULL DEFAULT 0,
    attempts    bigint NOT NULL DEFAULT 0,
    leased      boolean NOT NULL DEFAULT false,
    UNIQUE (inbox_id, identity)
);
CREATE INDEX push_waiting ON push_subscriptions (due_at) WHERE pending_seq > sent_seq;

CREATE OR REPLACE FUNCTION fio_inbox_submit(p_inbox text, p_dedupe bytea, p_envelope text,
                                 p_now bigint, p_max_count bigint, p_max_bytes bigint,
                                 OUT o_seq bigint, OUT o_outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_next bigint; v_count bigint; v_bytes bigint;
BEGIN
    SELECT next_seq, count, bytes INTO v_next, v_count, v_bytes
      FROM inboxes WHERE id = p_inbox FOR UPDATE;
    IF NOT FOUND THEN
        o_outcome := 'no_inbox'; RETURN;
    END IF;
    SELECT seq INTO o_seq FROM messages WHERE inbox_id = p_inbox AND dedupe = p_dedupe;
    IF FOUND THEN
        o_outcome := 'duplicate'; RETURN;
    END IF;
    IF v_count + 1 > p_max_count OR v_bytes + octet_length(p_envelope) > p_max_bytes THEN
        o_outcome := 'full'; RETURN;
    END IF;
    INSERT INTO messages (inbox_id, seq, dedupe, envelope, received_at)
        VALUES (p_inbox, v_next, p_dedupe, p_envelope, p_now);
    UPDATE inboxes SET next_seq = v_next + 1, count = v_count + 1,
                       bytes = v_bytes + octet_length(p_envelope)
     WHERE id = p_inbox;
    UPDATE push_subscriptions SET pending_seq = v_next, attempts = 0 WHERE inbox_id = p_inbox;
    o_seq := v_next; o_outcome := 'stored';
END
$$;
"#;

/// The server's clock in unix ms: every instance schedules pushes on it.
const DB_NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

fn push_claim_sql() -> String {
    format!(
        "WITH now AS (SELECT {DB_NOW_MS} AS ms)
         UPDATE push_subscriptions s SET due_at = now.ms + $1, leased = true
           FROM inboxes i, now
          WHERE i.id = s.inbox_id AND s.push_id IN (
                SELECT push_id FROM push_subscriptions, now
                 WHERE pending_seq > sent_seq AND due_at <= now.ms
                 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING s.push_id, s.inbox_id, s.target, s.pending_seq, i.count, s.attempts, s.due_at"
    )
}

const ACK: &str = "
WITH gone AS (
    DELETE FROM messages WHERE inbox_id = $1 AND seq <= $2
    RETURNING octet_length(envelope) AS size
), counted AS (
    SELECT count(*) AS n, COALESCE(sum(size), 0)::bigint AS b FROM gone
), updated AS (
    UPDATE inboxes SET count = count - counted.n, bytes = bytes - counted.b
      FROM counted WHERE id = $1 AND counted.n > 0
)
SELECT n FROM counted";

const EXPIRE: &str = "
WITH gone AS (
    DELETE FROM messages WHERE received_at < $1
    RETURNING inbox_id, octet_length(envelope) AS size
), per_inbox AS (
    SELECT inbox_id, count(*) AS n, sum(size)::bigint AS b FROM gone GROUP BY inbox_id
), updated AS (
    UPDATE inboxes SET count = count - per_inbox.n, bytes = bytes - per_inbox.b
      FROM per_inbox WHERE id = per_inbox.inbox_id
)
SELECT COALESCE(sum(n), 0)::bigint FROM per_inbox";

pub struct PgStore {
    pool: Pool,
    quota: Quota,
    stats: Arc<WriterStats>,
    /// Held while the store lives: its background tasks end with it.
    _alive: watch::Receiver<()>,
    /// Local long polls, woken at once; other instances' by NOTIFY.
    waiters: Arc<super::Waiters>,
    /// Inboxes stored into since the last NOTIFY, and the notifier's bell.
    announced: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    stored: Arc<tokio::sync::Notify>,
    touches: super::Touches,
}

/// How long the notifier gathers commits into one NOTIFY.
const NOTIFY_COALESCE: Duration = Duration::from_millis(5);

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(e.to_string())
}

impl PgStore {
    pub async fn open(url: &str, quota: Quota, pool_size: usize) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(storage)?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            // Durability must not depend on the server's configuration.
            .post_create(Hook::async_fn(|client, _| {
                Box::pin(async move {
                    client
                        .batch_execute("SET synchronous_commit = on")
                        .await
                        .map_err(HookError::Backend)
                })
            }))
            .build()
            .map_err(storage)?;
        migrate(&pool).await?;
        let (alive, _alive) = watch::channel(());
        let alive = Arc::new(alive);
        let waiters = Arc::new(super::Waiters::default());
        tokio::spawn(listen(config, alive.clone(), waiters.clone()));
        let stored = Arc::new(tokio::sync::Notify::new());
        let announced = Arc::default();
        tokio::spawn(announce(
            pool.clone(),
            stored.clone(),
            alive,
            Arc::clone(&announced),
        ));
        Ok(PgStore {
            pool,
            quota,
            stats: Arc::new(WriterStats::default()),
            _alive,
            waiters,
            announced,
            stored,
            touches: Default::default(),
        })
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    pub fn waiters(&self) -> &Arc<super::Waiters> {
        &self.waiters
    }

    pub(crate) fn touches(&self) -> &super::Touches {
        &self.touches
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(storage)
    }

    fn committed(&self) {
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats.jobs.fetch_add(1, Ordering::Relaxed);
    }

    pub async fn create_inbox(
        &self,
        id: String,
        credential_hash: [u8; 32],
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO inboxes (id, credential_hash, created_at) VALUES ($1, $2, $3)",
            )
            .await
            .map_err(storage)?;
        client
            .execute(&stmt, &[&id, &&credential_hash[..], &now()])
            .await
            .map_err(storage)?;
        self.committed();
        Ok(())
    }

    pub async fn submit(
        &self,
        inbox: String,
        dedupe: [u8; 32],
        envelope: String,
    ) -> Result<Submitted, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT o_seq, o_outcome FROM fio_inbox_submit($1, $2, $3, $4, $5, $6)")
            .await
            .map_err(storage)?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &inbox,
                    &&dedupe[..],
                    &envelope,
                    &now(),
                    &self.quota.max_messages,
                    &self.quota.max_bytes,
                ],
            )
            .await
            .map_err(storage)?;
        let outcome: &str = row.get(1);
        match outcome {
            "stored" => {
                self.committed();
                self.waiters.wake(&inbox);
                self.announced
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(inbox.clone());
                self.stored.notify_one();
                Ok(Submitted {
                    seq: row.get(0),
                    duplicate: false,
                })
            }
            "duplicate" => Ok(Submitted {
                seq: row.get(0),
                duplicate: true,
            }),
            "no_inbox" => Err(StoreError::NoInbox),
            "full" => Err(StoreError::Full),
            other => Err(StoreError::Storage(format!("unexpected outcome {other}"))),
        }
    }

    pub async fn ack(&self, inbox: String, up_to: i64) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(ACK).await.map_err(storage)?;
        let row = client
            .query_one(&stmt, &[&inbox, &up_to])
            .await
            .map_err(storage)?;
        self.committed();
        Ok(row.get(0))
    }

    pub async fn delete_inbox(&self, inbox: String) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM inboxes WHERE id = $1")
            .await
            .map_err(storage)?;
        client.execute(&stmt, &[&inbox]).await.map_err(storage)?;
        self.committed();
        Ok(())
    }

    pub async fn expire(&self, before: i64) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(EXPIRE, &[&before])
            .await
            .map_err(storage)?;
        self.committed();
        Ok(row.get(0))
    }

    /// Deletes the inboxes last fetched from (or, never fetched, created)
    /// before `before`, with their envelopes; returns how many.
    pub async fn expire_idle(&self, before: i64) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM inboxes WHERE COALESCE(fetched_at, created_at) < $1",
                &[&before],
            )
            .await
            .map_err(storage)?;
        self.committed();
        Ok(n as i64)
    }

    /// Records that `inbox` was fetched from at `at`.
    pub async fn touch(&self, inbox: String, at: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE inboxes SET fetched_at = $2 WHERE id = $1",
                &[&inbox, &at],
            )
            .await
            .map_err(storage)?;
        self.committed();
        Ok(())
    }

    pub async fn push_key(&self, generated: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO push_keys (id, vapid) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&generated],
            )
            .await
            .map_err(storage)?;
        let row = client
            .query_one("SELECT vapid FROM push_keys WHERE id = 1", &[])
            .await
            .map_err(storage)?;
        Ok(row.get(0))
    }

    pub async fn push_add(
        &self,
        inbox: String,
        push_id: String,
        identity: [u8; 32],
        target: String,
        max: i64,
    ) -> Result<String, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        // The inbox row's lock orders concurrent adds, so the count holds.
        let found = tx
            .query_opt("SELECT 1 FROM inboxes WHERE id = $1 FOR UPDATE", &[&inbox])
            .await
            .map_err(storage)?;
        if found.is_none() {
            return Err(StoreError::NoInbox);
        }
        let existing = tx
            .query_opt(
                // New keys void a push in flight (see the SQLite backend).
                "UPDATE push_subscriptions SET target = $3, leased = false, due_at = 0
                  WHERE inbox_id = $1 AND identity = $2 RETURNING push_id",
                &[&inbox, &&identity[..], &target],
            )
            .await
            .map_err(storage)?;
        let id = if let Some(row) = existing {
            row.get(0)
        } else {
            let count: i64 = tx
                .query_one(
                    "SELECT count(*) FROM push_subscriptions WHERE inbox_id = $1",
                    &[&inbox],
                )
                .await
                .map_err(storage)?
                .get(0);
            if count >= max {
                return Err(StoreError::TooManySubscriptions);
            }
            tx.execute(
                "INSERT INTO push_subscriptions (push_id, inbox_id, identity, target, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&push_id, &inbox, &&identity[..], &target, &now()],
            )
            .await
            .map_err(storage)?;
            push_id
        };
        tx.commit().await.map_err(storage)?;
        self.committed();
        Ok(id)
    }

    pub async fn push_list(&self, inbox: &str) -> Result<Vec<super::PushRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT push_id, target, created_at FROM push_subscriptions WHERE inbox_id = $1 ORDER BY n",
                &[&inbox],
            )
            .await
            .map_err(storage)?;
        Ok(rows
            .iter()
            .map(|r| super::PushRow {
                push_id: r.get(0),
                target: r.get(1),
                created_at: r.get(2),
            })
            .collect())
    }

    pub async fn push_remove(&self, inbox: String, push_id: String) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM push_subscriptions WHERE inbox_id = $1 AND push_id = $2",
                &[&inbox, &push_id],
            )
            .await
            .map_err(storage)?;
        self.committed();
        Ok(n > 0)
    }

    pub async fn push_claim(
        &self,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<super::PushJob>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&push_claim_sql())
            .await
            .map_err(storage)?;
        let rows = client
            .query(&stmt, &[&lease_ms, &limit])
            .await
            .map_err(storage)?;
        if !rows.is_empty() {
            self.committed();
        }
        Ok(rows
            .iter()
            .map(|r| super::PushJob {
                push_id: r.get(0),
                inbox_id: r.get(1),
                target: r.get(2),
                seq: r.get(3),
                unread: r.get(4),
                attempts: r.get(5),
                lease: r.get(6),
            })
            .collect())
    }

    pub async fn push_settle(
        &self,
        push_id: String,
        lease: i64,
        settle: super::PushSettle,
    ) -> Result<(), StoreError> {
        use super::PushSettle;
        let client = self.client().await?;
        let owned = "push_id = $1 AND leased AND due_at = $2";
        match settle {
            PushSettle::Done { seq, window_ms } => client.execute(
                &format!("UPDATE push_subscriptions SET sent_seq = GREATEST(sent_seq, $3), attempts = 0, due_at = {DB_NOW_MS} + $4, leased = false WHERE {owned}"),
                &[&push_id, &lease, &seq, &window_ms],
            ).await,
            PushSettle::Retry { after_ms } => client.execute(
                &format!("UPDATE push_subscriptions SET attempts = attempts + 1, due_at = {DB_NOW_MS} + $3, leased = false WHERE {owned}"),
                &[&push_id, &lease, &after_ms],
            ).await,
            PushSettle::Gone => client.execute(
                &format!("DELETE FROM push_subscriptions WHERE {owned}"),
                &[&push_id, &lease],
            ).await,
        }
        .map_err(storage)?;
        self.committed();
        Ok(())
    }

    pub async fn push_next_due(&self) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!("SELECT MIN(due_at) - {DB_NOW_MS} FROM push_subscriptions WHERE pending_seq > sent_seq"),
                &[],
            )
            .await
            .map_err(storage)?;
        Ok(row.get(0))
    }

    pub async fn credential_hash(&self, inbox: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT credential_hash FROM inboxes WHERE id = $1")
            .await
            .map_err(storage)?;
        let row = client.query_opt(&stmt, &[&inbox]).await.map_err(storage)?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn fetch(
        &self,
        inbox: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT seq, received_at, envelope FROM messages WHERE inbox_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .await
            .map_err(storage)?;
        let rows = client
            .query(&stmt, &[&inbox, &after, &limit])
            .await
            .map_err(storage)?;
        Ok(rows
            .iter()
            .map(|r| StoredMessage {
                seq: r.get(0),
                received_at: r.get(1),
                envelope: r.get(2),
            })
            .collect())
    }
}

/// Creates or upgrades the schema under an advisory lock.
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(storage)?;
    let tx = client.transaction().await.map_err(storage)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(storage)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS fio_inbox_schema (version integer NOT NULL)")
        .await
        .map_err(storage)?;
    let version: i32 = tx
        .query_opt("SELECT version FROM fio_inbox_schema", &[])
        .await
        .map_err(storage)?
        .map_or(0, |r| r.get(0));
    if version > SCHEMA_VERSION {
        return Err(StoreError::Storage(format!(
            "the database has schema version {version}; this fio-inbox knows up to {SCHEMA_VERSION}"
        )));
    }
    if version < 1 {
        tx.batch_execute(SCHEMA_V1).await.map_err(storage)?;
        tx.execute("INSERT INTO fio_inbox_schema (version) VALUES (1)", &[])
            .await
            .map_err(storage)?;
    }
    if version < 2 {
        tx.batch_execute(SCHEMA_V2).await.map_err(storage)?;
    }
    if version < 3 {
        tx.batch_execute(SCHEMA_V3).await.map_err(storage)?;
    }
    tx.execute(
        "UPDATE fio_inbox_schema SET version = $1",
        &[&SCHEMA_VERSION],
    )
    .await
    .map_err(storage)?;
    tx.commit().await.map_err(storage)
}

/// Sends `NOTIFY fio_inbox` after envelopes were stored here, at most once
/// per NOTIFY_COALESCE, naming the inboxes stored into (comma-separated,
/// in payloads under PostgreSQL's 8000-byte limit); ends with the store.
async fn announce(
    pool: Pool,
    stored: Arc<tokio::sync::Notify>,
    alive: Arc<watch::Sender<()>>,
    announced: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
) {
    const PAYLOAD: usize = 7_000;
    loop {
        tokio::select! {
            _ = alive.closed() => return,
            _ = stored.notified() => {}
        }
        tokio::time::sleep(NOTIFY_COALESCE).await;
        let inboxes: Vec<String> = announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        let mut payloads = vec![String::new()];
        for id in inboxes {
            let last = payloads.last_mut().expect("one payload at least");
            if last.len() + id.len() + 1 > PAYLOAD {
                payloads.push(id);
            } else {
                if !last.is_empty() {
                    last.push(',');
                }
                last.push_str(&id);
            }
        }
        let sent = match pool.get().await {
            Ok(client) => {
                let mut r = Ok(());
                for payload in payloads.iter().filter(|p| !p.is_empty()) {
                    r = client
                        .execute("SELECT pg_notify('fio_inbox', $1)", &[payload])
                        .await
                        .map(|_| ())
                        .map_err(storage);
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            Err(e) => Err(storage(e)),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "NOTIFY fio_inbox failed; other instances see new envelopes at their next re-check");
        }
    }
}

/// Holds one connection in `LISTEN fio_inbox` and wakes the polls of the
/// inboxes each notification names (all of them for an empty one);
/// reconnects after a failure, and ends with the store. While it is down,
/// long polls still see new envelopes at their periodic re-check.
async fn listen(
    config: tokio_postgres::Config,
    notify: Arc<watch::Sender<()>>,
    waiters: Arc<super::Waiters>,
) {
    use futures_util::StreamExt;
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let listening = client.batch_execute("LISTEN fio_inbox");
                let mut listening = std::pin::pin!(listening);
                let mut subscribed = false;
                loop {
                    tokio::select! {
                        _ = notify.closed() => return,
                        r = &mut listening, if !subscribed => {
                            subscribed = true;
                            if let Err(e) = r {
                                tracing::warn!(error = %e, "LISTEN fio_inbox failed");
                                break;
                            }
                        }
                        m = messages.next() => match m {
                            Some(Ok(AsyncMessage::Notification(n))) => {
                                if n.payload().is_empty() {
                                    waiters.wake_all();
                                } else {
                                    n.payload().split(',').for_each(|id| waiters.wake(id));
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "PostgreSQL notification connection lost");
                                break;
                            }
                            None => break,
                        },
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the PostgreSQL notification connection")
            }
        }
        tokio::select! {
            _ = notify.closed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
