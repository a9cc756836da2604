//! Foreign callbacks: the wallet's event listener and the logger bridge,
//! and the records of the event log.
//!
//! Both callbacks are called on a thread of their own, one per wallet for
//! events and one per process for logs, never on the caller's stack and
//! never while the library holds a lock or runs a future: a callback may
//! call back into the library, and a slow one delays only later callbacks.
//!
//! The listener's events, but a sync's progress, come from the wallet's
//! event log (`crate::wallet::events`) after they are committed: what the
//! listener hears is what `events(after, limit)` reads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use super::records::{QueueEntry, SyncStep, SyncSummary};
use super::FioPeerError;
use crate::sync::{CancelToken, SyncPhase, SyncProgress, SyncReport};
use crate::wallet::{self, EventRecord, Wallet};

/// What happened to a message of ours (or, for `Cancelled`, to a request
/// the peer had sent us).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum MessageStatus {
    /// A failed delivery was put back in line (`retry_delivery`).
    Queued,
    /// The peer's inbox took it and gave it `seq`.
    Delivered { seq: i64 },
    /// Attempt `attempts` failed; the next sync from `next_attempt_at`
    /// (unix milliseconds) tries again.
    Retrying {
        error: String,
        attempts: i32,
        next_attempt_at: i64,
    },
    /// Refused for good by the peer's inbox, or given up on: the user may
    /// retry it (`retry_delivery`).
    Failed { error: String },
    /// The peer returned a status (peer_return_message_status).
    PeerStatus {
        status: String,
        memo: Option<String>,
    },
    /// The peer accepted the request (a funds request: paid).
    Accepted,
    /// The peer rejected the request.
    Rejected,
    /// The peer cancelled a request it had sent us.
    Cancelled,
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageStatus::Queued => write!(f, "queued"),
            MessageStatus::Delivered { seq } => write!(f, "delivered (seq {seq})"),
            MessageStatus::Retrying {
                error, attempts, ..
            } => write!(f, "retrying (attempt {attempts} failed: {error})"),
            MessageStatus::Failed { error } => write!(f, "failed: {error}"),
            MessageStatus::PeerStatus {
                status,
                memo: Some(memo),
            } => write!(f, "peer status {status}: {memo}"),
            MessageStatus::PeerStatus { status, .. } => write!(f, "peer status {status}"),
            MessageStatus::Accepted => write!(f, "accepted"),
            MessageStatus::Rejected => write!(f, "rejected"),
            MessageStatus::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl From<wallet::MessageStatus> for MessageStatus {
    fn from(s: wallet::MessageStatus) -> Self {
        match s {
            wallet::MessageStatus::Queued => MessageStatus::Queued,
            wallet::MessageStatus::Delivered { seq } => MessageStatus::Delivered { seq },
            wallet::MessageStatus::Retrying {
                error,
                attempts,
                next_attempt_at,
            } => MessageStatus::Retrying {
                error,
                attempts: super::records::small(attempts),
                next_attempt_at,
            },
            wallet::MessageStatus::Failed { error } => MessageStatus::Failed { error },
            wallet::MessageStatus::PeerStatus { status, memo } => {
                MessageStatus::PeerStatus { status, memo }
            }
            wallet::MessageStatus::Accepted => MessageStatus::Accepted,
            wallet::MessageStatus::Rejected => MessageStatus::Rejected,
            wallet::MessageStatus::Cancelled => MessageStatus::Cancelled,
        }
    }
}

/// Something the app may want to show.
// Lowered to a buffer at the FFI at once: the size of the variants is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, uniffi::Enum)]
pub enum WalletEvent {
    /// A received message waits in the queue (the entry as it is when the
    /// event is read).
    QueueItemAdded { entry: QueueEntry },
    /// A message changed status; `message_id` is ours for deliveries, peer
    /// statuses, accepts and rejects, and the peer's for a cancel.
    MessageStatusChanged {
        peer: String,
        message_id: String,
        status: MessageStatus,
    },
    /// The FIO address `peer` came with a key that is not the one its
    /// channel had pinned (a transfer, a re-registration): the requests
    /// pending with the old key (`voided`, message ids) are voided, and its
    /// channel request waits in the queue; it is not accepted automatically.
    PeerKeyChanged {
        peer: String,
        previous_key: String,
        new_key: String,
        voided: Vec<String>,
    },
    /// A sync's counts so far (live only: never in the event log).
    SyncProgress {
        step: SyncStep,
        summary: SyncSummary,
    },
}

impl From<wallet::WalletEvent> for WalletEvent {
    fn from(e: wallet::WalletEvent) -> Self {
        match e {
            wallet::WalletEvent::QueueItemAdded { item } => WalletEvent::QueueItemAdded {
                entry: (*item).into(),
            },
            wallet::WalletEvent::MessageStatusChanged {
                peer,
                message_id,
                status,
            } => WalletEvent::MessageStatusChanged {
                peer,
                message_id,
                status: status.into(),
            },
            wallet::WalletEvent::PeerKeyChanged {
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
        }
    }
}

/// One event of the wallet's event log.
#[derive(Clone, Debug, uniffi::Record)]
pub struct EventEntry {
    /// The cursor: increasing, never reused. Pass it as `after` to read
    /// what came next, or to `mark_events_handled`.
    pub id: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    pub event: WalletEvent,
}

impl From<EventRecord> for EventEntry {
    fn from(r: EventRecord) -> Self {
        EventEntry {
            id: r.id,
            created_at: r.created_at,
            event: r.event.into(),
        }
    }
}

/// Implemented by the app to hear of a wallet's events live, in order, on
/// the library's event thread: every event of the log committed by this
/// wallet object after the listener is set, and the syncs' progress. An
/// exception it throws is logged and the next event still comes. To miss
/// nothing across restarts, read the log (`events`, `next_events`).
#[uniffi::export(with_foreign)]
pub trait WalletListener: Send + Sync {
    fn on_event(&self, event: WalletEvent) -> Result<(), FioPeerError>;
}

/// Log events read per step of the feed.
const FEED_PAGE: usize = 256;

/// One wallet's event thread and the listener it calls.
pub(crate) struct EventHub {
    sender: Mutex<Sender<WalletEvent>>,
    listener: Arc<RwLock<Option<Arc<dyn WalletListener>>>>,
}

impl EventHub {
    /// The event thread, and the feed that posts `wallet`'s logged events
    /// to it as they are committed, until `closing`.
    pub(crate) fn new(
        wallet: &Arc<Wallet>,
        closing: &CancelToken,
    ) -> Result<EventHub, FioPeerError> {
        let (sender, receiver) = mpsc::channel::<WalletEvent>();
        let listener: Arc<RwLock<Option<Arc<dyn WalletListener>>>> = Arc::default();
        let current = listener.clone();
        // The thread ends when the wallet and every sync using it are gone.
        std::thread::Builder::new()
            .name("fio-peer-events".into())
            .spawn(move || dispatch(receiver, current))
            .map_err(|e| FioPeerError::Internal {
                detail: format!("cannot start the event thread: {e}"),
            })?;
        // Subscribed before the newest id is read: nothing falls between.
        let mut signal = wallet.subscribe_events();
        let mut last = wallet.last_event_id()?;
        let feed = Arc::downgrade(wallet);
        let posts = sender.clone();
        let closing = closing.clone();
        super::runtime()?.spawn(async move {
            loop {
                tokio::select! {
                    _ = closing.cancelled() => return,
                    changed = signal.changed() => if changed.is_err() { return },
                }
                let Some(wallet) = feed.upgrade() else { return };
                let read = tokio::task::spawn_blocking(move || {
                    let mut out = Vec::new();
                    loop {
                        match wallet.events(Some(last), FEED_PAGE) {
                            Ok(page) if !page.is_empty() => {
                                last = page.last().map_or(last, |e| e.id);
                                out.extend(page);
                            }
                            Ok(_) => return (out, last),
                            Err(e) => {
                                log::warn!("the event feed could not read the log: {e}");
                                return (out, last);
                            }
                        }
                    }
                })
                .await;
                let Ok((events, next)) = read else { return };
                last = next;
                for e in events {
                    if posts.send(WalletEvent::from(e.event)).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(EventHub {
            sender: Mutex::new(sender),
            listener,
        })
    }

    pub(crate) fn set_listener(&self, listener: Option<Arc<dyn WalletListener>>) {
        *self.listener.write().unwrap_or_else(|e| e.into_inner()) = listener;
    }

    /// An observer for one sync, posting its progress to this hub.
    pub(crate) fn observer(&self) -> Arc<dyn SyncProgress> {
        Arc::new(SyncEvents {
            sender: self
                .sender
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        })
    }
}

fn dispatch(events: Receiver<WalletEvent>, listener: Arc<RwLock<Option<Arc<dyn WalletListener>>>>) {
    for event in events {
        // Cloned out, so the listener runs without the lock held.
        let current = listener.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(l) = current {
            if let Err(e) = l.on_event(event) {
                log::warn!("the wallet listener failed: {e}");
            }
        }
    }
}

struct SyncEvents {
    sender: Sender<WalletEvent>,
}

impl SyncProgress for SyncEvents {
    fn progress(&self, phase: SyncPhase, report: &SyncReport) {
        // Only fails when the event thread is gone, i.e. nobody listens.
        let _ = self.sender.send(WalletEvent::SyncProgress {
            step: phase.into(),
            summary: report.into(),
        });
    }
}

// ---- logger bridge ----

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<log::Level> for LogLevel {
    fn from(l: log::Level) -> Self {
        match l {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

impl From<LogLevel> for log::LevelFilter {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// Implemented by the app to receive the library's diagnostics (targets
/// `fio_peer::…`) and those of its HTTP and TLS stack. fio-peer's own
/// records never contain keys, inbox credentials or message content.
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    /// An exception it throws is ignored.
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), FioPeerError>;
}

/// Records waiting for the log thread; more are dropped (counted in the
/// next record) rather than slowing the network threads down.
const LOG_BACKLOG: usize = 1024;

struct Record {
    level: LogLevel,
    target: String,
    message: String,
}

struct Bridge {
    sender: SyncSender<Record>,
    logger: Arc<RwLock<Option<Arc<dyn Logger>>>>,
    dropped: Arc<AtomicU64>,
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let record = Record {
            level: record.level().into(),
            target: record.target().to_string(),
            message: record.args().to_string(),
        };
        if let Err(TrySendError::Full(_)) = self.sender.try_send(record) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) {}
}

static BRIDGE: OnceLock<Result<Bridge, String>> = OnceLock::new();

fn bridge() -> Result<&'static Bridge, FioPeerError> {
    let bridge = BRIDGE.get_or_init(|| {
        let (sender, records) = mpsc::sync_channel::<Record>(LOG_BACKLOG);
        let logger: Arc<RwLock<Option<Arc<dyn Logger>>>> = Arc::default();
        let current = logger.clone();
        let dropped: Arc<AtomicU64> = Arc::default();
        let counted = dropped.clone();
        std::thread::Builder::new()
            .name("fio-peer-log".into())
            .spawn(move || {
                for record in records {
                    let l = current.read().unwrap_or_else(|e| e.into_inner()).clone();
                    if let Some(l) = l {
                        let dropped = counted.swap(0, Ordering::Relaxed);
                        let message = if dropped > 0 {
                            format!("{} ({dropped} earlier records dropped)", record.message)
                        } else {
                            record.message
                        };
                        // Nowhere to report a failing logger but itself.
                        let _ = l.log(record.level, record.target, message);
                    }
                }
            })
            .map_err(|e| format!("cannot start the log thread: {e}"))?;
        Ok(Bridge {
            sender,
            logger,
            dropped,
        })
    });
    bridge.as_ref().map_err(|message| FioPeerError::Internal {
        detail: message.clone(),
    })
}

/// Sends the library's log records at `level` and above to `logger`
/// (`None` stops them). Process-wide; the last call wins. If the process
/// already has another `log` logger (a Rust app's own), records go there
/// instead and this returns `NotAllowed`.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn Logger>>, level: LogLevel) -> Result<(), FioPeerError> {
    let bridge = bridge()?;
    let on = logger.is_some();
    *bridge.logger.write().unwrap_or_else(|e| e.into_inner()) = logger;
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| log::set_logger(bridge).is_ok());
    if !installed {
        return Err(FioPeerError::NotAllowed {
            detail: "another logger is installed in this process".into(),
        });
    }
    log::set_max_level(if on {
        level.into()
    } else {
        log::LevelFilter::Off
    });
    Ok(())
}
