//! SQL for the wallet engine: row types and queries, all taking a
//! connection (or transaction) so callers decide the transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::now;
use super::types::*;
use crate::crypto::PublicKey;
use crate::protocol::{Action, FioAddress, InboxLocation, MessageData};

/// A channel row as the engine needs it (tokens included; `Debug` does not
/// show them).
#[derive(Clone)]
pub struct ChannelRow {
    pub id: i64,
    pub peer: FioAddress,
    pub peer_key: PublicKey,
    pub state: ChannelState,
    pub initiator_us: bool,
    pub our_token: Option<String>,
    pub peer_token: Option<String>,
    pub peer_inbox: Option<InboxLocation>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for ChannelRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |t: &Option<String>| t.as_ref().map(|_| "…");
        f.debug_struct("ChannelRow")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("peer_key", &self.peer_key)
            .field("state", &self.state)
            .field("initiator_us", &self.initiator_us)
            .field("our_token", &hidden(&self.our_token))
            .field("peer_token", &hidden(&self.peer_token))
            .field("peer_inbox", &self.peer_inbox)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl ChannelRow {
    pub fn public(self) -> Channel {
        Channel {
            peer: self.peer,
            peer_public_key: self.peer_key,
            state: self.state,
            initiated_by_us: self.initiator_us,
            peer_inbox: self.peer_inbox,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const CHANNEL_COLUMNS: &str =
    "id, peer_address, peer_key, state, initiator, our_token, peer_token, \
                               peer_inbox_type, peer_inbox, created_at, updated_at";

fn channel_row(r: &Row) -> rusqlite::Result<ChannelRow> {
    let peer: String = r.get(1)?;
    let key: Vec<u8> = r.get(2)?;
    let inbox_type: Option<String> = r.get(7)?;
    let inbox: Option<String> = r.get(8)?;
    Ok(ChannelRow {
        id: r.get(0)?,
        // Stored values were validated before they were written.
        peer: FioAddress::parse(&peer).expect("stored FIO address"),
        peer_key: PublicKey::from_sec1(&key).expect("stored public key"),
        state: ChannelState::parse(&r.get::<_, String>(3)?),
        initiator_us: r.get::<_, String>(4)? == "us",
        our_token: r.get(5)?,
        peer_token: r.get(6)?,
        peer_inbox: match (inbox_type, inbox) {
            (Some(t), Some(a)) => InboxLocation::parse(&t, &a).ok(),
            _ => None,
        },
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

pub fn all_channels(conn: &Connection) -> rusqlite::Result<Vec<ChannelRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY updated_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], channel_row)?;
    rows.collect()
}

pub fn channel_by_peer(
    conn: &Connection,
    own: &FioAddress,
    peer: &FioAddress,
) -> rusqlite::Result<Option<ChannelRow>> {
    conn.prepare_cached(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE own_address = ?1 AND peer_address = ?2"
    ))?
    .query_row(params![own.as_str(), peer.as_str()], channel_row)
    .optional()
}

pub fn channel_by_id(conn: &Connection, id: i64) -> rusqlite::Result<ChannelRow> {
    conn.prepare_cached(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?1"
    ))?
    .query_row(params![id], channel_row)
}

/// The live channel that issued `token` (current or previous token).
pub fn channel_by_token(conn: &Connection, token: &str) -> rusqlite::Result<Option<ChannelRow>> {
    conn.prepare_cached(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE (our_token = ?1 OR our_previous_token = ?1) AND state != 'closed'"
    ))?
    .query_row(params![token], channel_row)
    .optional()
}

/// Creates the channel with `peer` in state requested, or puts an existing
/// one back there with the given tokens and key.
#[allow(clippy::too_many_arguments)]
pub fn upsert_requested_channel(
    conn: &Connection,
    own: &FioAddress,
    peer: &FioAddress,
    peer_key: &PublicKey,
    initiator_us: bool,
    our_token: Option<&str>,
    peer_token: Option<&str>,
    inbox: Option<&InboxLocation>,
) -> rusqlite::Result<i64> {
    let t = now();
    let initiator = if initiator_us { "us" } else { "peer" };
    let (inbox_type, inbox_addr) = (
        inbox.map(|i| i.kind.code()),
        inbox.map(|i| i.address.as_str()),
    );
    conn.prepare_cached(
        "INSERT INTO channels (own_address, peer_address, peer_key, state, initiator, our_token, peer_token,
                               peer_inbox_type, peer_inbox, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'requested', ?4, ?5, ?6, ?7, ?8, ?9, ?9)
         ON CONFLICT (own_address, peer_address) DO UPDATE SET
             peer_key = excluded.peer_key, state = 'requested', initiator = excluded.initiator,
             our_token = excluded.our_token, our_previous_token = NULL, peer_token = excluded.peer_token,
             peer_inbox_type = COALESCE(excluded.peer_inbox_type, peer_inbox_type),
             peer_inbox = COALESCE(excluded.peer_inbox, peer_inbox), updated_at = excluded.updated_at",
    )?
    .execute(params![own.as_str(), peer.as_str(), &peer_key.to_uncompressed()[..], initiator, our_token, peer_token, inbox_type, inbox_addr, t])?;
    conn.query_row(
        "SELECT id FROM channels WHERE own_address = ?1 AND peer_address = ?2",
        params![own.as_str(), peer.as_str()],
        |r| r.get(0),
    )
}

/// Closed: tokens forgotten, so the next contact is NEW again.
pub fn close_channel(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE channels SET state = 'closed', our_token = NULL, our_previous_token = NULL, peer_token = NULL,
                             updated_at = ?1 WHERE id = ?2")?.execute(params![now(), id])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_message(
    conn: &Connection,
    channel_id: i64,
    direction: Direction,
    data: &MessageData,
    data_text: &str,
    signature: &str,
    envelope: Option<&str>,
    created_at: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO messages (channel_id, direction, message_id, action, referenced_message_id, data, signature,
                               envelope, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        channel_id,
        direction.as_str(),
        data.message_id,
        Action::parse(&data.action).map(Action::name).unwrap_or(&data.action),
        data.referenced_message_id,
        data_text,
        signature,
        envelope,
        created_at
    ])?;
    Ok(conn.last_insert_rowid())
}

pub fn message_exists(
    conn: &Connection,
    channel_id: i64,
    direction: Direction,
    message_id: &str,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM messages WHERE channel_id = ?1 AND direction = ?2 AND message_id = ?3",
    )?
    .query_row(params![channel_id, direction.as_str(), message_id], |_| {
        Ok(())
    })
    .optional()
    .map(|o| o.is_some())
}

/// The row id of a message in the channel, either direction.
pub fn message_row(
    conn: &Connection,
    channel_id: i64,
    direction: Direction,
    message_id: &str,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT id FROM messages WHERE channel_id = ?1 AND direction = ?2 AND message_id = ?3",
    )?
    .query_row(params![channel_id, direction.as_str(), message_id], |r| {
        r.get(0)
    })
    .optional()
}

pub fn message_data(conn: &Connection, row: i64) -> rusqlite::Result<MessageData> {
    let text: String = conn
        .prepare_cached("SELECT data FROM messages WHERE id = ?1")?
        .query_row(params![row], |r| r.get(0))?;
    Ok(MessageData::parse(&text).expect("stored data parsed when it was written"))
}

/// Records the peer's status of our message; an error never overwrites a
/// success already recorded (a forged or replayed error must not undo it).
pub fn set_peer_status(conn: &Connection, row: i64, status: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET peer_status = ?1
         WHERE id = ?2 AND (peer_status IS NULL OR peer_status != 'success' OR ?1 = 'success')",
    )?
    .execute(params![status, row])?;
    Ok(())
}

pub fn insert_request(conn: &Connection, row: i64, kind: RequestKind) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO requests (message_row, kind, state, updated_at) VALUES (?1, ?2, 'pending', ?3)")?
        .execute(params![row, kind.as_str(), now()])?;
    Ok(())
}

pub struct RequestRow {
    pub row: i64,
    pub kind: RequestKind,
    pub message_id: String,
    pub state: RequestState,
}

pub fn request(
    conn: &Connection,
    channel_id: i64,
    dir: Direction,
    message_id: &str,
) -> rusqlite::Result<Option<RequestRow>> {
    conn.prepare_cached(
        "SELECT r.message_row, r.kind, m.message_id, r.state FROM messages m JOIN requests r ON r.message_row = m.id
         WHERE m.channel_id = ?1 AND m.direction = ?2 AND m.message_id = ?3",
    )?
    .query_row(params![channel_id, dir.as_str(), message_id], |r| {
        Ok(RequestRow {
            row: r.get(0)?,
            kind: RequestKind::parse(&r.get::<_, String>(1)?),
            message_id: r.get(2)?,
            state: RequestState::parse(&r.get::<_, String>(3)?),
        })
    })
    .optional()
}

/// Settles a request with its answer. Its queue item (a request the peer
/// sent) leaves the queue in the same transaction: answered by the user, an
/// automation or the peer, it no longer waits for anyone.
pub fn settle_request(
    conn: &Connection,
    request_row: i64,
    state: RequestState,
    answer_row: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE requests SET state = ?1, answer_row = ?2, updated_at = ?3 WHERE message_row = ?4",
    )?
    .execute(params![state.as_str(), answer_row, now(), request_row])?;
    unqueue_message(conn, request_row)
}

pub fn insert_queue(
    conn: &Connection,
    channel_id: i64,
    row: i64,
    action: Action,
) -> rusqlite::Result<i64> {
    insert_queue_with(conn, channel_id, row, action, None)
}

/// A queue item; `previous_key`: it reports that the peer's key changed.
pub fn insert_queue_with(
    conn: &Connection,
    channel_id: i64,
    row: i64,
    action: Action,
    previous_key: Option<&PublicKey>,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO queue (channel_id, message_row, action, created_at, previous_key) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        channel_id,
        row,
        action.name(),
        now(),
        previous_key.map(|k| k.to_uncompressed().to_vec())
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The peer of channel `ch` now has `new_key`: pending requests of the
/// channel (both ways) are voided with the reason and leave the queue, and
/// our envelopes still waiting to go to the old key fail with it.
pub fn void_for_key_change(
    conn: &Connection,
    ch: &ChannelRow,
    new_key: &PublicKey,
) -> rusqlite::Result<KeyChange> {
    let reason = format!(
        "the key of {} changed from {} to {}",
        ch.peer,
        ch.peer_key.to_fio_string(),
        new_key.to_fio_string()
    );
    let pending: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT r.message_row, m.message_id FROM requests r JOIN messages m ON m.id = r.message_row
             WHERE r.state = 'pending' AND m.channel_id = ?1 ORDER BY r.message_row",
        )?
        .query_map(params![ch.id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (row, _) in &pending {
        conn.prepare_cached(
            "UPDATE requests SET state = 'voided', reason = ?1, updated_at = ?2 WHERE message_row = ?3",
        )?
        .execute(params![reason, now(), row])?;
        unqueue_message(conn, *row)?;
    }
    let failed: Vec<i64> = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'failed', last_error = ?1
             WHERE state = 'pending' AND message_row IN (SELECT id FROM messages WHERE channel_id = ?2)
             RETURNING message_row",
        )?
        .query_map(params![reason, ch.id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let change = KeyChange {
        peer: ch.peer.clone(),
        previous_key: ch.peer_key,
        new_key: *new_key,
        voided: pending.into_iter().map(|(_, id)| id).collect(),
    };
    // Logged here, in the caller's transaction, whichever path found it
    // (a first contact from the new key, or our own request to it).
    super::events::log_key_change(conn, &change)?;
    for row in failed {
        super::events::log_delivery(
            conn,
            row,
            super::events::MessageStatus::Failed {
                error: reason.clone(),
            },
        )?;
    }
    Ok(change)
}

/// Marks the queue item of a message handled (a cancelled request leaves the queue).
pub fn unqueue_message(conn: &Connection, row: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE queue SET handled = 1 WHERE message_row = ?1")?
        .execute(params![row])?;
    Ok(())
}

/// A message's columns, from [`MESSAGE_FROM`] (or a join with its aliases).
const MESSAGE_COLUMNS: &str =
    "c.peer_address, m.direction, m.message_id, m.action, m.referenced_message_id, m.data, \
     m.signature, m.peer_status, m.created_at, m.id, o.state, o.attempts, o.next_attempt_at, \
     o.last_error, o.delivered_at, o.delivered_seq";

/// Messages with their channel and, for ours, their delivery.
const MESSAGE_FROM: &str = "messages m JOIN channels c ON c.id = m.channel_id \
     LEFT JOIN outbox o ON o.message_row = m.id";

fn message_record(r: &Row, offset: usize) -> rusqlite::Result<MessageRecord> {
    let peer: String = r.get(offset)?;
    let action: String = r.get(offset + 3)?;
    let data_text: String = r.get(offset + 5)?;
    let state: Option<String> = r.get(offset + 10)?;
    let attempts: u32 = r.get::<_, Option<u32>>(offset + 11)?.unwrap_or(0);
    let error = || -> rusqlite::Result<String> {
        Ok(r.get::<_, Option<String>>(offset + 13)?.unwrap_or_default())
    };
    let delivery = match state.as_deref() {
        None => None,
        Some("delivered") => Some(Delivery::Delivered {
            seq: r.get(offset + 15)?,
            delivered_at: r.get::<_, Option<i64>>(offset + 14)?.unwrap_or(0),
        }),
        Some("failed") => Some(Delivery::Failed {
            attempts,
            reason: error()?,
        }),
        Some(_) if attempts == 0 => Some(Delivery::Queued),
        Some(_) => Some(Delivery::Retrying {
            attempts,
            next_attempt_at: r.get(offset + 12)?,
            last_error: error()?,
        }),
    };
    Ok(MessageRecord {
        id: r.get(offset + 9)?,
        peer: FioAddress::parse(&peer).expect("stored FIO address"),
        direction: Direction::parse(&r.get::<_, String>(offset + 1)?),
        message_id: r.get(offset + 2)?,
        action: Action::parse(&action).expect("stored action"),
        referenced_message_id: r.get(offset + 4)?,
        data: MessageData::parse(&data_text).expect("stored data"),
        data_text,
        signature: r.get(offset + 6)?,
        peer_status: r.get(offset + 7)?,
        created_at: r.get(offset + 8)?,
        delivery,
    })
}

pub fn message_record_by_row(conn: &Connection, row: i64) -> rusqlite::Result<MessageRecord> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?1"
    ))?
    .query_row(params![row], |r| message_record(r, 0))
}

/// Messages with `peer` before message `before` (`None`: from the newest),
/// newest first, at most `limit`.
pub fn history(
    conn: &Connection,
    own: &FioAddress,
    peer: &FioAddress,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<MessageRecord>, WalletError> {
    let Some(channel) = channel_by_peer(conn, own, peer)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
         WHERE m.channel_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![channel.id, before.unwrap_or(i64::MAX), sql_limit(limit)],
        |r| message_record(r, 0),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Our messages not delivered yet (queued, retrying, failed) after message
/// `after`, oldest first, at most `limit`.
pub fn undelivered(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<MessageRecord>, WalletError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM outbox o JOIN messages m ON m.id = o.message_row
         JOIN channels c ON c.id = m.channel_id
         WHERE o.state IN ('pending', 'failed') AND o.message_row > ?1 ORDER BY o.message_row LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, sql_limit(limit)], |r| message_record(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

const QUEUE_SQL: &str = "SELECT q.message_row, q.created_at, q.previous_key, c.peer_key";
const QUEUE_FROM: &str = "queue q JOIN messages m ON m.id = q.message_row \
     JOIN channels c ON c.id = m.channel_id LEFT JOIN outbox o ON o.message_row = m.id";

fn queue_item(r: &Row) -> rusqlite::Result<QueueItem> {
    let message = message_record(r, 4)?;
    let previous: Option<Vec<u8>> = r.get(2)?;
    let current: Vec<u8> = r.get(3)?;
    let key_change = previous.map(|previous| KeyChange {
        peer: message.peer.clone(),
        previous_key: PublicKey::from_sec1(&previous).expect("stored public key"),
        new_key: PublicKey::from_sec1(&current).expect("stored public key"),
        voided: Vec::new(),
    });
    Ok(QueueItem {
        id: r.get(0)?,
        peer: message.peer.clone(),
        action: message.action,
        message,
        created_at: r.get(1)?,
        key_change,
    })
}

/// Unhandled queue items after item `after`, oldest first, at most `limit`.
pub fn queue(conn: &Connection, after: i64, limit: usize) -> Result<Vec<QueueItem>, WalletError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{QUEUE_SQL}, {MESSAGE_COLUMNS} FROM {QUEUE_FROM} WHERE q.handled = 0 AND q.message_row > ?1
         ORDER BY q.message_row LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, sql_limit(limit)], queue_item)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Queue item `id`, handled or not.
pub fn queue_item_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<QueueItem>> {
    conn.prepare_cached(&format!(
        "{QUEUE_SQL}, {MESSAGE_COLUMNS} FROM {QUEUE_FROM} WHERE q.message_row = ?1"
    ))?
    .query_row(params![id], queue_item)
    .optional()
}

/// Requests with `peer` (or everyone) in `state` (or any), after request
/// `after` (a [`RequestRecord::id`]), oldest first, at most `limit`.
pub fn requests(
    conn: &Connection,
    peer: Option<&FioAddress>,
    state: Option<RequestState>,
    after: i64,
    limit: usize,
) -> Result<Vec<RequestRecord>, WalletError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.peer_address, m.direction, r.kind, m.message_id, r.state, m.data, a.data, r.updated_at, r.reason,
                r.message_row
         FROM requests r JOIN messages m ON m.id = r.message_row JOIN channels c ON c.id = m.channel_id
         LEFT JOIN messages a ON a.id = r.answer_row
         WHERE (?1 IS NULL OR c.peer_address = ?1) AND (?2 IS NULL OR r.state = ?2) AND r.message_row > ?3
         ORDER BY r.message_row LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![
            peer.map(|p| p.as_str()),
            state.map(RequestState::as_str),
            after,
            sql_limit(limit)
        ],
        |r| {
            let peer: String = r.get(0)?;
            let data: String = r.get(5)?;
            let answer: Option<String> = r.get(6)?;
            Ok(RequestRecord {
                id: r.get(9)?,
                peer: FioAddress::parse(&peer).expect("stored FIO address"),
                direction: Direction::parse(&r.get::<_, String>(1)?),
                kind: RequestKind::parse(&r.get::<_, String>(2)?),
                message_id: r.get(3)?,
                state: RequestState::parse(&r.get::<_, String>(4)?),
                data: MessageData::parse(&data).expect("stored data"),
                answer: answer.map(|a| MessageData::parse(&a).expect("stored data")),
                updated_at: r.get(7)?,
                reason: r.get(8)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
