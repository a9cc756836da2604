//! fio_dm 1.0 cryptography: content sealing for channel and first messages,
//! the signing digest, and length padding (docs/protocol.md §2.3–2.6).

use crate::crypto::primitives::hmac_sha512;
use crate::crypto::{
    check_decrypt_any, check_encrypt, check_encrypt_with_iv, sha256, DecryptError, PrivateKey,
    PublicKey, SharedSecret, Signature, IV_LEN,
};

use super::error::{ErrorKind, ProtocolError};
use super::json::FlatObject;

pub const CHANNEL_LABEL: &[u8] = b"fio_dm/1.0 channel";
pub const NEW_LABEL: &[u8] = b"fio_dm/1.0 new";
pub const SIGNATURE_LABEL: &[u8] = b"fio_dm/1.0 signature";

/// Plaintext sizes (bytes) a sender pads to with trailing spaces. The largest
/// keeps any envelope, first message included, within 8192 bytes.
pub const PADDING_BUCKETS: [usize; 5] = [256, 512, 1024, 2048, 3952];

/// The symmetric secrets of one channel (own key, peer key): the one we
/// encrypt with first, then the padded-ECDH variant to try on decryption.
#[derive(Clone, Debug)]
pub struct ChannelKey {
    secrets: Vec<SharedSecret>,
}

impl ChannelKey {
    /// secret = HMAC-SHA512(key = S, msg = "fio_dm/1.0 channel"), for each ECDH form of S.
    pub fn derive(own: &PrivateKey, peer: &PublicKey) -> Self {
        let secrets = own
            .shared_secret_candidates(peer)
            .iter()
            .map(|s| SharedSecret::from_bytes(hmac_sha512(s.as_bytes(), &[CHANNEL_LABEL])))
            .collect();
        Self { secrets }
    }

    /// IV ‖ C ‖ tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        check_encrypt(self.secrets[0].as_bytes(), plaintext)
    }

    #[doc(hidden)]
    pub fn seal_with_iv(&self, plaintext: &[u8], iv: &[u8; IV_LEN]) -> Vec<u8> {
        check_encrypt_with_iv(self.secrets[0].as_bytes(), plaintext, iv)
    }

    pub fn open(&self, content: &[u8]) -> Result<Vec<u8>, DecryptError> {
        check_decrypt_any(&self.secrets, content)
    }
}

/// HMAC-SHA512(key = S, msg = "fio_dm/1.0 new" ‖ R ‖ recipient key).
fn new_secret(s: &SharedSecret, r: &[u8; 33], recipient: &PublicKey) -> SharedSecret {
    SharedSecret::from_bytes(hmac_sha512(
        s.as_bytes(),
        &[NEW_LABEL, r, recipient.as_bytes()],
    ))
}

/// Seals a first message to `recipient` with a fresh ephemeral key:
/// R ‖ checkEncrypt(secret, plaintext).
pub fn seal_new(recipient: &PublicKey, plaintext: &[u8]) -> Vec<u8> {
    let ephemeral = PrivateKey::generate();
    let mut iv = [0u8; IV_LEN];
    crate::crypto::random_bytes(&mut iv);
    seal_new_with(&ephemeral, &iv, recipient, plaintext)
}

/// [`seal_new`] with the ephemeral key and IV given: for test vectors only.
#[doc(hidden)]
pub fn seal_new_with(
    ephemeral: &PrivateKey,
    iv: &[u8; IV_LEN],
    recipient: &PublicKey,
    plaintext: &[u8],
) -> Vec<u8> {
    let r = ephemeral.public_key().to_bytes();
    let secret = new_secret(&ephemeral.shared_secret(recipient), &r, recipient);
    let mut out = Vec::with_capacity(33 + plaintext.len() + 64);
    out.extend_from_slice(&r);
    out.extend_from_slice(&check_encrypt_with_iv(secret.as_bytes(), plaintext, iv));
    out
}

/// Opens a first message sealed to our key. R must be a valid compressed
/// point; both ECDH forms are tried, and the MAC decides.
pub fn open_new(own: &PrivateKey, content: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if content.len() < 33 {
        return Err(DecryptError);
    }
    let (r_bytes, sealed) = content.split_at(33);
    let r = PublicKey::from_sec1(r_bytes).map_err(|_| DecryptError)?;
    let r_bytes: &[u8; 33] = r_bytes.try_into().expect("33 bytes");
    let secrets: Vec<SharedSecret> = own
        .shared_secret_candidates(&r)
        .iter()
        .map(|s| new_secret(s, r_bytes, own.public_key()))
        .collect();
    check_decrypt_any(&secrets, sealed)
}

/// SHA-256("fio_dm/1.0 signature" ‖ 0x00 ‖ recipient key (33) ‖ data bytes).
/// Binding the recipient's key stops a signed message from being forwarded
/// to someone else.
pub fn signing_digest(recipient: &PublicKey, data: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(SIGNATURE_LABEL.len() + 34 + data.len());
    buf.extend_from_slice(SIGNATURE_LABEL);
    buf.push(0);
    buf.extend_from_slice(recipient.as_bytes());
    buf.extend_from_slice(data);
    sha256(&buf)
}

/// Signs `data` for `recipient`.
pub fn sign_data(key: &PrivateKey, recipient: &PublicKey, data: &str) -> Signature {
    key.sign_digest(&signing_digest(recipient, data.as_bytes()))
}

/// Verifies a signature over `data` for `recipient`: only low-S, canonical
/// signatures are accepted.
pub fn verify_data(
    signer: &PublicKey,
    recipient: &PublicKey,
    data: &str,
    signature: &Signature,
) -> bool {
    signature.is_canonical()
        && signature.verify_digest(&signing_digest(recipient, data.as_bytes()), signer)
}

/// `{"data":"<data text>","signature":"SIG_K1_…"}` padded with trailing
/// spaces to the smallest bucket that holds it. Too large → 413.
pub fn build_plaintext(data: &str, signature: &Signature) -> Result<Vec<u8>, ProtocolError> {
    let json = serde_json::json!({ "data": data, "signature": signature.to_string() }).to_string();
    let bucket = PADDING_BUCKETS
        .iter()
        .copied()
        .find(|&b| b >= json.len())
        .ok_or_else(|| ProtocolError::new(ErrorKind::PayloadTooLarge))?;
    let mut out = json.into_bytes();
    out.resize(bucket, b' ');
    Ok(out)
}

/// The two strings of a decrypted plaintext. Trailing whitespace (padding)
/// is allowed; duplicate keys and non-string values are not.
pub fn parse_plaintext(plaintext: &[u8]) -> Result<(String, String), ProtocolError> {
    let obj = FlatObject::parse(plaintext)?;
    let data = obj
        .get("data")
        .ok_or_else(|| ProtocolError::at(ErrorKind::MissingField, "data", None))?;
    let sig = obj
        .get("signature")
        .ok_or_else(|| ProtocolError::new(ErrorKind::InvalidSignature))?;
    Ok((data.to_string(), sig.to_string()))
}
