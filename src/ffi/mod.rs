//! The FFI layer: the only place with uniffi attributes. Thin and 1:1 over
//! the Rust API; bindings are generated from the built library by the
//! in-repo `uniffi-bindgen` (see `bindings/`).

mod error;
mod keys;
mod wallet;

pub use error::FioPeerError;
