//! fiojs `checkEncrypt` / `checkDecrypt`: AES-256-CBC with PKCS#7 padding,
//! then HMAC-SHA256 over IV ‖ ciphertext (encrypt-then-MAC).
//!
//! K = SHA-512(secret); Ke = K[0..32] is the AES key, Km = K[32..64] the MAC key.
//! Output: IV (16) ‖ C (16·k, k ≥ 1) ‖ T (32).
//!
//! Decryption checks length and alignment, then the tag in constant time,
//! and only then decrypts and unpads. Every failure is the same
//! [`DecryptError`].

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{DecryptError, SharedSecret};

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

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
    fn enc(&self) -> &[u8] {
        &self.0[..32]
    }
    fn mac(&self) -> &[u8] {
        &self.0[32..]
    }
    fn tag(&self, iv_and_ciphertext: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = HmacSha256::new_from_slice(self.mac()).expect("HMAC takes any key length");
        mac.update(iv_and_ciphertext);
        mac.finalize().into_bytes().into()
    }
}

/// `checkEncrypt(secret, plaintext)` with a fresh random IV.
pub fn check_encrypt(secret: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut iv = [0u8; IV_LEN];
    OsRng.fill_bytes(&mut iv);
    check_encrypt_with_iv(secret, plaintext, &iv)
}

/// `checkEncrypt` with a caller-chosen IV. Only for test vectors: reusing an
/// IV under one secret leaks equality of plaintext prefixes.
pub fn check_encrypt_with_iv(secret: &[u8], plaintext: &[u8], iv: &[u8; IV_LEN]) -> Vec<u8> {
    let keys = Keys::derive(secret);
    let ct_len = (plaintext.len() / BLOCK + 1) * BLOCK;
    let mut out = Vec::with_capacity(IV_LEN + ct_len + MAC_LEN);
    out.extend_from_slice(iv);
    out.resize(IV_LEN + ct_len, 0);
    Aes256CbcEnc::new_from_slices(keys.enc(), iv)
        .expect("key and IV lengths are fixed")
        .encrypt_padded_b2b_mut::<Pkcs7>(plaintext, &mut out[IV_LEN..])
        .expect("output sized for the padded plaintext");
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
pub fn check_decrypt_any<S: AsRef<[u8]>>(secrets: &[S], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if data.len() < MIN_LEN || (data.len() - IV_LEN - MAC_LEN) % BLOCK != 0 {
        return Err(DecryptError);
    }
    let (body, tag) = data.split_at(data.len() - MAC_LEN);
    let keys = secrets
        .iter()
        .map(|s| Keys::derive(s.as_ref()))
        .find(|k| bool::from(k.tag(body).ct_eq(tag)))
        .ok_or(DecryptError)?;
    let (iv, ciphertext) = body.split_at(IV_LEN);
    Aes256CbcDec::new_from_slices(keys.enc(), iv)
        .expect("key and IV lengths are fixed")
        .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
        .map_err(|_| DecryptError)
}

impl AsRef<[u8]> for SharedSecret {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}
