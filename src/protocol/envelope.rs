//! The fio_dm envelope: the HTTP body that travels between inboxes.
//!
//! `{"protocol":"fio_dm","version":"1.0","id_token":…,"content":"<lowercase hex>"}`,
//! UTF-8 JSON, at most 8192 bytes, no duplicate keys, unknown keys ignored.

use super::error::{ErrorKind, ProtocolError};
use super::json::FlatObject;
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
        let obj = FlatObject::parse(body)?;
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

/// Strict lowercase hex: even length, only 0-9a-f. Table-driven: the
/// content is most of every envelope and this runs once per message.
fn decode_lower_hex(text: &str) -> Option<Vec<u8>> {
    const INVALID: u8 = 0xff;
    const TABLE: [u8; 256] = {
        let mut t = [INVALID; 256];
        let mut c = 0;
        while c < 10 {
            t[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            t[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        t
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut out = vec![0u8; bytes.len() / 2];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (hi, lo) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
        // One check at the end keeps the loop branch-free.
        bad |= (hi | lo) & 0xf0;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::decode_lower_hex;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decodes_what_hex_encodes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(decode_lower_hex(&hex::encode(&bytes)), Some(bytes));
        }

        #[test]
        fn accepts_exactly_even_lowercase_hex(text in "[0-9a-fA-Fg-z ]{0,40}") {
            let strict = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            prop_assert_eq!(decode_lower_hex(&text).is_some(), strict);
            if strict {
                prop_assert_eq!(decode_lower_hex(&text), hex::decode(&text).ok());
            }
        }
    }
}
