//! The outbox and our own inbox: what the sync engine (`crate::sync`) needs
//! from the wallet's database. Every outgoing message gets an outbox row in
//! the transaction that creates it; the sync engine delivers it and records
//! the outcome here.

use rusqlite::{params, Connection, OptionalExtension};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{MessageStatus, Wallet, WalletError};
use crate::protocol::{Action, FioAddress, InboxLocation};

/// Delivery state of an outgoing envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// The peer's inbox answered 202.
    Delivered,
    /// Refused for good (the relay said the envelope itself is bad); kept for
    /// the user to see, retried only on request.
    Failed,
}

impl OutboxState {
    fn parse(s: &str) -> OutboxState {
        match s {
            "delivered" => OutboxState::Delivered,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Pending,
        }
    }
}

/// Where an envelope goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A known inbox (the channel's, or a return address).
    Inbox(InboxLocation),
    /// Look the peer's inbox up on chain.
    Chain,
}

/// One outgoing envelope and its delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    /// The message's row: the outbox key.
    pub row: i64,
    pub peer: FioAddress,
    pub action: Action,
    pub message_id: String,
    pub envelope: String,
    pub destination: Destination,
    pub state: OutboxState,
    pub attempts: u32,
    /// Unix milliseconds of the next attempt.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    /// Unix milliseconds of when it was queued (or put back by
    /// [`Wallet::retry_delivery`]): the age a delivery gives up after.
    pub queued_at: i64,
}

/// What one delivery attempt gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 202 with the relay's sequence number.
    Delivered { seq: i64 },
    /// Try again at `at` (unix ms). `ask_chain`: the inbox used is gone;
    /// look the peer's inbox up on chain next time.
    Retry {
        error: String,
        at: i64,
        ask_chain: bool,
    },
    /// Refused for good.
    Failed { error: String },
}

/// Our inbox on a relay. The credential is a secret: it is zeroized on drop
/// and `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct OwnInbox {
    /// The relay base URL it was created on.
    pub relay: String,
    pub inbox_id: String,
    pub credential: String,
    /// What senders post to, registered on chain as FIB/URL.
    pub inbox_url: String,
    /// Unix seconds of the last successful addaddress.
    pub registered_at: Option<i64>,
    pub registered_tx: Option<String>,
    /// Unix seconds of the last time the chain was seen mapping it.
    pub checked_at: Option<i64>,
}

impl std::fmt::Debug for OwnInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnInbox")
            .field("relay", &self.relay)
            .field("inbox_url", &self.inbox_url)
            .field("registered_at", &self.registered_at)
            .field("checked_at", &self.checked_at)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Queues message `row` for delivery, due now. `to`: an explicit inbox
/// (a return address); `None` means the channel's peer inbox or the chain.
pub(crate) fn insert(
    conn: &Connection,
    row: i64,
    to: Option<&InboxLocation>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (message_row, to_type, to_address, next_attempt_at, queued_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![
        row,
        to.map(|t| t.kind.code()),
        to.map(|t| t.address.as_str()),
        now_ms()
    ])?;
    Ok(())
}

/// Envelopes held at most: a stranger who keeps an inbox full of first
/// contacts from names that never resolve cannot grow the wallet without
/// bound (2,000 first contacts of at most 8 KiB: 16 MiB at worst).
pub const MAX_HELD: i64 = 2_000;

/// Holds an envelope whose sender could not be looked up (once per
/// envelope). Beyond [`MAX_HELD`] the one held longest is dropped.
pub(crate) fn hold(conn: &Connection, envelope: &[u8], error: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO held_envelopes (digest, envelope, held_at, tried_at, last_error) VALUES (?1, ?2, ?3, ?3, ?4)
         ON CONFLICT (digest) DO UPDATE SET attempts = attempts + 1, tried_at = excluded.tried_at,
                                            last_error = excluded.last_error",
    )?
    .execute(params![
        crate::crypto::sha256(envelope).to_vec(),
        String::from_utf8_lossy(envelope),
        super::now(),
        error
    ])?;
    // After the insert, so holding one already held drops nothing.
    let dropped = conn
        .prepare_cached(
            "DELETE FROM held_envelopes WHERE id IN
               (SELECT id FROM held_envelopes ORDER BY held_at, id
                LIMIT max(0, (SELECT count(*) FROM held_envelopes) - ?1))",
        )?
        .execute([MAX_HELD])?;
    if dropped > 0 {
        log::warn!("{dropped} held envelope(s) dropped: at most {MAX_HELD} are held");
    }
    Ok(())
}

/// How many times a message that references a peer's message not received
/// yet is tried (once per sync) before it is refused and answered.
pub const UNSEEN_TRIES: u32 = 20;

/// Held envelopes with their tries so far, least recently tried first (one
/// that never resolves cannot keep the others from their turn).
pub(crate) fn held(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<(i64, String, u32)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, envelope, attempts FROM held_envelopes ORDER BY tried_at, id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

pub(crate) fn held_again(conn: &Connection, id: i64, error: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE held_envelopes SET attempts = attempts + 1, tried_at = ?3, last_error = ?2 WHERE id = ?1",
    )?
    .execute(params![id, error, super::now()])?;
    Ok(())
}

pub(crate) fn release(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM held_envelopes WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

const ITEM_SQL: &str = "
SELECT o.message_row, c.peer_address, m.action, m.message_id, m.envelope,
       o.use_chain, COALESCE(o.to_type, c.peer_inbox_type), COALESCE(o.to_address, c.peer_inbox),
       o.state, o.attempts, o.next_attempt_at, o.last_error, o.queued_at
FROM outbox o JOIN messages m ON m.id = o.message_row JOIN channels c ON c.id = m.channel_id";

fn item(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxItem> {
    let peer: String = r.get(1)?;
    let action: String = r.get(2)?;
    let use_chain: bool = r.get(5)?;
    let to_type: Option<String> = r.get(6)?;
    let to_address: Option<String> = r.get(7)?;
    let destination = match (use_chain, to_type, to_address) {
        (false, Some(t), Some(a)) => InboxLocation::parse(&t, &a)
            .map(Destination::Inbox)
            .unwrap_or(Destination::Chain),
        _ => Destination::Chain,
    };
    let state: String = r.get(8)?;
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("stored {what} is invalid").into(),
        )
    };
    Ok(OutboxItem {
        row: r.get(0)?,
        peer: FioAddress::parse(&peer).ok_or_else(|| bad("peer address"))?,
        action: Action::parse(&action).map_err(|_| bad("action"))?,
        message_id: r.get(3)?,
        envelope: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        destination,
        state: OutboxState::parse(&state),
        attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        last_error: r.get(11)?,
        queued_at: r.get(12)?,
    })
}

impl Wallet {
    /// Pending envelopes (due or not) after message row `after_row`, in
    /// row order, at most `limit`: the sync engine keeps each peer's order.
    pub fn outbox_pending(
        &self,
        after_row: i64,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, WalletError> {
        let inner = self.lock()?;
        let mut stmt = inner.conn.prepare_cached(&format!(
            "{ITEM_SQL} WHERE o.state = 'pending' AND o.message_row > ?1 ORDER BY o.message_row LIMIT ?2"
        ))?;
        let items = stmt
            .query_map(params![after_row, limit as i64], item)?
            .collect::<Result<_, _>>()?;
        Ok(items)
    }

    /// Every envelope not delivered yet (pending and failed), oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>, WalletError> {
        let inner = self.lock()?;
        let mut stmt = inner.conn.prepare_cached(&format!(
            "{ITEM_SQL} WHERE o.state != 'delivered' ORDER BY o.message_row"
        ))?;
        let items = stmt.query_map([], item)?.collect::<Result<_, _>>()?;
        Ok(items)
    }

    /// The delivery state of our message `message_id` to `peer` (`None` for
    /// messages sent before the outbox existed).
    pub fn delivery(
        &self,
        peer: &str,
        message_id: &str,
    ) -> Result<Option<OutboxItem>, WalletError> {
        let inner = self.lock()?;
        let mut stmt = inner.conn.prepare_cached(&format!(
            "{ITEM_SQL} WHERE c.own_address = ?1 AND c.peer_address = ?2 AND m.direction = 'out' AND m.message_id = ?3"
        ))?;
        let peer = FioAddress::parse(peer)
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        Ok(stmt
            .query_row(params![inner.ctx.address.as_str(), peer, message_id], item)
            .optional()?)
    }

    /// Records delivery attempts, all in one transaction, each with its
    /// event in the log. A retry or failure for an envelope no longer
    /// pending (failed by a key change meanwhile) changes nothing, nor does
    /// a delivery already recorded (another process's sync).
    pub fn record_deliveries(
        &self,
        outcomes: &[(i64, DeliveryOutcome)],
    ) -> Result<(), WalletError> {
        let mut inner = self.lock()?;
        let tx = inner.conn.transaction()?;
        for (row, outcome) in outcomes {
            let status = match outcome {
                DeliveryOutcome::Delivered { seq } => tx
                    .prepare_cached(
                        "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2,
                                           delivered_seq = ?3, last_error = NULL
                         WHERE message_row = ?1 AND state != 'delivered' RETURNING 1",
                    )?
                    .query_row(params![row, super::now(), seq], |_| Ok(()))
                    .optional()?
                    .map(|()| MessageStatus::Delivered { seq: *seq }),
                DeliveryOutcome::Retry { error, at, ask_chain } => tx
                    .prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3,
                                           use_chain = max(use_chain, ?4) WHERE message_row = ?1 AND state = 'pending'
                         RETURNING attempts",
                    )?
                    .query_row(params![row, at, error, *ask_chain as i64], |r| r.get(0))
                    .optional()?
                    .map(|attempts| MessageStatus::Retrying {
                        error: error.clone(),
                        attempts,
                        next_attempt_at: *at,
                    }),
                DeliveryOutcome::Failed { error } => tx
                    .prepare_cached(
                        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
                         WHERE message_row = ?1 AND state = 'pending' RETURNING 1",
                    )?
                    .query_row(params![row, error], |_| Ok(()))
                    .optional()?
                    .map(|()| MessageStatus::Failed {
                        error: error.clone(),
                    }),
            };
            if let Some(status) = status {
                super::events::log_delivery(&tx, *row, status)?;
            }
        }
        tx.commit()?;
        drop(inner);
        self.events_committed();
        Ok(())
    }

    /// Puts a failed envelope back in line, due now, with its attempts
    /// and age counted afresh (its peer's later envelopes may already have
    /// been delivered: it arrives after them).
    pub fn retry_delivery(&self, row: i64) -> Result<(), WalletError> {
        let mut inner = self.lock()?;
        let tx = inner.conn.transaction()?;
        let n = tx.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, queued_at = ?2, attempts = 0, use_chain = 1
             WHERE message_row = ?1 AND state = 'failed'",
            params![row, now_ms()],
        )?;
        if n == 0 {
            return Err(WalletError::Request(format!("no failed delivery {row}")));
        }
        super::events::log_delivery(&tx, row, MessageStatus::Queued)?;
        tx.commit()?;
        drop(inner);
        self.events_committed();
        Ok(())
    }

    /// [`retry_delivery`](Self::retry_delivery) of our message
    /// `message_id` to `peer`: a failed one is queued again (its
    /// [`Delivery`](super::Delivery) becomes `Queued`) for the next sync.
    pub fn retry_message(&self, peer: &str, message_id: &str) -> Result<(), WalletError> {
        let row = match self.delivery(peer, message_id)? {
            Some(item) if item.state == OutboxState::Failed => item.row,
            Some(_) => {
                return Err(WalletError::Request(format!(
                "message {message_id} to {peer} has not failed: only a failed delivery is retried"
            )))
            }
            None => {
                return Err(WalletError::Request(format!(
                    "no message {message_id} of ours to {peer}"
                )))
            }
        };
        self.retry_delivery(row)
    }

    /// Our inbox on a relay, if one was created.
    pub fn own_inbox(&self) -> Result<Option<OwnInbox>, WalletError> {
        let inner = self.lock()?;
        Ok(inner
            .conn
            .query_row(
                "SELECT relay, inbox_id, credential, inbox_url, registered_at, registered_tx, checked_at FROM own_inbox WHERE id = 1",
                [],
                |r| {
                    Ok(OwnInbox {
                        relay: r.get(0)?,
                        inbox_id: r.get(1)?,
                        credential: r.get(2)?,
                        inbox_url: r.get(3)?,
                        registered_at: r.get(4)?,
                        registered_tx: r.get(5)?,
                        checked_at: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// Stores our inbox and makes its URL the return address we send. An
    /// inbox it replaces becomes a previous inbox (still fetched).
    pub fn set_own_inbox(&self, inbox: &OwnInbox) -> Result<(), WalletError> {
        let location =
            InboxLocation::parse("URL", &inbox.inbox_url).map_err(WalletError::InvalidInput)?;
        let mut inner = self.lock()?;
        let tx = inner.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO previous_inbox (inbox_id, relay, credential, inbox_url, replaced_at)
             SELECT inbox_id, relay, credential, inbox_url, ?2 FROM own_inbox WHERE id = 1 AND inbox_id != ?1",
            params![inbox.inbox_id, super::now()],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO own_inbox (id, relay, inbox_id, credential, inbox_url, registered_at, registered_tx, checked_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                inbox.relay,
                inbox.inbox_id,
                inbox.credential,
                inbox.inbox_url,
                inbox.registered_at,
                inbox.registered_tx,
                inbox.checked_at
            ],
        )?;
        tx.execute(
            "UPDATE identity SET inbox_type = ?1, inbox = ?2 WHERE id = 1",
            params![location.kind.code(), location.address],
        )?;
        tx.commit()?;
        inner.ctx.inbox = Some(location);
        Ok(())
    }

    /// Inboxes we moved away from, oldest first (registration fields empty).
    pub fn previous_inboxes(&self) -> Result<Vec<OwnInbox>, WalletError> {
        let inner = self.lock()?;
        let mut stmt = inner.conn.prepare_cached(
            "SELECT relay, inbox_id, credential, inbox_url FROM previous_inbox ORDER BY replaced_at, inbox_id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OwnInbox {
                    relay: r.get(0)?,
                    inbox_id: r.get(1)?,
                    credential: r.get(2)?,
                    inbox_url: r.get(3)?,
                    registered_at: None,
                    registered_tx: None,
                    checked_at: None,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Stops fetching a previous inbox (its relay no longer has it).
    pub fn forget_previous_inbox(&self, inbox_id: &str) -> Result<(), WalletError> {
        let inner = self.lock()?;
        inner
            .conn
            .execute("DELETE FROM previous_inbox WHERE inbox_id = ?1", [inbox_id])?;
        Ok(())
    }

    /// How many fetched envelopes wait for their sender's key.
    pub fn held_count(&self) -> Result<u64, WalletError> {
        let inner = self.lock()?;
        Ok(inner
            .conn
            .query_row("SELECT count(*) FROM held_envelopes", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Records that our inbox URL is registered on chain (and so checked).
    pub fn record_registration(&self, transaction_id: Option<&str>) -> Result<(), WalletError> {
        let inner = self.lock()?;
        inner.conn.execute(
            "UPDATE own_inbox SET registered_at = ?1, registered_tx = COALESCE(?2, registered_tx), checked_at = ?1 WHERE id = 1",
            params![super::now(), transaction_id],
        )?;
        Ok(())
    }

    /// Records that the chain was seen mapping our inbox URL now.
    pub fn record_registration_check(&self) -> Result<(), WalletError> {
        let inner = self.lock()?;
        inner.conn.execute(
            "UPDATE own_inbox SET checked_at = ?1 WHERE id = 1",
            params![super::now()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_held_for_a_lookup_are_bounded_dropping_the_oldest() {
        let conn = crate::store::open_in_memory().unwrap();
        let count = |conn: &Connection| -> i64 {
            conn.query_row("SELECT count(*) FROM held_envelopes", [], |r| r.get(0))
                .unwrap()
        };
        let body = |i: i64| format!("envelope {i}").into_bytes();
        for i in 0..MAX_HELD + 10 {
            hold(&conn, &body(i), "looked up in a later sync").unwrap();
        }
        assert_eq!(count(&conn), MAX_HELD);
        // The ten held first are the ones gone.
        let first: String = conn
            .query_row(
                "SELECT envelope FROM held_envelopes ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(first.as_bytes(), body(10));
        // Holding one already held again counts a try, and drops nothing.
        hold(&conn, &body(MAX_HELD + 9), "again").unwrap();
        assert_eq!(count(&conn), MAX_HELD);
    }
}
