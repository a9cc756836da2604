//! FIO cryptography, byte-compatible with `@fioprotocol/fiojs` 1.0.2 and
//! `@fioprotocol/fiosdk` 1.10.3.
//!
//! Pure functions and value types: no I/O, no global state, no uniffi.
//! Every secret (private scalars, shared secrets, derived keys) is zeroized
//! when dropped and never shown by `Debug`.
//!
//! The exact algorithms, with their fiojs quirks, are specified in
//! `docs/protocol.md` §1 and proven by the vectors in `tests/`.

mod account;
mod base58;
mod check;
mod content;
mod ecdh;
mod error;
mod hash_a;
mod hd;
mod keys;
pub mod primitives;
mod signature;

pub use account::account_name;
pub use check::{
    check_decrypt, check_decrypt_any, check_encrypt, check_encrypt_with_iv, IV_LEN, MAC_LEN,
};
pub use content::{
    decrypt_content, decrypt_content_json, decrypt_fip3_content, encrypt_content,
    encrypt_content_json, encrypt_content_with_iv, encrypt_fip3_content,
    encrypt_fip3_content_with_iv, pad_fip3, ContentType, FioContent, FriendContent,
    NewFundsContent, PrivRecordSendContent, RecordObtDataContent, FIP3_CONTENT_BUCKETS,
};
pub use ecdh::SharedSecret;
pub use error::{CryptoError, DecryptError};
pub use hash_a::{hash_a, hash_a_with_key_suffix};
pub use hd::{
    derive_account_from_mnemonic, derive_from_mnemonic, generate_mnemonic, FIO_DERIVATION_PATH,
    MAX_ACCOUNT,
};
pub use keys::{PrivateKey, PublicKey};
pub use signature::Signature;

use sha2::{Digest, Sha256};

/// Fills `buf` from the operating system's RNG. There is no fallback: if
/// the OS cannot give randomness, nothing that needs it may go on.
pub fn random_bytes(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed")
}

/// SHA-256 of `data`, the digest fiojs `Ecc.sign` signs.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}
