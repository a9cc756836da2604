//! The ten FIP-24 actions and which data fields each one takes, exactly as
//! the FIP's per-action "Message data" tables list them.

use super::error::{ErrorKind, ProtocolError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
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

pub const ALL_ACTIONS: [Action; 10] = [
    Action::NewComRequest,
    Action::NewFundsRequest,
    Action::NewPubAddressRequest,
    Action::ReturnMessageStatus,
    Action::AcceptRequest,
    Action::RejectRequest,
    Action::CancelRequest,
    Action::UpdateComDataRequest,
    Action::CloseComRequest,
    Action::SendPrivateText,
];

/// Whether an action takes a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Required,
    /// Optional, or required only in a case the engine checks
    /// (`return_id_token` when accepting a channel, the address fields when
    /// releasing a public address).
    Optional,
    /// Not in the action's table: ignored if sent.
    NotTaken,
}

/// The data fields in the FIP's table order, which is also the order in
/// which fio-peer serializes them.
pub const FIELDS: [&str; 16] = [
    "action",
    "message_id",
    "referenced_message_id",
    "sender_fio_address",
    "recipient_fio_address",
    "return_address",
    "return_address_type",
    "return_id_token",
    "payee_public_address",
    "chain_code",
    "token_code",
    "amount",
    "memo",
    "message_status",
    "hash",
    "offline_url",
];

impl Action {
    /// The FIP name (`peer_…`).
    pub fn name(self) -> &'static str {
        match self {
            Action::NewComRequest => "peer_new_com_request",
            Action::NewFundsRequest => "peer_new_funds_request",
            Action::NewPubAddressRequest => "peer_new_pub_address_request",
            Action::ReturnMessageStatus => "peer_return_message_status",
            Action::AcceptRequest => "peer_accept_request",
            Action::RejectRequest => "peer_reject_request",
            Action::CancelRequest => "peer_cancel_request",
            Action::UpdateComDataRequest => "peer_update_com_data_request",
            Action::CloseComRequest => "peer_close_com_request",
            Action::SendPrivateText => "peer_send_private_text",
        }
    }

    /// Parses an action name. The FIP's actions table calls the update
    /// action `peer_update_data_request`; both names are accepted.
    pub fn parse(name: &str) -> Result<Self, ProtocolError> {
        if name == "peer_update_data_request" {
            return Ok(Action::UpdateComDataRequest);
        }
        ALL_ACTIONS
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| ProtocolError::with_value(ErrorKind::InvalidAction, name))
    }

    /// Whether this action is a request the other side answers with accept
    /// or reject (and its sender may cancel).
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Action::NewComRequest | Action::NewFundsRequest | Action::NewPubAddressRequest
        )
    }

    /// Whether the recipient answers this action with a status reply.
    /// A status is never answered (that would loop).
    pub fn wants_status_reply(self) -> bool {
        self != Action::ReturnMessageStatus
    }

    /// How this action takes `field` (one of [`FIELDS`]).
    pub fn presence(self, field: &str) -> Presence {
        use Action::*;
        use Presence::*;
        match field {
            "action" | "message_id" | "sender_fio_address" | "recipient_fio_address" => Required,
            "referenced_message_id" => match self {
                ReturnMessageStatus | AcceptRequest | RejectRequest | CancelRequest => Required,
                SendPrivateText => Optional,
                _ => NotTaken,
            },
            "return_address" | "return_address_type" => match self {
                CloseComRequest | SendPrivateText => NotTaken,
                _ => Optional,
            },
            "return_id_token" => match self {
                NewComRequest => Required,
                CloseComRequest | SendPrivateText => NotTaken,
                _ => Optional,
            },
            "payee_public_address" => match self {
                NewFundsRequest => Required,
                AcceptRequest => Optional,
                _ => NotTaken,
            },
            "chain_code" | "token_code" => match self {
                NewFundsRequest | NewPubAddressRequest => Required,
                AcceptRequest => Optional,
                _ => NotTaken,
            },
            "amount" => match self {
                NewFundsRequest => Required,
                NewPubAddressRequest | AcceptRequest => Optional,
                _ => NotTaken,
            },
            "memo" => match self {
                SendPrivateText => Required,
                ReturnMessageStatus | UpdateComDataRequest => NotTaken,
                _ => Optional,
            },
            "message_status" => match self {
                ReturnMessageStatus => Required,
                _ => NotTaken,
            },
            "hash" | "offline_url" => match self {
                NewComRequest | NewFundsRequest | NewPubAddressRequest | AcceptRequest => Optional,
                _ => NotTaken,
            },
            _ => NotTaken,
        }
    }
}
