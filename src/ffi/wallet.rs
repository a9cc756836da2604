//! A FIP-24 wallet with its sync engine: 1:1 over `crate::wallet::Wallet`
//! and `crate::sync::SyncEngine`.

use std::sync::Arc;
use std::time::Duration;

use super::events::{EventEntry, EventHub, WalletListener};
use super::friends::FioFriends;
use super::keys::{FioDatabaseKey, FioKey};
use super::push::{FioPushTarget, NotificationReceive, PushRegistration};
use super::records::*;
use super::{runtime, FioPeerError};
use crate::chain::{ChainClient, ChainConfig, ChainError, ChainId};
use crate::crypto::PrivateKey;
use crate::friends::{check_tpid, Friends, FriendsConfig};
use crate::protocol::FioAddress;
use crate::sync::{check_relay_url, CancelToken, SyncConfig, SyncEngine, MAX_LONG_POLL};
use crate::wallet::{KeyDirectory, Wallet};

/// Where a wallet lives and what it talks to. It holds no secret (the key
/// is a `FioKey` beside it), so it may be logged.
#[derive(uniffi::Record)]
pub struct WalletConfig {
    /// The database file (created if missing, mode 0600, encrypted). One
    /// wallet object per file.
    pub database_path: String,
    pub fio_address: String,
    /// The FIO chain: mainnet, testnet, or another (a devnet) by chain id.
    pub network: Network,
    /// FIO API nodes, tried in order; empty (the default): the network's
    /// built-in list (docs/ffi.md "Networks"). A `Custom` network needs them.
    #[uniffi(default = [])]
    pub chain_nodes: Vec<String>,
    /// The relay to create the inbox on when the wallet has none.
    #[uniffi(default = None)]
    pub relay: Option<String>,
    /// How long the first fetch of a sync waits on the relay for new
    /// messages (0–30 s); cancel the sync to stop waiting.
    #[uniffi(default = 0)]
    pub long_poll_seconds: i32,
    /// The `tpid` of the FIP-3 actions: a FIO address, or empty.
    #[uniffi(default = "")]
    pub tpid: String,
    /// How long one request to a chain node may take (1–120 s; connecting
    /// takes at most 5 s of it); the next node is tried after it.
    #[uniffi(default = 10)]
    pub chain_timeout_seconds: i32,
    /// How long one request to a relay may take (1–120 s; a long poll gets
    /// `long_poll_seconds` on top).
    #[uniffi(default = 20)]
    pub relay_timeout_seconds: i32,
    /// Development only (a devnet, tests): lets deliveries to peers go to
    /// `http://` inboxes and to loopback, private and link-local
    /// addresses, and mainnet and testnet chain nodes and relays be
    /// `http://`. Off (the default), a peer's inbox must be `https` on a
    /// public address, and so must the nodes and the relay of a mainnet or
    /// testnet wallet. Never set it in a shipped app.
    #[uniffi(default = false)]
    pub allow_insecure_destinations: bool,
}

/// A FIO chain. Mainnet and testnet come with their chain id and the
/// core's list of public API nodes (`WalletConfig.chain_nodes` overrides
/// the list); anything else is `Custom`.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum Network {
    Mainnet,
    Testnet,
    /// Another chain (a devnet, a private chain): its 64-hex chain id; its
    /// nodes must be given.
    Custom {
        chain_id: String,
    },
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Network::Mainnet => write!(f, "mainnet"),
            Network::Testnet => write!(f, "testnet"),
            Network::Custom { chain_id } => write!(f, "custom chain {chain_id}"),
        }
    }
}

/// The chain settings of `network`, with `nodes` instead of its built-in
/// list when there are any.
fn chain_config(network: &Network, nodes: Vec<String>) -> Result<ChainConfig, FioPeerError> {
    let mut config = match network {
        Network::Mainnet => ChainConfig::mainnet(),
        Network::Testnet => ChainConfig::testnet(),
        Network::Custom { chain_id } => {
            let id = ChainId::parse(chain_id)
                .map_err(|e| FioPeerError::input("chain_id", chain_id, e))?;
            if nodes.is_empty() {
                return Err(FioPeerError::input(
                    "chain_nodes",
                    "",
                    "a custom network needs its API nodes",
                ));
            }
            ChainConfig::new(id, Vec::new())
        }
    };
    if !nodes.is_empty() {
        config.nodes = nodes;
    }
    Ok(config)
}

/// The FIO API nodes fio-peer uses for `network` when none are given (an
/// empty list for `Custom`).
#[uniffi::export]
pub fn network_nodes(network: Network) -> Vec<String> {
    chain_config(&network, Vec::new())
        .map(|c| c.nodes)
        .unwrap_or_default()
}

/// The most a request timeout may be set to.
const MAX_TIMEOUT_SECONDS: i32 = 120;

fn timeout(field: &str, seconds: i32) -> Result<Duration, FioPeerError> {
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&seconds) {
        return Err(FioPeerError::input(
            field,
            &seconds.to_string(),
            "1 to 120 seconds",
        ));
    }
    Ok(Duration::from_secs(seconds.unsigned_abs().into()))
}

/// A page size given by the app: at least 1.
pub(crate) fn page_limit(limit: i32) -> Result<usize, FioPeerError> {
    usize::try_from(limit)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| FioPeerError::input("limit", &limit.to_string(), "at least 1"))
}

/// Cancels the syncs, inbox moves and event waits (`next_events`) it is
/// passed to. Syncs and inbox moves stop between steps, and at once when
/// waiting on a relay or for another sync; what was received stays
/// received. Once cancelled it stays cancelled; a call that ends without
/// it leaves it as it was, so one handle can serve many calls.
#[derive(uniffi::Object, Default)]
pub struct SyncCancel(CancelToken);

#[uniffi::export]
impl SyncCancel {
    #[uniffi::constructor]
    pub fn new() -> Arc<SyncCancel> {
        Arc::new(SyncCancel::default())
    }

    pub fn cancel(&self) {
        self.0.cancel()
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// Cancels one call's own token when dropped: a foreign caller that
/// abandons the async call (a cancelled coroutine or asyncio task) stops
/// the sync too.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel()
    }
}

/// Runs `op` on the library's runtime with a token of its own: cancelled
/// by the app's `handle`, when the foreign caller abandons the call, or
/// when the wallet is shut down (then the call is `Closed`), never the
/// other way round (a finished call leaves the handle as it was).
async fn cancellable<T, F, Fut>(
    closing: &CancelToken,
    handle: Option<Arc<SyncCancel>>,
    op: F,
) -> Result<T, FioPeerError>
where
    T: Send + 'static,
    F: FnOnce(CancelToken) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, crate::sync::SyncError>> + Send + 'static,
{
    if closing.is_cancelled() {
        return Err(FioPeerError::closed());
    }
    let token = CancelToken::new();
    let _abandoned = CancelOnDrop(token.clone());
    let handle = handle.map(|c| c.0.clone());
    if handle.as_ref().is_some_and(CancelToken::is_cancelled) {
        token.cancel();
    }
    let shut = closing.clone();
    let report = runtime()?
        .run(async move {
            let call = op(token.clone());
            tokio::pin!(call);
            tokio::select! {
                // The handle first: a cancel already made is seen before
                // the call takes a step.
                biased;
                _ = async {
                    match &handle {
                        Some(h) => h.cancelled().await,
                        None => std::future::pending().await,
                    }
                } => {
                    token.cancel();
                    call.await
                }
                _ = shut.cancelled() => {
                    token.cancel();
                    call.await
                }
                r = &mut call => r,
            }
        })
        .await;
    match report {
        Err(crate::sync::SyncError::Cancelled) if closing.is_cancelled() => {
            Err(FioPeerError::closed())
        }
        r => Ok(r?),
    }
}

/// A wallet: its database, chain client, sync engine and friends.
#[derive(uniffi::Object)]
pub struct FioWallet {
    wallet: Arc<Wallet>,
    engine: SyncEngine,
    friends: Arc<FioFriends>,
    events: EventHub,
    /// Cancelled by `shutdown`: ends the running calls with `Closed`.
    closing: CancelToken,
}

impl FioWallet {
    fn check_open(&self) -> Result<(), FioPeerError> {
        if self.closing.is_cancelled() {
            return Err(FioPeerError::closed());
        }
        Ok(())
    }
}

/// Released by the app (Kotlin's `close()` once no call runs, Swift's last
/// reference, Python's `del`): the same as `shutdown`.
impl Drop for FioWallet {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[uniffi::export]
impl FioWallet {
    /// Opens (or creates) the wallet of `key`. Its database is encrypted
    /// with `database_key`, by default the one derived from `key`; a
    /// database from before encryption is encrypted on this first open. A
    /// key that does not open the file is `WrongDatabaseKey`, a database
    /// made for another address is `Storage`; neither changes the file.
    #[uniffi::constructor(default(database_key = None))]
    pub fn open(
        key: Arc<FioKey>,
        config: WalletConfig,
        database_key: Option<Arc<FioDatabaseKey>>,
    ) -> Result<Arc<FioWallet>, FioPeerError> {
        // Every setting is checked before the database file is created.
        let key: PrivateKey = key.private_key().clone();
        let mut chain_config = chain_config(&config.network, config.chain_nodes)?;
        let chain_id = chain_config.chain_id;
        let long_poll = u64::try_from(config.long_poll_seconds)
            .ok()
            .filter(|&s| s <= MAX_LONG_POLL.as_secs());
        let Some(long_poll) = long_poll else {
            let value = config.long_poll_seconds.to_string();
            return Err(FioPeerError::input("long_poll_seconds", &value, "0 to 30"));
        };
        if let Some(relay) = &config.relay {
            check_relay_url(relay, &chain_id, config.allow_insecure_destinations)?;
        }
        check_tpid(&config.tpid)?;
        let chain_timeout = timeout("chain_timeout_seconds", config.chain_timeout_seconds)?;
        let relay_timeout = timeout("relay_timeout_seconds", config.relay_timeout_seconds)?;
        let nodes = chain_config.nodes.join(" ");
        chain_config.timeout = chain_timeout;
        chain_config.allow_http = config.allow_insecure_destinations;
        let chain = ChainClient::with_runtime(chain_config, runtime()?).map_err(|e| match e {
            ChainError::InvalidInput(m) => FioPeerError::input("chain_nodes", &nodes, m),
            other => other.into(),
        })?;
        let directory: Arc<dyn KeyDirectory> = Arc::new(chain.clone());
        let database_key = match database_key {
            Some(k) => k.key().clone(),
            None => crate::store::DatabaseKey::derive(&key),
        };
        let wallet = Arc::new(Wallet::open_with_database_key(
            &config.database_path,
            key,
            &database_key,
            &config.fio_address,
            directory,
        )?);
        let engine = SyncEngine::new(
            wallet.clone(),
            chain.clone(),
            SyncConfig {
                relay: config.relay,
                long_poll: Duration::from_secs(long_poll),
                timeout: relay_timeout,
                allow_insecure_destinations: config.allow_insecure_destinations,
                ..SyncConfig::default()
            },
        )?;
        let friends = Friends::new(
            wallet.clone(),
            chain,
            FriendsConfig {
                tpid: config.tpid,
                ..FriendsConfig::default()
            },
        )?;
        let closing = CancelToken::new();
        let events = EventHub::new(&wallet, &closing)?;
        Ok(Arc::new(FioWallet {
            wallet,
            engine,
            friends: Arc::new(FioFriends::new(friends, closing.clone())),
            events,
            closing,
        }))
    }

    /// Closes the wallet now, whatever is running: its syncs, inbox moves
    /// and FIP-3 calls end with `Closed` (what they committed stays), the
    /// listener is dropped, the database connections are closed and the
    /// file is released, so it can be opened again at once. Every later
    /// call on this wallet and its `FioFriends` fails with `Closed`, except
    /// `fio_address` and `public_key`, which keep answering. Idempotent;
    /// releasing the wallet does the same.
    pub fn shutdown(&self) {
        self.closing.cancel();
        self.events.set_listener(None);
        self.wallet.close();
    }

    pub fn fio_address(&self) -> String {
        self.wallet.fio_address().to_string()
    }

    /// Encrypts the database with `database_key` from now on: every page is
    /// rewritten in one transaction (a crash leaves the old key or the new
    /// one), on a library thread. Open the wallet with that key from then
    /// on; another process that has the file open (an extension) must open
    /// it again. `FioDatabaseKey.derived_from(key)` goes back to the
    /// default.
    pub async fn rekey(&self, database_key: Arc<FioDatabaseKey>) -> Result<(), FioPeerError> {
        self.check_open()?;
        let wallet = self.wallet.clone();
        let done = runtime()?
            .run(async move {
                tokio::task::spawn_blocking(move || wallet.rekey(database_key.key())).await
            })
            .await;
        match done {
            Ok(done) => Ok(done?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(FioPeerError::Internal {
                detail: e.to_string(),
            }),
        }
    }

    /// Our FIO public key (FIO…).
    pub fn public_key(&self) -> String {
        self.wallet.public_key().to_fio_string()
    }

    /// FIP-3: the friend list, private addresses and private requests.
    pub fn friends(&self) -> Arc<FioFriends> {
        self.friends.clone()
    }

    /// Sets (or with `None` removes) the listener of this wallet's events.
    pub fn set_listener(&self, listener: Option<Arc<dyn WalletListener>>) {
        self.events.set_listener(listener)
    }

    // ---- channels and messages ----

    /// Every channel, most recently updated first.
    pub fn channels(&self) -> Result<Vec<ChannelInfo>, FioPeerError> {
        Ok(self
            .wallet
            .channels()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The channel with `peer`, if there is one.
    pub fn channel(&self, peer: String) -> Result<Option<ChannelInfo>, FioPeerError> {
        Ok(self.wallet.channel(&peer)?.map(Into::into))
    }

    /// peer_new_com_request: asks `peer` to open a channel. Async because
    /// the peer's key and inbox are looked up on chain first (without the
    /// wallet's lock); once they are, the request is queued even if the call
    /// is abandoned.
    #[uniffi::method(default(memo = None))]
    pub async fn open_channel(
        &self,
        peer: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        self.check_open()?;
        let wallet = self.wallet.clone();
        let sent = runtime()?
            .run(async move {
                tokio::task::spawn_blocking(move || wallet.open_channel(&peer, memo.as_deref()))
                    .await
            })
            .await;
        match sent {
            Ok(sent) => Ok(sent?.into()),
            // A panic goes on to uniffi, which turns it into the language's
            // internal error; a cancelled task means the runtime is ending.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(FioPeerError::Internal {
                detail: e.to_string(),
            }),
        }
    }

    /// peer_new_funds_request.
    pub fn request_funds(
        &self,
        peer: String,
        request: FundsRequestData,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self.wallet.request_funds(&peer, request.into())?.into())
    }

    /// peer_new_pub_address_request.
    pub fn request_public_address(
        &self,
        peer: String,
        request: AddressRequestData,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .request_public_address(&peer, request.into())?
            .into())
    }

    /// peer_send_private_text, optionally referring to an earlier message.
    #[uniffi::method(default(referenced_message_id = None))]
    pub fn send_private_text(
        &self,
        peer: String,
        text: String,
        referenced_message_id: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .send_private_text(&peer, &text, referenced_message_id.as_deref())?
            .into())
    }

    /// peer_update_com_data_request: tells `peer` a new inbox URL and/or
    /// gives it a new id token.
    #[uniffi::method(default(inbox = None, rotate_token = false))]
    pub fn update_com_data(
        &self,
        peer: String,
        inbox: Option<String>,
        rotate_token: bool,
    ) -> Result<SentMessage, FioPeerError> {
        let inbox = inbox.as_deref().map(inbox_url).transpose()?;
        Ok(self
            .wallet
            .update_com_data(&peer, inbox, rotate_token)?
            .into())
    }

    /// peer_close_com_request.
    #[uniffi::method(default(memo = None))]
    pub fn close_channel(
        &self,
        peer: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self.wallet.close_channel(&peer, memo.as_deref())?.into())
    }

    /// peer_accept_request for a request `peer` sent us: opens a channel,
    /// answers a public-address request (`payee_public_address` required),
    /// or marks a funds request paid.
    pub fn accept_request(
        &self,
        peer: String,
        message_id: String,
        answer: AcceptanceData,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .accept_request(&peer, &message_id, answer.into())?
            .into())
    }

    /// peer_reject_request for a request `peer` sent us.
    #[uniffi::method(default(memo = None))]
    pub fn reject_request(
        &self,
        peer: String,
        message_id: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .reject_request(&peer, &message_id, memo.as_deref())?
            .into())
    }

    /// peer_cancel_request for a funds or public-address request we sent.
    #[uniffi::method(default(memo = None))]
    pub fn cancel_request(
        &self,
        peer: String,
        message_id: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .cancel_request(&peer, &message_id, memo.as_deref())?
            .into())
    }

    /// What waits for the user (requests not answered yet, texts, error
    /// statuses, …), oldest first: the items after item `after` (`None`:
    /// from the start), at most `limit`. An answered request leaves it.
    #[uniffi::method(default(after = None, limit = 100))]
    pub fn queue(&self, after: Option<i64>, limit: i32) -> Result<Vec<QueueEntry>, FioPeerError> {
        let limit = page_limit(limit)?;
        Ok(self
            .wallet
            .queue_page(after.unwrap_or(0), limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Marks a queue item handled.
    pub fn dismiss(&self, queue_id: i64) -> Result<(), FioPeerError> {
        Ok(self.wallet.dismiss(queue_id)?)
    }

    /// The messages with `peer`, newest first: those before message
    /// `before` (a `Message.id`; `None`: from the newest), at most `limit`.
    #[uniffi::method(default(before = None, limit = 100))]
    pub fn history(
        &self,
        peer: String,
        before: Option<i64>,
        limit: i32,
    ) -> Result<Vec<Message>, FioPeerError> {
        let limit = page_limit(limit)?;
        Ok(self
            .wallet
            .history_page(&peer, before, limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Requests both ways, oldest first: with `peer` (`None`: everyone),
    /// in `status` (`None`: any), after request `after` (a `Request.id`;
    /// `None`: from the start), at most `limit`.
    #[uniffi::method(default(peer = None, status = None, after = None, limit = 100))]
    pub fn requests(
        &self,
        peer: Option<String>,
        status: Option<RequestStatus>,
        after: Option<i64>,
        limit: i32,
    ) -> Result<Vec<Request>, FioPeerError> {
        let limit = page_limit(limit)?;
        Ok(self
            .wallet
            .requests_page(
                peer.as_deref(),
                status.map(Into::into),
                after.unwrap_or(0),
                limit,
            )?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Our messages not delivered yet (queued, retrying or failed), oldest
    /// first, each with its `delivery`: those after message `after` (a
    /// `Message.id`; `None`: from the start), at most `limit`.
    #[uniffi::method(default(after = None, limit = 100))]
    pub fn outbox(&self, after: Option<i64>, limit: i32) -> Result<Vec<Message>, FioPeerError> {
        let limit = page_limit(limit)?;
        Ok(self
            .wallet
            .undelivered_page(after.unwrap_or(0), limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Queues our failed message `message_id` to `peer` again: its delivery
    /// becomes `Queued`, and the next sync delivers it (after the peer's
    /// later messages, if those were delivered meanwhile). `NotAllowed`
    /// unless it failed.
    pub fn retry_delivery(&self, peer: String, message_id: String) -> Result<(), FioPeerError> {
        Ok(self.wallet.retry_message(&peer, &message_id)?)
    }

    // ---- the event log ----

    /// Logged events after `after` (`None`: after the last one marked
    /// handled), oldest first, at most `limit`. A local read.
    #[uniffi::method(default(after = None, limit = 100))]
    pub fn events(&self, after: Option<i64>, limit: i32) -> Result<Vec<EventEntry>, FioPeerError> {
        let limit = page_limit(limit)?;
        Ok(self
            .wallet
            .events(after, limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// [`events`](Self::events), waiting up to `timeout_ms` for the first
    /// one when there is none yet (an empty list when none came). What the
    /// Kotlin Flow and Swift AsyncStream adapters loop on. `cancel` (or
    /// abandoning the call: a cancelled coroutine or task) ends the wait at
    /// once, with `Cancelled`; shutting the wallet down ends it with `Closed`.
    #[uniffi::method(default(after = None, limit = 100, timeout_ms = 30000, cancel = None))]
    pub async fn next_events(
        &self,
        after: Option<i64>,
        limit: i32,
        timeout_ms: i64,
        cancel: Option<Arc<SyncCancel>>,
    ) -> Result<Vec<EventEntry>, FioPeerError> {
        self.check_open()?;
        let limit = page_limit(limit)?;
        let timeout = u64::try_from(timeout_ms)
            .map(Duration::from_millis)
            .map_err(|_| {
                FioPeerError::input("timeout_ms", &timeout_ms.to_string(), "at least 0")
            })?;
        let wallet = self.wallet.clone();
        let closing = self.closing.clone();
        let abandoned = CancelToken::new();
        let _abandoned = CancelOnDrop(abandoned.clone());
        let handle = cancel.map(|c| c.0.clone());
        let cancelled = || FioPeerError::Cancelled {
            detail: "cancelled".into(),
        };
        let events = runtime()?
            .run(async move {
                let by_app = async {
                    match &handle {
                        Some(h) => h.cancelled().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    _ = closing.cancelled() => Err(FioPeerError::closed()),
                    _ = by_app => Err(cancelled()),
                    _ = abandoned.cancelled() => Err(cancelled()),
                    r = wallet.next_events(after, limit, timeout) => Ok(r?),
                }
            })
            .await?;
        Ok(events.into_iter().map(Into::into).collect())
    }

    /// Records that the app has handled every event up to `id`: from then
    /// on `events()` without `after` (and an adapter started without a
    /// cursor) begins after it, in this process and the next. It never
    /// moves back.
    pub fn mark_events_handled(&self, id: i64) -> Result<(), FioPeerError> {
        Ok(self.wallet.mark_events_handled(id)?)
    }

    /// The id of the last event marked handled (0: none).
    pub fn handled_event_id(&self) -> Result<i64, FioPeerError> {
        Ok(self.wallet.handled_events()?)
    }

    pub fn automation(&self) -> Result<AutomationSettings, FioPeerError> {
        Ok(self.wallet.automation()?.into())
    }

    pub fn set_automation(&self, settings: AutomationSettings) -> Result<(), FioPeerError> {
        Ok(self.wallet.set_automation(settings.into())?)
    }

    /// Our inbox URL, once the first sync created it.
    pub fn inbox(&self) -> Result<Option<String>, FioPeerError> {
        Ok(self.wallet.inbox()?.map(|i| i.address))
    }

    // ---- network ----

    /// Delivers the outbox and fetches the inbox (creating and registering
    /// it first when needed). Events go to the listener as it runs.
    #[uniffi::method(default(cancel = None))]
    pub async fn sync(&self, cancel: Option<Arc<SyncCancel>>) -> Result<SyncSummary, FioPeerError> {
        let engine = self.engine.clone();
        let observer = self.events.observer();
        let report = cancellable(&self.closing, cancel, move |token| async move {
            engine.sync(Some(observer), token).await
        })
        .await?;
        Ok((&report).into())
    }

    /// [`sync`](Self::sync) within `options`: a time budget (for a
    /// background window) and a cap on envelopes fetched. A limit reached
    /// is not an error: the summary's `stopped` says which one, and the next
    /// sync goes on where this one stopped.
    #[uniffi::method(default(cancel = None))]
    pub async fn sync_within(
        &self,
        options: SyncOptions,
        cancel: Option<Arc<SyncCancel>>,
    ) -> Result<SyncSummary, FioPeerError> {
        let engine = self.engine.clone();
        let observer = self.events.observer();
        let report = cancellable(&self.closing, cancel, move |token| async move {
            engine
                .sync_within(Some(observer), token, options.into())
                .await
        })
        .await?;
        Ok((&report).into())
    }

    /// Moves our inbox to `relay` (the configured one when `None`): a new
    /// inbox is created and registered, every open channel is told (their
    /// deliveries raise events), and the old one is still fetched until its
    /// relay forgets it. Cancellable like [`sync`](Self::sync).
    #[uniffi::method(default(cancel = None))]
    pub async fn move_inbox(
        &self,
        relay: Option<String>,
        cancel: Option<Arc<SyncCancel>>,
    ) -> Result<SyncSummary, FioPeerError> {
        let engine = self.engine.clone();
        let observer = self.events.observer();
        let report = cancellable(&self.closing, cancel, move |token| async move {
            engine
                .replace_inbox_with(relay, Some(observer), token)
                .await
        })
        .await?;
        Ok((&report).into())
    }

    // ---- push (docs/ffi.md "Push") ----

    /// Registers where the relay pushes to wake this wallet (creating the
    /// inbox first if there is none). Registering the same device again
    /// (same endpoint, or same gateway and token) replaces it: call it at
    /// every app start with the current token. Kept across inbox moves.
    pub async fn register_push(
        &self,
        target: Arc<FioPushTarget>,
    ) -> Result<PushRegistration, FioPeerError> {
        let engine = self.engine.clone();
        let target = target.0.clone();
        let r = cancellable(&self.closing, None, move |token| async move {
            engine.register_push(target, token).await
        })
        .await?;
        Ok(r.into())
    }

    /// The registrations of the wallet's inbox. A local read.
    pub fn push_registrations(&self) -> Result<Vec<PushRegistration>, FioPeerError> {
        self.check_open()?;
        Ok(self
            .engine
            .push_registrations()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Removes a registration from the relay and the wallet; false if the
    /// wallet had none with this id.
    pub async fn remove_push(&self, push_id: String) -> Result<bool, FioPeerError> {
        let engine = self.engine.clone();
        cancellable(&self.closing, None, move |token| async move {
            engine.remove_push(push_id, token).await
        })
        .await
    }

    /// The relay's VAPID public key (base64url, 65 bytes): the
    /// `applicationServerKey` of a Web Push or UnifiedPush subscription.
    pub async fn relay_push_key(&self) -> Result<String, FioPeerError> {
        let engine = self.engine.clone();
        cancellable(&self.closing, None, move |token| async move {
            engine.relay_push_key(token).await
        })
        .await
    }

    /// What a notification extension (iOS Notification Service Extension,
    /// an FCM or UnifiedPush handler) calls when a push arrives: fetches,
    /// receives and commits what waits, within `budget_ms` and at most
    /// `max_messages` envelopes (0: no cap), under the wallet's one-writer
    /// lock, and returns what to show: what came in since the last such call
    /// and is not marked handled, each event once whichever process received
    /// it, at most 50 (`omitted` counts the rest). Nothing is delivered; the
    /// app's next sync sends the replies. A budget that runs out, or another
    /// process syncing the wallet, is not an error (`summary.stopped`); a
    /// fetch that fails after committing something returns what it
    /// committed with `error` set.
    #[uniffi::method(default(max_messages = 0, cancel = None))]
    pub async fn receive_for_notification(
        &self,
        budget_ms: i64,
        max_messages: i64,
        cancel: Option<Arc<SyncCancel>>,
    ) -> Result<NotificationReceive, FioPeerError> {
        if budget_ms <= 0 {
            return Err(FioPeerError::input(
                "budget_ms",
                &budget_ms.to_string(),
                "a positive number of milliseconds",
            ));
        }
        if max_messages < 0 {
            return Err(FioPeerError::input(
                "max_messages",
                &max_messages.to_string(),
                "0 (no cap) or more",
            ));
        }
        let engine = self.engine.clone();
        let budget = Duration::from_millis(budget_ms.unsigned_abs());
        let max = (max_messages > 0).then_some(max_messages.unsigned_abs());
        let r = cancellable(&self.closing, cancel, move |token| async move {
            engine.receive_for_notification(budget, max, token).await
        })
        .await?;
        Ok(r.into())
    }

    /// The FIO public key registered for `fio_address` on chain.
    pub async fn lookup_public_key(&self, fio_address: String) -> Result<String, FioPeerError> {
        let address = FioAddress::parse(&fio_address).ok_or_else(|| {
            FioPeerError::input("fio_address", &fio_address, "Invalid FIO Address")
        })?;
        self.check_open()?;
        let chain = self.engine.chain().clone();
        let key = runtime()?
            .run(async move { chain.fio_public_key(&address).await })
            .await?;
        Ok(key.to_fio_string())
    }
}
