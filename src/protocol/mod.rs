//! FIP-24 secure messages, as the byte-exact fio_dm 1.0 profile
//! (docs/protocol.md §2): envelopes, sealing, signatures, the ten actions
//! and their validation. Pure: no I/O, no storage.

mod action;
mod address;
mod data;
mod envelope;
mod error;
mod json;
mod seal;
mod submission;
mod token;

pub use action::{Action, Presence, ALL_ACTIONS, FIELDS};
pub use address::{FioAddress, InboxKind, InboxLocation, MAX_INBOX_ADDRESS_LEN};
pub use data::{MessageData, ValidData};
pub use envelope::{Envelope, IdToken, MAX_ENVELOPE_LEN, PROTOCOL, VERSION};
pub use error::{ErrorKind, ProtocolError};
pub use seal::{
    build_plaintext, open_new, parse_plaintext, seal_new, seal_new_with, sign_data, signing_digest,
    verify_data, ChannelKey, CHANNEL_LABEL, NEW_LABEL, PADDING_BUCKETS, SIGNATURE_LABEL,
};
pub use submission::{check_submission, dedupe_key, Submission};
pub use token::{generate_message_id, generate_token, is_fip_token, is_message_id, NEW_TOKEN};
