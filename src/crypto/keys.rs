//! FIO private and public keys and their text forms.

use std::fmt;
use std::str::FromStr;

use k256::elliptic_curve::sec1::ToSec1Point;
use zeroize::Zeroizing;

use super::base58::{self, Checksum, DecodeError};
use super::CryptoError;

const WIF_VERSION: u8 = 0x80;
const FIO_PREFIX: &str = "FIO";
const PUB_K1_PREFIX: &str = "PUB_K1_";
const PVT_K1_PREFIX: &str = "PVT_K1_";

/// A secp256k1 private key (0 < d < n). The scalar is zeroized on drop and
/// `Debug` shows only the public key.
#[derive(Clone)]
pub struct PrivateKey {
    secret: k256::SecretKey,
    // Cached: deriving it is a scalar multiplication, and callers ask often.
    public: PublicKey,
}

impl PrivateKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Self {
        // Rejection sampling: a draw outside 1..n (probability ~2^-128) is redrawn.
        let mut bytes = Zeroizing::new([0u8; 32]);
        loop {
            super::random_bytes(&mut bytes[..]);
            if let Ok(key) = Self::from_bytes(&bytes[..]) {
                return key;
            }
        }
    }

    /// From a 32-byte big-endian scalar; rejects 0 and values ≥ n.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError::InvalidPrivateKey("a private key is 32 bytes"));
        }
        let secret = k256::SecretKey::from_slice(bytes).map_err(|_| {
            CryptoError::InvalidPrivateKey("scalar is zero or not below the curve order")
        })?;
        Ok(Self::from_secret(secret))
    }

    pub(crate) fn from_secret(secret: k256::SecretKey) -> Self {
        let public = PublicKey::from_k256(secret.public_key());
        Self { secret, public }
    }

    /// Parses a WIF (`5…`, or `K…`/`L…` with the 0x01 compression flag) or a
    /// `PVT_K1_…` string, as fiojs `PrivateKey.fromString` does, plus a range check.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        if let Some(body) = text.strip_prefix(PVT_K1_PREFIX) {
            let payload = base58::decode(body, Checksum::Ripemd160K1).map_err(pvt_err)?;
            if payload.len() != 32 {
                return Err(CryptoError::InvalidPrivateKey(
                    "PVT_K1 key payload must be 32 bytes",
                ));
            }
            return Self::from_bytes(&payload);
        }
        let payload = base58::decode(text, Checksum::DoubleSha256).map_err(pvt_err)?;
        if payload.first() != Some(&WIF_VERSION) {
            return Err(CryptoError::InvalidPrivateKey(
                "WIF version byte must be 0x80",
            ));
        }
        match payload.len() {
            33 => Self::from_bytes(&payload[1..]),
            34 if payload[33] == 0x01 => Self::from_bytes(&payload[1..33]),
            _ => Err(CryptoError::InvalidPrivateKey(
                "WIF payload must be 32 bytes, optionally followed by 0x01",
            )),
        }
    }

    /// The 32-byte big-endian scalar.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes().into())
    }

    /// The WIF form fiojs emits (`5…`, no compression flag).
    pub fn to_wif(&self) -> Zeroizing<String> {
        let mut payload = Zeroizing::new([0u8; 33]);
        payload[0] = WIF_VERSION;
        payload[1..].copy_from_slice(&self.to_bytes()[..]);
        Zeroizing::new(base58::encode(&payload[..], Checksum::DoubleSha256))
    }

    /// The `PVT_K1_…` form.
    pub fn to_pvt_k1(&self) -> Zeroizing<String> {
        let bytes = self.to_bytes();
        Zeroizing::new(format!(
            "{PVT_K1_PREFIX}{}",
            base58::encode(&bytes[..], Checksum::Ripemd160K1)
        ))
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn as_k256(&self) -> &k256::SecretKey {
        &self.secret
    }
}

fn pvt_err(e: DecodeError) -> CryptoError {
    CryptoError::InvalidPrivateKey(match e {
        DecodeError::Base58 => "not base58",
        DecodeError::Length => "too short",
        DecodeError::Checksum => "checksum mismatch",
    })
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public_key", &self.public.to_string())
            .finish_non_exhaustive()
    }
}

impl FromStr for PrivateKey {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        // SecretKey's PartialEq is constant time.
        self.secret == other.secret
    }
}
impl Eq for PrivateKey {}

/// A secp256k1 public key, shown as `FIO…`.
#[derive(Clone, Copy)]
pub struct PublicKey {
    // Both forms are kept: the point for arithmetic (no re-decompression per
    // ECDH), the bytes for hashing, encoding and equality.
    point: k256::AffinePoint,
    compressed: [u8; 33],
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}
impl Eq for PublicKey {}
impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.compressed.hash(state)
    }
}

impl PublicKey {
    /// From SEC1 bytes (33 compressed or 65 uncompressed); rejects points not on the curve.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 33 && bytes.len() != 65 {
            return Err(CryptoError::InvalidPublicKey(
                "SEC1 point must be 33 or 65 bytes",
            ));
        }
        let point = k256::PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| CryptoError::InvalidPublicKey("not a point on secp256k1"))?;
        Ok(Self::from_k256(point))
    }

    pub(crate) fn from_k256(point: k256::PublicKey) -> Self {
        let mut compressed = [0u8; 33];
        compressed.copy_from_slice(point.to_sec1_point(true).as_bytes());
        Self {
            point: *point.as_affine(),
            compressed,
        }
    }

    /// Parses `FIO…` (legacy checksum) or `PUB_K1_…` (K1 checksum). Checksums
    /// are compared byte for byte; a bare base58 string without prefix is rejected.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let payload = if let Some(body) = text.strip_prefix(PUB_K1_PREFIX) {
            base58::decode(body, Checksum::Ripemd160K1)
        } else if let Some(body) = text.strip_prefix(FIO_PREFIX) {
            base58::decode(body, Checksum::Ripemd160)
        } else {
            return Err(CryptoError::InvalidPublicKey(
                "a public key starts with FIO or PUB_K1_",
            ));
        }
        .map_err(|e| {
            CryptoError::InvalidPublicKey(match e {
                DecodeError::Base58 => "not base58",
                DecodeError::Length => "too short",
                DecodeError::Checksum => "checksum mismatch",
            })
        })?;
        if payload.len() != 33 {
            return Err(CryptoError::InvalidPublicKey(
                "key payload must be a 33-byte compressed point",
            ));
        }
        Self::from_sec1(&payload)
    }

    /// The 33-byte compressed SEC1 encoding.
    pub fn to_bytes(&self) -> [u8; 33] {
        self.compressed
    }

    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.compressed
    }

    /// The 65-byte uncompressed SEC1 encoding.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out.copy_from_slice(self.point.to_sec1_point(false).as_bytes());
        out
    }

    pub(crate) fn as_affine(&self) -> &k256::AffinePoint {
        &self.point
    }

    /// `FIO…` with the legacy ripemd160 checksum.
    pub fn to_fio_string(&self) -> String {
        format!(
            "{FIO_PREFIX}{}",
            base58::encode(&self.compressed, Checksum::Ripemd160)
        )
    }

    /// `PUB_K1_…` with the K1 checksum.
    pub fn to_pub_k1(&self) -> String {
        format!(
            "{PUB_K1_PREFIX}{}",
            base58::encode(&self.compressed, Checksum::Ripemd160K1)
        )
    }

    /// The FIO account name (actor) this key hashes to.
    pub fn account_name(&self) -> String {
        super::account_name(self)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fio_string())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_fio_string())
    }
}

impl FromStr for PublicKey {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_fio_string())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PublicKey::parse(&s).map_err(serde::de::Error::custom)
    }
}
