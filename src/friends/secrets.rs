//! FIP-3's constructions as fio-peer reads them (docs/protocol.md §3):
//! look-up indexes, the wallet secret and the three NBPA level keys, and the
//! ciphers of NBPAs, granted decrypt keys and friend-list backups. Every
//! cipher is fiojs checkEncrypt; every index is fiojs hashA.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use zeroize::Zeroizing;

use crate::crypto::primitives::hmac_sha256;
use crate::crypto::{
    check_decrypt_any, check_encrypt, check_encrypt_with_iv, decrypt_fip3_content,
    encrypt_fip3_content, hash_a, hash_a_with_key_suffix, DecryptError, FriendContent, PrivateKey,
    PublicKey, SharedSecret, IV_LEN,
};

/// The friend-list look-up index of `hashed` (FIP-3 `fio_public_key_hash`):
/// hashA(S, hashed's 33-byte key), S the fiojs shared secret of the pair.
/// Either party computes it; nobody else can.
pub fn look_up_index(secret: &SharedSecret, hashed: &PublicKey) -> String {
    hash_a(secret.as_bytes(), hashed.as_bytes())
}

/// A request index (FIP-3 `lookup_index_for_payer` / `_for_payee`): hashA
/// with the HMAC key S ‖ `party`'s 33-byte key, over that key. The index
/// "for" a party is how that party finds what the pair's other side left
/// for it.
pub fn request_index(secret: &SharedSecret, party: &PublicKey) -> String {
    hash_a_with_key_suffix(secret.as_bytes(), party.as_bytes(), party.as_bytes())
}

/// Whether `text` has the form of a hashA output: "0x" and 32 lowercase hex digits.
pub fn is_index(text: &str) -> bool {
    text.len() == 34
        && text.starts_with("0x")
        && text[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// WalletSecret = HMAC-SHA256(key = the 32-byte private scalar,
/// msg = "FIP-3 wallet secret"). Deterministic, so a wallet restored from
/// its seed phrase derives the same level keys.
pub struct WalletSecret(Zeroizing<[u8; 32]>);

impl WalletSecret {
    pub fn derive(key: &PrivateKey) -> WalletSecret {
        let scalar = key.to_bytes();
        WalletSecret(hmac_zeroizing(&scalar[..], &[b"FIP-3 wallet secret"]))
    }

    /// The 32 bytes (test vectors; a wallet never needs them outside this type).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Address level: decrypts every NBPA placed under `fio_address`.
    pub fn address_key(&self, fio_address: &str) -> LevelKey {
        self.level(&[b"FIO Address level secret key", fio_address.as_bytes()])
    }

    /// Chain level: decrypts every NBPA of `chain_code` under `fio_address`,
    /// present and future.
    pub fn chain_key(&self, fio_address: &str, chain_code: &str) -> LevelKey {
        self.level(&[
            b"Blockchain level secret key",
            fio_address.as_bytes(),
            b"/",
            chain_code.as_bytes(),
        ])
    }

    /// NBPA level: decrypts this one NBPA.
    pub fn nbpa_key(&self, nbpa: &str) -> LevelKey {
        self.level(&[b"NBPA secret key", nbpa.as_bytes()])
    }

    fn level(&self, parts: &[&[u8]]) -> LevelKey {
        LevelKey(hmac_zeroizing(&self.0[..], parts))
    }
}

/// HMAC-SHA256 into zeroizing storage, wiping the stack copy.
fn hmac_zeroizing(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    use zeroize::Zeroize;
    let mut raw = hmac_sha256(key, parts);
    let out = Zeroizing::new(raw);
    raw.zeroize();
    out
}

impl std::fmt::Debug for WalletSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalletSecret(..)")
    }
}

/// One of the three NBPA level keys (32 bytes). Zeroized on drop.
#[derive(Clone)]
pub struct LevelKey(Zeroizing<[u8; 32]>);

impl LevelKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// NBPA ciphertext: base64(checkEncrypt(level key, NBPA bytes)).
    pub fn encrypt_nbpa(&self, nbpa: &str) -> String {
        BASE64.encode(check_encrypt(&self.0[..], nbpa.as_bytes()))
    }

    /// As [`LevelKey::encrypt_nbpa`] with a fixed IV, for test vectors only.
    pub fn encrypt_nbpa_with_iv(&self, nbpa: &str, iv: &[u8; IV_LEN]) -> String {
        BASE64.encode(check_encrypt_with_iv(&self.0[..], nbpa.as_bytes(), iv))
    }

    pub fn decrypt_nbpa(&self, ciphertext: &str) -> Result<String, DecryptError> {
        let data = BASE64.decode(ciphertext.trim()).map_err(|_| DecryptError)?;
        let plain = check_decrypt_any(&[&self.0[..]], &data)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }

    /// Granted decrypt key: base64(checkEncrypt(S(owner, friend), level key)).
    pub fn grant(&self, secret: &SharedSecret) -> String {
        BASE64.encode(check_encrypt(secret.as_bytes(), &self.0[..]))
    }

    /// As [`LevelKey::grant`] with a fixed IV, for test vectors only.
    pub fn grant_with_iv(&self, secret: &SharedSecret, iv: &[u8; IV_LEN]) -> String {
        BASE64.encode(check_encrypt_with_iv(secret.as_bytes(), &self.0[..], iv))
    }

    /// Opens a granted decrypt key with the pair's secrets (fiojs form first).
    pub fn from_grant(secrets: &[SharedSecret], granted: &str) -> Result<LevelKey, DecryptError> {
        let data = BASE64.decode(granted.trim()).map_err(|_| DecryptError)?;
        let plain = Zeroizing::new(check_decrypt_any(secrets, &data)?);
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| DecryptError)?;
        Ok(LevelKey(Zeroizing::new(bytes)))
    }
}

impl std::fmt::Debug for LevelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LevelKey(..)")
    }
}

/// The secret a wallet encrypts its own friend-list backup under: the fiojs
/// shared secret of its key with its own public key.
pub fn backup_secret(own: &PrivateKey) -> SharedSecret {
    own.shared_secret(own.public_key())
}

/// Friend-list backup `content`: base64(checkEncrypt(backup secret,
/// friend_content{fio_address, public_key})).
pub fn encrypt_friend(own: &PrivateKey, friend: &FriendContent) -> String {
    encrypt_fip3_content(&backup_secret(own), friend)
}

/// Opens a backup entry (fiojs and padded self-ECDH forms).
pub fn decrypt_friend(own: &PrivateKey, content: &str) -> Result<FriendContent, DecryptError> {
    decrypt_fip3_content(&own.shared_secret_candidates(own.public_key()), content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: &str) -> PrivateKey {
        PrivateKey::from_bytes(&crate::crypto::sha256(seed.as_bytes())).unwrap()
    }

    #[test]
    fn indexes_are_the_same_from_both_sides_and_differ_by_role() {
        let (a, b) = (key("a"), key("b"));
        let sa = a.shared_secret(b.public_key());
        let sb = b.shared_secret(a.public_key());
        assert_eq!(
            look_up_index(&sa, b.public_key()),
            look_up_index(&sb, b.public_key())
        );
        assert_eq!(
            request_index(&sa, a.public_key()),
            request_index(&sb, a.public_key())
        );
        let all = [
            look_up_index(&sa, a.public_key()),
            look_up_index(&sa, b.public_key()),
            request_index(&sa, a.public_key()),
            request_index(&sa, b.public_key()),
        ];
        for (i, x) in all.iter().enumerate() {
            assert!(is_index(x), "{x}");
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert!(!is_index("0xABCDEF0123456789abcdef0123456789"));
        assert!(!is_index("0x0123"));
    }

    #[test]
    fn level_keys_differ_per_address_chain_and_nbpa() {
        let w = WalletSecret::derive(&key("owner"));
        let keys = [
            w.address_key("bob@devnet"),
            w.address_key("bob@other"),
            w.chain_key("bob@devnet", "BTC"),
            w.chain_key("bob@devnet", "ETH"),
            w.chain_key("bob@other", "BTC"),
            w.nbpa_key("bc1qexample"),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x.as_bytes(), y.as_bytes());
            }
        }
        // Deterministic: the same key gives the same secrets.
        assert_eq!(
            WalletSecret::derive(&key("owner"))
                .chain_key("bob@devnet", "BTC")
                .as_bytes(),
            keys[2].as_bytes()
        );
        assert_ne!(
            WalletSecret::derive(&key("other"))
                .chain_key("bob@devnet", "BTC")
                .as_bytes(),
            keys[2].as_bytes()
        );
    }

    #[test]
    fn a_grant_opens_only_for_the_pair_and_decrypts_only_its_level() {
        let (owner, friend, stranger) = (key("o"), key("f"), key("s"));
        let w = WalletSecret::derive(&owner);
        let chain = w.chain_key("bob@devnet", "BTC");
        let ct = chain.encrypt_nbpa("bc1q-address");
        let granted = chain.grant(&owner.shared_secret(friend.public_key()));
        let opened = LevelKey::from_grant(
            &friend.shared_secret_candidates(owner.public_key()),
            &granted,
        )
        .unwrap();
        assert_eq!(opened.decrypt_nbpa(&ct).unwrap(), "bc1q-address");
        assert!(LevelKey::from_grant(
            &stranger.shared_secret_candidates(owner.public_key()),
            &granted
        )
        .is_err());
        assert!(w.address_key("bob@devnet").decrypt_nbpa(&ct).is_err());
    }

    #[test]
    fn the_backup_opens_only_with_the_owner_key() {
        let own = key("o");
        let entry = FriendContent {
            fio_address: "alice@devnet".into(),
            public_key: key("a").public_key().to_fio_string(),
        };
        let ct = encrypt_friend(&own, &entry);
        assert_eq!(decrypt_friend(&own, &ct).unwrap(), entry);
        assert!(decrypt_friend(&key("x"), &ct).is_err());
    }
}
