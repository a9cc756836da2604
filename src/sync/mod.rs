//! The sync engine: moves envelopes between the wallet's database and
//! relays over HTTP (docs/protocol.md §4), and keeps our inbox registered on
//! chain.
//!
//! - **Inbox**: fetch → `receive_batch` (one commit per batch) → ack. The
//!   ack follows the commit, so a crash in between fetches the batch again
//!   and the wallet's replay guard drops what it already has: effects happen
//!   once, nothing is lost.
//! - **Outbox**: every outgoing message has an outbox row from the moment it
//!   was written (`wallet::outbox`). Delivery posts it to the peer's inbox
//!   (the channel's, a return address, or FIB/URL on chain), in order per
//!   peer, and marks it delivered on 202; failures are retried with
//!   exponential backoff.
//! - **Own inbox**: created on a relay once, its URL registered with
//!   addaddress, and the registration checked again from time to time.
//!
//! Everything runs on the chain client's runtime, so the async methods can
//! be awaited from any executor and the `_blocking` ones called from any
//! thread.

mod destination;
mod push;

pub use destination::{is_public, public_only_resolver, refused, Refused};
pub use push::{push_identity, Notice, NotificationReceive, PushRegistration, PushTarget};

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::chain::client::{describe_http, read_capped};
use crate::chain::{inbox_entry, ChainClient, ChainError, ChainId, NetRuntime};

/// Largest relay answer read for a page of envelopes (500 envelopes of at
/// most 8 KiB, JSON-escaped) and for anything else.
const PAGE_BODY: usize = 16 << 20;
const SMALL_BODY: usize = 64 << 10;
use crate::protocol::{ErrorKind, FioAddress, InboxLocation};
use crate::wallet::{
    now_ms, DeliveryOutcome, Destination, OutboxItem, OwnInbox, Received, Wallet, WalletError,
};

/// How the engine behaves; the defaults suit a phone.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Relay base URL (`https://relay.example`) to create our inbox on when
    /// the wallet has none. Without it, [`SyncEngine::sync`] only delivers.
    pub relay: Option<String>,
    /// Envelopes per fetch (the relay allows 1–500).
    pub fetch_batch: u32,
    /// Long-poll time of the first fetch of a sync (0–30 s).
    pub long_poll: Duration,
    /// Peers delivered to at the same time (each peer's envelopes in order).
    pub deliver_concurrency: usize,
    /// First retry delay; doubled per attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How often a sync checks that the chain still maps FIB/URL to our inbox.
    pub registration_check: Duration,
    /// `max_fee` of addaddress in SUF (the fee is 0 while bundles last).
    pub max_fee: i64,
    /// Timeout of one relay request (a long poll gets this on top).
    pub timeout: Duration,
    /// A delivery that failed this many times becomes failed (the user
    /// may retry it).
    pub max_delivery_attempts: u32,
    /// A delivery still failing this long after it was queued becomes
    /// failed.
    pub max_delivery_age: Duration,
    /// Development only (the devnet, tests): lets peer deliveries go to
    /// `http://` and `ip:port` inboxes and to loopback, private,
    /// link-local and other non-public addresses. Off, a peer's inbox must
    /// be `https` on a public address, checked again on every address the
    /// name resolves to (docs/protocol.md §2.9).
    pub allow_insecure_destinations: bool,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            relay: None,
            fetch_batch: 500,
            long_poll: Duration::ZERO,
            deliver_concurrency: 8,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(3600),
            registration_check: Duration::from_secs(24 * 3600),
            max_fee: 800_000_000_000,
            timeout: Duration::from_secs(20),
            max_delivery_attempts: 30,
            max_delivery_age: Duration::from_secs(7 * 24 * 3600),
            allow_insecure_destinations: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The relay answered with an error (docs/protocol.md §4.2).
    #[error("relay answered {status}: {message}")]
    Relay { status: u16, message: String },
    /// The relay could not be reached.
    #[error("relay unreachable: {0}")]
    Transport(String),
    /// The wallet has no inbox and no relay is configured to create one.
    #[error("the wallet has no inbox; configure a relay to create one")]
    NoInbox,
    /// An inbox move without a relay to move to.
    #[error("no relay is configured to create the inbox on")]
    NoRelay,
    #[error("cancelled")]
    Cancelled,
    /// Another sync of this wallet ran (in this process or another one:
    /// an app, its background job, its notification extension) for as long
    /// as this call could wait; nothing was done.
    #[error("another sync of this wallet is running")]
    Busy,
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A relay that is not an http(s) URL.
    #[error("{0:?} is not an http(s) URL")]
    InvalidRelay(String),
    /// An `http://` relay for a mainnet or testnet wallet without
    /// `allow_insecure_destinations`.
    #[error("{0:?} is http: a mainnet or testnet wallet's relay must be https")]
    RelayNotHttps(String),
}

/// Cancels a running sync between steps, and ends its waits for a relay's
/// page at once (a long poll can last 30 s); what was committed stays
/// committed (and acked).
#[derive(Clone, Default)]
pub struct CancelToken(Arc<CancelState>);

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: tokio::sync::Notify,
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }
    /// Resolves once [`cancel`](Self::cancel) was called.
    pub async fn cancelled(&self) {
        let notified = self.0.notify.notified();
        tokio::pin!(notified);
        // Registered before the check, so a cancel in between is not missed.
        notified.as_mut().enable();
        if self.is_cancelled() {
            return;
        }
        notified.await;
    }
}

/// The token a bounded sync runs with: cancelled by the app's token, or
/// when the time budget runs out (then `fired` says so, and the sync ends
/// with `Ok` and [`SyncStop::Budget`] instead of `Cancelled`).
struct Budget {
    token: CancelToken,
    fired: Arc<AtomicBool>,
    timer: tokio::task::JoinHandle<()>,
}

impl Budget {
    fn start(rt: &NetRuntime, cancel: &CancelToken, budget: Option<Duration>) -> Budget {
        let token = CancelToken::new();
        if cancel.is_cancelled() {
            token.cancel();
        }
        let fired = Arc::new(AtomicBool::new(false));
        let timer = {
            let (token, fired, cancel) = (token.clone(), fired.clone(), cancel.clone());
            rt.spawn(async move {
                let deadline = async {
                    match budget {
                        Some(b) => tokio::time::sleep(b).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    // The app's cancel wins a tie: it is reported as such.
                    biased;
                    _ = cancel.cancelled() => {}
                    _ = deadline => fired.store(true, Ordering::SeqCst),
                }
                token.cancel();
            })
        };
        Budget {
            token,
            fired,
            timer,
        }
    }

    fn finish(
        self,
        cancel: &CancelToken,
        result: Result<(SyncReport, Result<(), SyncError>), SyncError>,
    ) -> Result<SyncReport, SyncError> {
        self.timer.abort();
        let out_of_time = self.fired.load(Ordering::SeqCst) && !cancel.is_cancelled();
        match result {
            // A step the budget cut short may have ended quietly (a
            // delivery dropped in flight): fired means stopped by it.
            Ok((mut report, Ok(()))) => {
                if out_of_time && report.stopped == SyncStop::Complete {
                    report.stopped = SyncStop::Budget;
                }
                Ok(report)
            }
            Ok((mut report, Err(SyncError::Cancelled))) if out_of_time => {
                report.stopped = SyncStop::Budget;
                Ok(report)
            }
            // Another sync ran for the whole budget.
            Err(SyncError::Busy) => Ok(SyncReport {
                stopped: SyncStop::Busy,
                ..SyncReport::default()
            }),
            Ok((_, Err(e))) | Err(e) => Err(e),
        }
    }
}

/// Where peers write to `inbox`: its URL as the relay gave it when the
/// inbox was created; one that is not an http(s) URL is the relay's fault.
fn inbox_location(inbox: &OwnInbox) -> Result<InboxLocation, SyncError> {
    InboxLocation::parse("URL", &inbox.inbox_url).map_err(|e| SyncError::Relay {
        status: 201,
        message: format!("unusable inbox URL {:?}: {e}", inbox.inbox_url),
    })
}

/// How long an operation waits for another process's sync of the wallet
/// when no time budget bounds it; then it ends with [`SyncError::Busy`].
pub const SYNC_LOCK_WAIT: Duration = Duration::from_secs(30);

/// How often a waiting operation tries the sync lock again.
const SYNC_LOCK_POLL: Duration = Duration::from_millis(20);

/// How an operation waits for the right to run.
struct Turn {
    /// Ends the wait (and the operation) at once.
    stop: Option<CancelToken>,
    /// The app's own cancel: a wait it ends is `Cancelled`, a wait ended
    /// otherwise (the time budget, [`SYNC_LOCK_WAIT`]) is `Busy`.
    app: Option<CancelToken>,
    /// The longest wait (`None`: until `stop`).
    wait: Option<Duration>,
}

impl Turn {
    /// Waits until `stop` or [`SYNC_LOCK_WAIT`]; `stop` is the app's.
    fn cancellable(cancel: Option<CancelToken>) -> Turn {
        Turn {
            app: cancel.clone(),
            stop: cancel,
            wait: Some(SYNC_LOCK_WAIT),
        }
    }
}

/// `op` on the engine once no other operation runs on it, in this process
/// (the engine's mutex) or in another one (the sync lock file beside the
/// database, held until `op` ends): one writer syncs a wallet at a time.
async fn one_at_a_time<T, F, Fut>(e: Arc<Engine>, turn: Turn, op: F) -> Result<T, SyncError>
where
    F: FnOnce(Arc<Engine>) -> Fut,
    Fut: Future<Output = Result<T, SyncError>>,
{
    let wait = async {
        let busy = e.busy.lock().await;
        let file = match e.wallet.path() {
            Some(db) => loop {
                if let Some(file) = crate::store::try_lock_sync(db)
                    .map_err(|s| SyncError::Wallet(WalletError::Store(s)))?
                {
                    break Some(file);
                }
                tokio::time::sleep(SYNC_LOCK_POLL).await;
            },
            None => None,
        };
        Ok::<_, SyncError>((busy, file))
    };
    let limit = async {
        match turn.wait {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let stop = async {
        match &turn.stop {
            Some(c) => c.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let _held = tokio::select! {
        held = wait => held?,
        _ = limit => return Err(SyncError::Busy),
        _ = stop => {
            return Err(if turn.app.as_ref().is_some_and(CancelToken::is_cancelled) {
                SyncError::Cancelled
            } else {
                SyncError::Busy
            })
        }
    };
    if e.wallet.is_closed() {
        return Err(WalletError::Store(crate::store::StoreError::Closed).into());
    }
    op(e.clone()).await
}

/// `fut`, or `SyncError::Cancelled` as soon as `cancel` is cancelled.
async fn unless_cancelled<T>(
    cancel: &CancelToken,
    fut: impl Future<Output = Result<T, SyncError>>,
) -> Result<T, SyncError> {
    tokio::select! {
        r = fut => r,
        _ = cancel.cancelled() => Err(SyncError::Cancelled),
    }
}

/// The longest a fetch may wait on a relay (the relay API's limit).
pub const MAX_LONG_POLL: Duration = Duration::from_secs(30);

/// A relay must be an http(s) URL, and https on mainnet and testnet
/// unless `allow_insecure` (development only).
pub fn check_relay_url(
    relay: &str,
    chain: &ChainId,
    allow_insecure: bool,
) -> Result<(), SyncError> {
    match url::Url::parse(relay) {
        Ok(u) if u.scheme() == "https" => Ok(()),
        Ok(u) if u.scheme() == "http" => {
            if chain.is_public() && !allow_insecure {
                Err(SyncError::RelayNotHttps(relay.to_string()))
            } else {
                Ok(())
            }
        }
        _ => Err(SyncError::InvalidRelay(relay.to_string())),
    }
}

/// Bounds on one sync, for a background window (iOS BGAppRefreshTask's
/// ~30 s, a WorkManager slot). `None`: no bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncLimits {
    /// Wall-clock time the sync may take. When it runs out the sync stops
    /// where it is (in-flight requests are dropped), keeps everything it
    /// committed, and reports [`SyncStop::Budget`].
    pub time_budget: Option<Duration>,
    /// Envelopes fetched at most; then [`SyncStop::MaxMessages`].
    pub max_messages: Option<u64>,
}

/// Why a sync ended without an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncStop {
    /// Everything due was done.
    #[default]
    Complete,
    /// [`SyncLimits::time_budget`] ran out.
    Budget,
    /// [`SyncLimits::max_messages`] were fetched.
    MaxMessages,
    /// Another sync of this wallet (in this process or another one) ran
    /// for the whole time budget (or [`SYNC_LOCK_WAIT`] without one);
    /// nothing was done.
    Busy,
}

/// Which part of a sync is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPhase {
    Registering,
    Fetching,
    Delivering,
}

/// Counts so far, reported after every batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Envelopes fetched from our inbox, and their bytes.
    pub fetched: u64,
    pub fetched_bytes: u64,
    /// Accepted by the engine.
    pub received: u64,
    /// Refused by the engine (FIP-24 errors; an error reply is queued when
    /// the sender was authenticated).
    pub rejected: u64,
    /// Already received before (a fetch after a crash between commit and ack).
    pub duplicates: u64,
    /// Envelopes that wait in the wallet for their sender's key (the chain
    /// was unreachable), fetched now or by an earlier sync; a later sync
    /// receives them.
    pub held: u64,
    /// Fetches from inboxes we moved away from that failed (not fatal).
    pub previous_inbox_failures: u64,
    /// Receiving the held envelopes failed (not fatal; tried next sync).
    pub held_error: Option<String>,
    /// Envelopes acknowledged (deleted on the relay).
    pub acked: u64,
    /// Delivered to peers' inboxes, and their bytes.
    pub delivered: u64,
    pub delivered_bytes: u64,
    /// Delivery attempts that will be retried, and envelopes refused for good.
    pub retrying: u64,
    pub failed: u64,
    /// An addaddress was pushed for our inbox.
    pub registered: bool,
    /// The registration check failed (the chain was unreachable, say); the
    /// sync went on and the check runs again next time.
    pub registration_error: Option<String>,
    /// Why the sync ended: complete, or a limit of [`SyncLimits`].
    pub stopped: SyncStop,
}

impl SyncReport {
    /// Adds the delivery counts of `other` (a delivery that ran beside).
    fn add_deliveries(&mut self, other: &SyncReport) {
        self.delivered += other.delivered;
        self.delivered_bytes += other.delivered_bytes;
        self.retrying += other.retrying;
        self.failed += other.failed;
    }
}

/// Receives progress: the phase and the counts so far. It is called on the
/// engine's network threads: return quickly, and do not call the engine
/// from it (a sync holds the engine until it ends); hand the figures to your
/// own thread or UI instead.
pub trait SyncProgress: Send + Sync {
    fn progress(&self, phase: SyncPhase, report: &SyncReport);
    /// A message was received and committed (its queue item, if it made
    /// one, is in the database). Called after the batch's commit.
    fn received(&self, _received: &Received) {}
    /// A delivery attempt of one of our messages ended; its outcome is
    /// recorded in the database when this is called.
    fn delivered(&self, _peer: &FioAddress, _message_id: &str, _outcome: &DeliveryOutcome) {}
}

impl<F: Fn(SyncPhase, &SyncReport) + Send + Sync> SyncProgress for F {
    fn progress(&self, phase: SyncPhase, report: &SyncReport) {
        self(phase, report)
    }
}

struct Engine {
    wallet: Arc<Wallet>,
    chain: ChainClient,
    /// Our relay (the URL the app configured).
    http: reqwest::Client,
    /// Peers' inboxes (URLs strangers may have chosen): no proxy, and
    /// unless allowed, a resolver that keeps only public addresses.
    peer_http: reqwest::Client,
    config: SyncConfig,
    /// One sync, fetch, delivery or inbox change at a time per engine.
    busy: tokio::sync::Mutex<()>,
}

/// The sync engine of one wallet.
#[derive(Clone)]
pub struct SyncEngine {
    engine: Arc<Engine>,
    rt: NetRuntime,
}

#[derive(Deserialize)]
struct Created {
    inbox_id: String,
    credential: String,
    inbox_url: String,
}

#[derive(Deserialize)]
struct Fetched {
    messages: Vec<FetchedMessage>,
}

#[derive(Deserialize)]
struct Acked {
    deleted: u64,
}

/// Sends a relay request and reads its answer: `expect` with a JSON body of
/// type `T` (and the body's size), or the relay's error.
async fn relay_json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    expect: u16,
    cap: usize,
) -> Result<(T, u64), SyncError> {
    let resp = request
        .send()
        .await
        .map_err(|e| SyncError::Transport(describe_http(&e)))?;
    let status = resp.status().as_u16();
    let body = read_capped(resp, cap).await.map_err(SyncError::Transport)?;
    if status != expect {
        return Err(relay_error(status, &body));
    }
    let value = serde_json::from_slice(&body).map_err(|e| SyncError::Relay {
        status,
        message: format!("unexpected answer: {e}"),
    })?;
    Ok((value, body.len() as u64))
}

#[derive(Deserialize)]
struct FetchedMessage {
    seq: i64,
    envelope: String,
}

/// Held envelopes tried again per sync.
const HELD_PER_SYNC: usize = 500;

/// Adds receive results to the report.
fn count(
    report: &mut SyncReport,
    results: &[Result<Received, WalletError>],
    progress: Option<&dyn SyncProgress>,
) {
    for result in results {
        match result {
            Ok(received) => {
                report.received += 1;
                if let Some(p) = progress {
                    p.received(received);
                }
            }
            Err(WalletError::Rejected { error, .. })
                if error.kind == ErrorKind::InvalidMessageId =>
            {
                report.duplicates += 1
            }
            Err(WalletError::Rejected { .. }) => report.rejected += 1,
            Err(_) => report.held += 1,
        }
    }
}

fn relay_error(status: u16, body: &[u8]) -> SyncError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    SyncError::Relay { status, message }
}

impl SyncEngine {
    /// An engine for `wallet`, looking peers up through `chain` and running
    /// on its runtime.
    pub fn new(
        wallet: Arc<Wallet>,
        chain: ChainClient,
        config: SyncConfig,
    ) -> Result<SyncEngine, SyncError> {
        if !(1..=500).contains(&config.fetch_batch) {
            return Err(SyncError::Config("fetch_batch must be 1–500".into()));
        }
        if config.long_poll > MAX_LONG_POLL {
            return Err(SyncError::Config("long_poll must be at most 30 s".into()));
        }
        if let Some(relay) = &config.relay {
            check_relay_url(
                relay,
                &chain.config().chain_id,
                config.allow_insecure_destinations,
            )?;
        }
        let http = crate::chain::client::http_client(config.timeout).map_err(SyncError::Config)?;
        let mut peer_http = crate::chain::client::http_client_builder(config.timeout)
            .map_err(SyncError::Config)?
            .no_proxy();
        if let Some(resolver) = destination::resolver(config.allow_insecure_destinations) {
            peer_http = peer_http.dns_resolver(resolver);
        }
        let peer_http = peer_http
            .build()
            .map_err(|e| SyncError::Config(e.to_string()))?;
        let rt = chain.runtime().clone();
        Ok(SyncEngine {
            engine: Arc::new(Engine {
                wallet,
                chain,
                http,
                peer_http,
                config: SyncConfig {
                    deliver_concurrency: config.deliver_concurrency.max(1),
                    ..config
                },
                busy: tokio::sync::Mutex::new(()),
            }),
            rt,
        })
    }

    /// Runs `op` on the engine's runtime, one operation at a time, waiting
    /// for the engine only until `cancel` is cancelled.
    async fn exclusive<T, F, Fut>(&self, turn: Turn, op: F) -> Result<T, SyncError>
    where
        F: FnOnce(Arc<Engine>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, SyncError>> + Send + 'static,
        T: Send + 'static,
    {
        self.rt
            .run(one_at_a_time(self.engine.clone(), turn, op))
            .await
    }

    /// [`exclusive`](Self::exclusive), blocking the calling thread.
    fn exclusive_blocking<T, F, Fut>(&self, turn: Turn, op: F) -> Result<T, SyncError>
    where
        F: FnOnce(Arc<Engine>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, SyncError>> + Send + 'static,
        T: Send + 'static,
    {
        self.rt
            .block_on(one_at_a_time(self.engine.clone(), turn, op))
    }

    pub fn wallet(&self) -> &Arc<Wallet> {
        &self.engine.wallet
    }

    pub fn chain(&self) -> &ChainClient {
        &self.engine.chain
    }

    /// Our inbox, created on the configured relay if the wallet has none.
    pub async fn ensure_inbox(&self) -> Result<OwnInbox, SyncError> {
        self.exclusive(Turn::cancellable(None), |e| async move {
            e.ensure_inbox().await
        })
        .await
    }

    /// Registers our inbox URL as FIB/URL unless the chain already maps it
    /// (`force`: push anyway). True when an addaddress was pushed.
    pub async fn register_inbox(&self, force: bool) -> Result<bool, SyncError> {
        self.exclusive(Turn::cancellable(None), move |e| async move {
            e.register_inbox(force).await
        })
        .await
    }

    /// [`register_inbox`](Self::register_inbox) for callers without an async runtime.
    pub fn register_inbox_blocking(&self, force: bool) -> Result<bool, SyncError> {
        self.exclusive_blocking(Turn::cancellable(None), move |e| async move {
            e.register_inbox(force).await
        })
    }

    /// Fetches, receives, commits and acks everything in our inbox.
    pub async fn fetch(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: CancelToken,
    ) -> Result<SyncReport, SyncError> {
        self.exclusive(Turn::cancellable(Some(cancel.clone())), |e| async move {
            let mut report = SyncReport::default();
            e.fetch(&mut report, progress.as_deref(), &cancel, None)
                .await?;
            Ok(report)
        })
        .await
    }

    /// Delivers every due envelope of the outbox.
    pub async fn deliver(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: CancelToken,
    ) -> Result<SyncReport, SyncError> {
        self.exclusive(Turn::cancellable(Some(cancel.clone())), |e| async move {
            let mut report = SyncReport::default();
            e.deliver(&mut report, progress.as_deref(), &cancel).await?;
            Ok(report)
        })
        .await
    }

    /// One full sync: delivery, and beside it the inbox creation and
    /// registration check when due and the fetch; then delivery of the
    /// replies the fetch produced. A relay failure of the fetch is returned
    /// after the deliveries were made and recorded.
    pub async fn sync(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: CancelToken,
    ) -> Result<SyncReport, SyncError> {
        self.sync_within(progress, cancel, SyncLimits::default())
            .await
    }

    /// [`sync`](Self::sync) within `limits`: when one is reached the sync
    /// ends with `Ok`, what it did so far, and [`SyncReport::stopped`]
    /// saying which. The time budget counts from this call, waiting for
    /// another sync included.
    pub async fn sync_within(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: CancelToken,
        limits: SyncLimits,
    ) -> Result<SyncReport, SyncError> {
        let budget = Budget::start(&self.rt, &cancel, limits.time_budget);
        let token = budget.token.clone();
        // A sync waiting for another one stops waiting when cancelled, and
        // is `Busy` when its budget (or the longest wait) ran out first.
        let turn = Turn {
            stop: Some(token.clone()),
            app: Some(cancel.clone()),
            wait: limits.time_budget.map_or(Some(SYNC_LOCK_WAIT), |_| None),
        };
        let result = self
            .exclusive(turn, move |e| async move {
                let mut report = SyncReport::default();
                let r = e
                    .sync(
                        &mut report,
                        progress.as_deref(),
                        &token,
                        limits.max_messages,
                    )
                    .await;
                Ok((report, r))
            })
            .await;
        budget.finish(&cancel, result)
    }

    /// [`sync`](Self::sync) for callers without an async runtime.
    pub fn sync_blocking(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: CancelToken,
    ) -> Result<SyncReport, SyncError> {
        self.exclusive_blocking(Turn::cancellable(Some(cancel.clone())), |e| async move {
            let mut report = SyncReport::default();
            e.sync(&mut report, progress.as_deref(), &cancel, None)
                .await
                .map(|()| report)
        })
    }

    /// Moves our inbox to `relay` (the configured one when `None`): a new
    /// inbox is created and registered on chain, and every open channel is
    /// told the new location with peer_update_com_data_request, delivered
    /// at once. The old inbox is still fetched by every sync (until its
    /// relay answers 401), so what peers sent there is not lost. Also the
    /// way out when the relay has lost our inbox (fetches answer 401).
    pub async fn replace_inbox(&self, relay: Option<String>) -> Result<SyncReport, SyncError> {
        self.replace_inbox_with(relay, None, CancelToken::new())
            .await
    }

    /// [`replace_inbox`](Self::replace_inbox), reporting the deliveries to
    /// `progress`; `cancel` stops the move between steps (and its wait for
    /// a running sync). Once the new inbox is created, the old one stays
    /// fetched and the updates wait in the outbox, so a cancel loses nothing.
    pub async fn replace_inbox_with(
        &self,
        relay: Option<String>,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: CancelToken,
    ) -> Result<SyncReport, SyncError> {
        self.exclusive(Turn::cancellable(Some(cancel.clone())), |e| async move {
            e.replace_inbox(relay, progress.as_deref(), &cancel).await
        })
        .await
    }

    /// [`replace_inbox`](Self::replace_inbox) for callers without an async runtime.
    pub fn replace_inbox_blocking(&self, relay: Option<String>) -> Result<SyncReport, SyncError> {
        let cancel = CancelToken::new();
        self.exclusive_blocking(Turn::cancellable(None), |e| async move {
            e.replace_inbox(relay, None, &cancel).await
        })
    }
}

impl Engine {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Wallet) -> Result<T, WalletError> + Send + 'static,
    ) -> Result<T, SyncError> {
        let wallet = self.wallet.clone();
        match tokio::task::spawn_blocking(move || f(&wallet)).await {
            Ok(r) => Ok(r?),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    async fn sync(
        self: &Arc<Self>,
        report: &mut SyncReport,
        progress: Option<&dyn SyncProgress>,
        cancel: &CancelToken,
        max_messages: Option<u64>,
    ) -> Result<(), SyncError> {
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        log::debug!("sync of {} begins", self.wallet.fio_address());
        // Delivery runs beside the registration check and the fetch: our
        // own relay or the chain being down must not hold up what we send,
        // and a peer's inbox that never answers must not keep us from our
        // own (a budgeted sync would never fetch again).
        let mut sent = SyncReport::default();
        let before = report.received + report.rejected;
        let (delivered, received) = tokio::join!(
            self.deliver(&mut sent, progress, cancel),
            self.register_and_fetch(report, progress, cancel, max_messages),
        );
        report.add_deliveries(&sent);
        received?;
        delivered?;
        // Replies the fetch produced go out now.
        if report.received + report.rejected > before {
            self.deliver(report, progress, cancel).await?;
        }
        log::info!(
            "sync: {} received, {} rejected, {} delivered, {} retrying, {} failed",
            report.received,
            report.rejected,
            report.delivered,
            report.retrying,
            report.failed
        );
        Ok(())
    }

    /// The inbox half of a sync: creation and registration check when due,
    /// then the fetch.
    async fn register_and_fetch(
        self: &Arc<Self>,
        report: &mut SyncReport,
        progress: Option<&dyn SyncProgress>,
        cancel: &CancelToken,
        max_messages: Option<u64>,
    ) -> Result<(), SyncError> {
        let own = self.blocking(|w| w.own_inbox()).await?;
        if own.is_none() && self.config.relay.is_none() {
            return Ok(());
        }
        // The last check's time is in the database: a cold start (a
        // background job, an extension) does not check again before it is due.
        let due = own.as_ref().and_then(|i| i.checked_at).is_none_or(|at| {
            let age = crate::wallet::now().saturating_sub(at);
            age < 0 || age as u64 >= self.config.registration_check.as_secs()
        });
        let registered_before = own.and_then(|i| i.registered_at).is_some();
        if due || !registered_before {
            if cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            if let Some(p) = progress {
                p.progress(SyncPhase::Registering, report);
            }
            // Both end at once when cancelled (or out of budget): an
            // inbox created but not stored is never used, and a pushed
            // registration not recorded is found by the next check.
            unless_cancelled(cancel, self.ensure_inbox()).await?;
            // An unreachable chain must not stop messages: the check runs
            // again next sync.
            match unless_cancelled(cancel, self.register_inbox(false)).await {
                Ok(pushed) => report.registered = pushed,
                Err(SyncError::Chain(e)) => {
                    log::warn!("inbox registration check failed: {e}");
                    report.registration_error = Some(e.to_string())
                }
                Err(e) => return Err(e),
            }
        }
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        // After an inbox move (here or by another process), the push
        // registrations follow it.
        unless_cancelled(cancel, self.carry_push_registrations()).await?;
        self.fetch(report, progress, cancel, max_messages).await
    }

    async fn ensure_inbox(&self) -> Result<OwnInbox, SyncError> {
        if let Some(inbox) = self.blocking(|w| w.own_inbox()).await? {
            return Ok(inbox);
        }
        let relay = self.config.relay.clone().ok_or(SyncError::NoInbox)?;
        self.create_inbox(&relay).await
    }

    /// Creates an inbox on `relay` and makes it ours.
    async fn create_inbox(&self, relay: &str) -> Result<OwnInbox, SyncError> {
        let url = format!("{}/v1/inboxes", relay.trim_end_matches('/'));
        let (c, _): (Created, _) = relay_json(self.http.post(&url), 201, SMALL_BODY).await?;
        let inbox = OwnInbox {
            relay: relay.to_string(),
            inbox_id: c.inbox_id.clone(),
            credential: c.credential.clone(),
            inbox_url: c.inbox_url.clone(),
            registered_at: None,
            registered_tx: None,
            checked_at: None,
        };
        let stored = inbox.clone();
        self.blocking(move |w| w.set_own_inbox(&stored)).await?;
        Ok(inbox)
    }

    async fn replace_inbox(
        self: &Arc<Self>,
        relay: Option<String>,
        progress: Option<&dyn SyncProgress>,
        cancel: &CancelToken,
    ) -> Result<SyncReport, SyncError> {
        let relay = relay
            .or_else(|| self.config.relay.clone())
            .ok_or(SyncError::NoRelay)?;
        check_relay_url(
            &relay,
            &self.chain.config().chain_id,
            self.config.allow_insecure_destinations,
        )?;
        let mut report = SyncReport::default();
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        // The old inbox becomes a previous inbox, still fetched by every
        // sync: whatever happens next, nothing sent to either is lost.
        let inbox = self.create_inbox(&relay).await?;
        let location = inbox_location(&inbox)?;
        // Queued in the outbox before anything can fail.
        self.blocking(move |w| {
            for ch in w.channels()? {
                if ch.state == crate::wallet::ChannelState::Open {
                    w.update_com_data(ch.peer.as_str(), Some(location.clone()), false)?;
                }
            }
            Ok(())
        })
        .await?;
        // Not registered yet (registered_at is empty): a failure here is
        // retried by the next sync's registration check.
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        match self.register_inbox(true).await {
            Ok(pushed) => report.registered = pushed,
            Err(SyncError::Chain(e)) => report.registration_error = Some(e.to_string()),
            Err(e) => return Err(e),
        }
        unless_cancelled(cancel, self.carry_push_registrations()).await?;
        self.deliver(&mut report, progress, cancel).await?;
        Ok(report)
    }

    async fn register_inbox(&self, force: bool) -> Result<bool, SyncError> {
        let inbox = self
            .blocking(|w| w.own_inbox())
            .await?
            .ok_or(SyncError::NoInbox)?;
        let location = inbox_location(&inbox)?;
        let me = self.blocking(|w| Ok(w.fio_address())).await?;
        self.chain.invalidate(&me);
        let current = self.chain.inbox(&me).await?;
        if current.as_ref() == Some(&location) && !force {
            if inbox.registered_at.is_none() {
                self.blocking(|w| w.record_registration(None)).await?;
            } else {
                self.blocking(|w| w.record_registration_check()).await?;
            }
            return Ok(false);
        }
        let key = self.blocking(|w| Ok(w.private_key()?)).await?;
        let pushed = self
            .chain
            .add_pub_address(
                &key,
                me.as_str(),
                vec![inbox_entry(&location)],
                self.config.max_fee,
            )
            .await?;
        drop(key);
        self.chain.invalidate(&me);
        let id = pushed.transaction_id.clone();
        self.blocking(move |w| w.record_registration(Some(&id)))
            .await?;
        Ok(true)
    }

    async fn get_page(
        &self,
        inbox: &OwnInbox,
        after: i64,
        wait: Duration,
        limit: u32,
    ) -> Result<(Vec<FetchedMessage>, u64), SyncError> {
        let url = format!(
            "{}/v1/inboxes/{}/messages?after={after}&limit={limit}&wait={}",
            inbox.relay.trim_end_matches('/'),
            inbox.inbox_id,
            wait.as_secs()
        );
        let request = self
            .http
            .get(&url)
            .bearer_auth(&inbox.credential)
            .timeout(self.config.timeout + wait);
        let (f, bytes): (Fetched, _) = relay_json(request, 200, PAGE_BODY).await?;
        Ok((f.messages, bytes))
    }

    async fn ack(&self, inbox: &OwnInbox, up_to: i64) -> Result<u64, SyncError> {
        let url = format!(
            "{}/v1/inboxes/{}/ack",
            inbox.relay.trim_end_matches('/'),
            inbox.inbox_id
        );
        let request = self
            .http
            .post(&url)
            .bearer_auth(&inbox.credential)
            .json(&serde_json::json!({ "up_to": up_to }));
        let (a, _): (Acked, _) = relay_json(request, 200, SMALL_BODY).await?;
        Ok(a.deleted)
    }

    /// Fetch → receive → commit → ack, page by page. The next page is
    /// fetched while the current one is received.
    /// Our inbox, then the ones we moved away from.
    async fn fetch(
        self: &Arc<Self>,
        report: &mut SyncReport,
        progress: Option<&dyn SyncProgress>,
        cancel: &CancelToken,
        max_messages: Option<u64>,
    ) -> Result<(), SyncError> {
        self.fetch_polling(
            report,
            progress,
            cancel,
            max_messages,
            self.config.long_poll,
        )
        .await
    }

    /// [`fetch`](Self::fetch) whose first page of our current inbox waits
    /// up to `long_poll` (a previous inbox is never waited on: it gets no
    /// new peers, and waiting there would hold up the current one).
    async fn fetch_polling(
        self: &Arc<Self>,
        report: &mut SyncReport,
        progress: Option<&dyn SyncProgress>,
        cancel: &CancelToken,
        max_messages: Option<u64>,
        long_poll: Duration,
    ) -> Result<(), SyncError> {
        let inbox = self
            .blocking(|w| w.own_inbox())
            .await?
            .ok_or(SyncError::NoInbox)?;
        // Held envelopes cannot stop the fetch: their failure is reported.
        if let Err(e) = self.receive_held(report, progress).await {
            report.held_error = Some(e.to_string());
        }
        // Previous inboxes first: after a move a peer's older messages are
        // there and its newer ones in our current inbox, so this order is
        // the peer's (a request arrives before its cancel). One whose relay
        // fails does not keep us from the current inbox.
        for old in self.blocking(|w| w.previous_inboxes()).await? {
            let id = old.inbox_id.clone();
            match self
                .fetch_inbox(
                    Arc::new(old),
                    report,
                    progress,
                    cancel,
                    max_messages,
                    Duration::ZERO,
                )
                .await
            {
                Ok(()) => {}
                // The relay no longer has it (deleted, or lost with its data).
                Err(SyncError::Relay { status: 401, .. }) => {
                    self.blocking(move |w| w.forget_previous_inbox(&id)).await?
                }
                // Its relay is down: our own inbox matters more; next time.
                Err(SyncError::Relay { .. }) | Err(SyncError::Transport(_)) => {
                    report.previous_inbox_failures += 1
                }
                Err(e) => return Err(e),
            }
            if report.stopped != SyncStop::Complete {
                return Ok(());
            }
        }
        self.fetch_inbox(
            Arc::new(inbox),
            report,
            progress,
            cancel,
            max_messages,
            long_poll,
        )
        .await
    }

    async fn fetch_inbox(
        self: &Arc<Self>,
        inbox: Arc<OwnInbox>,
        report: &mut SyncReport,
        progress: Option<&dyn SyncProgress>,
        cancel: &CancelToken,
        max_messages: Option<u64>,
        long_poll: Duration,
    ) -> Result<(), SyncError> {
        let mut after = 0i64;
        // Envelopes a page may ask for: the batch, or what the limit leaves.
        let batch = |report: &SyncReport| -> u32 {
            let left = max_messages.map_or(u64::MAX, |m| m.saturating_sub(report.fetched));
            left.min(u64::from(self.config.fetch_batch)) as u32
        };
        if batch(report) == 0 {
            report.stopped = SyncStop::MaxMessages;
            return Ok(());
        }
        // The first page may be a long poll: a cancel ends the wait.
        let mut page =
            unless_cancelled(cancel, self.get_page(&inbox, 0, long_poll, batch(report))).await;
        loop {
            let (messages, bytes) = page?;
            if messages.is_empty() {
                break;
            }
            // seqs must grow: a relay that repeats or reorders them could
            // make this loop forever or ack what was not received.
            let mut last = after;
            for m in &messages {
                if m.seq <= last {
                    return Err(SyncError::Relay {
                        status: 200,
                        message: format!("seq {} after {last}: not increasing", m.seq),
                    });
                }
                last = m.seq;
            }
            after = last;
            report.fetched += messages.len() as u64;
            report.fetched_bytes += bytes;
            // Start fetching the next page now; receive meanwhile.
            let next = {
                let (engine, inbox, limit) = (self.clone(), inbox.clone(), batch(report).max(1));
                tokio::spawn(
                    async move { engine.get_page(&inbox, last, Duration::ZERO, limit).await },
                )
            };
            let envelopes: Vec<String> = messages.into_iter().map(|m| m.envelope).collect();
            // One transaction: received, rejected, or held for a key lookup.
            let results = self
                .blocking(move |w| {
                    let refs: Vec<&[u8]> = envelopes.iter().map(|e| e.as_bytes()).collect();
                    w.receive_batch_holding(&refs)
                })
                .await;
            let results = match results {
                Ok(r) => r,
                Err(e) => {
                    next.abort();
                    return Err(e);
                }
            };
            count(report, &results, progress);
            // Everything up to `last` is in the database now.
            report.acked += match self.ack(&inbox, last).await {
                Ok(n) => n,
                Err(e) => {
                    next.abort();
                    return Err(e);
                }
            };
            if let Some(p) = progress {
                p.progress(SyncPhase::Fetching, report);
            }
            if cancel.is_cancelled() {
                next.abort();
                return Err(SyncError::Cancelled);
            }
            if batch(report) == 0 {
                next.abort();
                report.stopped = SyncStop::MaxMessages;
                return Ok(());
            }
            let prefetch = next.abort_handle();
            page = match unless_cancelled(cancel, async { Ok(next.await) }).await {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                Err(cancelled) => {
                    prefetch.abort();
                    return Err(cancelled);
                }
            };
        }
        Ok(())
    }

    /// Envelopes held for a key lookup, tried again.
    async fn receive_held(
        &self,
        report: &mut SyncReport,
        progress: Option<&dyn SyncProgress>,
    ) -> Result<(), SyncError> {
        let results = self.blocking(|w| w.receive_held(HELD_PER_SYNC)).await?;
        count(report, &results, progress);
        Ok(())
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let exp = self
            .config
            .retry_base
            .saturating_mul(1u32 << attempts.min(20))
            .min(self.config.retry_max);
        // Up to 25 % jitter, so peers that failed together do not retry together.
        let mut r = [0u8; 2];
        crate::crypto::random_bytes(&mut r);
        exp + exp.mul_f64(u16::from_le_bytes(r) as f64 / 65535.0 * 0.25)
    }

    /// One delivery attempt; a failure that would be retried becomes
    /// `Failed` once the delivery is out of attempts or too old.
    async fn deliver_one(&self, item: OutboxItem) -> DeliveryOutcome {
        let (attempts, queued_at) = (item.attempts, item.queued_at);
        let outcome = self.attempt(item).await;
        let DeliveryOutcome::Retry { error, .. } = &outcome else {
            return outcome;
        };
        let tried = attempts.saturating_add(1);
        let age = Duration::from_millis(now_ms().saturating_sub(queued_at).max(0) as u64);
        if tried >= self.config.max_delivery_attempts || age >= self.config.max_delivery_age {
            return DeliveryOutcome::Failed {
                error: format!(
                    "gave up after {tried} attempts over {} min: {error}",
                    age.as_secs() / 60
                ),
            };
        }
        outcome
    }

    async fn attempt(&self, item: OutboxItem) -> DeliveryOutcome {
        let now = now_ms();
        let retry =
            |error: String, ask_chain: bool, after: Option<Duration>| DeliveryOutcome::Retry {
                error,
                // A relay's Retry-After is obeyed up to our own longest wait.
                at: now.saturating_add(
                    after
                        .map(|a| a.min(self.config.retry_max))
                        .unwrap_or_else(|| self.backoff(item.attempts))
                        .as_millis()
                        .min(i64::MAX as u128) as i64,
                ),
                ask_chain,
            };
        let allow = self.config.allow_insecure_destinations;
        let (location, from_chain) = match &item.destination {
            Destination::Inbox(l) => (l.clone(), false),
            Destination::Chain => match self.chain.inbox(&item.peer).await {
                Ok(Some(l)) => (l, true),
                Ok(None) => {
                    return retry(
                        format!("{} has no inbox registered on chain", item.peer),
                        true,
                        None,
                    )
                }
                Err(e) => return retry(e.to_string(), true, None),
            },
        };
        // A refused return address may be the sender's choice, not the
        // peer's: ask the chain next time. What the chain itself maps is
        // the peer's own choice; retrying cannot change it.
        let refused = |r: destination::Refused| {
            let error = format!("destination refused: {r}");
            if from_chain {
                DeliveryOutcome::Failed { error }
            } else {
                retry(error, true, None)
            }
        };
        let url = match destination::check(&location, allow) {
            Ok(url) => url,
            Err(r) => return refused(r),
        };
        let resp = self
            .peer_http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(item.envelope)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                if let Some(r) = destination::refused(&e) {
                    return refused(r);
                }
                return retry(
                    format!("{}: {}", location.address, describe_http(&e)),
                    false,
                    None,
                );
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = read_capped(resp, SMALL_BODY).await.unwrap_or_default();
        match status {
            // Only the relay's own answer counts as stored (docs/protocol.md
            // §4.2): 202 with its seq. Anything else 2xx is somebody else.
            202 => match serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["seq"].as_i64())
            {
                Some(seq) => DeliveryOutcome::Delivered { seq },
                None => retry(
                    format!("{}: 202 without a seq: not an inbox", location.address),
                    true,
                    None,
                ),
            },
            // The inbox is gone: ask the chain where the peer's inbox is now.
            404 | 410 => {
                self.chain.invalidate(&item.peer);
                retry(relay_error(status, &body).to_string(), true, None)
            }
            // The envelope itself was refused: retrying cannot help.
            400 | 413 | 415 => DeliveryOutcome::Failed {
                error: relay_error(status, &body).to_string(),
            },
            _ => retry(relay_error(status, &body).to_string(), false, retry_after),
        }
    }

    /// Delivers due envelopes in order per peer: a peer's later envelopes
    /// wait while an earlier one is waiting for its retry.
    async fn deliver(
        self: &Arc<Self>,
        report: &mut SyncReport,
        progress: Option<&dyn SyncProgress>,
        cancel: &CancelToken,
    ) -> Result<(), SyncError> {
        const PAGE: usize = 1000;
        let mut blocked: HashSet<String> = HashSet::new();
        let mut after_row = 0i64;
        loop {
            if cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            let page = self
                .blocking(move |w| w.outbox_pending(after_row, PAGE))
                .await?;
            let Some(last) = page.last() else { break };
            after_row = last.row;
            let full = page.len() == PAGE;
            let now = now_ms();
            // Per peer, in row order, the due prefix.
            let mut groups: HashMap<String, Vec<OutboxItem>> = HashMap::new();
            let mut order: Vec<String> = Vec::new();
            for item in page {
                let peer = item.peer.as_str().to_string();
                if blocked.contains(&peer) {
                    continue;
                }
                if item.next_attempt_at > now {
                    blocked.insert(peer);
                    continue;
                }
                if !groups.contains_key(&peer) {
                    order.push(peer.clone());
                }
                groups.entry(peer).or_default().push(item);
            }
            let semaphore = Arc::new(tokio::sync::Semaphore::new(self.config.deliver_concurrency));
            let mut tasks = tokio::task::JoinSet::new();
            for peer in order {
                let items = groups.remove(&peer).unwrap_or_default();
                let engine = self.clone();
                let semaphore = semaphore.clone();
                let cancel = cancel.clone();
                tasks.spawn(async move {
                    let _permit = semaphore.acquire_owned().await;
                    let mut outcomes = Vec::new();
                    let mut stopped = false;
                    for item in items {
                        if cancel.is_cancelled() {
                            break;
                        }
                        let (row, bytes) = (item.row, item.envelope.len() as u64);
                        let sent = (item.peer.clone(), item.message_id.clone());
                        // Dropped when cancelled (or out of budget): it
                        // stays pending, and a copy the peer got anyway is
                        // dropped by its replay guard.
                        let outcome = tokio::select! {
                            o = engine.deliver_one(item) => o,
                            _ = cancel.cancelled() => break,
                        };
                        let ok = matches!(outcome, DeliveryOutcome::Delivered { .. });
                        outcomes.push((row, bytes, sent, outcome));
                        if !ok {
                            stopped = true;
                            break;
                        }
                    }
                    (peer, stopped, outcomes)
                });
            }
            let mut outcomes = Vec::new();
            let mut delivered = Vec::new();
            while let Some(done) = tasks.join_next().await {
                let (peer, stopped, list) = match done {
                    Ok(x) => x,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                };
                if stopped {
                    blocked.insert(peer.clone());
                }
                for (row, bytes, sent, outcome) in list {
                    match &outcome {
                        DeliveryOutcome::Delivered { .. } => {
                            report.delivered += 1;
                            report.delivered_bytes += bytes;
                        }
                        DeliveryOutcome::Retry { error, .. } => {
                            log::info!("delivery of {} to {peer} will be retried: {error}", sent.1);
                            report.retrying += 1
                        }
                        DeliveryOutcome::Failed { error } => {
                            log::warn!("delivery of {} to {peer} failed: {error}", sent.1);
                            report.failed += 1
                        }
                    }
                    if progress.is_some() {
                        delivered.push((sent, outcome.clone()));
                    }
                    outcomes.push((row, outcome));
                }
            }
            if !outcomes.is_empty() {
                self.blocking(move |w| w.record_deliveries(&outcomes))
                    .await?;
            }
            if let Some(p) = progress {
                for ((peer, message_id), outcome) in &delivered {
                    p.delivered(peer, message_id, outcome);
                }
            }
            if let Some(p) = progress {
                p.progress(SyncPhase::Delivering, report);
            }
            if !full {
                break;
            }
        }
        // A delivery dropped in flight by a cancel ends the call as
        // cancelled, not as a complete sync.
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mainnet_or_testnet_relay_must_be_https_unless_development_allows_http() {
        let devnet = ChainId([7; 32]);
        for chain in [ChainId::MAINNET, ChainId::TESTNET] {
            assert!(matches!(
                check_relay_url("http://relay.example", &chain, false),
                Err(SyncError::RelayNotHttps(r)) if r == "http://relay.example"
            ));
            assert!(check_relay_url("http://relay.example", &chain, true).is_ok());
            assert!(check_relay_url("https://relay.example", &chain, false).is_ok());
        }
        assert!(check_relay_url("http://127.0.0.1:8080", &devnet, false).is_ok());
        for not_http in ["ftp://relay.example", "relay.example", ""] {
            assert!(matches!(
                check_relay_url(not_http, &ChainId::MAINNET, true),
                Err(SyncError::InvalidRelay(_))
            ));
        }
    }
}
