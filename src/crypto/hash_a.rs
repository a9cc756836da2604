//! FIP-3's "Hash Function A", as fiojs `SharedCipher.hashA`:
//! "0x" + lowercase hex of the first 16 bytes of HMAC-SHA1(key = secret, msg = data).
//! The 16 bytes fit the chain's uint128 index columns.

use super::primitives::hmac_sha1;

/// `hashA`: the HMAC key is the 64-byte shared secret.
pub fn hash_a(secret: &[u8], data: &[u8]) -> String {
    format!("0x{}", hex::encode(&hmac_sha1(secret, &[data])[..16]))
}

/// `hashA` with the HMAC key `secret ‖ key_suffix`: FIP-3's request indexes
/// ("Secret + Payer's FIO Public Key" as the key).
pub fn hash_a_with_key_suffix(secret: &[u8], key_suffix: &[u8], data: &[u8]) -> String {
    let mut key = zeroize::Zeroizing::new(Vec::with_capacity(secret.len() + key_suffix.len()));
    key.extend_from_slice(secret);
    key.extend_from_slice(key_suffix);
    hash_a(&key, data)
}
