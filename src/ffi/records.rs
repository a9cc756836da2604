//! The FIP-24 records and enums apps see, each a mirror of a core type.

use crate::protocol::{Action, InboxLocation, MessageData};
use crate::sync::{SyncPhase, SyncReport};
use crate::wallet::KeyChange;
use crate::wallet::{
    AcceptPolicy, Acceptance, AddressRequest, Automation, Channel, ChannelState, Delivery,
    Direction, FundsRequest, MessageRecord, Outgoing, QueueItem, ReleasedAddress, RequestKind,
    RequestRecord, RequestState,
};

/// The ten FIP-24 actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MessageAction {
    NewComRequest,
    NewFundsRequest,
    NewPubAddressRequest,
    ReturnMessageStatus,
    AcceptRequest,
    RejectRequest,
    CancelRequest,
    UpdateComDataRequest,
    CloseComRequest,
    SendPrivateText,
}

impl From<Action> for MessageAction {
    fn from(a: Action) -> Self {
        match a {
            Action::NewComRequest => MessageAction::NewComRequest,
            Action::NewFundsRequest => MessageAction::NewFundsRequest,
            Action::NewPubAddressRequest => MessageAction::NewPubAddressRequest,
            Action::ReturnMessageStatus => MessageAction::ReturnMessageStatus,
            Action::AcceptRequest => MessageAction::AcceptRequest,
            Action::RejectRequest => MessageAction::RejectRequest,
            Action::CancelRequest => MessageAction::CancelRequest,
            Action::UpdateComDataRequest => MessageAction::UpdateComDataRequest,
            Action::CloseComRequest => MessageAction::CloseComRequest,
            Action::SendPrivateText => MessageAction::SendPrivateText,
        }
    }
}

/// A message queued for delivery.
#[derive(Debug, uniffi::Record)]
pub struct SentMessage {
    pub peer: String,
    pub action: MessageAction,
    pub message_id: String,
}

impl From<Outgoing> for SentMessage {
    fn from(o: Outgoing) -> Self {
        SentMessage {
            peer: o.peer.to_string(),
            action: o.action.into(),
            message_id: o.message_id,
        }
    }
}

/// The data fields of a message (FIP-24 "Data"), as signed. The channel's
/// id tokens are not shown: they are the wallet's business.
#[derive(Clone, Debug, uniffi::Record)]
pub struct MessageContent {
    pub message_id: String,
    pub referenced_message_id: Option<String>,
    pub sender_fio_address: String,
    pub recipient_fio_address: String,
    pub return_address: Option<String>,
    pub return_address_type: Option<String>,
    pub payee_public_address: Option<String>,
    pub chain_code: Option<String>,
    pub token_code: Option<String>,
    pub amount: Option<String>,
    pub memo: Option<String>,
    pub message_status: Option<String>,
    pub hash: Option<String>,
    pub offline_url: Option<String>,
}

impl From<MessageData> for MessageContent {
    fn from(d: MessageData) -> Self {
        MessageContent {
            message_id: d.message_id,
            referenced_message_id: d.referenced_message_id,
            sender_fio_address: d.sender_fio_address,
            recipient_fio_address: d.recipient_fio_address,
            return_address: d.return_address,
            return_address_type: d.return_address_type,
            payee_public_address: d.payee_public_address,
            chain_code: d.chain_code,
            token_code: d.token_code,
            amount: d.amount,
            memo: d.memo,
            message_status: d.message_status,
            hash: d.hash,
            offline_url: d.offline_url,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MessageDirection {
    /// The peer sent it to us.
    Incoming,
    /// We sent it.
    Outgoing,
}

impl From<Direction> for MessageDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Incoming => MessageDirection::Incoming,
            Direction::Outgoing => MessageDirection::Outgoing,
        }
    }
}

/// Where the delivery of one of our messages to the peer's inbox stands
/// (docs/ffi.md "The state of a message").
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum DeliveryState {
    /// Waiting for its first attempt (the next sync).
    Queued,
    /// Attempted and not delivered yet; the next sync from
    /// `next_attempt_at` (unix milliseconds) tries again.
    Retrying {
        attempts: i32,
        next_attempt_at: i64,
        last_error: String,
    },
    /// The peer's inbox took it and gave it `seq` (`None` for a message
    /// delivered before fio-peer kept it); `delivered_at` in unix seconds.
    Delivered { seq: Option<i64>, delivered_at: i64 },
    /// Refused for good by the peer's inbox, or given up on after its
    /// attempts or age: show "failed, tap to retry" (`retry_delivery`).
    Failed { attempts: i32, reason: String },
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryState::Queued => write!(f, "queued"),
            DeliveryState::Retrying {
                attempts,
                next_attempt_at,
                last_error,
            } => write!(
                f,
                "retrying (attempt {attempts} failed: {last_error}; next at {next_attempt_at} ms)"
            ),
            DeliveryState::Delivered {
                seq: Some(seq),
                delivered_at,
            } => write!(f, "delivered (seq {seq}, at {delivered_at})"),
            DeliveryState::Delivered { delivered_at, .. } => {
                write!(f, "delivered (at {delivered_at})")
            }
            DeliveryState::Failed { attempts, reason } => {
                write!(f, "failed after {attempts} attempt(s): {reason}")
            }
        }
    }
}

/// A count the core keeps in an unsigned type, for an API without them
/// (saturating: the counts of one wallet never come near).
pub(crate) fn signed<T: TryInto<i64>>(n: T) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// [`signed`] for the small counts an `i32` holds (attempts, versions).
pub(crate) fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<Delivery> for DeliveryState {
    fn from(d: Delivery) -> Self {
        match d {
            Delivery::Queued => DeliveryState::Queued,
            Delivery::Retrying {
                attempts,
                next_attempt_at,
                last_error,
            } => DeliveryState::Retrying {
                attempts: small(attempts),
                next_attempt_at,
                last_error,
            },
            Delivery::Delivered { seq, delivered_at } => {
                DeliveryState::Delivered { seq, delivered_at }
            }
            Delivery::Failed { attempts, reason } => DeliveryState::Failed {
                attempts: small(attempts),
                reason,
            },
        }
    }
}

/// A stored message.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Message {
    /// Its place in the wallet: the paging cursor of `history`.
    pub id: i64,
    pub peer: String,
    pub direction: MessageDirection,
    pub action: MessageAction,
    pub content: MessageContent,
    /// For our messages: the status the peer returned, if any.
    pub peer_status: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// For our messages: how far delivery got (`None` for incoming ones).
    pub delivery: Option<DeliveryState>,
}

impl From<MessageRecord> for Message {
    fn from(m: MessageRecord) -> Self {
        Message {
            id: m.id,
            peer: m.peer.to_string(),
            direction: m.direction.into(),
            action: m.action.into(),
            content: m.data.into(),
            peer_status: m.peer_status,
            created_at: m.created_at,
            delivery: m.delivery.map(Into::into),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ChannelStatus {
    /// A peer_new_com_request is waiting for its answer.
    Requested,
    Open,
    /// Closed or rejected: the next contact starts a new channel.
    Closed,
}

impl From<ChannelState> for ChannelStatus {
    fn from(s: ChannelState) -> Self {
        match s {
            ChannelState::Requested => ChannelStatus::Requested,
            ChannelState::Open => ChannelStatus::Open,
            ChannelState::Closed => ChannelStatus::Closed,
        }
    }
}

/// A channel with one peer.
#[derive(Debug, uniffi::Record)]
pub struct ChannelInfo {
    pub peer: String,
    pub peer_public_key: String,
    pub status: ChannelStatus,
    pub initiated_by_us: bool,
    /// The peer's inbox, if it told us.
    pub peer_inbox: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Channel> for ChannelInfo {
    fn from(c: Channel) -> Self {
        ChannelInfo {
            peer: c.peer.to_string(),
            peer_public_key: c.peer_public_key.to_fio_string(),
            status: c.state.into(),
            initiated_by_us: c.initiated_by_us,
            peer_inbox: c.peer_inbox.map(|i| i.address),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum RequestType {
    /// peer_new_com_request.
    Channel,
    /// peer_new_funds_request.
    Funds,
    /// peer_new_pub_address_request.
    PublicAddress,
}

impl From<RequestKind> for RequestType {
    fn from(k: RequestKind) -> Self {
        match k {
            RequestKind::Channel => RequestType::Channel,
            RequestKind::Funds => RequestType::Funds,
            RequestKind::PublicAddress => RequestType::PublicAddress,
        }
    }
}

/// A request's life; an accepted funds request is `Paid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum RequestStatus {
    Pending,
    Accepted,
    Rejected,
    Cancelled,
    Paid,
    /// Voided by the wallet: the peer's key changed while it was pending
    /// (`Request.reason`).
    Voided,
}

impl From<RequestStatus> for RequestState {
    fn from(s: RequestStatus) -> Self {
        match s {
            RequestStatus::Pending => RequestState::Pending,
            RequestStatus::Accepted => RequestState::Accepted,
            RequestStatus::Rejected => RequestState::Rejected,
            RequestStatus::Cancelled => RequestState::Cancelled,
            RequestStatus::Paid => RequestState::Paid,
            RequestStatus::Voided => RequestState::Voided,
        }
    }
}

impl From<RequestState> for RequestStatus {
    fn from(s: RequestState) -> Self {
        match s {
            RequestState::Pending => RequestStatus::Pending,
            RequestState::Accepted => RequestStatus::Accepted,
            RequestState::Rejected => RequestStatus::Rejected,
            RequestState::Cancelled => RequestStatus::Cancelled,
            RequestState::Paid => RequestStatus::Paid,
            RequestState::Voided => RequestStatus::Voided,
        }
    }
}

/// A request and where it stands.
#[derive(Debug, uniffi::Record)]
pub struct Request {
    /// The request message's id in the wallet (its `Message.id`): the
    /// paging cursor of `requests`.
    pub id: i64,
    pub peer: String,
    pub direction: MessageDirection,
    pub request_type: RequestType,
    pub message_id: String,
    pub status: RequestStatus,
    pub content: MessageContent,
    /// The accept, reject or cancel that settled it.
    pub answer: Option<MessageContent>,
    pub updated_at: i64,
    /// Why the wallet voided it (`Voided` only).
    pub reason: Option<String>,
}

impl From<RequestRecord> for Request {
    fn from(r: RequestRecord) -> Self {
        Request {
            id: r.id,
            peer: r.peer.to_string(),
            direction: r.direction.into(),
            request_type: r.kind.into(),
            message_id: r.message_id,
            status: r.state.into(),
            content: r.data.into(),
            answer: r.answer.map(Into::into),
            updated_at: r.updated_at,
            reason: r.reason,
        }
    }
}

/// Something for the user to see or decide.
#[derive(Clone, Debug, uniffi::Record)]
pub struct QueueEntry {
    /// What [`dismiss`](super::FioWallet::dismiss) takes.
    pub id: i64,
    pub peer: String,
    pub message: Message,
    /// Set when this channel request comes from a new key for the peer's
    /// FIO address (a transfer or re-registration): show it as "the key of
    /// <peer> changed" before the user accepts.
    pub key_change: Option<KeyChangeInfo>,
}

/// A FIO address whose chain key is not the one its channel had pinned.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct KeyChangeInfo {
    /// FIO public keys (`FIO…`).
    pub previous_key: String,
    pub new_key: String,
}

impl From<&KeyChange> for KeyChangeInfo {
    fn from(k: &KeyChange) -> Self {
        KeyChangeInfo {
            previous_key: k.previous_key.to_fio_string(),
            new_key: k.new_key.to_fio_string(),
        }
    }
}

impl From<QueueItem> for QueueEntry {
    fn from(q: QueueItem) -> Self {
        QueueEntry {
            id: q.id,
            peer: q.peer.to_string(),
            message: q.message.into(),
            key_change: q.key_change.as_ref().map(Into::into),
        }
    }
}

/// A funds request (peer_new_funds_request, and FIP-3's private request).
#[derive(Debug, uniffi::Record)]
pub struct FundsRequestData {
    pub payee_public_address: String,
    pub chain_code: String,
    pub token_code: String,
    /// May be empty for the payer to choose.
    pub amount: String,
    #[uniffi(default = None)]
    pub memo: Option<String>,
    #[uniffi(default = None)]
    pub hash: Option<String>,
    #[uniffi(default = None)]
    pub offline_url: Option<String>,
}

impl From<FundsRequestData> for FundsRequest {
    fn from(r: FundsRequestData) -> Self {
        FundsRequest {
            payee_public_address: r.payee_public_address,
            chain_code: r.chain_code,
            token_code: r.token_code,
            amount: r.amount,
            memo: r.memo,
            hash: r.hash,
            offline_url: r.offline_url,
        }
    }
}

/// A public-address request (peer_new_pub_address_request).
#[derive(Debug, uniffi::Record)]
pub struct AddressRequestData {
    pub chain_code: String,
    pub token_code: String,
    #[uniffi(default = None)]
    pub amount: Option<String>,
    #[uniffi(default = None)]
    pub memo: Option<String>,
}

impl From<AddressRequestData> for AddressRequest {
    fn from(r: AddressRequestData) -> Self {
        AddressRequest {
            chain_code: r.chain_code,
            token_code: r.token_code,
            amount: r.amount,
            memo: r.memo,
        }
    }
}

/// What peer_accept_request carries besides the reference. Accepting a
/// public-address request needs `payee_public_address`.
#[derive(Debug, Default, uniffi::Record)]
pub struct AcceptanceData {
    #[uniffi(default = None)]
    pub payee_public_address: Option<String>,
    #[uniffi(default = None)]
    pub chain_code: Option<String>,
    #[uniffi(default = None)]
    pub token_code: Option<String>,
    #[uniffi(default = None)]
    pub amount: Option<String>,
    #[uniffi(default = None)]
    pub memo: Option<String>,
}

impl From<AcceptanceData> for Acceptance {
    fn from(a: AcceptanceData) -> Self {
        Acceptance {
            payee_public_address: a.payee_public_address,
            chain_code: a.chain_code,
            token_code: a.token_code,
            amount: a.amount,
            memo: a.memo,
        }
    }
}

/// Whom channel requests are accepted from without asking.
#[derive(Debug, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum AcceptChannels {
    Never,
    Always,
    AllowList { fio_addresses: Vec<String> },
}

impl std::fmt::Display for AcceptChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AcceptChannels::Never => write!(f, "never"),
            AcceptChannels::Always => write!(f, "always"),
            AcceptChannels::AllowList { fio_addresses } => {
                write!(f, "from {}", fio_addresses.join(", "))
            }
        }
    }
}

/// A public address released to every peer_new_pub_address_request for
/// its chain and token.
#[derive(Debug, uniffi::Record)]
pub struct ReleasedAddressData {
    pub chain_code: String,
    pub token_code: String,
    pub public_address: String,
}

/// The wallet's automated actions.
#[derive(Debug, uniffi::Record)]
pub struct AutomationSettings {
    /// Answer every message but a status with peer_return_message_status.
    pub status_replies: bool,
    pub accept_channels: AcceptChannels,
    pub release_addresses: Vec<ReleasedAddressData>,
    /// Close a channel when the peer asks.
    pub close_on_request: bool,
}

impl From<Automation> for AutomationSettings {
    fn from(a: Automation) -> Self {
        AutomationSettings {
            status_replies: a.status_replies,
            accept_channels: match a.accept_channels {
                AcceptPolicy::Never => AcceptChannels::Never,
                AcceptPolicy::Always => AcceptChannels::Always,
                AcceptPolicy::AllowList(list) => AcceptChannels::AllowList {
                    fio_addresses: list,
                },
            },
            release_addresses: a
                .release_addresses
                .into_iter()
                .map(|r| ReleasedAddressData {
                    chain_code: r.chain_code,
                    token_code: r.token_code,
                    public_address: r.public_address,
                })
                .collect(),
            close_on_request: a.close_on_request,
        }
    }
}

impl From<AutomationSettings> for Automation {
    fn from(a: AutomationSettings) -> Self {
        Automation {
            status_replies: a.status_replies,
            accept_channels: match a.accept_channels {
                AcceptChannels::Never => AcceptPolicy::Never,
                AcceptChannels::Always => AcceptPolicy::Always,
                AcceptChannels::AllowList { fio_addresses } => {
                    AcceptPolicy::AllowList(fio_addresses)
                }
            },
            release_addresses: a
                .release_addresses
                .into_iter()
                .map(|r| ReleasedAddress {
                    chain_code: r.chain_code,
                    token_code: r.token_code,
                    public_address: r.public_address,
                })
                .collect(),
            close_on_request: a.close_on_request,
        }
    }
}

/// Which part of a sync is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SyncStep {
    Registering,
    Fetching,
    Delivering,
}

impl From<SyncPhase> for SyncStep {
    fn from(p: SyncPhase) -> Self {
        match p {
            SyncPhase::Registering => SyncStep::Registering,
            SyncPhase::Fetching => SyncStep::Fetching,
            SyncPhase::Delivering => SyncStep::Delivering,
        }
    }
}

/// What a sync did (or has done so far).
#[derive(Clone, Debug, uniffi::Record)]
pub struct SyncSummary {
    /// Envelopes fetched from our inboxes.
    pub fetched: i64,
    /// Accepted messages.
    pub received: i64,
    /// Refused (FIP-24 errors; the sender is told when it can be).
    pub rejected: i64,
    /// Already received before.
    pub duplicates: i64,
    /// Waiting for their sender's key (the chain was unreachable).
    pub held: i64,
    /// Receiving the held envelopes failed this time (tried next sync).
    pub held_error: Option<String>,
    /// Fetches from inboxes we moved away from that failed.
    pub previous_inbox_failures: i64,
    pub delivered: i64,
    /// Deliveries to try again later, and those refused for good.
    pub retrying: i64,
    pub failed: i64,
    /// Our inbox was registered on chain by this sync.
    pub registered: bool,
    /// The registration check failed; the sync went on.
    pub registration_error: Option<String>,
    /// Why the sync ended: everything done, or a limit of `SyncOptions`.
    pub stopped: SyncStop,
}

/// Why a sync ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SyncStop {
    /// Everything due was done.
    Complete,
    /// The time budget ran out; what was done is kept, the next sync goes on.
    Budget,
    /// `max_messages` envelopes were fetched; the next sync fetches the rest.
    MaxMessages,
    /// Another sync of this wallet ran all along (in this process, or in
    /// another one on the same file: the app, its background job, its
    /// notification extension); nothing was done. Not an error: the other
    /// sync does the work.
    Busy,
}

impl From<crate::sync::SyncStop> for SyncStop {
    fn from(s: crate::sync::SyncStop) -> Self {
        match s {
            crate::sync::SyncStop::Complete => SyncStop::Complete,
            crate::sync::SyncStop::Budget => SyncStop::Budget,
            crate::sync::SyncStop::MaxMessages => SyncStop::MaxMessages,
            crate::sync::SyncStop::Busy => SyncStop::Busy,
        }
    }
}

/// Bounds on one sync (`sync_within`); 0 is no bound.
#[derive(Clone, Copy, Debug, Default, uniffi::Record)]
pub struct SyncOptions {
    /// Milliseconds the sync may take, waiting for another sync included.
    /// When they run out it stops where it is and returns what it did
    /// (`SyncSummary.stopped` = `Budget`), keeping everything committed.
    #[uniffi(default = 0)]
    pub time_budget_ms: i64,
    /// Envelopes fetched at most (`stopped` = `MaxMessages` when reached).
    #[uniffi(default = 0)]
    pub max_messages: i64,
}

impl From<SyncOptions> for crate::sync::SyncLimits {
    fn from(o: SyncOptions) -> Self {
        crate::sync::SyncLimits {
            // Negative is no bound, as 0 is.
            time_budget: (o.time_budget_ms > 0)
                .then(|| std::time::Duration::from_millis(o.time_budget_ms.unsigned_abs())),
            max_messages: (o.max_messages > 0).then_some(o.max_messages.unsigned_abs()),
        }
    }
}

impl From<&SyncReport> for SyncSummary {
    fn from(r: &SyncReport) -> Self {
        SyncSummary {
            fetched: signed(r.fetched),
            received: signed(r.received),
            rejected: signed(r.rejected),
            duplicates: signed(r.duplicates),
            held: signed(r.held),
            held_error: r.held_error.clone(),
            previous_inbox_failures: signed(r.previous_inbox_failures),
            delivered: signed(r.delivered),
            retrying: signed(r.retrying),
            failed: signed(r.failed),
            registered: r.registered,
            registration_error: r.registration_error.clone(),
            stopped: r.stopped.into(),
        }
    }
}

/// An inbox URL given by the app.
pub(crate) fn inbox_url(url: &str) -> Result<InboxLocation, super::FioPeerError> {
    InboxLocation::parse("URL", url).map_err(|e| super::FioPeerError::input("inbox", url, e))
}
