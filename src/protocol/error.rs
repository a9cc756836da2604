//! FIP-24's "Exception handling" table as a typed error.
//!
//! Each [`ErrorKind`] is one row of the table (plus three rows fio_dm 1.0 adds
//! for cases the FIP leaves open, marked below). A [`ProtocolError`] carries
//! the row's type (400/403/413), the field it names, the offending value and
//! the FIP's message text, verbatim (typos included: "Message to large").

use std::fmt;

/// One row of the exception table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidProtocol,
    InvalidId,
    InvalidAction,
    InvalidMessageId,
    InvalidReferencedMessageId,
    InvalidSenderFioAddress,
    InvalidRecipientFioAddress,
    InvalidReturnAddress,
    InvalidReturnAddressType,
    InvalidReturnIdToken,
    InvalidPublicAddress,
    InvalidChainCode,
    InvalidTokenCode,
    InvalidAmount,
    DecryptionFailure,
    InvalidSignature,
    NotOwner,
    PayloadTooLarge,
    /// fio_dm 1.0 addition: the envelope or the content is not the JSON the
    /// profile requires (duplicate keys, a non-string value, not an object).
    MalformedMessage,
    /// fio_dm 1.0 addition: a field the action requires is absent (for
    /// fields with no row of their own, such as `memo` or `message_status`).
    MissingField,
    /// fio_dm 1.0 addition: the message is valid but conflicts with the
    /// channel's state (e.g. accepting a request that was cancelled).
    InvalidState,
}

impl ErrorKind {
    /// The row's type: 400, 403 or 413.
    pub fn code(self) -> u16 {
        match self {
            ErrorKind::InvalidSignature | ErrorKind::NotOwner => 403,
            ErrorKind::PayloadTooLarge => 413,
            _ => 400,
        }
    }

    /// The row's error message, verbatim from the FIP.
    pub fn message(self) -> &'static str {
        match self {
            ErrorKind::InvalidProtocol => "Protocol not supported",
            ErrorKind::InvalidId => "Unrecognized id",
            ErrorKind::InvalidAction => "Unknown action",
            ErrorKind::InvalidMessageId => "Invalid or reused message number",
            ErrorKind::InvalidReferencedMessageId => "Invalid responded message Id",
            ErrorKind::InvalidSenderFioAddress | ErrorKind::InvalidRecipientFioAddress => {
                "Invalid fio address"
            }
            ErrorKind::InvalidReturnAddress => "Invalid return address",
            ErrorKind::InvalidReturnAddressType => "Unsupported return address type",
            ErrorKind::InvalidReturnIdToken => "Invalid return id token",
            ErrorKind::InvalidPublicAddress => "invalid public address",
            ErrorKind::InvalidChainCode => "Invalid Chain Code",
            ErrorKind::InvalidTokenCode => "Invalid Token Code",
            ErrorKind::InvalidAmount => "Invalid amount",
            ErrorKind::DecryptionFailure => "Unable to decrypt message",
            ErrorKind::InvalidSignature => "Invalid signature",
            ErrorKind::NotOwner => "Invalid id",
            ErrorKind::PayloadTooLarge => "Message to large",
            ErrorKind::MalformedMessage => "Malformed message",
            ErrorKind::MissingField => "Missing required field",
            ErrorKind::InvalidState => "Request is not pending",
        }
    }

    /// The field the FIP names for this row, if it names one.
    pub fn default_field(self) -> Option<&'static str> {
        Some(match self {
            ErrorKind::InvalidProtocol => "protocol",
            ErrorKind::InvalidId => "id_token",
            ErrorKind::InvalidAction => "action",
            ErrorKind::InvalidMessageId => "message_id",
            ErrorKind::InvalidReferencedMessageId | ErrorKind::InvalidState => {
                "referenced_message_id"
            }
            ErrorKind::InvalidSenderFioAddress => "sender_fio_address",
            ErrorKind::InvalidRecipientFioAddress => "recipient_fio_address",
            ErrorKind::InvalidReturnAddress => "return_address",
            ErrorKind::InvalidReturnAddressType => "return_address_type",
            ErrorKind::InvalidReturnIdToken => "return_id_token",
            ErrorKind::InvalidPublicAddress => "payee_public_address",
            ErrorKind::InvalidChainCode => "chain_code",
            ErrorKind::InvalidTokenCode => "token_code",
            ErrorKind::InvalidAmount => "amount",
            ErrorKind::InvalidSignature => "signature",
            ErrorKind::DecryptionFailure
            | ErrorKind::NotOwner
            | ErrorKind::PayloadTooLarge
            | ErrorKind::MalformedMessage
            | ErrorKind::MissingField => return None,
        })
    }
}

/// A message rejected by the FIP-24 rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    pub kind: ErrorKind,
    /// The field at fault (the FIP's `fields:name`).
    pub field: Option<String>,
    /// The offending value as sent (the FIP's `fields:value`), cut to 256 bytes.
    pub value: Option<String>,
}

const MAX_VALUE_ECHO: usize = 256;

impl ProtocolError {
    /// An error of `kind` for its own field.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            field: kind.default_field().map(str::to_string),
            value: None,
        }
    }

    /// An error of `kind` naming `field` and the offending `value`.
    pub fn at(kind: ErrorKind, field: &str, value: Option<&str>) -> Self {
        Self {
            kind,
            field: Some(field.to_string()),
            value: value.map(truncate),
        }
    }

    /// An error of `kind` for its own field, with the offending value.
    pub fn with_value(kind: ErrorKind, value: &str) -> Self {
        Self {
            value: Some(truncate(value)),
            ..Self::new(kind)
        }
    }

    pub fn code(&self) -> u16 {
        self.kind.code()
    }

    pub fn message(&self) -> &'static str {
        self.kind.message()
    }

    /// The `message_status` text that reports this error to the peer:
    /// `error:<type>` or `error:<type>:<field>` (docs/protocol.md §2.8).
    pub fn message_status(&self) -> String {
        match &self.field {
            Some(field) => format!("error:{}:{}", self.code(), field),
            None => format!("error:{}", self.code()),
        }
    }
}

fn truncate(value: &str) -> String {
    if value.len() <= MAX_VALUE_ECHO {
        return value.to_string();
    }
    let mut end = MAX_VALUE_ECHO;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_string()
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.message())?;
        if let Some(field) = &self.field {
            write!(f, " (field {field}")?;
            if let Some(value) = &self.value {
                write!(f, ", value {value:?}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProtocolError {}
