//! `SIG_K1_` signatures, signed exactly as fiojs `Signature.signHash` does.
//!
//! fiojs signs with RFC 6979 nonces, normalizes to low-S, and retries until
//! both r and s are "canonical" (their DER encodings are exactly 32 bytes,
//! EOSIO's `is_canonical`). On retry `nonce = i` it derives k from
//! `sha256(h ‖ i zero bytes)` but still signs the original digest `h`. We do
//! the same, so our signatures are byte-identical to fiojs, retries included.

use std::fmt;
use std::str::FromStr;

use ecdsa::hazmat::sign_prehashed;
use ecdsa::RecoveryId;
use k256::ecdsa::{Signature as EcdsaSignature, VerifyingKey};
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::{Curve, PrimeField};
use k256::{FieldBytes, NonZeroScalar, Secp256k1};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::base58::{self, Checksum};
use super::{sha256, CryptoError, PrivateKey, PublicKey};

const PREFIX: &str = "SIG_K1_";
/// fiojs header byte: 27 + 4 ("compressed") + recovery id.
const HEADER_BASE: u8 = 27 + 4;

/// A recoverable secp256k1 signature: header byte ‖ r ‖ s (65 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    bytes: [u8; 65],
}

impl Signature {
    /// From the 65-byte form. The header must be 27..=34 (fiojs
    /// `Signature.fromBuffer`), and r, s must be in 1..n.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; 65] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidSignature("a signature is 65 bytes"))?;
        if !(27..=34).contains(&bytes[0]) {
            return Err(CryptoError::InvalidSignature("header byte must be 27..=34"));
        }
        EcdsaSignature::from_slice(&bytes[1..]).map_err(|_| {
            CryptoError::InvalidSignature("r or s is zero or not below the curve order")
        })?;
        Ok(Self { bytes })
    }

    /// Parses `SIG_K1_…` with a byte-exact K1 checksum.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let body = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(CryptoError::InvalidSignature(
                "a signature starts with SIG_K1_",
            ))?;
        let payload = base58::decode(body, Checksum::Ripemd160K1).map_err(|e| {
            CryptoError::InvalidSignature(match e {
                base58::DecodeError::Base58 => "not base58",
                base58::DecodeError::Length => "too short",
                base58::DecodeError::Checksum => "checksum mismatch",
            })
        })?;
        Self::from_bytes(&payload)
    }

    pub fn to_bytes(&self) -> [u8; 65] {
        self.bytes
    }

    /// The recovery id, `(header - 27) & 3` as fiojs reads it.
    pub fn recovery_id(&self) -> u8 {
        (self.bytes[0] - 27) & 3
    }

    pub fn r(&self) -> [u8; 32] {
        self.bytes[1..33].try_into().expect("32 bytes")
    }

    pub fn s(&self) -> [u8; 32] {
        self.bytes[33..65].try_into().expect("32 bytes")
    }

    /// EOSIO's canonical form: r and s both in [2^247, 2^255), i.e. their DER
    /// encodings are exactly 32 bytes. fiojs only emits canonical signatures.
    pub fn is_canonical(&self) -> bool {
        is_canonical_half(&self.r()) && is_canonical_half(&self.s())
    }

    /// s ≤ n/2.
    pub fn is_low_s(&self) -> bool {
        !bool::from(self.ecdsa().s().is_high())
    }

    fn ecdsa(&self) -> EcdsaSignature {
        EcdsaSignature::from_slice(&self.bytes[1..]).expect("validated on construction")
    }

    /// Verifies against a 32-byte digest. High-S signatures are rejected
    /// (fiojs never produces them; accepting both forms would make
    /// signatures malleable).
    pub fn verify_digest(&self, digest: &[u8; 32], key: &PublicKey) -> bool {
        use k256::ecdsa::signature::hazmat::PrehashVerifier;
        match VerifyingKey::from_affine(*key.as_affine()) {
            Ok(vk) => vk.verify_prehash(digest, &self.ecdsa()).is_ok(),
            Err(_) => false,
        }
    }

    /// Verifies against `sha256(message)`, as fiojs `Ecc.verify`.
    pub fn verify_message(&self, message: &[u8], key: &PublicKey) -> bool {
        self.verify_digest(&sha256(message), key)
    }

    /// Recovers the signer's key from a 32-byte digest.
    pub fn recover_digest(&self, digest: &[u8; 32]) -> Result<PublicKey, CryptoError> {
        let recid = RecoveryId::from_byte(self.recovery_id()).expect("0..=3");
        VerifyingKey::recover_from_prehash(digest, &self.ecdsa(), recid)
            .map(|vk| PublicKey::from_k256(vk.into()))
            .map_err(|_| CryptoError::InvalidSignature("no key recovers from this signature"))
    }

    /// Recovers the signer's key from `sha256(message)`.
    pub fn recover_message(&self, message: &[u8]) -> Result<PublicKey, CryptoError> {
        self.recover_digest(&sha256(message))
    }
}

fn is_canonical_half(b: &[u8; 32]) -> bool {
    b[0] & 0x80 == 0 && !(b[0] == 0 && b[1] & 0x80 == 0)
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{}",
            base58::encode(&self.bytes, Checksum::Ripemd160K1)
        )
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PrivateKey {
    /// Signs `sha256(message)`, byte-identically to fiojs `Ecc.sign`.
    pub fn sign_message(&self, message: &[u8]) -> Signature {
        self.sign_digest(&sha256(message))
    }

    /// Signs a 32-byte digest, byte-identically to fiojs `Ecc.signHash`.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Signature {
        self.sign_digest_counting(digest).0
    }

    /// [`sign_digest`](Self::sign_digest), also returning the fiojs nonce
    /// that produced the signature (0 = no retry). For tests of the retry rule.
    #[doc(hidden)]
    pub fn sign_digest_counting(&self, digest: &[u8; 32]) -> (Signature, usize) {
        let d: NonZeroScalar = self.as_k256().to_nonzero_scalar();
        let x = Zeroizing::new(<[u8; 32]>::from(d.to_repr()));
        for nonce in 0usize.. {
            let h_k: [u8; 32] = if nonce == 0 {
                *digest
            } else {
                let mut h = Sha256::new();
                h.update(digest);
                h.update(vec![0u8; nonce]);
                h.finalize().into()
            };
            // RFC 6979 with h1 = h_k. (RustCrypto reduces h_k mod n first and
            // fiojs does not; they differ only when h_k ≥ n, p ≈ 2^-128.)
            let mut kgen =
                rfc6979::KGenerator::<Sha256, _>::new(&x[..], &h_k, &[], &*Secp256k1::ORDER);
            let mut k_bytes = Zeroizing::new(FieldBytes::default());
            kgen.fill_next_k(&mut k_bytes);
            let Some(k) = NonZeroScalar::from_repr(*k_bytes).into_option() else {
                continue;
            };
            // Low-S normalization and the matching recovery id are applied here.
            let Ok((sig, recid)) = sign_prehashed::<Secp256k1>(&d, &k, digest) else {
                continue;
            };
            let mut bytes = [0u8; 65];
            bytes[0] = HEADER_BASE + recid.to_byte();
            bytes[1..].copy_from_slice(&sig.to_bytes());
            let sig = Signature { bytes };
            if sig.is_canonical() {
                return (sig, nonce);
            }
        }
        unreachable!("the nonce loop only ends by returning")
    }
}
