//! The FIP-24 wallet engine: channels, requests and the user's queue in
//! SQLite, one send call per action, and `receive` for incoming envelopes.
//! Transport is the caller's: sends return envelopes to deliver, `receive`
//! takes envelope bytes. No network here.
//!
//! Every call is one SQLite transaction. An incoming message's replay guard
//! (UNIQUE channel, direction, message_id), its effects, its queue item and
//! its replies commit together or not at all.
//!
//! What a phone app needs (issue 15), by construction:
//! - No network I/O under the lock or in a write transaction: the key
//!   directory (the chain) belongs to [`Wallet`], outside the lock, and the
//!   state behind the lock ([`Inner`]: the write connection and `Ctx`)
//!   holds nothing that can reach the network. A sender's key is looked up
//!   first (`senders.rs`), then the lock is taken.
//! - Local reads (queue, channels, history, requests, inbox, automation)
//!   use a read connection of their own on a database file (WAL), so they
//!   never wait for a receive's transaction.

mod db;
mod events;
mod outbox;
mod push;
mod receive;
mod senders;
mod types;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::crypto::{PrivateKey, PublicKey};
use crate::protocol::{
    build_plaintext, generate_message_id, generate_token, seal_new, sign_data, Action, ChannelKey,
    Envelope, ErrorKind, FioAddress, IdToken, InboxLocation, MessageData, ProtocolError,
};
use crate::store::{self, DatabaseKey, StoreError};

pub use events::{EventRecord, MessageStatus, WalletEvent, MAX_EVENTS};
pub(crate) use outbox::now_ms;
pub use outbox::{
    DeliveryOutcome, Destination, OutboxItem, OutboxState, OwnInbox, MAX_HELD, UNSEEN_TRIES,
};
pub use push::StoredPushRegistration;
pub use senders::{LOOKUPS_PER_BATCH, NOT_REGISTERED_FOR, NOT_REGISTERED_MAX};
pub use types::*;

use senders::{SenderKeys, SenderLookup};

use db::ChannelRow;

/// A FIP-24 wallet on one SQLite database.
pub struct Wallet {
    /// `None` once closed.
    inner: Mutex<Option<Inner>>,
    /// Local reads, on a database file; `None` in memory (reads then share
    /// the write connection). Its inner `None`: closed.
    reader: Option<Mutex<Option<Connection>>>,
    /// The file, claimed for this object until it is closed (one writer
    /// per database file in a process).
    claim: Mutex<Option<store::FileClaim>>,
    /// The database file, for the cross-process sync lock beside it.
    path: Option<PathBuf>,
    closed: AtomicBool,
    /// The chain: called only without the lock.
    directory: Arc<dyn KeyDirectory>,
    senders: SenderLookup,
    address: FioAddress,
    public_key: PublicKey,
    /// Changed after each commit that may have logged events (`events.rs`).
    event_signal: tokio::sync::watch::Sender<u64>,
}

/// The wallet's lock, held: an open wallet's state.
struct Held<'a>(MutexGuard<'a, Option<Inner>>);

impl std::ops::Deref for Held<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        // `Wallet::lock` hands out a `Held` only for an open wallet.
        self.0.as_ref().expect("an open wallet")
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        self.0.as_mut().expect("an open wallet")
    }
}

struct Inner {
    conn: Connection,
    ctx: Ctx,
    /// `PRAGMA data_version` when `ctx` was last read from the database:
    /// another process's commit changes it, and `ctx` is read again.
    data_version: i64,
}

/// Everything but the connection, so a transaction on the connection and a
/// mutable borrow of this can coexist.
struct Ctx {
    key: PrivateKey,
    address: FioAddress,
    automation: Automation,
    inbox: Option<InboxLocation>,
    /// Channel secrets by channel id, with the peer key they were derived
    /// for: one ECDH per channel per process, not per message.
    channel_keys: HashMap<i64, (PublicKey, ChannelKey)>,
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// fio_address, public_key, automations, inbox.
type Identity = (String, String, Automation, Option<InboxLocation>);

/// The identity row, if the wallet was created.
fn identity(conn: &Connection) -> rusqlite::Result<Option<Identity>> {
    conn.prepare_cached(
        "SELECT fio_address, public_key, automation, inbox_type, inbox FROM identity WHERE id = 1",
    )?
    .query_row([], |r| {
        let automation: String = r.get(2)?;
        let inbox_type: Option<String> = r.get(3)?;
        let inbox: Option<String> = r.get(4)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            serde_json::from_str(&automation).unwrap_or_default(),
            match (inbox_type, inbox) {
                (Some(t), Some(a)) => InboxLocation::parse(&t, &a).ok(),
                _ => None,
            },
        ))
    })
    .optional()
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "data_version", |r| r.get(0))
}

fn parse_address(text: &str, kind: ErrorKind) -> Result<FioAddress, WalletError> {
    FioAddress::parse(text)
        .ok_or_else(|| WalletError::InvalidInput(ProtocolError::with_value(kind, text)))
}

impl Wallet {
    /// Opens (or creates) the wallet database at `path` for `key` and
    /// `fio_address`, encrypted with the database key derived from `key`
    /// ([`DatabaseKey::derive`]). A database created for another key or
    /// address is refused.
    pub fn open(
        path: impl AsRef<Path>,
        key: PrivateKey,
        fio_address: &str,
        directory: Arc<dyn KeyDirectory>,
    ) -> Result<Self, WalletError> {
        let database_key = DatabaseKey::derive(&key);
        Self::open_with_database_key(path, key, &database_key, fio_address, directory)
    }

    /// [`Wallet::open`] with a database key the app keeps itself.
    pub fn open_with_database_key(
        path: impl AsRef<Path>,
        key: PrivateKey,
        database_key: &DatabaseKey,
        fio_address: &str,
        directory: Arc<dyn KeyDirectory>,
    ) -> Result<Self, WalletError> {
        Self::open_file(
            path.as_ref(),
            key,
            Some(database_key),
            fio_address,
            directory,
        )
    }

    /// Benchmarks only: [`Wallet::open`] on an unencrypted file, the
    /// baseline of what encryption costs. Never in an app.
    #[doc(hidden)]
    pub fn open_unencrypted_baseline(
        path: impl AsRef<Path>,
        key: PrivateKey,
        fio_address: &str,
        directory: Arc<dyn KeyDirectory>,
    ) -> Result<Self, WalletError> {
        Self::open_file(path.as_ref(), key, None, fio_address, directory)
    }

    fn open_file(
        path: &Path,
        key: PrivateKey,
        database_key: Option<&DatabaseKey>,
        fio_address: &str,
        directory: Arc<dyn KeyDirectory>,
    ) -> Result<Self, WalletError> {
        let claim = store::FileClaim::claim(path)?;
        let path = claim.path().to_path_buf();
        let (conn, reader) = match database_key {
            Some(k) => (store::open(&path, k)?, store::open_reader(&path, k)?),
            None => (
                store::open_unencrypted_baseline(&path)?,
                store::open_unencrypted_baseline_reader(&path)?,
            ),
        };
        let mut wallet = Self::with_connection(conn, key, fio_address, directory)?;
        wallet.reader = Some(Mutex::new(Some(reader)));
        wallet.claim = Mutex::new(Some(claim));
        wallet.path = Some(path);
        Ok(wallet)
    }

    /// A wallet on an in-memory database (tests, benchmarks).
    pub fn open_in_memory(
        key: PrivateKey,
        fio_address: &str,
        directory: Arc<dyn KeyDirectory>,
    ) -> Result<Self, WalletError> {
        Self::with_connection(store::open_in_memory()?, key, fio_address, directory)
    }

    fn with_connection(
        conn: Connection,
        key: PrivateKey,
        fio_address: &str,
        directory: Arc<dyn KeyDirectory>,
    ) -> Result<Self, WalletError> {
        let address = parse_address(fio_address, ErrorKind::InvalidSenderFioAddress)?;
        let public = key.public_key().to_fio_string();
        if identity(&conn)?.is_none() {
            // OR IGNORE: another process may create the wallet at the same
            // moment; the row read below is whichever came first.
            conn.execute(
                "INSERT OR IGNORE INTO identity (id, fio_address, public_key, automation) VALUES (1, ?1, ?2, ?3)",
                params![
                    address.as_str(),
                    public,
                    serde_json::to_string(&Automation::default()).expect("serializes")
                ],
            )?;
        }
        let Some((addr, pk, automation, inbox)) = identity(&conn)? else {
            return Err(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows).into());
        };
        if addr != address.as_str() || pk != public {
            return Err(WalletError::WrongIdentity(format!("{addr} ({pk})")));
        }
        let public_key = *key.public_key();
        let data_version = data_version(&conn)?;
        let ctx = Ctx {
            key,
            address: address.clone(),
            automation,
            inbox,
            channel_keys: HashMap::new(),
        };
        Ok(Wallet {
            inner: Mutex::new(Some(Inner {
                conn,
                ctx,
                data_version,
            })),
            reader: None,
            claim: Mutex::new(None),
            path: None,
            closed: AtomicBool::new(false),
            directory,
            senders: SenderLookup::new(),
            address,
            public_key,
            event_signal: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Takes the wallet's lock; `Closed` once the wallet is closed. What
    /// another process committed since (an inbox it created, automations it
    /// set) is read again first.
    fn lock(&self) -> Result<Held<'_>, WalletError> {
        Ok(self.held()?)
    }

    fn held(&self) -> Result<Held<'_>, StoreError> {
        // A panic while holding the lock cannot leave the database half
        // written (transactions roll back on drop), so the poison is ignored.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = guard.as_mut().ok_or(StoreError::Closed)?;
        let version = data_version(&inner.conn)?;
        if version != inner.data_version {
            if let Some((_, _, automation, inbox)) = identity(&inner.conn)? {
                inner.ctx.automation = automation;
                inner.ctx.inbox = inbox;
            }
            inner.ctx.channel_keys.clear();
            inner.data_version = version;
        }
        Ok(Held(guard))
    }

    /// Closes the wallet: waits for a write in progress (writes never wait
    /// on the network, so this is short), closes its database connections
    /// and releases the file, which can be opened again at once. Every
    /// later call fails with `Closed`. Idempotent.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // The reader first: the writer, closing last, checkpoints the -wal
        // into the file and deletes it, so a closed wallet is one file.
        if let Some(reader) = &self.reader {
            reader.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.claim.lock().unwrap_or_else(|e| e.into_inner()).take();
        // A `next_events` waiting wakes, and finds the wallet closed.
        self.events_committed();
    }

    /// Encrypts the database with `new` from now on (every page rewritten in
    /// one transaction: a crash leaves the old key or the new one). Other
    /// processes with the file open must open it again with the new key.
    /// In memory, nothing to do.
    pub fn rekey(&self, new: &DatabaseKey) -> Result<(), WalletError> {
        let inner = self.lock()?;
        let Some(path) = &self.path else {
            return Ok(());
        };
        store::rekey(&inner.conn, new)?;
        if let Some(reader) = &self.reader {
            *reader.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(store::open_reader(path, new)?);
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The database file (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn fio_address(&self) -> FioAddress {
        self.address.clone()
    }

    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// Runs `f` on the wallet's database (FIP-3's tables live beside the
    /// channels').
    pub(crate) fn with_db<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        Ok(f(&self.held()?.conn)?)
    }

    /// Runs a read on the read connection (the write connection in memory):
    /// it sees the last commit and never waits for a write transaction.
    pub(crate) fn read_db<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.reading(|c| f(c).map_err(StoreError::from))
    }

    fn reading<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.reader {
            Some(reader) => {
                let conn = reader.lock().unwrap_or_else(|e| e.into_inner());
                f(conn.as_ref().ok_or(StoreError::Closed)?)
            }
            None => {
                let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                f(&inner.as_ref().ok_or(StoreError::Closed)?.conn)
            }
        }
    }

    /// The wallet's key, for the sync engine's chain transactions.
    pub(crate) fn private_key(&self) -> Result<PrivateKey, StoreError> {
        Ok(self.held()?.ctx.key.clone())
    }

    /// The automations, as last committed (by any process).
    pub fn automation(&self) -> Result<Automation, WalletError> {
        Ok(self
            .reading(|c| identity(c).map_err(WalletError::from))?
            .map(|(_, _, automation, _)| automation)
            .unwrap_or_default())
    }

    /// Sets the automations. Released addresses are checked here, so an
    /// automated answer can never fail in the middle of a receive.
    pub fn set_automation(&self, automation: Automation) -> Result<(), WalletError> {
        for release in &automation.release_addresses {
            let probe = MessageData {
                action: Action::AcceptRequest.name().to_string(),
                message_id: "0".into(),
                referenced_message_id: Some("0".into()),
                sender_fio_address: "probe@probe".into(),
                recipient_fio_address: "probe@probe".into(),
                payee_public_address: Some(release.public_address.clone()),
                chain_code: Some(release.chain_code.clone()),
                token_code: Some(release.token_code.clone()),
                ..Default::default()
            };
            probe.validate().map_err(WalletError::InvalidInput)?;
        }
        let mut inner = self.lock()?;
        let json = serde_json::to_string(&automation).expect("serializes");
        inner.conn.execute(
            "UPDATE identity SET automation = ?1 WHERE id = 1",
            params![json],
        )?;
        inner.ctx.automation = automation;
        Ok(())
    }

    /// Our inbox, sent as `return_address` when we open a channel.
    pub fn inbox(&self) -> Result<Option<InboxLocation>, WalletError> {
        Ok(self
            .reading(|c| identity(c).map_err(WalletError::from))?
            .and_then(|(_, _, _, inbox)| inbox))
    }

    pub fn set_inbox(&self, inbox: Option<InboxLocation>) -> Result<(), WalletError> {
        let mut inner = self.lock()?;
        inner.conn.execute(
            "UPDATE identity SET inbox_type = ?1, inbox = ?2 WHERE id = 1",
            params![
                inbox.as_ref().map(|i| i.kind.code()),
                inbox.as_ref().map(|i| i.address.clone())
            ],
        )?;
        inner.ctx.inbox = inbox;
        Ok(())
    }

    /// Every channel, most recently updated first.
    pub fn channels(&self) -> Result<Vec<Channel>, WalletError> {
        Ok(self
            .read_db(db::all_channels)?
            .into_iter()
            .map(ChannelRow::public)
            .collect())
    }

    pub fn channel(&self, peer: &str) -> Result<Option<Channel>, WalletError> {
        let peer = parse_address(peer, ErrorKind::InvalidRecipientFioAddress)?;
        Ok(self
            .read_db(|c| db::channel_by_peer(c, &self.address, &peer))?
            .map(ChannelRow::public))
    }

    /// peer_new_com_request: asks `peer` to open a channel. Sent as a first
    /// message (`NEW`), sealed to the peer's key from the directory.
    pub fn open_channel(&self, peer: &str, memo: Option<&str>) -> Result<Outgoing, WalletError> {
        let peer = parse_address(peer, ErrorKind::InvalidRecipientFioAddress)?;
        if peer == self.address {
            return Err(WalletError::Channel(
                "a wallet cannot open a channel with itself".into(),
            ));
        }
        if self.is_closed() {
            return Err(StoreError::Closed.into());
        }
        // Looked up without the lock: a chain lookup can take seconds, and
        // no other call of the wallet should wait for it.
        let peer_key = self.directory.public_key(&peer)?;
        let peer_inbox = self.directory.inbox(&peer)?;
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.unchecked_transaction()?;
        let existing = db::channel_by_peer(&tx, &ctx.address, &peer)?;
        if let Some(ch) = &existing {
            if ch.state == ChannelState::Open {
                return Err(WalletError::Channel(format!(
                    "the channel with {peer} is already open"
                )));
            }
            // Asking again would discard the peer's pending request and token.
            if ch.state == ChannelState::Requested && !ch.initiator_us {
                return Err(WalletError::Channel(format!(
                    "{peer} has asked to open a channel: accept their request instead"
                )));
            }
            // Asking a new key: what was pending with the old one is void.
            if ch.peer_key != peer_key {
                db::void_for_key_change(&tx, ch, &peer_key)?;
            }
        }
        let our_token = generate_token();
        let channel_id = db::upsert_requested_channel(
            &tx,
            &ctx.address,
            &peer,
            &peer_key,
            true,
            Some(&our_token),
            None,
            peer_inbox.as_ref(),
        )?;
        let ch = db::channel_by_id(&tx, channel_id)?;
        let mut data = ctx.base_data(Action::NewComRequest, &ch);
        data.return_id_token = Some(our_token);
        data.memo = memo.map(str::to_string);
        ctx.attach_return_inbox(&mut data);
        let (out, row) = ctx.compose(&tx, &ch, data, true)?;
        db::insert_request(&tx, row, RequestKind::Channel)?;
        tx.commit()?;
        drop(inner);
        // A key change above logged its events.
        self.events_committed();
        Ok(out)
    }

    /// peer_new_funds_request. `amount` may be empty for the payer to choose.
    pub fn request_funds(
        &self,
        peer: &str,
        request: FundsRequest,
    ) -> Result<Outgoing, WalletError> {
        self.send(peer, Action::NewFundsRequest, |data| {
            data.payee_public_address = Some(request.payee_public_address);
            data.chain_code = Some(request.chain_code);
            data.token_code = Some(request.token_code);
            data.amount = Some(request.amount);
            data.memo = request.memo;
            data.hash = request.hash;
            data.offline_url = request.offline_url;
            Ok(())
        })
    }

    /// peer_new_pub_address_request.
    pub fn request_public_address(
        &self,
        peer: &str,
        request: AddressRequest,
    ) -> Result<Outgoing, WalletError> {
        self.send(peer, Action::NewPubAddressRequest, |data| {
            data.chain_code = Some(request.chain_code);
            data.token_code = Some(request.token_code);
            data.amount = request.amount;
            data.memo = request.memo;
            Ok(())
        })
    }

    /// peer_send_private_text.
    pub fn send_private_text(
        &self,
        peer: &str,
        memo: &str,
        referenced_message_id: Option<&str>,
    ) -> Result<Outgoing, WalletError> {
        self.send(peer, Action::SendPrivateText, |data| {
            data.memo = Some(memo.to_string());
            data.referenced_message_id = referenced_message_id.map(str::to_string);
            Ok(())
        })
    }

    /// peer_update_com_data_request: tells the peer our new inbox and/or
    /// gives it a new token. The previous token stays valid until the next
    /// rotation, so messages the peer sent before it saw the update still arrive.
    pub fn update_com_data(
        &self,
        peer: &str,
        inbox: Option<InboxLocation>,
        rotate_token: bool,
    ) -> Result<Outgoing, WalletError> {
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.unchecked_transaction()?;
        let ch = ctx.open_channel_row(&tx, peer)?;
        let mut data = ctx.base_data(Action::UpdateComDataRequest, &ch);
        if let Some(inbox) = inbox {
            data.return_address = Some(inbox.address);
            data.return_address_type = Some(inbox.kind.code().to_string());
        }
        if rotate_token {
            let token = generate_token();
            tx.execute(
                "UPDATE channels SET our_previous_token = our_token, our_token = ?1, updated_at = ?2 WHERE id = ?3",
                params![token, now(), ch.id],
            )?;
            data.return_id_token = Some(token);
        }
        let (out, _) = ctx.compose(&tx, &ch, data, false)?;
        tx.commit()?;
        Ok(out)
    }

    /// peer_close_com_request, then forgets the channel's tokens: the next
    /// contact either way starts with NEW.
    pub fn close_channel(&self, peer: &str, memo: Option<&str>) -> Result<Outgoing, WalletError> {
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.unchecked_transaction()?;
        let ch = ctx.open_channel_row(&tx, peer)?;
        let mut data = ctx.base_data(Action::CloseComRequest, &ch);
        data.memo = memo.map(str::to_string);
        let (out, _) = ctx.compose(&tx, &ch, data, false)?;
        db::close_channel(&tx, ch.id)?;
        tx.commit()?;
        Ok(out)
    }

    /// peer_accept_request for a request the peer sent us. A channel request
    /// opens the channel; a public-address request needs `payee_public_address`
    /// (its chain and token default to the request's); a funds request is
    /// marked paid.
    pub fn accept_request(
        &self,
        peer: &str,
        request_message_id: &str,
        answer: Acceptance,
    ) -> Result<Outgoing, WalletError> {
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.unchecked_transaction()?;
        let (ch, req) = ctx.pending_request(&tx, peer, request_message_id, Direction::Incoming)?;
        let out = ctx.accept(&tx, &ch, &req, answer)?;
        tx.commit()?;
        Ok(out)
    }

    /// peer_reject_request for a request the peer sent us. Rejecting a
    /// channel request closes the channel.
    pub fn reject_request(
        &self,
        peer: &str,
        request_message_id: &str,
        memo: Option<&str>,
    ) -> Result<Outgoing, WalletError> {
        self.answer(
            peer,
            request_message_id,
            Direction::Incoming,
            Action::RejectRequest,
            memo,
        )
    }

    /// peer_cancel_request for a funds or public-address request we sent.
    pub fn cancel_request(
        &self,
        peer: &str,
        request_message_id: &str,
        memo: Option<&str>,
    ) -> Result<Outgoing, WalletError> {
        self.answer(
            peer,
            request_message_id,
            Direction::Outgoing,
            Action::CancelRequest,
            memo,
        )
    }

    fn answer(
        &self,
        peer: &str,
        request_message_id: &str,
        dir: Direction,
        action: Action,
        memo: Option<&str>,
    ) -> Result<Outgoing, WalletError> {
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.unchecked_transaction()?;
        let (ch, req) = ctx.pending_request(&tx, peer, request_message_id, dir)?;
        if action == Action::CancelRequest && req.kind == RequestKind::Channel {
            return Err(WalletError::Request(
                "a channel request cannot be cancelled: the peer has issued us no token yet".into(),
            ));
        }
        if ch.peer_token.is_none() {
            return Err(WalletError::Channel(format!(
                "{} has not given us a token to write with",
                ch.peer
            )));
        }
        let mut data = ctx.base_data(action, &ch);
        data.referenced_message_id = Some(request_message_id.to_string());
        data.memo = memo.map(str::to_string);
        let (out, row) = ctx.compose(&tx, &ch, data, false)?;
        let state = if action == Action::RejectRequest {
            RequestState::Rejected
        } else {
            RequestState::Cancelled
        };
        db::settle_request(&tx, req.row, state, row)?;
        if req.kind == RequestKind::Channel {
            db::close_channel(&tx, ch.id)?;
        }
        tx.commit()?;
        Ok(out)
    }

    fn send(
        &self,
        peer: &str,
        action: Action,
        fill: impl FnOnce(&mut MessageData) -> Result<(), WalletError>,
    ) -> Result<Outgoing, WalletError> {
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.unchecked_transaction()?;
        let ch = ctx.open_channel_row(&tx, peer)?;
        let mut data = ctx.base_data(action, &ch);
        fill(&mut data)?;
        let (out, row) = ctx.compose(&tx, &ch, data, false)?;
        if let Some(kind) = RequestKind::of(action) {
            db::insert_request(&tx, row, kind)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Processes one incoming envelope (FIP-24 "Processing"): validate,
    /// identify the sender, decrypt, verify, validate the content, then in one
    /// transaction persist, run automations, queue and build replies.
    pub fn receive(&self, envelope: &[u8]) -> Result<Received, WalletError> {
        let senders = self.look_up_senders([envelope])?;
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.unchecked_transaction()?;
        let result = ctx.receive(&tx, envelope, &senders, false);
        if let Ok(received) = &result {
            events::log_received(&tx, received)?;
        }
        match &result {
            // A rejection may carry an error status reply: keep it.
            Ok(_) | Err(WalletError::Rejected { .. }) => tx.commit()?,
            Err(_) => return result,
        }
        drop(inner);
        self.events_committed();
        result
    }

    /// [`receive`](Self::receive) for many envelopes in one transaction (one
    /// fsync). Each envelope is fully checked before anything of it is
    /// written, so a rejected one leaves nothing but its error reply and needs
    /// no savepoint. A storage failure aborts the whole batch (nothing of it is
    /// committed, so nothing of it may be acked).
    pub fn receive_batch(
        &self,
        envelopes: &[&[u8]],
    ) -> Result<Vec<Result<Received, WalletError>>, WalletError> {
        self.receive_batch_inner(envelopes, false)
    }

    /// [`receive_batch`](Self::receive_batch), but an envelope whose sender
    /// cannot be looked up now (`WalletError::Directory`) is held in the
    /// database in the same transaction, to be received by
    /// [`receive_held`](Self::receive_held) later. After it returns, every
    /// envelope of the batch is safe in the database and may be acknowledged.
    pub fn receive_batch_holding(
        &self,
        envelopes: &[&[u8]],
    ) -> Result<Vec<Result<Received, WalletError>>, WalletError> {
        self.receive_batch_inner(envelopes, true)
    }

    fn receive_batch_inner(
        &self,
        envelopes: &[&[u8]],
        hold: bool,
    ) -> Result<Vec<Result<Received, WalletError>>, WalletError> {
        let senders = self.look_up_senders(envelopes.iter().copied())?;
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.transaction()?;
        let mut results = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            match ctx.receive(&tx, envelope, &senders, hold) {
                // Directory failures happen before any write, as do
                // references to messages not received yet: that envelope waits.
                Err(e @ (WalletError::Directory(_) | WalletError::Unseen { .. })) => {
                    if hold {
                        outbox::hold(&tx, envelope, &e.to_string())?;
                    }
                    results.push(Err(e))
                }
                r @ (Ok(_) | Err(WalletError::Rejected { .. })) => {
                    if let Ok(received) = &r {
                        events::log_received(&tx, received)?;
                    }
                    results.push(r)
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit()?;
        drop(inner);
        self.events_committed();
        Ok(results)
    }

    /// Receives held envelopes again (at most `limit`, oldest first), in one
    /// transaction: those that are now received or rejected leave the hold,
    /// the others stay with their attempt counted.
    pub fn receive_held(
        &self,
        limit: usize,
    ) -> Result<Vec<Result<Received, WalletError>>, WalletError> {
        let held = self.read_db(|c| outbox::held(c, limit))?;
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let senders = self.look_up_senders(held.iter().map(|(_, e, _)| e.as_bytes()))?;
        let mut inner = self.lock()?;
        let Inner { conn, ctx, .. } = &mut *inner;
        let tx = conn.transaction()?;
        let mut results = Vec::with_capacity(held.len());
        for (id, envelope, attempts) in held {
            // The last try of a message whose reference never came refuses it.
            let hold_unseen = attempts + 1 < outbox::UNSEEN_TRIES;
            match ctx.receive(&tx, envelope.as_bytes(), &senders, hold_unseen) {
                Err(e @ (WalletError::Directory(_) | WalletError::Unseen { .. })) => {
                    outbox::held_again(&tx, id, &e.to_string())?;
                    results.push(Err(e))
                }
                r @ (Ok(_) | Err(WalletError::Rejected { .. })) => {
                    outbox::release(&tx, id)?;
                    if let Ok(received) = &r {
                        events::log_received(&tx, received)?;
                    }
                    results.push(r)
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit()?;
        drop(inner);
        self.events_committed();
        Ok(results)
    }

    /// Phase one of a receive: the keys of first contacts' senders, from
    /// the chain, before the lock is taken (see `senders.rs`).
    fn look_up_senders<'a>(
        &self,
        envelopes: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<SenderKeys, WalletError> {
        let key = self.private_key()?;
        Ok(self
            .senders
            .look_up(self.directory.as_ref(), &key, envelopes))
    }

    /// Unhandled queue items, oldest first.
    pub fn queue(&self) -> Result<Vec<QueueItem>, WalletError> {
        self.reading(|c| db::queue(c, 0, usize::MAX))
    }

    /// A page of [`queue`](Self::queue): the items after item `after`
    /// (0: from the start; else a [`QueueItem::id`]), at most `limit`.
    /// What a UI reads: its cost is the page's, not the queue's.
    pub fn queue_page(&self, after: i64, limit: usize) -> Result<Vec<QueueItem>, WalletError> {
        self.reading(|c| db::queue(c, after, limit))
    }

    /// Marks a queue item handled (`queue_id` is [`QueueItem::id`]).
    pub fn dismiss(&self, queue_id: i64) -> Result<(), WalletError> {
        let inner = self.lock()?;
        let updated = inner.conn.execute(
            "UPDATE queue SET handled = 1 WHERE message_row = ?1",
            params![queue_id],
        )?;
        if updated == 0 {
            return Err(WalletError::Request(format!(
                "no queue item has id {queue_id}"
            )));
        }
        Ok(())
    }

    /// Every message with `peer`, oldest first.
    pub fn history(&self, peer: &str) -> Result<Vec<MessageRecord>, WalletError> {
        let mut all = self.history_page(peer, None, usize::MAX)?;
        all.reverse();
        Ok(all)
    }

    /// A page of the messages with `peer`, newest first: those before
    /// message `before` (a [`MessageRecord::id`]; `None`: from the
    /// newest), at most `limit`. The next page is `before` = the last
    /// one's id; its cost is the page's, not the history's.
    pub fn history_page(
        &self,
        peer: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, WalletError> {
        let peer = parse_address(peer, ErrorKind::InvalidRecipientFioAddress)?;
        self.reading(|c| db::history(c, &self.address, &peer, before, limit))
    }

    /// One message with `peer`, by its direction and FIP-24 message id.
    pub fn message(
        &self,
        peer: &str,
        direction: Direction,
        message_id: &str,
    ) -> Result<Option<MessageRecord>, WalletError> {
        let peer = parse_address(peer, ErrorKind::InvalidRecipientFioAddress)?;
        self.reading(|c| {
            let Some(ch) = db::channel_by_peer(c, &self.address, &peer)? else {
                return Ok(None);
            };
            match db::message_row(c, ch.id, direction, message_id)? {
                Some(row) => Ok(Some(db::message_record_by_row(c, row)?)),
                None => Ok(None),
            }
        })
    }

    /// Requests in both directions, with `peer` or with everyone.
    pub fn requests(&self, peer: Option<&str>) -> Result<Vec<RequestRecord>, WalletError> {
        self.requests_page(peer, None, 0, usize::MAX)
    }

    /// A page of [`requests`](Self::requests), oldest first: with `peer`
    /// (or everyone), in `state` (or any), after request `after` (0: from
    /// the start; else a [`RequestRecord::id`]), at most `limit`.
    pub fn requests_page(
        &self,
        peer: Option<&str>,
        state: Option<RequestState>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RequestRecord>, WalletError> {
        let peer = peer
            .map(|p| parse_address(p, ErrorKind::InvalidRecipientFioAddress))
            .transpose()?;
        self.reading(|c| db::requests(c, peer.as_ref(), state, after, limit))
    }

    /// Our messages not delivered yet (queued, retrying or failed), oldest
    /// first, each with its [`Delivery`].
    pub fn undelivered(&self) -> Result<Vec<MessageRecord>, WalletError> {
        self.undelivered_page(0, usize::MAX)
    }

    /// A page of [`undelivered`](Self::undelivered): after message `after`
    /// (0: from the start; else a [`MessageRecord::id`]), at most `limit`.
    pub fn undelivered_page(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, WalletError> {
        self.reading(|c| db::undelivered(c, after, limit))
    }
}

/// What peer_new_funds_request carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FundsRequest {
    pub payee_public_address: String,
    pub chain_code: String,
    pub token_code: String,
    /// May be empty for the payer to choose.
    pub amount: String,
    pub memo: Option<String>,
    pub hash: Option<String>,
    pub offline_url: Option<String>,
}

/// What peer_new_pub_address_request carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressRequest {
    pub chain_code: String,
    pub token_code: String,
    pub amount: Option<String>,
    pub memo: Option<String>,
}

/// What peer_accept_request carries besides the reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acceptance {
    /// Required when accepting a public-address request.
    pub payee_public_address: Option<String>,
    pub chain_code: Option<String>,
    pub token_code: Option<String>,
    pub amount: Option<String>,
    pub memo: Option<String>,
}

impl Ctx {
    fn base_data(&self, action: Action, ch: &ChannelRow) -> MessageData {
        MessageData {
            action: action.name().to_string(),
            message_id: generate_message_id(),
            sender_fio_address: self.address.to_string(),
            recipient_fio_address: ch.peer.to_string(),
            ..Default::default()
        }
    }

    /// The channel with `peer` and its still-pending request `message_id`
    /// (sent by the peer for `Incoming`, by us for `Outgoing`).
    fn pending_request(
        &self,
        conn: &Connection,
        peer: &str,
        message_id: &str,
        dir: Direction,
    ) -> Result<(ChannelRow, db::RequestRow), WalletError> {
        let peer = parse_address(peer, ErrorKind::InvalidRecipientFioAddress)?;
        let ch = db::channel_by_peer(conn, &self.address, &peer)?
            .ok_or_else(|| WalletError::Channel(format!("no channel with {peer}")))?;
        let req = db::request(conn, ch.id, dir, message_id)?.ok_or_else(|| {
            WalletError::Request(match dir {
                Direction::Incoming => format!("{peer} sent no request {message_id}"),
                Direction::Outgoing => format!("we sent no request {message_id} to {peer}"),
            })
        })?;
        if req.state != RequestState::Pending {
            return Err(WalletError::Request(format!(
                "request {message_id} is already {}",
                req.state.as_str()
            )));
        }
        Ok((ch, req))
    }

    fn attach_return_inbox(&self, data: &mut MessageData) {
        if let Some(inbox) = &self.inbox {
            data.return_address = Some(inbox.address.clone());
            data.return_address_type = Some(inbox.kind.code().to_string());
        }
    }

    fn channel_key(&mut self, ch: &ChannelRow) -> &ChannelKey {
        let entry = self
            .channel_keys
            .entry(ch.id)
            .or_insert_with(|| (ch.peer_key, ChannelKey::derive(&self.key, &ch.peer_key)));
        if entry.0 != ch.peer_key {
            *entry = (ch.peer_key, ChannelKey::derive(&self.key, &ch.peer_key));
        }
        &entry.1
    }

    /// An open channel with a token to write with.
    fn open_channel_row(&self, conn: &Connection, peer: &str) -> Result<ChannelRow, WalletError> {
        let peer = parse_address(peer, ErrorKind::InvalidRecipientFioAddress)?;
        let ch = db::channel_by_peer(conn, &self.address, &peer)?.ok_or_else(|| {
            WalletError::Channel(format!("no channel with {peer}: open one first"))
        })?;
        if ch.state != ChannelState::Open || ch.peer_token.is_none() {
            return Err(WalletError::Channel(format!(
                "the channel with {peer} is {}, not open",
                ch.state.as_str()
            )));
        }
        Ok(ch)
    }

    /// Validates, signs, seals and stores an outgoing message; returns the
    /// envelope to deliver and the message's row id.
    fn compose(
        &mut self,
        conn: &Connection,
        ch: &ChannelRow,
        data: MessageData,
        new: bool,
    ) -> Result<(Outgoing, i64), WalletError> {
        let valid = data.validate().map_err(WalletError::InvalidInput)?;
        let data_text = data.to_json();
        let signature = sign_data(&self.key, &ch.peer_key, &data_text);
        let plaintext =
            build_plaintext(&data_text, &signature).map_err(WalletError::InvalidInput)?;
        let (id_token, content) = if new {
            (IdToken::New, seal_new(&ch.peer_key, &plaintext))
        } else {
            let token = ch.peer_token.clone().ok_or_else(|| {
                WalletError::Channel(format!("{} has not given us a token", ch.peer))
            })?;
            (IdToken::Token(token), self.channel_key(ch).seal(&plaintext))
        };
        let envelope = Envelope { id_token, content }.to_json();
        let row = db::insert_message(
            conn,
            ch.id,
            Direction::Outgoing,
            &data,
            &data_text,
            &signature.to_string(),
            Some(&envelope),
            now(),
        )?;
        // Queued for delivery in the same transaction: a sent message is
        // never lost before it is delivered.
        outbox::insert(conn, row, None)?;
        let out = Outgoing {
            peer: ch.peer.clone(),
            action: valid.action,
            message_id: data.message_id.clone(),
            to: ch.peer_inbox.clone(),
            envelope,
        };
        Ok((out, row))
    }

    /// Accepts an incoming pending request (user call or automation).
    fn accept(
        &mut self,
        conn: &Connection,
        ch: &ChannelRow,
        req: &db::RequestRow,
        answer: Acceptance,
    ) -> Result<Outgoing, WalletError> {
        let mut data = self.base_data(Action::AcceptRequest, ch);
        data.referenced_message_id = Some(req.message_id.clone());
        data.memo = answer.memo;
        data.amount = answer.amount;
        let state = match req.kind {
            RequestKind::Channel => {
                let token = match &ch.our_token {
                    Some(t) => t.clone(),
                    None => {
                        let t = generate_token();
                        conn.execute(
                            "UPDATE channels SET our_token = ?1 WHERE id = ?2",
                            params![t, ch.id],
                        )?;
                        t
                    }
                };
                data.return_id_token = Some(token);
                self.attach_return_inbox(&mut data);
                RequestState::Accepted
            }
            RequestKind::PublicAddress => {
                let address = answer.payee_public_address.ok_or_else(|| {
                    WalletError::InvalidInput(ProtocolError::at(
                        ErrorKind::InvalidPublicAddress,
                        "payee_public_address",
                        None,
                    ))
                })?;
                let request = db::message_data(conn, req.row)?;
                data.payee_public_address = Some(address);
                data.chain_code = answer.chain_code.or(request.chain_code);
                data.token_code = answer.token_code.or(request.token_code);
                RequestState::Accepted
            }
            RequestKind::Funds => RequestState::Paid,
        };
        let (out, row) = self.compose(conn, ch, data, false)?;
        db::settle_request(conn, req.row, state, row)?;
        if req.kind == RequestKind::Channel {
            conn.execute(
                "UPDATE channels SET state = 'open', updated_at = ?1 WHERE id = ?2",
                params![now(), ch.id],
            )?;
        }
        Ok(out)
    }
}
