//! ECDH shared secrets as fiojs `PrivateKey.getSharedSecret` computes them.
//!
//! fiojs hashes the x coordinate of d·Q with SHA-512, but its bigi
//! `toBuffer({size: 32})` call never pads, so leading zero bytes of x are
//! stripped (≈1 pair in 256). The iOS SDK and wallet-core always hash the 32
//! padded bytes. We encrypt with the fiojs form and, when decrypting, also
//! try the padded form; the MAC decides which one is right.

use std::fmt;

use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::{PrivateKey, PublicKey};

/// A 64-byte shared secret (SHA-512 of the ECDH x coordinate). Zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Zeroizing<[u8; 64]>);

impl SharedSecret {
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    fn hash_of(x: &[u8]) -> Self {
        let mut out = Zeroizing::new([0u8; 64]);
        out.copy_from_slice(&Sha512::digest(x));
        Self(out)
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

impl PrivateKey {
    /// The 32-byte big-endian x coordinate of d·Q.
    fn ecdh_x(&self, peer: &PublicKey) -> Zeroizing<[u8; 32]> {
        let shared =
            k256::ecdh::diffie_hellman(self.as_k256().to_nonzero_scalar(), peer.as_affine());
        let mut x = Zeroizing::new([0u8; 32]);
        x.copy_from_slice(shared.raw_secret_bytes());
        x
    }

    /// fiojs `getSharedSecret`: SHA-512 of x with leading zero bytes stripped.
    pub fn shared_secret(&self, peer: &PublicKey) -> SharedSecret {
        let x = self.ecdh_x(peer);
        SharedSecret::hash_of(strip_leading_zeros(&x[..]))
    }

    /// The padded variant (SHA-512 of all 32 bytes of x) used by fiosdk_ios and wallet-core.
    pub fn shared_secret_padded(&self, peer: &PublicKey) -> SharedSecret {
        SharedSecret::hash_of(&self.ecdh_x(peer)[..])
    }

    /// The secrets to try when decrypting, in order: the fiojs form, then the
    /// padded form if it differs (only when x has a leading zero byte).
    pub fn shared_secret_candidates(&self, peer: &PublicKey) -> Vec<SharedSecret> {
        let x = self.ecdh_x(peer);
        let mut out = vec![SharedSecret::hash_of(strip_leading_zeros(&x[..]))];
        if x[0] == 0 {
            out.push(SharedSecret::hash_of(&x[..]));
        }
        out
    }
}

fn strip_leading_zeros(x: &[u8]) -> &[u8] {
    let first = x.iter().position(|&b| b != 0).unwrap_or(x.len());
    &x[first..]
}
