//! Foreign callbacks: the wallet's event listener and the logger bridge.
//!
//! Both are called on a thread of their own, one per wallet for events and
//! one per process for logs, never on the caller's stack and never while
//! the library holds a lock or runs a future: a callback may call back into
//! the library, and a slow one delays only later callbacks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use super::records::{Message, QueueEntry, SyncStep, SyncSummary};
use super::FioPeerError;
use crate::protocol::{Action, FioAddress};
use crate::sync::{SyncPhase, SyncProgress, SyncReport};
use crate::wallet::{DeliveryOutcome, Received};

/// What happened to a message of ours.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MessageStatus {
    /// The peer's inbox took it.
    Delivered,
    /// Not delivered yet; the next sync tries again.
    Retrying { error: String },
    /// Refused for good by the peer's inbox.
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

/// Something the app may want to show.
// Lowered to a buffer at the FFI at once: the size of the variants is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, uniffi::Enum)]
pub enum WalletEvent {
    /// A received message waits in the queue (it is in the database).
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
    /// A sync's counts so far.
    SyncProgress {
        step: SyncStep,
        summary: SyncSummary,
    },
}

/// Implemented by the app to hear of a wallet's events, in order, on the
/// library's event thread. An exception it throws is logged and the next
/// event still comes.
#[uniffi::export(with_foreign)]
pub trait WalletListener: Send + Sync {
    fn on_event(&self, event: WalletEvent) -> Result<(), FioPeerError>;
}

/// One wallet's event thread and the listener it calls.
pub(crate) struct EventHub {
    sender: Mutex<Sender<WalletEvent>>,
    listener: Arc<RwLock<Option<Arc<dyn WalletListener>>>>,
}

impl EventHub {
    pub(crate) fn new() -> Result<EventHub, FioPeerError> {
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
        Ok(EventHub {
            sender: Mutex::new(sender),
            listener,
        })
    }

    pub(crate) fn set_listener(&self, listener: Option<Arc<dyn WalletListener>>) {
        *self.listener.write().unwrap_or_else(|e| e.into_inner()) = listener;
    }

    /// An observer for one sync, posting its events to this hub.
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

impl SyncEvents {
    fn post(&self, event: WalletEvent) {
        // Only fails when the event thread is gone, i.e. nobody listens.
        let _ = self.sender.send(event);
    }
}

impl SyncProgress for SyncEvents {
    fn progress(&self, phase: SyncPhase, report: &SyncReport) {
        self.post(WalletEvent::SyncProgress {
            step: phase.into(),
            summary: report.into(),
        });
    }

    fn received(&self, received: &Received) {
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
            self.post(WalletEvent::MessageStatusChanged {
                peer: m.peer.to_string(),
                message_id: referenced.clone(),
                status,
            });
        }
        if let Some(k) = &received.key_change {
            self.post(WalletEvent::PeerKeyChanged {
                peer: k.peer.to_string(),
                previous_key: k.previous_key.to_fio_string(),
                new_key: k.new_key.to_fio_string(),
                voided: k.voided.clone(),
            });
        }
        if let Some(id) = received.queue_id {
            self.post(WalletEvent::QueueItemAdded {
                entry: QueueEntry {
                    id,
                    peer: m.peer.to_string(),
                    message: Message::from(m.clone()),
                    key_change: received.key_change.as_ref().map(Into::into),
                },
            });
        }
    }

    fn delivered(&self, peer: &FioAddress, message_id: &str, outcome: &DeliveryOutcome) {
        let status = match outcome {
            DeliveryOutcome::Delivered { .. } => MessageStatus::Delivered,
            DeliveryOutcome::Retry { error, .. } => MessageStatus::Retrying {
                error: error.clone(),
            },
            DeliveryOutcome::Failed { error } => MessageStatus::Failed {
                error: error.clone(),
            },
        };
        self.post(WalletEvent::MessageStatusChanged {
            peer: peer.to_string(),
            message_id: message_id.to_string(),
            status,
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
