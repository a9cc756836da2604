//! Web Push as an application server speaks it: the body encrypted to the
//! subscription's keys (RFC 8291, one aes128gcm record of RFC 8188) and the
//! relay's VAPID identification (RFC 8292, an ES256 JWT). Built on
//! RustCrypto's p256, hkdf and aes-gcm; checked against Python's http_ece
//! and a JWT verifier in bindings/test_push.py.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::Aes128Gcm;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use hkdf::Hkdf;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The record size written in the header: one record carries everything.
pub const RECORD_SIZE: u32 = 4096;
/// Header: salt (16), rs (4), idlen (1), keyid (the 65-byte public key).
const HEADER_LEN: usize = 16 + 4 + 1 + 65;
/// AES-GCM's tag.
const TAG_LEN: usize = 16;
/// The largest plaintext one record holds (its delimiter byte and the tag
/// take the rest).
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - HEADER_LEN - TAG_LEN - 1;

/// Whether `point` is an uncompressed point of P-256.
pub fn on_curve(point: &[u8; 65]) -> bool {
    PublicKey::from_sec1_bytes(point).is_ok()
}

fn random_secret() -> SecretKey {
    loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        fio_peer::crypto::random_bytes(&mut bytes[..]);
        if let Ok(key) = SecretKey::from_slice(&bytes[..]) {
            return key;
        }
    }
}

fn uncompressed(key: &PublicKey) -> [u8; 65] {
    let mut out = [0u8; 65];
    out.copy_from_slice(key.to_sec1_point(false).as_bytes());
    out
}

/// Encrypts `plaintext` to a subscription (RFC 8291 §3.4): the whole
/// aes128gcm body, header included. `None` when it would not fit one record.
pub fn encrypt(plaintext: &[u8], p256dh: &[u8; 65], auth: &[u8; 16]) -> Option<Vec<u8>> {
    let mut salt = [0u8; 16];
    fio_peer::crypto::random_bytes(&mut salt);
    encrypt_with(plaintext, p256dh, auth, &random_secret(), salt)
}

/// [`encrypt`] with the sender's key and salt given (tests).
pub fn encrypt_with(
    plaintext: &[u8],
    p256dh: &[u8; 65],
    auth: &[u8; 16],
    sender: &SecretKey,
    salt: [u8; 16],
) -> Option<Vec<u8>> {
    if plaintext.len() > MAX_PLAINTEXT {
        return None;
    }
    let receiver = PublicKey::from_sec1_bytes(p256dh).ok()?;
    let sender_public = uncompressed(&sender.public_key());
    let shared = p256::ecdh::diffie_hellman(sender.to_nonzero_scalar(), receiver.as_affine());
    // IKM = HKDF(auth, ecdh, "WebPush: info" ‖ 0 ‖ ua_public ‖ as_public, 32)
    let mut info = Vec::with_capacity(14 + 130);
    info.extend_from_slice(b"WebPush: info\0");
    info.extend_from_slice(p256dh);
    info.extend_from_slice(&sender_public);
    let mut ikm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&info, &mut ikm[..])
        .ok()?;
    // CEK and nonce (RFC 8188 §2.2, §2.3), from the salt and that IKM.
    let hk = Hkdf::<Sha256>::new(Some(&salt), &ikm[..]);
    let mut cek = Zeroizing::new([0u8; 16]);
    let mut nonce = [0u8; 12];
    hk.expand(b"Content-Encoding: aes128gcm\0", &mut cek[..])
        .ok()?;
    hk.expand(b"Content-Encoding: nonce\0", &mut nonce).ok()?;
    // The last (and only) record ends with the delimiter 2, unpadded.
    let mut record = Zeroizing::new(Vec::with_capacity(plaintext.len() + 1));
    record.extend_from_slice(plaintext);
    record.push(2);
    let cipher = Aes128Gcm::new_from_slice(&cek[..]).ok()?;
    let sealed = cipher.encrypt(&nonce.into(), record.as_slice()).ok()?;
    let mut body = Vec::with_capacity(HEADER_LEN + sealed.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(&sender_public);
    body.extend_from_slice(&sealed);
    Some(body)
}

/// The relay's VAPID key pair (RFC 8292): one per relay, kept in its
/// database. Debug never shows the private half.
#[derive(Clone)]
pub struct Vapid {
    signing: SigningKey,
    public: [u8; 65],
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vapid({})", self.public_key())
    }
}

impl Vapid {
    /// A new random key's 32 private bytes, to store.
    pub fn generate() -> Zeroizing<Vec<u8>> {
        Zeroizing::new(random_secret().to_bytes().to_vec())
    }

    pub fn from_private(bytes: &[u8]) -> Option<Vapid> {
        let secret = SecretKey::from_slice(bytes).ok()?;
        Some(Vapid {
            public: uncompressed(&secret.public_key()),
            signing: SigningKey::from(secret),
        })
    }

    /// The public key as `/v1/push/vapid` and `k=` give it: base64url of the
    /// uncompressed point, without padding.
    pub fn public_key(&self) -> String {
        B64URL.encode(self.public)
    }

    /// The `Authorization` header for a push to `endpoint`:
    /// `vapid t=<JWT>, k=<public key>`, the JWT's audience the endpoint's
    /// origin, expiring `exp` (unix seconds, at most 24 h ahead).
    pub fn authorization(&self, endpoint: &str, subject: &str, exp: i64) -> Option<String> {
        let origin = url::Url::parse(endpoint)
            .ok()?
            .origin()
            .ascii_serialization();
        let header = B64URL.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({"aud": origin, "exp": exp, "sub": subject});
        let claims = B64URL.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        let jwt = format!(
            "{signing_input}.{}",
            B64URL.encode(signature.to_bytes().as_slice())
        );
        Some(format!("vapid t={jwt}, k={}", self.public_key()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decrypts what [`encrypt`] made (the receiver's side of RFC 8291),
    /// so the tests can read it without a network or Python.
    fn decrypt(body: &[u8], receiver: &SecretKey, auth: &[u8; 16]) -> Option<Vec<u8>> {
        let (salt, rest) = body.split_at(16);
        let (rs, rest) = rest.split_at(4);
        assert_eq!(u32::from_be_bytes(rs.try_into().unwrap()), RECORD_SIZE);
        assert_eq!(rest[0], 65);
        let (keyid, sealed) = rest[1..].split_at(65);
        let sender = PublicKey::from_sec1_bytes(keyid).ok()?;
        let shared = p256::ecdh::diffie_hellman(receiver.to_nonzero_scalar(), sender.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(&uncompressed(&receiver.public_key()));
        info.extend_from_slice(keyid);
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .ok()?;
        let hk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        hk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).ok()?;
        hk.expand(b"Content-Encoding: nonce\0", &mut nonce).ok()?;
        let mut plain = Aes128Gcm::new_from_slice(&cek)
            .ok()?
            .decrypt(&nonce.into(), sealed)
            .ok()?;
        assert_eq!(plain.pop(), Some(2));
        Some(plain)
    }

    #[test]
    fn a_body_decrypts_with_the_receivers_key_only() {
        let receiver = random_secret();
        let p256dh = uncompressed(&receiver.public_key());
        let auth = [9u8; 16];
        let body = encrypt(br#"{"inbox_id":"ab","seq":3}"#, &p256dh, &auth).unwrap();
        assert_eq!(
            decrypt(&body, &receiver, &auth).unwrap(),
            br#"{"inbox_id":"ab","seq":3}"#
        );
        assert!(decrypt(&body, &receiver, &[8u8; 16]).is_none());
        assert!(decrypt(&body, &random_secret(), &auth).is_none());
        // A fresh sender key and salt each time: equal payloads differ.
        assert_ne!(
            body,
            encrypt(br#"{"inbox_id":"ab","seq":3}"#, &p256dh, &auth).unwrap()
        );
    }

    #[test]
    fn one_record_holds_at_most_the_record_size() {
        let receiver = random_secret();
        let p256dh = uncompressed(&receiver.public_key());
        let body = encrypt(&vec![b'x'; MAX_PLAINTEXT], &p256dh, &[1; 16]).unwrap();
        assert_eq!(body.len(), RECORD_SIZE as usize);
        assert!(encrypt(&vec![b'x'; MAX_PLAINTEXT + 1], &p256dh, &[1; 16]).is_none());
    }

    #[test]
    fn the_vapid_jwt_verifies_with_the_published_key_and_names_the_origin() {
        use p256::ecdsa::signature::Verifier;
        use p256::ecdsa::VerifyingKey;
        let vapid = Vapid::from_private(&Vapid::generate()).unwrap();
        let header = vapid
            .authorization(
                "https://push.example.com:8443/w/abc?x",
                "mailto:ops@example.com",
                1_000,
            )
            .unwrap();
        let (t, k) = header
            .strip_prefix("vapid t=")
            .unwrap()
            .split_once(", k=")
            .unwrap();
        assert_eq!(k, vapid.public_key());
        let parts: Vec<&str> = t.split('.').collect();
        let claims: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.com:8443");
        assert_eq!(claims["exp"], 1_000);
        let key = VerifyingKey::from_sec1_bytes(&B64URL.decode(k).unwrap()).unwrap();
        let sig = Signature::from_slice(&B64URL.decode(parts[2]).unwrap()).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(key.verify(input.as_bytes(), &sig).is_ok());
        assert!(format!("{vapid:?}").starts_with("Vapid(B"));
    }
}
