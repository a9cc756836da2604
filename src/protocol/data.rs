//! The signed `data` object: its fields, its exact bytes, and validation.

use serde::Serialize;

use super::action::{Action, Presence, FIELDS};
use super::address::{FioAddress, InboxLocation};
use super::error::{ErrorKind, ProtocolError};
use super::json::FlatObject;
use super::token::{is_fip_token, is_message_id};

/// Every data field FIP-24 defines. Serialized in the FIP's table order with
/// absent fields left out; the signature covers exactly those bytes.
/// `Debug` leaves out `return_id_token`: a channel token is a secret (it is
/// what lets the peer write on the channel), and Debug ends up in logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct MessageData {
    pub action: String,
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referenced_message_id: Option<String>,
    pub sender_fio_address: String,
    pub recipient_fio_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_address_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payee_public_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_url: Option<String>,
}

impl std::fmt::Debug for MessageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageData")
            .field("action", &self.action)
            .field("message_id", &self.message_id)
            .field("referenced_message_id", &self.referenced_message_id)
            .field("sender_fio_address", &self.sender_fio_address)
            .field("recipient_fio_address", &self.recipient_fio_address)
            .field("return_address", &self.return_address)
            .field("return_address_type", &self.return_address_type)
            .field(
                "return_id_token",
                &self.return_id_token.as_ref().map(|_| "…"),
            )
            .field("payee_public_address", &self.payee_public_address)
            .field("chain_code", &self.chain_code)
            .field("token_code", &self.token_code)
            .field("amount", &self.amount)
            .field("memo", &self.memo)
            .field("message_status", &self.message_status)
            .field("hash", &self.hash)
            .field("offline_url", &self.offline_url)
            .finish()
    }
}

/// Data that passed validation for its action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidData {
    pub action: Action,
    pub sender: FioAddress,
    pub recipient: FioAddress,
    pub return_inbox: Option<InboxLocation>,
    pub data: MessageData,
}

impl MessageData {
    /// The JSON text that is signed and sent.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings serialize")
    }

    fn get(&self, field: &str) -> Option<&str> {
        match field {
            "action" => Some(&self.action),
            "message_id" => Some(&self.message_id),
            "referenced_message_id" => self.referenced_message_id.as_deref(),
            "sender_fio_address" => Some(&self.sender_fio_address),
            "recipient_fio_address" => Some(&self.recipient_fio_address),
            "return_address" => self.return_address.as_deref(),
            "return_address_type" => self.return_address_type.as_deref(),
            "return_id_token" => self.return_id_token.as_deref(),
            "payee_public_address" => self.payee_public_address.as_deref(),
            "chain_code" => self.chain_code.as_deref(),
            "token_code" => self.token_code.as_deref(),
            "amount" => self.amount.as_deref(),
            "memo" => self.memo.as_deref(),
            "message_status" => self.message_status.as_deref(),
            "hash" => self.hash.as_deref(),
            "offline_url" => self.offline_url.as_deref(),
            _ => None,
        }
    }

    /// Parses the exact signed data text: a flat JSON object of strings with
    /// unique keys. Unknown keys are ignored; fields the action does not take
    /// are dropped (they stay in the stored text).
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let obj = FlatObject::parse(text.as_bytes())?;
        let action_name = obj
            .get("action")
            .ok_or_else(|| ProtocolError::new(ErrorKind::InvalidAction))?;
        let action = Action::parse(action_name)?;
        let take = |f: &str| match action.presence(f) {
            Presence::NotTaken => None,
            _ => obj.get(f).map(str::to_string),
        };
        Ok(MessageData {
            action: action_name.to_string(),
            message_id: obj.get("message_id").unwrap_or_default().to_string(),
            referenced_message_id: take("referenced_message_id"),
            sender_fio_address: obj
                .get("sender_fio_address")
                .unwrap_or_default()
                .to_string(),
            recipient_fio_address: obj
                .get("recipient_fio_address")
                .unwrap_or_default()
                .to_string(),
            return_address: take("return_address"),
            return_address_type: take("return_address_type"),
            return_id_token: take("return_id_token"),
            payee_public_address: take("payee_public_address"),
            chain_code: take("chain_code"),
            token_code: take("token_code"),
            amount: take("amount"),
            memo: take("memo"),
            message_status: take("message_status"),
            hash: take("hash"),
            offline_url: take("offline_url"),
        })
        .and_then(|d| {
            // Required fields that parse() defaulted to "" must really be there.
            for f in ["message_id", "sender_fio_address", "recipient_fio_address"] {
                if obj.get(f).is_none() {
                    return Err(missing(f));
                }
            }
            Ok(d)
        })
    }

    /// `(action, message_id)` as sent, from data that may not validate: enough
    /// to answer a bad message with an error status.
    pub fn peek(text: &str) -> (Option<String>, Option<String>) {
        match FlatObject::parse(text.as_bytes()) {
            Ok(obj) => (
                obj.get("action").map(str::to_string),
                obj.get("message_id").map(str::to_string),
            ),
            Err(_) => (None, None),
        }
    }

    /// Checks every field against its action's table and the field formats,
    /// in table order, and returns the first error.
    pub fn validate(&self) -> Result<ValidData, ProtocolError> {
        let action = Action::parse(&self.action)?;
        for field in FIELDS {
            let value = self.get(field);
            match (action.presence(field), value) {
                (Presence::Required, None) => return Err(missing(field)),
                (Presence::NotTaken, _) | (_, None) => {}
                (_, Some(v)) => check_format(action, field, v)?,
            }
        }
        let return_inbox = match (&self.return_address_type, &self.return_address) {
            (None, None) => None,
            (Some(kind), Some(address)) => Some(InboxLocation::parse(kind, address)?),
            (None, Some(_)) => {
                return Err(ProtocolError::with_value(
                    ErrorKind::InvalidReturnAddressType,
                    "",
                ))
            }
            (Some(_), None) => {
                return Err(ProtocolError::with_value(
                    ErrorKind::InvalidReturnAddress,
                    "",
                ))
            }
        };
        Ok(ValidData {
            action,
            sender: FioAddress::parse(&self.sender_fio_address).expect("checked"),
            recipient: FioAddress::parse(&self.recipient_fio_address).expect("checked"),
            return_inbox,
            data: self.clone(),
        })
    }
}

/// A missing required field: its own table row where it has one.
fn missing(field: &str) -> ProtocolError {
    let kind = match field {
        "action" => ErrorKind::InvalidAction,
        "message_id" => ErrorKind::InvalidMessageId,
        "referenced_message_id" => ErrorKind::InvalidReferencedMessageId,
        "sender_fio_address" => ErrorKind::InvalidSenderFioAddress,
        "recipient_fio_address" => ErrorKind::InvalidRecipientFioAddress,
        "return_id_token" => ErrorKind::InvalidReturnIdToken,
        "payee_public_address" => ErrorKind::InvalidPublicAddress,
        "chain_code" => ErrorKind::InvalidChainCode,
        "token_code" => ErrorKind::InvalidTokenCode,
        "amount" => ErrorKind::InvalidAmount,
        _ => ErrorKind::MissingField,
    };
    ProtocolError::at(kind, field, None)
}

fn is_code(s: &str) -> bool {
    (1..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'$')
}

/// A non-negative decimal: digits with at most one point, at least one digit.
fn is_amount(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let points = s.bytes().filter(|&b| b == b'.').count();
    s.len() <= 40 && digits >= 1 && points <= 1 && digits + points == s.len()
}

fn check_format(action: Action, field: &str, v: &str) -> Result<(), ProtocolError> {
    let err = |kind| Err(ProtocolError::with_value(kind, v));
    match field {
        "message_id" if !is_message_id(v) => err(ErrorKind::InvalidMessageId),
        "referenced_message_id" if !is_message_id(v) => err(ErrorKind::InvalidReferencedMessageId),
        "sender_fio_address" if FioAddress::parse(v).is_none() => {
            err(ErrorKind::InvalidSenderFioAddress)
        }
        "recipient_fio_address" if FioAddress::parse(v).is_none() => {
            err(ErrorKind::InvalidRecipientFioAddress)
        }
        "return_id_token" if !is_fip_token(v) => err(ErrorKind::InvalidReturnIdToken),
        "payee_public_address"
            if v.is_empty()
                || v.len() > 128
                || v.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            err(ErrorKind::InvalidPublicAddress)
        }
        "chain_code" if !is_code(v) => err(ErrorKind::InvalidChainCode),
        "token_code" if !(is_code(v) || v == "*") => err(ErrorKind::InvalidTokenCode),
        // A funds request's amount "may be left empty for the recipient to choose".
        "amount" if !(is_amount(v) || (v.is_empty() && action == Action::NewFundsRequest)) => {
            err(ErrorKind::InvalidAmount)
        }
        "message_status" if v.is_empty() || v.len() > 128 => Err(ProtocolError::at(
            ErrorKind::MalformedMessage,
            "message_status",
            Some(v),
        )),
        _ => Ok(()),
    }
}
