//! The fio_dm envelope: the HTTP body that travels between inboxes.
//!
//! `{"protocol":"fio_dm","version":"1.0","id_token":…,"content":"<lowercase hex>"}`,
//! UTF-8 JSON, at most 8192 bytes, no duplicate keys, unknown keys ignored.

use super::error::{ErrorKind, ProtocolError};
use super::json::{FlatError, FlatObject};
use super::token::{is_fip_token, NEW_TOKEN};

pub const PROTOCOL: &str = "fio_dm";
pub const VERSION: &str = "1.0";
/// FIP-24's 8 KB limit, for the whole envelope.
pub const MAX_ENVELOPE_LEN: usize = 8192;

/// Who the envelope says it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdToken {
    /// `"NEW"`: a first message, sealed to the recipient's FIO key.
    New,
    /// A token the recipient issued to the sender.
    Token(String),
}

/// A parsed, structurally valid envelope (nothing decrypted yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub id_token: IdToken,
    /// The decoded `content` bytes.
    pub content: Vec<u8>,
}

impl Envelope {
    /// Validates the raw body: size, JSON shape, protocol, version, id_token
    /// format and content encoding, in that order.
    pub fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        if body.len() > MAX_ENVELOPE_LEN {
            return Err(ProtocolError::new(ErrorKind::PayloadTooLarge));
        }
        let obj = FlatObject::parse(body).map_err(|e| match e {
            FlatError::Syntax => ProtocolError::new(ErrorKind::MalformedMessage),
            FlatError::DuplicateKey(k) | FlatError::NotAString(k) => {
                ProtocolError::at(ErrorKind::MalformedMessage, &k, None)
            }
        })?;
        let field = |name: &str| {
            obj.get(name)
                .ok_or_else(|| ProtocolError::at(ErrorKind::MissingField, name, None))
        };
        let protocol = field("protocol")?;
        if protocol != PROTOCOL {
            return Err(ProtocolError::with_value(
                ErrorKind::InvalidProtocol,
                protocol,
            ));
        }
        let version = field("version")?;
        if version != VERSION {
            // One version, one suite: no fallback that could be a downgrade.
            return Err(ProtocolError::at(
                ErrorKind::InvalidProtocol,
                "version",
                Some(version),
            ));
        }
        let token = field("id_token")?;
        let id_token = if token == NEW_TOKEN {
            IdToken::New
        } else if is_fip_token(token) {
            IdToken::Token(token.to_string())
        } else {
            return Err(ProtocolError::with_value(ErrorKind::InvalidId, token));
        };
        let content = decode_lower_hex(field("content")?)
            .ok_or_else(|| ProtocolError::new(ErrorKind::DecryptionFailure))?;
        Ok(Envelope { id_token, content })
    }

    /// The envelope's bytes, keys in the profile's order, no whitespace.
    pub fn to_json(&self) -> String {
        let token = match &self.id_token {
            IdToken::New => NEW_TOKEN,
            IdToken::Token(t) => t.as_str(),
        };
        format!(
            "{{\"protocol\":\"{PROTOCOL}\",\"version\":\"{VERSION}\",\"id_token\":{},\"content\":\"{}\"}}",
            serde_json::to_string(token).expect("a string serializes"),
            hex::encode(&self.content)
        )
    }
}

/// Strict lowercase hex: even length, only 0-9a-f. One pass, no
/// intermediate checks (the content is most of every envelope).
fn decode_lower_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}
