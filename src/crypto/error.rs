//! Errors of the crypto layer.
//!
//! Parsing errors say what was wrong, because the input is the caller's own
//! (a key they typed, a signature they received). Decryption has exactly one
//! error, [`DecryptError`], whatever failed inside, so a peer cannot learn
//! which check rejected a ciphertext (padding-oracle discipline).

use std::fmt;

/// A key, signature, mnemonic or content that could not be parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A private key string or scalar was malformed or out of range.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// A public key string or point was malformed, had a bad checksum or is not on the curve.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    /// A signature string was malformed or had a bad checksum.
    #[error("invalid signature: {0}")]
    InvalidSignature(&'static str),
    /// A BIP39 mnemonic was rejected (unknown word, bad checksum, bad length).
    #[error("invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// Content could not be ABI packed or unpacked.
    #[error("invalid content: {0}")]
    InvalidContent(String),
    /// A digest was not exactly 32 bytes.
    #[error("a digest must be 32 bytes, got {0}")]
    InvalidDigestLength(usize),
}

/// The single error for every decryption failure: short or misaligned input,
/// a wrong MAC (wrong key or tampering), bad padding, or undecodable content.
#[derive(Clone, Copy, PartialEq, Eq, Default, thiserror::Error)]
#[error("decryption failed")]
pub struct DecryptError;

impl fmt::Debug for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecryptError")
    }
}
