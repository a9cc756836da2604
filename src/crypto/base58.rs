//! The base58 checksum encodings used by FIO keys and signatures.
//!
//! Three checksum kinds exist (fiojs `key_utils.js` `checkEncode`/`checkDecode`):
//! * legacy `FIO…` public keys: ripemd160(payload)[0..4];
//! * `PUB_K1_`/`PVT_K1_`/`SIG_K1_`: ripemd160(payload ‖ "K1")[0..4];
//! * WIF private keys: sha256(sha256(payload))[0..4].
//!
//! Checksums are compared as bytes (fiojs compares them as UTF-8 strings,
//! which lets some corrupted keys through; we reject those).

use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

#[derive(Clone, Copy)]
pub(crate) enum Checksum {
    Ripemd160,
    Ripemd160K1,
    DoubleSha256,
}

impl Checksum {
    fn compute(self, payload: &[u8]) -> [u8; 4] {
        let mut out = [0u8; 4];
        match self {
            Checksum::Ripemd160 => out.copy_from_slice(&Ripemd160::digest(payload)[..4]),
            Checksum::Ripemd160K1 => {
                let mut h = Ripemd160::new();
                h.update(payload);
                h.update(b"K1");
                out.copy_from_slice(&h.finalize()[..4]);
            }
            Checksum::DoubleSha256 => {
                out.copy_from_slice(&Sha256::digest(Sha256::digest(payload))[..4])
            }
        }
        out
    }
}

pub(crate) fn encode(payload: &[u8], checksum: Checksum) -> String {
    let mut buf = Zeroizing::new(Vec::with_capacity(payload.len() + 4));
    buf.extend_from_slice(payload);
    buf.extend_from_slice(&checksum.compute(payload));
    bs58::encode(&buf[..]).into_string()
}

/// Decodes base58 and checks the trailing 4-byte checksum. The payload is
/// returned in a zeroizing buffer because it may be a private key.
pub(crate) fn decode(text: &str, checksum: Checksum) -> Result<Zeroizing<Vec<u8>>, DecodeError> {
    let raw = Zeroizing::new(
        bs58::decode(text)
            .into_vec()
            .map_err(|_| DecodeError::Base58)?,
    );
    if raw.len() < 5 {
        return Err(DecodeError::Length);
    }
    let (payload, sum) = raw.split_at(raw.len() - 4);
    if !bool::from(checksum.compute(payload).ct_eq(sum)) {
        return Err(DecodeError::Checksum);
    }
    Ok(Zeroizing::new(payload.to_vec()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    Base58,
    Length,
    Checksum,
}
