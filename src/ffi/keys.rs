//! Keys: opaque objects over `crate::crypto::PrivateKey` and
//! `crate::store::DatabaseKey`, so a secret never crosses the FFI as a
//! value an app can print, log or keep in a data class.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::FioPeerError;
use crate::crypto::{
    derive_account_from_mnemonic, generate_mnemonic, PrivateKey, PublicKey, MAX_ACCOUNT,
};
use crate::store::DatabaseKey;

/// A new BIP39 mnemonic of 12 or 24 English words, for the user to write
/// down; open the wallet with `FioKey.from_mnemonic`.
#[uniffi::export(default(words = 24))]
pub fn new_mnemonic(words: i32) -> Result<String, FioPeerError> {
    let bad = |e: &dyn std::fmt::Display| FioPeerError::input("words", &words.to_string(), e);
    let count = usize::try_from(words).map_err(|_| bad(&"12 or 24"))?;
    generate_mnemonic(count)
        .map(|m| m.to_string())
        .map_err(|e| bad(&e))
}

/// The FIO account name (actor) of a public key.
#[uniffi::export]
pub fn account_of(public_key: String) -> Result<String, FioPeerError> {
    Ok(PublicKey::parse(&public_key)?.account_name())
}

/// A FIO private key. It prints as its public key only (`toString`,
/// `description`, `repr`), and its secret is wiped from memory when the
/// object is released. The text it was made from is wiped on the Rust side
/// as soon as it is parsed; a JVM or Swift string cannot be wiped, so read
/// the secret into it just before and drop it at once.
#[derive(uniffi::Object, PartialEq, Eq)]
#[uniffi::export(Display, Debug, Eq)]
pub struct FioKey(PrivateKey);

impl FioKey {
    pub(crate) fn private_key(&self) -> &PrivateKey {
        &self.0
    }
}

#[uniffi::export]
impl FioKey {
    /// From a WIF (`5…`) or `PVT_K1_…` private key.
    #[uniffi::constructor]
    pub fn from_wif(wif: String) -> Result<Arc<FioKey>, FioPeerError> {
        let wif = Zeroizing::new(wif);
        Ok(Arc::new(FioKey(PrivateKey::parse(&wif)?)))
    }

    /// The key of account `account` of a BIP39 mnemonic, at
    /// m/44'/235'/`account`'/0/0; account 0 (the default) is the key fiosdk
    /// derives.
    #[uniffi::constructor(default(account = 0))]
    pub fn from_mnemonic(mnemonic: String, account: i32) -> Result<Arc<FioKey>, FioPeerError> {
        let mnemonic = Zeroizing::new(mnemonic);
        let Some(account) = u32::try_from(account).ok().filter(|&a| a <= MAX_ACCOUNT) else {
            return Err(FioPeerError::input(
                "account",
                &account.to_string(),
                format!("0 to {MAX_ACCOUNT}"),
            ));
        };
        Ok(Arc::new(FioKey(derive_account_from_mnemonic(
            &mnemonic, account,
        )?)))
    }

    /// `FIO…`.
    pub fn public_key(&self) -> String {
        self.0.public_key().to_fio_string()
    }

    /// The FIO account name (actor) of the key.
    pub fn account_name(&self) -> String {
        self.0.public_key().account_name()
    }

    /// The private key as WIF, to show to the user for a backup. Every
    /// copy of it is the app's to keep out of logs.
    pub fn export_wif(&self) -> String {
        self.0.to_wif().to_string()
    }
}

impl std::fmt::Display for FioKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FioKey({})", self.public_key())
    }
}

impl std::fmt::Debug for FioKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The 32-byte key the wallet database is encrypted with, when the app
/// keeps one of its own (by default it is derived from the `FioKey`).
/// Prints as `FioDatabaseKey(…)`; wiped when released.
#[derive(uniffi::Object, PartialEq, Eq)]
#[uniffi::export(Display, Debug)]
pub struct FioDatabaseKey(DatabaseKey);

impl FioDatabaseKey {
    pub(crate) fn key(&self) -> &DatabaseKey {
        &self.0
    }
}

#[uniffi::export]
impl FioDatabaseKey {
    /// 32 bytes (e.g. from the Keychain or a Keystore-wrapped blob); the
    /// Rust copy of the array is wiped once read.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<FioDatabaseKey>, FioPeerError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() != 32 {
            return Err(FioPeerError::input(
                "database_key",
                &format!("{} bytes", bytes.len()),
                "32 bytes",
            ));
        }
        let mut array = Zeroizing::new([0u8; 32]);
        array.copy_from_slice(&bytes);
        Ok(Arc::new(FioDatabaseKey(DatabaseKey::from_bytes(*array))))
    }

    /// The key a wallet of `key` uses by default (HKDF-SHA256 of the private
    /// key, docs/protocol.md §6.2): to go back to it after a `rekey`.
    #[uniffi::constructor]
    pub fn derived_from(key: Arc<FioKey>) -> Arc<FioDatabaseKey> {
        Arc::new(FioDatabaseKey(DatabaseKey::derive(key.private_key())))
    }
}

impl std::fmt::Display for FioDatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FioDatabaseKey(…)")
    }
}

impl std::fmt::Debug for FioDatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
