//! fiojs `checkEncrypt` / `checkDecrypt`: AES-256-CBC with PKCS#7 padding,
//! then HMAC-SHA256 over IV ‖ ciphertext (encrypt-then-MAC).
//!
//! K = SHA-512(secret); Ke = K[0..32] is the AES key, Km = K[32..64] the MAC key.
//! Output: IV (16) ‖ C (16·k, k ≥ 1) ‖ T (32).
//!
//! Decryption checks length and alignment, then the tag in constant time,
//! and only then decrypts and unpads. Every failure is the same
//! [`DecryptError`].

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::primitives::{aes256_cbc_decrypt, aes256_cbc_encrypt, hmac_sha256};
use super::{DecryptError, SharedSecret};

pub const IV_LEN: usize = 16;
pub const MAC_LEN: usize = 32;
const BLOCK: usize = 16;
/// The shortest valid message: IV, one block, tag.
const MIN_LEN: usize = IV_LEN + BLOCK + MAC_LEN;

struct Keys(Zeroizing<[u8; 64]>);

impl Keys {
    fn derive(secret: &[u8]) -> Self {
        let mut k = Zeroizing::new([0u8; 64]);
        k.copy_from_slice(&Sha512::digest(secret));
        Keys(k)
    }
    fn enc(&self) -> &[u8; 32] {
        self.0[..32].try_into().expect("32 bytes")
    }
    fn tag(&self, iv_and_ciphertext: &[u8]) -> [u8; MAC_LEN] {
        hmac_sha256(&self.0[32..], &[iv_and_ciphertext])
    }
}

/// `checkEncrypt(secret, plaintext)` with a fresh random IV.
pub fn check_encrypt(secret: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut iv = [0u8; IV_LEN];
    super::random_bytes(&mut iv);
    check_encrypt_with_iv(secret, plaintext, &iv)
}

/// `checkEncrypt` with a caller-chosen IV. Only for test vectors: reusing an
/// IV under one secret leaks equality of plaintext prefixes.
pub fn check_encrypt_with_iv(secret: &[u8], plaintext: &[u8], iv: &[u8; IV_LEN]) -> Vec<u8> {
    let keys = Keys::derive(secret);
    let ciphertext = aes256_cbc_encrypt(keys.enc(), iv, plaintext);
    let mut out = Vec::with_capacity(IV_LEN + ciphertext.len() + MAC_LEN);
    out.extend_from_slice(iv);
    out.extend_from_slice(&ciphertext);
    let tag = keys.tag(&out);
    out.extend_from_slice(&tag);
    out
}

/// `checkDecrypt(secret, data)`.
pub fn check_decrypt(secret: &[u8], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    check_decrypt_any(std::slice::from_ref(&secret), data)
}

/// Decrypts with the first of `secrets` whose MAC matches. Used for the
/// fiojs/padded ECDH forms: the MAC, not the caller, decides.
pub fn check_decrypt_any<S: AsRef<[u8]>>(
    secrets: &[S],
    data: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if data.len() < MIN_LEN || !(data.len() - IV_LEN - MAC_LEN).is_multiple_of(BLOCK) {
        return Err(DecryptError);
    }
    let (body, tag) = data.split_at(data.len() - MAC_LEN);
    let keys = secrets
        .iter()
        .map(|s| Keys::derive(s.as_ref()))
        .find(|k| bool::from(k.tag(body).ct_eq(tag)))
        .ok_or(DecryptError)?;
    let (iv, ciphertext) = body.split_at(IV_LEN);
    aes256_cbc_decrypt(keys.enc(), iv.try_into().expect("16 bytes"), ciphertext)
}

impl AsRef<[u8]> for SharedSecret {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}
