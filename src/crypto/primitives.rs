//! The symmetric building blocks under checkEncrypt and hashA, as thin
//! wrappers over RustCrypto. Public so that they are tested directly against
//! Project Wycheproof (`tests/wycheproof.rs`) in the exact form we use them.

use aes::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use super::DecryptError;

/// AES-256-CBC with PKCS#7 padding. The output is 16·(⌊len/16⌋ + 1) bytes.
pub fn aes256_cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(plaintext)
}

/// AES-256-CBC decryption and PKCS#7 unpadding. Misaligned input and bad
/// padding are both [`DecryptError`]. Callers must authenticate first.
pub fn aes256_cbc_decrypt(
    key: &[u8; 32],
    iv: &[u8; 16],
    ciphertext: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return Err(DecryptError);
    }
    cbc::Decryptor::<aes::Aes256>::new(key.into(), iv.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| DecryptError)
}

macro_rules! hmac_fn {
    ($name:ident, $hash:ty, $len:expr, $doc:expr) => {
        #[doc = $doc]
        pub fn $name(key: &[u8], parts: &[&[u8]]) -> [u8; $len] {
            let mut mac = Hmac::<$hash>::new_from_slice(key).expect("HMAC takes any key length");
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().into()
        }
    };
}

hmac_fn!(
    hmac_sha1,
    Sha1,
    20,
    "HMAC-SHA1 over the concatenation of `parts`."
);
hmac_fn!(
    hmac_sha256,
    Sha256,
    32,
    "HMAC-SHA256 over the concatenation of `parts`."
);
hmac_fn!(
    hmac_sha512,
    Sha512,
    64,
    "HMAC-SHA512 over the concatenation of `parts`."
);
