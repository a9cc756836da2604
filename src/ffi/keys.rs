//! Keys: 1:1 over `crate::crypto`.

use super::FioPeerError;
use crate::crypto::{derive_from_mnemonic, generate_mnemonic, PrivateKey, PublicKey};

/// A new BIP39 mnemonic of 12 or 24 English words.
#[uniffi::export]
pub fn new_mnemonic(words: u8) -> Result<String, FioPeerError> {
    generate_mnemonic(words as usize)
        .map(|m| m.to_string())
        .map_err(|e| FioPeerError::input("words", &words.to_string(), e))
}

/// The FIO private key (WIF) of a mnemonic, at m/44'/235'/0'/0/0 as fiosdk derives it.
#[uniffi::export]
pub fn private_key_from_mnemonic(mnemonic: String) -> Result<String, FioPeerError> {
    let key = derive_from_mnemonic(&mnemonic)?;
    Ok(key.to_wif().to_string())
}

/// The FIO public key (FIO…) of a private key (WIF or PVT_K1_).
#[uniffi::export]
pub fn public_key_of(private_key: String) -> Result<String, FioPeerError> {
    Ok(PrivateKey::parse(&private_key)?
        .public_key()
        .to_fio_string())
}

/// The FIO account name (actor) of a public key.
#[uniffi::export]
pub fn account_of(public_key: String) -> Result<String, FioPeerError> {
    Ok(PublicKey::parse(&public_key)?.account_name())
}
