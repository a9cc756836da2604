//! fio-inbox: the FIP-24 inbox relay ("fixed server"). It stores envelopes
//! for wallets that are not always online and never decrypts them. The HTTP
//! contract is docs/protocol.md §4; running it is docs/relay.md.

pub mod http;
pub mod limits;
pub mod push;
pub mod server;
pub mod store;

pub use http::{router, AppState, HttpConfig};
pub use limits::RateLimits;
pub use server::{serve, spawn_on_loopback, ServeConfig};
pub use store::{Quota, Store, StoreError};
