//! The FFI layer: the only place with uniffi attributes. Thin and 1:1 over
//! the Rust API; bindings are generated from the built library by the
//! in-repo `uniffi-bindgen` (see `bindings/` and docs/ffi.md).
//!
//! Async functions all run the same way: on one process-wide tokio runtime
//! the library owns ([`runtime`]), awaited from whatever executor the
//! foreign side polls with (Kotlin coroutines, Swift tasks, asyncio).
//! Callbacks (events, logs) come on threads of their own ([`events`]).

#[cfg(target_os = "android")]
mod android;
mod error;
mod events;
mod friends;
mod keys;
mod push;
mod records;
mod wallet;

use std::sync::OnceLock;

use crate::chain::NetRuntime;

pub use error::FioPeerError;

/// Network worker threads of the shared runtime: plenty for a phone's
/// handful of wallets, whose work is mostly waiting on the network.
const WORKERS: usize = 2;

/// The runtime every wallet's chain client, sync engine and FIP-3 calls
/// run on.
pub(crate) fn runtime() -> Result<NetRuntime, FioPeerError> {
    static RUNTIME: OnceLock<Result<NetRuntime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| NetRuntime::new("fio-peer-net", WORKERS).map_err(|e| e.to_string()))
        .clone()
        .map_err(|message| FioPeerError::Internal {
            detail: format!("cannot start the network runtime: {message}"),
        })
}
