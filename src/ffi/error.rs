//! The one error type apps see. Its variants are what an app can act on,
//! and each has a stable code (`FioPeerError::code`), documented in
//! docs/ffi.md; messages are for people and may change.

use super::records::small;
use crate::chain::ChainError;
use crate::crypto::{CryptoError, DecryptError};
use crate::store::StoreError;
use crate::sync::SyncError;
use crate::wallet::{DirectoryError, WalletError};

#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum FioPeerError {
    /// 1: a value the app passed is not valid; `field` names it.
    #[error("invalid {field} {value:?}: {detail}")]
    InvalidInput {
        field: String,
        value: String,
        detail: String,
    },
    /// 2: something did not decrypt (wrong key, tampered, not for us).
    #[error("{detail}")]
    DecryptionFailed { detail: String },
    /// 3: not possible in the current state (no such channel or request,
    /// a request no longer pending, a channel not open).
    #[error("{detail}")]
    NotAllowed { detail: String },
    /// 4: the chain or a relay could not be reached; try again later.
    #[error("network: {detail}")]
    Network { detail: String },
    /// 5: the chain refused: FIO's status, message and the fields it
    /// names (e.g. `max_fee`, "Fee exceeds supplied maximum.").
    #[error("the chain answered {status}: {detail}{}", describe(fields))]
    ChainRejected {
        status: i32,
        detail: String,
        fields: Vec<ChainFieldError>,
    },
    /// 6: a relay refused (its status and message).
    #[error("the relay answered {status}: {detail}")]
    RelayRejected { status: i32, detail: String },
    /// 7: the wallet database failed, or belongs to another wallet.
    #[error("storage: {detail}")]
    Storage { detail: String },
    /// 8: cancelled by the app.
    #[error("{detail}")]
    Cancelled { detail: String },
    /// 9: the database was written by a newer fio-peer (schema `found`;
    /// this build understands up to `supported`). Nothing was changed:
    /// update the app, or open another file.
    #[error("the database has schema version {found}, newer than this fio-peer understands ({supported}); update the app")]
    DatabaseTooNew { found: i32, supported: i32 },
    /// 10: the library could not start a thread or its runtime, or a
    /// callback of the app failed in a way the bindings could not convey.
    #[error("internal error: {detail}")]
    Internal { detail: String },
    /// 11: another wallet object of this process has this database file
    /// open (one writer per file): use that one, or close it first.
    #[error("{path} is already open in this process; close the other wallet first")]
    AlreadyOpen { path: String },
    /// 12: the wallet was closed (`close`/`shutdown`, or released); the
    /// same holds for its `FioFriends`. Open the wallet again to go on.
    #[error("{detail}")]
    Closed { detail: String },
    /// 13: the database key does not open the wallet's file (another
    /// `FioKey` or `FioDatabaseKey` than it was encrypted with, or a file
    /// that is not a wallet database). Nothing was changed.
    #[error("{detail}")]
    WrongDatabaseKey { detail: String },
}

/// One field the chain refused, as FIO names it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ChainFieldError {
    pub name: String,
    pub value: String,
    pub error: String,
}

fn describe(fields: &[ChainFieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("; {} {:?}: {}", f.name, f.value, f.error))
        .collect()
}

#[uniffi::export]
impl FioPeerError {
    /// The stable code of the variant.
    pub fn code(&self) -> i32 {
        match self {
            FioPeerError::InvalidInput { .. } => 1,
            FioPeerError::DecryptionFailed { .. } => 2,
            FioPeerError::NotAllowed { .. } => 3,
            FioPeerError::Network { .. } => 4,
            FioPeerError::ChainRejected { .. } => 5,
            FioPeerError::RelayRejected { .. } => 6,
            FioPeerError::Storage { .. } => 7,
            FioPeerError::Cancelled { .. } => 8,
            FioPeerError::DatabaseTooNew { .. } => 9,
            FioPeerError::Internal { .. } => 10,
            FioPeerError::AlreadyOpen { .. } => 11,
            FioPeerError::Closed { .. } => 12,
            FioPeerError::WrongDatabaseKey { .. } => 13,
        }
    }
}

impl FioPeerError {
    /// `Closed`, with its message.
    pub(crate) fn closed() -> FioPeerError {
        FioPeerError::Closed {
            detail: "the wallet was closed".into(),
        }
    }

    /// `DecryptionFailed`, with the one message every decryption failure
    /// gets (which check failed is never told).
    pub(crate) fn decryption_failed() -> FioPeerError {
        FioPeerError::DecryptionFailed {
            detail: "decryption failed".into(),
        }
    }

    pub(crate) fn input(field: &str, value: &str, detail: impl std::fmt::Display) -> FioPeerError {
        FioPeerError::InvalidInput {
            field: field.to_string(),
            value: value.to_string(),
            detail: detail.to_string(),
        }
    }
}

impl From<DecryptError> for FioPeerError {
    fn from(_: DecryptError) -> Self {
        FioPeerError::decryption_failed()
    }
}

impl From<CryptoError> for FioPeerError {
    fn from(e: CryptoError) -> Self {
        let field = match &e {
            CryptoError::InvalidPrivateKey(_) => "private_key",
            CryptoError::InvalidPublicKey(_) => "public_key",
            CryptoError::InvalidSignature(_) => "signature",
            CryptoError::InvalidMnemonic(_) => "mnemonic",
            CryptoError::InvalidContent(_) => "content",
            CryptoError::InvalidDigestLength(_) => "digest",
        };
        FioPeerError::input(field, "", e)
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FioPeerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FioPeerError::Internal { detail: e.reason }
    }
}

impl From<StoreError> for FioPeerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NewerSchema { found, supported } => {
                FioPeerError::DatabaseTooNew {
                    found: small(found),
                    supported: small(supported),
                }
            }
            StoreError::AlreadyOpen(path) => FioPeerError::AlreadyOpen {
                path: path.display().to_string(),
            },
            StoreError::Closed => FioPeerError::closed(),
            StoreError::WrongKey => FioPeerError::WrongDatabaseKey {
                detail: "the database key does not open this wallet database (a wrong key, or a damaged file)".into(),
            },
            e => FioPeerError::Storage {
                detail: e.to_string(),
            },
        }
    }
}

impl From<ChainError> for FioPeerError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Fio(f) => FioPeerError::ChainRejected {
                status: f.status.into(),
                detail: f.message.clone(),
                fields: f
                    .fields
                    .iter()
                    .map(|x| ChainFieldError {
                        name: x.name.clone(),
                        value: x.value.clone(),
                        error: x.error.clone(),
                    })
                    .collect(),
            },
            ChainError::Node(n) => FioPeerError::ChainRejected {
                status: n.status.into(),
                detail: if n.what.is_empty() {
                    n.message.clone()
                } else {
                    format!("{}: {}", n.message, n.what)
                },
                fields: Vec::new(),
            },
            ChainError::InvalidInput(m) => FioPeerError::input("chain", "", m),
            // The owner's data is unusable: asking again will not help.
            e @ ChainError::InvalidMapping { .. } => FioPeerError::NotAllowed {
                detail: e.to_string(),
            },
            ChainError::WrongChain {
                node,
                found,
                expected,
            } => FioPeerError::InvalidInput {
                field: "chain_id".into(),
                value: expected,
                detail: format!("{node} serves chain {found}"),
            },
            other => FioPeerError::Network {
                detail: other.to_string(),
            },
        }
    }
}

impl From<WalletError> for FioPeerError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::InvalidInput(p) => FioPeerError::InvalidInput {
                field: p.field.clone().unwrap_or_default(),
                value: p.value.clone().unwrap_or_default(),
                detail: p.message().to_string(),
            },
            WalletError::Rejected { error, .. } => FioPeerError::NotAllowed {
                detail: error.to_string(),
            },
            WalletError::Channel(m) | WalletError::Request(m) => {
                FioPeerError::NotAllowed { detail: m }
            }
            WalletError::Directory(DirectoryError::NotFound(why)) => FioPeerError::NotAllowed {
                detail: format!("the peer has no usable FIO key on chain: {why}"),
            },
            WalletError::Directory(d) => FioPeerError::Network {
                detail: d.to_string(),
            },
            e @ WalletError::Unseen { .. } => FioPeerError::NotAllowed {
                detail: e.to_string(),
            },
            WalletError::WrongIdentity(who) => FioPeerError::Storage {
                detail: format!("the database belongs to {who}"),
            },
            WalletError::Store(s) => s.into(),
        }
    }
}

impl From<SyncError> for FioPeerError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Wallet(w) => w.into(),
            SyncError::Chain(c) => c.into(),
            SyncError::Relay { status, message } => FioPeerError::RelayRejected {
                status: status.into(),
                detail: message,
            },
            SyncError::Transport(m) => FioPeerError::Network { detail: m },
            e @ SyncError::NoRelay => FioPeerError::NotAllowed {
                detail: e.to_string(),
            },
            SyncError::NoInbox => FioPeerError::NotAllowed {
                detail: "the wallet has no inbox and no relay is configured".into(),
            },
            SyncError::Cancelled => FioPeerError::Cancelled {
                detail: "cancelled".into(),
            },
            // Reported as `SyncStop::Busy` by the calls that return a summary.
            SyncError::Busy => FioPeerError::NotAllowed {
                detail: "another sync of this wallet is running".into(),
            },
            // FioWallet::open checks the settings it exposes first, so this
            // is the HTTP client failing to start.
            SyncError::Config(m) => FioPeerError::Internal { detail: m },
            SyncError::InvalidRelay(relay) => {
                FioPeerError::input("relay", &relay, "not an http(s) URL")
            }
            SyncError::RelayNotHttps(relay) => FioPeerError::input(
                "relay",
                &relay,
                "http: a mainnet or testnet wallet's relay must be https",
            ),
        }
    }
}
