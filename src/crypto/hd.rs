//! BIP39 mnemonics and the FIO derivation path, as fiosdk
//! `createPrivateKeyMnemonic`: seed = BIP39(mnemonic, passphrase ""), key =
//! BIP32 m/44'/235'/0'/0/0 (SLIP-44 coin 235). Further accounts of one
//! mnemonic are m/44'/235'/N'/0/0, as BIP44 numbers them.
//!
//! Unlike fiosdk we validate the mnemonic (English word list and checksum)
//! before deriving: a mistyped phrase must fail, not open an empty wallet.

use bip39::{Language, Mnemonic};
use zeroize::Zeroizing;

use super::{CryptoError, PrivateKey};

/// The path fiosdk derives FIO keys at.
pub const FIO_DERIVATION_PATH: &str = "m/44'/235'/0'/0/0";

/// A new English mnemonic of 12 or 24 words from the OS RNG.
pub fn generate_mnemonic(words: usize) -> Result<Zeroizing<String>, CryptoError> {
    let entropy_len = match words {
        12 => 16,
        24 => 32,
        _ => {
            return Err(CryptoError::InvalidMnemonic(format!(
                "{words} words: choose 12 or 24"
            )))
        }
    };
    let mut entropy = Zeroizing::new([0u8; 32]);
    super::random_bytes(&mut entropy[..entropy_len]);
    let mnemonic = Mnemonic::from_entropy_in(Language::English, &entropy[..entropy_len])
        .map_err(|e| CryptoError::InvalidMnemonic(e.to_string()))?;
    Ok(Zeroizing::new(mnemonic.to_string()))
}

/// The most accounts a mnemonic has: BIP32 hardened indexes are below 2^31.
pub const MAX_ACCOUNT: u32 = (1 << 31) - 1;

/// The FIO private key of `mnemonic` at m/44'/235'/0'/0/0.
pub fn derive_from_mnemonic(mnemonic: &str) -> Result<PrivateKey, CryptoError> {
    derive_account_from_mnemonic(mnemonic, 0)
}

/// The FIO private key of account `account` of `mnemonic`, at
/// m/44'/235'/`account`'/0/0 (account 0 is fiosdk's key).
pub fn derive_account_from_mnemonic(
    mnemonic: &str,
    account: u32,
) -> Result<PrivateKey, CryptoError> {
    if account > MAX_ACCOUNT {
        return Err(CryptoError::InvalidMnemonic(format!(
            "account {account}: at most {MAX_ACCOUNT}"
        )));
    }
    let mnemonic = Mnemonic::parse_in(Language::English, mnemonic)
        .map_err(|e| CryptoError::InvalidMnemonic(e.to_string()))?;
    let seed = Zeroizing::new(mnemonic.to_seed(""));
    let path = format!("m/44'/235'/{account}'/0/0")
        .parse::<bip32::DerivationPath>()
        .expect("a valid path for every account up to MAX_ACCOUNT");
    let xprv = bip32::XPrv::derive_from_path(&seed[..], &path)
        .map_err(|_| CryptoError::InvalidMnemonic("BIP32 derivation failed".into()))?;
    let bytes = Zeroizing::new(xprv.private_key().to_bytes());
    PrivateKey::from_bytes(&bytes)
}
