//! Phase one of receiving: the chain keys of the senders of first contacts
//! (`NEW` envelopes), looked up *before* the wallet's lock and write
//! transaction are taken. Phase two (`receive.rs`, under the lock) only reads
//! the answers gathered here: it has no directory to call, so no network I/O
//! can happen while the wallet is locked.
//!
//! A stranger's envelopes need only our public key, so their lookups are
//! bounded: at most [`LOOKUPS_PER_BATCH`] per batch (the rest are held for a
//! later sync), and an address the chain does not know is remembered for
//! [`NOT_REGISTERED_FOR`] (at most [`NOT_REGISTERED_MAX`] of them).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::types::{DirectoryError, KeyDirectory};
use crate::crypto::{PrivateKey, PublicKey};
use crate::protocol::{open_new, parse_plaintext, Envelope, FioAddress, IdToken, MessageData};

/// Chain lookups one batch of envelopes may cost.
pub const LOOKUPS_PER_BATCH: usize = 8;
/// How long "not registered" is believed without asking again.
pub const NOT_REGISTERED_FOR: Duration = Duration::from_secs(10 * 60);
/// Addresses remembered as not registered; the oldest is forgotten first.
pub const NOT_REGISTERED_MAX: usize = 1024;

/// The answers of phase one, by sender. A sender missing here was not
/// looked up in this batch: its envelope is held for a later one.
#[derive(Default)]
pub(crate) struct SenderKeys {
    keys: HashMap<FioAddress, Result<PublicKey, DirectoryError>>,
}

impl SenderKeys {
    pub(crate) fn get(&self, sender: &FioAddress) -> Result<PublicKey, DirectoryError> {
        self.keys.get(sender).cloned().unwrap_or_else(|| {
            Err(DirectoryError::Unavailable(format!(
                "{sender} is looked up in a later sync (at most {LOOKUPS_PER_BATCH} lookups per batch)"
            )))
        })
    }
}

/// The lookups of first contacts' senders, with the negative cache.
pub(crate) struct SenderLookup {
    not_registered: Mutex<HashMap<FioAddress, Instant>>,
}

impl SenderLookup {
    pub(crate) fn new() -> SenderLookup {
        SenderLookup {
            not_registered: Mutex::new(HashMap::new()),
        }
    }

    /// Looks up the claimed senders of the `NEW` envelopes among `envelopes`
    /// (those that decrypt for `key`; the others fail in phase two as they
    /// would anyway). Blocking network calls: never call it under the
    /// wallet's lock.
    pub(crate) fn look_up<'a>(
        &self,
        directory: &dyn KeyDirectory,
        key: &PrivateKey,
        envelopes: impl IntoIterator<Item = &'a [u8]>,
    ) -> SenderKeys {
        let mut found = SenderKeys::default();
        let mut lookups = 0;
        for body in envelopes {
            let Some(sender) = claimed_sender(key, body) else {
                continue;
            };
            if found.keys.contains_key(&sender) {
                continue;
            }
            if self.known_unregistered(&sender) {
                found.keys.insert(
                    sender.clone(),
                    Err(DirectoryError::NotFound(sender.to_string())),
                );
                continue;
            }
            if lookups == LOOKUPS_PER_BATCH {
                continue;
            }
            lookups += 1;
            let answer = directory.public_key(&sender);
            if let Err(DirectoryError::NotFound(_)) = answer {
                self.remember_unregistered(sender.clone());
            }
            found.keys.insert(sender, answer);
        }
        found
    }

    fn known_unregistered(&self, sender: &FioAddress) -> bool {
        let mut cache = self
            .not_registered
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match cache.get(sender) {
            Some(at) if at.elapsed() < NOT_REGISTERED_FOR => true,
            Some(_) => {
                cache.remove(sender);
                false
            }
            None => false,
        }
    }

    fn remember_unregistered(&self, sender: FioAddress) {
        let mut cache = self
            .not_registered
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if cache.len() >= NOT_REGISTERED_MAX {
            cache.retain(|_, at| at.elapsed() < NOT_REGISTERED_FOR);
            if cache.len() >= NOT_REGISTERED_MAX {
                if let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(a, _)| a.clone())
                {
                    cache.remove(&oldest);
                }
            }
        }
        cache.insert(sender, Instant::now());
    }
}

/// The `sender_fio_address` a `NEW` envelope claims, if it decrypts for us.
/// Not authenticated: phase two verifies the signature with the key found.
fn claimed_sender(key: &PrivateKey, body: &[u8]) -> Option<FioAddress> {
    let envelope = Envelope::parse(body).ok()?;
    if !matches!(envelope.id_token, IdToken::New) {
        return None;
    }
    let plaintext = open_new(key, &envelope.content).ok()?;
    let (data_text, _) = parse_plaintext(&plaintext).ok()?;
    let data = MessageData::parse(&data_text).ok()?;
    FioAddress::parse(&data.sender_fio_address)
}
