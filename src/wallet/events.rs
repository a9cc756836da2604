//! The event log: what happened to the wallet, in order, kept in its
//! database so an app that attaches late, restarts, or runs in another
//! process reads what it missed. Each event is written in the transaction
//! of what it reports (a received message, a delivery outcome), so the log
//! and the wallet never disagree. Ids are the cursor: increasing, never
//! reused. The app acknowledges what it has handled (`mark_events_handled`),
//! in the spirit of ldk-node's `next_event`/`event_handled`.

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::db;
use super::outbox::now_ms;
use super::types::{KeyChange, QueueItem, Received, WalletError};
use super::Wallet;
use crate::protocol::Action;

/// Events kept at most: beyond it the oldest go (an app that was away for
/// 10,000 events reads the newest and sees the gap in the ids).
pub const MAX_EVENTS: i64 = 10_000;

/// What happened to one of our messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageStatus {
    /// A failed delivery was put back in line by the user (`retry_message`).
    Queued,
    /// The peer's inbox took it and gave it `seq`.
    Delivered { seq: i64 },
    /// Attempt `attempts` failed; tried again at `next_attempt_at` (unix ms).
    Retrying {
        error: String,
        attempts: u32,
        next_attempt_at: i64,
    },
    /// Refused for good, or given up on: the user may retry it.
    Failed { error: String },
    /// The peer returned a status (peer_return_message_status).
    PeerStatus {
        status: String,
        memo: Option<String>,
    },
    /// The peer accepted our request (a funds request: paid).
    Accepted,
    /// The peer rejected our request.
    Rejected,
    /// The peer cancelled a request it had sent us.
    Cancelled,
}

/// An event as stored (JSON in `events.body`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Stored {
    QueueItemAdded {
        queue_id: i64,
    },
    MessageStatusChanged {
        peer: String,
        message_id: String,
        status: MessageStatus,
    },
    PeerKeyChanged {
        peer: String,
        previous_key: String,
        new_key: String,
        voided: Vec<String>,
    },
}

/// Something the app may want to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalletEvent {
    /// A received message waits in the queue (the item as it is now: it
    /// may have been handled since).
    QueueItemAdded { item: Box<QueueItem> },
    /// A message changed status; `message_id` is ours for deliveries, peer
    /// statuses, accepts and rejects, and the peer's for a cancel.
    MessageStatusChanged {
        peer: String,
        message_id: String,
        status: MessageStatus,
    },
    /// `peer` came with a key that is not the one its channel had pinned;
    /// the requests pending with the old key (`voided`) are voided.
    PeerKeyChanged {
        peer: String,
        previous_key: String,
        new_key: String,
        voided: Vec<String>,
    },
}

/// One event of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// The cursor: pass it as `after` to read what came next.
    pub id: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    pub event: WalletEvent,
}

fn append(conn: &Connection, event: &Stored) -> rusqlite::Result<()> {
    let body = serde_json::to_string(event).expect("events serialize");
    conn.prepare_cached("INSERT INTO events (body, created_at) VALUES (?1, ?2)")?
        .execute(params![body, now_ms()])?;
    let id = conn.last_insert_rowid();
    // By id, so the bound costs an index range, not a count.
    conn.prepare_cached("DELETE FROM events WHERE id <= ?1")?
        .execute([id - MAX_EVENTS])?;
    Ok(())
}

/// Logs what a received message did, in its transaction.
pub(crate) fn log_received(conn: &Connection, received: &Received) -> rusqlite::Result<()> {
    let m = &received.message;
    let status = match m.action {
        Action::ReturnMessageStatus => Some(MessageStatus::PeerStatus {
            status: m.data.message_status.clone().unwrap_or_default(),
            memo: m.data.memo.clone(),
        }),
        Action::AcceptRequest => Some(MessageStatus::Accepted),
        Action::RejectRequest => Some(MessageStatus::Rejected),
        Action::CancelRequest => Some(MessageStatus::Cancelled),
        _ => None,
    };
    if let (Some(status), Some(referenced)) = (status, &m.referenced_message_id) {
        append(
            conn,
            &Stored::MessageStatusChanged {
                peer: m.peer.to_string(),
                message_id: referenced.clone(),
                status,
            },
        )?;
    }
    // A key change was logged when it was found (`log_key_change`).
    if let Some(queue_id) = received.queue_id {
        append(conn, &Stored::QueueItemAdded { queue_id })?;
    }
    Ok(())
}

/// Logs a peer's key change, in the transaction that voids what was
/// pending with the old key.
pub(crate) fn log_key_change(conn: &Connection, k: &KeyChange) -> rusqlite::Result<()> {
    append(
        conn,
        &Stored::PeerKeyChanged {
            peer: k.peer.to_string(),
            previous_key: k.previous_key.to_fio_string(),
            new_key: k.new_key.to_fio_string(),
            voided: k.voided.clone(),
        },
    )
}

/// Logs a delivery outcome of our message `row`, in its transaction.
pub(crate) fn log_delivery(
    conn: &Connection,
    row: i64,
    status: MessageStatus,
) -> rusqlite::Result<()> {
    let (peer, message_id): (String, String) = conn
        .prepare_cached(
            "SELECT c.peer_address, m.message_id FROM messages m JOIN channels c ON c.id = m.channel_id
             WHERE m.id = ?1",
        )?
        .query_row([row], |r| Ok((r.get(0)?, r.get(1)?)))?;
    append(
        conn,
        &Stored::MessageStatusChanged {
            peer,
            message_id,
            status,
        },
    )
}

fn resolve(conn: &Connection, stored: Stored) -> rusqlite::Result<Option<WalletEvent>> {
    Ok(Some(match stored {
        Stored::QueueItemAdded { queue_id } => match db::queue_item_by_id(conn, queue_id)? {
            Some(item) => WalletEvent::QueueItemAdded {
                item: Box::new(item),
            },
            // Messages and queue items are never deleted; if one were, its
            // event would go with it rather than fail the page.
            None => return Ok(None),
        },
        Stored::MessageStatusChanged {
            peer,
            message_id,
            status,
        } => WalletEvent::MessageStatusChanged {
            peer,
            message_id,
            status,
        },
        Stored::PeerKeyChanged {
            peer,
            previous_key,
            new_key,
            voided,
        } => WalletEvent::PeerKeyChanged {
            peer,
            previous_key,
            new_key,
            voided,
        },
    }))
}

/// Events after `after`, oldest first, at most `limit`.
fn page(conn: &Connection, after: i64, limit: usize) -> Result<Vec<EventRecord>, WalletError> {
    let mut events = Vec::new();
    let mut scanned = after;
    // An event that no longer resolves is passed over, never returned as
    // an empty page: a cursor always moves on.
    loop {
        let rows = page_rows(conn, scanned, limit - events.len())?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(events);
        };
        scanned = last;
        events.extend(resolve_rows(conn, rows)?);
        if events.len() >= limit {
            return Ok(events);
        }
    }
}

fn page_rows(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, String, i64)>> {
    conn.prepare_cached(
        "SELECT id, body, created_at FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?
    .query_map(
        params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?
    .collect()
}

fn resolve_rows(
    conn: &Connection,
    rows: Vec<(i64, String, i64)>,
) -> Result<Vec<EventRecord>, WalletError> {
    let mut events = Vec::with_capacity(rows.len());
    for (id, body, created_at) in rows {
        let stored: Stored = serde_json::from_str(&body).map_err(|e| {
            WalletError::Store(crate::store::StoreError::Sqlite(
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    format!("event {id}: {e}").into(),
                ),
            ))
        })?;
        if let Some(event) = resolve(conn, stored)? {
            events.push(EventRecord {
                id,
                created_at,
                event,
            });
        }
    }
    Ok(events)
}

pub(super) fn handled(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT handled FROM event_cursor WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The id of the newest event ever logged (0: none), trimmed or not.
pub(super) fn last_id(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'events'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

impl Wallet {
    /// Events after `after` (`None`: after the last one marked handled),
    /// oldest first, at most `limit`. A local read: it never waits on the
    /// network or on a sync.
    pub fn events(
        &self,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<EventRecord>, WalletError> {
        self.reading(|c| {
            let after = match after {
                Some(a) => a,
                None => handled(c)?,
            };
            page(c, after, limit)
        })
    }

    /// [`events`](Self::events), waiting up to `timeout` for the first one
    /// when there is none yet. Woken by every event this wallet object
    /// commits; events another process commits (an extension) are seen at
    /// the next wake-up or when the wait ends. Cancelled by dropping it.
    pub async fn next_events(
        &self,
        after: Option<i64>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Vec<EventRecord>, WalletError> {
        let mut signal = self.event_signal.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Marked seen before reading: an event committed after the
            // read wakes the wait below.
            signal.borrow_and_update();
            let events = self.events(after, limit)?;
            if !events.is_empty() {
                return Ok(events);
            }
            match tokio::time::timeout_at(deadline, signal.changed()).await {
                Ok(Ok(())) => continue,
                // The wallet is gone, or the time is up.
                Ok(Err(_)) | Err(_) => return Ok(Vec::new()),
            }
        }
    }

    /// Records that the app has handled every event up to `id`: a later
    /// `events(None, …)` starts after it. The mark never moves back; an id
    /// beyond the newest event is refused.
    pub fn mark_events_handled(&self, id: i64) -> Result<(), WalletError> {
        let inner = self.lock()?;
        if id > last_id(&inner.conn)? {
            return Err(WalletError::Request(format!("no event has id {id}")));
        }
        inner.conn.execute(
            "INSERT INTO event_cursor (id, handled) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET handled = max(handled, excluded.handled)",
            [id],
        )?;
        Ok(())
    }

    /// The id of the last event marked handled (0: none).
    pub fn handled_events(&self) -> Result<i64, WalletError> {
        self.reading(|c| handled(c).map_err(WalletError::from))
    }

    /// The id of the newest event (0: none yet).
    pub fn last_event_id(&self) -> Result<i64, WalletError> {
        self.reading(|c| last_id(c).map_err(WalletError::from))
    }

    /// A receiver that changes whenever this object commits events.
    pub fn subscribe_events(&self) -> tokio::sync::watch::Receiver<u64> {
        self.event_signal.subscribe()
    }

    /// Wakes the waiters after a commit that may have logged events.
    pub(crate) fn events_committed(&self) {
        self.event_signal.send_modify(|n| *n = n.wrapping_add(1));
    }
}
