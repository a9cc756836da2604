//! fio-inbox: the FIP-24 inbox relay ("fixed server"). It stores envelopes
//! for wallets that are not always online and never decrypts them. The HTTP
//! contract is docs/protocol.md §4.

pub mod http;
pub mod store;

pub use http::{router, AppState};
pub use store::{Quota, Store, StoreError};
