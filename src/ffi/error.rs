//! The one error type apps see. Its variants are what an app can act on,
//! and each has a stable code (`FioPeerError::code`), documented in
//! docs/ffi.md; messages are for people and may change.

use crate::crypto::{CryptoError, DecryptError};

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FioPeerError {
    /// 1: a value the app passed is not valid; `field` names it.
    #[error("invalid {field} {value:?}: {message}")]
    InvalidInput {
        field: String,
        value: String,
        message: String,
    },
    /// 2: something did not decrypt (wrong key, tampered, not for us).
    #[error("decryption failed")]
    DecryptionFailed,
    /// 10: an app callback failed unexpectedly.
    #[error("internal error: {message}")]
    Internal { message: String },
}

#[uniffi::export]
impl FioPeerError {
    /// The stable code of the variant.
    pub fn code(&self) -> u32 {
        match self {
            FioPeerError::InvalidInput { .. } => 1,
            FioPeerError::DecryptionFailed => 2,
            FioPeerError::Internal { .. } => 10,
        }
    }
}

impl FioPeerError {
    pub(crate) fn input(field: &str, value: &str, message: impl std::fmt::Display) -> FioPeerError {
        FioPeerError::InvalidInput {
            field: field.to_string(),
            value: value.to_string(),
            message: message.to_string(),
        }
    }
}

impl From<DecryptError> for FioPeerError {
    fn from(_: DecryptError) -> Self {
        FioPeerError::DecryptionFailed
    }
}

impl From<CryptoError> for FioPeerError {
    fn from(e: CryptoError) -> Self {
        let field = match &e {
            CryptoError::InvalidPrivateKey(_) => "private_key",
            CryptoError::InvalidPublicKey(_) => "public_key",
            CryptoError::InvalidSignature(_) => "signature",
            CryptoError::InvalidMnemonic(_) => "mnemonic",
            CryptoError::InvalidContent(_) => "content",
            CryptoError::InvalidDigestLength(_) => "digest",
        };
        FioPeerError::input(field, "", e)
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FioPeerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FioPeerError::Internal { message: e.reason }
    }
}
