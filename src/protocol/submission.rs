//! What an inbox relay stores for a submitted body (docs/protocol.md
//! §4.2). fio-inbox runs exactly this check, and the wallet's parser reads
//! what it stored: one definition, so a relay never keeps an envelope the
//! wallet cannot read, nor refuses one it could (the `relay_submit` fuzz
//! target holds them to it).

use sha2::{Digest, Sha256};

use super::envelope::{Envelope, IdToken};
use super::error::ProtocolError;

/// A submit the relay accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// A first contact (`id_token` NEW): rate-limited on its own.
    pub new: bool,
    /// The duplicate key: the same envelope submitted twice is stored once.
    pub key: [u8; 32],
    /// The body, stored and handed back to fetches unchanged.
    pub text: String,
}

/// The duplicate key of an envelope: SHA-256(id_token ‖ 0x00 ‖ content
/// bytes), so a copy is one envelope however its JSON is spaced.
pub fn dedupe_key(id_token: &str, content: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(id_token.as_bytes());
    h.update([0u8]);
    h.update(content);
    h.finalize().into()
}

/// The structure check of a submit: the relay never decrypts.
pub fn check_submission(body: &[u8]) -> Result<Submission, ProtocolError> {
    let envelope = Envelope::parse(body)?;
    let token = match &envelope.id_token {
        IdToken::New => "NEW",
        IdToken::Token(t) => t.as_str(),
    };
    Ok(Submission {
        new: matches!(envelope.id_token, IdToken::New),
        key: dedupe_key(token, &envelope.content),
        // Envelope::parse accepted it, so it is ASCII JSON.
        text: String::from_utf8_lossy(body).into_owned(),
    })
}
