//! FIO account names (actors) from public keys, as fiojs `accountHash`.
//!
//! The bytes after the parity byte are read as 5-bit groups (4 bits for the
//! 13th), skipping zero groups, packed into an EOSIO name, and the name's first
//! 12 characters are kept. The parity byte is ignored, so P and −P share a name.

use ripemd::{Digest, Ripemd160};

use super::PublicKey;

/// The 12-character account name for `key`.
pub fn account_name(key: &PublicKey) -> String {
    // fiojs works on the base58-decoded `FIO…` string: point ‖ 4-byte checksum.
    let mut b = [0u8; 37];
    b[..33].copy_from_slice(key.as_bytes());
    b[33..].copy_from_slice(&Ripemd160::digest(key.as_bytes())[..4]);

    let mut value: u64 = 0;
    let (mut i, mut len) = (1usize, 0u32);
    // fiojs would loop forever past the buffer; that needs 25+ zero groups in
    // 36 bytes, which no real key has, so stopping there is safe.
    while len <= 12 && i < b.len() {
        let group = (b[i] & if len == 12 { 0x0f } else { 0x1f }) as u64;
        i += 1;
        if group == 0 {
            continue;
        }
        let shift = if len == 12 { 0 } else { 5 * (12 - len) - 1 };
        value |= group << shift;
        len += 1;
    }

    // The 13th character (the low 4 bits) is dropped, as fiojs does.
    let mut name = crate::chain::Name(value & !0x0f).as_string();
    name.truncate(12);
    name
}
