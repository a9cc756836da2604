//! The wallet's public types: what callers pass in and get back.

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::protocol::{Action, FioAddress, InboxLocation, MessageData, ProtocolError};
use crate::store::StoreError;

/// Where a channel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// A peer_new_com_request was sent or received and not yet answered.
    Requested,
    /// Both sides hold each other's token.
    Open,
    /// Closed or rejected: tokens forgotten, the next contact is NEW again.
    Closed,
}

impl ChannelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Requested => "requested",
            ChannelState::Open => "open",
            ChannelState::Closed => "closed",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "requested" => ChannelState::Requested,
            "open" => ChannelState::Open,
            _ => ChannelState::Closed,
        }
    }
}

/// A channel with one peer, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub peer: FioAddress,
    pub peer_public_key: PublicKey,
    pub state: ChannelState,
    /// True if we sent the peer_new_com_request.
    pub initiated_by_us: bool,
    /// Where the peer's inbox is, if it told us.
    pub peer_inbox: Option<InboxLocation>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Message direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// The peer sent it to us.
    Incoming,
    /// We sent it to the peer.
    Outgoing,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "in",
            Direction::Outgoing => "out",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        if s == "in" {
            Direction::Incoming
        } else {
            Direction::Outgoing
        }
    }
}

/// A stored message. `Debug` shows `data` (without its channel token) and
/// only the length of `data_text`, which holds the token.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// The message's row: its place in the wallet, stable for paging
    /// ([`Wallet::history_page`](super::Wallet::history_page)).
    pub id: i64,
    pub peer: FioAddress,
    pub direction: Direction,
    pub message_id: String,
    pub action: Action,
    pub referenced_message_id: Option<String>,
    /// The data fields, parsed from `data_text`.
    pub data: MessageData,
    /// The exact signed data text.
    pub data_text: String,
    pub signature: String,
    /// For our messages: the peer's peer_return_message_status, if one came.
    pub peer_status: Option<String>,
    pub created_at: i64,
    /// For our messages: how far delivery to the peer's inbox got (`None`
    /// for incoming messages, and for ours from before the outbox).
    pub delivery: Option<Delivery>,
}

/// Where the delivery of one of our messages stands (docs/ffi.md "The
/// state of a message").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for its first attempt.
    Queued,
    /// Attempted and not delivered yet; tried again at `next_attempt_at`
    /// (unix milliseconds).
    Retrying {
        attempts: u32,
        next_attempt_at: i64,
        last_error: String,
    },
    /// The peer's inbox took it (202) and gave it `seq`; `delivered_at` in
    /// unix seconds.
    Delivered { seq: Option<i64>, delivered_at: i64 },
    /// Refused for good, or given up on; the user may retry it
    /// ([`Wallet::retry_message`](super::Wallet::retry_message)).
    Failed { attempts: u32, reason: String },
}

impl std::fmt::Debug for MessageRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageRecord")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("direction", &self.direction)
            .field("message_id", &self.message_id)
            .field("action", &self.action)
            .field("referenced_message_id", &self.referenced_message_id)
            .field("data", &self.data)
            .field(
                "data_text",
                &format_args!("<{} bytes>", self.data_text.len()),
            )
            .field("signature", &self.signature)
            .field("peer_status", &self.peer_status)
            .field("created_at", &self.created_at)
            .field("delivery", &self.delivery)
            .finish()
    }
}

/// What a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// peer_new_com_request.
    Channel,
    /// peer_new_funds_request.
    Funds,
    /// peer_new_pub_address_request.
    PublicAddress,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Channel => "channel",
            RequestKind::Funds => "funds",
            RequestKind::PublicAddress => "pub_address",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "channel" => RequestKind::Channel,
            "funds" => RequestKind::Funds,
            _ => RequestKind::PublicAddress,
        }
    }
    pub(crate) fn of(action: Action) -> Option<Self> {
        match action {
            Action::NewComRequest => Some(RequestKind::Channel),
            Action::NewFundsRequest => Some(RequestKind::Funds),
            Action::NewPubAddressRequest => Some(RequestKind::PublicAddress),
            _ => None,
        }
    }
}

/// The life of a request. A funds request that is accepted is `Paid` (FIP-24:
/// accepting a funds request "informs the recipient that the invoice was paid").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestState {
    Pending,
    Accepted,
    Rejected,
    Cancelled,
    Paid,
    /// Settled by the wallet itself: the peer's key changed while it was
    /// pending (`RequestRecord::reason` says so).
    Voided,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Accepted => "accepted",
            RequestState::Rejected => "rejected",
            RequestState::Cancelled => "cancelled",
            RequestState::Paid => "paid",
            RequestState::Voided => "voided",
        }
    }
    /// The state named `name` ([`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            RequestState::Pending,
            RequestState::Accepted,
            RequestState::Rejected,
            RequestState::Cancelled,
            RequestState::Paid,
            RequestState::Voided,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "pending" => RequestState::Pending,
            "accepted" => RequestState::Accepted,
            "rejected" => RequestState::Rejected,
            "cancelled" => RequestState::Cancelled,
            "voided" => RequestState::Voided,
            _ => RequestState::Paid,
        }
    }
}

/// A request and its current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// The request message's row (its [`MessageRecord::id`]): the paging
    /// cursor of [`Wallet::requests_page`](super::Wallet::requests_page).
    pub id: i64,
    pub peer: FioAddress,
    pub direction: Direction,
    pub kind: RequestKind,
    pub message_id: String,
    pub state: RequestState,
    /// The request message itself.
    pub data: MessageData,
    /// The accept/reject/cancel that settled it, if any.
    pub answer: Option<MessageData>,
    pub updated_at: i64,
    /// Why the wallet voided it, if it did.
    pub reason: Option<String>,
}

/// An item of the user's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueItem {
    pub id: i64,
    pub peer: FioAddress,
    pub action: Action,
    pub message: MessageRecord,
    pub created_at: i64,
    /// Set when the item reports that the peer's key changed: this request
    /// comes from a new key (a transferred or re-registered FIO address).
    pub key_change: Option<KeyChange>,
}

/// A FIO address whose chain key is not the one its channel had pinned.
/// Whoever holds the new key is not known to be the person the channel
/// was with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyChange {
    pub peer: FioAddress,
    pub previous_key: PublicKey,
    pub new_key: PublicKey,
    /// Requests that were pending in the channel, now voided.
    pub voided: Vec<String>,
}

/// An envelope to deliver to a peer's inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub peer: FioAddress,
    pub action: Action,
    pub message_id: String,
    /// Where to deliver it, when known (the peer's return address or the
    /// inbox it told us); otherwise the caller looks it up on chain.
    pub to: Option<InboxLocation>,
    /// The envelope bytes (JSON text).
    pub envelope: String,
}

/// What a successful `receive` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub message: MessageRecord,
    /// Replies to deliver (status replies and automated answers).
    pub replies: Vec<Outgoing>,
    /// The queue item it created, if any.
    pub queue_id: Option<i64>,
    /// The sender's key is not the one the channel had pinned.
    pub key_change: Option<KeyChange>,
}

/// Whom to accept channel requests from without asking.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "addresses")]
pub enum AcceptPolicy {
    /// Always ask the user (the default).
    #[default]
    Never,
    Always,
    /// Only these FIO addresses.
    AllowList(Vec<String>),
}

/// A public address released automatically to peer_new_pub_address_request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedAddress {
    pub chain_code: String,
    pub token_code: String,
    pub public_address: String,
}

/// Automated actions (FIP-24 "If programmed, an automated action may be executed").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Automation {
    /// Answer every message (but a status) with peer_return_message_status.
    pub status_replies: bool,
    pub accept_channels: AcceptPolicy,
    pub release_addresses: Vec<ReleasedAddress>,
    /// Close a channel when the peer asks.
    pub close_on_request: bool,
}

impl Default for Automation {
    fn default() -> Self {
        Self {
            status_replies: true,
            accept_channels: AcceptPolicy::Never,
            release_addresses: Vec::new(),
            close_on_request: true,
        }
    }
}

/// Looks up FIO public keys (and inboxes) of FIO addresses. The chain client
/// implements it; tests use a map.
pub trait KeyDirectory: Send + Sync {
    /// The key registered for FIO/FIO on `address`.
    fn public_key(&self, address: &FioAddress) -> Result<PublicKey, DirectoryError>;
    /// The inbox registered for FIB/URL (or FIB/IPA) on `address`.
    fn inbox(&self, _address: &FioAddress) -> Result<Option<InboxLocation>, DirectoryError> {
        Ok(None)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0} is not registered")]
    NotFound(String),
    #[error("the FIO chain could not be reached: {0}")]
    Unavailable(String),
}

/// Errors of the wallet API.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// An incoming message broke a FIP-24 rule. `replies` holds the error
    /// status to deliver, when the sender was authenticated.
    #[error("message rejected: {error}")]
    Rejected {
        error: ProtocolError,
        replies: Vec<Outgoing>,
    },
    /// A value the caller passed is not valid (the protocol's error says which).
    #[error("invalid input: {0}")]
    InvalidInput(ProtocolError),
    /// No channel with that peer, or it is not in a state that allows this.
    #[error("{0}")]
    Channel(String),
    /// No such request, or it is not in a state that allows this.
    #[error("{0}")]
    Request(String),
    /// The key directory (chain) failed; try again later.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The message references a message of the peer's not received yet
    /// (it may be on its way through another inbox): a sync holds it and
    /// tries again.
    #[error("message {referenced_message_id} has not arrived yet")]
    Unseen { referenced_message_id: String },
    /// The database was opened with another key or FIO address.
    #[error("this database belongs to {0}; open it with that wallet's key and FIO address")]
    WrongIdentity(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for WalletError {
    fn from(e: rusqlite::Error) -> Self {
        WalletError::Store(StoreError::Sqlite(e))
    }
}
