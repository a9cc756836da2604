//! # fio-peer
//!
//! The reference implementation of private wallet-to-wallet payment
//! communication on the FIO Protocol: FIP-24 secure messages and FIP-3
//! friending, as a Rust core with Kotlin, Swift and Python bindings.
//!
//! This crate is the core: [`crypto`] holds FIO keys, signatures,
//! ECDH, `checkEncrypt` and the encrypted request/OBT `content`,
//! byte-compatible with `@fioprotocol/fiojs` 1.0.2 and `@fioprotocol/fiosdk`
//! 1.10.3; [`protocol`] the fio_dm 1.0 profile of FIP-24; [`store`] the
//! SQLite schema; [`wallet`] the FIP-24 engine; [`chain`] FIO transactions
//! and the HTTP client of the FIO API (the engine's key directory);
//! [`sync`] the engine that moves envelopes between relays and a wallet and
//! registers its inbox on chain; [`friends`] FIP-3 friending (friend lists,
//! private NBPAs, private funds requests). The bytes are specified in
//! `docs/protocol.md`. With the `ffi` feature, `ffi` is the uniffi layer
//! for the Kotlin, Swift and Python bindings.
//!
//! ```
//! use fio_peer::crypto::{decrypt_content, encrypt_content, NewFundsContent, PrivateKey};
//!
//! // Keys parse from WIF / PVT_K1_ and FIO… / PUB_K1_ strings.
//! let payee = PrivateKey::parse("5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK")?;
//! let payer = PrivateKey::generate();
//! assert_eq!(payee.public_key().to_string(), "FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv");
//!
//! // Signatures are byte-identical to fiojs Ecc.sign.
//! let sig = payee.sign_message(b"hello");
//! assert!(sig.verify_message(b"hello", payee.public_key()));
//!
//! // A funds request's content, exactly as fiosdk encrypts it.
//! let request = NewFundsContent {
//!     payee_public_address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(),
//!     amount: "0.0015".into(),
//!     chain_code: "BTC".into(),
//!     token_code: "BTC".into(),
//!     memo: Some("invoice 1234".into()),
//!     ..Default::default()
//! };
//! let content = encrypt_content(&payee, payer.public_key(), &request);
//! let opened: NewFundsContent = decrypt_content(&payer, payee.public_key(), &content)?;
//! assert_eq!(opened, request);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod chain;
pub mod crypto;
#[cfg(feature = "ffi")]
pub mod ffi;
pub mod friends;
pub mod protocol;
pub mod store;
pub mod sync;
pub mod wallet;

#[cfg(feature = "ffi")]
uniffi::setup_scaffolding!("fio_peer");
