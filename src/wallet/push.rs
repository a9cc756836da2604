//! The push registrations of this wallet's inbox (docs/protocol.md §4.4):
//! which devices the relay wakes, kept so an inbox move registers them on
//! the new inbox. The relay is told by the sync engine (`sync::push`).

use rusqlite::{params, OptionalExtension};

use super::types::WalletError;
use super::Wallet;

/// One registration as the wallet keeps it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPushRegistration {
    /// What makes it one device: registering it again replaces this one.
    pub identity: String,
    /// The subscription JSON the relay took (it holds the device's keys).
    pub target: String,
    /// The inbox it is registered on, and the relay's id for it there.
    pub inbox_id: String,
    pub push_id: String,
    /// Unix seconds.
    pub created_at: i64,
}

// The target holds a device's push keys and its endpoint: never printed.
impl std::fmt::Debug for StoredPushRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPushRegistration")
            .field("push_id", &self.push_id)
            .field("inbox_id", &self.inbox_id)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// The registrations, oldest first. A local read.
    pub fn push_registrations(&self) -> Result<Vec<StoredPushRegistration>, WalletError> {
        self.reading(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT identity, target, inbox_id, push_id, created_at FROM push_registrations ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(StoredPushRegistration {
                    identity: r.get(0)?,
                    target: r.get(1)?,
                    inbox_id: r.get(2)?,
                    push_id: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Records that the relay took `target` on `inbox_id` as `push_id`
    /// (replacing the registration of the same device).
    pub fn record_push_registration(
        &self,
        identity: &str,
        target: &str,
        inbox_id: &str,
        push_id: &str,
    ) -> Result<(), WalletError> {
        let inner = self.lock()?;
        inner.conn.execute(
            "INSERT INTO push_registrations (identity, target, inbox_id, push_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (identity) DO UPDATE SET target = excluded.target,
                 inbox_id = excluded.inbox_id, push_id = excluded.push_id",
            params![identity, target, inbox_id, push_id, super::now()],
        )?;
        Ok(())
    }

    /// Forgets the registration with `push_id`; false if there was none.
    pub fn forget_push_registration(&self, push_id: &str) -> Result<bool, WalletError> {
        let inner = self.lock()?;
        let n = inner.conn.execute(
            "DELETE FROM push_registrations WHERE push_id = ?1",
            [push_id],
        )?;
        Ok(n > 0)
    }

    /// Claims the events not yet turned into notices, up to the newest:
    /// returns the range `(from, to]` to show, where `from` is past what
    /// was notified before and what the app marked handled. Atomic, so two
    /// processes never show one event twice.
    pub fn claim_notices(&self) -> Result<(i64, i64), WalletError> {
        let mut inner = self.lock()?;
        let tx = inner.conn.transaction()?;
        let notified: i64 = tx
            .query_row("SELECT notified FROM notify_cursor WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0);
        let from = notified.max(super::events::handled(&tx)?);
        let to = super::events::last_id(&tx)?.max(from);
        tx.execute(
            "INSERT INTO notify_cursor (id, notified) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET notified = max(notified, excluded.notified)",
            [to],
        )?;
        tx.commit()?;
        Ok((from, to))
    }
}
