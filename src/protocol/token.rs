//! id tokens and message ids.
//!
//! FIP-24 allows tokens of 8–64 characters from `[A-Za-z0-9._+-]` (its
//! "[a-Z]" read as both cases) and message ids of 1–64 such characters.
//! fio_dm 1.0 issues 32 lowercase hex tokens (128 random bits) and 16 hex
//! digit random message ids, and accepts anything the FIP allows from peers.

use crate::crypto::random_bytes;

/// The id_token of a first message.
pub const NEW_TOKEN: &str = "NEW";

fn is_fip_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+')
}

/// A token as FIP-24 allows it (8–64 of `[A-Za-z0-9._+-]`). "NEW" is not one.
pub fn is_fip_token(s: &str) -> bool {
    (8..=64).contains(&s.len()) && s.bytes().all(is_fip_char)
}

/// A message id as FIP-24 allows it (1–64 of `[A-Za-z0-9._+-]`).
pub fn is_message_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(is_fip_char)
}

/// A fresh id token: 128 bits from the OS RNG as 32 lowercase hex digits.
pub fn generate_token() -> String {
    let mut b = [0u8; 16];
    random_bytes(&mut b);
    hex::encode(b)
}

/// A fresh message id: 64 random bits as 16 hex digits. Random rather than a
/// counter, so a wallet restored without its database cannot repeat old ids.
pub fn generate_message_id() -> String {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    hex::encode(b)
}
